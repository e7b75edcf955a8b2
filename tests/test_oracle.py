"""The oracle checked on its own, without s2s_invad: SPEC numbers, primitives, plumbing."""

import functools
import math

import mpmath
import numpy as np
import pytest

import example_functions as ef
import oracle


def close_to_printed(got, printed):
    """SPEC prints 6 decimals: agree to 1e-6 relative to max(1, |value|)."""
    got, printed = np.asarray(got, float), np.asarray(printed, float)
    assert got.shape == printed.shape
    assert np.all(np.abs(got - printed) <= 1e-6 * np.maximum(1.0, np.abs(printed))), (got, printed)


@pytest.mark.parametrize("name", ["ex1", "ex2"])
def test_spec_numbers(name):
    f, spec = getattr(ef, name), ef.SPEC_NUMBERS[name]
    J = oracle.dense_jacobian(f, ef.SPEC_POINT)
    v, w = np.array(ef.SPEC_V), np.array(ef.SPEC_W)
    close_to_printed(oracle.evaluate(f, ef.SPEC_POINT), spec["f"])
    close_to_printed(np.linalg.det(J), spec["det"])
    close_to_printed(J @ v, spec["jvp"])
    close_to_printed(J.T @ w, spec["vjp"])
    close_to_printed(np.linalg.solve(J, v), spec["ijvp"])
    close_to_printed(np.linalg.solve(J.T, w), spec["ivjp"])


def test_spec_lump_blocks():
    """SPEC example 2's lump: d(new r0, new r1)/d(r0, r1, r2) = [A | B] at r0 = 0.7 * 1.3."""
    J = oracle.dense_jacobian(ef.ex2_lump, (0.7 * 1.3, 1.3, -0.4))
    close_to_printed(J[:, :2], ef.SPEC_NUMBERS["ex2"]["A"])
    close_to_printed(J[:, 2:], ef.SPEC_NUMBERS["ex2"]["B"])


# (shim name, mpmath function, points inside the domain)
PRIMITIVES = [
    ("sin", mpmath.sin, (-2.0, 0.3)), ("cos", mpmath.cos, (-2.0, 0.3)),
    ("tan", mpmath.tan, (-1.0, 0.4)), ("exp", mpmath.exp, (-3.0, 1.5)),
    ("log", mpmath.log, (0.2, 7.0)), ("log1p", mpmath.log1p, (-0.5, 3.0)),
    ("expm1", mpmath.expm1, (-1e-3, 2.0)), ("sqrt", mpmath.sqrt, (0.1, 9.0)),
    ("tanh", mpmath.tanh, (-2.0, 0.3)), ("sinh", mpmath.sinh, (-2.0, 0.3)),
    ("cosh", mpmath.cosh, (-2.0, 0.3)), ("asin", mpmath.asin, (-0.9, 0.4)),
    ("acos", mpmath.acos, (-0.9, 0.4)), ("atan", mpmath.atan, (-5.0, 0.4)),
    ("arcsin", mpmath.asin, (0.6,)), ("arccos", mpmath.acos, (0.6,)),
    ("arctan", mpmath.atan, (0.6,)),
]


def complex_step(g, x):
    return float(np.imag(g(complex(x, oracle.STEP)))) / oracle.STEP


@pytest.mark.parametrize("name, exact, points", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_primitive_derivatives(name, exact, points):
    g = getattr(oracle.SHIM, name)
    for x in points:
        want = float(mpmath.diff(exact, mpmath.mpf(x)))
        assert complex_step(g, x) == pytest.approx(want, rel=1e-13, abs=1e-15)
        assert float(np.real(g(x))) == pytest.approx(float(exact(x)), rel=1e-14)


def test_abs_and_powers():
    assert complex_step(oracle._abs, -0.7) == -1.0
    assert complex_step(oracle._abs, 0.7) == 1.0
    assert oracle._abs(-2.5) == 2.5
    with mpmath.workdps(30):
        for base, expo in [(1.7, 0.4), (0.3, -2.5), (2.0, 3.0)]:
            d_base = float(mpmath.diff(lambda b: b ** expo, base))
            d_expo = float(mpmath.diff(lambda e: mpmath.mpf(base) ** e, expo))
            assert complex_step(lambda b: b ** expo, base) == pytest.approx(d_base, rel=1e-13)
            assert complex_step(lambda e: base ** e, expo) == pytest.approx(d_expo, rel=1e-13)
    # integer powers of negative bases stay exact
    assert complex_step(lambda b: b ** 2, -1.5) == pytest.approx(-3.0, rel=1e-15)
    assert complex_step(lambda b: b ** 3.0, -1.5) == pytest.approx(6.75, rel=1e-15)


def central_differences(f, x, h=1e-6):
    x = np.array(x, float)
    cols = []
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        up = np.atleast_1d(np.array(oracle.evaluate(f, x + e)))
        down = np.atleast_1d(np.array(oracle.evaluate(f, x - e)))
        cols.append((up - down) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("name", sorted({**ef.EXAMPLES, **ef.NONSQUARE}))
def test_against_finite_differences_and_plain_call(name):
    f, x = {**ef.EXAMPLES, **ef.NONSQUARE}[name]
    J = oracle.dense_jacobian(f, x)
    assert np.allclose(J, central_differences(f, x), rtol=1e-6, atol=1e-7)
    direct, rebuilt = f(*x), oracle.evaluate(f, x)
    assert isinstance(rebuilt, tuple) == isinstance(direct, tuple)
    assert np.allclose(np.array(rebuilt, float), np.array(direct, float), rtol=1e-15, atol=0)


def test_shapes_and_wrt():
    assert oracle.dense_jacobian(ef.scalar_of_three, (0.2, -0.5, 0.9)).shape == (1, 3)
    assert oracle.dense_jacobian(ef.one_to_two, (0.4,)).shape == (2, 1)
    full = oracle.dense_jacobian(ef.with_passive, (0.3, 0.7, -0.2))
    sub = oracle.dense_jacobian(ef.with_passive, (0.3, 0.7, -0.2), wrt=("x", "y"))
    assert sub.shape == (2, 2)
    assert np.array_equal(sub, full[:, [0, 2]])
    assert oracle.parameter_names(ef.with_passive) == ("x", "c", "y")


def _wrapping_decorator(g):
    @functools.wraps(g)
    def wrapper(*args):
        raise AssertionError("the oracle must not call the decorated object")
    return wrapper


_K = 0.5  # numeric module constants are copied into the rebuilt function's globals


@_wrapping_decorator
def _decorated(x, y):
    x = x + _K * math.sin(y)
    return x, y * 2.0


def test_decorators_are_stripped():
    J = oracle.dense_jacobian(_decorated, (0.1, 0.2))
    assert np.allclose(J, [[1.0, 0.5 * math.cos(0.2)], [0.0, 2.0]], rtol=1e-15)
