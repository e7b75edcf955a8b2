"""Nested defs and lambdas inside the function, inlined where they are called as module
helpers are: closures over the enclosing function's transform-time and runtime values
(read when the nested function runs, as Python reads them), default values (evaluated at
the def), lambdas passed to helpers and returned by them, nesting in loops, helpers and
other nested functions. Every case in every mode and slogdet against the complex-step
oracle, the primal against the plain call; recursion and what stays unsupported are
refused at their line; the command line reads nested functions too."""

import inspect
import os
import pathlib
import subprocess
import sys
import typing

import numpy as np
import pytest

import s2s_invad as si

import checks

SCALE = 1.5


def brief_def(x):
    def g(y):
        return y + np.sin(y)
    return g(x) * SCALE


def brief_lambda(x):
    g = lambda y: y + np.tanh(y)  # noqa: E731
    return g(x) * SCALE


def closes_over_values(x, y):
    k = 2.0
    offset = x * y                                  # a runtime value

    def h(t, c=k):                                  # c: the value of k at the def
        return c * t + k * offset                   # k, offset: their values when h runs
    k = 3.0
    first = h(x)
    offset = y - x
    return first, h(y, 0.5)


def apply_to_all(fn, items):
    return [fn(item) for item in items]


def make_scaler(c):
    return lambda t: c * t + np.sin(t)


def passes_lambdas(u):
    squares = apply_to_all(lambda t: t * t + 0.5 * t, list(u))
    scale = make_scaler(0.75)
    return np.array([squares[0] + scale(u[1]), squares[1] - scale(u[0]), squares[2] + u[0]])


def in_a_loop(x, v):
    h = 0.05

    def accel(p, q):
        return -np.sin(p) - 0.1 * q
    for _ in range(12):                            # long enough to be kept as a loop
        v = v + h * accel(x, v)
        x = x + h * v
    return x, v


def helper_with_a_nested_def(x):
    def inner(t):
        return np.exp(0.2 * t) + t
    return inner(x) * 2.0


def nested_in_nested(x, y):
    def outer(t):
        def inner(s):
            return s * y + np.cos(s)
        return inner(t) + inner(2.0 * t)
    return outer(x) + helper_with_a_nested_def(y), x - y


