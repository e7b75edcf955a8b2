"""Back end, optional: the C section of a generated module (``backend="c"``).

One pass, :func:`c_section`, from the text of a generated module to a section appended to
it, which compiles its functions with the system C compiler (gcc, clang: ``cc``) into a
shared library loaded with ctypes. It exists because numba compiles straight-line code at
about 80 statements a second, so a flat function of 10,000 statements (Bratu at n = 512,
inverse modes) takes minutes, while a C compiler takes a few seconds at -O1 for code that
runs as fast (benchmarks/results/backends.md). It takes one point at a time (floats and 1-D
vectors); batches stay with numba (``backend="numba"``) or Python.

**The translation** is statement by statement, each Python assignment one C assignment of
a ``double`` (names prefixed ``v_``, so no user name can clash with C or libm), ``math`` and
NumPy functions by their C library names, ``**`` by ``pow`` (as CPython computes it), ``x or
y`` by ``x != 0 ? x : y``. The arguments arrive packed in one array of doubles (each vector
parameter's elements in a row), the results leave in another, in the order the Python
function returns them; the entry point (:class:`s2s_invad.runtime_c.Entry`) packs and
unpacks. A vjp or ivjp writes its tape after its results, and its sweep reads it from there.
Dense lumps (k > 3) are solved by Gaussian elimination with partial pivoting written here.

**Loops kept as loops** become C ``for`` loops over a ``long`` counter (the loop variable, a
double like every value, takes its value each iteration; a bound that is not a whole number
returns 1, as Python's ``range`` raises; so does one beyond 2**52). A loop's tape (``[None] * count``, one row
``tape[k] = (a, b, c)`` per iteration) is laid out in the *room*, the caller's buffer after
the results: the function takes its size ``cap`` and returns 2, with the size it needs in
``out[0]``, when it is too small; the entry point calls again with more and keeps the larger
room for later calls. A vjp or ivjp returns, in its tape, where each loop tape's rows start in
the room and how many there are; its sweep reads them there, and a sweep that falls back to
Python gets them back as the list of rows the Python code records (trip counts as ints).

**Error paths**, as for numba (:mod:`s2s_invad.back.numba_backend`): the C function returns 1
wherever the Python one would call an error helper, when an input is not finite, and when a
floating-point exception flag (invalid, division by zero, overflow) is set at its end
(``fetestexcept``; compiled with ``-std=c11``, so no contraction into FMA and no fast math);
its entry point then runs the Python function on the same arguments.

**What stays Python**, said in the section's comments and by ``si.explain(f, backend="c")``:
a loop tape inside a loop kept as a loop (its tape is one list per outer iteration);
memory="recompute" sweeps; lumps solved by SuperLU at
run time; functions over :data:`ENV` statements (default :data:`DEFAULT_MAX`: gcc -O0 compiles
about 7,000 a second here); and a vjp or
ivjp whose sweep stays Python, or the other way round. A call with a batch (arrays where a
float or a 1-D vector is expected) runs the Python function. Functions over
:data:`OPTIMIZE_ENV` statements (default :data:`DEFAULT_OPTIMIZE_MAX`) are compiled without
optimisation, since the optimiser's time grows faster than their size.
"""

from __future__ import annotations

import ast
import hashlib
import math
from dataclasses import dataclass, field

from ..errors import BackendError
from ..runtime_c import COUNT, tape_slots        # the tape layout the entry points read back
from .backend_text import (Choice, ModuleInfo, Refused, compiled_checks, count_statements, env_bound,
                           count_names, is_tape_allocation as _is_tape_allocation, pair_sweeps, seconds_text,
                           sweeps_of)

ENV = "S2S_INVAD_C_MAX_STATEMENTS"
DEFAULT_MAX = 150_000
SECONDS_PER_STATEMENT = 0.0006     # gcc -O1 here, near 10,000 statements
OPTIMIZE_ENV = "S2S_INVAD_C_OPTIMIZE_MAX_STATEMENTS"
DEFAULT_OPTIMIZE_MAX = 8_000       # larger functions are compiled without optimisation (see c_section)
SECONDS_UNOPTIMIZED = 0.00015      # gcc -O0 here, 50,000 statements in 7.5 s

ERROR_HELPERS = {"zero_pivot", "singular_lump", "singular_block", "log_pivot", "not_finite", "failed"}

_C_FUNCTIONS = {name: name for name in ("sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh",
                                        "sinh", "cosh", "asin", "acos", "atan", "atanh", "asinh", "acosh", "cbrt", "erf", "erfc", "copysign",
                                        "hypot", "atan2")}
_C_FUNCTIONS.update(arcsin="asin", arccos="acos", arctan="atan", arctanh="atanh", arcsinh="asinh", arccosh="acosh",
                    arctan2="atan2")
_C_NUMPY = {"sign": "s2s_sign", "maximum": "s2s_maximum", "minimum": "s2s_minimum", "fmax": "fmax",
            "fmin": "fmin", "heaviside": "s2s_heaviside"}
