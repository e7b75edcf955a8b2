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
from ..sym import ONE, ZERO, Fn, Num, Op, Ref, Sym
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
    if not em.numpy:
        part_sign, part_log = _zero_logs(em, w, part_sign, part_log, f"d{new.name}_d{old.name}")
    part_log = em.bind(w, em.namer.fresh(f"log_d{new.name}_d{old.name}"), part_log)
    em.check_finite(w, part_log, "log_pivot", em.site(lump) + [A.const_str(f"d {new.name} / d {old.name}")])
    if part_sign != ONE:
        w.stmt(A.accumulate(sign, "mul", em.expr(part_sign)))
    if part_log != ZERO:
        w.stmt(A.accumulate(logdet, "add", em.expr(part_log)))


def _zero_logs(em: Emitter, w: Writer, part_sign: Sym, part_log: Sym, label: str) -> tuple[Sym, Sym]:
    """Math code: each ``log|e|`` of ``part_log`` bound as ``math.log(abs(e)) if e else -math.inf``
    (``e`` bound first unless it is a name), and ``e`` read from there by ``part_sign`` too.

    math.log raises at 0 where NumPy's log gives -inf: a pivot with a factor that is zero here
    (sinh(x) of cosh(x) at 0, x**2 of x**3) was a domain error, a NonFiniteError. As -inf,
    log|pivot| = -inf is a zero pivot (log_pivot raises SingularJacobianError, as the inverse
    modes do) and a zero divisor gives +inf (an infinite pivot, NonFiniteError)."""
    leaves: dict[Sym, None] = {}
    stack = [part_log]
    while stack:
        e = stack.pop()
        if isinstance(e, Fn) and e.fn == "log" and isinstance(e.args[0], Fn) and e.args[0].fn == "abs":
            leaves.setdefault(e.args[0].args[0])
        elif isinstance(e, (Op, Fn)):
            stack.extend(reversed(e.args))
    if not leaves:
        return part_sign, part_log
    inf = A.to_source(em.math_attribute("inf"))
    factors, logs = {}, {}
    for leaf in leaves:
        factor = em.bind(w, em.namer.fresh(f"pivot_{label}"), leaf)
        log_abs = Fn("log", (Fn("abs", (factor,)),))
        name = em.namer.fresh(f"log_pivot_{label}")
        w.statement(f"{name} = {em.text(log_abs)[0]} if {em.text(factor)[0]} else -{inf}")
        em.bound.append(name)
        factors[leaf], logs[Fn("log", (Fn("abs", (leaf,)),))] = factor, Ref(name)
    return _replaced(part_sign, factors), _replaced(part_log, logs)


def _replaced(e: Sym, table: dict) -> Sym:
    """``e`` with each subexpression that is a key of ``table`` replaced by its value."""
    if e in table:
        return table[e]
    if isinstance(e, Op):
        return Op(e.op, tuple(_replaced(a, table) for a in e.args))
    if isinstance(e, Fn):
        return Fn(e.fn, tuple(_replaced(a, table) for a in e.args), e.ns)
    return e


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
