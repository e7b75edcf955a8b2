"""Every derivative rule of the registry, on its own, against mpmath at 50 digits (item 2).

For each primitive, a one-statement function in the ``math`` and the ``numpy`` spelling is
differentiated by the tool at points spread over the whole domain, log-spaced out to the
overflow limits and dense where the function saturates (tanh beyond 15, expm1 near -1,
asin and acos near +-1, log1p near -1, atan at 1e150, sqrt and log near 0). Wherever the
true derivative d is a normal float, jvp with tangent 1 must give d and ijvp must give
1/d to a few ulps; the reference is the textbook derivative evaluated by mpmath with 50
digits, so no rounding in the reference. NumPy functions run on arrays (all points at
once) and on scalars.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest

import s2s_invad as si
from modules import load_function

mp.mp.dps = 50
TINY, HUGE = 2.2250738585072014e-308, 1.7976931348623157e308
ULPS = 4                                # measured worst: 1.7 ulp (tanh, asin near 1)


def _pts(lo: float, hi: float, n: int) -> list[float]:
    """n points 10**k, k evenly spaced from lo to hi."""
    return [float(10.0 ** k) for k in np.linspace(lo, hi, n)]


def _sym(points):
    return points + [-x for x in points]


# primitive: (math spelling, numpy spelling, derivative in mpmath, points)
UNARY = {
    "sin": ("sin", "sin", mp.cos, _sym(_pts(-300, 5, 60))),
    "cos": ("cos", "cos", lambda x: -mp.sin(x), _sym(_pts(-300, 5, 60))),
    "tan": ("tan", "tan", lambda x: mp.sec(x) ** 2, _sym(_pts(-300, 5, 60) + [1.5707963267948966, 1.57079632679])),
    "exp": ("exp", "exp", mp.exp, _sym(_pts(-300, math.log10(708), 60)) + [709.7, -745.0]),
    "log": ("log", "log", lambda x: 1 / x, _pts(-307, 308, 80)),
    "log1p": ("log1p", "log1p", lambda x: 1 / (1 + x), [-1 + x for x in _pts(-16, -0.31, 50)] + _pts(-300, 308, 60)),
    "expm1": ("expm1", "expm1", mp.exp, _sym(_pts(-300, math.log10(709), 60)) + list(np.linspace(-60, -15, 46))),
    "sqrt": ("sqrt", "sqrt", lambda x: 1 / (2 * mp.sqrt(x)), _pts(-307, 308, 80)),
    "tanh": ("tanh", "tanh", lambda x: mp.sech(x) ** 2,
             _sym(_pts(-300, math.log10(354), 60) + list(np.linspace(5, 40, 71)) + [300.0, 354.0]
                  + list(np.linspace(0.5, 0.6, 21)) + list(np.linspace(0.85, 0.92, 41)))),  # 1 - z*z ends at |x| = 0.881
    "sinh": ("sinh", "sinh", mp.cosh, _sym(_pts(-300, math.log10(710), 60))),
    "cosh": ("cosh", "cosh", mp.sinh, _sym(_pts(-300, math.log10(710), 60))),
    "asin": ("asin", "arcsin", lambda x: 1 / mp.sqrt(1 - x ** 2), _sym([1 - x for x in _pts(-16, 0, 50)] + _pts(-300, -0.01, 40))),
    "acos": ("acos", "arccos", lambda x: -1 / mp.sqrt(1 - x ** 2), _sym([1 - x for x in _pts(-16, 0, 50)] + _pts(-300, -0.01, 40))),
    "atan": ("atan", "arctan", lambda x: 1 / (1 + x ** 2), _sym(_pts(-300, 153.5, 80))),
    "atanh": ("atanh", "arctanh", lambda x: 1 / (1 - x ** 2), _sym([1 - x for x in _pts(-16, 0, 50)] + _pts(-300, -0.01, 40))),
    "asinh": ("asinh", "arcsinh", lambda x: 1 / mp.sqrt(1 + x ** 2), _sym(_pts(-300, 308, 80))),
    "acosh": ("acosh", "arccosh", lambda x: 1 / mp.sqrt(x ** 2 - 1), [1 + x for x in _pts(-15, 0, 40)] + _pts(0.01, 308, 60)),
    "cbrt": ("cbrt", "cbrt", lambda x: 1 / (3 * mp.cbrt(abs(x)) ** 2), _sym(_pts(-307, 308, 80))),
    "erf": ("erf", None, lambda x: 2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
            _sym(_pts(-300, 0.5, 50) + list(np.linspace(1, 27, 105)))),
    "erfc": ("erfc", None, lambda x: -2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
             _sym(_pts(-300, 0.5, 50) + list(np.linspace(1, 27, 105)))),
    "abs": (None, None, mp.sign, _sym(_pts(-300, 300, 20))),
}


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    """make(name, source) -> the function ``name`` of a module file holding ``source``."""
    folder = tmp_path_factory.mktemp("rules")
    return lambda name, source: load_function(folder, name, "import math\nimport numpy as np\n\n\n" + source)


def _ulps(got, want) -> float:
    """|got - want| in ulps of want (want an mpf, got a float)."""
    return float(abs(mp.mpf(float(got)) - want) / math.ulp(float(want)))


def _normal(d) -> bool:
    return TINY <= abs(d) <= HUGE


def _check(name, got, want, x, what):
    err = _ulps(got, want)
    allowed = ULPS + (x * x / 2 if name in ("erf", "erfc") else 0)   # x*x rounds (primitives._erf_slope)
    assert err <= allowed, f"{name}: {what} at x = {x!r} is {float(got)!r}, true {mp.nstr(want, 17)} ({err:.1f} ulps)"


def _valid(fn, x) -> bool:
    try:
        value = fn(x)
    except (ValueError, OverflowError):
        return False
    return bool(np.isfinite(value))


@pytest.mark.parametrize("prim", sorted(UNARY))
@pytest.mark.parametrize("spelling", ["math", "numpy"])
def test_unary_rule_against_mpmath(prim, spelling, make):
    math_name, np_name, deriv, points = UNARY[prim]
    if spelling == "numpy" and np_name is None and prim != "abs":
        pytest.skip(f"NumPy has no {prim}")
    call = "abs(x)" if prim == "abs" else (f"math.{math_name}(x)" if spelling == "math" else f"np.{np_name}(x)")
    if prim == "abs" and spelling == "numpy":
        call = "np.sin(0.0) + abs(x)"                        # a numpy source, so arrays work
    f = make(f"rule_{prim}_{spelling}", f"def rule_{prim}_{spelling}(x):\n    return {call}\n")
    primal = (lambda x: abs(x)) if prim == "abs" else getattr(math if spelling == "math" else np,
                                                               math_name if spelling == "math" else np_name)
    xs = [x for x in points if _valid(primal, x)]
    want = {x: deriv(mp.mpf(x)) for x in xs}
    good = [x for x in xs if _normal(want[x])]
    assert len(good) > 20
    for x in good:                                            # scalars, one point at a time
        _, d = si.jvp(f, (x,), (1.0,))
        _check(prim, d, want[x], x, "jvp")
        if _normal(1 / want[x]):
            _, (u,) = si.ijvp(f, (x,), 1.0)
            _check(prim, u, 1 / want[x], x, "ijvp")
    if spelling == "numpy":                                   # the same points as one array
        arr = np.array(good)
        _, d = si.jvp(f, (arr,), (np.ones_like(arr),))
        for x, got in zip(good, d):
            _check(prim, got, want[x], x, "jvp on an array")


def _binary(make, name, expr):
    return make(name, f"def {name}(x, y):\n    return {expr}, y\n")


DIV_POINTS = [(s * x, t * y) for x, y in itertools.product(_pts(-150, 150, 13), repeat=2)
              for s, t in ((1, 1), (-1, 1), (1, -1))]


@pytest.mark.parametrize("spelling", ["math", "numpy"])
def test_division_rule(spelling, make):
    f = _binary(make, f"rule_div_{spelling}", "x / y" if spelling == "math" else "x / y + np.sin(0.0)")
    for x, y in DIV_POINTS:
        z, want = x / y, -mp.mpf(x) / mp.mpf(y) ** 2
        if not (_normal(z) and _normal(want)):
            continue                # a subnormal quotient has lost digits already; a partial
        _, (dz, _) = si.jvp(f, (x, y), (1.0, 0.0))     # beyond the float range is an error
        _check("div", dz, 1 / mp.mpf(y), (x, y), "d/dx")
        _, (dz, _) = si.jvp(f, (x, y), (0.0, 1.0))
        _check("div", dz, want, (x, y), "d/dy")


EXPONENTS = [2, 3, 0.5, -1, -2.5, 0.3, 1 / 3, 7.5, 1e-3, -0.3, 12.25]


@pytest.mark.parametrize("c", EXPONENTS)
def test_power_rule_with_a_constant_exponent(c, make):
    f = make(f"rule_pow_{str(c).replace('.', '_').replace('-', 'm')}",
             f"def rule_pow_{str(c).replace('.', '_').replace('-', 'm')}(x):\n    return x ** {c!r}\n")
    for x in _pts(-300, 300, 121):
        try:
            z = x ** c
        except (OverflowError, ZeroDivisionError):
            continue
        want = mp.mpf(c) * mp.mpf(x) ** (mp.mpf(c) - 1)
        if not (_normal(z) and _normal(want)):
            continue
        _, d = si.jvp(f, (x,), (1.0,))
        _check(f"x ** {c}", d, want, x, "jvp")
    if c > 1:                                   # at 0 the derivative is 0, not nan
        assert si.jvp(f, (0.0,), (1.0,))[1] == 0.0


@pytest.mark.parametrize("spelling", ["math", "numpy"])
def test_power_rule_with_a_variable_exponent(spelling, make):
    f = _binary(make, f"rule_powv_{spelling}", "x ** y" if spelling == "math" else "x ** y + np.sin(0.0)")
    for x, y in itertools.product(_pts(-60, 60, 25), [-4.5, -1.0, -0.3, 0.25, 0.5, 1.0, 2.0, 3.7]):
        z = x ** y
        want, want_y = mp.mpf(y) * mp.mpf(x) ** (mp.mpf(y) - 1), mp.mpf(x) ** mp.mpf(y) * mp.log(x)
        if not (_normal(z) and _normal(want) and _normal(want_y)):
            continue
        _, (d, _) = si.jvp(f, (x, y), (1.0, 0.0))
        # the exponent y - 1 is rounded at run time (half an ulp of y - 1): that is up to
        # |(y - 1) log x| ulps of the result, documented in primitives._pow_partials
        err = _ulps(d, want)
        assert err <= ULPS + abs((y - 1) * math.log(x)), (x, y, d, want)
        _, (d, _) = si.jvp(f, (x, y), (0.0, 1.0))
        _check("x ** y", d, want_y, (x, y), "d/dy")
    # at x = 0 (y > 0): z = 0, d z/d y = 0 and, for y > 1, d z/d x = 0
    _, (d, _) = si.jvp(f, (0.0, 2.5), (1.0, 1.0))
    assert d == 0.0


@pytest.mark.parametrize("expr, partials", [
    ("x * y", lambda x, y: (y, x)), ("x + y", lambda x, y: (1, 1)), ("x - y", lambda x, y: (1, -1)),
    ("-x + y", lambda x, y: (-1, 1))])
def test_arithmetic_rules_are_exact(expr, partials, make):
    name = "rule_" + {"x * y": "mul", "x + y": "add", "x - y": "sub", "-x + y": "neg"}[expr]
    f = _binary(make, name, expr)
    for x, y in DIV_POINTS[::7]:
        want = partials(x, y)
        for k, tangent in enumerate(((1.0, 0.0), (0.0, 1.0))):
            _, (d, _) = si.jvp(f, (x, y), tangent)
            assert d == want[k]


def test_a_pivot_that_is_an_exp_is_not_tested_but_its_underflow_still_raises(tmp_path):
    """``x * exp(y)``: the pivot exp(y) needs no test in scalar code (it is positive); where it
    underflows to 0 (J is not singular, but J^-1 overflows) the division raises, reported as
    NonFiniteError at the line; elsewhere the inverse modes agree with the closed form."""
    f = load_function(tmp_path, "scaled", "import math\n\n\ndef scaled(x, y):\n"
                                          "    x = x * math.exp(y)\n    return x, y\n")
    assert "zero_pivot" not in si.source(f, "ijvp") and "zero_pivot" not in si.source(f, "ivjp")
    (x1, y1), (dx, dy) = si.ijvp(f, (2.0, 0.5), (1.0, 1.0))
    assert (dx, dy) == pytest.approx(((1.0 - 2.0 * math.exp(0.5)) / math.exp(0.5), 1.0), rel=1e-15)
    for call in (lambda: si.ijvp(f, (2.0, -800.0), (1.0, 0.0)), lambda: si.ivjp(f, 2.0, -800.0)[1]((1.0, 0.0))):
        with pytest.raises(si.NonFiniteError, match=r"scaled\.py:5:"):
            call()


def test_tanh_slope_is_cheap_in_scalar_code_and_general_in_numpy_code(make):
    """Scalar code picks 1 - z*z where z*z < 1/2 (primitives._tanh_slope); NumPy code, whose
    values may be arrays, always computes the saturation-safe form. Both agree with sech**2."""
    fm = make("tanh_scalar", "def tanh_scalar(x):\n    return math.tanh(x)\n")
    fn = make("tanh_array", "def tanh_array(x):\n    return np.tanh(x)\n")
    assert " < 0.5 else " in si.source(fm, "jvp")
    assert " < 0.5 else " not in si.source(fn, "jvp")
    for x in (0.3, -0.5493, 0.5494, 0.8813, -0.8814, 3.0, -21.0):
        want = mp.sech(mp.mpf(x)) ** 2
        for f in (fm, fn):
            _check("tanh", si.jvp(f, (x,), (1.0,))[1], want, x, f.__name__)
    xs = np.array([0.1, 0.7, 25.0])
    _, d = si.jvp(fn, (xs,), (np.ones(3),))
    for x, got in zip(xs, d):
        _check("tanh", got, mp.sech(mp.mpf(float(x))) ** 2, float(x), "array")
