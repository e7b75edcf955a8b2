"""Front end: the functions the input language knows, evaluated at transform time.

Three families (the README lists them under "The input language"):

* the primitives of :data:`s2s_invad.primitives.PRIMITIVES` under their math and numpy
  spellings (``math.sin``, ``np.sin``, ``np.arcsin``, builtin ``abs``): on a runtime scalar
  they append a statement; on numbers they compute now; ``np.<fn>`` maps over arrays and
  lists elementwise, ``math.<fn>`` takes one number as in Python;
* transform-time helpers that never see a runtime value in a place that would need one:
  ``range``, ``len``, ``enumerate``, ``zip``, ``reversed``, ``int``, ``round``,
  ``math.floor``..., ``np.arange``, ``np.linspace``; a runtime value where a count or an
  index is needed is refused;
* the nonsmooth functions of :mod:`.nonsmooth` (comparisons as runtime values,
  ``np.where``, ``np.maximum``, builtin ``min``/``max`` of runtime values, ``np.clip``,
  ``np.max``, ``np.linalg.norm``, ``np.logaddexp``...), with JAX's derivatives at kinks;
* structure: ``list``, ``tuple``, ``sum``, ``float``, ``np.array``, ``np.zeros``,
  ``np.ones``, ``np.full``, ``np.eye``, ``np.concatenate``, ``np.stack``, ``np.sum``,
  ``np.dot``, ``np.vdot``, ``np.matmul``, ``np.outer``, ``np.roll``, ``np.pad``, ``np.flip``,
  ``np.reshape``... and list and array methods (``append``, ``copy``, ``sum``, ``dot``,
  ``reshape``...). Arrays made here are NumPy *object* arrays, so their elements may be
  runtime scalars (``F = np.zeros(n)`` then ``F[i] = ...`` works), and NumPy's own loops do
  the arithmetic through the elements' operators (a constant zero times anything folds to
  zero, so ``W @ u`` with a banded ``W`` keeps its band).

Arguments are bound as NumPy binds them (positionally or by keyword: ``np.eye(4, k=-1)``,
``x.reshape(2, 3, order="F")``); a keyword this module does not implement is refused, never
ignored. ``dtype=`` takes float (``float``, ``np.float64``, ``"float64"``: object arrays as
without it) and, for arrays of transform-time numbers, ``np.float32`` and ``int`` (real
NumPy arrays of that dtype, so their values are NumPy's; a runtime value in one is refused,
since NumPy would convert it). ``order=`` is 'C' or 'F'; 'A' and 'K', which follow memory
layout, only where layout cannot matter. Values are real: ``np.conj``, ``.real``, ``.conj()``
of one are the value itself, ``np.imag`` and ``.imag`` zero.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import _astlib as A
from ..primitives import PRIMITIVES, spelling
from .values import DICT_CHANGES, DICT_READS, ConstDict, NamedFloat, Scalar, is_number

gast = A.gast

# math/numpy spelling -> canonical primitive
_PRIMS = {"math": {}, "numpy": {}}
for _p in PRIMITIVES.values():
    if _p.math:
        _PRIMS["math"][_p.math] = _p.name
    if _p.numpy:
        _PRIMS["numpy"][_p.numpy] = _p.name
_PRIMS["math"]["fabs"] = "abs"
_PRIMS["numpy"].update({"abs": "abs", "absolute": "abs", "fabs": "abs"})

_MATH_TT = {"floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd", "isqrt", "isfinite",
            "isinf", "isnan", "copysign", "fmod", "degrees", "radians"}
_MATH_CONSTANTS = {"pi", "e", "tau", "inf", "nan"}
_NUMPY_CONSTANTS = {"pi", "e", "inf", "nan"}
_MATH_OTHER = {"pow", "hypot", "log10", "log2"}
_NUMPY_OTHER = {"array", "asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                "empty_like", "full_like", "arange", "linspace", "eye", "identity", "copy",
                "concatenate", "stack", "hstack", "vstack", "roll", "pad", "flip", "reshape", "ravel",
                "transpose", "outer", "sum", "prod", "dot", "matmul", "vdot", "inner", "mean",
                "cumsum", "diff", "square", "negative", "log10", "log2", "hypot", "power", "add",
                "subtract", "multiply", "divide", "true_divide", "ndim", "shape", "size", "append",
                "floor", "ceil", "isfinite", "conj", "conjugate", "real", "imag", "float64",
                "float32", "int64", "int32"}
_BUILTINS = {"range", "len", "enumerate", "zip", "reversed", "min", "max", "abs", "sum", "list",
             "tuple", "float", "int", "round", "pow", "sorted", "any", "all", "divmod", "bool",
             "isinstance", "print"}

_LIST_METHODS = {"append", "extend", "insert", "pop", "copy", "reverse", "index", "count"}
_ARRAY_METHODS = {"copy", "sum", "prod", "mean", "dot", "reshape", "ravel", "flatten", "tolist",
                  "astype", "fill", "transpose", "cumsum", "conj", "conjugate"}
_ARRAY_ATTRS = {"shape", "size", "ndim", "T", "real", "imag"}
_REAL_ATTRS = {"real", "imag", "conj", "conjugate"}      # of a real number: itself, 0, itself


# NumPy functions that move or copy elements, or combine them only by + - * / (NumPy runs
# them on the object arrays, whose elements' arithmetic appends the statements), by how many
# leading arguments are arrays ("seq": one sequence of arrays); and the methods of arrays
# that are such functions.
_NUMPY_MOVES = {"tile": 1, "repeat": 1, "diag": 1, "diagonal": 1, "trace": 1, "triu": 1, "tril": 1,
                "rot90": 1, "fliplr": 1, "flipud": 1, "swapaxes": 1, "moveaxis": 1, "expand_dims": 1,
                "squeeze": 1, "atleast_1d": 1, "atleast_2d": 1, "broadcast_to": 1, "take": 1,
                "cumprod": 1, "average": 1, "trapezoid": 1, "column_stack": "seq", "dstack": "seq",
                "kron": 2, "cross": 2, "convolve": 2, "correlate": 2, "tensordot": 2}
_NUMPY_MORE = set(_NUMPY_MOVES) | {"einsum", "polyval", "var", "std"}
_MOVE_METHODS = {"repeat", "trace", "diagonal", "cumprod", "squeeze", "swapaxes", "take", "var", "std"}


def known_names(module_kind: str) -> set[str]:
    """The attributes of math / numpy the language knows (for identifying live imports)."""
    if module_kind == "math":
        return set(_PRIMS["math"]) | _MATH_TT | _MATH_OTHER
    if module_kind == "numpy.linalg":
        from .linalg import NAMES
        return {"norm"} | NAMES
    from .nonsmooth import NUMPY_NAMES
    return set(_PRIMS["numpy"]) | _NUMPY_OTHER | _NUMPY_MORE | NUMPY_NAMES


def builtin_names() -> list[str]:
    return sorted(_BUILTINS - {"print", "isinstance"})


def builtin(name: str):
    from .evaluate import Known
    return Known("builtins", name, None) if name in _BUILTINS else None


def module_kind(ev, alias: str) -> str:
    for scope in ev.scopes:
        found = scope.used.get(alias)
        if found and found[0] == "module":
            return found[1]
    return alias if alias in ("math", "numpy") else "numpy"


def alias_for(ev, kind: str) -> str:
    """The module alias generated code uses for a function imported by name."""
    for scope in ev.scopes:
        for name, (k, v) in scope.used.items():
            if k == "module" and v == kind:
                return name
    ev.modules.setdefault(kind, kind)
    return kind


# -- attributes ----------------------------------------------------------------------------

def attribute(ev, base, attr: str):
    from .evaluate import Bound, Known, Module
    if isinstance(base, Module):
        if base.kind == "math" and attr in _MATH_CONSTANTS or base.kind == "numpy" and attr in _NUMPY_CONSTANTS:
            value = getattr(math if base.kind == "math" else np, attr)
            if not math.isfinite(value):
                return float(value)
            return NamedFloat(value, f"{base.alias}.{attr}")
        if attr == "newaxis" and base.kind == "numpy":
            return None
        if attr == "linalg" and base.kind == "numpy":
            return Module(base.alias, "numpy.linalg")
        if attr in known_names(base.kind):
            return Known(base.kind, attr, base.alias)
        raise ev.refuse(ev.node, f"{base.alias}{'.linalg' if base.kind == 'numpy.linalg' else ''}.{attr} is "
                                 f"not supported: the {base.kind} functions "
                                 f"s2s_invad knows are {', '.join(sorted(known_names(base.kind)))}")
    if isinstance(base, Scalar):
        if attr in _REAL_ATTRS:                    # a real number: x.real is x, x.conj() is x
            return base if attr == "real" else 0.0 if attr == "imag" else Bound(base, attr)
        if attr == "clip":                         # elementwise: of a batch of scalars too
            return Bound(base, attr)
        if attr in _ARRAY_ATTRS or attr in _ARRAY_METHODS or attr in _MOVE_METHODS or attr in ("max", "min"):
            ev.vector_use(base, f".{attr}")
        raise ev.refuse(ev.node, f"attribute .{attr} of a runtime scalar: call math.<fn> or np.<fn> "
                                 "on the value instead")
    if isinstance(base, np.ndarray):
        from .nonsmooth import METHODS
        if attr in METHODS:
            return Bound(base, attr)
        if attr == "real" or attr == "imag":
            return _np_real(ev, None, [base], {}) if attr == "real" else _np_imag(ev, None, [base], {})
        if attr in _ARRAY_ATTRS:
            return getattr(base, attr)
        if attr in _ARRAY_METHODS or attr in _MOVE_METHODS:
            return Bound(base, attr)
    elif isinstance(base, list) and attr in _LIST_METHODS:
        return Bound(base, attr)
    elif isinstance(base, tuple) and attr in ("index", "count"):
        return Bound(base, attr)
    elif isinstance(base, ConstDict):
        if attr in DICT_READS:
            return Bound(base, attr)
        from .evaluate import changed_dict
        if attr in DICT_CHANGES:
            raise ev.refuse(ev.node, f".{attr}() of the module dict {base.name}: {changed_dict(base)}")
        raise ev.refuse(ev.node, f"attribute .{attr} of the module dict {base.name} is not supported: a module "
                                 f"dict is read with {base.name}[key], .get(key), .keys(), .values() and .items()")
    elif is_number(base) and attr in _REAL_ATTRS:
        return (base if attr == "real" else 0 * base) if attr in ("real", "imag") else Bound(base, attr)
    from .evaluate import _kind
    raise ev.refuse(ev.node, f"attribute .{attr} of {_kind(base)} is not supported")


# -- calls ---------------------------------------------------------------------------------

def call(ev, func, args, kwargs):
    from .evaluate import Bound
    if isinstance(func, Bound):
        return _method(ev, func.obj, func.name, args, kwargs)
    kind, attr, alias = func.kind, func.attr, func.alias
    if kind == "numpy" and alias is not None:       # a source that calls numpy runs on arrays
        ev.modules[alias] = "numpy"
    if kind in ("math", "numpy") and attr in _PRIMS[kind] and (kind, attr) not in _IMPLS:
        _no_keywords(ev, f"{alias}.{attr}", kwargs)
        if len(args) != 1:
            raise ev.fail(ev.node, f"{alias}.{attr} takes one argument here, got {len(args)}")
        return primitive(ev, _PRIMS[kind][attr], kind, alias, args[0])
    impl = _IMPLS.get((kind, attr))
    if impl is None:
        raise ev.refuse(ev.node, f"{(alias + '.') if alias else ''}{attr}() is not supported")
    return impl(ev, alias, args, kwargs)


def _no_keywords(ev, name, kwargs, allowed=()):
    extra = [k for k in kwargs if k not in allowed]
    if extra:
        raise ev.refuse(ev.node, f"keyword argument '{extra[0]}' of {name} is not supported")


def primitive(ev, prim: str, kind: str, alias: str | None, x):
    """``prim(x)``: a statement for a runtime scalar, a number now, elementwise for arrays."""
    if isinstance(x, Scalar):
        return ev.primitive(prim, alias if prim != "abs" else None, x)
    if is_number(x):
        return _compute(ev, prim, kind, alias, x)
    if isinstance(x, (list, tuple, np.ndarray)):
        if kind == "math":
            name, np_name = spelling(prim, "math"), spelling(prim, "numpy")
            advice = (f"use np.{np_name} for arrays (elementwise)" if np_name else
                      f"NumPy has no {name}: apply it to each element ([{alias}.{name}(v) for v in x])")
            raise ev.fail(ev.node, f"{alias}.{name} takes one number, not a sequence: {advice}")
        arr = to_array(ev, x)
        return _map(lambda e: primitive(ev, prim, kind, alias, e), arr)
    from .evaluate import _kind
    raise ev.fail(ev.node, f"{prim}() of {_kind(x)}")


def binary(ev, prim: str, kind: str, alias: str | None, a, b):
    """``prim(a, b)``: a statement where an operand is a runtime scalar, a number now,
    elementwise with NumPy's broadcasting for arrays and lists (``np.<fn>`` only)."""
    if (isinstance(a, Scalar) or is_number(a)) and (isinstance(b, Scalar) or is_number(b)):
        if isinstance(a, Scalar) or isinstance(b, Scalar):
            return ev.primitive(prim, alias, a, b)
        return _compute_now(ev, prim, kind, alias, a, b)
    name = f"{alias}.{spelling(prim, kind)}"
    if not all(isinstance(v, (Scalar, list, tuple, np.ndarray)) or is_number(v) for v in (a, b)):
        from .evaluate import _kind
        raise ev.fail(ev.node, f"{name} of {_kind(a)} and {_kind(b)}: it takes numbers or arrays")
    if kind == "math":
        raise ev.fail(ev.node, f"{name} takes two numbers, not a sequence: use "
                               f"np.{spelling(prim, 'numpy')} for arrays (elementwise)")
    return broadcast(ev, name, lambda p, q: binary(ev, prim, kind, alias, p, q), (a, b))


