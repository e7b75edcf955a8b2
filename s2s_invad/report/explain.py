"""The explain report: SSA, live width at each point, each step's pivot, and the lumps (for each
lump with k >= 2 the pattern of its blocks A and B and how A is solved: analysis/pattern.py)."""

from __future__ import annotations

from collections import Counter

from .. import _astlib as A
from ..back.emit_common import Emitter, names_text
from ..errors import NotInvertibleError
from ..analysis.graph import LayeredGraph, build_graph
from ..analysis.lumps import Lump, check_invertible, lumpify
from ..analysis.pattern import describe as describe_structure
from ..pipeline import Analysis


def _pivot_text(em: Emitter, lump: Lump) -> str:
    if lump.k != 1 or len(lump.steps) != 1:
        return ""
    new, old = lump.new[0], lump.killed[0]
    a = em.graph.partials[lump.steps[0]].get(old)
    return f"pivot d {new.name} / d {old.name} = {A.to_source(em.expr(a)) if a is not None else 0}"


def _widths_text(widths: list[int]) -> str:
    """The width profile: every width for short programs, else runs ``3x5`` or a histogram."""
    if len(widths) <= 40:
        return "[" + ", ".join(map(str, widths)) + "]"
    runs: list[list[int]] = []
    for w in widths:
        if runs and runs[-1][0] == w:
            runs[-1][1] += 1
        else:
            runs.append([w, 1])
    if len(runs) <= 30:
        return ", ".join(f"{w}x{c}" if c > 1 else str(w) for w, c in runs)
    hist = Counter(widths)
    return (f"{len(runs)} runs, widths {min(widths)}..{max(widths)}; points per width: "
            + ", ".join(f"{w}: {hist[w]}" for w in sorted(hist)))


def _lines_text(lines: list[int]) -> str:
    spans: list[list[int]] = []
    for ln in lines:
        if spans and ln == spans[-1][1] + 1:
            spans[-1][1] = ln
        else:
            spans.append([ln, ln])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
    return ("line " if len(lines) == 1 else "lines ") + text


def _order_summary(title: str, graph: LayeredGraph, lumps: list[Lump] | None, problem) -> list[str]:
    """Width profile, lumps (k, source lines) and sum of k^3 of one order."""
    out = [f"  {title}:", f"    widths: {_widths_text(graph.widths)}"]
    if lumps is None:
        return out + [f"    not invertible in this order: {problem}"]
    ks = [l.k for l in lumps]
    out.append(f"    lumps: {len(ks)}; largest k = {max(ks, default=0)}; "
               f"sum of k^3 = {sum(k ** 3 for k in ks)}")
    if len(lumps) <= 20:
        shown = lumps
    else:
        counts = Counter(ks)
        out.append("    lumps per k: " + ", ".join(f"k = {k}: {counts[k]}" for k in sorted(counts)))
        shown = [l for l in lumps if l.k >= 2]
    for l in shown[:20]:
        out.append(f"    k = {l.k}: {_lines_text(l.lines)}")
    if len(shown) > 20:
        out.append(f"    ... and {len(shown) - 20} more")
    return out


def _schedule_report(analysis: Analysis) -> list[str]:
    """Source order against the chosen schedule (SPEC section 4)."""
    prog, graph = analysis.program, analysis.graph
    chosen = _order_summary("chosen schedule", graph, analysis.lumps, analysis.not_invertible)
    if not analysis.scheduled:
        return ["Schedule: off (schedule=False), the statements keep their source order"] + chosen[1:]
    if len(graph.order) == len(prog.body) and all(a is b for a, b in zip(graph.order, prog.body)):
        return ["Schedule: the scheduler keeps the source order (it found no order with smaller lumps)"] \
            + chosen[1:]
    source = build_graph(prog, prog.body)
    try:
        check_invertible(source)
        lumps, problem = lumpify(source), None
    except NotInvertibleError as exc:
        lumps, problem = None, exc
    return (["Schedule: the scheduler reorders the statements (least largest k, then least sum of k^3)"]
            + _order_summary("source order", source, lumps, problem) + chosen)


def loops_report(prog) -> list[str]:
    """Which source loops stay loops and which are unrolled, and why (SPEC section 9)."""
    if not prog.loop_notes:
        return []
    out = ["Loops:"]
    for note in prog.loop_notes:
        how = "kept as a loop" if note.rolled else "unrolled"
        out.append(f"  line {note.line}: `{prog.source_line(note.line)}` ({note.count} iterations): "
                   f"{how}: {note.reason}")
    return out + [""]


