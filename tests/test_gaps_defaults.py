"""Calls that leave out parameters with default values take the fast path of repeated calls
(they took the general checks on every call, about 20 times slower), and stay right: the
defaults are read from the function at each call, as Python does, so rebinding
``f.__defaults__`` or changing a default array in place is seen.

References: the dense complex-step Jacobian of the user's function called with every
argument (tests/oracle.py), and NumPy solves of it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import api

import oracle
from modules import load_function

SOURCE = '''
import math
import numpy as np

def defaulted(x, y, a=2.0, b=0.5):
    return x * a + math.sin(y) * b, y * math.exp(b * x)

W = np.array([0.25, -0.5])

def weighted(x, y, w=W):
    return x + w[0] * math.sin(y), y + w[1] * x * x
'''

X = (0.3, 0.4)


@pytest.fixture(scope="module")
def funcs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gaps_defaults")
    return load_function(folder, "defaulted", SOURCE), load_function(folder, "weighted", SOURCE)


def check_every_mode(f, primals, reference=None, full=None, calls=3):
    """Every mode of ``f`` at ``primals`` (repeated: the first call transforms, the next ones
    take the fast path) against the complex-step Jacobian of ``reference`` (default ``f``)
    at ``full`` (every argument; default ``primals``), with respect to x and y."""
    reference, full = reference or f, full or primals
    y_ref = oracle.evaluate(reference, full)
    J = oracle.dense_jacobian(reference, full, ("x", "y"))
    v, w = np.array([0.7, -1.1]), np.array([-0.4, 0.9])
    for _ in range(calls):
        y, y_dot = si.jvp(f, primals, tuple(v))
        np.testing.assert_allclose(y, y_ref, rtol=1e-13)
        np.testing.assert_allclose(y_dot, J @ v, rtol=1e-12)
        y, pullback = si.vjp(f, *primals)
        np.testing.assert_allclose(pullback(tuple(w)), J.T @ w, rtol=1e-12)
        y, x_dot = si.ijvp(f, primals, tuple(v))
        np.testing.assert_allclose(x_dot, np.linalg.solve(J, v), rtol=1e-11)
        y, pushback = si.ivjp(f, *primals)
        np.testing.assert_allclose(pushback(tuple(w)), np.linalg.solve(J.T, w), rtol=1e-11)
        y, (sign, logdet) = si.slogdet(f, primals)
        want_sign, want_logdet = np.linalg.slogdet(J)
        assert sign == want_sign
        assert logdet == pytest.approx(want_logdet, rel=1e-12, abs=1e-13)


def _check_all_modes(f, short, full):
    check_every_mode(f, short, f, full)


def test_defaulted_calls_are_right_in_every_mode(funcs):
    f, _ = funcs
    _check_all_modes(f, X, X + (2.0, 0.5))
    _check_all_modes(f, X + (3.0,), X + (3.0, 0.5))        # one default left out
    _check_all_modes(f, X + (3.0, -0.25), X + (3.0, -0.25))


def test_defaulted_calls_take_the_fast_path(funcs):
    f, _ = funcs
    for _ in range(2):
        si.jvp(f, X, (1.0, 0.0))
        si.vjp(f, *X)
        si.ijvp(f, X, (1.0, 0.0))
    for key in (("jvp", None, True, None, None), ("vjp", None, "store", True, None, None, None),
                ("ijvp", None, "store", True, None, None, None)):
        fast = api._fast(f, key)
        assert fast is not None, key
        assert fast.primals(X) == X + (2.0, 0.5), key
        assert fast.primals(X + (7.0,)) == X + (7.0, 0.5), key
        assert fast.primals((0.3,)) is None, key          # x is required
        assert fast.primals(X + (1.0, 2.0, 3.0)) is None, key


def test_rebound_defaults_are_seen(funcs):
    f, _ = funcs
    saved = f.__defaults__
    try:
        si.jvp(f, X, (1.0, 0.0))
        si.jvp(f, X, (1.0, 0.0))
        f.__defaults__ = (-1.5, 0.75)
        _check_all_modes(f, X, X + (-1.5, 0.75))
    finally:
        f.__defaults__ = saved
    _check_all_modes(f, X, X + saved)


def test_default_array_changed_in_place_is_seen(funcs):
    _, g = funcs
    w = g.__defaults__[0]
    saved = w.copy()
    try:
        _check_all_modes(g, X, X + (w.copy(),))
        w[:] = [1.5, 0.125]
        _check_all_modes(g, X, X + (w.copy(),))
    finally:
        w[:] = saved


def test_defaulted_call_with_wrong_kinds_still_checked(funcs):
    f, _ = funcs
    si.jvp(f, X, (1.0, 0.0))
    si.jvp(f, X, (1.0, 0.0))
    with pytest.raises(si.errors.ArgumentError, match="expected 2 to 4 value"):
        si.jvp(f, (0.3,), (1.0, 0.0))
    with pytest.raises(si.errors.ArgumentError, match="bool"):
        si.jvp(f, (0.3, True), (1.0, 0.0))
    y, _ = si.jvp(f, (np.float64(0.3), 0.4), (1.0, 0.0))       # a NumPy scalar: the general path
    assert y[0] == pytest.approx(0.3 * 2.0 + math.sin(0.4) * 0.5, rel=1e-15)