def broadcast(ev, name: str, each, args):
    """``each(*elements)`` over ``args`` (numbers, runtime scalars, lists, arrays) broadcast
    as NumPy broadcasts them, as an object array (a 0-d result as its element)."""
    args = [to_array(ev, v) if isinstance(v, (list, tuple)) else v for v in args]
    for s in args:
        for other in args:
            if isinstance(s, Scalar) and s.param in ev.arrays and isinstance(other, np.ndarray) and other.ndim \
                    and held_array_param(ev, other) is None:     # as in an operator (Evaluator.binop)
                ev.vector_use(s, f"{name} with a vector of length {len(other)}")
    each = np.vectorize(each, otypes=[object])
    try:
        return _unwrap(each(*(to_array(ev, v) if isinstance(v, np.ndarray) else _zero_d(v) for v in args)))
    except ValueError as exc:
        raise ev.fail(ev.node, f"{name} failed: {exc}") from None


def _compute_now(ev, prim, kind, alias, *xs):
    """``prim(*xs)`` of transform-time numbers, as the source's module computes it (a NumPy
    result as the Python number it holds, an int for ints where NumPy keeps ints)."""
    name = spelling(prim, kind)
    fn = getattr(math if kind == "math" else np, name)
    try:
        with np.errstate(all="raise"):
            value = fn(*xs)
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
        raise ev.fail(ev.node, f"{alias}.{name}{tuple(xs)!r} at transform time: {exc}") from None
    return value.item() if isinstance(value, np.generic) else value


