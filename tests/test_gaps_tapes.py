"""A loop kept as a loop whose trip count is too large for memory="store" (which keeps every
iteration's values for the backward sweep) is a TapeMemoryError before the loop runs: a
MemoryError subclass from s2s_invad.errors citing the loop's source line and advising
memory="recompute". Before, vjp and ijvp raised a bare MemoryError, and a count of 2**63 a
NonFiniteError saying to rescale the variables.

Counts whose tape cannot fit on any machine (10**12 iterations keep about 80 TB) are tested,
as a constant, as a trip-count argument (on the general path and on the fast path of repeated
calls), computed from one (n * 1000: refused when the allocation fails), in a loop nested in
an unrolled loop, and beyond a Python list's length. The advice is checked to work: the same
functions with memory="recompute", and with store at sizes that fit, against the dense
complex-step Jacobian (tests/oracle.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import TapeMemoryError

import oracle
from modules import load_function

SOURCE = '''
import math


def constant_count(x):
    for _ in range(10**12):
        x = x + 0.1 * math.sin(x)
    return x


def counted(x, n):
    for _ in range(n):
        x = x + 0.1 * math.sin(x)
    return x


def derived(x, n):
    for _ in range(n * 1000):
        x = x + 0.1 * math.sin(x)
    return x


def nested(x, n):
    for _ in range(3):
        for _ in range(n):
            x = x + 0.1 * math.sin(x)
    return x


def pair(x, y, n):
    for _ in range(n):
        x, y = x + 0.1 * math.sin(y), y + 0.2 * x
    return x, y
'''

HUGE = 10**12


def _line(text: str, after: str = "") -> int:
    lines = SOURCE.splitlines()
    return lines.index(text, lines.index(after) if after else 0) + 1


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return load_function(tmp_path_factory.mktemp("gaps_tapes"), "tapes", SOURCE + "\ntapes = pair\n").__globals__


def _refused(call, line: int, loop: str, count):
    with pytest.raises(TapeMemoryError) as info:
        call()
    exc = info.value
    assert isinstance(exc, MemoryError) and isinstance(exc, si.S2SError)
    assert (exc.lineno, exc.count) == (line, count)
    assert exc.filename.endswith("tapes.py")
    message = str(exc)
    assert message.startswith(f"{exc.filename}:{line}: the loop `{loop}` is kept as a loop")
    assert f"{count:,} iterations" in message
    assert "Pass memory='recompute'" in message
    return message


def _vjp_pullback(f, primals, memory="store"):
    wrt = ("x", "y") if f.__name__ == "pair" else "x"
    y, pullback = si.vjp(f, *primals, wrt=wrt, memory=memory)
    return pullback((1.0, -0.5) if isinstance(y, tuple) else 1.0)


def test_constant_count(mod):
    message = _refused(lambda: si.vjp(mod["constant_count"], 0.3), _line("    for _ in range(10**12):"),
                       "for _ in range(10**12):", HUGE)
    assert "about 80 TB" in message
    _refused(lambda: si.ijvp(mod["constant_count"], (0.3,), 1.0), _line("    for _ in range(10**12):"),
             "for _ in range(10**12):", HUGE)


def test_trip_count_argument_general_and_fast_path(mod):
    f, line = mod["counted"], _line("    for _ in range(n):")
    _refused(lambda: si.vjp(f, 0.3, HUGE), line, "for _ in range(n):", HUGE)
    for n in (40, 41):                                        # the next calls take the fast path
        J = oracle.dense_jacobian(f, (0.3, n), ("x",))
        np.testing.assert_allclose(_vjp_pullback(f, (0.3, n)), J.T @ [1.0], rtol=1e-12)
        np.testing.assert_allclose(si.ijvp(f, (0.3, n), 1.0, wrt="x")[1], np.linalg.solve(J, [1.0]), rtol=1e-11)
    _refused(lambda: si.vjp(f, 0.3, HUGE), line, "for _ in range(n):", HUGE)
    _refused(lambda: si.ijvp(f, (0.3, HUGE), 1.0, wrt="x"), line, "for _ in range(n):", HUGE)
    message = _refused(lambda: si.vjp(f, 0.3, 2**63), line, "for _ in range(n):", 2**63)
    assert "more than a Python list can hold" in message and "rescale" not in message
    J = oracle.dense_jacobian(f, (0.3, 40), ("x",))                 # and still right afterwards
    np.testing.assert_allclose(_vjp_pullback(f, (0.3, 40)), J.T @ [1.0], rtol=1e-12)


def test_counts_computed_or_nested(mod):
    _refused(lambda: si.vjp(mod["derived"], 0.3, HUGE), _line("    for _ in range(n * 1000):"),
             "for _ in range(n * 1000):", HUGE * 1000)
    message = _refused(lambda: si.vjp(mod["derived"], 0.3, 2**62), _line("    for _ in range(n * 1000):"),
                       "for _ in range(n * 1000):", 2**62 * 1000)
    assert "more than a Python list can hold" in message
    _refused(lambda: si.vjp(mod["nested"], 0.3, HUGE), _line("        for _ in range(n):"),
             "for _ in range(n):", HUGE)
    _refused(lambda: si.ijvp(mod["pair"], (0.3, 0.2, HUGE), (1.0, 0.0), wrt=("x", "y")),
             _line("    for _ in range(n):", "def pair(x, y, n):"), "for _ in range(n):", HUGE)


@pytest.mark.parametrize("name", ["counted", "derived", "nested", "pair"])
def test_the_advice_works(mod, name):
    f = mod[name]
    primals = (0.3, 0.2, 30) if name == "pair" else (0.3, 3 if name == "derived" else 30)
    wrt = ("x", "y") if name == "pair" else ("x",)
    J = oracle.dense_jacobian(f, primals, wrt)
    w = np.array([1.0, -0.5]) if name == "pair" else np.array([1.0])
    for memory in ("store", "recompute"):
        np.testing.assert_allclose(_vjp_pullback(f, primals, memory), J.T @ w, rtol=1e-12)
        y_dot = tuple(w) if name == "pair" else 1.0
        _, x_dot = si.ijvp(f, primals, y_dot, wrt=wrt, memory=memory)
        np.testing.assert_allclose(x_dot, np.linalg.solve(J, w), rtol=1e-10)
