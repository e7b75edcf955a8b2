"""The fuzz target's own oracles: nothing here imports s2s_invad or its derivative rules.

* :func:`complex_step`: the program's source run on complex numbers through NumPy's
  complex functions, one input perturbed by i h at a time: J[:, j] = Im f(x + i h e_j) / h.
  Fast, exact to rounding where the complex functions are accurate; it can be fooled
  (NumPy's complex expm1 is exp(z) - 1, so its real part is 0 at z = 1e-20), which is why
  a disagreement is adjudicated by the next one.
* :func:`exact`: the program run on *taped* numbers whose values are the very floats the
  program computes (the real ``math``/``numpy`` function on each float) and whose partial
  derivatives are the textbook ones (d tanh = sech**2, d asin = 1/sqrt(1 - x**2)...)
  evaluated by mpmath at 60 digits at those floats, where no cancellation matters.
  (A complex step in mpmath is no substitute: its atan of 0 + 1e-330 i has lost the
  imaginary part at 60 digits.) The tape gives, at 50 digits, the Jacobian of the floating-point
  computation (what an AD tool differentiates), |J|abs (the same products with every
  partial replaced by its absolute value: the scale of rounding errors in any chain
  rule), whether each partial is a normal float, and how large any intermediate tangent
  or adjoint gets, so refusals can be judged as well as answers.
"""

from __future__ import annotations

import ast
import dataclasses
import math

import mpmath as mp
import numpy as np

TINY, HUGE = 2.2250738585072014e-308, 1.7976931348623157e308
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh",
             "asin", "acos", "atan", "atanh", "asinh", "acosh", "cbrt")
NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atanh": "arctanh", "asinh": "arcsinh",
               "acosh": "arccosh"}


def _function_source(source: str) -> ast.Module:
    """The module without its imports (the shims stand in for math and numpy)."""
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    return tree


def _load(program, shim, absolute):
    env = {"math": shim, "np": shim, "numpy": shim, "abs": absolute}
    exec(compile(_function_source(program.source), f"<oracle {program.name}>", "exec"), env)
    return env[program.name]


def _outputs(result) -> tuple:
    return tuple(result) if isinstance(result, tuple) else (result,)


# -- complex step ---------------------------------------------------------------------

class _ComplexShim:
    pi, e = math.pi, math.e

    def __getattr__(self, name):
        if name == "cbrt":                  # no complex cbrt in NumPy: the real branch, analytic
            return lambda z: z ** (1 / 3) if np.real(z) >= 0 else -((-z) ** (1 / 3))
        return getattr(np, NUMPY_NAMES.get(name, name))


def _complex_abs(z):
    return z if np.real(z) >= 0 else -z


def complex_step(program, point) -> np.ndarray | None:
    """The n x n Jacobian by complex steps (None where the complex run fails)."""
    fn = _load(program, _ComplexShim(), _complex_abs)
    columns = []
    with np.errstate(all="ignore"):
        for j in range(program.n):
            h = 1e-30 * max(abs(point[j]), 1e-270)
            z = [complex(x) for x in point]
            z[j] += complex(0.0, h)
            try:
                out = _outputs(fn(*z))
            except (ArithmeticError, ValueError, TypeError, OverflowError):
                return None
            columns.append([np.imag(complex(y)) / h for y in out])
    jac = np.array(columns, dtype=float).T
    return jac if np.all(np.isfinite(jac)) else None


# -- taped numbers at 50 digits -------------------------------------------------------

class Tape:
    def __init__(self, spelling: str, n: int, moved: tuple | None = None):
        self.spelling, self.n = spelling, n
        self.moved = moved                                   # (node, factor): that value moved
        self.nodes: list[list[tuple[int, mp.mpf]]] = []      # per node: (operand node, partial)
        self.partials_normal = True
        self.subnormal: list[tuple[int, int]] = []           # (operand, node) of tiny partials
        self.ops = 0

    def node(self, parents) -> int:
        self.ops += 1
        for k, p in parents:
            if p != 0 and not (TINY <= abs(p) <= HUGE):
                self.partials_normal = False
                if abs(p) < TINY:
                    self.subnormal.append((k, len(self.nodes)))
        self.nodes.append(parents)
        return len(self.nodes) - 1


