"""Back end: sign and log|det J| from the pivots and the lumps' blocks.

det J = product of the pivots a of the k = 1 lumps x product of det A of the k >= 2 lumps
(SPEC section 2), so log|det J| is a sum of logarithms accumulated with the primal, at a
cost proportional to running f: what normalising flows need, with no Jacobian formed.
A zero pivot or singular lump raises SingularJacobianError (det J = 0) like the inverse modes.
"""

from __future__ import annotations

from .. import _astlib as A
from . import structured
from .emit_common import UNROLL_MAX_K, Emitter, Writer, _det
from .emit_jvp import shaped
from ..analysis.lumps import Lump
from ..sym import Fn


def register_parity(prog, lumps: list[Lump]) -> int:
    """+1 or -1: the sign of the permutation from input registers to output positions.

    Each lump's i-th new value takes the register of its i-th killed value (the pairing
    its block A uses), so the product of pivots and det A is det J up to this sign.
    """
    slot = {p: i for i, p in enumerate(prog.wrt)}
    for lump in lumps:
        for old, new in zip(lump.killed, lump.new):
            slot[new] = slot.pop(old)
    perm = [slot[o] for o in prog.outputs]
    parity, seen = 1, set()
    for start in range(len(perm)):                   # count the cycles
        if start in seen:
            continue
        length, j = 0, start
        while j not in seen:
            seen.add(j)
            j = perm[j]
            length += 1
        parity *= -1 if length % 2 == 0 else 1
    return parity


def emit_slogdet(em: Emitter, lumps: list[Lump]) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""sign and log|det J| for {prog.name}: returns (f(x), (sign, logabsdet))."""')
    em.primal_block(w)
    sign, logdet = em.namer.fresh("sign"), em.namer.fresh("logabsdet")
    w.comment("det J = (sign of the register permutation) x product of the pivots and of det A")
    w.stmt(A.assign(sign, A.const(float(register_parity(prog, lumps)))))
    w.stmt(A.assign(logdet, A.const(0.0)))
    for lump in lumps:
        em.lump_comment(w, lump)
        jac = em.lump_jacobian(w, lump)
        if lump.k == 1:
            det, _ = em.pivot(w, lump, jac)
        elif lump.k <= UNROLL_MAX_K:
            amat, _ = em.matrices(w, lump, jac)
            det = em.bind(w, em.namer.fresh("det"), _det(amat))
            em.check_nonzero(w, det, "singular_lump", em.site(lump) + [A.const(lump.k)])
        else:
            if structured.handles(em, lump):        # a sparse block A
                part_sign, part_log = structured.slogdet_lump(em, w, lump, jac)
            else:
                amat, _ = em.matrices(w, lump, jac)
                part_sign, part_log = em.namer.fresh("lump_sign"), em.namer.fresh("lump_logabsdet")
                rows = A.tuple_([A.tuple_([em.expr(x) for x in row]) for row in amat])
                w.stmt(A.assign([part_sign, part_log], A.call(em.runtime("slogdet"), [rows] + em.site(lump))))
            w.stmt(A.accumulate(sign, "mul", A.name(part_sign)))
            w.stmt(A.accumulate(logdet, "add", A.name(part_log)))
            continue
        w.stmt(A.accumulate(sign, "mul", em.expr(Fn("sign", (det,)))))
        w.stmt(A.accumulate(logdet, "add", em.expr(Fn("log", (Fn("abs", (det,)),)))))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([shaped(prog, outs), A.tuple_([A.name(sign), A.name(logdet)])])))
    return [f"def {prog.name}_slogdet({', '.join(p.name for p in prog.params)}):"] + w.lines
