"""Back end: reverse mode, w -> J^T w. The primal runs first; the returned closure sweeps
the steps last to first (works for any m x n).

A loop kept as a loop runs forwards recording, per iteration, only the values its
backward sweep reads (into a list made once), then the sweep runs it in reverse."""

from __future__ import annotations

from .. import _astlib as A
from ..analysis.regions import Rolled, Regions
from ..ir import Value
from ..sym import Ref
from . import emit_loops as L
from .emit_common import Emitter, Writer


def vjp_step(em: Emitter, w: Writer, stmt, have: set) -> None:
    """``arg_bar += d target / d arg * target_bar`` for each active operand of ``stmt``."""
    if stmt.target not in have:
        return
    z_bar = Ref(em.bar(stmt.target))
    for arg, part in em.partials(stmt).items():
        contribution = part * z_bar
        if arg in have:
            em.accumulate(w, em.bar(arg), "add", contribution)
        else:
            em.assign(w, em.bar(arg), contribution)
            have.add(arg)


def output_cotangents(em: Emitter, w: Writer, have: set) -> list[str]:
    """Parameter names of the output cotangents (shaped like f's result), unpacked into one
    name per output scalar; a value returned twice adds both."""
    targets, twice = [], []
    for out in em.program.outputs:
        if isinstance(out, Value) and out.active and out not in have:
            targets.append(em.bar(out))
            have.add(out)
            continue
        name = em.namer.fresh("y_bar")
        targets.append(name)
        if isinstance(out, Value) and out.active:
            twice.append((name, out))
    em.unpack_outputs(w, "bar", targets)
    for name, out in twice:
        w.stmt(A.accumulate(em.bar(out), "add", A.name(name)))
    return em.output_args("bar")


def emit_vjp(em: Emitter, regions: Regions) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""J^T w for {prog.name}: returns (f(x), pullback); '
           f'pullback(y_bar) gives the cotangents of ({em.wrt_text()})."""')
    tapes = L.Tapes()
    em.unpack_primals(w)
    L.primal_regions(em, w, regions, tapes)

    em.refs.clear()
    inner = Writer(level=1)
    have: set[Value] = set()
    params = output_cotangents(em, inner, have)
    vjp_regions(em, inner, regions, have, tapes)
    inner.stmt(A.return_(A.tuple_(em.pack_inputs("bar", have))))
    L.Tapes.finish(tapes, [w, inner])

    pullback = em.sweep_function(w, "vjp_bwd", inner, params,
                                  f"Reverse sweep of {prog.name}_vjp, last step to first.",
                                  defined=L.outer_defined(prog, regions, tapes), chunked=True)
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), pullback])))
    return [f"def {prog.name}_vjp({', '.join(em.primal_args())}):"] + w.lines


def vjp_regions(em: Emitter, w: Writer, regions: Regions, have: set, tapes: L.Tapes) -> None:
    """The reverse sweep of every region, last to first."""
    for region in reversed(regions.parts):
        if isinstance(region, Rolled):
            vjp_loop(em, w, region, have, tapes, lambda body_have: vjp_regions(em, w, region.body,
                                                                                 body_have, tapes))
            continue
        with em.using(region.graph):
            for stmt in reversed(em.graph.steps):
                em.step_comment(w, stmt)
                vjp_step(em, w, stmt, have)


def vjp_loop(em: Emitter, w: Writer, region: Rolled, have: set, tapes: L.Tapes, body) -> None:
    """The reversed loop: per iteration, pass the cotangents of the iteration's results
    back to the values it started from; ``body(have)`` emits the body's own sweep."""
    start_bars(em, w, region, have)

    def iteration():
        body_have = set(region.invariants)
        result_bars(em, w, region, body_have)
        body(body_have)
        end_bars(em, w, region, body_have)
    L.reversed_loop(em, w, region, tapes, iteration)
    entry_bars(em, w, region, have)


def start_bars(em: Emitter, w: Writer, region: Rolled, have: set) -> None:
    """Before a reversed loop: zero cotangents for carried values and invariants that no
    later use has given one (nothing flows back to them yet)."""
    for v in [c.var for c in region.carried] + region.invariants:
        if v not in have:
            w.stmt(A.assign(em.bar(v), em.zero_like(v.sym())))
            have.add(v)


def result_bars(em: Emitter, w: Writer, region: Rolled, body_have: set) -> None:
    """At the start of a reversed iteration: the cotangents of its results are those of
    the carried values (a swap stays a swap; a result shared or an invariant accumulates)."""
    copies = [(c.result, c.var) for c in region.carried if isinstance(c.result, Value) and c.result.active]
    once = [(r, v) for r, v in copies if r not in body_have]
    if len({id(r) for r, _ in once}) != len(once):
        once = []
    body_have |= L.copy_pairs(em, w, once, em.bar)
    for r, v in copies:
        if r is v:
            body_have.add(v)
        elif (r, v) not in once:
            if r in body_have:
                em.accumulate(w, em.bar(r), "add", Ref(em.bar(v)))
            else:
                w.stmt(A.assign(em.bar(r), A.name(em.bar(v))))
            body_have.add(r)


def end_bars(em: Emitter, w: Writer, region: Rolled, body_have: set) -> None:
    """At the end of a reversed iteration: carried values the body never read get zero."""
    for c in region.carried:
        if c.var not in body_have:
            w.stmt(A.assign(em.bar(c.var), em.zero_like(c.var.sym())))


def entry_bars(em: Emitter, w: Writer, region: Rolled, have: set) -> None:
    """After a reversed loop: the carried values' cotangents go to the loop's entries."""
    for c in region.carried:
        e = c.entry
        if isinstance(e, Value) and e.active:
            if e in have:
                em.accumulate(w, em.bar(e), "add", Ref(em.bar(c.var)))
            else:
                w.stmt(A.assign(em.bar(e), A.name(em.bar(c.var))))
                have.add(e)
