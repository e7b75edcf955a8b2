"""Lambdas, as JAX users pass them (``si.jvp(lambda x: f(x, p), ...)``): the lambda's own
expression is differentiated, two lambdas on one line are told apart (by column, in the
transform and in the disk cache), and what cannot be read says so. References: the
complex-step oracle on a def with the same body, and NumPy running the lambda."""

import math

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.back import cache

import checks
import oracle

SCALE = 0.7

pair = lambda x, y: (x * y + math.sin(x), x - SCALE * y ** 2)  # noqa: E731


def pair_def(x, y):
    return x * y + math.sin(x), x - SCALE * y ** 2


def layer_def(x):
    return np.tanh(x) + 2.0 * x + SCALE * x[::-1]


twice, thrice = lambda x: x * 2.0 + x ** 3, lambda x: x * 3.0 + x ** 3  # noqa: E731


def test_a_named_lambda_in_every_mode_against_the_oracle_of_the_same_def():
    primals = (0.3, -0.8)
    _, J, _, v, w = checks.reference(pair_def, primals)
    y, y_dot = si.jvp(pair, primals, tuple(v))
    np.testing.assert_allclose(y, pair(*primals), rtol=1e-15)
    np.testing.assert_allclose(y_dot, J @ v, rtol=1e-12)
    _, back = si.vjp(pair, *primals)
    np.testing.assert_allclose(back(tuple(w)), J.T @ w, rtol=1e-12)
    _, x_dot = si.ijvp(pair, primals, tuple(v))
    np.testing.assert_allclose(x_dot, np.linalg.solve(J, v), rtol=1e-10)
    _, sweep = si.ivjp(pair, *primals)
    np.testing.assert_allclose(sweep(tuple(w)), np.linalg.solve(J.T, w), rtol=1e-10)
    _, (sign, logabs) = si.slogdet(pair, primals)
    assert (sign, logabs) == pytest.approx(tuple(np.linalg.slogdet(J)), rel=1e-12)


def test_an_inline_lambda_over_a_vector_closing_over_a_constant():
    x = np.array([0.1, -0.4, 0.9])
    J = oracle.dense_jacobian(layer_def, (x,))
    y, (x_dot,) = si.ijvp(lambda x: np.tanh(x) + 2.0 * x + SCALE * x[::-1], (x,), np.ones(3))
    np.testing.assert_allclose(y, layer_def(x), rtol=1e-15)
    np.testing.assert_allclose(J @ x_dot, np.ones(3), rtol=1e-12)


def test_two_lambdas_on_one_line_are_told_apart_also_by_the_cache():
    assert si.jvp(twice, (0.5,), (1.0,)) == pytest.approx((1.125, 2.75), rel=1e-15)
    assert si.jvp(thrice, (0.5,), (1.0,)) == pytest.approx((1.625, 3.75), rel=1e-15)
    assert cache.entry_key(twice, mode="jvp") != cache.entry_key(thrice, mode="jvp")


def test_generated_code_is_named_after_the_variable_and_quotes_the_expression():
    text = si.source(pair, "jvp")
    assert "def pair_jvp(x, y, x_dot, y_dot):" in text
    assert "x * y + math.sin(x), x - SCALE * y ** 2" in text
    anonymous = si.source(lambda u: u * u, "jvp")
    assert "def lambda_" in anonymous


def test_a_lambda_inside_the_function_is_inlined():
    def f(x):
        g = lambda t: t * t  # noqa: E731
        return g(x)
    assert si.jvp(f, (0.5,), (1.0,)) == pytest.approx((0.25, 1.0), rel=1e-15)   # tests/test_nested.py: more


def test_a_lambda_calling_itself_is_refused_at_its_line():
    def f(x):
        g = lambda t: g(t * 0.5)  # noqa: E731
        return g(x)
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(f, (0.5,), (1.0,))
    assert "recursive call of the nested function 'g'" in str(info.value)
    assert "test_lambdas.py" in str(info.value)


def test_a_lambda_without_source_says_so():
    namespace = {}
    exec("h = lambda x: x * 2.0", namespace)
    with pytest.raises(si.SourceUnavailableError) as info:
        si.jvp(namespace["h"], (0.5,), (1.0,))
    assert "lambda" in str(info.value) or "source" in str(info.value)