class Num:
    """A float of the program with its place on the tape."""
    __slots__ = ("v", "i", "tape")

    def __init__(self, v: float, i: int, tape: Tape):
        self.v, self.i, self.tape = float(v), i, tape

    # arithmetic, exact partials at the float operands
    def _lift(self, other):
        return other if isinstance(other, Num) else None

    def _new(self, v, parents):
        i = self.tape.node([(p.i, d) for p, d in parents if p is not None])
        if self.tape.moved is not None and self.tape.moved[0] == i:
            v = v * self.tape.moved[1]
        if not math.isfinite(v):
            raise ArithmeticError("a value of the program is not finite")
        return Num(v, i, self.tape)

    def __add__(self, o): return self._bin(o, lambda a, b: a + b, lambda a, b: (1, 1))
    def __radd__(self, o): return self._rbin(o, lambda a, b: a + b, lambda a, b: (1, 1))
    def __sub__(self, o): return self._bin(o, lambda a, b: a - b, lambda a, b: (1, -1))
    def __rsub__(self, o): return self._rbin(o, lambda a, b: a - b, lambda a, b: (1, -1))
    def __mul__(self, o): return self._bin(o, lambda a, b: a * b, lambda a, b: (b, a))
    def __rmul__(self, o): return self._rbin(o, lambda a, b: a * b, lambda a, b: (b, a))
    def __truediv__(self, o): return self._bin(o, lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2))
    def __rtruediv__(self, o): return self._rbin(o, lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2))
    def __pow__(self, o): return self._bin(o, _float_pow, _pow_partials)
    def __rpow__(self, o): return self._rbin(o, _float_pow, _pow_partials)

    def __neg__(self):
        return self._new(-self.v, [(self, mp.mpf(-1))])

    def __pos__(self):
        return self

    def _bin(self, other, op, partials):
        a, b = self, self._lift(other)
        bv = b.v if b is not None else float(other)
        v = op(self.v, bv)
        da, db = partials(mp.mpf(self.v), mp.mpf(bv))
        return self._new(v, [(a, mp.mpf(da)), (b, mp.mpf(db))])

    def _rbin(self, other, op, partials):
        v = op(float(other), self.v)
        _, db = partials(mp.mpf(float(other)), mp.mpf(self.v))
        return self._new(v, [(self, mp.mpf(db))])


def _float_pow(a, b):
    v = a ** b
    if isinstance(v, complex):
        raise ArithmeticError("a negative base with a fractional exponent")
    return v


def _pow_partials(a, b):
    """d a**b / d a, d a**b / d b at 50 digits (a = 0: 0 or inf, as the limits are)."""
    if a == 0:
        da = (0 if b > 1 else 1 if b == 1 else mp.inf) if b == int(b) or b > 0 else mp.inf
        return da, 0
    da = b * mp.power(a, b - 1)
    db = mp.power(a, b) * mp.log(a) if a > 0 else 0           # a < 0: integer b, b passive
    return da, db


class _TapeShim:
    pi, e = math.pi, math.e

    def __init__(self, spelling: str, log: list | None = None):
        self.floats = math if spelling == "math" else np
        self._calls = log

    def __getattr__(self, name):
        canonical = {v: k for k, v in NUMPY_NAMES.items()}.get(name, name)
        float_fn = getattr(self.floats, name)

        def apply(x):
            if canonical in FUNCTIONS and isinstance(x, (list, np.ndarray)) and np.size(x) and \
                    any(isinstance(e, Num) for e in np.ravel(np.asarray(x, dtype=object))):
                items = np.asarray(x, dtype=object)          # a vector of taped numbers: elementwise
                out = np.empty(items.shape, dtype=object)
                for idx in np.ndindex(items.shape):
                    out[idx] = apply(items[idx])
                return out
            if not isinstance(x, Num):
                return float_fn(x)
            if self._calls is not None:
                self._calls.append((canonical, x.v))
            v = float(float_fn(x.v))
            return x._new(v, [(x, _derivative(canonical, x.v))])
        return apply


def _derivative(name: str, x: float):
    """d f(x) from the textbook definition, at 60 digits (no cancellation matters there:
    1 - x**2 at x = 1 - 1e-16 is exact), inf where the derivative is infinite."""
    with mp.workdps(60):
        try:
            return DERIVATIVES[name](mp.mpf(x))
        except ZeroDivisionError:
            return mp.inf


DERIVATIVES = {
    "sin": mp.cos, "cos": lambda x: -mp.sin(x), "tan": lambda x: mp.sec(x) ** 2,
    "exp": mp.exp, "log": lambda x: 1 / x, "log1p": lambda x: 1 / (1 + x), "expm1": mp.exp,
    "sqrt": lambda x: 1 / (2 * mp.sqrt(x)), "tanh": lambda x: mp.sech(x) ** 2,
    "sinh": mp.cosh, "cosh": mp.sinh, "asin": lambda x: 1 / mp.sqrt(1 - x * x),
    "acos": lambda x: -1 / mp.sqrt(1 - x * x), "atan": lambda x: 1 / (1 + x * x),
    "atanh": lambda x: 1 / (1 - x * x), "asinh": lambda x: 1 / mp.sqrt(1 + x * x),
    "acosh": lambda x: 1 / mp.sqrt(x * x - 1), "cbrt": lambda x: 1 / (3 * mp.cbrt(abs(x)) ** 2),
}


