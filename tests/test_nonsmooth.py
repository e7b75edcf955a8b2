"""Nonsmooth NumPy functions: np.maximum, minimum, fmax, fmin, builtin max and min, np.clip,
np.sign, np.heaviside, np.where on runtime comparisons, the reductions np.max / np.min (and
methods), np.linalg.norm and np.logaddexp. Away from kinks: every mode and slogdet against
the oracle's complex-step Jacobian (comparisons and selections by real parts), the primal
against NumPy running the function. At kinks and ties: the documented conventions (JAX's),
with expected values worked out by hand. A leaky-ReLU layer against NumPy solves, a dead
ReLU unit raising SingularJacobianError, batches, backends c and numba against Python."""

import math
import shutil

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import UnsupportedSyntaxError

import checks
import oracle

W = np.array([[1.2, -0.4, 0.3], [0.5, 0.9, -0.2], [-0.3, 0.6, 1.1]])


def leaky_where(x):
    return np.where(x > 0, x, 0.01 * x)


def leaky_max(x):
    return np.maximum(x, 0.01 * x)


def layer(x):
    """An invertible layer: x -> leaky_relu(W x)."""
    h = W @ x
    return np.where(h > 0, h, 0.1 * h)


def relu_layer(x):
    return np.maximum(W @ x, 0.0)


def pairs(x, y):
    return (np.maximum(x, 0.5 * y) + np.minimum(x * y, y), np.fmax(y, x ** 2) - np.fmin(x, -y))


def builtins_of(x, y, z):
    return max(x, y) + 0.5 * z, min(x, y, z) + 0.25 * y, max([x * z, y, 0.1]) + z


def clipped(u):
    lo = u[0] - 1.0
    return np.clip(u, -0.5, 0.8) + np.clip(u[::-1], lo, u[0] + 1.0) + 0.1 * u


def conditions(x, y):
    c = (x > 0) & (y <= 0.5) | ~(x < -1.0)
    return np.where(c, x * y, x + y), np.where(x >= y, np.sin(x), y) + 0.5 * x


def signs(x, y):
    return x * np.sign(y) + 2.0 * x, y + np.heaviside(x, 0.5) * y + x


def reductions(u):
    m = u.reshape(2, 3)
    return np.concatenate([u[:3] + np.max(u), u[3:5] * np.amin(u) + np.min(m, axis=0)[:2],
                           2.0 * u[5:] + m.max(axis=1, keepdims=True)[0]])


def norms(u):
    m = u.reshape(2, 2)
    return np.array([np.linalg.norm(u), np.linalg.norm(u, 1) + u[1], np.linalg.norm(u, np.inf) + u[2],
                     np.linalg.norm(m) * u[3] + np.linalg.norm(m, 1) + np.linalg.norm(m, axis=1)[0]])


def softplus_pair(x, y):
    return np.logaddexp(x, y), np.logaddexp(0.0, y) + 0.3 * x


def log_branch(x):
    return np.where(x > 0, np.log(x), 0.0) + x


def log_branch_safe(x):
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, np.log(safe), 0.0) + x


def where_runtime_condition_nonzero(x, y):
    return np.where(x * y, x, y) + x, y


AWAY = [
    (leaky_where, (0.7,)),
    (leaky_where, (-0.3,)),
    (leaky_max, (0.7,)),
    (leaky_max, (-0.3,)),
    (layer, (np.array([0.4, -0.8, 0.6]),)),
    (pairs, (0.7, -1.3)),
    (pairs, (-0.4, 0.9)),
    (builtins_of, (0.3, -0.6, 1.1)),
    (builtins_of, (-0.3, 0.6, 1.4)),
    (clipped, (np.array([0.2, -0.9, 1.3, 0.5]),)),
    (conditions, (0.6, 0.2)),
    (conditions, (-1.5, 0.9)),
    (conditions, (-0.5, 0.9)),
    (signs, (0.6, -0.2)),
    (signs, (-0.6, 0.2)),
    (reductions, (np.array([0.3, -1.2, 0.7, 0.1, 0.5, 2.0]),)),
    (norms, (np.array([0.3, -1.2, 0.7, 0.1]),)),
    (softplus_pair, (0.4, -1.1)),
    (log_branch, (2.0,)),
]