def _binary_primitive(prim):
    """``math.atan2``, ``np.arctan2``...: a primitive of two operands."""
    def impl(ev, alias, args, kwargs):
        kind = module_kind(ev, alias)
        name = f"{alias}.{spelling(prim, kind)}"
        _no_keywords(ev, name, kwargs)
        if len(args) != 2:
            raise ev.fail(ev.node, f"{name} takes two arguments here, got {len(args)}")
        return binary(ev, prim, kind, alias, *args)
    return impl


def _compute(ev, prim, kind, alias, x):
    if prim == "abs":
        return abs(x)
    name = PRIMITIVES[prim].math if kind == "math" else PRIMITIVES[prim].numpy
    fn = getattr(math if kind == "math" else np, name)
    try:
        with np.errstate(all="raise"):
            value = fn(float(x))
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
        raise ev.fail(ev.node, f"{alias}.{name}({x!r}) at transform time: {exc}") from None
    return float(value)


def _map(fn, arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = fn(arr[idx])
    return out


def to_array(ev, value) -> np.ndarray:
    """``value`` (numbers, runtime scalars, nested lists/tuples of them, arrays) as an object
    array, never a float array (so elements may become runtime later)."""
    if isinstance(value, np.ndarray):
        return value.astype(object) if value.dtype != object else value
    if isinstance(value, Scalar):
        ev.vector_use(value, "np.array")
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise ev.fail(ev.node, f"cannot make an array of this value: {exc}") from None
    for item in arr.flat:
        if not (isinstance(item, Scalar) or is_number(item) or item is None):
            from .evaluate import _kind
            raise ev.fail(ev.node, f"an array element is {_kind(item)}: arrays hold numbers")
    return arr


def index_array(ev, value):
    """An index as NumPy reads it: an array of numbers made here (an object array, e.g.
    ``np.array([2, 0, 1])``) as the int array (or bool mask) NumPy would have; an array
    holding runtime values is refused."""
    if not (isinstance(value, np.ndarray) and value.dtype == object):
        return value
    items = list(value.flat)
    for item in items:
        if isinstance(item, Scalar):
            ev.refuse_runtime("an index or count", item, "an index array holds a runtime value")
    if not items:
        raise ev.fail(ev.node, "an empty index array: NumPy makes np.array([]) an array of floats, "
                               "which cannot index; write np.array([], dtype=int)")
    if all(isinstance(i, (bool, np.bool_)) for i in items):
        return value.astype(bool)
    if all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in items):
        return value.astype(np.intp)
    from .evaluate import _kind
    odd = next(i for i in items if not isinstance(i, (int, np.integer)) or isinstance(i, (bool, np.bool_)))
    raise ev.fail(ev.node, f"an index array must hold ints (or only bools, a mask), but it holds "
                           f"{_kind(odd)}: write the indices as ints")


def _sequence(ev, value, what):
    ev.vector_use(value, what)
    return value


def _count(ev, value, what) -> int:
    if isinstance(value, Scalar):
        ev.refuse_runtime("an index or count", value, f"{what} depends on a runtime value")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value == int(value):
            raise ev.fail(ev.node, f"{what} must be an int, got the float {value!r}: use int(...)")
        from .evaluate import _kind
        raise ev.fail(ev.node, f"{what} must be an int, got {_kind(value)}")
    return int(value)


def _shape(ev, value, what="a shape"):
    if isinstance(value, (tuple, list)):
        return tuple(_count(ev, v, what) for v in value)
    return (_count(ev, value, what),)


# builtins ---------------------------------------------------------------------------------

def _range(ev, alias, args, kwargs):
    _no_keywords(ev, "range", kwargs)
    if not 1 <= len(args) <= 3:
        raise ev.fail(ev.node, f"range expected 1 to 3 arguments, got {len(args)}")
    bounds = [_count(ev, a, "a range bound (the loop's trip count)") for a in args]
    if len(bounds) == 3 and bounds[2] == 0:
        raise ev.fail(ev.node, "range() step must not be zero")
    return range(*bounds)


def _len(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "len", args, 1)
    _sequence(ev, x, "len()")
    try:
        return len(x)
    except TypeError as exc:
        raise ev.fail(ev.node, f"len() failed: {exc}") from None


def _exactly(ev, name, args, n):
    if len(args) != n:
        raise ev.fail(ev.node, f"{name}() takes {n} argument(s), got {len(args)}")
    return args


def _python(name, sequence_args=1):
    """A builtin applied as Python applies it (after checking its sequence arguments)."""
    fn = getattr(builtins, name)

    def impl(ev, alias, args, kwargs):
        for a in args[:sequence_args] if sequence_args >= 0 else args:
            _sequence(ev, a, f"{name}()")
        try:
            result = fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{name}() failed: {exc}") from None
        if name in ("enumerate", "zip", "reversed", "map", "filter"):
            result = list(result)
        return result
    return impl


def ev_errors():
    return (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError)


def _minmax(name):
    fn = getattr(builtins, name)

    def impl(ev, alias, args, kwargs):
        items = list(args[0]) if len(args) == 1 and not is_number(args[0]) else list(args)
        if len(args) == 1:
            _sequence(ev, args[0], f"{name}()")
        if any(isinstance(item, Scalar) for item in items):
            from .nonsmooth import _builtin_extreme
            return _builtin_extreme(ev, name, items, kwargs)
        try:
            return fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{name}() failed: {exc}") from None
    return impl


def _sum(ev, alias, args, kwargs):
    if not args:
        raise ev.fail(ev.node, "sum() needs an iterable")
    seq = _sequence(ev, args[0], "sum()")
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    total = start
    for item in (list(seq) if not isinstance(seq, np.ndarray) else list(seq)):
        total = _add(ev, total, item)
    return total


def _add(ev, a, b):
    try:
        return a + b
    except TypeError as exc:
        raise ev.fail(ev.node, f"sum() failed: {exc}") from None


def _float(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "float", args, 1)
    if isinstance(x, Scalar):
        return x
    try:
        return float(x)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"float() failed: {exc}") from None


def _int(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "int", args, 1)
    if isinstance(x, Scalar):
        raise ev.refuse(ev.node, "int() of a runtime value: rounding is not differentiable and "
                                 "would make the data flow depend on the inputs")
    try:
        return int(x)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"int() failed: {exc}") from None


def _print(ev, alias, args, kwargs):
    raise ev.refuse(ev.node, "print() is not supported inside the function: the generated code "
                             "computes numbers only (print outside, or use si.explain)")


