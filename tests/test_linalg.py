"""np.linalg besides norm (tests/test_nonsmooth.py): functions of constant matrices run in
NumPy at transform time, np.linalg.solve(A, b) with a constant A and a runtime b is
inv(A) @ b, multi_dot and matrix_power of runtime matrices are products; each in every mode
and slogdet against the oracle's complex-step Jacobian of the user's function, the primal
against NumPy running it, and the refusals of runtime factorisations at their lines."""

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import EvaluationError, UnsupportedSyntaxError

import checks

M = np.array([[2.0, 0.3, 0.0], [0.1, 1.5, 0.2], [0.0, 0.4, 1.2]])
X = np.array([0.3, -0.5, 0.8])


def mass_matrix(x):
    """A Newton residual with a constant mass matrix: M^-1 x + g(x)."""
    return np.linalg.solve(M, x) + 0.1 * np.sin(x)


def constants(x):
    chol = np.linalg.cholesky(M @ M.T)
    inverse = np.linalg.inv(M)
    _, logdet = np.linalg.slogdet(M)
    return inverse @ x + 0.01 * logdet * x + 0.1 * (chol @ np.tanh(x)) + 0.01 * np.linalg.det(M) * x


def powers(x):
    a = np.outer(x, [0.1, 0.2, 0.1]) + np.eye(3)
    return 0.1 * np.linalg.matrix_power(a, 3) @ x + x + 0.05 * np.linalg.multi_dot([M, a, x])


def spectral(x):
    w = np.linalg.eigvalsh(M + M.T)
    return x * w + 0.1 * np.linalg.solve(M, [1.0, 2.0, 3.0]) * np.cos(x)


@pytest.mark.parametrize("f", [mass_matrix, constants, powers, spectral], ids=lambda f: f.__name__)
def test_every_mode_against_the_oracle(f):
    y, _ = si.jvp(f, (X,), (np.ones(3),))
    np.testing.assert_allclose(y, f(X), rtol=1e-13)
    checks.check_structured(si, f, (X,))


def test_the_solve_is_the_inverse_of_the_matrix_in_every_inverse_mode():
    """ijvp of x -> solve(M, x) is M v: an independent check of the constant inverse."""
    def linear(x):
        return np.linalg.solve(M, x)
    v = np.array([1.0, -2.0, 0.5])
    _, (u,) = si.ijvp(linear, (X,), v)
    np.testing.assert_allclose(u, M @ v, rtol=1e-14)
    _, (sign, logdet) = si.slogdet(linear, (X,))
    want = np.linalg.slogdet(np.linalg.inv(M))
    assert sign == want[0] and logdet == pytest.approx(want[1], rel=1e-13)


def test_runtime_factorisations_are_refused_at_their_line():
    def runtime_matrix(x):
        a = np.outer(x, x) + np.eye(3)
        return np.linalg.solve(a, x)

    def runtime_inverse(x):
        return np.linalg.inv(np.diag(x)) @ x

    for f, what in ((runtime_matrix, "np.linalg.solve with a runtime matrix"),
                    (runtime_inverse, "np.linalg.inv of runtime values")):
        with pytest.raises(UnsupportedSyntaxError, match=what) as info:
            si.jvp(f, (X,), (np.ones(3),))
        assert "test_linalg.py" in str(info.value) and "line" in str(info.value)


def test_a_singular_constant_matrix_fails_at_transform_time():
    def singular(x):
        return np.linalg.solve(np.zeros((3, 3)), x)
    with pytest.raises(EvaluationError, match="Singular matrix"):
        si.jvp(singular, (X,), (np.ones(3),))
