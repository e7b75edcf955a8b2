"""What the numba section of a generated module imports (as ``_nbrt``): backend="numba".

Imported only by modules generated with ``backend="numba"`` (:mod:`s2s_invad.back.numba_backend`
writes them); importing it imports numba, an optional extra (``pip install "s2s_invad[numba]"``).

* :func:`jit` compiles a function in nopython mode with NumPy's error model (a division by
  zero gives inf or NaN, never a ZeroDivisionError), cached on disk next to the module when
  the module is a real file (numba's ``cache=True``), so a second process loads the machine
  code instead of compiling it.
* :func:`fe_clear` and :func:`fe_raised` clear and read the floating-point exception flags
  (invalid operation, division by zero, overflow) through the C library's ``feclearexcept``
  and ``fetestexcept``: where CPython raises (``math.exp(1000)``, ``1.0 / 0.0``,
  ``math.log(-1.0)``) the same operation in compiled code sets one of them, so a compiled
  function that set one does not return. Which bit is which is read once at import by
  calling the C library on the three cases (:func:`_flag_bits`).
* :class:`Fallback` is what compiled code raises where the Python code would call an error
  helper of :mod:`s2s_invad.runtime`: a pivot test, a results check, a lump that needs a
  pivoting solve. It never leaves this module: :class:`Entry` catches it (and anything else
  the compiled call raises) and runs the Python function on the same arguments, which
  returns its numbers or raises the error of :mod:`s2s_invad.errors` citing the source line.
* the overloads below (:func:`finite`, :func:`vector`, :func:`solve`...) are the compiled
  forms of the runtime helpers the Python code calls; each accepts a point (floats) and a
  batch (float64 arrays), as the Python helpers do.

Arguments reach the compiled code as float64: Python ints become floats except for trip
counts; lists become arrays; a float32 (or integer) array or NumPy scalar makes that call
run the Python function, since numba promotes float32 arithmetic with Python floats to
float64 where NumPy keeps float32.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import re
import sys
import warnings

import numba
import numpy as np
from llvmlite import binding as _llvm
from llvmlite import ir as _ir
from numba import types
from numba.core import cgutils
from numba.core.errors import NumbaError
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype
from numba.typed import List  # noqa: F401 (tapes of loops kept as loops)

from .errors import BackendError, BackendWarning
from .runtime_lu import MULTIPLIER_BOUND

NAN = math.nan
_F64 = np.dtype(np.float64)


class Fallback(Exception):
    """Raised by compiled code: run the Python function instead (caught by :class:`Entry`)."""


# -- the floating-point exception flags --------------------------------------------------------

def _libm():
    name = ctypes.util.find_library("m")
    for candidate in ([name] if name else []) + [None]:
        try:
            lib = ctypes.CDLL(candidate)
            lib.fetestexcept.restype = ctypes.c_int
            lib.feclearexcept.restype = ctypes.c_int
            return lib
        except (OSError, AttributeError):
            continue
    raise BackendError("backend='numba' needs the C library's fetestexcept and feclearexcept (C99 "
                       "<fenv.h>) to keep the error paths of compiled code, and none was found here; "
                       "use the default backend")


def _flag_bits(lib) -> int:
    """The mask of FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW on this platform, found by calling
    the C library on one case of each (no header constants are reachable from Python)."""
    every = 0x7FFFFFFF

    def flags_of(fn_name: str, x: float) -> int:
        fn = getattr(lib, fn_name)
        fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
        lib.feclearexcept(every)
        fn(x)
        return lib.fetestexcept(every)
    inexact = flags_of("exp", 0.5)
    overflow = flags_of("exp", 1000.0) & ~inexact
    divide = flags_of("log", 0.0)
    invalid = flags_of("sqrt", -1.0)
    bits = [overflow, divide, invalid]
    if any(b <= 0 or b & (b - 1) for b in bits) or len(set(bits)) != 3:
        raise BackendError("backend='numba': the floating-point exception flags of this platform could "
                           f"not be identified (overflow {overflow:#x}, divide {divide:#x}, invalid "
                           f"{invalid:#x}); use the default backend")
    lib.feclearexcept(every)
    return overflow | divide | invalid


_LIB = _libm()
MASK = _flag_bits(_LIB)
for _symbol in ("fetestexcept", "feclearexcept"):      # so cached machine code finds them too
    _llvm.add_symbol(_symbol, ctypes.cast(getattr(_LIB, _symbol), ctypes.c_void_p).value)


def _c_int_function(symbol: str):
    @intrinsic
    def call(typingctx, mask):
        def codegen(context, builder, signature, args):
            fnty = _ir.FunctionType(_ir.IntType(32), [_ir.IntType(32)])
            fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
            return builder.call(fn, [builder.trunc(args[0], _ir.IntType(32))])
        return types.int32(mask), codegen
    return call


_fetestexcept = _c_int_function("fetestexcept")
_feclearexcept = _c_int_function("feclearexcept")


@numba.vectorize(["float64(float64, float64)"], cache=True)
def heaviside(x, h):
    """numpy.heaviside, which numba does not type: 0 for x < 0, h at 0, 1 for x > 0 (NaN stays)."""
    if x < 0.0:
        return 0.0
    if x > 0.0:
        return 1.0
    return h if x == 0.0 else x


@numba.njit(cache=True)
def cbrt(x):
    """math.cbrt (Python 3.11), which numba does not type: NumPy's, the same libm cbrt."""
    return np.cbrt(x)