def _lumps_summary(lumps, indent: str, title: str = "lumps") -> list[str]:
    ks = [l.k for l in lumps]
    out = [f"{indent}{title}: {len(ks)} (k = 1: {ks.count(1)}, k >= 2: {len(ks) - ks.count(1)}); "
           f"largest k = {max(ks, default=0)}; sum of k^3 = {sum(k ** 3 for k in ks)}"]
    for l in [l for l in lumps if l.k >= 2][:20]:
        out.append(f"{indent}  k = {l.k} at {_lines_text(l.lines)}: W = ({_short(l.killed)}), "
                   f"R = ({_short(l.read)})")
    return out


def _short(values, limit: int = 8) -> str:
    names = [v.name for v in values]
    return ", ".join(names) if len(names) <= limit else f"{', '.join(names[:3])}, ... ({len(names)} values)"


def _regions_report(regions, indent: str) -> list[str]:
    from ..analysis.regions import Rolled
    out = []
    for i, region in enumerate(regions.parts):
        width = len(regions.live[i])
        if isinstance(region, Rolled):
            loop = region.loop
            out.append(f"{indent}loop at line {loop.line} ({len(loop.carried)} carried, "
                       f"{len(region.carried)} active; invariants: {_short(region.invariants) or '-'}); "
                       f"width {width} at entry; its body, once for every iteration:")
            out += _regions_report(region.body, indent + "    ")
            continue
        steps = region.graph.steps
        lines = sorted({s.line for s in steps})
        what = _lines_text(lines) if lines else "no active steps"
        out.append(f"{indent}straight region, {what}: widths {_widths_text(region.graph.widths)}")
        if region.lumps is not None:
            out += _lumps_summary(region.lumps, indent + "  ")
        elif region.problem is not None:
            out.append(f"{indent}  not invertible: {region.problem}")
    return out


def _rolled_report(analysis: Analysis) -> str:
    prog = analysis.program
    n = len(prog.wrt)
    out = [f"s2s_invad report for {prog.name} ({prog.filename}:{prog.def_line})",
           f"differentiated inputs (n = {n}): {', '.join(p.name for p in prog.wrt)}; "
           f"outputs (m = {len(prog.outputs)}): {', '.join(map(repr, prog.outputs))}", ""]
    out += loops_report(prog)
    out += ["SSA (loops kept as loops are indented):", prog.dump(), "",
            "Regions (the live width must be n between them for the inverse modes):"]
    out += _regions_report(analysis.regions, "  ")
    out.append("")
    if analysis.lumps is None:
        out.append(f"Inverse modes: not available: {analysis.not_invertible}")
    else:
        out += _lumps_summary(analysis.lumps, "", "Lumps (of one iteration, for loops kept as loops)") + [
            "det J = product over the regions (and over each loop's iterations) of the pivots and "
            "of det A of the lumps with k >= 2."]
    return "\n".join(out)


def explain(analysis: Analysis, compiled: bool = False) -> str:
    """``compiled``: report the lumps' methods as a compiling backend gets them."""
    if analysis.rolled:
        return _rolled_report(analysis)
    return _flat_report(analysis, compiled)


def _flat_report(analysis: Analysis, compiled: bool = False) -> str:
    prog, graph = analysis.program, analysis.graph
    em = Emitter(prog, graph, compiled=compiled)
    n = len(prog.wrt)
    out = [f"s2s_invad report for {prog.name} ({prog.filename}:{prog.def_line})",
           f"differentiated inputs (n = {n}): {', '.join(p.name for p in prog.wrt)}; "
           f"outputs (m = {len(prog.outputs)}): {', '.join(map(repr, prog.outputs))}",
           ""] + loops_report(prog) + ["SSA:", prog.dump(), "",
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
    out += _schedule_report(analysis) + [""]
    if analysis.lumps is None:
        out.append(f"Inverse modes: not available: {analysis.not_invertible}")
        return "\n".join(out)
    ks = [l.k for l in analysis.lumps]
    big = [l for l in analysis.lumps if l.k >= 2]
    out.append(f"Lumps: {len(ks)} (k = 1: {ks.count(1)}, k >= 2: {len(big)}); largest k = {max(ks, default=0)}; "
               f"sum of k^3 = {sum(k ** 3 for k in ks)}")
    for l in big:
        lines = f"line {l.lines[0]}" if len(l.lines) == 1 else f"lines {l.lines[0]}-{l.lines[-1]}"
        out.append(f"  k = {l.k} at {lines}: W = ({names_text(l.killed)}), R = ({names_text(l.read)}), "
                   f"new = ({names_text(l.new)})")
        out += ["      " + line for line in describe_structure(em.structure(l))]
    out.append("det J = product of the pivots x product of det A over the lumps with k >= 2.")
    return "\n".join(out)
