"""Batched evaluation: NumPy-namespace sources run elementwise on arrays in every mode.

Reference: the same call point by point with scalars, and the independent dense oracle.
"""

import numpy as np
import pytest

import s2s_invad as si
from batch_functions import (MIX, calls_math_too, constant_block, coupling2, identity_block, lump2, lump4, lump5,
                             reads_math_pi, scalar_only, singular_at_zero)
from modules import run_mode
from oracle import dense_jacobian

FUNCTIONS = [coupling2, lump2, lump5]


run = run_mode


def dense_answer(f, mode, x, v):
    jac = dense_jacobian(f, x)
    return {"jvp": lambda: jac @ v, "vjp": lambda: jac.T @ v, "ijvp": lambda: np.linalg.solve(jac, v),
            "ivjp": lambda: np.linalg.solve(jac.T, v),
            "slogdet": lambda: np.array(np.linalg.slogdet(jac))}[mode]()


def points(n, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = tuple(rng.uniform(0.2, 0.9, batch) for _ in range(n))
    v = tuple(rng.normal(size=batch) for _ in range(n))
    return x, v


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
def test_batch_matches_points_and_oracle(f, mode):
    n = f.__code__.co_argcount
    x, v = points(n, batch=6)
    batched = np.array(run(f, mode, x, v))
    for b in range(6):
        xb = tuple(float(c[b]) for c in x)
        vb = tuple(float(c[b]) for c in v)
        pointwise = np.array(run(f, mode, xb, vb))
        assert np.allclose(batched[:, b], pointwise, rtol=1e-13, atol=1e-13)
        assert np.allclose(pointwise, dense_answer(f, mode, xb, np.array(vb)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["jvp", "ijvp", "vjp", "ivjp"])
def test_mixed_scalar_and_array_arguments(mode):
    x, v = points(3, batch=4, seed=1)
    x = (x[0], 0.6, x[2])                       # a scalar broadcasts against the batch
    batched = np.array([np.broadcast_to(c, (4,)) for c in run(lump2, mode, x, v)])
    for b in range(4):
        xb = tuple(float(np.broadcast_to(c, (4,))[b]) for c in x)
        vb = tuple(float(c[b]) for c in v)
        assert np.allclose(batched[:, b], run(lump2, mode, xb, vb), rtol=1e-13)


@pytest.mark.parametrize("batch", [1, 0])
@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_batch_of_one_and_empty_batch(f, batch):
    n = f.__code__.co_argcount
    x, v = points(n, batch=batch)
    for mode in ("jvp", "vjp", "ijvp", "ivjp"):
        out = run(f, mode, x, v)
        assert all(np.shape(c) == (batch,) for c in out)


def test_singular_point_in_batch_names_first_bad_index():
    x = (np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, 1.0, 0.0]))
    for call in (lambda: si.ijvp(singular_at_zero, x, x), lambda: si.ivjp(singular_at_zero, *x)[1](x)):
        with pytest.raises(si.SingularJacobianError) as info:
            call()
        assert info.value.index == 1
        assert "batch index 1" in str(info.value)
        assert info.value.lineno == singular_at_zero.__code__.co_firstlineno + 1


def test_singular_big_lump_in_batch():
    a = np.array([0.3, 0.25, 0.5])
    x = (a, np.array([0.4, 0.25, 0.2]), np.array([0.5, -0.75, 0.1]), np.array([0.2, 0.25, 0.7]))  # exact in binary
    for call in (lambda: si.ijvp(lump4, x, x), lambda: si.ivjp(lump4, *x)[1](x)):
        with pytest.raises(si.SingularJacobianError) as info:      # a + b + c + d = 0 at index 1
            call()
        assert info.value.index == 1
        assert info.value.lineno == lump4.__code__.co_firstlineno + 1


def test_singular_big_lump_at_one_point():
    x = (0.25, 0.5, 0.75, -1.5)                   # a + b + c + d = 0 exactly in binary
    assert sum(x) == 0.0
    for call in (lambda: si.ijvp(lump4, x, x), lambda: si.ivjp(lump4, *x)[1](x)):
        with pytest.raises(si.SingularJacobianError) as info:
            call()
        assert info.value.index is None
        assert info.value.lineno == lump4.__code__.co_firstlineno + 1


@pytest.mark.parametrize("solver", ["lapack gufunc", "numpy.linalg.solve"])
def test_point_solve_of_a_big_lump(monkeypatch, solver):
    """One point's k = 4 solve, by the fast gufunc and by the fallback: J x_dot = v, and a
    singular block raises the named error (not a warning, not NaN)."""
    from s2s_invad import runtime
    if solver == "numpy.linalg.solve":
        monkeypatch.setattr(runtime, "_solve_point", np.linalg.solve)
    point, v = (0.3, 0.7, -0.2, 0.4), (1.0, -0.5, 0.25, 2.0)
    _, x_dot = si.ijvp(lump4, point, v)
    np.testing.assert_allclose(dense_jacobian(lump4, point) @ np.array(x_dot), v, rtol=1e-12, atol=1e-14)
    with pytest.raises(si.SingularJacobianError):
        si.ijvp(lump4, (0.25, 0.5, 0.75, -1.5), v)