@numba.njit(cache=True)
def fe_clear():
    _feclearexcept(MASK)


@numba.njit(cache=True)
def fe_raised():
    return _fetestexcept(MASK) != 0


# -- compiling -------------------------------------------------------------------------------

class _Namespace:
    """What ``sys.modules`` holds for a generated module run from a namespace dict."""


def importable(namespace: dict) -> None:
    """Make the generated module whose globals are ``namespace`` importable by its name:
    numba's cached code names the module of its functions and imports it on load. A
    module imported as usual already is; the API's (and an exec'd file's) gets a name from
    its file, the same in every process."""
    name = namespace.get("__name__")
    held = sys.modules.get(name) if isinstance(name, str) else None
    if held is not None and getattr(held, "__dict__", None) is namespace:
        return
    stem = os.path.splitext(os.path.basename(str(namespace.get("__file__", "module"))))[0]
    name = "s2s_invad_generated." + re.sub(r"\W", "_", stem)
    holder = _Namespace()
    holder.__dict__ = namespace
    namespace["__name__"] = name
    sys.modules[name] = holder


def jit(fn):
    """``fn`` compiled lazily (per argument types) in nopython mode, NumPy's error model;
    cached on disk when its module is a real file."""
    return numba.njit(cache=os.path.isfile(fn.__code__.co_filename), error_model="numpy")(fn)


# -- the compiled forms of the runtime helpers ------------------------------------------------------

def _impl(source: str, **names):
    """An implementation written for the argument types at hand (heterogeneous tuples)."""
    namespace = {"__name__": __name__, "np": np, "math": math, "Fallback": Fallback, "finite": finite,
                 "bounded": bounded, **names}
    exec(source, namespace)
    return namespace["impl"]


def _is_scalar(t) -> bool:
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def finite(values):
    """True when every value (a float, an array, a tuple of them) is finite."""


@overload(finite)
def _finite(values):
    if isinstance(values, types.Array):
        return lambda values: np.all(np.isfinite(values))
    if _is_scalar(values):
        return lambda values: values - values == 0
    if isinstance(values, types.UniTuple) and isinstance(values.dtype, types.Float):
        def uniform(values):
            total = 0.0
            for v in values:
                total = total + (v - v)
            return total == 0.0
        return uniform
    if isinstance(values, types.BaseTuple):
        return _each("finite", values)
    if isinstance(values, types.ListType):
        return lambda values: True                  # a loop's tape: made of checked values


