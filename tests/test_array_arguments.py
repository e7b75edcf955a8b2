"""NumPy arrays as arguments mean what they mean in the user's own function.

The API reads a 1-D array for a parameter the source never indexes as a batch of points,
the convenient reading for functions written on scalars. Where NumPy, running the user's
function on that array, would treat it as one vector (the body combines it elementwise
with a vector, reduces it, or stacks it; or the same call passes another vector parameter
unbatched) it is a vector. And a 2-D array where the source multiplies the parameter as a
matrix (``A @ x``) is refused, not read as a batch of vectors. Every number here is
checked against NumPy running the function itself and the oracle's complex-step Jacobian.
"""

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import ArgumentError

import checks
import oracle

W = np.array([2.0, 1.0, 0.5])
LOGS = np.array([0.1, -0.2, 0.3])
BIAS = np.array([0.5, 0.0, -0.5])
P = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
M = np.array([[1.0, 0.5], [0.2, 1.0]])
X = np.array([0.3, 0.5, 0.7])


def weighted(x):
    return np.sum(W * x)


def stacked(x):
    return np.hstack([x, x ** 2]).sum()


def ramp(x):
    return x * np.linspace(0.0, 1.0, 3) + np.full(3, 2.0) * x ** 2


def twoargs(a, b):
    return a, b * np.exp(np.sum(W * a))


def actnorm(x):
    y = x * np.exp(LOGS) + BIAS
    return P @ np.tanh(y) + 0.1 * y


def elementwise(x, y):
    return x * y, x + np.sin(y)


def listed(x):
    return np.sum([x, 2.0 * x]) + np.array([x, x * x]).ravel()[4]


def held(x):
    z = (x, np.sin(x))
    return np.exp(x) * np.mean([x, 2.0 * x]) + np.sum(z) + np.array([x, 2.0 * x])[1, 2]


def pendulum(q, p):
    return np.array([p, -np.sin(q) - 0.1 * p])


def layer(x, A):
    return np.tanh(A @ x) + x


def mixes(u):
    return np.tanh(M @ u) + u


@pytest.mark.parametrize("f", [weighted, stacked, ramp, listed], ids=lambda f: f.__name__)
def test_a_reduced_or_combined_array_is_one_vector(f):
    y, y_dot = si.jvp(f, (X,), (np.array([1.0, -2.0, 0.5]),))
    assert np.allclose(y, f(X), rtol=1e-15, atol=0)
    J = oracle.dense_jacobian(f, (X,))
    assert np.allclose(np.ravel(y_dot), J @ [1.0, -2.0, 0.5], rtol=1e-13, atol=1e-15)
    _, back = si.vjp(f, X)
    w = np.ones(J.shape[0]) if J.shape[0] > 1 else 1.0
    (x_bar,) = back(w)
    assert np.allclose(x_bar, np.ravel(J.T @ np.atleast_1d(w)), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("f,primals", [(twoargs, (X, np.array([1.0, 2.0, 3.0]))), (actnorm, (X,)),
                                       (held, (X,))], ids=["twoargs", "actnorm", "held in lists"])
def test_every_mode_when_arrays_are_vectors(f, primals):
    checks.check_structured(si, f, primals)


def test_elementwise_functions_still_take_batches_of_points():
    xs, ys = np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, -1.0, 0.5, 2.0])
    (p, q), (p_dot, q_dot) = si.jvp(elementwise, (xs, ys), (np.ones(4), np.zeros(4)))
    assert np.allclose(p, xs * ys) and np.allclose(q, xs + np.sin(ys))
    assert np.allclose(p_dot, ys) and np.allclose(q_dot, 1.0)
    one = si.jvp(elementwise, (0.2, -1.0), (1.0, 0.0))
    assert np.allclose([one[0][0], one[1][0]], [p[1], p_dot[1]])


def test_a_matrix_argument_multiplied_as_a_matrix_is_refused_with_what_to_do():
    x = np.array([0.3, 0.6])
    with pytest.raises(ArgumentError) as info:
        si.ijvp(layer, (x, M), np.ones(2), wrt="x")
    text = str(info.value)
    assert "'A'" in text and "shape (2, 2)" in text and "test_array_arguments.py:" in text and "closure" in text
    si.jvp(layer, (x, np.array([1.0, 2.0])), (np.ones(2),), wrt="x")     # A a vector: a dot product
    with pytest.raises(ArgumentError):          # and after that call too
        si.jvp(layer, (x, M), (np.ones(2),), wrt="x")

    def make(A):
        def bound(x):
            return np.tanh(A @ x) + x
        return bound
    _, (x_dot,) = si.ijvp(make(M), (x,), np.ones(2))
    J = np.eye(2) + (1 - np.tanh(M @ x) ** 2)[:, None] * M
    assert np.allclose(x_dot, np.linalg.solve(J, np.ones(2)), rtol=1e-14)


def test_a_batch_of_vectors_on_the_right_of_a_matrix_stays_a_batch():
    U = np.array([[0.3, 0.1, 0.2], [0.6, -0.2, 0.4]])
    y, y_dot = si.jvp(mixes, (U,), (np.ones((2, 3)),))
    assert np.allclose(y, mixes(U), rtol=1e-15)
    for b in range(3):
        J = oracle.dense_jacobian(mixes, (U[:, b],))
        assert np.allclose(y_dot[:, b], J @ np.ones(2), rtol=1e-13)


def test_a_vector_built_from_batches_of_scalars_stays_a_batch():
    """np.array([p, q]) of scalar parameters given 1-D arrays: NumPy builds (2, B), the
    batch of vector results, so the reading as a batch agrees (nothing reduces across it)."""
    qs, ps = np.array([0.1, 0.5, -1.0]), np.array([1.0, 0.0, 2.0])
    y, y_dot = si.jvp(pendulum, (qs, ps), (np.ones(3), np.zeros(3)))
    assert y.shape == (2, 3) and np.allclose(y, pendulum(qs, ps))
    assert np.allclose(y_dot, [np.zeros(3), -np.cos(qs)])


def stacked_plus(x0, x1, x2):
    v = np.array([x0, x2]) + 0.5 * np.sinh(0.02 * x1)
    return v[0], x1, v[1]


def test_a_vector_built_from_batches_plus_a_batch_stays_a_batch():
    """np.array([x0, x2]) + g(x1) with batches of scalars: NumPy adds g(x1) point by point
    ((2, B) + (B,)), as the batch reading does, so x1 stays a batch (a fuzz regression:
    x1 was made a vector and slogdet came back as one number for the whole batch)."""
    xs = [np.linspace(0.1, 0.5, 5) + k for k in range(3)]
    sign, logdet = si.slogdet(stacked_plus, tuple(xs))[1]
    assert np.shape(logdet) == (5,)
    for b in range(5):
        J = oracle.dense_jacobian(stacked_plus, tuple(float(x[b]) for x in xs))
        s, l = np.linalg.slogdet(J)
        assert sign[b] == s and abs(logdet[b] - l) < 1e-13


def test_a_wrong_count_for_many_parameters_names_the_ends_only():
    names = [f"u{i}" for i in range(300)]
    f = si.from_source(f"def many({', '.join(names)}):\n    return {' + '.join(names)}\n", "many")
    with pytest.raises(ArgumentError) as info:
        si.jvp(f, tuple([1.0] * 299), tuple([1.0] * 299))
    text = str(info.value)
    assert "expected 300 value(s) (u0, u1, u2, u3, u4, u5, ..., u298, u299), got 299" in text and len(text) < 300