_C_LOGICAL = {"logical_and": "(({0} != 0.0) && ({1} != 0.0))", "logical_or": "(({0} != 0.0) || ({1} != 0.0))",
              "logical_not": "({0} == 0.0)"}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf, "nan": math.nan}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_LOGICAL = {ast.BitAnd: "&&", ast.BitOr: "||"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}

PRELUDE = r"""#include <math.h>
#include <fenv.h>

/* a function too large to optimise in reasonable time: compiled as at -O0 */
#if defined(__clang__)
#define S2S_UNOPTIMIZED __attribute__((optnone))
#elif defined(__GNUC__)
#define S2S_UNOPTIMIZED __attribute__((optimize("O0")))
#else
#define S2S_UNOPTIMIZED
#endif

#define S2S_FE (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)

/* numpy.sign: -1, 0 or 1, NaN for NaN */
static double s2s_sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x); }

/* numpy.maximum and numpy.minimum: NaN propagates (fmax and fmin ignore it) */
static double s2s_maximum(double x, double y) { return (x >= y || isnan(x)) ? x : y; }
static double s2s_minimum(double x, double y) { return (x <= y || isnan(x)) ? x : y; }

/* numpy.heaviside(x, h): 0, h or 1 */
static double s2s_heaviside(double x, double h) { return x < 0.0 ? 0.0 : (x > 0.0 ? 1.0 : (x == 0.0 ? h : x)); }

/* runtime.finite: every value finite */
static int s2s_finite(const double *x, int n) {
    for (int i = 0; i < n; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

/* runtime.solve without its error path: a (k x k, row by row) b -> b, partial pivoting;
   1 when a pivot is zero or a result not finite (the Python function then says why) */
static int s2s_solve(int k, double *a, double *b) {
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int r = c + 1; r < k; r++) if (fabs(a[r * k + c]) > fabs(a[p * k + c])) p = r;
        if (!(a[p * k + c] != 0.0)) return 1;
        if (p != c) {
            for (int j = 0; j < k; j++) { double t = a[c * k + j]; a[c * k + j] = a[p * k + j]; a[p * k + j] = t; }
            double t = b[c]; b[c] = b[p]; b[p] = t;
        }
        for (int r = c + 1; r < k; r++) {
            double l = a[r * k + c] / a[c * k + c];
            for (int j = c; j < k; j++) a[r * k + j] -= l * a[c * k + j];
            b[r] -= l * b[c];
        }
    }
    for (int r = k - 1; r >= 0; r--) {
        double s = b[r];
        for (int j = r + 1; j < k; j++) s -= a[r * k + j] * b[j];
        b[r] = s / a[r * k + r];
    }
    return !s2s_finite(b, k);
}

/* runtime.slogdet: sign and log|det| of a (k x k), partial pivoting; 1 when det = 0 */
static int s2s_slogdet(int k, double *a, double *sign, double *logabs) {
    double s = 1.0, l = 0.0;
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int r = c + 1; r < k; r++) if (fabs(a[r * k + c]) > fabs(a[p * k + c])) p = r;
        if (!(a[p * k + c] != 0.0)) return 1;
        if (p != c) {
            s = -s;
            for (int j = 0; j < k; j++) { double t = a[c * k + j]; a[c * k + j] = a[p * k + j]; a[p * k + j] = t; }
        }
        double d = a[c * k + c];
        s *= d > 0.0 ? 1.0 : -1.0;
        l += log(fabs(d));
        for (int r = c + 1; r < k; r++) {
            double m = a[r * k + c] / d;
            for (int j = c; j < k; j++) a[r * k + j] -= m * a[c * k + j];
        }
    }
    *sign = s; *logabs = l;
    return !isfinite(l);
}

/* runtime.lu_slogdet without its pivoting fallback: 1 when a pivot is zero or not finite
   or a multiplier fails the pivot test |l| <= BOUND */
static int s2s_lu_slogdet(const double *p, int np, const double *m, int nm, double bound, double parity,
                          double *sign, double *logabs) {
    double s = parity, l = 0.0;
    for (int i = 0; i < nm; i++) if (!(fabs(m[i]) <= bound)) return 1;
    for (int i = 0; i < np; i++) {
        if (!(isfinite(p[i]) && p[i] != 0.0)) return 1;
        s *= p[i] > 0.0 ? 1.0 : -1.0;
        l += log(fabs(p[i]));
    }
    *sign = s; *logabs = l;
    return 0;
}

/* runtime.lu_checked's test: every multiplier bounded, every result finite */
static int s2s_lu_ok(const double *m, int nm, const double *x, int nx, double bound) {
    for (int i = 0; i < nm; i++) if (!(fabs(m[i]) <= bound)) return 0;
    return s2s_finite(x, nx);
}
"""