def test_big_lump_with_scalars_and_arrays_mixed():
    """The k = 4 solve gets scalar entries next to array entries: it broadcasts them."""
    a = np.array([0.3, 0.7, 1.1])
    x = (a, 0.4, 0.5, 0.2)
    v = (1.0, np.array([0.5, -1.0, 2.0]), 0.25, -0.5)
    _, got = si.ijvp(lump4, x, v)
    for i in range(len(a)):
        point = tuple(float(np.broadcast_to(t, a.shape)[i]) for t in x)
        tangent = tuple(float(np.broadcast_to(t, a.shape)[i]) for t in v)
        _, want = si.ijvp(lump4, point, tangent)
        np.testing.assert_allclose([g[i] for g in got], want, rtol=1e-13, atol=1e-15)
        J = dense_jacobian(lump4, point)
        np.testing.assert_allclose(J @ np.array(want), tangent, rtol=1e-12, atol=1e-14)


def test_math_source_refuses_arrays_with_advice():
    x = (np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    with pytest.raises(si.ArgumentError, match="np.<fn>"):
        si.jvp(scalar_only, x, x)


def _each_point(f, mode, x, v):
    """Run ``mode`` on a batch and compare each point with the oracle (x, v: tuples of arrays
    whose last axis is the batch)."""
    batch = np.shape(x[0])[-1]
    got = run(f, mode, x, v[0] if len(v) == 1 and mode in ("vjp", "ijvp") else v)
    got = got if isinstance(got, tuple) else (got,)
    for b in range(batch):
        xb = tuple(np.asarray(t)[..., b] for t in x)
        vb = np.concatenate([np.ravel(np.asarray(t)[..., b]) for t in v])
        want = dense_answer(f, mode, tuple(xb), vb)
        gb = np.concatenate([np.ravel(np.broadcast_to(g, np.shape(g)[:-1] + (batch,))[..., b]) for g in got])
        np.testing.assert_allclose(gb, want, rtol=1e-12, atol=1e-14, err_msg=f"{mode} at point {b}")


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
def test_constant_lump_block_with_batched_right_hand_sides(mode):
    """A lump whose block A is the same matrix at every point (W @ u) on a batch: the
    right-hand sides are arrays although A is not (runtime.solve took the one-point path)."""
    rng = np.random.default_rng(3)
    u, du = rng.uniform(-1, 1, (4, 3)), rng.normal(size=(4, 3))
    _each_point(constant_block, mode, (u,), (du,))


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
def test_structured_lump_with_identity_block_on_a_batch(mode):
    """A = I: its generated factorisation is empty (slogdet wrote an empty `with` block)."""
    rng = np.random.default_rng(4)
    x = (rng.uniform(-1, 1, (6, 3)), rng.uniform(-1, 1, 3))
    v = (rng.normal(size=(6, 3)), rng.normal(size=3))
    _each_point(identity_block, mode, x, v)


def test_slogdet_of_a_batch_has_the_batch_shape_when_det_is_constant():
    for f, x in ((coupling2, (np.array([0.1, 0.2, 0.3]), 0.5)), (constant_block, (np.ones((4, 5)),))):
        _, (sign, logdet) = si.slogdet(f, x)
        batch = np.broadcast_shapes(*(np.shape(t)[-1:] for t in x))
        assert np.shape(sign) == batch and np.shape(logdet) == batch, (f.__name__, sign, logdet)
    _, (sign, logdet) = si.slogdet(constant_block, (np.ones(4),))
    assert np.ndim(sign) == 0 and np.ndim(logdet) == 0
    want = np.linalg.slogdet(MIX)
    assert sign == want[0] and abs(logdet - want[1]) < 1e-14


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
def test_numpy_source_reading_math_pi_runs_on_arrays(mode):
    """math only for a constant: the derivative rules must not bring in math.copysign."""
    x = (np.array([0.3, 0.5, 0.9]), np.array([0.2, 0.7, 0.4]))
    v = (np.array([1.0, -0.5, 0.3]), np.array([0.2, 0.1, -1.0]))
    _each_point(reads_math_pi, mode, x, v)


def test_source_calling_math_on_runtime_values_refuses_arrays():
    x = (np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    for call in (lambda: si.jvp(calls_math_too, x, x), lambda: si.vjp(calls_math_too, *x),
                 lambda: si.slogdet(calls_math_too, x)):
        with pytest.raises(si.ArgumentError, match="math.<fn>"):
            call()
    y, y_dot = si.jvp(calls_math_too, (0.1, 0.3), (1.0, 0.0))         # one point is fine
    np.testing.assert_allclose(y_dot, dense_jacobian(calls_math_too, (0.1, 0.3)) @ [1.0, 0.0], rtol=1e-14)
