"""Back end: reverse-inverse mode, w -> J^-T w (solves J^T y_bar = x_bar).

The primal runs first; the returned closure walks the lumps first to last: for k = 1,
``new_bar = old_bar / a; read_bar -= b * new_bar``; for k >= 2,
``new_bar = solve(A^T, W_bar); R_bar -= B^T new_bar``.
"""

from __future__ import annotations

from .. import _astlib as A
from . import structured
from .emit_common import Emitter, Writer, transpose
from .emit_jvp import shaped
from ..analysis.lumps import Lump
from ..sym import Ref, ZERO


def emit_ivjp(em: Emitter, lumps: list[Lump]) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""J^-T w for {prog.name}: returns (f(x), sweep); '
           f'sweep(x_bar) gives y_bar with J^T y_bar = x_bar."""')
    em.primal_block(w)

    em.refs.clear()
    inner = Writer(level=1)
    for lump in lumps:
        em.lump_comment(inner, lump)
        jac = em.lump_jacobian(inner, lump)
        if lump.k == 1:
            a, bs = em.pivot(inner, lump, jac)
            new = lump.new[0]
            inner.stmt(A.assign(em.bar(new), em.expr(Ref(em.bar(lump.killed[0])) / a)))
            for r, b in bs.items():
                em.accumulate(inner, em.bar(r), "sub", b * Ref(em.bar(new)))
        elif structured.handles(em, lump):          # k > 3 with a sparse block A
            structured.ivjp_lump(em, inner, lump, jac)
        else:
            amat, bmat = em.matrices(inner, lump, jac)
            em.solve(inner, lump, transpose(amat), [Ref(em.bar(u)) for u in lump.killed],
                     [em.bar(v) for v in lump.new])
            for j, r in enumerate(lump.read):
                total = ZERO
                for i, v in enumerate(lump.new):
                    total = total + bmat[i][j] * Ref(em.bar(v))
                if total != ZERO:
                    em.accumulate(inner, em.bar(r), "sub", total)
    bars = [A.name(em.bar(o)) for o in prog.outputs]
    inner.stmt(A.return_(shaped(prog, bars)))

    sweep = em.sweep_function(w, f"{prog.name}_ivjp_sweep", inner, [em.bar(p) for p in prog.wrt],
                               f"Reverse-inverse sweep of {prog.name}_ivjp, first lump to last.")
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([shaped(prog, outs), sweep])))
    return [f"def {prog.name}_ivjp({', '.join(p.name for p in prog.params)}):"] + w.lines