def _each(test: str, values):
    """An implementation of ``test(values)`` for a tuple: the test holds for every element."""
    if isinstance(values, types.UniTuple):
        return _impl(f"def impl(values):\n    for v in values:\n        if not {test}(v):\n"
                     "            return False\n    return True\n")
    parts = " and ".join(f"{test}(values[{i}])" for i in range(len(values))) or "True"
    return _impl(f"def impl(values):\n    return {parts}\n")


def bounded(values):
    """True when every multiplier of a static-pivot LU satisfies |l| <= MULTIPLIER_BOUND."""


@overload(bounded)
def _bounded(values):
    if isinstance(values, types.Array):
        return lambda values: np.all(np.abs(values) <= MULTIPLIER_BOUND)
    if _is_scalar(values):
        return lambda values: -MULTIPLIER_BOUND <= values <= MULTIPLIER_BOUND
    if isinstance(values, types.BaseTuple):
        return _each("bounded", values)


def lu_ok(multipliers, results):
    """The test of ``runtime.lu_checked``: every multiplier bounded, every result finite."""


@overload(lu_ok)
def _lu_ok(multipliers, results):
    return lambda multipliers, results: bounded(multipliers) and finite(results)


def _dtype_of(tys) -> np.dtype:
    """The dtype of a stack of these values: the arrays' (float32 only when all are), else
    the scalars' (Python floats are weak, as in NumPy)."""
    arrays = [as_dtype(t.dtype) for t in tys if isinstance(t, types.Array)]
    if arrays:
        return np.result_type(*arrays) if not all(d == np.float32 for d in arrays) else np.dtype(np.float32)
    return np.result_type(*[as_dtype(t) for t in tys]) if tys else _F64


def vector(elts):
    """``runtime.vector``: a 1-D array of the elements, (n, *batch) for arrays."""


@overload(vector)
def _vector(elts):
    if not isinstance(elts, types.BaseTuple):
        return None
    tys = list(elts.types) if isinstance(elts, types.Tuple) else [elts.dtype] * len(elts)
    dtype = _dtype_of(tys)
    n = len(tys)
    if isinstance(elts, types.UniTuple) and _is_scalar(elts.dtype):
        def points(elts):
            out = np.empty(n, dtype)
            for i in range(n):
                out[i] = elts[i]
            return out
        return points
    if isinstance(elts, types.UniTuple) and isinstance(elts.dtype, types.Array):
        def stacked(elts):
            out = np.empty((n,) + elts[0].shape, dtype)
            for i in range(n):
                out[i] = elts[i]
            return out
        return stacked
    first = next((i for i, t in enumerate(tys) if isinstance(t, types.Array)), None)
    shape = "()" if first is None else f"elts[{first}].shape"
    lines = [f"    out = np.empty(({n},) + {shape}, np.{dtype.name})"] + [f"    out[{i}] = elts[{i}]" for i in range(n)]
    return _impl("def impl(elts):\n" + "\n".join(lines) + "\n    return out\n")


def tape(values):
    """The tape a sweep reads: a tuple of floats packed into one array (returned to Python
    and passed back without boxing each float); any other tuple as it is."""


@overload(tape)
def _tape(values):
    if isinstance(values, types.UniTuple) and values.dtype == types.float64:
        n = len(values)

        def packed(values):
            out = np.empty(n)
            for i in range(n):
                out[i] = values[i]
            return out
        return packed
    return lambda values: values


def rows(tape_):
    """A rolled loop's tape after the loop: rows of floats as one 2-D array (read fast by
    the backward loop, returned to Python without boxing); other rows as the typed list."""


