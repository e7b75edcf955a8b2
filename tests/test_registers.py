"""Store-mode functions with many local names hold their values in reusable registers
(back/registers.compact): the same operations on the same operands, so the same bits.

Each generated module is produced with SSA names (the threshold raised), then every one of
its functions is compacted (threshold 0) and both versions run on the same arguments: the
results must be identical, bit for bit, in every mode; the compacted code must also use
fewer names and leave functions with loops kept as loops alone.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import s2s_invad as si
from benchmarks import families
from s2s_invad.back import registers
from s2s_invad.back.registers import compact

PROGRAMS = {
    "chain": lambda: families.equasive_chain(n=6, statements=120, seed=3),
    "dag": lambda: families.random_dag(n=6, statements=120, seed=5),
    "euler": lambda: families.euler_tanh(n=4, statements=60, seed=2),
    "bratu": lambda: families.bratu(n=12),
}
MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")


def _functions(text: str) -> list[list[str]]:
    """The module's text cut before each top-level def (the head first)."""
    parts, cur = [], []
    for line in text.split("\n"):
        if line.startswith("def ") and cur:
            parts.append(cur)
            cur = []
        cur.append(line)
    parts.append(cur)
    return parts


def _run(text: str, program, mode: str, x, v, w):
    ns: dict = {}
    exec(compile(text, f"<{mode}>", "exec"), ns)
    fn = ns[f"{program.func_name}_{mode}"]
    if mode == "jvp":
        return fn(*x, *v)
    if mode == "ijvp":
        return fn(*x, *w)
    if mode in ("vjp", "ivjp"):
        y, back = fn(*x)
        return y, back(*(w if mode == "vjp" else v))
    return fn(*x)


def _bits(value):
    if isinstance(value, tuple):
        return tuple(_bits(v) for v in value)
    return value.hex() if isinstance(value, float) else value


@pytest.mark.parametrize("family", sorted(PROGRAMS))
def test_registers_change_names_not_bits(family, tmp_path, monkeypatch):
    program = PROGRAMS[family]()
    f = families.load(program, str(tmp_path))
    x, v, w = families.sample_vectors(program)
    monkeypatch.setattr(registers, "MANY_NAMES", 10**9)          # SSA names everywhere
    for mode in MODES:
        text = si.source(f, mode)
        parts = _functions(text)
        squeezed = "\n".join(line for part in parts for line in compact(part, most=0))
        before, after = _run(text, program, mode, x, v, w), _run(squeezed, program, mode, x, v, w)
        assert _bits(before) == _bits(after), f"{family} {mode}"
        slots = lambda t: sorted(c.co_nlocals for c in compile(t, "<m>", "exec").co_consts   # noqa: E731
                                 if hasattr(c, "co_nlocals"))
        assert all(a <= b for a, b in zip(slots(squeezed), slots(text)))
        if family == "chain":                     # 6 registers instead of 120 steps' values
            assert sum(slots(squeezed)) < sum(slots(text))


def test_a_long_chain_is_compacted_by_default_and_reads_like_the_source(tmp_path):
    program = families.equasive_chain(n=8, statements=600, seed=11)
    f = families.load(program, str(tmp_path))
    text = si.source(f, "jvp")
    code = compile(text, "<jvp>", "exec")
    fn = next(c for c in code.co_consts if getattr(c, "co_name", "") == f"{program.func_name}_jvp")
    assert fn.co_nlocals < 60                     # 8 registers, their tangents, temporaries
    steps = [l.strip() for l in program.source.split("\n") if l.startswith("    x")]
    target = steps[1].split(" = ")[0]                 # the second step's variable, say x3
    again = next(s for s in steps[2:] if s.startswith(target + " = "))
    pattern = re.sub(r"x\d+", lambda m: m.group() + "(?:_1)?", re.escape(again).replace(target, target + "_1"))
    assert re.search(pattern, text), again          # x3_1 = 0.98 * x3_1 + ..., as written
    x, v, _ = families.sample_vectors(program)
    _, J = families.reference_jacobian(program, x)
    _, y_dot = si.jvp(f, x, v)
    want = J @ np.array(v)
    assert np.max(np.abs(np.array(y_dot) - want)) <= 1e-12 * max(1.0, float(np.max(np.abs(want))))


def test_loops_kept_as_loops_and_small_functions_keep_their_names():
    loop = ["def f_jvp(x, x_dot):", "    for i in range(3):", "        x_1 = x + 1.0", "    return x"]
    assert compact(loop, most=0) == loop
    small = ["def g(x):", "    x_1 = x * 2.0", "    x_2 = x_1 + 1.0", "    return x_2"]
    assert compact(small) == small                # under the threshold: SSA names stay
    assert compact(small, most=0) == ["def g(x):", "    x_1 = x * 2.0", "    x_1 = x_1 + 1.0", "    return x_1"]


def test_strings_comments_and_keywords_are_never_renamed():
    lines = ["def h(a, b):",
             "    # line 3: a_1 = a * b",
             "    a_1 = a * b",
             "    if not (0.0 < abs(a_1) < math.inf):",
             "        _rt.zero_pivot('m.py', 3, 'a_1 = a * b', 'd a_1 / d a', a_1)",
             "    b_1 = f(a_1, key=b)",
             "    return b_1"]
    out = compact(lines, most=0)
    assert out[1] == lines[1]
    assert "'a_1 = a * b', 'd a_1 / d a'" in out[4]
    assert "key=" in out[5]
    ns = {"math": math, "f": lambda p, key: p + key}
    exec("\n".join(out).replace("_rt.zero_pivot", "print"), ns)
    assert ns["h"](2.0, 3.0) == 9.0


def test_shapes_the_pass_does_not_read_leave_the_function_as_it_is():
    for body in (["    a = b = x * 2.0"], ["    a = (y := x * 2.0) + y"], ["    for i in range(2):", "        x = x + 1.0"]):
        lines = ["def k(x):", "    x_1 = x * 3.0", *body, "    return x_1"]
        assert compact(lines, most=0) == lines


def test_a_copy_shares_a_register_only_while_nothing_it_shares_with_is_still_read():
    """``a = b`` then ``c = a``: a and c may take b's register only if c is not rebound
    while b is still read (here it is: ``c = c + x * a`` comes before ``d = b * c``), and the
    register stays busy until the last of them is read. Found by forcing registers and a
    tape in parts on every random program."""
    lines = ["def g(x):",
             "    b = x * 3.0",
             "    a = b",
             "    c = a",
             "    c = c + x * a",
             "    e = x + 1.0",
             "    d = b * c + e",
             "    return d"]
    out = compact(lines, most=0)
    ns_in, ns_out = {}, {}
    exec("\n".join(lines), ns_in)
    exec("\n".join(out), ns_out)
    for x in (0.5, -2.0, 3.25):
        assert ns_out["g"](x) == ns_in["g"](x) == 3 * x * (3 * x + 3 * x * x) + x + 1
    chained = ["def h(x):", "    b = x * 3.0", "    a = b", "    c = a", "    d = c * 2.0 + a", "    return d"]
    assert "    a = b" not in compact(chained, most=0)          # here one register serves all three
    ns = {}
    exec("\n".join(compact(chained, most=0)), ns)
    assert ns["h"](1.5) == 13.5
