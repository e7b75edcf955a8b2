"""Planning: cut the scheduled steps into lumps, and refuse what cannot be inverted.

With n differentiated inputs, a *cut* is a program point where the live width is n. The
steps between two consecutive cuts form a lump (SPEC section 3): it overwrites k values
W (live before, dead after), creates k new values, and reads values R that stay live.
A lump with k = 1 is an equasive step with a (possibly compound) g: scalar rules, no
matrix. The inverse modes need the width never to drop below n (SPEC section 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotInvertibleError
from .graph import LayeredGraph
from ..ir import Stmt, Value


@dataclass
class Lump:
    start: int                   # the cut point before the lump
    stop: int                    # the cut point after it
    steps: list[Stmt]
    killed: list[Value]          # W: values overwritten (live at start, dead at stop)
    new: list[Value]             # the values that take their registers
    read: list[Value]            # R: values read and still live at stop

    @property
    def k(self) -> int:
        return len(self.killed)

    @property
    def lines(self) -> list[int]:
        return sorted({s.line for s in self.steps})


def lumpify(graph: LayeredGraph) -> list[Lump]:
    """The lumps of ``graph``, first to last (call :func:`check_invertible` first)."""
    n = len(graph.program.wrt)
    cuts = [p for p, w in enumerate(graph.widths) if w == n]
    order = {v: i for i, v in enumerate(graph.born)}        # birth order: deterministic
    lumps = []
    for start, stop in zip(cuts, cuts[1:]):
        steps = graph.steps[start:stop]
        killed, read, new = set(), set(), []
        for stmt in steps:
            for arg in graph.partials[stmt]:
                if graph.born[arg] <= start:
                    (killed if graph.end[arg] < stop else read).add(arg)
            if graph.end[stmt.target] >= stop:
                new.append(stmt.target)
        lumps.append(Lump(start, stop, steps, sorted(killed, key=order.get), new,
                          sorted(read, key=order.get)))
    return lumps


def check_invertible(graph: LayeredGraph) -> None:
    """Raise NotInvertibleError unless the inverse modes can exist for this program."""
    prog = graph.program
    check_signature(prog)
    n = len(prog.wrt)
    for p, w in enumerate(graph.widths):
        if w < n:
            stmt = graph.steps[p - 1]
            dying = [a.name for a in graph.partials[stmt] if graph.end[a] == p - 1]
            raise NotInvertibleError(
                f"{prog.filename}:{stmt.line}: `{prog.source_line(stmt.line)}` is contractive: "
                f"{' and '.join(dying)} die here, the live width drops to {w} < n = {n}, so J has "
                f"rank < {n} and no inverse (jvp and vjp still work)", stmt.line)


def check_signature(prog) -> None:
    """The conditions on inputs and outputs alone: m = n, every input reaches an output,
    every output depends on an input, no output twice."""
    where = f"{prog.filename}:{prog.def_line}"
    n, m = len(prog.wrt), len(prog.outputs)
    if m != n:
        raise NotInvertibleError(
            f"{where}: {prog.name} maps {n} differentiated input(s) to {m} output(s); the inverse "
            f"modes (ijvp, ivjp) need a square Jacobian, m = n (jvp and vjp work for any shape)",
            prog.def_line)
    for p in prog.wrt:
        if not p.active:
            raise NotInvertibleError(
                f"{where}: parameter '{p.name}' of {prog.name} reaches no output, so J has a zero "
                f"column and no inverse; differentiate fewer inputs (wrt=...) or use it", p.line)
    seen = set()
    ret_line = max(prog.lines) if prog.lines else prog.def_line
    for i, out in enumerate(prog.outputs):
        if not out.active:
            raise NotInvertibleError(
                f"{prog.filename}:{ret_line}: output {i} of {prog.name} ({out!r}) does not depend on "
                "the differentiated inputs, so J has a zero row and no inverse", ret_line)
        if out in seen:
            raise NotInvertibleError(
                f"{prog.filename}:{ret_line}: {prog.name} returns the value {out!r} twice, so J has two "
                "equal rows and no inverse", ret_line)
        seen.add(out)