class Coefficients(typing.NamedTuple):
    a: tuple = (0.5, 0.5, 1.0)
    b: tuple = (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    k: float = 0.8


RK = Coefficients()


def rk4_nested(x, y):
    """Lotka-Volterra-like rhs as a nested def, integrated by RK4 with a NamedTuple of
    coefficients."""
    def rhs(p, q):
        return p * (1.0 - RK.k * q), q * (p - 1.0)
    h = 0.1
    for _ in range(4):
        k1 = rhs(x, y)
        k2 = rhs(x + RK.a[0] * h * k1[0], y + RK.a[0] * h * k1[1])
        k3 = rhs(x + RK.a[1] * h * k2[0], y + RK.a[1] * h * k2[1])
        k4 = rhs(x + RK.a[2] * h * k3[0], y + RK.a[2] * h * k3[1])
        x = x + h * sum(b * k[0] for b, k in zip(RK.b, (k1, k2, k3, k4)))
        y = y + h * sum(b * k[1] for b, k in zip(RK.b, (k1, k2, k3, k4)))
    return x, y


POINT = (0.6, 0.9)
CASES = [(brief_def, (0.3,)), (brief_lambda, (0.3,)), (closes_over_values, POINT),
         (passes_lambdas, (np.array([0.2, -0.3, 0.7]),)), (in_a_loop, POINT), (nested_in_nested, POINT),
         (rk4_nested, POINT)]


@pytest.mark.parametrize("f, primals", CASES, ids=[f.__name__ for f, _ in CASES])
def test_every_mode_against_the_oracle(f, primals):
    checks.check_structured(si, f, primals)
    y, _ = si.jvp(f, primals, tuple(np.ones_like(np.asarray(p, dtype=float)) for p in primals))
    for got, want in zip(checks.flatten(y), checks.flatten(f(*primals))):
        assert got == pytest.approx(want, rel=1e-14, abs=1e-15)


def test_closures_read_values_when_they_run():
    x, y = POINT
    (first, second), _ = si.jvp(closes_over_values, POINT, (1.0, 0.0))
    assert first == pytest.approx(2.0 * x + 3.0 * x * y, rel=1e-15)         # c = 2 (def), k = 3 (call)
    assert second == pytest.approx(0.5 * y + 3.0 * (y - x), rel=1e-15)      # offset read at the call


def test_a_lambda_is_named_after_its_variable():
    text = si.source(brief_lambda, "jvp")
    line = inspect.getsourcelines(brief_lambda)[1] + 1
    assert f"# line {line} (in g from line {line + 1}): g = lambda y: y + np.tanh(y)" in text


def test_generated_code_cites_the_nested_lines():
    text = si.source(nested_in_nested, "jvp")
    last = inspect.getsourcelines(nested_in_nested)[1] + 5
    assert f"# line {last - 2} (in outer from line {last}, in inner from line {last - 1}): " \
           "return s * y + np.cos(s)" in text


# -- refusals ------------------------------------------------------------------------------------

def recursive(x):
    def g(t):
        return g(t * 0.5)  # recursion
    return g(x)


def mutual(x):
    def even(t):
        return odd(t) + 1.0
    def odd(t):  # noqa: E306
        return even(t) * 2.0  # mutual
    return even(x)


def not_yet_assigned(x):
    def g(t):
        return t * k  # k
    y = g(x)
    k = 2.0
    return y * k


def uses_nonlocal(x):
    total = 0.0

    def add(t):
        nonlocal total  # nonlocal
        total = total + t
    add(x)
    return total


def decorated(x):
    @staticmethod  # decorator
    def g(t):
        return t
    return g(x)


def _line(f, marker):
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, text in enumerate(lines) if f"# {marker}" in text)


@pytest.mark.parametrize("f, marker, words", [
    (recursive, "recursion", "recursive call of the nested function 'g': nested functions are inlined"),
    (mutual, "mutual", "recursive call of the nested function 'even'"),
    (not_yet_assigned, "k", "'k' of the enclosing function not_yet_assigned is not assigned yet when g runs"),
    (uses_nonlocal, "nonlocal", "'nonlocal' is not supported: return the new value"),
    (decorated, "decorator", "decorators on the nested def g are not supported"),
])
def test_refusals_name_the_line(f, marker, words):
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(f, (0.5,), (1.0,))
    assert words in str(info.value)
    assert info.value.lineno == _line(f, marker)
    assert info.value.filename.endswith("test_nested.py")


# -- the command line ----------------------------------------------------------------------------

CLI_MODULE = '''import numpy as np


def flow(x, y):
    def rhs(p, q):
        return q, -np.sin(p)
    g = lambda t: 0.5 * t  # noqa: E731
    for _ in range(3):
        dx, dy = rhs(x, y)
        x, y = x + g(dx), y + g(dy)
    return x, y
'''


def test_the_command_line_reads_nested_functions(tmp_path):
    (tmp_path / "flow.py").write_text(CLI_MODULE)
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", "flow.py", "-o", "flow_ad.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    namespace = {}
    exec(compile((tmp_path / "flow.py").read_text(), str(tmp_path / "flow.py"), "exec"), namespace)
    generated = {}
    exec(compile((tmp_path / "flow_ad.py").read_text(), str(tmp_path / "flow_ad.py"), "exec"), generated)
    y, y_dot = generated["flow_jvp"](0.3, 0.2, 1.0, 0.0)
    want = si.jvp(namespace["flow"], (0.3, 0.2), (1.0, 0.0))
    np.testing.assert_allclose(y, namespace["flow"](0.3, 0.2), rtol=1e-15)
    np.testing.assert_allclose(y_dot, want[1], rtol=1e-14)
