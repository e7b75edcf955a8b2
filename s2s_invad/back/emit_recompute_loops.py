"""Back end: memory="recompute" for programs with loops kept as loops (SPEC sections 5, 9).

vjp and ijvp walk a loop's iterations last to first and need each iteration's starting
state. memory="store" records what the backward body reads per iteration (O(N) memory).
Here, per loop kept as a loop:

* **rebuild** when every lump of the body has a closed-form inverse (shears
  ``p += c f(q)``, ``x *= exp(h(y))``, ``tanh``, ...): the reversed loop starts from the
  final state and rebuilds each iteration's starting state from its end state with the
  inverse rules of :mod:`s2s_invad.analysis.memory` (seed 000's algorithm), the passive
  values the body carries too (``t += dt`` runs back as ``t -= dt``). Memory is constant in
  N. The forward loop checks every rebuild as the flat recompute does
  (:func:`emit_recompute.forward_check`) and keeps, under the key ``(iteration, lump)``, the
  inputs whose rebuild would be inexact; ``si.drift`` reports how far rebuilt states move.
* **revolve** otherwise (RK4, a body with nested loops...): binomial checkpointing
  (:mod:`s2s_invad.revolve`): the forward loop keeps nothing; the backward sweep recomputes
  states from O(log N) snapshots, calling a ``step`` and a ``back`` function generated for
  the body (``checkpoints=`` sets the budget; ``explain`` states the recomputation factor).

Straight regions around the loops are short and keep their values as in store mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _astlib as A
from ..analysis.memory import MemoryPlan, plan_memory
from ..analysis.regions import Regions, Rolled, Straight
from ..ir import Loop, Value
from ..primitives import inverse
from ..sym import Ref
from . import emit_loops as L
from .emit_common import Emitter, Writer
from .emit_ijvp import ijvp_lump, ijvp_regions
from .emit_recompute import (GROWTH_LIMIT, _bind_fns, _checks_after, forward_check, open_quiet_block, pivot_of,
                             rebuild_lump)
from .emit_vjp import end_bars, entry_bars, output_cotangents, result_bars, start_bars, vjp_regions, vjp_step


@dataclass
class LoopPlan:
    """How the backward sweep gets a rolled loop's states."""
    how: str                     # "rebuild" or "revolve"
    reason: str
    body: Straight | None = None
    plan: MemoryPlan | None = None
    passive: dict | None = None  # carry -> [(stmt, position)]: how a passive carry runs back
    tag: int = 0                 # the loop's ordinal: its keys in ``kept`` start with it


def loop_plan(region: Rolled) -> LoopPlan:
    parts = region.body.parts
    if len(parts) != 1 or not isinstance(parts[0], Straight):
        return LoopPlan("revolve", "its body holds loops of its own")
    body = parts[0]
    if body.lumps is None:
        return LoopPlan("revolve", "its body cannot be inverted")
    plan = plan_memory(body.graph, body.lumps or [], held=())
    missing = [i for i, r in plan.recipes.items() if r is None]
    if missing:
        lump = body.lumps[missing[0]]
        why = "k >= 2" if lump.k > 1 else "no closed-form inverse"
        return LoopPlan("revolve", f"a lump of its body has {why} (line {lump.lines[0]})")
    passive = _passive_chains(region.loop, body)
    if passive is None:
        return LoopPlan("revolve", "a value it carries (not differentiated) cannot be run backwards")
    return LoopPlan("rebuild", "every lump of its body has a closed-form inverse", body, plan, passive)


