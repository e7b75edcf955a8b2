"""The explain report: SSA, live width at each point, each step's pivot, and the lumps."""

from __future__ import annotations

from . import _astlib as A
from .emit_common import Emitter
from .lumps import Lump
from .pipeline import Analysis


def _pivot_text(em: Emitter, lump: Lump) -> str:
    if lump.k != 1 or len(lump.steps) != 1:
        return ""
    new, old = lump.new[0], lump.killed[0]
    a = em.graph.partials[lump.steps[0]].get(old)
    return f"pivot d {new.name} / d {old.name} = {A.to_source(em.expr(a)) if a is not None else 0}"


def explain(analysis: Analysis) -> str:
    prog, graph = analysis.program, analysis.graph
    em = Emitter(prog, graph)
    n = len(prog.wrt)
    out = [f"s2s_invad report for {prog.name} ({prog.filename}:{prog.def_line})",
           f"differentiated inputs (n = {n}): {', '.join(p.name for p in prog.wrt)}; "
           f"outputs (m = {len(prog.outputs)}): {', '.join(map(repr, prog.outputs))}",
           "", "SSA:", prog.dump(), "",
           "Live width at each program point (active steps only):",
           f"{'point':>6} {'width':>6}  {'step':<36} {'line':>5}  note"]
    lump_end = {}
    for i, lump in enumerate(analysis.lumps or [], start=1):
        note = f"lump {i}: k = {lump.k}"
        pivot = _pivot_text(em, lump)
        lump_end[lump.stop] = note + (f", {pivot}" if pivot else f", W = {', '.join(v.name for v in lump.killed)}")
    out.append(f"{0:>6} {graph.widths[0]:>6}  {'entry: ' + ', '.join(v.name for v in graph.live(0)):<36}")
    for p, stmt in enumerate(graph.steps, start=1):
        out.append(f"{p:>6} {graph.widths[p]:>6}  {stmt!r:<36} {stmt.line:>5}  {lump_end.get(p, '')}".rstrip())
    out.append("")
    if analysis.lumps is None:
        out.append(f"Inverse modes: not available: {analysis.not_invertible}")
        return "\n".join(out)
    ks = [l.k for l in analysis.lumps]
    big = [l for l in analysis.lumps if l.k >= 2]
    out.append(f"Lumps: {len(ks)} (k = 1: {ks.count(1)}, k >= 2: {len(big)}); largest k = {max(ks, default=0)}; "
               f"sum of k^3 = {sum(k ** 3 for k in ks)}")
    for l in big:
        lines = f"line {l.lines[0]}" if len(l.lines) == 1 else f"lines {l.lines[0]}-{l.lines[-1]}"
        out.append(f"  k = {l.k} at {lines}: W = ({', '.join(v.name for v in l.killed)}), "
                   f"R = ({', '.join(v.name for v in l.read)}), new = ({', '.join(v.name for v in l.new)})")
    out.append("det J = product of the pivots x product of det A over the lumps with k >= 2.")
    return "\n".join(out)
