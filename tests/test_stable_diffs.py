"""Stable diffs (issue 10, item 10): a one-line edit of a model changes only the generated
lines derived from that line (and its comment), so generated code can be reviewed as a diff.

A 42-line model (30 straight-line statements, a loop kept as a loop, a short unrolled loop)
is generated with `s2s-invad gen` (all four modes); then one line is edited and
`s2s-invad gen --diff` shows what would change. Every changed line of the generated module
must sit in a block commented with the edited line (``# line N: ...`` or ``# line N (j = 1):
...``), be the header's source hash, or be the tape plumbing that lists what a sweep reads
(``_tape``, ``_partial(sweep, (...))``: an edit that adds an operation adds its value there),
and the diff must stay a small fraction of the module.
"""

import difflib
import io
import re
import subprocess
import sys
import tokenize

import pytest

FNS = ("math.sin", "math.tanh", "math.cos", "math.atan")


def model_text() -> str:
    lines = ["import math", "", "DT = 0.05", "", "", "def model(a, b, c):"]
    regs = ("a", "b", "c")
    for i in range(30):                                 # lines 7 .. 36
        r, s = regs[i % 3], regs[(i + 1) % 3]
        lines.append(f"    {r} = {r} + {0.1 + 0.01 * i:.2f} * {FNS[i % 4]}({s}) * {s}")
    lines += ["    for k in range(12):",                # line 37: kept as a loop
              "        b = b - DT * math.sin(a)",       # 38
              "        a = a + DT * b",                 # 39
              "    for j in range(3):",                 # 40: unrolled (3 < 8)
              "        c = c * math.exp(0.1 * math.tanh(a + j))",   # 41
              "    return a, b, c"]
    return "\n".join(lines) + "\n"


EDITS = {   # name: (line, old text, new text, largest diff allowed in +/- lines)
    "middle of a long function": (13, "a = a + 0.16 * math.cos(b) * b", "a = a + 0.17 * math.sinh(b) * b", 60),
    "body of a loop kept as a loop": (38, "b = b - DT * math.sin(a)", "b = b - DT * math.tanh(a)", 60),
    "body of an unrolled loop": (41, "math.exp(0.1 * math.tanh(a + j))", "math.exp(0.2 * math.tanh(a + j))", 150),
    "one more operation": (27, "c = c + 0.30 * math.sin(a) * a", "c = c + 0.30 * math.sin(a) * a * a", 80),
}
BLOCK = re.compile(r"^\s*# line (\d+)\b")
TAPE = re.compile(r"_tape|_partial\(")       # the tuple of values a sweep reads, and its unpacking


def owners(lines: list[str]) -> list:
    """For each generated line, the source line of the block it is in (None outside)."""
    out, current = [], None
    for line in lines:
        match = BLOCK.match(line)
        if match:
            current = int(match.group(1))
        elif line.startswith("def ") or line.lstrip().startswith(("# inverse sweep", "# reverse sweep")):
            current = None
        out.append(current)
    return out


def statements(lines: list[str]) -> list[str]:
    """For each generated line, the whole (logical) statement it belongs to (a long tape
    tuple is wrapped over several lines)."""
    text = "\n".join(lines) + "\n"
    out = list(lines)
    start = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if start is None:
            start = tok.start[0]
        if tok.type == tokenize.NEWLINE:
            whole = "\n".join(lines[start - 1:tok.end[0]])
            for i in range(start - 1, tok.end[0]):
                out[i] = whole
            start = None
    return out


def _gen(*args):
    done = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", *args], capture_output=True, text=True)
    return done


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_one_line_edit_changes_only_that_lines_code(tmp_path, name):
    line, old, new, most = EDITS[name]
    src = tmp_path / "model.py"
    text = model_text()
    assert old in text.splitlines()[line - 1]
    src.write_text(text)
    assert _gen(str(src)).returncode == 0
    out = tmp_path / "model_derivs.py"
    before = out.read_text().splitlines()
    src.write_text(text.replace(old, new))
    shown = _gen(str(src), "--diff")
    assert shown.returncode == 1 and "Traceback" not in shown.stderr, shown.stderr
    diff = [ln for ln in shown.stdout.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert out.read_text().splitlines() == before                       # --diff writes nothing
    assert _gen(str(src)).returncode == 0
    after = out.read_text().splitlines()
    # the diff gen --diff printed is exactly the change between the two modules
    ours = [ln for ln in difflib.unified_diff(before, after, lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert sorted(diff) == sorted(ours)
    assert 0 < len(diff) <= most and len(diff) <= 0.12 * len(after), (len(diff), len(after))
    owned = {"-": owners(before), "+": owners(after)}
    whole = {"-": statements(before), "+": statements(after)}
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    stray = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for sign, lines, idx in (("-", before, range(i1, i2)), ("+", after, range(j1, j2))):
            for i in idx:
                if owned[sign][i] == line or TAPE.search(whole[sign][i]) or "source hash" in lines[i]:
                    continue
                stray.append(f"{sign}{i + 1} (block of line {owned[sign][i]}): {lines[i]}")
    assert not stray, f"lines changed outside line {line}'s code:\n" + "\n".join(stray[:20])
    changed_blocks = {owned["+"][j] for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal"
                      for j in range(j1, j2)}
    assert line in changed_blocks


def test_generating_twice_gives_the_same_bytes(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(model_text())
    first = _gen(str(src), "-o", "-").stdout
    assert first and first == _gen(str(src), "-o", "-").stdout