def _isinstance(ev, alias, args, kwargs):
    raise ev.refuse(ev.node, "isinstance() is not supported: the function sees numbers, tuples, "
                             "lists and arrays whose kinds are fixed at transform time")


# math ---------------------------------------------------------------------------------------

def _math_tt(name):
    fn = getattr(math, name)

    def impl(ev, alias, args, kwargs):
        for a in args:
            if isinstance(a, Scalar):
                raise ev.refuse(ev.node, f"{alias}.{name}() of a runtime value is not supported "
                                         "(it is not differentiable, or not a primitive)")
        try:
            return fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{alias}.{name}() failed: {exc}") from None
    return impl


def _math_pow(ev, alias, args, kwargs):
    if len(args) != 2:
        raise ev.fail(ev.node, f"{alias}.pow takes two arguments")
    a, b = args
    if not isinstance(a, Scalar) and not isinstance(b, Scalar):
        return math.pow(a, b)
    return a ** b


def _hypot(ev, alias, args, kwargs):
    """np.hypot(x, y) and math.hypot(x, y): the primitive; math.hypot of n coordinates:
    hypot(hypot(x, y), z)... (no square to overflow), math.hypot(x) = abs(x)."""
    kind = module_kind(ev, alias)
    if kind == "numpy" or len(args) == 2:
        return _binary_primitive("hypot")(ev, alias, args, kwargs)
    _no_keywords(ev, f"{alias}.hypot", kwargs)
    if all(not isinstance(a, Scalar) and is_number(a) for a in args):
        return math.hypot(*args)
    if len(args) == 1:
        return abs(args[0]) if isinstance(args[0], Scalar) else binary(ev, "hypot", kind, alias, *args, 0.0)
    total = args[0]
    for a in args[1:]:
        total = binary(ev, "hypot", kind, alias, total, a)
    return total


def _log_base(base):
    def impl(ev, alias, args, kwargs):
        (x,) = _exactly(ev, f"log{base}", args, 1)
        kind = module_kind(ev, alias)
        return primitive(ev, "log", kind, alias, x) / math.log(base)
    return impl


def _math_log(ev, alias, args, kwargs):
    if len(args) == 2:
        return primitive(ev, "log", "math", alias, args[0]) / primitive(ev, "log", "math", alias, args[1])
    (x,) = _exactly(ev, f"{alias}.log", args, 1)
    return primitive(ev, "log", "math", alias, x)


# numpy ----------------------------------------------------------------------------------------

def _arguments(ev, name, args, kwargs, params, required=1, keywords=()):
    """``args`` and ``kwargs`` bound to ``params`` as NumPy binds them (positionally or by
    keyword; ``keywords`` are keyword-only): name -> value. A keyword outside them is
    refused, naming those that are supported."""
    if len(args) > len(params):
        raise ev.fail(ev.node, f"{name}() takes at most {len(params)} positional argument(s) "
                               f"({', '.join(params)}), got {len(args)}")
    bound = dict(zip(params, args))
    for key, value in kwargs.items():
        if key not in params and key not in keywords:
            raise ev.refuse(ev.node, f"keyword argument '{key}' of {name}() is not supported: it "
                                     f"takes {', '.join(params + tuple(keywords))}")
        if key in bound:
            raise ev.fail(ev.node, f"{name}() got multiple values for argument '{key}'")
        bound[key] = value
    missing = [p for p in params[:required] if p not in bound]
    if missing:
        raise ev.fail(ev.node, f"{name}() missing required argument '{missing[0]}'")
    return bound


def _written(ev, keyword: str, position: int | None = None) -> str | None:
    """The source text of the call's argument ``keyword`` (or its positional argument
    ``position``), for messages."""
    node = ev.node
    if not isinstance(node, gast.Call):
        return None
    for kw in node.keywords:
        if kw.arg == keyword:
            return ev.text_of(kw.value)
    if position is not None and position < len(node.args) \
            and not any(isinstance(a, gast.Starred) for a in node.args[:position + 1]):
        return ev.text_of(node.args[position])
    return None


_DTYPES = {"float64": np.float64, "float32": np.float32, "int64": np.int64, "int32": np.int32}


def _dtype(ev, value, name, position=None):
    """The dtype ``value`` asks of ``name``: None (not given), np.float64 (``float``,
    ``np.float64``, ``"float64"``...), np.float32, np.int64 (``int``) or np.int32. Any other is
    refused, quoting the call as written."""
    from .evaluate import Known
    if value is None:
        return None
    dtype = None
    if isinstance(value, Known):
        if value.kind == "builtins":
            dtype = {"float": np.float64, "int": np.int64}.get(value.attr)
        elif value.kind == "numpy":
            dtype = _DTYPES.get(value.attr)
    elif isinstance(value, str):
        try:
            dtype = _DTYPES.get(np.dtype(value).name)
        except TypeError:
            dtype = None
    if dtype is None:
        written = _written(ev, "dtype", position) or (repr(value) if isinstance(value, str) else "...")
        raise ev.refuse(ev.node, f"dtype={written} in {name}() is not supported: the function's arrays "
                                 "hold real numbers; write dtype=float (or leave it out), or "
                                 "dtype=np.float32 or dtype=int for an array of constants")
    return dtype


def _typed(ev, arr: np.ndarray, dtype, name: str, position: int | None = None) -> np.ndarray:
    """The object array ``arr`` as NumPy's ``name(..., dtype=dtype)`` holds it: None keeps it;
    np.float64 makes its numbers floats; np.float32 and the int dtypes give a NumPy array of
    that dtype (NumPy's own rounding), which holds transform-time numbers only (a runtime
    value stored in it later is refused)."""
    if dtype is None:
        return arr
    if dtype is np.float64:
        return _map(lambda e: e if isinstance(e, float) or not is_number(e) else float(e), arr)
    for item in arr.flat:
        if isinstance(item, Scalar):
            what = np.dtype(dtype).name
            raise ev.refuse(ev.node, f"{name}() with dtype={_written(ev, 'dtype', position) or what} of a "
                                     f"runtime value: NumPy would convert it to {what}, but the generated "
                                     "code computes in float64; leave dtype out (or write dtype=float)")
    try:
        return np.array([0 if e is None else e for e in arr.flat], dtype=dtype).reshape(arr.shape)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"{name}() failed: {exc}") from None


def _layout(ev, value, name, allowed=("C", "F")):
    """A memory layout argument (``order=``) that does not change the values made."""
    if value is not None and not (isinstance(value, str) and value in allowed):
        raise ev.fail(ev.node, f"order={_written(ev, 'order') or repr(value)} in {name}(): write one of "
                               f"{', '.join(repr(a) for a in allowed)}")


def _np_array(ev, alias, args, kwargs):
    a = _arguments(ev, "np.array", args, kwargs, ("object", "dtype"), keywords=("copy", "order", "ndmin"))
    dtype = _dtype(ev, a.get("dtype"), "np.array", 1)
    _layout(ev, a.get("order"), "np.array", ("K", "A", "C", "F"))
    x = a["object"]
    out = _typed(ev, to_array(ev, x), dtype, "np.array", 1)
    if out is x and a.get("copy", True) is True:       # copy=None or False: x itself, as NumPy
        out = out.copy()
    ndmin = _count(ev, a.get("ndmin", 0), "ndmin of np.array")
    if out.ndim < ndmin:
        out = out.reshape((1,) * (ndmin - out.ndim) + out.shape)
    return out


