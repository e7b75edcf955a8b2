"""Back end: forward-inverse mode, v -> J^-1 v (solves J x_dot = y_dot).

The primal runs first; then the lumps are undone last to first: for k = 1,
``old_dot = (new_dot - b . read_dot) / a``; for k >= 2, ``W_dot = solve(A, new_dot - B R_dot)``.
"""

from __future__ import annotations

from .. import _astlib as A
from . import structured
from .emit_common import Emitter, Writer
from .emit_jvp import shaped
from ..analysis.lumps import Lump
from ..sym import Ref


def ijvp_lump(em: Emitter, w: Writer, lump: Lump) -> None:
    """The killed values' tangents from the new values' and the read values' tangents."""
    jac = em.lump_jacobian(w, lump)
    if lump.k == 1:
        a, bs = em.pivot(w, lump, jac)
        rhs = Ref(em.dot(lump.new[0]))
        for r, b in bs.items():
            rhs = rhs - b * Ref(em.dot(r))
        w.stmt(A.assign(em.dot(lump.killed[0]), em.expr(rhs / a)))
        return
    if structured.handles(em, lump):                # k > 3 with a sparse block A
        structured.ijvp_lump(em, w, lump, jac)
        return
    amat, bmat = em.matrices(w, lump, jac)
    rhs = []
    for v, brow in zip(lump.new, bmat):
        e = Ref(em.dot(v))
        for r, b in zip(lump.read, brow):
            e = e - b * Ref(em.dot(r))
        rhs.append(e)
    em.solve(w, lump, amat, rhs, [em.dot(u) for u in lump.killed])


def emit_ijvp(em: Emitter, lumps: list[Lump]) -> list[str]:
    prog = em.program
    args = [p.name for p in prog.params] + [em.dot(o) for o in prog.outputs]
    w = Writer()
    w.line(f'"""J^-1 v for {prog.name}: returns (f(x), x_dot) where J x_dot = y_dot, '
           f'x_dot for ({", ".join(p.name for p in prog.wrt)})."""')
    em.primal_block(w)
    w.comment("inverse sweep, last lump to first")
    for lump in reversed(lumps):
        em.lump_comment(w, lump)
        ijvp_lump(em, w, lump)
    outs = [em.expr(o.sym()) for o in prog.outputs]
    dots = A.tuple_([A.name(em.dot(p)) for p in prog.wrt])
    w.stmt(A.return_(A.tuple_([shaped(prog, outs), dots])))
    return [f"def {prog.name}_ijvp({', '.join(args)}):"] + w.lines
