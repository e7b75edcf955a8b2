"""Back end: sign and log|det J| from the pivots and the lumps' blocks.

det J = product of the pivots a of the k = 1 lumps x product of det A of the k >= 2 lumps
(SPEC section 2), so log|det J| is a sum of logarithms accumulated with the primal, at a
cost proportional to running f: what normalising flows need, with no Jacobian formed.
A zero pivot or singular lump raises SingularJacobianError (det J = 0) like the inverse modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import _astlib as A
from . import structured
from .emit_common import UNROLL_MAX_K, Emitter, Writer, _det
from ..analysis.lumps import Lump
from ..analysis.graph import _bind_ns
from ..analysis.regions import Rolled, Straight, Regions
from ..sym import ONE, ZERO, Fn, Num
from . import emit_loops as L
from .logabs import definitions, sign_log


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
    return _parity(perm)


@dataclass
class Folded:
    """The constant pivots of a region, added up at transform time: one statement for all."""
    log: float = 0.0
    sign: float = 1.0

    def flush(self, w: Writer, sign: str, logdet: str) -> None:
        if self.sign < 0:
            w.stmt(A.assign(sign, A.unary("neg", A.name(sign))))
        if self.log != 0.0:
            w.comment("the constant pivots of the lumps above, together")
            w.stmt(A.accumulate(logdet, "sub" if self.log < 0 else "add", A.const(abs(self.log))))
        self.log, self.sign = 0.0, 1.0


def pivot_log(em: Emitter, w: Writer, lump: Lump, jac, defs, sign: str, logdet: str,
              folded: Folded | None = None) -> None:
    """A k = 1 lump: sign and log|a| of its pivot taken symbolically (:mod:`logabs`), so a
    pivot that overflows or underflows as a float (1/y at y = 1e-320, exp(y) at y = -800)
    still adds its finite log; log|a| = -inf is a zero pivot (J singular). A constant
    pivot goes to ``folded`` (log 1 = 0 adds nothing)."""
    new, old = lump.new[0], lump.killed[0]
    part_sign, part_log = sign_log(jac[new].get(old, ZERO), defs)
    if folded is not None and isinstance(part_sign, Num) and isinstance(part_log, Num) \
            and math.isfinite(part_log.value):
        folded.log += part_log.value
        folded.sign *= 1.0 if part_sign.value >= 0 else -1.0
        return
    part_sign, part_log = (_bind_ns(e, em.numpy) if em.numpy else e for e in (part_sign, part_log))
    part_log = em.bind(w, em.namer.fresh(f"log_d{new.name}_d{old.name}"), part_log)
    em.check_finite(w, part_log, "log_pivot", em.site(lump) + [A.const_str(f"d {new.name} / d {old.name}")])
    if part_sign != ONE:
        w.stmt(A.accumulate(sign, "mul", em.expr(part_sign)))
    if part_log != ZERO:
        w.stmt(A.accumulate(logdet, "add", em.expr(part_log)))


def _constant_pivot(em: Emitter, lump: Lump, defs, folded: Folded) -> bool:
    """True (and the pivot folded) when the pivot of a k = 1 lump is a number: then the
    lump emits nothing, not even its partials."""
    pivot = em.constant_pivot(lump)
    if pivot is None:
        return False
    scratch = Writer()
    pivot_log(em, scratch, lump, {lump.new[0]: {lump.killed[0]: pivot}}, defs, "", "", folded)
    return not scratch.lines


def emit_slogdet(em: Emitter, regions: Regions) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""sign and log|det J| for {prog.name}: returns (f(x), (sign, logabsdet))."""')
    sign, logdet = em.namer.fresh("sign"), em.namer.fresh("logabsdet")
    flat = len(regions.parts) == 1 and isinstance(regions.parts[0], Straight)
    em.unpack_primals(w)
    if flat:                                     # the primal, then the pivots
        L.primal_regions(em, w, regions)
    w.comment("det J = (sign of the register permutation) x product of the pivots and of det A")
    w.stmt(A.assign(sign, A.const(float(static_parity(regions)))))
    w.stmt(A.assign(logdet, A.const(0.0)))
    slogdet_regions(em, w, regions, sign, logdet, primal=not flat)
    if em.numpy:                            # the sign shaped like the batch, as logabsdet
        w.stmt(A.accumulate(sign, "mul", A.call(A.attribute(em.numpy, "ones_like"), [A.name(logdet)])))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), A.tuple_([A.name(sign), A.name(logdet)])])))
    return [f"def {prog.name}_slogdet({', '.join(em.primal_args())}):"] + w.lines