def _passive_chains(loop: Loop, body: Straight) -> dict | None:
    defs = {id(s.target): s for s in body.graph.order if not s.active}
    out = {}
    for c in loop.carried:
        if c.var.active:
            continue
        if c.result is c.var:
            out[id(c)] = []
            continue
        if not isinstance(c.result, Value):
            return None
        chain, current = [], c.result
        while current is not c.var:
            stmt = defs.get(id(current))
            if stmt is None:
                return None
            positions = [i for i, a in enumerate(stmt.args) if isinstance(a, Value) and _reaches(a, c.var, defs)]
            others = [a for i, a in enumerate(stmt.args) if i not in positions and isinstance(a, Value)]
            if any(id(a) in defs for a in others):
                return None                   # run back before this iteration's values exist
            if len(positions) != 1 or inverse(stmt.op, positions[0], stmt.target.sym(),
                                              [a.sym() for a in stmt.args]) is None:
                return None
            chain.append((stmt, positions[0]))
            current = stmt.args[positions[0]]
        out[id(c)] = chain
    return out


def _reaches(value, var, defs, seen=None) -> bool:
    if value is var:
        return True
    stmt = defs.get(id(value))
    if stmt is None:
        return False
    return any(isinstance(a, Value) and _reaches(a, var, defs) for a in stmt.args)


def plans_of(regions: Regions) -> dict:
    plans = {}
    for region in regions.parts:
        if isinstance(region, Rolled):
            plans[id(region.loop)] = plan = loop_plan(region)
            plan.tag = len(plans) - 1          # two loops, two sets of keys (both count from 0)
    return plans


def describe(regions: Regions, checkpoints=None) -> list[str]:
    """explain's lines: how memory="recompute" treats each loop kept as a loop."""
    from .. import revolve
    lines = []
    for region in regions.parts:
        if not isinstance(region, Rolled):
            continue
        loop, plan = region.loop, loop_plan(region)
        if plan.how == "rebuild":
            lines.append(f"memory='recompute', loop at line {loop.line}: its states are rebuilt backwards "
                         f"by inverse steps ({plan.reason}): memory constant in the trip count; the "
                         "forward loop keeps an iteration's input only where rebuilding it would be "
                         "inexact; si.drift reports how far rebuilt states move")
            continue
        count = loop.count.value if not isinstance(loop.count, Value) else None
        if count is not None:
            p = revolve.plan(count, checkpoints)
            cost = (f"{p.snapshots} snapshots for {count} iterations: the backward sweep runs "
                    f"{p.advances} forward iterations ({p.factor:.2f} per iteration)")
        elif checkpoints is not None:
            cost = (f"{checkpoints} snapshots (checkpoints=); for N iterations each is run forwards "
                    f"again at most r times, r the least with C({checkpoints} + r + 1, {checkpoints} + 1) >= N")
        else:
            cost = ("s = ceil(log2(N + 1)) snapshots for N iterations (checkpoints= sets s); each "
                    "iteration is run forwards again at most r times, r the least with "
                    "C(s + r + 1, s + 1) >= N (for N = 10^6: 20 snapshots, r = 7)")
        lines.append(f"memory='recompute', loop at line {loop.line}: binomial checkpointing (revolve), "
                     f"because {plan.reason}: {cost}")
    return lines


# -- the forward pass --------------------------------------------------------------------

def _tracks_growth(em: Emitter, plan: LoopPlan) -> bool:
    """True when some rebuilt lump of the body may amplify errors (its pivot is not a
    number of modulus >= 1)."""
    if plan.how != "rebuild":
        return False
    with em.using(plan.body.graph):
        for index in _rebuilt(plan):
            pivot = em.constant_pivot(plan.body.lumps[index])
            if not (pivot is not None and abs(pivot.value) >= 1):
                return True
    return False


def _rebuilt(plan: LoopPlan) -> list[int]:
    return [i for i, r in plan.plan.recipes.items() if r is not None]


def _key(tag: int, counter: str, index: int | None = None):
    """The key in ``kept`` of loop ``tag``'s iteration ``counter``: its snapshot, or with
    ``index`` the kept input of that lump."""
    return A.tuple_([A.const(tag), A.name(counter)] + ([] if index is None else [A.const(index)]))


