"""NumPy and math functions users write that are not one-argument primitives: atan2 and
hypot (inverse kinematics), checked in every mode and slogdet against the oracle's
complex-step Jacobian of the same function, the primal against NumPy (or math) running it,
the rules against mpmath where floats are extreme, batches and backend c."""

import math

import mpmath as mp
import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import UnsupportedSyntaxError

import checks
import oracle

mp.mp.dps = 50


def polar(x, y):
    return math.hypot(x, y), math.atan2(y, x)


def polar_np(x, y):
    return np.hypot(x, y), np.arctan2(y, x) + 0.25 * x


def polar_plain_np(x, y):
    return np.hypot(x, y), np.arctan2(y, x)


def two_link(p):
    """Joint angles of a planar two-link arm (links 1.0 and 0.8) reaching the point p."""
    r = np.hypot(p[0], p[1])
    elbow = np.arccos((r ** 2 - 1.0 - 0.64) / 1.6)
    shoulder = np.arctan2(p[1], p[0]) - np.arctan2(0.8 * np.sin(elbow), 1.0 + 0.8 * np.cos(elbow))
    return np.array([shoulder, elbow])


def ring(u):
    return np.arctan2(u + 0.2 * np.roll(u, 1), 1.5 - 0.3 * u) + 0.1 * np.hypot(u, 0.5)


def constant_side(u):
    return np.arctan2(2.0, u) + np.hypot(0.5, u) + np.arctan2(u, [1.0, -1.0, 2.0])


QUADRANTS = [(0.3, 0.4), (-0.3, 0.4), (-0.3, -0.4), (0.3, -0.4), (0.0, 0.7), (-0.6, 1e-3)]


@pytest.mark.parametrize("f", [polar, polar_np])
@pytest.mark.parametrize("point", QUADRANTS)
def test_polar_coordinates_in_every_quadrant(f, point):
    y, _ = si.jvp(f, point, (1.0, 0.0))
    want = f(*point)
    assert y == pytest.approx(want, rel=1e-15, abs=1e-16)
    checks.check_structured(si, f, point)


@pytest.mark.parametrize("f, x", [(two_link, np.array([1.2, 0.7])), (two_link, np.array([-0.4, 1.1])),
                                  (ring, np.linspace(-0.8, 0.9, 5)), (constant_side, np.array([0.3, -0.5, 1.2]))],
                         ids=["two_link", "two_link_left", "ring", "constant_side"])
def test_vector_functions_in_every_mode(f, x):
    y, _ = si.jvp(f, (x,), (np.ones(len(x)),))
    np.testing.assert_allclose(y, f(x), rtol=1e-14, atol=1e-15)
    checks.check_structured(si, f, (x,))


def test_generated_code_calls_the_source_namespace():
    text = si.source(polar, "jvp")
    assert "math.hypot(x, y)" in text and "math.atan2(y, x)" in text
    text = si.source(polar_np, "vjp")
    assert "np.hypot(x, y)" in text and "np.arctan2(y, x)" in text
    assert si.source(polar, "jvp") == si.source(polar, "jvp")


def _ulps(got, want):
    return float(abs(mp.mpf(float(got)) - want) / math.ulp(float(want)))


@pytest.mark.parametrize("f", [polar, polar_plain_np])
def test_rules_are_accurate_where_squares_overflow_or_underflow(f):
    """d atan2(y, x) = x / (x**2 + y**2), -y / (x**2 + y**2) and d hypot = x / r, y / r, at
    scales where x**2 + y**2 is inf or 0 in floats: within 4 ulps of mpmath at 50 digits."""
    for scale in (1e-300, 1e-200, 1e-160, 1.0, 1e160, 1e200, 1e300):
        for a, b in ((0.3, 0.4), (-1.0, 2.5), (3.0, -1e-3)):
            x, y = a * scale, b * scale
            X, Y = mp.mpf(x), mp.mpf(y)
            r2 = X ** 2 + Y ** 2
            want = {(0, 0): X / mp.sqrt(r2), (0, 1): Y / mp.sqrt(r2), (1, 0): -Y / r2, (1, 1): X / r2}
            if f is polar_np:
                want[(1, 0)] += mp.mpf(0.25)
            for j, tangent in enumerate(((1.0, 0.0), (0.0, 1.0))):
                _, dz = si.jvp(f, (x, y), tangent)
                for i in range(2):
                    w = want[(i, j)]
                    if 2.3e-308 < abs(w) < 1.7e308:
                        assert _ulps(dz[i], w) <= 4, (scale, a, b, i, j, dz[i], mp.nstr(w, 17))


def test_at_the_origin_the_results_check_reports_it():
    with pytest.raises(si.NonFiniteError):
        si.jvp(polar, (0.0, 0.0), (1.0, 0.0))


def test_batches_match_points():
    xs, ys = np.array([0.3, -0.3, -0.3, 0.3, 2.0]), np.array([0.4, 0.4, -0.4, -0.4, 1e-3])
    y, (x_dot, y_dot) = si.ijvp(polar_np, (xs, ys), (np.ones(5), np.full(5, 0.5)))
    np.testing.assert_allclose(y[1], np.arctan2(ys, xs) + 0.25 * xs, rtol=1e-15)
    for b in range(5):
        _, want = si.ijvp(polar_np, (float(xs[b]), float(ys[b])), (1.0, 0.5))
        np.testing.assert_allclose([x_dot[b], y_dot[b]], want, rtol=1e-14)
    with pytest.raises(si.ArgumentError, match="math"):
        si.jvp(polar, (xs, ys), (xs, ys))                 # math.atan2 takes one point at a time


@pytest.mark.parametrize("f, primals", [(polar, (0.3, -0.4)), (polar_np, (-0.3, 0.4)),
                                        (two_link, (np.array([1.2, 0.7]),))], ids=["math", "numpy", "two_link"])
def test_backend_c_agrees_with_the_python_backend(f, primals):
    n = sum(np.size(p) for p in primals)
    v = checks.split_inputs(f, primals, np.linspace(0.5, 1.5, n))
    w = checks.shaped_like(np.linspace(-1.0, 1.0, n), oracle.evaluate(f, primals))
    for mode in ("jvp", "ijvp", "vjp", "ivjp", "slogdet"):
        got, want = (checks.run_mode(f, mode, primals, v, w, backend) for backend in ("c", "python"))
        np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-14, atol=1e-15)



def test_math_hypot_of_several_coordinates():
    def norm3(x, y, z):
        return math.hypot(x, y, z), math.hypot(y), y + z
    y, _ = si.jvp(norm3, (1e200, -2e200, 3e200), (1.0, 0.0, 0.0))
    assert y[0] == pytest.approx(math.hypot(1e200, -2e200, 3e200), rel=1e-15) and y[1] == 2e200
    checks.check_structured(si, norm3, (0.3, -0.5, 0.7))


def test_math_atan2_of_a_list_is_refused():
    def f(x):
        return math.atan2([x, x], 1.0)
    with pytest.raises(UnsupportedSyntaxError, match="np.arctan2"):
        si.jvp(f, (0.5,), (1.0,))