def _tape_abs(x):
    if not isinstance(x, Num):
        return abs(x)
    if x.v == 0:
        raise ArithmeticError("abs at 0 has no derivative")
    return x._new(abs(x.v), [(x, mp.mpf(1 if x.v > 0 else -1))])


@dataclasses.dataclass
class Exact:
    """The tape's verdicts at one point; "abs" quantities sum |products| over paths."""
    jac: mp.matrix               # d outputs / d inputs of the float computation, 50 digits
    jac_abs: mp.matrix           # the same with |partials|: the scale of rounding in a chain rule
    outputs: tuple               # the floats the program returns
    ops: int                     # primitive operations on the tape
    partials_normal: bool        # every partial is 0 or a normal float
    tangents: list               # per node: max over inputs of |d node / d input|abs (mpf)
    adjoints: list               # per node: max over outputs of |d output / d node|abs (mpf)
    underflow_out: list          # per output i: what 2**-1074 at every node and tiny partial
    underflow_in: list           # per input j: becomes in output i (jvp) or input j (vjp)
    inner_extreme: bool          # some d node_i / d node_j is beyond 1e300 or below 1e-290
    tiny_edges: list             # per partial below 1e-308: (|d out_i / d node| per output i,
                                 #   |d node' / d x_j| per input j) around it (mpf lists)

    @property
    def n(self) -> int:
        return self.jac.rows

    def representable(self, mode: str) -> bool:
        """Whether every partial, and every value ``mode`` computes on the way (tangents,
        adjoints; for the inverse modes also their inverses along the program), is a float.

        A chain a1 a2 ... of partials is what jvp and vjp multiply, step by step; ijvp
        divides by the partial products from the outputs back (v / adjoint), ivjp by those
        from the inputs forward (w / tangent): a product below 1e-290 overflows there. The
        inverse modes also divide by each step's pivot, the derivative of one value of the
        program by another across the statements of the step (``x -= c * cosh(1e93 * x)``:
        1e93 * sinh(...) * c), which may be beyond the floats where J is not.
        """
        if not self.partials_normal:
            return False
        if mode in ("ijvp", "ivjp", "slogdet") and self.inner_extreme:
            return False            # the pivot of a step that spans nodes j .. i is not a float
        if max(self.tangents) >= 1e300 or max(self.adjoints) >= 1e300:
            return False
        inner = slice(self.n, None)                  # the inputs themselves have 1 and 1
        if mode == "ijvp" and any(0 < a < 1e-290 for a in self.adjoints[inner]):
            return False
        if mode == "ivjp" and any(0 < t < 1e-290 for t in self.tangents[inner]):
            return False
        return True

    def underflow(self, mode: str) -> list:
        """Per component of ``mode``'s answer: what an absolute error of one subnormal step
        (2**-1074) at every node becomes. jvp and vjp multiply the path products on the
        way; ijvp divides by them, so a value at node k is about v / adjoint_k and reaches
        the inputs divided by tangent_k, ivjp the other way round."""
        if mode == "jvp":
            return list(self.underflow_out)
        if mode == "vjp":
            return list(self.underflow_in)
        factors = self.tangents if mode == "ijvp" else self.adjoints
        total = float(sum(1 / f for f in factors[self.n:] if f != 0))
        return [total] * self.n

    def tiny_partials(self, mode: str, answer: list, v) -> list:
        """Per component of the answer: the first-order change if every partial below the
        normal floats were off by 2**-1074 (it is rounded to a subnormal or to 0: that is
        what a float chain rule can do with it). A partial p on the way from node k to node
        m moves J by dp (d out / d m)(d k / d x)^T; ijvp's x = J^-1 v by J^-1 dJ x."""
        n, eps = self.n, mp.mpf(2) ** -1074
        total = [mp.mpf(0)] * len(answer)
        inv = self.inverse() if mode in ("ijvp", "ivjp", "slogdet") else None
        for adj, tan in self.tiny_edges:
            if mode == "jvp":
                delta = [eps * a * sum(t * abs(x) for t, x in zip(tan, v)) for a in adj]
            elif mode == "vjp":
                delta = [eps * t * sum(a * abs(w) for a, w in zip(adj, v)) for t in tan]
            elif mode == "ijvp":
                scal = eps * sum(t * abs(x) for t, x in zip(tan, answer))
                delta = [scal * sum(abs(inv[i, r]) * adj[r] for r in range(n)) for i in range(n)]
            elif mode == "ivjp":
                scal = eps * sum(a * abs(y) for a, y in zip(adj, answer))
                delta = [scal * sum(abs(inv[r, i]) * tan[r] for r in range(n)) for i in range(n)]
            else:
                delta = [mp.mpf(0), eps * sum(tan[j] * abs(inv[j, i]) * adj[i] for i in range(n) for j in range(n))]
            total = [t + d for t, d in zip(total, delta)]
        return total

    def inverse(self) -> mp.matrix | None:
        try:
            with mp.workdps(60):
                return self.jac ** -1
        except ZeroDivisionError:
            return None

    def cond(self) -> float:
        inv = self.inverse()
        if inv is None:
            return math.inf
        return float(mp.mnorm(self.jac, 1) * mp.mnorm(inv, 1))


