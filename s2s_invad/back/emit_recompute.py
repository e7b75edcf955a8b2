"""Back end: reverse and forward-inverse sweeps in constant memory (SPEC section 5).

With ``memory="recompute"`` the forward pass deletes every value once it is dead, keeping
only the live state, the values of checkpointed lumps and the passive constants. The
backward sweep rebuilds each lump's overwritten value from the lump's outputs with the
inverse rules (:mod:`s2s_invad.memory`), replays the lump's own steps for the values its
derivatives need, applies the usual rule, and deletes what the lump made. Memory is then
proportional to n (plus the checkpoints), not to the program's length.

Rounding makes rebuilt values drift from the forward ones; :func:`emit_drift` builds the
two functions the drift report compares.
"""

from __future__ import annotations

from .. import _astlib as A
from .emit_common import Emitter, Writer
from .emit_ijvp import ijvp_lump
from .emit_jvp import shaped
from .emit_vjp import output_cotangents, vjp_step
from ..ir import Value
from ..analysis.lumps import Lump
from ..analysis.memory import MemoryPlan
from ..primitives import inverse


def _delete(w: Writer, names: list[str]) -> None:
    if names:
        w.line("del " + ", ".join(names))


def rebuild_lump(em: Emitter, w: Writer, index: int, lump: Lump, plan: MemoryPlan) -> list[Value]:
    """Emit the code that makes every value of ``lump`` available again; return them.

    Known on entry: the values live after the lump (its new values and R); the values of
    a checkpointed lump's W come from the tape.
    """
    recipe = plan.recipes[index]
    made: list[Value] = []
    if recipe is None:
        replay = [s for s in lump.steps if s.target not in lump.new]
    else:
        replay = []
        for stmt in recipe.side:
            w.stmt(em.primal(stmt))
            made.append(stmt.target)
        for stmt, pos in recipe.chain:
            operand = stmt.args[pos]
            divisor = _divisor(stmt, pos)
            if divisor is not None:
                em.check_nonzero(w, divisor, "zero_pivot", em.site(lump) + [
                    A.const_str(f"d {stmt.target.name} / d {operand.name} (rebuilding {operand.name})")])
            value = inverse(stmt.op, pos, stmt.target.sym(), [a.sym() for a in stmt.args])
            w.stmt(A.assign(operand.name, em.expr(_bind_fns(value, stmt.ns))))
            made.append(operand)
    for stmt in replay:
        w.stmt(em.primal(stmt))
        made.append(stmt.target)
    return made


def _divisor(stmt, pos):
    """The value a rebuilt operand is divided by, when the inverse rule divides."""
    if stmt.op == "mul":
        return stmt.args[1 - pos].sym()
    if stmt.op == "div" and pos == 1:
        return stmt.target.sym()
    return None


def _bind_fns(e, ns):
    from ..analysis.graph import _bind_ns
    return _bind_ns(e, ns) if ns else e


def _forward(em: Emitter, w: Writer, keep: set[str]) -> None:
    """The primal, deleting each value after its last use unless ``keep`` holds it.

    Parameters are never deleted (the caller holds them anyway), so a failure check can
    run the function again on them (:mod:`s2s_invad.diagnose`).
    """
    keep = keep | {p.name for p in em.program.params}
    order = em.graph.order
    last_use: dict[str, int] = {}
    for i, stmt in enumerate(order):
        for a in stmt.args:
            if isinstance(a, Value):
                last_use[a.name] = i
    for i, stmt in enumerate(order):
        em.step_comment(w, stmt)
        w.stmt(em.primal(stmt))
        dead = sorted({a.name for a in stmt.args if isinstance(a, Value)
                       and last_use[a.name] == i and a.name not in keep},
                      key=[a.name for a in stmt.args if isinstance(a, Value)].index)
        _delete(w, dead)


