"""Back end: forward mode, v -> J v, interleaved with the primal (works for any m x n)."""

from __future__ import annotations

from .. import _astlib as A
from .emit_common import Emitter, Writer
from ..ir import Value
from ..sym import Ref, ZERO


def emit_jvp(em: Emitter) -> list[str]:
    prog = em.program
    args = em.primal_args() + em.input_args("dot")
    w = Writer()
    w.line(f'"""J v for {prog.name}: returns (f(x), J x_dot) for tangents of ({em.wrt_text()})."""')
    em.unpack_primals(w)
    em.unpack_inputs(w, "dot")
    for stmt in em.graph.order:
        em.step_comment(w, stmt)
        w.stmt(em.primal(stmt))
        if stmt.active:
            tangent = ZERO
            for arg, part in em.graph.partials[stmt].items():
                tangent = tangent + part * Ref(em.dot(arg))
            w.stmt(A.assign(em.dot(stmt.target), em.expr(tangent)))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    dots = [A.name(em.dot(o)) if isinstance(o, Value) and o.active else em.zero_like(o.sym())
            for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), em.pack(dots)])))
    return [f"def {prog.name}_jvp({', '.join(args)}):"] + w.lines