@pytest.mark.parametrize("f, primals", AWAY, ids=lambda p: getattr(p, "__name__", None) or "")
def test_every_mode_against_the_oracle_away_from_kinks(f, primals):
    checks.check_structured(si, f, primals)
    y, _ = si.jvp(f, primals, checks.split_inputs(f, primals, np.ones(sum(np.size(p) for p in primals))))
    want = f(*(np.float64(p) if np.ndim(p) == 0 else p for p in primals))
    np.testing.assert_allclose(checks.flatten(y), checks.flatten(want), rtol=1e-15, atol=1e-16)


def _jvp_column(f, primals, j):
    n = sum(np.size(p) for p in primals)
    v = checks.split_inputs(f, primals, np.eye(n)[j])
    return checks.flatten(si.jvp(f, primals, v)[1])


def test_maximum_and_minimum_at_a_tie_split_the_derivative_in_half():
    """jnp.maximum's convention: d maximum(x, y) = (1/2, 1/2) where x == y, in every mode."""
    def f(x, y):
        return np.maximum(x, y), np.minimum(x, y) + 2.0 * y
    # at x = y = 0.5: d max = (1/2, 1/2); d (min + 2y) = (1/2, 1/2 + 2)
    want = np.array([[0.5, 0.5], [0.5, 2.5]])
    got = np.array([_jvp_column(f, (0.5, 0.5), j) for j in range(2)]).T
    np.testing.assert_array_equal(got, want)
    _, pullback = si.vjp(f, 0.5, 0.5)
    np.testing.assert_array_equal(pullback((1.0, 0.0)), (0.5, 0.5))
    # det = 0.5 * 2.5 - 0.5 * 0.5 = 1.0; J^-1 (1, 0) = (2.5, -0.5) / 1.0
    np.testing.assert_allclose(si.ijvp(f, (0.5, 0.5), (1.0, 0.0))[1], (2.5, -0.5), rtol=1e-15)
    sign, logdet = si.slogdet(f, (0.5, 0.5))[1]
    assert sign == 1.0 and abs(logdet) < 1e-15


def test_kinks_of_relu_clip_sign_heaviside_and_where():
    # np.maximum(x, 0.01 x) at x = 0: a tie, (1 + 0.01) / 2
    assert _jvp_column(leaky_max, (np.array([0.0, 1.0, -1.0]),), 0)[0] == 0.505
    # np.where(x > 0, x, 0.01 x) at x = 0: x > 0 is False, so the 0.01 x branch: 0.01
    assert _jvp_column(leaky_where, (np.array([0.0, 1.0, -1.0]),), 0)[0] == 0.01
    # np.clip(u, -0.5, 0.8) at u = 0.8 is minimum(maximum(u, -0.5), 0.8): a tie of minimum, 1/2;
    # u = -0.5 a tie of maximum, 1/2
    def clip_only(u):
        return np.clip(u, -0.5, 0.8)
    assert [_jvp_column(clip_only, (np.array([0.8, -0.5]),), j)[j] for j in range(2)] == [0.5, 0.5]
    # np.sign: 0 everywhere, at 0 too; np.heaviside(x, h): d/dx 0, d/dh 1 at x == 0, else 0
    def step(x, h):
        return np.sign(x) * h + x, np.heaviside(x, h) + h
    assert list(_jvp_column(step, (0.0, 0.3), 0)) == [1.0, 0.0]
    assert list(_jvp_column(step, (0.0, 0.3), 1)) == [0.0, 2.0]
    assert list(_jvp_column(step, (0.2, 0.3), 1)) == [1.0, 1.0]
    # fmax ignores NaN: fmax(x, nan) = x, derivative 1
    def fmax_nan(x):
        return np.fmax(x, math.nan) + np.fmin(math.nan, 2.0 * x)
    assert si.jvp(fmax_nan, (0.5,), (1.0,)) == (1.5, 3.0)


def test_builtin_max_of_three_tied_values_follows_the_chain():
    """max(x, y, z) is maximum(maximum(x, y), z): at x = y = z the weights are 1/4, 1/4, 1/2."""
    def f(x, y, z):
        return max(x, y, z), y, z
    assert list(_jvp_column(f, (1.0, 1.0, 1.0), 0)) == [0.25, 0.0, 0.0]
    assert list(_jvp_column(f, (1.0, 1.0, 1.0), 2)) == [0.5, 0.0, 1.0]


def test_maximum_propagates_nan_to_the_results_check():
    def f(x):
        return np.maximum(x, math.nan)
    with pytest.raises(si.NonFiniteError):
        si.jvp(f, (0.5,), (1.0,))


