"""NumPy functions that move, copy or combine elements by + - * / (np.tile, np.repeat,
np.diag, np.trace, np.einsum, np.convolve, np.kron, np.cross, np.polyval, np.var, np.std...)
and the unary functions atanh, asinh, acosh, cbrt, erf and erfc: each in every mode and slogdet
against the oracle's complex-step Jacobian of the user's function, the primal against
NumPy running it, methods against the functions, backend c against the Python backend.
The rules' accuracy at extreme arguments is in tests/test_rules.py."""

import math

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import EvaluationError, UnsupportedSyntaxError

import checks
import oracle

W = np.array([[1.0, 0.2, 0.0, 0.1], [0.0, 1.5, 0.3, 0.0], [0.2, 0.0, 1.1, 0.0], [0.0, 0.1, 0.0, 0.9]])


def tiles(x):
    return x + 0.01 * np.tile(x[:2], 2) + 0.1 * np.repeat(x[::2], 2)


def diagonals(x):
    return x + 0.1 * np.trace(W) * x + 0.1 * np.diag(W) * x + 0.1 * np.diag(np.outer(x, x)) \
        + 0.05 * np.diag(np.diag(x)) + 0.02 * np.trace(np.outer(x, x))


def contractions(x):
    return x + 0.1 * np.einsum("ij,j->i", W, x) + 0.05 * np.einsum("i,i->", x, x) \
        + 0.1 * np.tensordot(W, x, axes=1)


def stencil(u):
    """A discrete Laplacian by convolution, as a PDE user writes it."""
    return u - 0.2 * np.convolve(u, [1.0, -2.0, 1.0], mode="same") + 0.1 * np.correlate(u, [0.5], mode="valid")


def spreads(x):
    return x + 0.01 * np.std(x) + 0.02 * np.var(x) + 0.03 * np.std(x, ddof=1)


def spread_methods(x):
    return x + 0.01 * x.std() + 0.02 * x.var() + 0.03 * x.std(ddof=1)


def polynomial(x):
    return x + 0.1 * np.polyval([0.5, -1.0, 2.0], x) + 0.05 * np.roll(x, 1)


def crossed(x):
    return np.concatenate([x[:3] + 0.1 * np.cross(x[:3], [1.0, 2.0, 3.0]), x[3:]])


def products(x):
    return x + 0.1 * np.kron(x[:2], [1.0, 2.0]) + 0.1 * np.cumprod(x) + 0.1 * np.triu(np.outer(x, x)).sum(axis=0)


def rotated(x):
    m = x.reshape(2, 2)
    return (m + 0.1 * np.rot90(m) + 0.1 * np.fliplr(m) + 0.1 * m.T.trace()).ravel() + 0.1 * np.tensordot(W, x, axes=1)


def averages(x):
    return x + 0.1 * np.average(x, weights=[1.0, 2.0, 3.0, 4.0]) + 0.1 * np.trapezoid(x) \
        + 0.1 * np.take(x, [3, 2, 1, 0]) + 0.1 * np.squeeze(np.expand_dims(x, 0))


def hyperbolic(x):
    return np.arctanh(x / 2) + np.arcsinh(x) + np.arccosh(x + 2) + np.cbrt(x + 3) + 0.1 * np.roll(x, 1)


def hyperbolic_math(a, b):
    return math.atanh(a / 2) + math.cbrt(b), math.asinh(a) * math.acosh(b + 2)


X = np.array([0.5, 1.2, -0.7, 0.3])
VECTOR_FUNCTIONS = [tiles, diagonals, contractions, stencil, spreads, polynomial, crossed, products, rotated,
                    averages, hyperbolic]


@pytest.mark.parametrize("f", VECTOR_FUNCTIONS, ids=lambda f: f.__name__)
def test_every_mode_against_the_oracle(f):
    y, _ = si.jvp(f, (X,), (np.ones(4),))
    np.testing.assert_allclose(y, f(X), rtol=1e-14, atol=1e-15)
    checks.check_structured(si, f, (X,))


def test_math_spellings_against_the_oracle():
    y, _ = si.jvp(hyperbolic_math, (0.3, 0.4), (1.0, 0.0))
    assert y == pytest.approx(hyperbolic_math(0.3, 0.4), rel=1e-15)
    checks.check_structured(si, hyperbolic_math, (0.3, 0.4))
    checks.check_structured(si, hyperbolic_math, (-1.1, -0.5))    # cbrt of a negative number