def optimize_max_statements() -> int:
    """Functions with more statements than this are compiled without optimisation."""
    return env_bound(OPTIMIZE_ENV, DEFAULT_OPTIMIZE_MAX)


def max_statements() -> int:
    """The size bound: functions with more statements than this stay Python."""
    return env_bound(ENV, DEFAULT_MAX)


def require() -> None:
    """Raise :class:`~s2s_invad.errors.BackendError` unless a C compiler can be run here."""
    from .. import runtime_c
    runtime_c.compiler()


def c_name(name: str) -> str:
    """A C identifier for a Python name (non-ASCII letters spelled as code points)."""
    return "v_" + "".join(ch if ch.isascii() else f"_u{ord(ch):x}_" for ch in name)


def c_float(value: float) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


@dataclass
class _Translated:
    name: str
    node: list | None                    # C lines, None: stays Python
    reason: str
    statements: int
    inputs: list = field(default_factory=list)     # per parameter: (offset, size or None)
    n_in: int = 0
    outputs: object = None                          # the result's structure (see runtime_c.unpack)
    n_out: int = 0
    sweep: str | None = None                        # the sweep a vjp/ivjp returns
    tape: list = field(default_factory=list)        # (size or None) per tape element, for the sweep
    room: bool = False                              # lays out loop tapes after its results
    counts: tuple = ()                              # positions of the parameters that are trip counts


