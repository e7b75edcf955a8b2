"""Back end: reverse-inverse mode, w -> J^-T w (solves J^T y_bar = x_bar).

The primal runs first; the returned closure walks the lumps first to last: for k = 1,
``new_bar = old_bar / a; read_bar -= b * new_bar``; for k >= 2,
``new_bar = solve(A^T, W_bar); R_bar -= B^T new_bar``.
"""

from __future__ import annotations

from .. import _astlib as A
from . import structured
from .emit_common import Emitter, Writer, transpose
from ..analysis.lumps import Lump
from ..analysis.regions import Rolled, Regions
from ..ir import Value
from ..sym import Ref, ZERO
from . import emit_loops as L


def emit_ivjp(em: Emitter, regions: Regions) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""J^-T w for {prog.name}: returns (f(x), sweep); '
           f'sweep(x_bar) gives y_bar with J^T y_bar = x_bar."""')
    em.unpack_primals(w)
    L.primal_regions(em, w, regions)

    em.refs.clear()
    inner = Writer(level=1)
    em.unpack_inputs(inner, "bar")
    ivjp_regions(em, inner, regions)
    bars = [A.name(em.bar(o)) for o in prog.outputs]
    inner.stmt(A.return_(em.pack(bars)))

    local = set()
    for region in regions.parts:
        if isinstance(region, Rolled):
            local |= L.iteration_locals(region.loop)
    sweep = em.sweep_function(w, "ivjp_sweep", inner, em.input_args("bar"),
                               f"Reverse-inverse sweep of {prog.name}_ivjp, first lump to last.",
                               frozenset(local), L.outer_defined(prog, regions), chunked=True)
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), sweep])))
    return [f"def {prog.name}_ivjp({', '.join(em.primal_args())}):"] + w.lines


def ivjp_regions(em: Emitter, w: Writer, regions: Regions) -> None:
    """The reverse-inverse sweep of every region, first to last."""
    for region in regions.parts:
        if isinstance(region, Rolled):
            _ivjp_loop(em, w, region)
            continue
        with em.using(region.graph):
            for lump in region.lumps:
                ivjp_lump(em, w, lump)


def ivjp_lump(em: Emitter, w: Writer, lump: Lump) -> None:
    """``new_bar = W_bar / a; R_bar -= b new_bar`` (k = 1), or with A^T and B^T."""
    em.lump_comment(w, lump)
    jac = em.lump_jacobian(w, lump)
    if lump.k == 1:
        a, bs = em.pivot(w, lump, jac)
        new = lump.new[0]
        em.assign(w, em.bar(new), Ref(em.bar(lump.killed[0])) / a)
        for r, b in bs.items():
            em.accumulate(w, em.bar(r), "sub", b * Ref(em.bar(new)))
        return
    if structured.handles(em, lump):                # k > 3 with a sparse block A
        structured.ivjp_lump(em, w, lump, jac)
        return
    amat, bmat = em.matrices(w, lump, jac)
    em.solve(w, lump, transpose(amat), [Ref(em.bar(u)) for u in lump.killed],
             [em.bar(v) for v in lump.new])
    for j, r in enumerate(lump.read):
        total = ZERO
        for i, v in enumerate(lump.new):
            total = total + bmat[i][j] * Ref(em.bar(v))
        if total != ZERO:
            em.accumulate(w, em.bar(r), "sub", total)


def _ivjp_loop(em: Emitter, w: Writer, region: Rolled) -> None:
    """The loop runs forwards again from its entry values: each iteration recomputes its
    primal and passes the cotangents on, lump by lump (constant memory)."""
    loop = region.loop
    L.loop_comment(em, w, loop, "; the sweep runs it forwards again")
    L.enter(em, w, loop)
    L.copy_pairs(em, w, [(c.var, c.entry) for c in region.carried
                         if isinstance(c.entry, Value) and c.entry.active], em.bar)
    L.header(em, w, loop)
    w.level += 1
    L.primal_regions(em, w, region.body)
    ivjp_regions(em, w, region.body)
    L.carry_back(em, w, loop)
    L.copy_pairs(em, w, [(c.var, c.result) for c in region.carried], em.bar)
    w.level -= 1
    w._last_comment = None
