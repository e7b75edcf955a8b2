"""np.pad in stencils, as users write boundary conditions: every mode s2s_invad takes,
checked in every mode (and slogdet) against the oracle's complex-step Jacobian of the same
function, and the primal against NumPy running it."""

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import UnsupportedSyntaxError

import checks
import oracle

M = 4


def dirichlet(u):
    p = np.pad(u, 1)
    return p[:-2] - 2.0 * u + p[2:] + 0.5 * np.exp(u)


def boundary_value(u):
    p = np.pad(u, (1, 1), constant_values=(1.0, -0.5))
    return p[:-2] - 2.5 * u + p[2:] + np.sin(u)


def periodic(u):
    p = np.pad(u, 1, mode="wrap")
    return u + 0.1 * (p[:-2] - 2.0 * u + p[2:]) - 0.05 * u ** 3


def neumann(u):
    p = np.pad(u, 1, "edge")
    return 3.0 * u + p[:-2] - p[2:] * np.tanh(u)


def wide(u):
    p = np.pad(u, (2, 1), mode="reflect")
    q = np.pad(u, (1, 2), mode="symmetric", reflect_type="odd")
    return 4.0 * u + 0.3 * p[:-3] * q[3:] + np.cos(p[1:-2])


def grid(u):
    U = u.reshape(M, M)
    P = np.pad(U, 1)
    R = P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.5 * U + np.exp(U)
    return R.ravel()


def rows_only(u):
    U = u.reshape(M, M)
    P = np.pad(U, ((0, 0), (1, 1)), mode="wrap")
    return (P[:, :-2] + P[:, 2:] - 3.0 * U + U ** 2).ravel()


CASES = [(dirichlet, 6), (boundary_value, 5), (periodic, 7), (neumann, 6), (wide, 6), (grid, M * M),
         (rows_only, M * M)]


@pytest.mark.parametrize("f, n", CASES, ids=[f.__name__ for f, _ in CASES])
def test_padded_stencils_in_every_mode(f, n):
    x = np.linspace(-0.4, 0.6, n) + 0.05 * np.sin(np.arange(n))
    y, _ = si.jvp(f, (x,), (np.ones(n),))
    np.testing.assert_allclose(y, f(x), rtol=1e-14, atol=1e-14)     # NumPy running the function
    checks.check_structured(si, f, (x,))


def test_a_runtime_boundary_value_is_differentiated():
    def f(u):
        return np.pad(u[1:], (1, 0), constant_values=u[0] ** 2) * np.exp(u)
    x = np.array([0.3, -0.2, 0.5, 0.1])
    J = oracle.dense_jacobian(f, (x,))
    y, (x_dot,) = si.ijvp(f, (x,), np.ones(4))
    np.testing.assert_allclose(y, f(x), rtol=1e-14)
    np.testing.assert_allclose(J @ x_dot, np.ones(4), rtol=1e-10, atol=1e-12)


def test_batches_of_padded_stencils():
    xs = np.stack([np.linspace(-0.3, 0.4, 6) * s for s in (1.0, 0.5, -0.7)], axis=1)   # (6, 3): 3 points
    y, (x_dot,) = si.ijvp(dirichlet, (xs,), np.ones((6, 3)))
    for b in range(3):
        J = oracle.dense_jacobian(dirichlet, (xs[:, b],))
        np.testing.assert_allclose(y[:, b], dirichlet(xs[:, b]), rtol=1e-14)
        np.testing.assert_allclose(x_dot[:, b], np.linalg.solve(J, np.ones(6)), rtol=1e-10)


def padded_maximum(u):
    return np.pad(u, 1, mode="maximum")[1:-1] * u


def padded_mean(u):
    return np.pad(u, 1, "mean")[1:-1] * u


def padded_ramp(u):
    return np.pad(u, 1, mode="linear_ramp", end_values=0.0)[1:-1] * u


@pytest.mark.parametrize("f, mode", [(padded_maximum, "maximum"), (padded_mean, "mean"), (padded_ramp, None)])
def test_modes_computed_from_the_elements_are_refused_at_their_line(f, mode):
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(f, (np.ones(3),), (np.ones(3),))
    text = str(info.value)
    if mode is None:                        # end_values= is refused before the mode
        assert "np.pad's keyword end_values= is not supported" in text
    else:
        assert f"np.pad(mode={mode!r}) is not supported" in text and "np.concatenate" in text
    assert "test_pad.py" in text and f"line {f.__code__.co_firstlineno + 1}" in text


def test_backend_c_runs_a_padded_stencil():
    pytest.importorskip("ctypes")
    from s2s_invad import errors, runtime_c
    try:
        runtime_c.compiler()
    except errors.BackendError:
        pytest.skip("no C compiler")
    x = np.linspace(0.1, 0.9, 12)
    J = oracle.dense_jacobian(periodic, (x,))
    w = np.cos(np.arange(12.0))
    y, back = si.ivjp(periodic, x, backend="c")
    np.testing.assert_allclose(back(w), np.linalg.solve(J.T, w), rtol=1e-10)