class _CFunction:
    """The C form of one generated function."""

    def __init__(self, module: ModuleInfo, constants: dict, tape_sizes: list | None):
        self.m = module
        self.constants = constants
        self.tape_sizes = tape_sizes             # a sweep: the sizes of its tape's elements
        self.lines: list[str] = []
        self.locals: set[str] = set()
        self.vectors: dict[str, tuple[str, int]] = {}   # name -> (C base pointer expression, length)
        self.scalars: set[str] = set()                  # parameters and tape values read as doubles
        self.temps = 0
        self.result = None
        self.widths: dict[str, int] = {}                # a loop tape -> the values it records per iteration
        self.rows: dict[str, str] = {}                  # a loop tape -> the C pointer to its first row
        self.counters: dict[str, str] = {}              # a loop variable -> its C counter (a long)
        self.loops = 0
        self.allocated: list[str] = []                  # loop tapes this function lays out in the room
        self.counts: set[str] = set()                   # names that are trip counts (ints in Python)

    # -- expressions --------------------------------------------------------------
    def expr(self, node) -> str:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return "1.0" if node.value else "0.0"
            if isinstance(node.value, (int, float)):
                return c_float(float(node.value))
            raise Refused(f"a {type(node.value).__name__} constant outside an error message")
        if isinstance(node, ast.Name):
            if node.id in self.vectors:
                raise Refused(f"the vector {node.id} used whole")
            if node.id in self.locals or node.id in self.scalars:
                return c_name(node.id)
            if node.id in self.constants:
                return c_float(self.constants[node.id])
            if node.id in ("True", "False"):
                return "1.0" if node.id == "True" else "0.0"
            raise Refused(f"the name {node.id} (not a value of the function)")
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if base == self.m.runtime and node.attr == "NAN":
                return "NAN"
            if base in self.m.math | self.m.numpy and node.attr in _CONSTANTS:
                return c_float(_CONSTANTS[node.attr])
            raise Refused(f"the attribute {ast.unparse(node)}")
        if isinstance(node, ast.BinOp):
            left, right = self.expr(node.left), self.expr(node.right)
            if isinstance(node.op, ast.Pow):
                return f"pow({left}, {right})"
            if type(node.op) in _BINARY:
                return f"({left} {_BINARY[type(node.op)]} {right})"
            if type(node.op) in _LOGICAL:             # the checks' np.isfinite(d) & (d != 0.0)
                return f"({left} {_LOGICAL[type(node.op)]} {right})"
            raise Refused(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.UnaryOp):
            operand = self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                return f"(-{operand})"
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return f"(!{operand})"
            raise Refused(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.Compare):
            parts, left = [], self.expr(node.left)
            for op, comparator in zip(node.ops, node.comparators):
                if type(op) not in _COMPARE:
                    raise Refused(f"the comparison {type(op).__name__}")
                right = self.expr(comparator)
                parts.append(f"({left} {_COMPARE[type(op)]} {right})")
                left = right
            return parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"
        if isinstance(node, ast.BoolOp):              # Python's value semantics: x or y, x and y
            values = [self.expr(v) for v in node.values]
            text = values[-1]
            for value in reversed(values[:-1]):
                text = (f"({value} != 0 ? {value} : {text})" if isinstance(node.op, ast.Or)
                        else f"({value} == 0 ? {value} : {text})")
            return text
        if isinstance(node, ast.IfExp):
            return f"({self.expr(node.test)} ? {self.expr(node.body)} : {self.expr(node.orelse)})"
        if isinstance(node, ast.Call):
            return self.call(node)
        raise Refused(f"the expression {type(node).__name__}")

    def call(self, node: ast.Call) -> str:
        if node.keywords:
            raise Refused("a call with keyword arguments")
        helper = self.m.runtime_call(node)
        if helper == "isfinite":
            return f"isfinite({self.expr(node.args[0])})"
        if helper == "finite":
            return self.all_finite(node.args)
        if helper is not None:
            raise Refused(f"the runtime helper {helper} here")
        func = node.func
        args = [self.expr(a) for a in node.args]
        if isinstance(func, ast.Name) and func.id == self.m.abs:
            return f"fabs({args[0]})"
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            base, attr = func.value.id, func.attr
            if base in self.m.math | self.m.numpy:
                if attr in _C_FUNCTIONS:
                    return f"{_C_FUNCTIONS[attr]}({', '.join(args)})"
                if attr == "isfinite":
                    return f"isfinite({args[0]})"
            if base in self.m.numpy:
                if attr in _C_NUMPY:
                    return f"{_C_NUMPY[attr]}({', '.join(args)})"
                if attr == "where":              # a select: only the chosen value is read
                    return f"({args[0]} != 0.0 ? {args[1]} : {args[2]})"
                if attr in _C_LOGICAL:
                    return _C_LOGICAL[attr].format(*args)
                if attr in ("all", "any"):
                    return f"({args[0]})"
                if attr == "divide":
                    return f"({args[0]} / {args[1]})"
                if attr in ("zeros_like", "ones_like"):
                    return "0.0" if attr == "zeros_like" else "1.0"
            raise Refused(f"a call of {base}.{attr}")
        raise Refused(f"a call of {ast.unparse(func)}")

    def array(self, nodes) -> str:
        return "(const double[]){" + ", ".join(self.expr(n) for n in nodes) + "}" if nodes else "(const double[]){0.0}"

    def all_finite(self, nodes) -> str:
        return f"s2s_finite({self.array(nodes)}, {len(nodes)})"

    # -- statements -----------------------------------------------------------------
    def emit(self, text: str, depth: int) -> None:
        self.lines.append("    " * depth + text)

    def block(self, stmts, depth: int, conditional: bool) -> None:
        for node in stmts:
            self.stmt(node, depth, conditional)

    def stmt(self, node, depth: int, conditional: bool) -> None:
        if isinstance(node, ast.Try):
            if not self.m.is_guard(node):
                raise Refused("a try statement (memory='recompute' tests its rebuilds that way)")
            return self.block(node.body, depth, conditional)
        if isinstance(node, ast.With):
            if not self.m.is_errstate(node):
                raise Refused("a with statement")
            return self.block(node.body, depth, conditional)
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return None
            if self.m.runtime_call(node.value) in ERROR_HELPERS:
                return self.emit("return 1;", depth)
            raise Refused("an expression statement")
        if isinstance(node, ast.Assign):
            return self.assign(node, depth, conditional)
        if isinstance(node, ast.If):
            self.emit(f"if ({self.expr(node.test)}) {{", depth)
            self.block(node.body, depth + 1, True)
            if node.orelse:
                self.emit("} else {", depth)
                self.block(node.orelse, depth + 1, True)
            return self.emit("}", depth)
        if isinstance(node, ast.For):
            return self.loop(node, depth, conditional)
        if isinstance(node, ast.Return):
            return self.returned(node.value, depth)
        if isinstance(node, (ast.Pass, ast.Delete)):
            return None
        raise Refused(f"a {type(node).__name__} statement")

    # -- loops kept as loops ---------------------------------------------------------------
    def loop(self, node: ast.For, depth: int, conditional: bool) -> None:
        """``for i in range(...)`` as a C ``for`` over a long counter; the loop variable (a
        double, as every value here) takes the counter's value at the top of each iteration.
        A bound that is not a whole number returns 1 (Python's range raises TypeError)."""
        it = node.iter
        if node.orelse or not isinstance(node.target, ast.Name) or not (
                isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and not it.keywords and 1 <= len(it.args) <= 3):
            raise Refused("a for loop that is not over a range")
        step = _int_constant(it.args[2]) if len(it.args) == 3 else 1
        if not step:
            raise Refused("a range whose step is not a nonzero integer constant")
        bounds = [ast.Constant(0)] + it.args[:1] if len(it.args) == 1 else it.args[:2]
        texts = []
        for bound in bounds:
            text = self.expr(bound)
            if _int_constant(bound) is None:         # NaN, a fraction, or past a long's exact doubles
                self.emit(f"if ({text} != floor({text}) || fabs({text}) > 4503599627370496.0) return 1;", depth)
            texts.append(text)
        self.loops += 1
        k, end = f"s2s_k{self.loops}", f"s2s_e{self.loops}"
        self.emit(f"for (long {k} = (long){texts[0]}, {end} = (long){texts[1]}; {k} {'<' if step > 0 else '>'} "
                  f"{end}; {k} += {step}) {{", depth)
        name = node.target.id
        self.emit(f"{self.store(name)} = (double){k};", depth + 1)
        self.counters[name] = k
        self.block(node.body, depth + 1, conditional)
        del self.counters[name]
        self.emit("}", depth)

    def allocate(self, name: str, count, depth: int) -> None:
        """``tape = [None] * count``: ``count`` rows of the tape's width in the room (the
        caller's buffer after the results, ``cap`` doubles); 2 with the room needed in
        ``out[0]`` when it is too small (the entry point then calls again with more)."""
        if self.counters:
            raise Refused("the tape of a loop nested in a loop kept as a loop")
        if self.tape_sizes is not None:
            raise Refused("a loop tape in a sweep")
        if name not in self.widths:
            raise Refused(f"a loop tape that is never filled ({name})")
        width, suffix = self.widths[name], c_name(name)
        self.emit("{", depth)
        self.emit(f"long s2s_c = (long)({self.expr(count)});", depth + 1)
        self.emit("if (s2s_c < 0) s2s_c = 0;", depth + 1)
        self.emit(f"if (s2s_used + s2s_c * {width} > cap) {{ out[0] = (double)(s2s_used + s2s_c * {width}); "
                  "return 2; }", depth + 1)
        self.emit(f"s2s_off_{suffix} = s2s_used; s2s_cnt_{suffix} = s2s_c; s2s_used += s2s_c * {width};", depth + 1)
        self.emit("}", depth)
        self.rows[name] = f"(s2s_room + s2s_off_{suffix})"
        self.allocated.append(name)

    def row(self, subscript: ast.Subscript, width: int) -> list[str]:
        """The C lvalues of ``tape[k]``'s ``width`` values, ``k`` the counter of a loop."""
        tape, index = subscript.value, subscript.slice
        if not (isinstance(tape, ast.Name) and tape.id in self.rows and isinstance(index, ast.Name)
                and index.id in self.counters):
            raise Refused("a subscript other than a loop tape's row")
        if self.widths[tape.id] != width:
            raise Refused(f"a row of {width} values from a loop tape of rows of {self.widths[tape.id]}")
        k = self.counters[index.id]
        return [f"{self.rows[tape.id]}[{k} * {width} + {i}]" for i in range(width)]

    def store(self, name: str) -> str:
        if name in self.vectors:
            raise Refused(f"an assignment to the vector {name}")
        if name not in self.scalars:          # a scalar parameter is a local initialised from in
            self.locals.add(name)
        return c_name(name)

    def assign(self, node: ast.Assign, depth: int, conditional: bool) -> None:
        if len(node.targets) != 1:
            raise Refused("a chained assignment")
        target, value = node.targets[0], node.value
        helper = self.m.runtime_call(value)
        names = ([e.id for e in target.elts] if isinstance(target, ast.Tuple)
                 and all(isinstance(e, ast.Name) for e in target.elts) else None)
        if isinstance(target, ast.Name) and _is_tape_allocation(value):
            return self.allocate(target.id, value.right, depth)
        if isinstance(target, ast.Subscript):                    # tape[k] = (a, b, c): one row
            values = value.elts if isinstance(value, ast.Tuple) else [value]
            for slot, elt in zip(self.row(target, len(values)), values):
                self.emit(f"{slot} = {self.expr(elt)};", depth)
            return None
        if isinstance(target, ast.Name) and isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
                and value.value.id == "_tape" and self.tape_sizes is not None:
            at = _int_constant(value.slice)                       # x = _tape[0]: a tape of one element
            if at is None or len(self.tape_sizes) != 1 or at != 0:
                raise Refused("a subscript of the tape other than _tape[0] of a tape of one value")
            return self.unpack_tape([target.id], depth)
        if isinstance(target, ast.Name) and helper is None:
            return self.emit(f"{self.store(target.id)} = {self.expr(value)};", depth)
        if names is None:
            raise Refused("an assignment to something other than names")
        if helper == "lu_checked":               # (pattern, multipliers, results, entries, rhs, site...)
            mults, results = value.args[1].elts, value.args[2].elts
            return self.emit(f"if (!s2s_lu_ok({self.array(mults)}, {len(mults)}, {self.array(results)}, "
                             f"{len(results)}, {_bound()})) return 1;", depth)
        if helper in ("pattern_solve", "pattern_slogdet"):
            if not conditional:
                raise Refused("a lump solved by SuperLU at run time (no generated LU)")
            return self.emit("return 1;", depth)
        if helper == "lu_slogdet":               # (pattern, pivots, multipliers, parity, entries, site...)
            pivots, mults, parity = value.args[1].elts, value.args[2].elts, self.expr(value.args[3])
            sign, logabs = (self.store(n) for n in names)
            return self.emit(f"if (s2s_lu_slogdet({self.array(pivots)}, {len(pivots)}, {self.array(mults)}, "
                             f"{len(mults)}, {_bound()}, {parity}, &{sign}, &{logabs})) return 1;", depth)
        if helper in ("solve", "slogdet"):
            rows = value.args[0].elts
            k = len(rows)
            entries = [e for row in rows for e in row.elts]
            self.emit("{", depth)
            self.emit(f"double s2s_a[{k * k}] = {{{', '.join(self.expr(e) for e in entries)}}};", depth + 1)
            if helper == "solve":
                rhs = value.args[1].elts
                self.emit(f"double s2s_b[{k}] = {{{', '.join(self.expr(e) for e in rhs)}}};", depth + 1)
                self.emit(f"if (s2s_solve({k}, s2s_a, s2s_b)) return 1;", depth + 1)
                for i, name in enumerate(names):
                    self.emit(f"{self.store(name)} = s2s_b[{i}];", depth + 1)
            else:
                sign, logabs = (self.store(n) for n in names)
                self.emit(f"if (s2s_slogdet({k}, s2s_a, &{sign}, &{logabs})) return 1;", depth + 1)
            return self.emit("}", depth)
        if helper is not None:
            raise Refused(f"the runtime helper {helper}")
        if isinstance(value, ast.Name):
            if value.id == "_tape" and self.tape_sizes is not None:
                return self.unpack_tape(names, depth)
            if value.id not in self.vectors:
                raise Refused(f"unpacking {value.id}, which is not a vector")
            base, length = self.vectors[value.id]
            if length != len(names):
                raise Refused(f"unpacking {len(names)} values from a vector of {length}")
            for i, name in enumerate(names):
                self.emit(f"{self.store(name)} = {base}[{i}];", depth)
            return None
        if isinstance(value, ast.Subscript):                     # a, b, c = tape[k]: one row
            for name, slot in zip(names, self.row(value, len(names))):
                self.emit(f"{self.store(name)} = {slot};", depth)
            return None
        if isinstance(value, ast.Tuple) and len(value.elts) == len(names):
            self.emit("{", depth)
            for i, elt in enumerate(value.elts):
                self.emit(f"double s2s_t{i} = {self.expr(elt)};", depth + 1)
            for i, name in enumerate(names):
                self.emit(f"{self.store(name)} = s2s_t{i};", depth + 1)
            return self.emit("}", depth)
        raise Refused("a tuple assignment from a call")

    def unpack_tape(self, names, depth: int) -> None:
        if len(names) != len(self.tape_sizes):
            raise Refused("a tape of another shape than its function writes")
        offset, fixed = 0, sum(map(tape_slots, self.tape_sizes))
        for name, size in zip(names, self.tape_sizes):
            if size is None or size == COUNT:
                self.emit(f"{self.store(name)} = tape[{offset}];", depth)
            elif isinstance(size, tuple):                  # ("loop", width): its offset, its count
                self.rows[name] = f"(tape + {fixed} + (long)tape[{offset}])"
                self.widths[name] = size[1]
            else:
                self.vectors[name] = (f"(tape + {offset})", size)
            offset += tape_slots(size)

    # -- the result -------------------------------------------------------------------
    def returned(self, value, depth: int) -> None:
        """Write the results (and a vjp/ivjp's tape) to ``out``; record their structure."""
        writes: list[str] = []

        def slots(node):
            if isinstance(node, ast.Tuple):
                return ("t", tuple(slots(e) for e in node.elts))
            if self.m.runtime_call(node) == "vector":
                start = len(writes)
                writes.extend(self.expr(e) for e in node.args)
                return ("v", start, len(node.args))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == self.m.partial:
                if len(node.args) != 2 or not isinstance(node.args[0], ast.Name) \
                        or not isinstance(node.args[1], ast.Tuple) or self.result is not None:
                    raise Refused("a result built with partial that is not (sweep, tape)")
                start, sizes = len(writes), []
                for elt in node.args[1].elts:
                    if isinstance(elt, ast.Name) and elt.id in self.allocated:
                        suffix = c_name(elt.id)
                        writes.extend([f"(double)s2s_off_{suffix}", f"(double)s2s_cnt_{suffix}"])
                        sizes.append(("loop", self.widths[elt.id]))
                    elif isinstance(elt, ast.Name) and elt.id in self.vectors:
                        base, length = self.vectors[elt.id]
                        writes.extend(f"{base}[{i}]" for i in range(length))
                        sizes.append(length)
                    else:
                        writes.append(self.expr(elt))
                        sizes.append(COUNT if isinstance(elt, ast.Name) and elt.id in self.counts else None)
                self.result = (node.args[0].id, sizes)
                return ("p", start, len(writes) - start)
            writes.append(self.expr(node))
            return ("s", len(writes) - 1)
        self.outputs = slots(value)
        if self.allocated and self.result is not None and not _ends_with_tape(self.outputs, len(writes)):
            raise Refused("a tape of loops that is not the last part of the result")
        for i, text in enumerate(writes):
            self.emit(f"out[{i}] = {text};", depth)
        self.n_out = len(writes)
        self.emit("if (fetestexcept(S2S_FE)) return 1;", depth)
        self.emit("return 0;", depth)


