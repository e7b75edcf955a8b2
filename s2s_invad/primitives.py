"""The registry of primitives: how each is spelled and how it is differentiated.

Every primitive the IR knows is one entry of :data:`PRIMITIVES`. Its ``partials`` rule
takes the operands and the result ``z`` as symbolic expressions and returns one partial
derivative per operand, written as the mathematics reads:
``d sin(x) = cos(x)``, ``d (x / y) = (1/y, -z/y)``.

Each rule is also written to be accurate in floating point (a few ulps wherever the true
derivative is a normal float), so none subtracts nearly equal numbers or overflows on the
way to a finite result: ``d tanh(x) = 1 - z**2`` reads well but is 0.0 at x = 20 (true
value 1.7e-17), so the rule is ``exp(-2|x|) (1 + |z|)**2`` (the same number, sech(x)**2),
with ``1 - z*z`` where that is as accurate (|z| < 1/2) and code is scalar (:func:`_tanh_slope`);
``d expm1(x) = exp(x)``, not ``z + 1``; ``d asin(x) = 1/sqrt((1 - x)(1 + x))``, not
``1/sqrt(1 - x**2)``. The exception is erf (and erfc), whose slope exp(-x*x) carries the
rounding of x*x: up to x**2/2 ulps (:func:`_erf_slope`). tests/test_rules.py checks every rule against mpmath at 50 digits
across its domain, saturated ends included.

The generated code calls the namespace the source used: ``math.asin`` stays ``math.asin``,
``np.arcsin`` stays ``np.arcsin``; :func:`spelling` maps the canonical name to each.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from .sym import ONE, ZERO, Num, Sym, compare, eq, fast, function, is_num

sin, cos, exp, log, sqrt = (function(f) for f in ("sin", "cos", "exp", "log", "sqrt"))
sinh, cosh, sign = (function(f) for f in ("sinh", "cosh", "sign"))
tan, asin, acos, atan = (function(f) for f in ("tan", "asin", "acos", "atan"))
atanh, asinh, log1p, expm1 = (function(f) for f in ("atanh", "asinh", "log1p", "expm1"))
tanh = function("tanh")
hypot = function("hypot")


@dataclass(frozen=True)
class Primitive:
    name: str                       # canonical name used in the IR
    arity: int
    partials: Callable[..., tuple]  # (*operands, z) -> one partial per operand
    math: str | None = None         # spelling in the math module (None: not there)
    numpy: str | None = None        # spelling in numpy
    symbol: str | None = None       # operator symbol for arithmetic primitives


def _prim(name, arity, partials, math=None, numpy=None, symbol=None):
    return name, Primitive(name, arity, partials, math, numpy, symbol)


abs_ = function("abs")


def _pow_partials(x, y, z):
    """d x**y = (y x**(y-1), z log x), computed without losing digits.

    With a constant exponent c, ``c * x ** (c - 1)`` is used when c - 1 is exact (always for
    0.5 <= c < 2**53, and for c such as -1 or -2.5), and gives 0 at x = 0 for c > 1;
    otherwise (0.3 - 1 rounds) ``c * z / x`` avoids the rounded exponent, whose error of
    up to |log x| ulps in the result can reach hundreds. With a variable exponent y - 1 is
    rounded at run time: the result is within |(y - 1) log x| ulps (at most 8e-14 relative
    where it is a float), and exact at x = 0. ``log(x + (x == 0))`` is log x, and 0 where
    x = 0: there z = 0**y = 0 for every y > 0, so d z / d y = 0 (not 0 * log 0 = nan).
    """
    if is_num(y):
        c = y.value
        exact = Fraction(c) - 1 == Fraction(c - 1)
        return (c * x ** (c - 1) if exact else c * z / x), ZERO
    if is_num(x):
        # 0**y: d/dy = 0 (y > 0); a negative base has no real derivative in y: log raises
        return y * x ** (y - 1), (ZERO if x.value == 0 else z * log(x))
    return y * x ** (y - 1), z * log(x + eq(x, ZERO))


def _atan2_partials(y, x, z):
    """d atan2(y, x) = (x / (x**2 + y**2), -y / (x**2 + y**2)), with r = hypot(x, y) as
    (x / r) / r and -(y / r) / r: two roundings each, and no square to overflow (x**2
    overflows beyond |x| = 1.3e154) or underflow (below 1.5e-154). At x = y = 0 (no
    derivative) both are nan, which the results check reports."""
    r = hypot(x, y)
    return x / r / r, -(y / r) / r


def _max_partials(x, y, z):
    """d maximum(x, y) = (1, 0) where x > y, (0, 1) where y > x and (1/2, 1/2) at a tie
    (JAX's convention for jnp.maximum: the mean of the one-sided derivatives there); NaN
    (which maximum propagates) compares false: (0, 0), and the results check reports it."""
    tie = 0.5 * eq(x, y)
    return compare("gt", x, y) + tie, compare("gt", y, x) + tie


def _min_partials(x, y, z):
    tie = 0.5 * eq(x, y)
    return compare("lt", x, y) + tie, compare("lt", y, x) + tie


def _fmax_partials(x, y, z):
    """fmax(x, y) is x where y is NaN (and y where x is): as maximum, plus y != y."""
    dx, dy = _max_partials(x, y, z)
    return dx + compare("ne", y, y), dy + compare("ne", x, x)


def _fmin_partials(x, y, z):
    dx, dy = _min_partials(x, y, z)
    return dx + compare("ne", y, y), dy + compare("ne", x, x)


def _compared(x, y, z):
    """A comparison is 1 or 0, constant on each side of its boundary: derivative 0."""
    return ZERO, ZERO


def _where_partials(c, a, b, z):
    """where(c, a, b) is a where c holds, else b: d = (0, c, 1 - c), c being 1 or 0 (the
    value of a comparison), so the unselected branch's value never reaches z; its tangent is
    multiplied by an exact 0 (jnp.where's rule), which is 0 unless that tangent is inf or
    NaN: then the results check raises NonFiniteError."""
    return ZERO, c, 1 - c


def _tanh_slope(x, z):
    """d tanh(x) = sech(x)**2 = exp(-2|x|) (1 + |z|)**2, which stays accurate where tanh
    saturates (1 - z**2 is 0.0 at x = 20, true value 1.7e-17). Where z*z < 1/2 (|x| < 0.88)
    ``1 - z*z`` is nearly as accurate (within 3 ulps: z's rounding is scaled by
    2 z**2 / (1 - z**2) <= 2; 2.5 ulps measured) and costs a fifth (no exp, no abs, no
    power), so scalar code tests and picks it (:func:`s2s_invad.sym.fast`)."""
    zz = z * z
    return fast(compare("lt", zz, Num(0.5)), 1 - zz, exp(-2 * abs_(x)) * (1 + abs_(z)) ** 2)


def _erf_slope(x):
    """d erf(x) = 2/sqrt(pi) exp(-x*x). The one rule here not within a few ulps: x*x rounds
    by up to half an ulp of x**2, which exp turns into up to x**2/2 ulps of the result (12
    ulps, 3e-15 relative, at x = 5; 360 ulps at x = 26.5, where the slope is 1e-305). An
    exact split of x**2 would need a dozen operations in every generated slope."""
    return 1.1283791670955126 * exp(-(x * x))


PRIMITIVES: dict[str, Primitive] = dict([
    # arithmetic:                        d z / d x,        d z / d y
    _prim("add", 2, lambda x, y, z: (ONE, ONE), symbol="+"),
    _prim("sub", 2, lambda x, y, z: (ONE, -ONE), symbol="-"),
    _prim("mul", 2, lambda x, y, z: (y, x), symbol="*"),
    _prim("div", 2, lambda x, y, z: (1 / y, -z / y), symbol="/"),
    _prim("pow", 2, lambda x, y, z: _pow_partials(x, y, z), symbol="**"),
    _prim("neg", 1, lambda x, z: (-ONE,), symbol="-"),
    _prim("pos", 1, lambda x, z: (ONE,), symbol="+"),
    # elementary functions:              d z / d x
    _prim("sin", 1, lambda x, z: (cos(x),), "sin", "sin"),
    _prim("cos", 1, lambda x, z: (-sin(x),), "cos", "cos"),
    _prim("tan", 1, lambda x, z: (1 + z ** 2,), "tan", "tan"),
    _prim("exp", 1, lambda x, z: (z,), "exp", "exp"),
    _prim("log", 1, lambda x, z: (1 / x,), "log", "log"),
    _prim("log1p", 1, lambda x, z: (1 / (1 + x),), "log1p", "log1p"),
    _prim("expm1", 1, lambda x, z: (exp(x),), "expm1", "expm1"),          # not z + 1 (z -> -1)
    _prim("sqrt", 1, lambda x, z: (0.5 / z,), "sqrt", "sqrt"),
    _prim("tanh", 1, lambda x, z: (_tanh_slope(x, z),), "tanh", "tanh"),             # sech**2
    _prim("sinh", 1, lambda x, z: (cosh(x),), "sinh", "sinh"),
    _prim("cosh", 1, lambda x, z: (sinh(x),), "cosh", "cosh"),
    _prim("asin", 1, lambda x, z: (1 / sqrt((1 - x) * (1 + x)),), "asin", "arcsin"),
    _prim("acos", 1, lambda x, z: (-1 / sqrt((1 - x) * (1 + x)),), "acos", "arccos"),
    _prim("atan", 1, lambda x, z: (1 / (1 + x ** 2),), "atan", "arctan"),
    _prim("atanh", 1, lambda x, z: (1 / ((1 - x) * (1 + x)),), "atanh", "arctanh"),   # 1 - x exact near 1
    _prim("asinh", 1, lambda x, z: (1 / hypot(1.0, x),), "asinh", "arcsinh"),  # no x**2 to overflow
    _prim("acosh", 1, lambda x, z: (1 / (sqrt(x - 1) * sqrt(x + 1)),), "acosh", "arccosh"),
    _prim("cbrt", 1, lambda x, z: (z / x / 3,), "cbrt", "cbrt"),        # not 1 / (3 z**2): z once
    _prim("erf", 1, lambda x, z: (_erf_slope(x),), "erf"),                # math only: NumPy has no erf
    _prim("erfc", 1, lambda x, z: (-_erf_slope(x),), "erfc"),
    _prim("abs", 1, lambda x, z: (2 * compare("ge", x, ZERO) - 1,)),   # 1 for x >= 0, else -1 (JAX's, 1 at 0)
    # binary functions:                  d z / d y (or a),  d z / d x (or b)
    _prim("atan2", 2, _atan2_partials, "atan2", "arctan2"),
    _prim("hypot", 2, lambda x, y, z: (x / z, y / z), "hypot", "hypot"),   # hypot(x, y) >= |x|, |y|
    # nonsmooth functions, with the conventional derivative at their kinks (JAX's):
    _prim("maximum", 2, _max_partials, numpy="maximum"),     # NaN propagates; ties: 1/2, 1/2
    _prim("minimum", 2, _min_partials, numpy="minimum"),
    _prim("fmax", 2, _fmax_partials, numpy="fmax"),          # NaN ignored
    _prim("fmin", 2, _fmin_partials, numpy="fmin"),
    _prim("sign", 1, lambda x, z: (ZERO,), numpy="sign"),      # piecewise constant: 0
    _prim("heaviside", 2, lambda x, h, z: (ZERO, eq(x, ZERO)), numpy="heaviside"),  # h where x == 0
    # comparisons and logic of runtime values (values True/False, read as 1 and 0), and select
    _prim("gt", 2, _compared, symbol=">"),
    _prim("ge", 2, _compared, symbol=">="),
    _prim("lt", 2, _compared, symbol="<"),
    _prim("le", 2, _compared, symbol="<="),
    _prim("ne", 2, _compared, symbol="!="),
    _prim("logical_and", 2, _compared, numpy="logical_and"),
    _prim("logical_or", 2, _compared, numpy="logical_or"),
    _prim("logical_not", 1, lambda c, z: (ZERO,), numpy="logical_not"),
    _prim("where", 3, _where_partials, numpy="where"),
])

# Primitives whose value is piecewise constant (derivative 0 everywhere it exists): their
# results are not varied (analysis/activity.py), so they are constants of the derivative
# code; COMPARISONS and BOOLEAN hold the ones whose value is True or False.
COMPARISONS = frozenset({"gt", "ge", "lt", "le", "ne"})
BOOLEAN = COMPARISONS | {"logical_and", "logical_or", "logical_not"}
PIECEWISE_CONSTANT = BOOLEAN | {"sign"}

# Functions that only appear inside derivative rules.
HELPERS: dict[str, dict] = {}


def lookup_function(module_kind: str, attr: str) -> str | None:
    """Canonical primitive name of ``<module>.<attr>`` (module_kind 'math' or 'numpy')."""
    for prim in PRIMITIVES.values():
        if getattr(prim, module_kind) == attr:
            return prim.name
    return None


def supported_functions(module_kind: str) -> list[str]:
    return sorted(getattr(p, module_kind) for p in PRIMITIVES.values() if getattr(p, module_kind))


def spelling(fn: str, module_kind: str) -> str | None:
    """Attribute name of canonical ``fn`` in ``module_kind``, or None (e.g. math.sign)."""
    if fn in PRIMITIVES:
        return getattr(PRIMITIVES[fn], module_kind)
    return HELPERS.get(fn, {}).get(module_kind)


def partials(op: str, operands: list[Sym], result: Sym) -> tuple[Sym, ...]:
    """The partial derivatives of ``result = op(*operands)``, one per operand."""
    return PRIMITIVES[op].partials(*operands, result)


# Module attributes accepted as passive constants.
CONSTANTS = {"math": {"pi", "e", "tau"}, "numpy": {"pi", "e"}}


# Primal inverse rules, for sweeps that recompute values backwards (memory="recompute").
# Key: (primitive, position of the unknown operand); value: the unknown operand from the
# result z and the other operand. Only rules exact wherever the forward step was defined:
# asin(sin(x)) is not x, so sin has no rule; sqrt(x)**2 is x because x >= 0 there.
INVERSES: dict[tuple[str, int], Callable] = {
    ("add", 0): lambda z, y: z - y,          # z = x + y
    ("add", 1): lambda z, x: z - x,
    ("sub", 0): lambda z, y: z + y,          # z = x - y
    ("sub", 1): lambda z, x: x - z,
    ("mul", 0): lambda z, y: z / y,          # z = x * y, y != 0 (the pivot)
    ("mul", 1): lambda z, x: z / x,
    ("div", 0): lambda z, y: z * y,          # z = x / y
    ("div", 1): lambda z, x: x / z,
    ("neg", 0): lambda z: -z,
    ("pos", 0): lambda z: z,
    ("exp", 0): lambda z: log(z),
    ("log", 0): lambda z: exp(z),
    ("expm1", 0): lambda z: log1p(z),
    ("log1p", 0): lambda z: expm1(z),
    ("tanh", 0): lambda z: atanh(z),
    ("sinh", 0): lambda z: asinh(z),
    ("atan", 0): lambda z: tan(z),
    ("asin", 0): lambda z: sin(z),
    ("acos", 0): lambda z: cos(z),
    ("sqrt", 0): lambda z: z ** 2,
    ("atanh", 0): lambda z: tanh(z),
    ("asinh", 0): lambda z: sinh(z),
    ("acosh", 0): lambda z: cosh(z),      # acosh >= 0, so cosh gives x back
    ("cbrt", 0): lambda z: z * z * z,
}


def inverse(op: str, position: int, result: Sym, operands: list) -> Sym | None:
    """The operand at ``position`` of ``result = op(*operands)`` from the others, or None.

    ``operands`` holds symbolic values (the unknown one may be anything). Powers with a
    constant exponent c invert as z ** (1/c) (x >= 0 where c is not an integer), or
    sign(z) * |z| ** (1/c) for odd integers; even powers have no inverse.
    """
    if op == "pow":
        base, expo = operands
        if position == 0 and hasattr(expo, "value"):
            c = expo.value
            if c == int(c) and int(c) % 2 == 0:
                return None
            if c == int(c):
                return sign(result) * abs_(result) ** (1 / c) if c != 1 else result
            return result ** (1 / c)
        if position == 1 and hasattr(base, "value") and base.value > 0:
            return log(result) / log(base)
        return None
    rule = INVERSES.get((op, position))
    if rule is None:
        return None
    others = [a for i, a in enumerate(operands) if i != position]
    return rule(result, *others)

