"""A long straight-line vjp or ivjp hands its sweep the tape in parts (back/tape.py): the
forward pass appends small tuples as soon as their values exist, the sweep pops each
right before it reads it (ijvp, one function, does the same on a stack). The values are the same, so the results are the same bits as
with the one-tuple tape, and they agree with a complex-step Jacobian; a pullback can be
called again; an edit of one source line moves only the parts near it."""

from __future__ import annotations

import difflib
import re

import numpy as np
import pytest

import s2s_invad as si
from benchmarks import families
from s2s_invad.back import tape


def _bits(value):
    if isinstance(value, (tuple, list)):
        return tuple(_bits(v) for v in value)
    return float(value).hex()


def _load(tmp_path, program, name="m"):
    d = tmp_path / name
    d.mkdir()
    return families.load(program, str(d))


@pytest.fixture(scope="module")
def chain():
    return families.equasive_chain(n=8, statements=400, seed=7)


def test_long_sweeps_take_their_tape_in_parts_and_short_ones_in_one_tuple(chain, tmp_path):
    f = _load(tmp_path, chain)
    vjp, ivjp, ijvp = si.source(f, "vjp"), si.source(f, "ivjp"), si.source(f, "ijvp")
    assert "_tape = []" in ijvp and "= _tape.pop()" in ijvp                # one function: a stack
    assert ".append((" in vjp and "_tape[:]" in vjp and ".pop()" in vjp     # read last to first
    assert ".append((" in ivjp and "_tape[::-1]" in ivjp                    # read first to last
    small = _load(tmp_path, families.equasive_chain(n=4, statements=12, seed=1), "small")
    assert ".pop()" not in si.source(small, "vjp")


def test_parts_give_the_same_bits_as_one_tuple_and_match_complex_step(chain, tmp_path, monkeypatch):
    x, v, w = families.sample_vectors(chain)
    _, J = families.reference_jacobian(chain, x)
    monkeypatch.setenv("S2S_INVAD_CACHE", "off")       # both texts generated here
    results, default = {}, tape.WORTH
    for worth in (default, 10**9):                    # in parts, then one tuple
        monkeypatch.setattr(tape, "WORTH", worth)
        f = _load(tmp_path, chain, f"w{worth}")
        assert (".pop()" in si.source(f, "vjp")) == (worth == default)
        y, back = si.vjp(f, *x)
        y2, sweep = si.ivjp(f, *x)
        results[worth] = (y, back(tuple(w)), back(tuple(w)), y2, sweep(tuple(v)), si.ijvp(f, x, v))
    parts, whole = results[default], results[10**9]
    assert _bits(parts) == _bits(whole)
    assert _bits(parts[1]) == _bits(parts[2])         # the pullback again: its tape intact
    scale = 1e-12 * max(1.0, float(np.max(np.abs(J))))
    assert np.max(np.abs(np.array(parts[1]) - J.T @ np.array(w))) <= scale * 10
    for got, want in ((parts[4], np.linalg.solve(J.T, np.array(v))), (parts[5][1], np.linalg.solve(J, np.array(v)))):
        assert np.max(np.abs(np.array(got) - want)) <= 1e-10 * max(1.0, float(np.max(np.abs(want))))


def _changed_lines(tmp_path, program, mode: str) -> int:
    """Lines of ``mode``'s source that change when a linear step past the middle,
    ``x = a * x + b * y``, becomes ``x = a * x + b * math.exp(y)`` (one more value taped)."""
    lines = program.source.split("\n")
    linear = re.compile(r"    (x\d+) = [\d.]+ \* \1 [-+] [\d.]+ \* (x\d+)")
    at = next(i for i, l in enumerate(lines) if linear.fullmatch(l) and i > len(lines) // 2)
    y = linear.fullmatch(lines[at]).group(2)
    edited = lines[:at] + [lines[at][:-len(y)] + f"math.exp({y})"] + lines[at + 1:]
    f = _load(tmp_path, program, f"a{program.statements}")
    g = _load(tmp_path, families.Program(**{**program.__dict__, "source": "\n".join(edited)}),
              f"b{program.statements}")
    a, b = si.source(f, mode).split("\n"), si.source(g, mode).split("\n")
    return sum(1 for d in difflib.unified_diff(a, b, lineterm="", n=0)
               if d[:1] in "+-" and not d.startswith(("+++", "---")))


@pytest.mark.parametrize("mode", ["vjp", "ivjp", "ijvp"])
def test_an_edit_of_one_line_changes_lines_near_it_only(tmp_path, mode):
    """The diff of a one-line edit does not grow with the program: a part is cut where a
    value's name says so, not after a count of values, and appending needs no index."""
    small = _changed_lines(tmp_path, families.equasive_chain(n=8, statements=400, seed=7), mode)
    large = _changed_lines(tmp_path, families.equasive_chain(n=8, statements=1600, seed=7), mode)
    assert large < 1.5 * small + 40, (small, large)        # one tuple: 87 -> 425 lines (vjp)


def test_a_singular_step_in_a_long_sweep_still_names_its_line(tmp_path):
    """x1 = x1 * x3 at x3 = 0 loses x1: J is singular. The sweeps that pop their tape in
    parts raise the named error at that source line, as the one-tuple sweeps do."""
    block = "".join(f"    x{i % 3} = x{i % 3} + 0.1 * math.sin(x{(i + 1) % 3})\n" for i in range(150))
    src = ("import math\n\n\ndef long_chain(x0, x1, x2, x3):\n" + block + "    x1 = x1 * x3\n"
           + block.replace("x2)", "x3)") + "    return x0, x1, x2, x3\n")
    path = tmp_path / "long_chain.py"
    path.write_text(src)
    ns: dict = {}
    exec(compile(src, str(path), "exec"), ns)
    f = ns["long_chain"]
    line = 5 + 150
    assert ".pop()" in si.source(f, "ivjp") and ".pop()" in si.source(f, "ijvp")
    with pytest.raises(si.SingularJacobianError, match=rf"long_chain\.py:{line}:"):
        si.ivjp(f, 0.3, 0.2, 0.1, 0.0)[1]((1.0, 0.0, 0.0, 0.0))
    with pytest.raises(si.SingularJacobianError, match=rf"long_chain\.py:{line}:"):
        si.ijvp(f, (0.3, 0.2, 0.1, 0.0), (1.0, 0.0, 0.0, 0.0))
    y, sweep = si.ivjp(f, 0.3, 0.2, 0.1, 0.5)          # regular: w = J^T (J^-T w)
    _, back = si.vjp(f, 0.3, 0.2, 0.1, 0.5)
    assert np.allclose(back(sweep((1.0, -2.0, 0.5, 3.0))), (1.0, -2.0, 0.5, 3.0), rtol=0, atol=1e-11)