def test_logaddexp_is_stable_and_exact_at_a_tie():
    # d logaddexp(a, b) / da = 1 / (1 + exp(b - a)): 1/2 at a = b; no overflow at a = 800
    _, dz = si.jvp(softplus_pair, (800.0, 800.0), (1.0, 0.0))
    assert dz == (0.5, 0.3)
    y, _ = si.jvp(softplus_pair, (800.0, 800.0), (1.0, 0.0))
    assert y[0] == pytest.approx(800.0 + math.log(2.0), rel=1e-15)


def test_norm_at_zero_reports_non_finite():
    """The 2-norm is sqrt(sum x*x): its derivative x / norm has no value at 0."""
    def f(u):
        return u * np.linalg.norm(u) + u
    with pytest.raises(si.NonFiniteError):
        si.jvp(f, (np.zeros(3),), (np.ones(3),))


def test_unselected_branch_that_is_not_finite():
    """np.where(x > 0, np.log(x), 0) at x = -1: np.log(-1) is NaN in the unselected branch,
    whose value does not reach the result, and its tangent x_dot / x = -1 is multiplied by an
    exact 0. At x = 0 that tangent is 1 / 0: times 0 it would be NaN (as with jnp.where), so
    the function raises NonFiniteError naming the statement rather than return it. The
    double where keeps the unselected branch finite, as in JAX."""
    y, dy = si.jvp(log_branch, (-1.0,), (1.0,))
    assert (float(y), dy) == (-1.0, 1.0)
    with pytest.raises(si.NonFiniteError, match="log_branch|np.where"):
        si.jvp(log_branch, (0.0,), (1.0,))
    y, dy = si.jvp(log_branch_safe, (0.0,), (1.0,))
    assert (float(y), dy) == (0.0, 1.0)
    checks.check_structured(si, log_branch_safe, (-1.0,))
    checks.check_structured(si, log_branch_safe, (2.5,))


def test_a_runtime_value_as_a_condition_means_nonzero():
    checks.check_structured(si, where_runtime_condition_nonzero, (0.6, 0.8))


def test_leaky_relu_layer_inverse_modes_against_numpy_solves():
    x = np.array([0.4, -0.8, 0.6])
    J = oracle.dense_jacobian(layer, (x,))
    h = W @ x
    np.testing.assert_allclose(J, np.diag(np.where(h > 0, 1.0, 0.1)) @ W, rtol=1e-15)
    v = np.array([0.3, -1.0, 0.7])
    np.testing.assert_allclose(checks.flatten(si.ijvp(layer, (x,), v)[1]), np.linalg.solve(J, v), rtol=1e-13)
    _, push = si.ivjp(layer, x)
    np.testing.assert_allclose(checks.flatten(push(v)), np.linalg.solve(J.T, v), rtol=1e-13)
    sign, logdet = si.slogdet(layer, (x,))[1]
    want = np.linalg.slogdet(J)
    assert sign == want[0] and logdet == pytest.approx(want[1], rel=1e-13)


def test_relu_at_a_dead_unit_is_singular():
    x = np.array([0.4, -0.8, 0.6])
    assert (W @ x)[1] < 0                           # unit 1 is dead: derivative 0
    with pytest.raises(si.SingularJacobianError) as info:
        si.ijvp(relu_layer, (x,), np.ones(3))
    assert info.value.lineno == relu_layer.__code__.co_firstlineno + 1
    with pytest.raises(si.SingularJacobianError):
        si.ivjp(relu_layer, x)[1](np.ones(3))
    with pytest.raises(si.SingularJacobianError, match="singular"):
        si.slogdet(relu_layer, (x,))
    # where every unit is alive, the inverse modes solve as NumPy does
    alive = np.array([0.5, 0.4, 0.6])
    assert np.all(W @ alive > 0)
    np.testing.assert_allclose(checks.flatten(si.ijvp(relu_layer, (alive,), np.ones(3))[1]), np.linalg.solve(W, np.ones(3)),
                               rtol=1e-13)


def test_generated_code_reads_like_the_source():
    text = si.source(pairs, "jvp")
    for piece in ("np.maximum(x, ", "np.minimum(", "np.fmax(y, ", "np.fmin(x, "):
        assert piece in text, piece
    text = si.source(leaky_where, "vjp")
    assert "= x > 0\n" in text and "np.where(" in text
    assert si.source(conditions, "jvp") == si.source(conditions, "jvp")
    assert "np.logical_and(" in si.source(conditions, "jvp")