def forward_regions(em: Emitter, w: Writer, regions: Regions, plans: dict, kept: str, ok: str,
                    record=None) -> None:
    """The primal; rebuilt loops check each iteration's rebuilds as they go (and call
    ``record(stmt)`` after each of their statements: the drift report's hook)."""
    for region in regions.parts:
        if not isinstance(region, Rolled):
            L.primal_regions(em, w, Regions([region], [], 0))
            continue
        loop, plan = region.loop, plans[id(region.loop)]
        L.loop_comment(em, w, loop, "; memory='recompute' keeps no tape" if plan.how == "revolve"
                       else "; memory='recompute' rebuilds its states backwards")
        L.enter(em, w, loop)
        growth = None
        if plan.how == "rebuild" and _tracks_growth(em, plan):
            growth = em.namer.fresh("growth")
            w.stmt(A.assign(growth, A.const(1.0)))  # how much rebuilding has amplified errors
        quiet = plan.how == "rebuild" and em.numpy is not None
        if quiet:          # one block for every check of every iteration, not one per check
            open_quiet_block(em, w)
        counter = L.header(em, w, loop)
        w.level += 1
        if growth is not None:
            _snapshot(em, w, loop, _key(plan.tag, counter), kept, growth)
        if plan.how == "rebuild":
            checks = _checks_after(plan.body.lumps, plan.plan)
            for c in loop.carried if record is not None else ():
                record(c.var)                        # the iteration's start state
            with em.using(plan.body.graph):
                for stmt in em.graph.order:
                    em.step_comment(w, stmt)
                    w.stmt(em.primal(stmt))
                    if record is not None:
                        record(stmt.target)
                    for index in checks.get(stmt, ()):
                        forward_check(em, w, index, plan.body.lumps[index], plan.plan, kept, ok,
                                      _key(plan.tag, counter, index), growth, quiet)
        else:
            L.primal_regions(em, w, region.body)
        L.carry_back(em, w, loop)
        w.level -= 1 + quiet
        w._last_comment = None


def _snapshot(em: Emitter, w: Writer, loop: Loop, key, kept: str, growth: str) -> None:
    """Keep the iteration's start state where rebuilding has amplified errors past the
    limit since the last snapshot (a chain of contracting steps: emit_recompute.GROWTH_LIMIT)."""
    w.comment("snapshot the state where rebuilding backwards would have amplified errors too far")
    test = A.compare(A.name(growth), ">", A.const(GROWTH_LIMIT))
    if em.numpy is not None:
        test = A.call(A.attribute(em.numpy, "any"), [test])
    state = A.tuple_([A.name(c.var.name) for c in loop.carried])
    w.stmt(A.if_(test, [A.assign_item(kept, key, state), A.assign(growth, A.const(1.0))]))


def _restore(em: Emitter, w: Writer, loop: Loop, key, kept: str) -> None:
    """After rebuilding an iteration's start state: the snapshot, where there is one."""
    snap = em.namer.fresh("snapshot")
    em.refs.add(kept)
    w.stmt(A.assign(snap, A.call(A.attribute(kept, "get"), [key])))
    w.line(f"if {snap} is not None:")
    w.level += 1
    w.unpack([c.var.name for c in loop.carried], snap)
    w.level -= 1


def _needs_kept(plans: dict) -> bool:
    return any(p.how == "rebuild" and _checks_after(p.body.lumps, p.plan) for p in plans.values())


# -- the backward iteration of a rebuilt loop ----------------------------------------------

