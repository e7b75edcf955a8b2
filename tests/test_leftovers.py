"""Defects left over from an attack round, each now a named error or a right answer.

- A parameter used as the trip count of a loop kept as a loop takes an int, a NumPy integer
  or a 0-d integer array, in every mode and on the fast path of repeated calls; a float, a
  bool or an array of points is an ArgumentError naming the parameter and the loop's line.
  Reference: the derivative of x <- x + sin(x), n times, written out (a product of
  1 + cos(x_k)).
- A NumPy masked array is refused wherever an argument, tangent or cotangent is taken (the
  masked elements came back as nan).
- slogdet at a zero pivot raises SingularJacobianError citing the line, as ijvp does (math
  code raised NonFiniteError from math.log(0)); an infinite pivot stays NonFiniteError.
  log|d atan(x)| = -log(1 + x**2) stays finite where x**2 overflows. References: closed
  forms of log|det J| written out, and NumPy's slogdet of a central-difference Jacobian.
- ``async def`` and generators (``yield``, ``yield from``) are UnsupportedSyntaxError at
  their line, through the API (live functions, from a file or from text) and the CLI; they
  said "could not find the def" and "an expression statement has no effect".
- A loop with a runtime trip count that keeps the inverse modes from existing is refused
  with advice that works (a wrapper with a constant count, then unroll=True), not
  "unroll=True", which cannot unroll it; the wrapper the message names is checked against
  the chain rule written out.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.errors import (ArgumentError, BackendError, NonFiniteError, NotInvertibleError,
                              SingularJacobianError, UnsupportedSyntaxError)

from modules import load_function

COUNTED = '''
import math
def counted(x, n):
    for i in range(n):
        x = x + math.sin(x)
    return x
'''

MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")


def _counted_reference(x: float, n: int) -> tuple[float, float]:
    """(f(x), f'(x)) of counted, by the chain rule: f' = product of 1 + cos(x_k)."""
    d = 1.0
    for _ in range(n):
        d *= 1.0 + math.cos(x)
        x = x + math.sin(x)
    return x, d


def _call(fn, mode: str, x, n):
    """(y, the mode's one number) for the one differentiated parameter x."""
    opts = {"wrt": "x", "unroll": False}
    if mode == "jvp":
        return si.jvp(fn, (x, n), (1.0,), **opts)
    if mode == "vjp":
        y, pullback = si.vjp(fn, x, n, **opts)
        return y, pullback(1.0)[0]
    if mode == "ijvp":
        y, (x_dot,) = si.ijvp(fn, (x, n), 1.0, **opts)
        return y, x_dot
    if mode == "ivjp":
        y, sweep = si.ivjp(fn, x, n, **opts)
        return y, sweep(1.0)
    y, (sign, logdet) = si.slogdet(fn, (x, n), **opts)
    return y, sign * math.exp(logdet)


def _expected(mode: str, d: float) -> float:
    return 1.0 / d if mode in ("ijvp", "ivjp") else d


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [3, np.int64(3), np.int32(3), np.array(3), np.array(3, dtype=np.uint8)],
                         ids=["int", "int64", "int32", "0-d", "0-d uint8"])
def test_a_trip_count_takes_ints_numpy_integers_and_0d_integer_arrays(mode, n):
    fn = si.from_source(COUNTED, "counted")
    y, d = _counted_reference(0.5, 3)
    got_y, got = _call(fn, mode, 0.5, n)
    assert got_y == pytest.approx(y, rel=1e-14)
    assert got == pytest.approx(_expected(mode, d), rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [3.0, np.float64(3.0), np.array(3.0), True, np.bool_(True), np.array([3, 4]), "3"],
                         ids=["float", "float64", "0-d float", "bool", "np.bool_", "array of counts", "str"])
def test_a_trip_count_that_is_not_an_int_is_refused_naming_the_parameter(mode, n):
    fn = si.from_source(COUNTED, "counted")
    _call(fn, mode, 0.5, 3)                           # compiled and on the fast path first
    with pytest.raises(ArgumentError) as info:
        _call(fn, mode, 0.5, n)
    message = str(info.value)
    assert "argument 'n' of counted" in message
    assert "trip count must be an int" in message
    assert ":4 " in message                           # the loop's line


def test_a_trip_count_float_is_refused_on_the_first_call_and_for_a_computed_count():
    fn = si.from_source('''
import math
def twice(x, n):
    for i in range(2 * n + 1):
        x = x + 0.5 * math.sin(x)
    return x
''', "twice")
    with pytest.raises(ArgumentError, match=r"argument 'n' of twice is a float \(2\.0\).*:4 .*must be an int"):
        si.ijvp(fn, (0.5, 2.0), 1.0, unroll=False)
    with pytest.raises(ArgumentError, match="argument 'n' of twice"):
        si.drift(fn, (0.5, 2.5), unroll=False)
    with pytest.raises(ArgumentError, match="argument 'n' of twice"):
        si.ijvp(fn, (0.5, 2.0), 1.0, memory="recompute", unroll=False)
    # and the right answer for a NumPy integer: 5 steps of x <- x + sin(x) / 2
    x, d = 0.5, 1.0
    for _ in range(5):
        d *= 1.0 + 0.5 * math.cos(x)
        x = x + 0.5 * math.sin(x)
    y, (x_dot,) = si.ijvp(fn, (0.5, np.int16(2)), 1.0, unroll=False)
    assert (y, x_dot) == pytest.approx((x, 1.0 / d), rel=1e-12)


MASKED = '''
import numpy as np
def pair(x, y):
    return x * np.sin(y), y + x

def vec(u):
    return [u[0] * u[1], u[1] + 2.0 * u[0]]
'''


def _masked():
    return np.ma.masked_array([1.0, 2.0], mask=[False, True])


def _masked_calls():
    pair, vec = si.from_source(MASKED, "pair"), si.from_source(MASKED, "vec")
    one, u = np.ones(2), np.array([1.0, 3.0])
    return {
        "jvp primal": lambda: si.jvp(pair, (_masked(), 1.0), (1.0, 0.0)),
        "jvp tangent": lambda: si.jvp(pair, (one, 1.0), (_masked(), 0.0)),
        "vjp primal": lambda: si.vjp(pair, _masked(), 1.0),
        "vjp cotangent": lambda: si.vjp(vec, u)[1](_masked()),
        "ijvp primal": lambda: si.ijvp(vec, (_masked(),), one),
        "ijvp y_dot": lambda: si.ijvp(vec, (u,), _masked()),
        "ivjp primal": lambda: si.ivjp(pair, _masked(), 1.0),
        "ivjp x_bar": lambda: si.ivjp(vec, u)[1](_masked()),
        "slogdet": lambda: si.slogdet(vec, (_masked(),)),
        "masked constant": lambda: si.jvp(pair, (np.ma.masked, 1.0), (1.0, 0.0)),
        "list element": lambda: si.jvp(vec, ([np.ma.masked_array([1.0], mask=[True]), 3.0],),
                                       (np.ones(2),)),
    }


@pytest.mark.parametrize("case", list(_masked_calls()))
def test_a_masked_array_is_refused_in_every_mode(case):
    call = _masked_calls()[case]
    vec = si.from_source(MASKED, "vec")
    si.jvp(vec, (np.array([1.0, 3.0]),), (np.ones(2),))   # the fast path exists for vec
    with pytest.raises(ArgumentError) as info:
        call()
    message = str(info.value)
    assert "masked array" in message and ".filled(value)" in message and "np.asarray" in message


def test_a_masked_array_filled_gives_the_derivatives_of_its_values():
    vec = si.from_source(MASKED, "vec")
    u = _masked().filled(3.0)
    y, (x_dot,) = si.ijvp(vec, (u,), np.array([1.0, 0.0]))
    jac = np.array([[u[1], u[0]], [2.0, 1.0]])
    np.testing.assert_allclose(x_dot, np.linalg.solve(jac, [1.0, 0.0]), rtol=1e-13)


SINGULAR = '''
import math
import numpy as np

def cosh1(x):
    return math.cosh(x)

def cube(x):
    return x ** 3

def pair(x, y):
    a = x ** 3
    b = math.atan(y) + math.cosh(x)
    return a, b

def npair(x, y):
    a = x ** 3
    b = np.arctan(y) + np.cosh(x)
    return a, b

def root(x):
    return math.sqrt(x)

def arctan1(x):
    return math.atan(x)
'''


@pytest.mark.parametrize("name, point, line", [("cosh1", (0.0,), 6), ("cube", (0.0,), 9), ("pair", (0.0, 1.0), 12),
                                               ("npair", (0.0, 1.0), 17), ("npair", (np.array([1.0, 0.0]), 1.0), 17)])
def test_slogdet_at_a_zero_pivot_raises_singular_jacobian_like_ijvp(name, point, line):
    fn = si.from_source(SINGULAR, name)
    y_dot = tuple(np.ones_like(p) for p in point) if len(point) > 1 else np.ones_like(point[0])
    with pytest.raises(SingularJacobianError) as inverse:
        si.ijvp(fn, point, y_dot)
    with pytest.raises(SingularJacobianError) as logdet:
        si.slogdet(fn, point)
    assert logdet.value.lineno == inverse.value.lineno == line
    assert f":{line}: zero pivot" in str(logdet.value)


def test_slogdet_at_an_infinite_pivot_stays_non_finite():
    with pytest.raises(NonFiniteError, match=r":22: log\|d out / d x\| = inf"):
        si.slogdet(si.from_source(SINGULAR, "root"), (0.0,))


def _log_one_plus_square(x: float) -> float:
    """log(1 + x**2) without overflow (x**2 overflows beyond 1.3e154)."""
    x = abs(x)
    return math.log1p(x * x) if x < 1.0 else 2.0 * math.log(x) + math.log1p((1.0 / x) ** 2)


@pytest.mark.parametrize("x", [0.0, 1e-9, 0.5, -3.0, 1e5, 1e154, -1e160, 1e200, 1e300])
def test_slogdet_of_atan_stays_finite_where_x_squared_overflows(x):
    y, (sign, logdet) = si.slogdet(si.from_source(SINGULAR, "arctan1"), (x,))
    assert y == math.atan(x) and sign == 1.0
    assert logdet == pytest.approx(-_log_one_plus_square(x), rel=1e-14, abs=1e-15)


def _fd_slogdet(f, point, h=1e-6):
    point = np.array(point, dtype=float)
    cols = []
    for j in range(len(point)):
        e = np.zeros_like(point)
        e[j] = h
        cols.append((np.array(f(*(point + e))) - np.array(f(*(point - e)))) / (2 * h))
    return np.linalg.slogdet(np.array(cols).T)


@pytest.mark.parametrize("backend", ["python", "c", "numba"])
def test_slogdet_of_a_two_variable_function_with_atan_against_its_determinant(backend):
    fn = si.from_source(SINGULAR, "pair")
    try:
        y, (sign, logdet) = si.slogdet(fn, (0.7, 0.3), backend=backend)
    except BackendError:
        pytest.skip(f"backend {backend} cannot run here")
    fd_sign, fd_logdet = _fd_slogdet(fn, (0.7, 0.3))
    assert sign == fd_sign and logdet == pytest.approx(fd_logdet, abs=1e-8)
    # det J = 3 x**2 / (1 + y**2): finite on the log scale at y = 1e160, where 1 + y**2 is inf
    _, (sign, logdet) = si.slogdet(fn, (0.7, 1e160), backend=backend)
    assert sign == 1.0
    assert logdet == pytest.approx(math.log(3 * 0.49) - _log_one_plus_square(1e160), rel=1e-14)
    with pytest.raises(SingularJacobianError, match=":12: zero pivot"):
        si.slogdet(fn, (0.0, 0.3), backend=backend)


ASYNC = """\
import math

async def coro(x):
    return math.sin(x)
"""

GENERATORS = {
    "yield_stmt": ("import math\n\ndef yield_stmt(x):\n    y = math.sin(x)\n    yield y\n    return y\n",
                   5, "'yield' makes the function a generator"),
    "yield_value": ("def yield_value(x):\n    y = yield x\n    return y\n", 2,
                    "'yield' makes the function a generator"),
    "yield_from": ("def yield_from(x):\n    yield from [x]\n    return x\n", 2,
                   "'yield from' makes the function a generator"),
}


def _assert_refused(info, filename: str, line: int, words: str) -> None:
    error = info.value
    assert error.lineno == line and str(error.filename).endswith(filename)
    assert words in error.msg and "not supported" in error.msg
    assert "return the values" in error.msg or "plain def" in error.msg


@pytest.mark.parametrize("how", ["file", "text"])
def test_an_async_def_is_refused_at_its_line(tmp_path, how):
    fn = load_function(tmp_path, "coro", ASYNC) if how == "file" else si.from_source(ASYNC, "coro")
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(fn, (1.0,), (1.0,))
    _assert_refused(info, "coro.py" if how == "file" else ">", 3, "async def coro: async functions")


def test_an_async_helper_is_refused_at_its_line():
    fn = si.from_source("import math\nasync def helper(x):\n    return x\ndef f(x):\n    return helper(x)\n", "f")
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(fn, (1.0,), (1.0,))
    _assert_refused(info, ">", 2, "async def helper: async functions")


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("how", ["file", "text"])
def test_a_generator_is_refused_at_its_yield(tmp_path, how, name):
    text, line, words = GENERATORS[name]
    fn = load_function(tmp_path, name, text) if how == "file" else si.from_source(text, name)
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.vjp(fn, 1.0)
    _assert_refused(info, f"{name}.py" if how == "file" else ">", line, words)
    assert "has no effect" not in info.value.msg


def test_the_cli_refuses_async_defs_and_generators_at_their_lines(tmp_path, capsys):
    path = tmp_path / "mixed.py"
    path.write_text(ASYNC + "\n" + GENERATORS["yield_stmt"][0].replace("import math\n\n", ""))
    assert cli.main(["gen", f"{path}:coro", "-o", "-", "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert f"{path}:3:1: error: async def coro: async functions are not supported" in err
    assert "has no top-level function" not in err
    assert cli.main(["gen", f"{path}:yield_stmt", "-o", "-", "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert f"{path}:8:5: error: Yield expression: 'yield' makes the function a generator" in err


MULTISTEP = """\
import math

def multistep(x, n):
    xp = x
    for i in range(n):
        xn = 2 * x - xp + 0.1 * math.sin(x)
        xp = x
        x = xn
    return x

def before(x, n):
    y = 2.0 * x
    for i in range(n):
        y = y + math.sin(y)
    return x + y

def fixed(x):
    xp = x
    for i in range(300):
        xn = 2 * x - xp + 0.1 * math.sin(x)
        xp = x
        x = xn
    return x

def wrapped(x):
    return multistep(x, 100)
"""


@pytest.mark.parametrize("name, line, loop", [("multistep", 5, 5), ("before", 12, 13)])
@pytest.mark.parametrize("unroll", [None, True])
def test_a_runtime_trip_count_is_not_told_to_unroll(name, line, loop, unroll):
    fn = si.from_source(MULTISTEP, name)
    with pytest.raises(NotInvertibleError) as info:
        si.ijvp(fn, (0.5, 20), 1.0, wrt="x", unroll=unroll)
    message = str(info.value)
    assert info.value.lineno == line
    assert f"the loop at line {loop} cannot be unrolled: its trip count `n` is known only at run time" in message
    assert f"`def g(x): return {name}(x, 100)`" in message
    assert "unroll=True unrolls the loop instead" not in message


def test_a_transform_time_trip_count_keeps_the_unroll_advice():
    with pytest.raises(NotInvertibleError, match="unroll=True unrolls the loop instead"):
        si.ijvp(si.from_source(MULTISTEP, "fixed"), (0.5,), 1.0)


def test_the_advised_wrapper_unrolls_and_inverts():
    x, xp, d, dp = 0.5, 0.5, 1.0, 1.0                  # values and d/dx of x_k and x_{k-1}
    for _ in range(100):
        x, xp, d, dp = 2 * x - xp + 0.1 * math.sin(x), x, (2 + 0.1 * math.cos(x)) * d - dp, d
    y, (x_dot,) = si.ijvp(si.from_source(MULTISTEP, "wrapped"), (0.5,), 1.0, unroll=True)
    assert y == pytest.approx(x, rel=1e-12)
    assert x_dot == pytest.approx(1.0 / d, rel=1e-9)


def test_a_non_square_function_with_a_runtime_loop_still_says_m_is_not_n():
    fn = si.from_source("import math\ndef f(x, y, n):\n    for i in range(n):\n        x = x + math.sin(y)\n"
                        "    z = x * y\n    return z\n", "f")
    with pytest.raises(NotInvertibleError, match="maps 2 differentiated input"):
        si.ijvp(fn, (0.5, 1.0, 3), 1.0)
    y, z_dot = si.jvp(fn, (0.5, 1.0, 3), (1.0, 0.0))
    assert (y, z_dot) == pytest.approx(((0.5 + 3 * math.sin(1.0)) * 1.0, 1.0), rel=1e-14)


def test_a_trip_count_computed_as_a_float_is_refused_at_its_line(tmp_path):
    """range(steps / 2): a float in Python, so range() would raise a bare TypeError in the
    generated code; it is refused at transform time, saying to keep to + - * of ints."""
    f = load_function(tmp_path, "halved", "import numpy as np\n\n\ndef halved(z, steps):\n"
                      "    for k in range(steps / 2):\n        z = z + 0.1 * np.sin(z[::-1])\n    return z\n")
    with pytest.raises(si.UnsupportedSyntaxError, match=r"range stop `steps / 2`.*float") as info:
        si.jvp(f, (np.array([0.3, -0.6]), 8), (np.array([1.0, 0.0]),), wrt="z")
    assert info.value.lineno == 5


def test_integer_division_of_a_passive_runtime_value_says_what_it_is(tmp_path):
    """range(steps // 2) with steps not differentiated: not 'depends on the inputs' but a
    runtime value the generated code only adds and multiplies, and what to do instead."""
    f = load_function(tmp_path, "halving", "import numpy as np\n\n\ndef halving(z, steps):\n"
                      "    for k in range(steps // 2):\n        z = z + 0.1 * np.sin(z[::-1])\n    return z\n")
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(f, (np.array([0.3, -0.6]), 8), (np.array([1.0, 0.0]),), wrt="z")
    text = str(info.value)
    assert "not differentiated" in text and "f(z, steps // 2)" in text and "depends on the inputs" not in text
    g = load_function(tmp_path, "minus", "import numpy as np\n\n\ndef minus(z, steps):\n"
                      "    for k in range(steps - 1):\n        z = z + 0.1 * np.sin(z)\n    return z\n")
    z, z_dot = si.jvp(g, (np.array([0.3, -0.6]), 8), (np.array([1.0, 0.0]),), wrt="z")
    want = np.array([0.3, -0.6])
    for _ in range(7):
        want = want + 0.1 * np.sin(want)
    assert np.allclose(z, want, rtol=1e-15)