def test_batches_match_points():
    xs, ys = np.array([0.7, -0.4, 0.2, -1.5]), np.array([-1.3, 0.9, 0.2, 0.9])
    for f in (pairs, conditions, softplus_pair, signs):
        for mode in ("jvp", "ijvp"):
            v = (np.ones(4), np.full(4, 0.5))
            y, d = checks.run_mode(f, mode, (xs, ys), v, v)
            for b in range(4):
                yb, db = checks.run_mode(f, mode, (float(xs[b]), float(ys[b])), (1.0, 0.5), (1.0, 0.5))
                np.testing.assert_allclose([np.asarray(c)[b] if np.ndim(c) else c for c in d], db, rtol=1e-14)
                np.testing.assert_allclose([np.broadcast_to(c, (4,))[b] for c in y], yb, rtol=1e-15)


def test_refusals_name_the_function():
    def where_indices(x):
        return np.where(x > 0)
    with pytest.raises(UnsupportedSyntaxError, match=r"np.where\(condition, a, b\)"):
        si.jvp(where_indices, (0.5,), (1.0,))

    def branch(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(UnsupportedSyntaxError, match="np.where"):
        si.jvp(branch, (0.5,), (1.0,))

    def spectral(u):
        return np.linalg.norm(u.reshape(2, 2), 2) * u
    with pytest.raises(UnsupportedSyntaxError, match="singular"):
        si.jvp(spectral, (np.ones(4),), (np.ones(4),))

    def equal(x):
        return np.where(x == 0.5, x, 2.0 * x)
    with pytest.raises(UnsupportedSyntaxError, match="=="):
        si.jvp(equal, (0.5,), (1.0,))


BACKEND_CASES = [(pairs, (0.7, -1.3)), (conditions, (-0.5, 0.9)), (signs, (0.6, -0.2)),
                 (layer, (np.array([0.4, -0.8, 0.6]),)), (norms, (np.array([0.3, -1.2, 0.7, 0.1]),)),
                 (softplus_pair, (0.4, -1.1)), (builtins_of, (0.3, -0.6, 1.1))]


def _agree(f, primals, backend, modes=("jvp", "ijvp", "vjp", "ivjp", "slogdet")):
    n = sum(np.size(p) for p in primals)
    v = checks.split_inputs(f, primals, np.linspace(0.5, 1.5, n))
    w = checks.shaped_like(np.linspace(-1.0, 1.0, n), oracle.evaluate(f, primals))
    for mode in modes:
        got, want = (checks.run_mode(f, mode, primals, v, w, b) for b in (backend, "python"))
        np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-14, atol=1e-15)


@pytest.mark.filterwarnings("error::s2s_invad.errors.BackendWarning")     # compiled, not run as Python
@pytest.mark.skipif(not any(shutil.which(c) for c in ("cc", "gcc", "clang")), reason="no C compiler on PATH")
@pytest.mark.parametrize("f, primals", BACKEND_CASES, ids=lambda p: getattr(p, "__name__", None) or "")
def test_backend_c_agrees_with_the_python_backend(f, primals):
    _agree(f, primals, "c")


@pytest.mark.filterwarnings("error::s2s_invad.errors.BackendWarning")     # compiled, not run as Python
@pytest.mark.parametrize("f, primals", BACKEND_CASES, ids=lambda p: getattr(p, "__name__", None) or "")
def test_backend_numba_agrees_with_the_python_backend(f, primals):
    pytest.importorskip("numba")
    _agree(f, primals, "numba")


def abs_math(x, y):
    return abs(x) + y, math.fabs(y) + x


def abs_np(x, y):
    return np.abs(x) + y, np.fabs(y) + x


@pytest.mark.parametrize("f", [abs_math, abs_np])
def test_abs_at_zero_has_derivative_one_in_both_namespaces(f):
    """d |x| = 1 for x >= 0, -1 for x < 0 (JAX's select(x >= 0, g, -g)): at x = 0 it is 1,
    in math and NumPy sources alike (and -0.0 >= 0 too)."""
    assert list(_jvp_column(f, (0.0, 0.5), 0)) == [1.0, 1.0]
    assert list(_jvp_column(f, (-0.0, -0.0), 1)) == [1.0, 1.0]
    assert list(_jvp_column(f, (-2.0, -0.5), 1)) == [1.0, -1.0]
    checks.check_structured(si, f, (0.7, -0.4))