def _rebuild_iteration(em: Emitter, w: Writer, region: Rolled, plan: LoopPlan, counter: str, kept: str,
                       lump_rule) -> None:
    """Undo one iteration: its end state is in the carried values; rebuild its start state
    into them lump by lump, applying ``lump_rule(lump, made)`` (the mode's rule; made: the
    values rebuilt) after each."""
    loop = region.loop
    copies = [(c.result, c.var) for c in loop.carried if isinstance(c.result, Value) and c.result is not c.var]
    L.assign_pairs(em, w, [r.name for r, _ in copies], [L.operand_expr(em, v) for _, v in copies])
    for c in loop.carried:                          # the passive values it carries, run back
        for stmt, pos in plan.passive.get(id(c), []):
            value = inverse(stmt.op, pos, stmt.target.sym(), [a.sym() for a in stmt.args])
            w.stmt(A.assign(stmt.args[pos].name, em.expr(_bind_fns(value, stmt.ns))))
    with em.using(plan.body.graph):
        for stmt in em.graph.order:                  # the passive values of this iteration
            if not stmt.active:
                w.stmt(em.primal(stmt))
        lumps = plan.body.lumps
        for index in range(len(lumps) - 1, -1, -1):
            lump = lumps[index]
            em.lump_comment(w, lump)
            made = rebuild_lump(em, w, index, lump, plan.plan, kept, _key(plan.tag, counter, index))
            lump_rule(lump, made)
    if _tracks_growth(em, plan):
        _restore(em, w, loop, _key(plan.tag, counter), kept)


# -- vjp ----------------------------------------------------------------------------------------

def emit_vjp_recompute_rolled(em: Emitter, regions: Regions, checkpoints=None) -> list[str]:
    prog = em.program
    plans = plans_of(regions)
    kept, ok = em.namer.fresh("kept"), em.namer.fresh("rebuilds")
    w = Writer()
    w.line(f'"""J^T w for {prog.name} in constant memory: returns (f(x), pullback); loops kept as '
           'loops are reversed without a tape."""')
    em.unpack_primals(w)
    if _needs_kept(plans):
        w.line(f"{kept} = {{}}  # inputs of the steps whose rebuild would be inexact, by (iteration, step)")
    forward_regions(em, w, regions, plans, kept, ok)

    em.refs.clear()
    inner = Writer(level=1)
    have: set[Value] = set()
    params = output_cotangents(em, inner, have)
    _vjp_regions(em, inner, regions, plans, have, kept, checkpoints)
    inner.stmt(A.return_(A.tuple_(em.pack_inputs("bar", have))))
    pullback = em.sweep_function(w, "vjp_bwd", inner, params,
                                 f"Reverse sweep of {prog.name}_vjp, rebuilding or recomputing the loops' states.",
                                 defined=L.outer_defined(prog, regions), extra=(kept,))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), pullback])))
    return [f"def {prog.name}_vjp({', '.join(em.primal_args())}):"] + w.lines


def _vjp_regions(em, w, regions, plans, have, kept, checkpoints):
    for region in reversed(regions.parts):
        if not isinstance(region, Rolled):
            vjp_regions(em, w, Regions([region], [], 0), have, L.Tapes())
            continue
        plan = plans[id(region.loop)]
        if plan.how == "rebuild":
            _vjp_rebuilt(em, w, region, plan, have, kept)
        else:
            _vjp_revolved(em, w, region, have, checkpoints)


def _vjp_rebuilt(em, w, region, plan, have, kept):
    loop = region.loop
    start_bars(em, w, region, have)
    L.loop_comment(em, w, loop, ", here in reverse, rebuilding each iteration's state from its end")
    counter = L.header(em, w, loop, reverse=True)
    w.level += 1
    body_have = set(region.invariants)
    result_bars(em, w, region, body_have)

    def rule(lump, made):
        for stmt in reversed(lump.steps):
            vjp_step(em, w, stmt, body_have)
    _rebuild_iteration(em, w, region, plan, counter, kept, rule)
    end_bars(em, w, region, body_have)
    w.level -= 1
    w._last_comment = None
    _add_count_ref(em, loop)
    entry_bars(em, w, region, have)


def _add_count_ref(em, loop):
    if isinstance(loop.count, Value):
        em.refs.add(loop.count.name)


def _state(loop: Loop) -> list[str]:
    return [c.var.name for c in loop.carried]


def _step_function(em: Emitter, w: Writer, region: Rolled, name: str) -> None:
    """``def name(k, state)``: one iteration of the primal, from state to state."""
    loop = region.loop
    _iteration_header(em, w, loop, name, ())
    L.primal_regions(em, w, region.body)
    w.stmt(A.return_(A.tuple_([L.operand_expr(em, c.result) for c in loop.carried])))
    w.level -= 1