@overload(rows)
def _rows(tape_):
    item = getattr(tape_, "item_type", None)
    if isinstance(item, types.UniTuple) and item.dtype == types.float64:
        width = len(item)

        def packed(tape_):
            out = np.empty((len(tape_), width))
            for i in range(len(tape_)):
                row = tape_[i]
                for j in range(width):
                    out[i, j] = row[j]
            return out
        return packed
    return lambda tape_: tape_


def _array_or_scalar(name: str, doc: str, on_array, on_scalar):
    """A function of one value compiled as ``on_array`` for arrays, ``on_scalar`` else."""
    def stub(x):
        pass
    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = doc

    @overload(stub)
    def _typed(x):
        return on_array if isinstance(x, types.Array) else on_scalar
    return stub


zeros_like = _array_or_scalar("zeros_like", "0.0, or zeros shaped like the array x.",
                              lambda x: np.zeros_like(x), lambda x: 0.0)
ones_like = _array_or_scalar("ones_like", "1.0, or ones shaped like the array x.",
                             lambda x: np.ones_like(x), lambda x: 1.0)
isfinite = _array_or_scalar("isfinite", "True when the value (a float or an array) is finite everywhere.",
                            lambda x: np.all(np.isfinite(x)), lambda x: np.isfinite(x))
absolute = _array_or_scalar("absolute", "abs of a float or an array (numba's abs takes no arrays).",
                            lambda x: np.abs(x), lambda x: abs(x))


def _entries(rows) -> list:
    return [[t for t in (row.types if isinstance(row, types.Tuple) else [row.dtype] * len(row))]
            for row in (rows.types if isinstance(rows, types.Tuple) else [rows.dtype] * len(rows))]


def _batch_source(tys: list, names: list[str]) -> tuple[str, str]:
    """(statements binding ``shape`` and ``m``, the batch shape and size) for entries of
    these types, named by ``names``; arrays must share one shape (else Fallback)."""
    arrays = [name for name, t in zip(names, tys) if isinstance(t, types.Array)]
    if not arrays:
        return "    shape = ()\n    m = 1\n", "point"
    lines = [f"    shape = {arrays[0]}.shape\n"]
    lines += [f"    if {a}.shape != shape:\n        raise Fallback\n" for a in arrays[1:]]
    lines.append("    m = 1\n    for s in shape:\n        m = m * s\n")
    return "".join(lines), "batch"


def _fill(name: str, t, target: str) -> str:
    """``target = entry`` for every point of the batch: flat arrays, broadcast scalars."""
    if isinstance(t, types.Array):
        return f"    {target} = np.ascontiguousarray({name}).reshape(m)\n"
    return f"    {target} = {name}\n"


def solve(rows, rhs):
    """``runtime.solve`` without its error path: the k x k system of a lump (k > 3) by LAPACK,
    at a point or at every point of a batch; Fallback when a block is singular."""


@overload(solve)
def _solve(rows, rhs):
    entries = _entries(rows)
    k = len(entries)
    rhs_types = list(rhs.types) if isinstance(rhs, types.Tuple) else [rhs.dtype] * len(rhs)
    names = [f"rows[{i}][{j}]" for i in range(k) for j in range(k)] + [f"rhs[{i}]" for i in range(k)]
    tys = [t for row in entries for t in row] + rhs_types
    head, kind = _batch_source(tys, names)
    dtype = _dtype_of(tys)
    lines = ["def impl(rows, rhs):\n", head, f"    a = np.empty((m, {k}, {k}), np.{dtype.name})\n",
             f"    b = np.empty((m, {k}), np.{dtype.name})\n"]
    for i in range(k):
        for j in range(k):
            lines.append(_fill(f"rows[{i}][{j}]", entries[i][j], f"a[:, {i}, {j}]"))
        lines.append(_fill(f"rhs[{i}]", rhs_types[i], f"b[:, {i}]"))
    lines.append(f"    x = np.empty(({k}, m), np.{dtype.name})\n"
                 "    for p in range(m):\n"
                 "        u = np.linalg.solve(a[p], b[p])\n"
                 "        if not np.all(np.isfinite(u)):\n"
                 "            raise Fallback\n"
                 "        x[:, p] = u\n")
    lines.append("    return x[:, 0]\n" if kind == "point" else f"    return x.reshape(({k},) + shape)\n")
    return _impl("".join(lines))