def _np_asarray(ev, alias, args, kwargs):
    a = _arguments(ev, "np.asarray", args, kwargs, ("a", "dtype", "order"), keywords=("copy",))
    dtype = _dtype(ev, a.get("dtype"), "np.asarray", 1)
    _layout(ev, a.get("order"), "np.asarray", (None, "K", "A", "C", "F"))
    arr = to_array(ev, a["a"])
    if dtype is np.float64 and all(isinstance(e, (Scalar, float, np.floating)) for e in arr.flat):
        return arr                                     # floats already: the same array
    out = _typed(ev, arr, dtype, "np.asarray", 1)
    if a.get("copy") is True and out is a["a"]:
        out = out.copy()
    return out


def _filled(fill, name):
    def impl(ev, alias, args, kwargs):
        params = ("shape", "fill_value", "dtype", "order") if fill == "value" else ("shape", "dtype", "order")
        a = _arguments(ev, f"np.{name}", args, kwargs, params, required=2 if fill == "value" else 1)
        dtype = _dtype(ev, a.get("dtype"), f"np.{name}", params.index("dtype"))
        _layout(ev, a.get("order"), f"np.{name}")
        value = a["fill_value"] if fill == "value" else fill
        if isinstance(value, (list, tuple, np.ndarray)):
            value = to_array(ev, value)
        try:
            arr = np.full(_shape(ev, a["shape"]), value, dtype=object)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
        return _typed(ev, arr, dtype, f"np.{name}", params.index("dtype"))
    return impl


def _like(fill, name):
    def impl(ev, alias, args, kwargs):
        params = ("a", "fill_value", "dtype", "order") if fill == "value" else ("a", "dtype", "order")
        a = _arguments(ev, f"np.{name}", args, kwargs, params, required=2 if fill == "value" else 1,
                       keywords=("shape",))
        dtype = _dtype(ev, a.get("dtype"), f"np.{name}", params.index("dtype"))
        _layout(ev, a.get("order"), f"np.{name}", ("K", "A", "C", "F"))
        shape = _shape(ev, a["shape"]) if a.get("shape") is not None else to_array(ev, a["a"]).shape
        value = a["fill_value"] if fill == "value" else fill
        return _typed(ev, np.full(shape, value, dtype=object), dtype, f"np.{name}")
    return impl


def _np_arange(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    dtype = _dtype(ev, kwargs.pop("dtype", None), "np.arange")
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Scalar):
            ev.refuse_runtime("an index or count", a, "a bound of np.arange depends on a runtime value")
    try:
        out = np.arange(*args, **kwargs, dtype=dtype)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.arange failed: {exc}") from None
    return out


def _np_linspace(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    dtype = _dtype(ev, kwargs.pop("dtype", None), "np.linspace", 5)
    if len(args) > 5:
        dtype = _dtype(ev, args[5], "np.linspace", 5)
        args = args[:5]
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Scalar):
            raise ev.refuse(ev.node, "np.linspace of runtime values is not supported: its bounds "
                                     "must be transform-time values")
    try:
        out = np.linspace(*args, **kwargs, dtype=dtype)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.linspace failed: {exc}") from None
    if isinstance(out, tuple):                          # retstep=True: (samples, step)
        return (out[0].astype(object) if out[0].dtype == np.float64 else out[0]), out[1]
    return out.astype(object) if out.dtype == np.float64 else out


def _np_eye(ev, alias, args, kwargs):
    a = _arguments(ev, "np.eye", args, kwargs, ("N", "M", "k", "dtype", "order"))
    n = _count(ev, a["N"], "N of np.eye (its number of rows)")
    m = None if a.get("M") is None else _count(ev, a["M"], "M of np.eye (its number of columns)")
    k = _count(ev, a.get("k", 0), "k of np.eye (the offset of its diagonal)")
    dtype = _dtype(ev, a.get("dtype"), "np.eye", 3)
    _layout(ev, a.get("order"), "np.eye")
    try:
        out = np.eye(n, m, k)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.eye failed: {exc}") from None
    return _typed(ev, out.astype(object), dtype, "np.eye")


def _np_identity(ev, alias, args, kwargs):
    a = _arguments(ev, "np.identity", args, kwargs, ("n", "dtype"))
    n = _count(ev, a["n"], "the size of np.identity")
    try:
        out = np.identity(n)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.identity failed: {exc}") from None
    return _typed(ev, out.astype(object), _dtype(ev, a.get("dtype"), "np.identity", 1), "np.identity")


def _np_scalar_type(name):
    """``np.float64(x)``, ``np.float32(0.1)``, ``np.int64(3)``: a NumPy number of a
    transform-time value; np.float64 of a runtime value is that value (it computes in float64)."""
    dtype = _DTYPES[name]

    def impl(ev, alias, args, kwargs):
        _no_keywords(ev, f"{alias}.{name}", kwargs)
        (x,) = _exactly(ev, f"{alias}.{name}", args, 1)
        if isinstance(x, Scalar):
            if dtype is np.float64:
                return x
            raise ev.refuse(ev.node, f"{alias}.{name}() of a runtime value: it rounds the value to {name}, "
                                     "but the generated code computes in float64; leave the conversion "
                                     "out (or write float(...))")
        if isinstance(x, (list, tuple, np.ndarray)):
            return _typed(ev, to_array(ev, x), dtype, f"{alias}.{name}")
        try:
            return dtype(x)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{alias}.{name}() failed: {exc}") from None
    return impl


def _order(ev, arr: np.ndarray, order, name: str, position=None, reshape: bool = False) -> str:
    """``order`` of ``name`` as 'C' or 'F'. 'A' and 'K' follow the memory layout of the
    array, which is that of the user's arrays only where it cannot matter: a 1-D array
    (read in its own order by each), or results that are the same read either way."""
    if order is None:
        order = "C"
    if isinstance(order, str) and order in ("C", "F"):
        return order
    written = _written(ev, "order", position) or (repr(order) if isinstance(order, str) else "...")
    if order == "K" and reshape:
        raise ev.fail(ev.node, f"order='K' is not permitted for {name}: write order='C' or order='F'")
    if isinstance(order, str) and order in ("A", "K"):
        if arr.ndim <= 1 or sum(n > 1 for n in arr.shape) <= 1:
            return "C"
        raise ev.refuse(ev.node, f"order={written} in {name} reads the array in its memory layout, "
                                 "which the generated code does not keep: write order='C' (rows first) "
                                 "or order='F' (columns first)")
    raise ev.fail(ev.node, f"order={written} in {name}: write 'C', 'F', 'A' or 'K'")


def _reshape(ev, arr, shape, order, name, position=None):
    shape = _shape(ev, shape)
    order = _order(ev, arr, order, name, position, reshape=True)
    try:
        return arr.reshape(shape, order=order)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"{name} failed: {exc}") from None


def _np_reshape(ev, alias, args, kwargs):
    a = _arguments(ev, "np.reshape", args, kwargs, ("a", "shape", "order"), required=2, keywords=("copy",))
    if a.get("copy") is not None:
        raise ev.refuse(ev.node, "copy= of np.reshape is not supported: leave it out, or copy with .copy()")
    return _reshape(ev, to_array(ev, a["a"]), a["shape"], a.get("order"), "np.reshape", 2)


def _np_ravel(ev, alias, args, kwargs):
    a = _arguments(ev, "np.ravel", args, kwargs, ("a", "order"))
    arr = to_array(ev, a["a"])
    return arr.ravel(order=_order(ev, arr, a.get("order"), "np.ravel", 1))