def _iteration_header(em: Emitter, w: Writer, loop: Loop, name: str, extra: tuple) -> None:
    """``def name(k, state, *extra):`` with the state unpacked and the loop index bound
    (``k`` counts iterations from 0, as runtime.revolve does); the caller dedents."""
    simple = loop.start == 0 and loop.step == 1
    k = loop.index.name if simple else em.namer.fresh(f"{loop.index.name}_i")
    w.line(f"def {name}({', '.join((k, 'state') + tuple(extra))}):")
    w.level += 1
    w.unpack(_state(loop), "state")
    if not simple:
        _index(w, loop, k)


def _index(w, loop, k):
    w.stmt(A.assign(loop.index.name, A.binop("add", A.const(loop.start),
                                            A.binop("mul", A.const(loop.step), A.name(k)))))


def _budget(checkpoints):
    return A.const_none() if checkpoints is None else A.const(int(checkpoints))


def _vjp_revolved(em, w, region, have, checkpoints):
    start_bars(em, w, region, have)
    incoming = [em.bar(c.var) for c in region.carried] + [em.bar(v) for v in region.invariants]

    def rules(w, tapes):
        body_have = set(region.invariants)
        result_bars(em, w, region, body_have)
        vjp_regions(em, w, region.body, body_have, tapes)
        end_bars(em, w, region, body_have)
    _revolved(em, w, region, checkpoints, "bars", incoming, rules)
    entry_bars(em, w, region, have)


def _revolved(em, w, region, checkpoints, arg: str, incoming: list[str], rules) -> None:
    """``step`` and ``back`` functions for the body and the ``runtime.revolve`` call that
    reverses the loop with them; ``rules(w, tapes)`` emits the mode's rules of one
    iteration on ``incoming`` (the values ``back`` takes as ``arg`` and returns)."""
    loop = region.loop
    if not incoming:                     # the loop carries no cotangent: nothing to reverse
        return
    step, back = em.namer.fresh(f"step_l{loop.line}"), em.namer.fresh(f"back_l{loop.line}")
    L.loop_comment(em, w, loop, ", here in reverse by binomial checkpointing (runtime.revolve)")
    _step_function(em, w, region, step)
    _iteration_header(em, w, loop, back, (arg,))
    tapes = L.Tapes()
    L.primal_regions(em, w, region.body, tapes)
    w.unpack(incoming, arg)
    rules(w, tapes)
    tapes.finish([w])
    w.stmt(A.return_(A.tuple_([A.name(n) for n in incoming])))
    w.level -= 1
    entries = A.tuple_([L.operand_expr(em, c.entry) for c in loop.carried])
    call = A.call(em.runtime("revolve"), [L.operand_expr(em, loop.count), _budget(checkpoints), entries,
                                          A.name(step), A.name(back), A.tuple_([A.name(n) for n in incoming])])
    w.stmt(A.assign(incoming, call))
    w._last_comment = None
    _add_count_ref(em, loop)


# -- ijvp -------------------------------------------------------------------------------------