def slogdet(rows):
    """``runtime.slogdet``: (sign, log|det|) of a lump's block (k > 3); Fallback when det = 0."""


@overload(slogdet)
def _slogdet(rows):
    entries = _entries(rows)
    k = len(entries)
    names = [f"rows[{i}][{j}]" for i in range(k) for j in range(k)]
    tys = [t for row in entries for t in row]
    head, kind = _batch_source(tys, names)
    dtype = _dtype_of(tys)
    lines = ["def impl(rows):\n", head, f"    a = np.empty((m, {k}, {k}), np.{dtype.name})\n"]
    for i in range(k):
        for j in range(k):
            lines.append(_fill(f"rows[{i}][{j}]", entries[i][j], f"a[:, {i}, {j}]"))
    lines.append(f"    sign = np.empty(m, np.{dtype.name})\n    logabs = np.empty(m, np.{dtype.name})\n"
                 "    for p in range(m):\n"
                 "        s, l = np.linalg.slogdet(a[p])\n"
                 "        if s == 0 or not np.isfinite(l):\n"
                 "            raise Fallback\n"
                 "        sign[p] = s\n        logabs[p] = l\n")
    lines.append("    return sign[0], logabs[0]\n" if kind == "point"
                 else "    return sign.reshape(shape), logabs.reshape(shape)\n")
    return _impl("".join(lines))


def lu_slogdet(pivots, multipliers, parity):
    """``runtime.lu_slogdet`` without its pivoting fallback: (sign, log|det A|) from the
    pivots of a static LU; Fallback when a pivot is zero or not finite or a multiplier
    fails the pivot test."""


@overload(lu_slogdet)
def _lu_slogdet(pivots, multipliers, parity):
    tys = list(pivots.types) if isinstance(pivots, types.Tuple) else [pivots.dtype] * len(pivots)
    lines = ["def impl(pivots, multipliers, parity):\n", "    if not bounded(multipliers):\n        raise Fallback\n",
             "    sign = parity\n    logabs = 0.0\n"]
    for i, t in enumerate(tys):
        lines.append(f"    p = pivots[{i}]\n"
                     "    if not np.all(np.isfinite(p) & (p != 0.0)):\n        raise Fallback\n"
                     "    sign = sign * np.sign(p)\n    logabs = logabs + np.log(np.abs(p))\n")
    lines.append("    return sign, logabs\n")
    return _impl("".join(lines))


# -- the entry points: compiled first, the Python function on any failure ----------------------

# What compiled code raises at a point it cannot finish: Fallback, LAPACK on a singular block,
# arrays of batch shapes that do not match. Anything else means it could not run at all.
_EXPECTED = (Fallback, np.linalg.LinAlgError, ValueError, ArithmeticError)
_FLOATS = frozenset({float})


def _point_vector(values):
    """A list or tuple of numbers as a float64 array; anything else element by element."""
    if all(type(v) is float or type(v) is int for v in values):
        return np.array(values, dtype=np.float64)
    out = []
    for v in values:
        v = _argument(v, False)
        if v is None:
            return None
        out.append(v)
    return tuple(out)


def _argument(x, count: bool):
    """``x`` as the compiled code takes it, or None when only the Python function does."""
    kind = type(x)
    if kind is float:
        return x
    if kind is np.ndarray:
        return x if x.dtype == _F64 else None
    if count:
        return int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) else None
    if kind is int or kind is bool:
        return float(x)
    if kind is list or kind is tuple:
        return _point_vector(x)
    if isinstance(x, np.floating):
        return float(x) if x.dtype == _F64 else None
    if isinstance(x, (np.integer, np.bool_)):
        return None
    if isinstance(x, float):
        return float(x)
    return None