def looped(x, y):
    for i in range(200):
        x, y = np.maximum(x, 0.5 * x) + 0.01 * y, y + 0.01 * np.where(x > 0, x, 0.1 * x)
    return x, y


def test_loops_kept_as_loops_and_recomputed_sweeps():
    text = si.source(looped, "jvp")
    assert "for i in range(200):" in text and "np.maximum(" in text
    checks.check_structured(si, looped, (0.3, -0.2), memory=("store", "recompute"))
    checks.check_structured(si, layer, (np.array([0.4, -0.8, 0.6]),), memory=("store", "recompute"))
    checks.check_structured(si, conditions, (-0.5, 0.9), memory=("store", "recompute"))


def returns_a_comparison(x, y):
    return x < y, y


def test_a_comparison_returned_is_a_constant_output():
    """x < y as a result: True or False (1.0 or 0.0 from backend c), tangent 0; its row of
    J is zero, so the inverse modes refuse it at transform time."""
    y, dy = si.jvp(returns_a_comparison, (0.3, 0.5), (1.0, 1.0))
    assert y == (True, 0.5) and dy == (0.0, 1.0)
    with pytest.raises(si.NotInvertibleError, match="zero row"):
        si.ijvp(returns_a_comparison, (0.3, 0.5), (1.0, 1.0))


def clip_method(u):
    return u.clip(-0.5, 0.8) + 0.5 * u[::-1]


def test_clip_method_and_the_list_of_known_functions():
    checks.check_structured(si, clip_method, (np.array([0.2, -0.9, 1.3]),))

    def unknown(u):
        return np.linalg.tensorsolve(u, u)
    with pytest.raises(UnsupportedSyntaxError, match="np.linalg.tensorsolve is not supported.* norm"):
        si.jvp(unknown, (np.ones(2),), (np.ones(2),))

    def unknown_numpy(x):
        return np.nanmax(x)
    with pytest.raises(UnsupportedSyntaxError, match="np.nanmax is not supported.*logaddexp.*maximum.*where"):
        si.jvp(unknown_numpy, (0.5,), (1.0,))


def where_indices_of_a_constant(u):
    (picked,) = np.where(np.array([1.0, 0.0, 2.0]) > 0.5)
    return u[picked] * 2.0


def test_where_of_a_transform_time_mask_gives_indices():
    y, _ = si.jvp(where_indices_of_a_constant, (np.array([0.3, -0.4, 0.5]),), (np.ones(3),))
    np.testing.assert_array_equal(y, [0.6, 1.0])


def test_bitwise_operators_take_comparisons_only():
    def invert_float(x):
        return np.where(~x, x, 2.0 * x)
    with pytest.raises(UnsupportedSyntaxError, match="not a comparison"):
        si.jvp(invert_float, (0.5,), (1.0,))

    def logical_of_floats(x, y):
        return np.where(np.logical_and(x, y - 1.0), x, y), y     # nonzero, as NumPy reads floats
    checks.check_structured(si, logical_of_floats, (0.5, 0.25))
    assert si.jvp(logical_of_floats, (0.5, 1.0), (1.0, 2.0))[1] == (2.0, 2.0)   # y - 1 == 0: the y branch


def heaviside_pivot(x, h):
    return x + 0.1 * h, np.heaviside(x, h) + 0.5 * x


def test_slogdet_with_a_condition_as_pivot():
    """d heaviside(x, h) / dh is x == 0 (True or False), a pivot here. At x = 0:
    J = [[1, 0.1], [0.5, 1]], det 0.95; at x = 0.3: J = [[1, 0.1], [0.5, 0]], det -0.05."""
    sign, logdet = si.slogdet(heaviside_pivot, (0.0, 0.4))[1]
    assert sign == 1.0 and logdet == pytest.approx(math.log(0.95), rel=1e-14)
    sign, logdet = si.slogdet(heaviside_pivot, (0.3, 0.4))[1]
    assert sign == -1.0 and logdet == pytest.approx(math.log(0.05), rel=1e-13)
    for backend in ("c", "numba"):
        if backend == "c" and not any(shutil.which(c) for c in ("cc", "gcc", "clang")):
            continue
        if backend == "numba":
            pytest.importorskip("numba")
        got = si.slogdet(heaviside_pivot, (0.0, 0.4), backend=backend)[1]
        assert got[0] == 1.0 and got[1] == pytest.approx(math.log(0.95), rel=1e-14)