def emit_ijvp_recompute_rolled(em: Emitter, regions: Regions, checkpoints=None) -> list[str]:
    prog = em.program
    plans = plans_of(regions)
    kept, ok = em.namer.fresh("kept"), em.namer.fresh("rebuilds")
    args = em.primal_args() + em.output_args("dot")
    w = Writer()
    w.line(f'"""J^-1 v for {prog.name} in constant memory: returns (f(x), x_dot) where J x_dot = y_dot; '
           'loops kept as loops are reversed without a tape."""')
    em.unpack_outputs(w, "dot", [em.dot(o) for o in prog.outputs])
    em.unpack_primals(w)
    if _needs_kept(plans):
        w.line(f"{kept} = {{}}  # inputs of the steps whose rebuild would be inexact, by (iteration, step)")
    forward_regions(em, w, regions, plans, kept, ok)
    leaves = [em.expr(o.sym()) for o in prog.outputs]
    names = [em.namer.fresh(f"{o.name}_out") if isinstance(o, Value) else None for o in prog.outputs]
    L.assign_pairs(em, w, [n for n in names if n], [e for n, e in zip(names, leaves) if n])
    leaves = [A.name(n) if n else e for n, e in zip(names, leaves)]
    w.comment("inverse sweep, last lump to first")
    for region in reversed(regions.parts):
        if not isinstance(region, Rolled):
            ijvp_regions(em, w, Regions([region], [], 0), L.Tapes())
            continue
        plan = plans[id(region.loop)]
        if plan.how == "rebuild":
            _ijvp_rebuilt(em, w, region, plan, kept)
        else:
            _ijvp_revolved(em, w, region, checkpoints)
    dots = A.tuple_(em.pack_inputs("dot"))
    w.stmt(A.return_(A.tuple_([em.pack(leaves), dots])))
    return [f"def {prog.name}_ijvp({', '.join(args)}):"] + w.lines


def _ijvp_rebuilt(em, w, region, plan, kept):
    loop = region.loop
    L.loop_comment(em, w, loop, ", here in reverse, rebuilding each iteration's state from its end")
    counter = L.header(em, w, loop, reverse=True)
    w.level += 1
    L.copy_pairs(em, w, [(c.result, c.var) for c in region.carried], em.dot)
    _rebuild_iteration(em, w, region, plan, counter, kept, lambda lump, made: ijvp_lump(em, w, lump))
    w.level -= 1
    w._last_comment = None
    L.copy_pairs(em, w, [(c.entry, c.var) for c in region.carried
                         if isinstance(c.entry, Value) and c.entry.active], em.dot)


def _ijvp_revolved(em, w, region, checkpoints):
    carried = region.carried

    def rules(w, tapes):
        L.copy_pairs(em, w, [(c.result, c.var) for c in carried], em.dot)
        ijvp_regions(em, w, region.body, tapes)
    _revolved(em, w, region, checkpoints, "dots", [em.dot(c.var) for c in carried], rules)
    L.copy_pairs(em, w, [(c.entry, c.var) for c in carried
                         if isinstance(c.entry, Value) and c.entry.active], em.dot)


# -- drift ------------------------------------------------------------------------------------

def emit_drift_rolled(em: Emitter, regions: Regions) -> list[str]:
    """``f_drift(x) -> (forward, rebuilt)``: per SSA name of the rebuilt loops, the list of
    its values over the iterations, computed forwards and rebuilt backwards."""
    prog = em.program
    plans = plans_of(regions)
    kept, ok = em.namer.fresh("kept"), em.namer.fresh("rebuilds")
    forward, rebuilt = em.namer.fresh("_forward"), em.namer.fresh("_rebuilt")
    w = Writer()
    w.line(f'"""Forward and rebuilt values of {prog.name}\'s loops, for the drift report."""')
    em.unpack_primals(w)
    w.line(f"{kept}, {forward}, {rebuilt} = {{}}, {{}}, {{}}")

    def record(into):
        def put(value):
            w.line(f"{into}.setdefault({value.name!r}, []).append({value.name})")
        return put
    forward_regions(em, w, regions, plans, kept, ok, record(forward))
    for region in regions.parts:
        plan = plans.get(id(region.loop)) if isinstance(region, Rolled) else None
        if plan is None or plan.how != "rebuild":
            continue
        L.loop_comment(em, w, region.loop, ", here in reverse, rebuilding each iteration's state")
        counter = L.header(em, w, region.loop, reverse=True)
        w.level += 1
        put = record(rebuilt)
        _rebuild_iteration(em, w, region, plan, counter, kept, lambda lump, made: [put(v) for v in made])
        w.level -= 1
        w._last_comment = None
    w.line(f"for _values in {rebuilt}.values():")
    w.line("    _values.reverse()")
    w.line(f"return {forward}, {rebuilt}")
    return [f"def {prog.name}_drift({', '.join(em.primal_args())}):"] + w.lines