def arguments(program, point) -> list[tuple[str, float]]:
    """(function, argument) of every function call the program makes at ``point``."""
    log: list = []
    tape = Tape(program.spelling, program.n)
    fn = _load(program, _TapeShim(program.spelling, log), _tape_abs)
    try:
        with np.errstate(all="ignore"):
            fn(*[Num(x, tape.node([]), tape) for x in point])
    except (ArithmeticError, ValueError, TypeError):
        pass                                            # the calls up to a value that is not finite
    return log


def exact(program, point, moved: tuple | None = None) -> Exact | None:
    """The tape of ``program`` at ``point`` (None where the float program fails there).

    ``moved = (k, factor)`` multiplies the value of node k by factor as it is computed (the
    inputs are nodes 0 to n - 1), to see how much the answers depend on one float.
    """
    tape = Tape(program.spelling, program.n, moved)
    fn = _load(program, _TapeShim(program.spelling), _tape_abs)
    inputs = [Num(x * (moved[1] if moved and moved[0] == j else 1), tape.node([]), tape)
              for j, x in enumerate(point)]
    tape.ops = 0
    mp.mp.dps = 50
    try:
        with np.errstate(all="ignore"):
            out = _outputs(fn(*inputs))
    except (ArithmeticError, ValueError, TypeError, OverflowError):
        return None
    if not all(isinstance(o, Num) for o in out):
        return None
    size, n = len(tape.nodes), program.n
    rows, rows_abs = [None] * size, [None] * size
    for i, parents in enumerate(tape.nodes):
        if i < n:
            rows[i] = [mp.mpf(1 if j == i else 0) for j in range(n)]
            rows_abs[i] = list(rows[i])
            continue
        row, row_abs = [mp.mpf(0)] * n, [mp.mpf(0)] * n
        for k, p in parents:
            for j in range(n):
                row[j] += p * rows[k][j]
                row_abs[j] += abs(p) * rows_abs[k][j]
        rows[i], rows_abs[i] = row, row_abs
    adjoints = [mp.mpf(0)] * size
    per_output = []
    underflow_out = []
    for o in out:                                        # reverse sweeps, one per output
        adjoint = [mp.mpf(0)] * size
        adjoint[o.i] = mp.mpf(1)
        for i in range(size - 1, -1, -1):
            if adjoint[i]:
                for k, p in tape.nodes[i]:
                    adjoint[k] += abs(p) * adjoint[i]
        adjoints = [max(a, b) for a, b in zip(adjoints, adjoint)]
        per_output.append(adjoint)
        edges = sum(max(rows_abs[k]) * adjoint[m] for k, m in tape.subnormal)
        underflow_out.append(float(sum(adjoint) + edges))
    underflow_in = [float(sum(r[j] for r in rows_abs) + sum(rows_abs[k][j] * adjoints[m] for k, m in tape.subnormal))
                    for j in range(n)]
    jac = mp.matrix([rows[o.i] for o in out])
    jac_abs = mp.matrix([rows_abs[o.i] for o in out])
    inner_extreme = _inner_extreme(tape.nodes)
    tiny_edges = [([adj[m] for adj in per_output], rows_abs[k]) for k, m in tape.subnormal]
    return Exact(jac, jac_abs, tuple(o.v for o in out), tape.ops, tape.partials_normal,
                 [max(r) for r in rows_abs], adjoints, underflow_out, underflow_in, inner_extreme,
                 tiny_edges)


def _inner_extreme(nodes) -> bool:
    """Whether any derivative of one node by an earlier one is beyond 1e300 or below 1e-290."""
    for j in range(len(nodes)):
        d = {j: mp.mpf(1)}
        for i in range(j + 1, len(nodes)):
            total = sum((p * d[k] for k, p in nodes[i] if k in d), mp.mpf(0))
            if total != 0:
                if not (1e-290 <= abs(total) <= 1e300):
                    return True
                d[i] = total
    return False