def _int_constant(node) -> int | None:
    """The value of an integer literal (``3``, ``-1``), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_constant(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _ends_with_tape(outputs, n_out: int) -> bool:
    """The tape (``("p", first, length)``) is the last thing written: its sweep gets the
    result from there to the end, the room included."""
    last = outputs
    while last[0] == "t" and last[1]:
        last = last[1][-1]
    return last[0] == "p" and last[1] + last[2] == n_out


def _widths(fn: ast.FunctionDef) -> dict[str, int]:
    """Per loop tape the function fills (``tape[k] = (a, b, c)``), its row's width."""
    found = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript) \
                and isinstance(node.targets[0].value, ast.Name):
            found[node.targets[0].value.id] = len(node.value.elts) if isinstance(node.value, ast.Tuple) else 1
    return found


def _bound() -> str:
    from ..runtime_lu import MULTIPLIER_BOUND
    return c_float(MULTIPLIER_BOUND)


def _vector_params(fn: ast.FunctionDef, params: list[str]) -> dict[str, int]:
    """Parameters unpacked into names (vectors), with their lengths."""
    found: dict[str, int] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple) \
                and isinstance(node.value, ast.Name) and node.value.id in params:
            found[node.value.id] = len(node.targets[0].elts)
    return found


def _translate(fn: ast.FunctionDef, module: ModuleInfo, constants: dict, symbol: str,
               tape_sizes: list | None) -> _Translated:
    params = [a.arg for a in fn.args.args]
    statements = count_statements(fn.body)
    try:
        if fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.args.defaults or fn.decorator_list:
            raise Refused("a signature with defaults, *args or decorators")
        if any(isinstance(node, ast.While) for node in ast.walk(fn)):
            raise Refused("a while loop")
        c = _CFunction(module, constants, tape_sizes)
        c.widths, c.counts = _widths(fn), count_names(fn)
        rest = params[1:] if tape_sizes is not None else params
        vectors = _vector_params(fn, rest)
        inputs, offset = [], 0
        for p in rest:
            if p in vectors:
                c.vectors[p] = (f"(in + {offset})", vectors[p])
                inputs.append((offset, vectors[p]))
                offset += vectors[p]
            else:
                c.scalars.add(p)
                inputs.append((offset, None))
                offset += 1
        c.block(fn.body, 1, False)
        if c.outputs is None:
            raise Refused("no return statement")
        if c.allocated and not c.n_out:
            raise Refused("loop tapes in a function without results")
    except Refused as why:
        return _Translated(fn.name, None, str(why), statements)
    head = ([f"int {symbol}(const double *tape, const double *in, double *out) {{"] if tape_sizes is not None
            else [f"int {symbol}(const double *in, double *out, long cap) {{"] if c.allocated
            else [f"int {symbol}(const double *in, double *out) {{"])
    declared = sorted(c.locals | c.scalars)
    for i in range(0, len(declared), 8):
        head.append("    double " + ", ".join(c_name(n) for n in declared[i:i + 8]) + ";")
    if c.allocated:                          # the room: loop tapes, after the results
        head.append(f"    double *s2s_room = out + {c.n_out};")
        head.append("    long s2s_used = 0;")
        for name in c.allocated:
            head.append(f"    long s2s_off_{c_name(name)} = 0, s2s_cnt_{c_name(name)} = 0;")
    head.append("    feclearexcept(S2S_FE);")
    if offset:
        head.append(f"    if (!s2s_finite(in, {offset})) return 1;")
    for p, (at, size) in zip(rest, inputs):
        if size is None:
            head.append(f"    {c_name(p)} = in[{at}];")
    sweep, tape = c.result if c.result else (None, [])
    return _Translated(fn.name, head + c.lines + ["}"], "", statements, inputs, offset, c.outputs, c.n_out,
                       sweep, tape, bool(c.allocated), tuple(i for i, p in enumerate(rest) if p in c.counts))


