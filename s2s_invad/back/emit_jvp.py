"""Back end: forward mode, v -> J v, interleaved with the primal (works for any m x n).

Loops kept as loops become one forward loop carrying the tangents along."""

from __future__ import annotations

from .. import _astlib as A
from ..analysis.regions import Rolled, Regions
from ..ir import Value
from ..sym import Ref, ZERO
from . import emit_loops as L
from .emit_common import Emitter, Writer


def emit_jvp(em: Emitter, regions: Regions) -> list[str]:
    prog = em.program
    args = em.primal_args() + em.input_args("dot")
    w = Writer()
    w.line(f'"""J v for {prog.name}: returns (f(x), J x_dot) for tangents of ({em.wrt_text()})."""')
    em.unpack_primals(w)
    em.unpack_inputs(w, "dot")
    jvp_regions(em, w, regions)
    outs = [em.expr(o.sym()) for o in prog.outputs]
    dots = [A.name(em.dot(o)) if isinstance(o, Value) and o.active else em.zero_like(o.sym())
            for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), em.pack(dots)])))
    return [f"def {prog.name}_jvp({', '.join(args)}):"] + w.lines


def jvp_regions(em: Emitter, w: Writer, regions: Regions) -> None:
    for region in regions.parts:
        if isinstance(region, Rolled):
            _jvp_loop(em, w, region)
            continue
        with em.using(region.graph):
            for stmt in em.graph.order:
                em.step_comment(w, stmt)
                w.stmt(em.primal(stmt))
                if stmt.active:
                    tangent = ZERO
                    for arg, part in em.partials(stmt).items():
                        tangent = tangent + part * Ref(em.dot(arg))
                    if isinstance(tangent, Ref) and em.alias(stmt.target, "dot", tangent.name):
                        continue                     # x_1 = x + c: x_1_dot is x_dot, no copy
                    em.assign(w, em.dot(stmt.target), tangent)


def _jvp_loop(em: Emitter, w: Writer, region: Rolled) -> None:
    loop = region.loop
    L.loop_comment(em, w, loop)
    L.enter(em, w, loop)
    carried = region.carried
    L.assign_pairs(em, w, [em.dot(c.var) for c in carried],
                   [L.zero_or(em, em.dot, c.entry, c.entry) for c in carried])
    L.header(em, w, loop)
    w.level += 1
    jvp_regions(em, w, region.body)
    L.carry_back(em, w, loop)
    L.assign_pairs(em, w, [em.dot(c.var) for c in carried],
                   [L.zero_or(em, em.dot, c.result, c.var) for c in carried])
    w.level -= 1
    w._last_comment = None