def _np_vdot(ev, alias, args, kwargs):
    """np.vdot: the dot product of the two arrays flattened (real, so nothing to conjugate)."""
    _no_keywords(ev, "np.vdot", kwargs)
    args = _exactly(ev, "np.vdot", args, 2)
    ev.product_of(*args)
    a, b = (to_array(ev, v).ravel() for v in args)
    if a.size != b.size:
        raise ev.fail(ev.node, f"np.vdot of arrays of {a.size} and {b.size} elements: it needs the "
                               "same number in each")
    return _unwrap(np.dot(a, b)) if a.size else 0.0


def _np_real(ev, alias, args, kwargs):
    """np.real and np.conj of a real value: the value itself (np.real returns a real array
    itself, np.conj a copy)."""
    (x,) = _exactly(ev, "np.real", args, 1)
    if isinstance(x, Scalar) or is_number(x):
        return x
    return to_array(ev, x)


def _np_conj(ev, alias, args, kwargs):
    _no_keywords(ev, "np.conj", kwargs)
    (x,) = _exactly(ev, "np.conj", args, 1)
    if isinstance(x, Scalar) or is_number(x):
        return x
    return to_array(ev, x).copy()


def _np_imag(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.imag", args, 1)
    if isinstance(x, Scalar) or is_number(x):
        return 0.0
    return np.full(to_array(ev, x).shape, 0.0, dtype=object)


_PRODUCTS = {"dot": 1, "matmul": 1, "inner": 2, "vdot": 2, "outer": 2,   # operands a batch cannot be (Evaluator.product_of)
             "kron": 2, "tensordot": 2, "cross": 2, "convolve": 2, "correlate": 2}


_AXIS_AT = {"sum": 1, "prod": 1, "mean": 1, "cumsum": 1, "cumprod": 1, "max": 1, "min": 1, "std": 1,
            "var": 1, "any": 1, "all": 1, "diff": 2, "flip": 1, "roll": 2}    # position of axis= after the array
_BATCH_SAFE_METHODS = {"copy", "tolist", "astype", "conj", "conjugate", "fill", "real", "imag"}


def held_array_param(ev, value):
    """The first runtime scalar derived from an array argument (a parameter the call gave
    a 1-D array, read as a batch of scalars) that ``value``, a list, tuple or object array,
    holds; None if there is none."""
    if not ev.arrays:
        return None
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Scalar):
            if item.param in ev.arrays:
                return item
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, np.ndarray) and item.dtype == object:
            stack.extend(item.flat)
    return None


def across_batch(ev, containers, name, rest, kwargs, what) -> None:
    """``name`` applied to lists or arrays holding values of an array argument: as NumPy
    runs the user's function, those are arrays with one more axis (the argument's), which
    ``name`` reduces, reshapes or contracts along with the others (np.sum([x, 2 * x]) sums
    every element, not per point) unless it works along axis 0 only. Then the argument
    is one vector, not a batch of scalars: ask for its length (Evaluator.vector_use)."""
    axis_at = _AXIS_AT.get(name.lstrip("."))
    if axis_at is not None:
        axis = kwargs.get("axis", rest[axis_at - 1] if len(rest) >= axis_at else None)
        if axis == 0 or axis == (0,):
            return
    held = held_array_param(ev, containers)
    if held is not None:
        ev.vector_use(held, f"{what} of a list or array holding it")


def _structural(name, arrays=1):
    """numpy ``name`` applied to object arrays (NumPy moves elements and, for reductions and
    products, combines them through their own operators)."""
    fn = getattr(np, name)

    def impl(ev, alias, args, kwargs):
        args = list(args)
        for a in (_sequence(ev, args[0], f"np.{name}") if arrays == "seq" and args else args):
            if isinstance(a, Scalar) and a.param in ev.arrays:    # an array argument: reduced or moved
                ev.vector_use(a, f"np.{name}")                    # as a vector by NumPy, so a vector
        if name in _PRODUCTS:
            ev.product_of(*args[:_PRODUCTS[name]])
        if name not in ("concatenate", "stack", "vstack"):          # along axis 0: as for one point
            across_batch(ev, args[0] if arrays == "seq" else args[:arrays], name, args[1:], kwargs, f"np.{name}")
        if arrays == "seq":
            seq = _sequence(ev, args[0], f"np.{name}")
            # a scalar item (np.stack([x[0] * x[1], x[0] + x[1]])) is a 0-d array, as in NumPy
            args[0] = [_zero_d(a) if isinstance(a, Scalar) or is_number(a) else to_array(ev, a) for a in seq]
        else:
            for i in range(min(arrays, len(args))):
                args[i] = to_array(ev, args[i])
        kwargs = _float_dtype(ev, kwargs, f"np.{name}")
        try:
            out = fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
        return _unwrap(out)
    return impl


def _zero_d(x) -> np.ndarray:
    """A number or runtime scalar as a 0-d object array."""
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def _unwrap(out):
    """A 0-d result (a reduction) as its element."""
    if isinstance(out, np.ndarray) and out.ndim == 0:
        return out[()]
    return out


def _elementwise(op):
    """np.add, np.multiply...: the operator, with lists taken as arrays."""
    def impl(ev, alias, args, kwargs):
        _no_keywords(ev, "np ufunc", kwargs)
        a, b = _exactly(ev, "the ufunc", args, 2)
        a = to_array(ev, a) if isinstance(a, (list, tuple)) else a
        b = to_array(ev, b) if isinstance(b, (list, tuple)) else b
        try:
            return op(a, b)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"the ufunc failed: {exc}") from None
    return impl


