"""Back end: forward-inverse mode, v -> J^-1 v (solves J x_dot = y_dot).

The primal runs first; then the lumps are undone last to first: for k = 1,
``old_dot = (new_dot - b . read_dot) / a``; for k >= 2, ``W_dot = solve(A, new_dot - B R_dot)``.
"""

from __future__ import annotations

from .. import _astlib as A
from . import structured
from .emit_common import Emitter, Writer
from .registers import _base as register_base
from .tape import within
from ..analysis.lumps import Lump
from ..analysis.regions import Rolled, Regions
from ..ir import Value
from ..sym import Ref
from . import emit_loops as L


def ijvp_lump(em: Emitter, w: Writer, lump: Lump) -> None:
    """The killed values' tangents from the new values' and the read values' tangents."""
    jac = em.lump_jacobian(w, lump)
    if lump.k == 1:
        a, bs = em.pivot(w, lump, jac)
        rhs = Ref(em.dot(lump.new[0]))
        for r, b in bs.items():
            rhs = rhs - b * Ref(em.dot(r))
        em.assign(w, em.dot(lump.killed[0]), rhs / a)
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


def emit_ijvp(em: Emitter, regions: Regions) -> list[str]:
    prog = em.program
    args = em.primal_args() + em.output_args("dot")
    w = Writer()
    w.line(f'"""J^-1 v for {prog.name}: returns (f(x), x_dot) where J x_dot = y_dot, '
           f'x_dot for ({em.wrt_text()})."""')
    em.unpack_outputs(w, "dot", [em.dot(o) for o in prog.outputs])
    tapes = L.Tapes()
    em.unpack_primals(w)
    L.primal_regions(em, w, regions, tapes)
    leaves = [em.expr(o.sym()) for o in prog.outputs]
    if tapes.by_loop:                      # the reversed loops reuse the carried names: copy
        names = [em.namer.fresh(f"{o.name}_out") if isinstance(o, Value) else None for o in prog.outputs]
        L.assign_pairs(em, w, [n for n in names if n], [e for n, e in zip(names, leaves) if n])
        leaves = [A.name(n) if n else e for n, e in zip(names, leaves)]
    outs = em.pack(leaves)
    mark = len(w.lines)
    w.comment("inverse sweep, last lump to first")
    ijvp_regions(em, w, regions, tapes)
    L.Tapes.finish(tapes, [w])
    if not em.compiled:                    # a long sweep: the primal values it reads on a stack
        stacked = within(w.lines, mark, em.tape, lambda n: em.namer.fresh(register_base(n)))
        if stacked is not None:
            w.lines[:] = stacked
    dots = A.tuple_(em.pack_inputs("dot"))
    w.stmt(A.return_(A.tuple_([outs, dots])))
    return [f"def {prog.name}_ijvp({', '.join(args)}):"] + w.lines


def ijvp_regions(em: Emitter, w: Writer, regions: Regions, tapes: L.Tapes) -> None:
    """The inverse sweep of every region, last to first."""
    for region in reversed(regions.parts):
        if isinstance(region, Rolled):
            ijvp_loop(em, w, region, tapes, lambda: ijvp_regions(em, w, region.body, tapes))
            continue
        with em.using(region.graph):
            for lump in reversed(region.lumps):
                em.lump_comment(w, lump)
                ijvp_lump(em, w, lump)


def ijvp_loop(em: Emitter, w: Writer, region: Rolled, tapes: L.Tapes, body) -> None:
    """The reversed loop: per iteration, the tangents of its results are those of the
    carried values; ``body()`` undoes the body's lumps, giving the tangents it started from."""
    def iteration():
        L.copy_pairs(em, w, [(c.result, c.var) for c in region.carried], em.dot)
        body()
    L.reversed_loop(em, w, region, tapes, iteration)
    L.copy_pairs(em, w, [(c.entry, c.var) for c in region.carried
                            if isinstance(c.entry, Value) and c.entry.active], em.dot)