def static_parity(regions: Regions) -> int:
    """The sign of the register permutations of a regions, outside its loops' bodies:
    each straight region's, and for each loop, how its entry and exit orders sit in the
    boundaries (each iteration's own parity is applied inside the loop)."""
    parity = 1
    for i, region in enumerate(regions.parts):
        if isinstance(region, Straight):
            parity *= register_parity(region.program, region.lumps)
            continue
        before, after = regions.live[i], regions.live[i + 1]
        inner = [c.entry for c in region.carried] + region.invariants
        rest = [v for v in before if all(v is not u for u in inner)]
        parity *= _order_parity(before, inner + rest)
        parity *= _order_parity([c.var for c in region.carried] + region.invariants + rest, after)
    return parity


def _order_parity(a: list, b: list) -> int:
    """The sign of the permutation that puts the values of ``a`` in the order of ``b``."""
    position = {id(v): i for i, v in enumerate(b)}
    perm = [position[id(v)] for v in a]
    return _parity(perm)


def slogdet_regions(em: Emitter, w: Writer, regions: Regions, sign: str, logdet: str,
                    primal: bool) -> None:
    for region in regions.parts:
        if isinstance(region, Rolled):
            loop = region.loop
            L.loop_comment(em, w, loop, ", accumulating log|det| per iteration")
            L.enter(em, w, loop)
            L.header(em, w, loop)
            w.level += 1
            if static_parity(region.body) == -1:
                w.stmt(A.assign(sign, A.unary("neg", A.name(sign))))
            slogdet_regions(em, w, region.body, sign, logdet, primal=True)
            L.carry_back(em, w, loop)
            w.level -= 1
            w._last_comment = None
            continue
        with em.using(region.graph):
            if primal:
                for stmt in em.graph.order:
                    em.step_comment(w, stmt)
                    w.stmt(em.primal(stmt))
            defs = definitions(em.graph.order)
            folded = Folded()
            for lump in region.lumps:
                _lump_logdet(em, w, lump, sign, logdet, defs, folded)
            folded.flush(w, sign, logdet)


def _lump_logdet(em: Emitter, w: Writer, lump: Lump, sign: str, logdet: str, defs, folded: Folded) -> None:
    if lump.k == 1 and _constant_pivot(em, lump, defs, folded):
        return
    em.lump_comment(w, lump)
    jac = em.lump_jacobian(w, lump)
    if lump.k == 1:
        pivot_log(em, w, lump, jac, defs, sign, logdet)
        return
    elif lump.k <= UNROLL_MAX_K:
        amat, _ = em.matrices(w, lump, jac)
        det = em.bind(w, em.namer.fresh("det"), _det(amat))
        em.check_nonzero(w, det, "singular_lump", em.site(lump) + [A.const(lump.k)])
    else:
        if structured.handles(em, lump):            # a sparse block A
            part_sign, part_log = structured.slogdet_lump(em, w, lump, jac)
        else:
            amat, _ = em.matrices(w, lump, jac)
            part_sign, part_log = em.namer.fresh("lump_sign"), em.namer.fresh("lump_logabsdet")
            rows = A.tuple_([A.tuple_([em.expr(x) for x in row]) for row in amat])
            w.stmt(A.assign([part_sign, part_log], A.call(em.runtime("slogdet"), [rows] + em.site(lump))))
        w.stmt(A.accumulate(sign, "mul", A.name(part_sign)))
        w.stmt(A.accumulate(logdet, "add", A.name(part_log)))
        return
    w.stmt(A.accumulate(sign, "mul", em.expr(Fn("sign", (det,)))))
    w.stmt(A.accumulate(logdet, "add", em.expr(Fn("log", (Fn("abs", (det,)),)))))


def _parity(perm: list[int]) -> int:
    """The sign of a permutation, from the lengths of its cycles (an even cycle flips it)."""
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