def test_array_methods_give_what_the_functions_give():
    """x.std() and x.var() are np.std(x) and np.var(x) (the oracle, in complex numbers,
    cannot run the methods: NumPy's var conjugates)."""
    v = np.linspace(-1.0, 1.0, 4)
    for mode in ("jvp", "ijvp"):
        got = getattr(si, mode)(spread_methods, (X,), (v,) if mode == "jvp" else v)
        want = getattr(si, mode)(spreads, (X,), (v,) if mode == "jvp" else v)
        np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-15)
    np.testing.assert_allclose(si.jvp(spread_methods, (X,), (v,))[0], spread_methods(X), rtol=1e-15)


def test_generated_code_spells_the_source_namespace():
    text = si.source(spread_methods, "jvp", shapes={"x": 4})
    assert "np.sqrt(" in text and "import numpy\n" not in text
    assert "math.cbrt(b)" in si.source(hyperbolic_math, "jvp")


def test_variance_of_too_few_values_is_refused_at_its_line():
    def too_few(x):
        return x + np.std(x[:1], ddof=1)
    with pytest.raises(EvaluationError, match="ddof=1.*line"):
        si.jvp(too_few, (X,), (np.ones(4),))


def test_einsum_needs_its_subscripts_first():
    def backwards(x):
        return np.einsum(x, [0])
    with pytest.raises(UnsupportedSyntaxError, match="subscripts"):
        si.jvp(backwards, (X,), (np.ones(4),))


def test_singular_points_raise_the_named_errors():
    def cube_root(x):
        return np.cbrt(x) + 0.0 * np.roll(x, 1)
    with pytest.raises(si.NonFiniteError):                 # d cbrt at 0 is infinite
        si.jvp(cube_root, (np.array([0.0, 1.0]),), (np.ones(2),))


@pytest.mark.parametrize("f, primals", [(hyperbolic_math, (0.3, -0.4)), (hyperbolic, (X,)), (stencil, (X,))],
                         ids=["math", "numpy", "stencil"])
def test_backend_c_agrees_with_the_python_backend(f, primals):
    _agrees_with_python(f, primals, "c")


def _agrees_with_python(f, primals, backend, atol=1e-15):
    n = sum(np.size(p) for p in primals)
    v = checks.split_inputs(f, primals, np.linspace(0.5, 1.5, n))
    w = checks.shaped_like(np.linspace(-1.0, 1.0, n), oracle.evaluate(f, primals))
    for mode in ("jvp", "ijvp", "vjp", "ivjp"):
        got, want = (checks.run_mode(f, mode, primals, v, w, b) for b in (backend, "python"))
        np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-14, atol=atol)



def test_backend_numba_compiles_cbrt_and_agrees():
    """math.cbrt is a Python 3.11 function numba does not type: the backend calls NumPy's
    cbrt for it, so the function is compiled (no fallback warning) with the same results."""
    pytest.importorskip("numba")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", si.BackendWarning)
        got = si.ijvp(hyperbolic_math, (0.3, -0.4), (1.0, 0.5), backend="numba")
    want = si.ijvp(hyperbolic_math, (0.3, -0.4), (1.0, 0.5))
    np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-15)


def normal_cdf(a, b):
    return 0.5 * (1 + math.erf(a / math.sqrt(2))) + b, math.erfc(b) * a


@pytest.mark.parametrize("point", [(0.3, -0.4), (4.5, 2.0), (-6.0, 0.1)])
def test_erf_and_erfc_against_the_oracle(point):
    y, _ = si.jvp(normal_cdf, point, (1.0, 0.0))
    assert y == pytest.approx(normal_cdf(*point), rel=1e-15)
    checks.check_structured(si, normal_cdf, point)


@pytest.mark.parametrize("backend", ["c", "numba"])
def test_erf_compiled_agrees_with_python(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    _agrees_with_python(normal_cdf, (0.3, -0.4), backend, atol=0.0)


def test_math_erf_of_an_array_says_numpy_has_none():
    def erf_of_vector(x):
        return math.erf(x) + np.roll(x, 1)
    with pytest.raises(EvaluationError, match=r"NumPy has no erf: apply it to each element"):
        si.jvp(erf_of_vector, (X,), (np.ones(4),))