class Entry:
    """A generated function: its compiled version when the arguments suit it, else (and
    whenever the compiled call raises) the Python function, which raises the named errors.

    ``backend`` is "numba" while the compiled version is in use, "python" once the compiler
    refused it (``reason`` then says why; a :class:`~s2s_invad.errors.BackendWarning` was
    issued). ``counts`` are the parameters that are trip counts (kept as ints). ``sweep``:
    (position in the result, the sweep's Entry) for vjp and ivjp, whose compiled version
    returns the tape where the Python one returns ``partial(sweep, tape)``.
    """

    compiler = "numba"

    def __init__(self, compiled, python, counts=(), sweep=None, statements=0):
        self.compiled, self.python, self.counts = compiled, python, frozenset(counts)
        self.sweep = sweep
        self.statements = statements
        self.backend, self.reason = "numba", ""
        self.calls = self.fallbacks = 0
        self.plain = not self.counts and type(self) is Entry      # every argument may be a float
        functools.update_wrapper(self, python)

    def _arguments(self, args):
        out = []
        for i, x in enumerate(args):
            x = _argument(x, i in self.counts)
            if x is None:
                return None
            out.append(x)
        return out

    def __call__(self, *args):
        compiled = self.compiled
        if compiled is not None:
            # Python floats go as they are (the common case: one cheap test), else converted
            prepared = args if self.plain and _FLOATS.issuperset(map(type, args)) else self._arguments(args)
            if prepared is not None:
                self.calls += 1
                try:
                    result = compiled(*prepared)
                except _EXPECTED:                # a check failed: the Python function says what
                    result = None
                except Exception as exc:         # the compiler or numba's cache refused: warn once
                    self._refused(exc)
                    result = None
                if result is not None:
                    if self.sweep is None:
                        return result
                    at, sweep = self.sweep
                    return result[:at] + (functools.partial(sweep, result[at]),) + result[at + 1:]
        self.fallbacks += 1
        return self.python(*self._python_arguments(args))

    def _python_arguments(self, args):
        return args

    def _refused(self, exc: Exception) -> None:
        self.compiled = None
        self.backend = "python"
        first = str(exc).strip().split("\n")[0][:300]
        what = "compile" if isinstance(exc, NumbaError) else "run"
        self.reason = f"numba could not {what} it ({type(exc).__name__}: {first})"
        warnings.warn(f"s2s_invad backend numba: {self.__name__} runs as Python: {self.reason}. Its results "
                      "are the same; please report this with the generated source (si.source(f, mode, "
                      "backend='numba')).", BackendWarning, stacklevel=4)


class Sweep(Entry):
    """The sweep of vjp or ivjp: ``sweep(tape, *cotangents)``. Its Python fallback gets the
    tape as the Python code records it: floats, not the packed array, and a list of tuples
    for each rolled loop's rows (at ``tapes``, positions in the tape)."""

    def __init__(self, compiled, python, counts=(), tapes=(), statements=0):
        super().__init__(compiled, python, counts, None, statements)
        self.tapes = tapes

    def _arguments(self, args):
        rest = super()._arguments(args[1:])
        return None if rest is None else [args[0]] + rest

    def _python_arguments(self, args):
        tape_, rest = args[0], args[1:]
        if isinstance(tape_, np.ndarray):
            tape_ = tuple(tape_.tolist())
        elif self.tapes and isinstance(tape_, tuple):
            tape_ = tuple([tuple(row) for row in x.tolist()] if i in self.tapes and isinstance(x, np.ndarray) else x
                          for i, x in enumerate(tape_))
        return (tape_,) + rest


def entry(compiled, python, counts=(), sweep=None, statements=0) -> Entry:
    return Entry(compiled, python, counts, sweep, statements)


def sweep(compiled, python, counts=(), tapes=(), statements=0) -> Sweep:
    return Sweep(compiled, python, counts, tapes, statements)