def _constants(tree: ast.Module) -> dict:
    """Module-level names bound to numbers (constants copied into the generated module)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[node.targets[0].id] = float(value)
    return found


HEADER = """\
# -- backend c ----------------------------------------------------------------------------------
# The functions above, compiled by the system C compiler (s2s_invad.runtime_c) on first call,
# the library kept in __pycache__ next to this module. A compiled function returns 1 where
# the Python one would call an error helper (a pivot or results check), when an input is not
# finite, and when it set a floating-point exception flag (invalid, division by zero,
# overflow); its entry point then runs the Python function above on the same arguments, which
# returns its numbers or raises the named error citing the source line. So does a call with a
# batch: the C code takes one point at a time."""


def c_section(text: str, bound: int | None = None) -> tuple[str, list[Choice]]:
    """The C section for the generated module ``text`` (to append to it) and what it does
    with each function. ``bound`` (default :func:`max_statements`) is the size above which
    a function stays Python."""
    bound = max_statements() if bound is None else bound
    tree = compiled_checks(ast.parse(text))
    module = ModuleInfo.of(tree)
    crt = module.fresh("_crt")
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    sweeps = sweeps_of(functions, module.partial)
    constants = _constants(tree)
    symbols = {fn.name: f"s2s_{i}_{fn.name}" if fn.name.isascii() else f"s2s_{i}" for i, fn in enumerate(functions)}
    done: dict[str, _Translated] = {}
    for fn in functions:                       # forward functions first: sweeps need their tape
        if fn.name not in sweeps:
            done[fn.name] = _translate(fn, module, constants, symbols[fn.name], None)
    for fn in functions:
        if fn.name in sweeps:
            owner = next((t for t in done.values() if t.sweep == fn.name), None)
            if owner is None or owner.node is None:
                why = owner.reason if owner is not None else "no function returns it"
                done[fn.name] = _Translated(fn.name, None, f"its function stays Python ({why})",
                                            count_statements(fn.body))
            else:
                done[fn.name] = _translate(fn, module, constants, symbols[fn.name], owner.tape)
    for t in done.values():
        if t.node is not None and t.statements > bound:
            t.node, t.reason = None, (f"{t.statements:,} statements > {bound:,} ({ENV}); the C compiler would "
                                      f"take about {seconds_text(t.statements * SECONDS_PER_STATEMENT)}")
    pair_sweeps(done, {t.name: t.sweep for t in done.values() if t.sweep})
    ordered = [done[fn.name] for fn in functions]
    # The C compiler's optimising passes (register allocation above all) take time that grows
    # faster than a function's size: gcc -O1 took 15 s for the 12,500 lines of Bratu n = 1,024's
    # ijvp here and 840 s for the 50,000 of n = 4,096, against 1 s and 7.5 s at -O0, whose code
    # ran that ijvp 1.6x slower (n = 512). So functions over the bound are compiled unoptimised.
    fast = optimize_max_statements()
    for t in ordered:
        if t.node is not None and t.statements > fast:
            t.node[0] = "S2S_UNOPTIMIZED " + t.node[0]
    choices = [Choice(t.name, t.node is not None, t.statements, t.reason,
                      "the C compiler" if t.statements <= fast else
                      f"the C compiler, unoptimised (over {fast:,} statements, {OPTIMIZE_ENV})",
                      t.statements * (SECONDS_PER_STATEMENT if t.statements <= fast else SECONDS_UNOPTIMIZED))
               for t in ordered]
    out = [HEADER] + [f"# {choice.describe()}" for choice in choices]
    compiled = [t for t in ordered if t.node is not None]
    if not compiled:
        return "\n".join(out) + "\n", choices
    source = PRELUDE + "".join("\n\n" + "\n".join(t.node) for t in compiled) + "\n"
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    library = module.fresh("_clib")
    out += ["", f"from s2s_invad import runtime_c as {crt}", "",
            f"{library} = {crt}.Library(r'''{source}''', globals(), {digest!r})"]
    sweep_entry = {}
    for t in compiled:
        if t.name in sweeps:
            sweep_entry[t.name] = module.fresh(f"_cs_{t.name}")
            owner = next(o for o in compiled if o.sweep == t.name)
            out.append(f"{sweep_entry[t.name]} = {crt}.Sweep({library}, {symbols[t.name]!r}, {t.name}, "
                       f"{tuple(t.inputs)!r}, {t.n_in}, {t.outputs!r}, {t.n_out}, tape={tuple(owner.tape)!r}, "
                       f"statements={t.statements})")
    for t in compiled:
        if t.name not in sweeps:
            sweep = f", sweep={sweep_entry[t.sweep]}" if t.sweep else ""
            room = (", room=True" if t.room else "") + (f", counts={t.counts!r}" if t.counts else "")
            out.append(f"{t.name} = {crt}.Entry({library}, {symbols[t.name]!r}, {t.name}, {tuple(t.inputs)!r}, "
                       f"{t.n_in}, {t.outputs!r}, {t.n_out}{sweep}{room}, statements={t.statements})")
    return "\n".join(out) + "\n", choices


def with_c(text: str, bound: int | None = None) -> str:
    """The generated module ``text`` with its C section appended."""
    section, _ = c_section(text, bound)
    return text + "\n\n" + section


def explain_choices(text: str, bound: int | None = None) -> list[str]:
    return [choice.describe() for choice in c_section(text, bound)[1]]


__all__ = ["c_section", "with_c", "explain_choices", "max_statements", "optimize_max_statements", "require", "ENV",
           "DEFAULT_MAX", "OPTIMIZE_ENV", "DEFAULT_OPTIMIZE_MAX",
           "BackendError"]