def _np_square(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.square", args, 1)
    x = to_array(ev, x) if isinstance(x, (list, tuple)) else x
    return x * x


def _np_negative(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.negative", args, 1)
    x = to_array(ev, x) if isinstance(x, (list, tuple)) else x
    return -x


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _np_pad(ev, alias, args, kwargs):
    """np.pad(array, pad_width, mode="constant", constant_values=0, reflect_type="even"):
    NumPy moves the elements. The modes that compute from them by comparisons or
    statistics (maximum, mean, linear_ramp...) are refused. NumPy writes the constant into
    an object array as a NumPy int64 or float64: it is a Python float here."""
    if not 2 <= len(args) <= 3:
        raise ev.refuse(ev.node, "np.pad takes the array, pad_width and optionally mode")
    unknown = sorted(set(kwargs) - {"mode", "constant_values", "reflect_type"})
    if unknown:
        raise ev.refuse(ev.node, f"np.pad's keyword {unknown[0]}= is not supported (mode=, constant_values= "
                                 "and reflect_type= are)")
    mode = args[2] if len(args) == 3 else kwargs.get("mode", "constant")
    if mode not in _PAD_MODES:
        raise ev.refuse(ev.node, f"np.pad(mode={mode!r}) is not supported: use one of "
                                 f"{', '.join(_PAD_MODES)}, or build the padding with np.concatenate")
    out = _structural("pad")(ev, alias, args, kwargs)
    if isinstance(out, np.ndarray) and out.dtype == object:
        for index, value in np.ndenumerate(out):
            if isinstance(value, (np.integer, np.float64)):
                out[index] = float(value)
    return out


def _np_copy(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.copy", args, 1)
    return to_array(ev, x).copy()


def _measured(ev, x, what):
    """The array ``x`` for np.shape, np.size and np.ndim; None for a scalar. A parameter the
    call gives an array for is a vector there, as in NumPy (its length is asked for)."""
    if isinstance(x, Scalar):
        if x.param is not None and x.param in ev.arrays:
            ev.vector_use(x, what)
        return None
    return to_array(ev, x)


def _np_shape(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.shape", args, 1)
    arr = _measured(ev, x, "np.shape")
    return () if arr is None else arr.shape


def _np_size(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.size", args, 1)
    arr = _measured(ev, x, "np.size")
    return 1 if arr is None else arr.size


def _np_ndim(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.ndim", args, 1)
    arr = _measured(ev, x, "np.ndim")
    return 0 if arr is None else arr.ndim


def _np_tt(name):
    fn = getattr(np, name)

    def impl(ev, alias, args, kwargs):
        for a in args:
            if isinstance(a, Scalar) or (isinstance(a, np.ndarray) and a.dtype == object
                                         and any(isinstance(e, Scalar) for e in a.flat)):
                raise ev.refuse(ev.node, f"np.{name} of a runtime value is not supported")
        # numbers made here are in object arrays: as NumPy's own (np.isfinite has no object loop)
        args = [np.array(a.tolist()) if isinstance(a, np.ndarray) and a.dtype == object else a for a in args]
        try:
            return _unwrap(fn(*args, **kwargs))
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
    return impl


# methods -----------------------------------------------------------------------------------

def _method(ev, obj, name, args, kwargs):
    if isinstance(obj, np.ndarray) and name not in _BATCH_SAFE_METHODS:
        across_batch(ev, obj, name, args, kwargs, f".{name}()")
    from .nonsmooth import METHODS
    if name in METHODS and (isinstance(obj, np.ndarray) or name == "clip"):
        return METHODS[name](ev, None, [obj] + list(args), kwargs)
    if name in ("conj", "conjugate") and not isinstance(obj, np.ndarray):
        _exactly(ev, f".{name}", args, 0)
        return obj                                          # a real number is its own conjugate
    if isinstance(obj, np.ndarray):
        if name == "copy":
            return obj.astype(object) if obj.dtype != object else obj.copy()
        if name == "astype":
            a = _arguments(ev, ".astype", args, kwargs, ("dtype", "order", "casting", "subok", "copy"))
            dtype = _dtype(ev, a["dtype"], ".astype", 0)
            arr = obj.astype(object) if obj.dtype != object else obj.copy()
            return _typed(ev, arr, dtype, ".astype", 0)
        if name in ("tolist",):
            return obj.tolist()
        if name in ("flatten", "ravel"):
            a = _arguments(ev, f".{name}", args, kwargs, ("order",), required=0)
            flat = obj.ravel(order=_order(ev, obj, a.get("order"), f".{name}", 0))
            return flat.copy() if name == "flatten" else flat
        if name in ("conj", "conjugate"):
            _exactly(ev, f".{name}", args, 0)
            return obj.astype(object) if obj.dtype != object else obj.copy()
        if name == "fill":
            (value,) = _exactly(ev, ".fill", args, 1)
            if obj.dtype != object and isinstance(value, Scalar):
                raise ev.fail(ev.node, "cannot fill a numeric array with a runtime value")
            obj[...] = value
            return None
        if name == "dot":
            (other,) = _exactly(ev, ".dot", args, 1)
            return _unwrap(np.dot(to_array(ev, obj), to_array(ev, other)))
        if name in ("var", "std"):
            return _spread(name)(ev, None, [obj] + list(args), kwargs)
        if name == "reshape":
            a = _arguments(ev, ".reshape", (), kwargs, (), required=0, keywords=("order",))
            shape = args[0] if len(args) == 1 else tuple(args)
            return _reshape(ev, obj, shape, a.get("order"), ".reshape")
        kwargs = _float_dtype(ev, kwargs, f".{name}")
        method = getattr(obj.astype(object) if obj.dtype != object else obj, name)
    else:
        method = getattr(obj, name)
        if name in ("index", "count"):
            for a in args:
                if isinstance(a, Scalar):
                    raise ev.refuse(ev.node, f".{name}() of a runtime value compares runtime values")
        if name in ("pop", "insert") and args and isinstance(args[0], Scalar):
            ev.refuse_runtime("an index or count", args[0])
        if name == "extend" and args:
            args = [list(_sequence(ev, args[0], ".extend()"))]
    try:
        return _unwrap(method(*args, **kwargs))
    except ev_errors() as exc:
        raise ev.fail(ev.node, f".{name}() failed: {exc}") from None


def _float_dtype(ev, kwargs, name):
    """``kwargs`` without a ``dtype=`` that asks for float64 (the element arithmetic computes
    in floats already); another dtype of a reduction is refused."""
    if "dtype" not in kwargs:
        return kwargs
    kwargs = dict(kwargs)
    dtype = _dtype(ev, kwargs.pop("dtype"), name)
    if dtype not in (None, np.float64):
        raise ev.refuse(ev.node, f"dtype={_written(ev, 'dtype')} in {name}() is not supported: the "
                                 "generated code computes in float64; leave dtype out (or write "
                                 "dtype=float)")
    return kwargs


_IMPLS = {
    ("builtins", "range"): _range,
    ("builtins", "len"): _len,
    ("builtins", "enumerate"): _python("enumerate"),
    ("builtins", "zip"): _python("zip", sequence_args=-1),
    ("builtins", "reversed"): _python("reversed"),
    ("builtins", "sorted"): _python("sorted"),
    ("builtins", "list"): _python("list"),
    ("builtins", "tuple"): _python("tuple"),
    ("builtins", "any"): _python("any"),
    ("builtins", "all"): _python("all"),
    ("builtins", "min"): _minmax("min"),
    ("builtins", "max"): _minmax("max"),
    ("builtins", "sum"): _sum,
    ("builtins", "abs"): lambda ev, alias, args, kwargs: abs(*_exactly(ev, "abs", args, 1)),
    ("builtins", "float"): _float,
    ("builtins", "int"): _int,
    ("builtins", "bool"): lambda ev, alias, args, kwargs: ev.truth(args[0], ev.node) if args else False,
    ("builtins", "pow"): lambda ev, alias, args, kwargs: _math_pow(ev, "pow", args, kwargs),
    ("builtins", "print"): _print,
    ("builtins", "isinstance"): _isinstance,
    ("math", "pow"): _math_pow,
    ("math", "hypot"): _hypot,
    ("math", "log10"): _log_base(10),
    ("math", "log2"): _log_base(2),
    ("numpy", "hypot"): _hypot,
    ("numpy", "log10"): _log_base(10),
    ("numpy", "log2"): _log_base(2),
    ("numpy", "array"): _np_array,
    ("numpy", "asarray"): _np_asarray,
    ("numpy", "zeros"): _filled(0.0, "zeros"),
    ("numpy", "ones"): _filled(1.0, "ones"),
    ("numpy", "empty"): _filled(None, "empty"),
    ("numpy", "full"): _filled("value", "full"),
    ("numpy", "zeros_like"): _like(0.0, "zeros_like"),
    ("numpy", "ones_like"): _like(1.0, "ones_like"),
    ("numpy", "empty_like"): _like(None, "empty_like"),
    ("numpy", "full_like"): _like("value", "full_like"),
    ("numpy", "arange"): _np_arange,
    ("numpy", "linspace"): _np_linspace,
    ("numpy", "eye"): _np_eye,
    ("numpy", "identity"): _np_identity,
    ("numpy", "copy"): _np_copy,
    ("numpy", "concatenate"): _structural("concatenate", "seq"),
    ("numpy", "stack"): _structural("stack", "seq"),
    ("numpy", "hstack"): _structural("hstack", "seq"),
    ("numpy", "vstack"): _structural("vstack", "seq"),
    ("numpy", "append"): _structural("append", 2),
    ("numpy", "roll"): _structural("roll"),
    ("numpy", "pad"): _np_pad,
    ("numpy", "flip"): _structural("flip"),
    ("numpy", "reshape"): _np_reshape,
    ("numpy", "ravel"): _np_ravel,
    ("numpy", "transpose"): _structural("transpose"),
    ("numpy", "outer"): _structural("outer", 2),
    ("numpy", "sum"): _structural("sum"),
    ("numpy", "prod"): _structural("prod"),
    ("numpy", "dot"): _structural("dot", 2),
    ("numpy", "matmul"): _structural("matmul", 2),
    ("numpy", "vdot"): _np_vdot,
    ("numpy", "conj"): _np_conj,
    ("numpy", "conjugate"): _np_conj,
    ("numpy", "real"): _np_real,
    ("numpy", "imag"): _np_imag,
    ("numpy", "inner"): _structural("inner", 2),
    ("numpy", "mean"): _structural("mean"),
    ("numpy", "cumsum"): _structural("cumsum"),
    ("numpy", "diff"): _structural("diff"),
    ("numpy", "square"): _np_square,
    ("numpy", "negative"): _np_negative,
    ("numpy", "shape"): _np_shape,
    ("numpy", "size"): _np_size,
    ("numpy", "ndim"): _np_ndim,
    ("numpy", "floor"): _np_tt("floor"),
    ("numpy", "ceil"): _np_tt("ceil"),
    ("numpy", "isfinite"): _np_tt("isfinite"),
}


def _tt_builtin(name):
    """A builtin of numbers only (round, divmod): refused on runtime values."""
    def impl(ev, alias, args, kwargs):
        return _tt_builtin_call(ev, name, args, kwargs)
    return impl


def _tt_builtin_call(ev, name, args, kwargs):
    for a in args:
        if isinstance(a, Scalar):
            raise ev.refuse(ev.node, f"{name}() of a runtime value is not supported (it is not "
                                     "differentiable)")
    try:
        return getattr(builtins, name)(*args, **kwargs)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"{name}() failed: {exc}") from None


for _p in PRIMITIVES.values():
    if _p.arity == 2 and _p.symbol is None:
        for _kind_name in ("math", "numpy"):
            if getattr(_p, _kind_name):
                _IMPLS.setdefault((_kind_name, getattr(_p, _kind_name)), _binary_primitive(_p.name))
for _name in _MATH_TT:
    _IMPLS[("math", _name)] = _math_tt(_name)
for _name in _DTYPES:
    _IMPLS[("numpy", _name)] = _np_scalar_type(_name)
for _name in ("round", "divmod"):
    _IMPLS[("builtins", _name)] = _tt_builtin(_name)
_IMPLS[("math", "log")] = _math_log
for _name, _op in (("add", operator.add), ("subtract", operator.sub), ("multiply", operator.mul),
                   ("divide", operator.truediv), ("true_divide", operator.truediv),
                   ("power", operator.pow)):
    _IMPLS[("numpy", _name)] = _elementwise(_op)


def _np_einsum(ev, alias, args, kwargs):
    """np.einsum(subscripts, *operands): NumPy contracts the object arrays (sums of products,
    in its order); the operands are products' operands for batches (Evaluator.product_of)."""
    if not args or not isinstance(args[0], str):
        raise ev.refuse(ev.node, "np.einsum takes the subscripts as a string first (np.einsum('ij,j->i', A, x))")
    _no_keywords(ev, "np.einsum", kwargs)
    operands = [to_array(ev, a) for a in args[1:]]
    ev.product_of(*args[1:])
    across_batch(ev, list(args[1:]), "einsum", (), {}, "np.einsum")
    try:
        return _unwrap(np.einsum(args[0], *[o.astype(object) for o in operands]))
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.einsum failed: {exc}") from None


def _np_polyval(ev, alias, args, kwargs):
    """np.polyval(p, x): Horner's rule, p[0] * x**(n-1) + ... + p[-1], elementwise over x."""
    _no_keywords(ev, "np.polyval", kwargs)
    p, x = _exactly(ev, "np.polyval", args, 2)
    coefficients = list(_sequence(ev, p, "np.polyval's coefficients"))
    x = to_array(ev, x) if isinstance(x, (list, tuple, np.ndarray)) else x
    if not coefficients:
        return np.zeros(np.shape(x)) if isinstance(x, np.ndarray) else 0.0
    y = np.full(x.shape, coefficients[0], dtype=object) if isinstance(x, np.ndarray) else coefficients[0]
    for c in coefficients[1:]:
        y = y * x + c
    return y


def _numpy_alias(ev) -> str:
    """The name the source's module gives numpy (``np`` when it imports numpy as np), for a
    method (``x.std()``) whose generated code calls numpy."""
    for scope in reversed(ev.scopes):
        for name in ("np", "numpy"):
            if scope.lookup(name) == ("module", "numpy"):
                return name
    return alias_for(ev, "numpy")


def _spread(name):
    """np.var / np.std (and the methods): the mean of the squared deviations from the mean
    (over axis=, divided by N - ddof), and its square root for std."""
    def impl(ev, alias, args, kwargs):
        a = _arguments(ev, f"np.{name}", args, kwargs, ("a", "axis", "dtype", "out", "ddof", "keepdims"))
        if a.get("dtype") is not None or a.get("out") is not None:
            raise ev.refuse(ev.node, f"np.{name}: dtype= and out= are not supported")
        arr = to_array(ev, a["a"]).astype(object)
        axis, ddof, keep = a.get("axis"), a.get("ddof", 0), bool(a.get("keepdims", False))
        across_batch(ev, arr, name, (axis,), {}, f"np.{name}")
        count = arr.size if axis is None else int(np.prod([arr.shape[i] for i in np.atleast_1d(axis)]))
        if count - ddof <= 0:
            raise ev.fail(ev.node, f"np.{name} of {count} values with ddof={ddof}: no degrees of freedom left")
        try:
            deviation = arr - np.mean(arr, axis=axis, keepdims=True)
            spread = np.sum(deviation * deviation, axis=axis, keepdims=keep) / (count - ddof)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
        spread = _unwrap(spread)
        if name == "std":
            return primitive(ev, "sqrt", "numpy", _numpy_alias(ev) if alias is None else alias, spread)
        return spread
    return impl


for _name, _arrays in _NUMPY_MOVES.items():
    _IMPLS[("numpy", _name)] = _structural(_name, _arrays)
_IMPLS[("numpy", "einsum")] = _np_einsum
_IMPLS[("numpy", "polyval")] = _np_polyval
_IMPLS[("numpy", "var")] = _spread("var")
_IMPLS[("numpy", "std")] = _spread("std")

from . import nonsmooth as _nonsmooth  # noqa: E402  (it reads this module's helpers)

_IMPLS.update(_nonsmooth.IMPLS)
from . import linalg as _linalg  # noqa: E402  (it reads this module's helpers)
_IMPLS.update(_linalg.IMPLS)
logical = _nonsmooth.logical