def _sweep(em: Emitter, w: Writer, lumps, plan, mode: str, have: set, params: set[str]) -> set[str]:
    """The backward sweep; returns the names it defines itself. ``params`` (those of the
    function it is part of) are never deleted."""
    defined: set[str] = set()
    for index in range(len(lumps) - 1, -1, -1):
        lump = lumps[index]
        em.lump_comment(w, lump)
        how = "rebuilt by inverse steps" if plan.recipes[index] else "W from the checkpoint"
        w.comment(f"  inputs: {how}")
        mark = len(em.bound)
        made = rebuild_lump(em, w, index, lump, plan)
        defined.update(v.name for v in made)
        if mode == "ijvp":
            ijvp_lump(em, w, lump)
            gone = [em.dot(v) for v in lump.new]
        else:
            for stmt in reversed(lump.steps):
                vjp_step(em, w, stmt, have)
            gone = [em.bar(v) for v in lump.new if v in have]
            gone += [em.bar(s.target) for s in lump.steps if s.target not in lump.new and s.target in have]
        # Delete what this lump made or read, if bound here: values rebuilt so far, or
        # referenced so far (so kept by the forward pass or unpacked from the tape).
        outputs = {o for o in em.program.outputs if isinstance(o, Value)} if mode == "ijvp" else set()
        candidates = [v for v in lump.new if v not in outputs]
        candidates += [s.target for s in lump.steps if s.target not in lump.new]
        dead = [v.name for v in candidates if v.name in defined or v.name in em.refs]
        _delete(w, [n for n in dead + gone + em.bound[mark:] if n not in params])   # and named partials
    return defined


def emit_ijvp_recompute(em: Emitter, lumps: list[Lump], plan: MemoryPlan) -> list[str]:
    prog = em.program
    em.refs.clear()
    sweep = Writer()
    sweep.comment("inverse sweep, last lump to first, rebuilding the primal as it goes")
    defined = _sweep(em, sweep, lumps, plan, "ijvp", set(), {em.dot(o) for o in prog.outputs})
    outs = [em.expr(o.sym()) for o in prog.outputs]
    dots = A.tuple_([A.name(em.dot(p)) for p in prog.wrt])
    sweep.stmt(A.return_(A.tuple_([shaped(prog, outs), dots])))
    keep = (em.refs - defined) | {o.name for o in prog.outputs}
    w = Writer()
    w.line(f'"""J^-1 v for {prog.name} in constant memory: returns (f(x), x_dot) where '
           f'J x_dot = y_dot."""')
    _forward(em, w, keep)
    args = [p.name for p in prog.params] + [em.dot(o) for o in prog.outputs]
    return [f"def {prog.name}_ijvp({', '.join(args)}):"] + w.lines + sweep.lines


def emit_vjp_recompute(em: Emitter, lumps: list[Lump], plan: MemoryPlan) -> list[str]:
    prog = em.program
    em.refs.clear()
    inner = Writer()
    have: set[Value] = set()
    params = output_cotangents(em, inner, have)
    defined = _sweep(em, inner, lumps, plan, "vjp", have, set(params))
    result = [A.name(em.bar(p)) if p in have else em.zero_like(p.sym()) for p in prog.wrt]
    inner.stmt(A.return_(A.tuple_(result)))
    sweep_refs = set(em.refs)
    keep = sweep_refs - defined
    w = Writer()
    w.line(f'"""J^T w for {prog.name} in constant memory: returns (f(x), pullback); the '
           'pullback rebuilds the primal backwards."""')
    _forward(em, w, keep | {o.name for o in prog.outputs})
    em.refs = sweep_refs                      # the tape: what the sweep reads, not the forward
    pullback = em.sweep_function(w, f"{prog.name}_vjp_bwd", inner, params,
                                 f"Reverse sweep of {prog.name}_vjp, rebuilding the primal backwards.",
                                 frozenset(defined))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([shaped(prog, outs), pullback])))
    return [f"def {prog.name}_vjp({', '.join(p.name for p in prog.params)}):"] + w.lines


def emit_drift(em: Emitter, lumps: list[Lump], plan: MemoryPlan) -> list[str]:
    """``f_drift(x) -> (forward values, rebuilt values)``, two dicts keyed by SSA name."""
    prog = em.program
    w = Writer()
    w.line(f'"""Forward and rebuilt primal values of {prog.name}, for the drift report."""')
    for stmt in em.graph.order:
        w.stmt(em.primal(stmt))
    names = [p.name for p in prog.params] + [s.target.name for s in em.graph.order]
    w.line("_forward = {" + ", ".join(f"{n!r}: {n}" for n in names) + "}")
    rebuilt = []
    for index in range(len(lumps) - 1, -1, -1):
        if plan.recipes[index] is not None:
            made = rebuild_lump(em, w, index, lumps[index], plan)
            rebuilt += [v.name for v in made if v in lumps[index].killed or v.var is not None]
    w.line("_rebuilt = {" + ", ".join(f"{n!r}: {n}" for n in rebuilt) + "}")
    w.line("return _forward, _rebuilt")
    return [f"def {prog.name}_drift({', '.join(p.name for p in prog.params)}):"] + w.lines
