"""What a user changes between calls, and values that are not real numbers.

- The transform builds module constants, constant arrays and helpers into the generated
  code; a later call after ``K = 5.0``, ``W[0, 1] = 7.0`` or a redefined helper must use the
  new values (back/guard.py), like a fresh process does. References: the closed forms of
  these small functions, written out here.
- A negative float to a fractional power is complex in Python: every mode raises the named
  error citing the line instead of returning complex numbers; a negative constant base to a
  variable exponent has no real derivative.
- The same call gives the same answer whatever was called before (a 1-D array for a
  parameter the source never indexes is a batch of points, even after a call with a list).
- ``math.log(x, base)``, keyword-only defaults of helpers and ``np.stack`` / ``np.hstack`` of
  scalars, as Python and NumPy read them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import NonFiniteError, UnsupportedSyntaxError

from modules import load_function

LIVE = '''
import numpy as np
K = 2.0
W = np.array([[1.0, 2.0], [0.0, 1.0]])

def scale(a):
    return 2.0 * a

def triple(a):
    return 3.0 * a

def live(x, y):
    return K * x + scale(y), x * y

def matrix(x):
    return W @ x
'''


@pytest.fixture(autouse=True)
def no_disk_cache(monkeypatch):
    monkeypatch.setenv("S2S_INVAD_CACHE", "off")


def test_a_rebound_constant_is_used_by_the_next_call(tmp_path):
    f = load_function(tmp_path, "live", LIVE)
    module = __import__("sys").modules["live"]
    for k in (2.0, 5.0, 2.0):
        module.K = k
        y, t = si.jvp(f, (1.0, 3.0), (1.0, 0.0))
        assert y == (k + 6.0, 3.0) and t == (k, 3.0)
        y, (u, w) = si.ijvp(f, (1.0, 3.0), (1.0, 0.0))
        # J = [[k, 2], [y, x]] = [[k, 2], [3, 1]]: J^-1 (1, 0) = (1, -3) / (k - 6)
        assert u == pytest.approx(1.0 / (k - 6.0)) and w == pytest.approx(-3.0 / (k - 6.0))


def test_a_redefined_helper_and_an_array_changed_in_place(tmp_path):
    f = load_function(tmp_path, "live", LIVE)
    module = __import__("sys").modules["live"]
    assert si.jvp(f, (1.0, 3.0), (0.0, 1.0))[1] == (2.0, 1.0)
    module.scale = module.triple                           # as `def scale` again would rebind it
    assert si.jvp(f, (1.0, 3.0), (0.0, 1.0))[1] == (3.0, 1.0)
    g = module.matrix
    x, v = np.array([1.0, 1.0]), np.array([0.0, 1.0])
    assert si.jvp(g, (x,), (v,))[1].tolist() == [2.0, 1.0]
    module.W[0, 1] = 7.0
    assert si.jvp(g, (x,), (v,))[1].tolist() == [7.0, 1.0]
    assert si.vjp(g, x)[1](np.array([1.0, 0.0]))[0].tolist() == [1.0, 7.0]


POWER = '''
import numpy as np

def half(x, y):
    return x ** 2.5 + y, y

def root(x, y):
    return np.power(x, 0.5) * y, y

def base(x):
    return (-2.0) ** x + x
'''


@pytest.mark.parametrize("name", ["half", "root"])
@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet", "recompute"])
def test_a_negative_number_to_a_fractional_power_raises_in_every_mode(tmp_path, name, mode):
    f = load_function(tmp_path, name, POWER)
    x = (-1.0, 2.0)
    calls = {"jvp": lambda: si.jvp(f, x, (1.0, 0.0)), "vjp": lambda: si.vjp(f, *x)[1]((1.0, 0.0)),
             "ijvp": lambda: si.ijvp(f, x, (1.0, 0.0)), "ivjp": lambda: si.ivjp(f, *x)[1]((1.0, 0.0)),
             "slogdet": lambda: si.slogdet(f, x),
             "recompute": lambda: si.vjp(f, *x, memory="recompute")[1]((1.0, 0.0))}
    with pytest.raises(NonFiniteError, match=r":[58]: .*not a real number"):
        calls[mode]()
    # at a positive point the same function is right (reference: the closed form)
    y, (t, _) = si.jvp(f, (4.0, 2.0), (1.0, 0.0))
    c = 2.5 if name == "half" else 0.5
    assert t == pytest.approx(c * 4.0 ** (c - 1) * (1.0 if name == "half" else 2.0))


def test_a_negative_constant_base_to_a_variable_power_has_no_derivative(tmp_path):
    f = load_function(tmp_path, "base", POWER)
    with pytest.raises(NonFiniteError, match=":11: "):
        si.jvp(f, (2.0,), (1.0,))
    with pytest.raises(NonFiniteError):
        si.slogdet(f, (2.0,))


def test_the_same_call_gives_the_same_answer_after_a_call_with_a_list():
    f = load_function_text("elementwise", '''
import numpy as np

def elementwise(x):
    return np.tanh(x) + 0.5 * x
''')
    x = np.array([0.3, -0.2, 0.5])
    reference = np.log(1.0 / np.cosh(x) ** 2 + 0.5)           # a batch of three scalars
    first = si.slogdet(f, (x,))[1][1]
    vector = si.slogdet(f, (list(x),))[1][1]                  # a list is one vector
    again = si.slogdet(f, (x,))[1][1]
    assert np.allclose(first, reference) and np.allclose(again, reference)
    assert vector == pytest.approx(reference.sum())


_folder = []


def load_function_text(name, text):
    import tempfile
    import pathlib
    _folder.append(tempfile.TemporaryDirectory())
    return load_function(pathlib.Path(_folder[-1].name), name, text)


def test_math_log_with_a_base_and_keyword_only_defaults(tmp_path):
    f = load_function(tmp_path, "logs", '''
import math
from math import log

def scaled(a, *, s=1.5):
    return a * s

def logs(x, b):
    return math.log(x, 10.0) + scaled(x), log(x, b)
''')
    x, b = 5.0, 3.0
    y, t = si.jvp(f, (x, b), (1.0, 1.0))
    assert y[0] == pytest.approx(math.log10(x) + 1.5 * x) and y[1] == pytest.approx(math.log(x) / math.log(b))
    assert t[0] == pytest.approx(1 / (x * math.log(10.0)) + 1.5)
    assert t[1] == pytest.approx(1 / (x * math.log(b)) - math.log(x) / (b * math.log(b) ** 2))


def test_stack_and_hstack_of_scalars(tmp_path):
    f = load_function(tmp_path, "stacks", '''
import numpy as np

def stacks(x):
    return np.stack([x[0] * x[1], x[0] + x[1]]) + np.hstack([x[1] * x[1], x[:1] * 2.0])
''')
    x = np.array([2.0, 3.0])
    jacobian = np.array([[3.0, 2.0 + 6.0], [1.0 + 2.0, 1.0]])      # written out by hand
    y, t = si.jvp(f, (x,), (np.array([1.0, 0.0]),))
    assert y.tolist() == [6.0 + 9.0, 5.0 + 4.0] and t.tolist() == jacobian[:, 0].tolist()
    _, u = si.ijvp(f, (x,), np.array([1.0, 0.0]))
    assert np.allclose(u[0], np.linalg.solve(jacobian, [1.0, 0.0]))


def test_a_rolled_loop_index_is_not_called_input_dependent(tmp_path):
    f = load_function(tmp_path, "parity", '''
import numpy as np

def parity(z, steps):
    for k in range(steps):
        z = z + 0.1 * np.sin(z) * (k % 2)
    return z
''')
    with pytest.raises(UnsupportedSyntaxError) as caught:
        si.jvp(f, (np.array([0.1, 0.2]), 10), (np.ones(2),), wrt="z")
    message = str(caught.value)
    assert "index of a loop kept as a loop" in message and "depends on the inputs" not in message
    assert "not differentiable" not in message and "line 6" in message
