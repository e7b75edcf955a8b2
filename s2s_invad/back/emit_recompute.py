"""Back end: reverse and forward-inverse sweeps in constant memory (SPEC section 5).

With ``memory="recompute"`` the forward pass deletes every value once it is dead, keeping
only the live state, the values of checkpointed lumps and the passive constants. The
backward sweep rebuilds each lump's overwritten value from the lump's outputs with the
inverse rules (:mod:`s2s_invad.memory`), replays the lump's own steps for the values its
derivatives need, applies the usual rule, and deletes what the lump made. Memory is then
proportional to n (plus the checkpoints), not to the program's length.

A rebuild can be inexact where the forward step lost information: ``tanh`` at 20 is 1.0,
whose atanh is inf; ``atan(1e20)`` is pi/2, whose tan is 1.6e16; ``x + 1e20`` forgets x.
So the forward pass checks, for every lump it will rebuild, that the inverse steps applied
to the lump's output *perturbed by one ulp* give back its input to within 2**-40
relative (:func:`forward_check`), and keeps the input where they do not: in a dict
(``kept[3] = x``) for scalars, element by element for arrays (:mod:`s2s_invad.checkpoints`).
The backward sweep rebuilds, and takes the kept value where there is one. The tolerance:
rounding alone leaves a few ulps (2**-50); an inverse that turns one ulp of its argument
into more than 2**-40 amplifies errors by over 4,000 at this step, and the derivatives
computed from the rebuilt value would differ from store mode's beyond 1e-12. Perturbing
the output makes the test measure that amplification, not the luck of one rounding.

Rounding still makes rebuilt values drift; :func:`emit_drift` builds the function the drift
report compares (it takes the same decisions, so it reports what the sweep will use).
"""

from __future__ import annotations

from .. import _astlib as A
from .emit_common import Emitter, Writer
from .emit_ijvp import ijvp_lump
from .emit_vjp import output_cotangents, vjp_step
from ..ir import Value
from ..analysis.lumps import Lump
from ..analysis.memory import MemoryPlan
from ..primitives import COMPARISONS, inverse
from ..sym import ONE, ZERO, Fn, Num, Op, Ref, Sym

ULP_UP = Op("add", (Num(1), Op("pow", (Num(2), Num(-52)))))     # 1 + 2**-52: up by one ulp
TOLERANCE = Op("pow", (Num(2), Num(-40)))                       # relative, see the docstring


def _delete(w: Writer, names: list[str], per_line: int = 16) -> None:
    """``del`` the names, ``per_line`` to a statement (a structured lump frees thousands)."""
    for i in range(0, len(names), per_line):
        w.line("del " + ", ".join(names[i:i + per_line]))


def rebuild_lump(em: Emitter, w: Writer, index: int, lump: Lump, plan: MemoryPlan, kept: str,
                 key=None) -> list[Value]:
    """Emit the code that makes every value of ``lump`` available again; return them.

    Known on entry: the values live after the lump (its new values and R); the values of
    a checkpointed lump's W come from the tape; ``kept`` names the dict of values the
    forward pass kept where a rebuild would be inexact, under ``key`` (default: the lump's
    index; ``(k, index)`` inside a loop kept as a loop).
    """
    key = A.const(index) if key is None else key
    recipe = plan.recipes[index]
    made: list[Value] = []
    if recipe is None:
        replay = [s for s in lump.steps if s.target not in lump.new]
    else:
        replay = []
        for stmt in recipe.side:
            w.stmt(em.primal(stmt))
            made.append(stmt.target)
        old, inner = lump.killed[0], Writer(w.level + 1)
        for stmt, pos in recipe.chain:
            operand = stmt.args[pos]
            divisor = _divisor(stmt, pos)
            if divisor is not None:
                em.check_nonzero(inner, divisor, "zero_pivot", em.site(lump) + [
                    A.const_str(f"d {stmt.target.name} / d {operand.name} (rebuilding {operand.name})")])
            value = inverse(stmt.op, pos, stmt.target.sym(), [a.sym() for a in stmt.args])
            inner.stmt(A.assign(operand.name, em.expr(_bind_fns(value, stmt.ns))))
            made.append(operand)
        again = [em.primal(stmt) for stmt, _ in reversed(recipe.chain[1:])]   # from a kept input
        em.refs.add(kept)
        if em.numpy is None:
            w.stmt(A.assign(old.name, A.call(A.attribute(kept, "get"), [key])))
            w.line(f"if {old.name} is None:")
            w.lines += inner.lines
            if again:
                w.line("else:")
                w.lines += _indented(w, again)
        else:
            em.imports[em.numpy] = "numpy"
            w.line(f"with {em.numpy}.errstate(all='ignore'):")
            w.lines += inner.lines
            restore = A.assign(old.name, A.call(em.runtime("patch"), [A.name(old.name), _item(kept, key)]))
            w.stmt(A.if_(A.compare(key, "in", A.name(kept)), [restore] + again))
    for stmt in replay:
        w.stmt(em.primal(stmt))
        made.append(stmt.target)
    return made


def _indented(w: Writer, stmts) -> list[str]:
    inner = Writer(w.level + 1)
    for stmt in stmts:
        inner.stmt(stmt)
    return inner.lines


def _item(base: str, key):
    return A.ast.Subscript(value=A.name(base), slice=key, ctx=A.ast.Load())


def forward_check(em: Emitter, w: Writer, index: int, lump: Lump, plan: MemoryPlan, kept: str,
                  ok: str, key=None, growth: str | None = None, quiet: bool = False,
                  chains: dict | None = None) -> None:
    """After a lump the sweep will rebuild: keep its input where the rebuild is inexact.

    The rebuild runs on the lump's output and on the values it reads (R), each up by one
    ulp, as rebuilt values will be in the sweep: the side steps from R, then the inverse
    steps. The input is kept (``kept[index]``) unless it comes back to within TOLERANCE
    relative. Exceptions (a division by zero, a domain error) and NaN count as inexact.
    (A rebuild ``x = x_1 - 0.45 * log1p(6e-132 * y)`` at 6e-132 * y = -1 + 1e-13 is exact
    for the exact y and off by 1 % for a y off by 6 ulps.)

    ``growth`` names the running bound on how much rebuilding amplifies errors
    (``runtime.amplify``), updated here with the lump's pivot: a loop kept as a loop
    snapshots its state where the bound passes GROWTH_LIMIT, which bounds how far errors
    compound over a chain of contracting steps that are each accurate on their own.
    ``chains`` (straight-line code): the bound per chain of rebuilds instead, a chain being
    the steps that update one value (x = 0.5 * x; y = y + x; x = exp(0.1 * x) ...): it maps
    the name of the value a step reads to the variable holding its chain's bound. Where a
    step takes the bound past GROWTH_LIMIT, its input is kept too and the chain starts again.
    ``quiet``: NumPy's floating-point warnings are off already (the forward pass runs
    inside one ``np.errstate``), so the check needs no block of its own.
    """
    key = A.const(index) if key is None else key
    tracked = growth is not None or chains is not None
    pivot = pivot_of(em, w, lump) if tracked else None
    if pivot is not None and isinstance(pivot, Num) and abs(pivot.value) >= 1:
        pivot = None                                 # never amplifies: nothing to track
    bound = None
    if chains is not None:
        bound = chains.pop(lump.killed[0].name, None)
        if pivot is not None:
            start = A.const(1.0) if bound is None else A.name(bound)
            bound = bound or em.namer.fresh(f"growth_{lump.killed[0].name}")
            w.comment("how far rebuilding this value backwards amplifies errors since its last keep")
            w.stmt(A.assign(bound, A.call(em.runtime("amplify"), [start, em.expr(pivot)])))
        if bound is not None:
            chains[lump.new[0].name] = bound
    recipe = plan.recipes[index]
    old, value = lump.killed[0], lump.new[0].sym() * ULP_UP
    side = _perturbed_side(recipe)
    for stmt, pos in recipe.chain:
        others = [side.get(a, a.sym() * ULP_UP) if isinstance(a, Value) else a.sym() for a in stmt.args]
        value = _bind_fns(inverse(stmt.op, pos, value, others), stmt.ns)
    close = A.compare(em.expr(Fn("abs", (value - old.sym(),))), "<=",
                      em.expr(TOLERANCE * Fn("abs", (old.sym(),))))
    check = A.try_([A.assign(ok, close)], em.runtime("CHECK_ERRORS"), [A.assign(ok, A.name("False"))])
    w.comment("keep this step's input where rebuilding it backwards would be inexact")
    if pivot is not None and bound is not None:           # ... or would amplify errors too far
        check = [check, A.assign([ok, bound], A.call(em.runtime("bounded"), [A.name(ok), A.name(bound),
                                                                          A.const(GROWTH_LIMIT)]))]
    else:
        check = [check]
    if pivot is not None and growth is not None:
        update = A.assign(growth, A.call(em.runtime("amplify"), [A.name(growth), em.expr(pivot)]))
    if em.numpy is None:
        for c in check:
            w.stmt(c)
        w.stmt(A.if_(A.not_(A.name(ok)), [A.assign_item(kept, key, A.name(old.name))]))
    else:
        for c in (check if quiet else
                  [A.with_(A.call(A.attribute(em.numpy, "errstate"), [], all=A.const_str("ignore")), check)]):
            w.stmt(c)
        w.stmt(A.if_(A.not_(A.call(em.runtime("all_rebuilt"), [A.name(ok)])),
                     [A.expr_stmt(A.call(em.runtime("keep"), [A.name(kept), key, A.name(ok),
                                                              A.name(old.name)]))]))
    if pivot is not None and growth is not None:
        w.stmt(update)


def open_quiet_block(em: Emitter, w: Writer) -> None:
    """``with np.errstate(all='ignore'):`` around a forward pass whose checks run with
    ``quiet=True``, indented one level (the caller dedents after the pass)."""
    em.imports[em.numpy] = "numpy"
    w.line(f"with {em.numpy}.errstate(all='ignore'):  # (the rebuild checks may overflow; "
           "results are checked after)")
    w.level += 1


def pivot_of(em: Emitter, w: Writer, lump: Lump) -> Sym:
    """The pivot d new / d old of a k = 1 lump, by forward accumulation along its steps
    from its input only (intermediate factors bound to names)."""
    old = lump.killed[0]
    d: dict = {old: ONE}
    for stmt in lump.steps:
        total = None
        for arg, part in em.partials(stmt).items():
            if arg in d:
                total = part * d[arg] if total is None else total + part * d[arg]
        if total is not None:
            d[stmt.target] = em.bind(w, em.namer.fresh(f"d{stmt.target.name}_d{old.name}"), total)
    return d.get(lump.new[0], ZERO)


# Rebuilding x from x_new = a x + ... multiplies x_new's error by 1 / |a|. Steps that are
# each accurate compound: 300 steps with a = 0.001 turn one ulp into 10^900. In a loop
# kept as a loop the forward pass multiplies 1 / |a| along the steps (never below 1:
# rounding keeps adding an ulp) and, where the product passes this limit, snapshots the
# loop's state at the start of the next iteration and starts again from 1.
GROWTH_LIMIT = 2.0 ** 8


def _perturbed_side(recipe) -> dict:
    """Each side value of the lump as an expression of the values it reads, up by one ulp."""
    side: dict = {}
    for stmt in recipe.side:
        args = [side.get(a, a.sym() * ULP_UP) if isinstance(a, Value) else a.sym() for a in stmt.args]
        side[stmt.target] = (_ARITHMETIC[stmt.op](*args) if stmt.op in _ARITHMETIC
                             else _bind_fns(Fn(stmt.op, tuple(args)), stmt.ns))
    return side


_ARITHMETIC = {"add": lambda a, b: Op("add", (a, b)), "sub": lambda a, b: Op("sub", (a, b)),
               "mul": lambda a, b: Op("mul", (a, b)), "div": lambda a, b: Op("div", (a, b)),
               "pow": lambda a, b: Op("pow", (a, b)), "neg": lambda a: Op("neg", (a,)), "pos": lambda a: a,
               **{op: (lambda op: lambda a, b: Op(op, (a, b)))(op) for op in COMPARISONS}}


def check_names(lump: Lump, plan: MemoryPlan, index: int) -> set[str]:
    """The values :func:`forward_check` reads for ``lump``: its input and output, R, and
    the values of its steps (the pivot's partials read them)."""
    recipe, names = plan.recipes[index], {lump.killed[0].name, lump.new[0].name}
    made = {s.target for s in recipe.side} | {s.target for s, _ in recipe.chain}
    for stmt in recipe.side + [s for s, _ in recipe.chain]:
        names.update(a.name for a in stmt.args if isinstance(a, Value) and a not in made and a is not lump.killed[0])
    for stmt in lump.steps:
        names.add(stmt.target.name)
        names.update(a.name for a in stmt.args if isinstance(a, Value))
    return names


def _checks_after(lumps: list[Lump], plan: MemoryPlan) -> dict:
    """Statement -> indices of the rebuilt lumps it ends (their forward checks follow it)."""
    after: dict = {}
    for index, lump in enumerate(lumps):
        if plan.recipes[index] is not None:
            after.setdefault(lump.steps[-1], []).append(index)
    return after


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


def _forward(em: Emitter, w: Writer, keep: set[str], lumps: list[Lump], plan: MemoryPlan,
             kept: str, delete: bool = True) -> None:
    """The primal with the forward checks, deleting each value after its last use (the
    check after a lump counts as a use) unless ``keep`` holds it.

    Parameters are never deleted (the caller holds them anyway), so a failure check can
    run the function again on them (:mod:`s2s_invad.diagnose`).
    """
    keep = keep | {p.name for p in em.program.params} | set(em.primal_args())
    order = em.graph.order
    em.unpack_primals(w)
    checks = _checks_after(lumps, plan)
    last_use: dict[str, int] = {}
    for i, stmt in enumerate(order):
        for a in stmt.args:
            if isinstance(a, Value):
                last_use[a.name] = i
        for index in checks.get(stmt, ()):
            for name in check_names(lumps[index], plan, index):
                last_use[name] = i
    dies: dict[int, list[str]] = {}
    for name, i in last_use.items():
        dies.setdefault(i, []).append(name)
    quiet = bool(checks) and em.numpy is not None
    if checks:
        w.line(f"{kept} = {{}}  # inputs of the steps whose rebuild would be inexact, by step")
        ok = em.namer.fresh("rebuilds")
    if quiet:              # one block for every check, not one per check
        open_quiet_block(em, w)
    chains: dict[str, str] = {}           # value -> the bound of its chain of rebuilds
    for i, stmt in enumerate(order):
        em.step_comment(w, stmt)
        w.stmt(em.primal(stmt))
        for index in checks.get(stmt, ()):
            forward_check(em, w, index, lumps[index], plan, kept, ok, quiet=quiet, chains=chains)
        if not delete:
            continue
        read = [a.name for a in stmt.args if isinstance(a, Value)]
        dead = [n for n in dies.get(i, ()) if n not in keep]
        _delete(w, sorted(dead, key=lambda n: (read.index(n) if n in read else len(read), n)))
    w.level -= quiet


def _sweep(em: Emitter, w: Writer, lumps, plan, mode: str, have: set, params: set[str], kept: str) -> set[str]:
    """The backward sweep; returns the names it defines itself. ``params`` (those of the
    function it is part of) are never deleted."""
    defined: set[str] = set()
    for index in range(len(lumps) - 1, -1, -1):
        lump = lumps[index]
        em.lump_comment(w, lump)
        how = "rebuilt by inverse steps" if plan.recipes[index] else "W from the checkpoint"
        w.comment(f"  inputs: {how}")
        mark = len(em.bound)
        made = rebuild_lump(em, w, index, lump, plan, kept)
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
    kept = em.namer.fresh("kept")
    defined = _sweep(em, sweep, lumps, plan, "ijvp", set(), {em.dot(o) for o in prog.outputs}, kept)
    outs = [em.expr(o.sym()) for o in prog.outputs]
    dots = A.tuple_(em.pack_inputs("dot"))
    sweep.stmt(A.return_(A.tuple_([em.pack(outs), dots])))
    keep = (em.refs - defined) | {o.name for o in prog.outputs}
    w = Writer()
    w.line(f'"""J^-1 v for {prog.name} in constant memory: returns (f(x), x_dot) where '
           f'J x_dot = y_dot."""')
    em.unpack_outputs(w, "dot", [em.dot(o) for o in prog.outputs])
    _forward(em, w, keep, lumps, plan, kept)
    args = em.primal_args() + em.output_args("dot")
    return [f"def {prog.name}_ijvp({', '.join(args)}):"] + w.lines + sweep.lines


def emit_vjp_recompute(em: Emitter, lumps: list[Lump], plan: MemoryPlan) -> list[str]:
    prog = em.program
    em.refs.clear()
    inner = Writer()
    have: set[Value] = set()
    params = output_cotangents(em, inner, have)
    kept = em.namer.fresh("kept")
    defined = _sweep(em, inner, lumps, plan, "vjp", have, set(params), kept)
    inner.stmt(A.return_(A.tuple_(em.pack_inputs("bar", have))))
    sweep_refs = set(em.refs)
    keep = sweep_refs - defined
    w = Writer()
    w.line(f'"""J^T w for {prog.name} in constant memory: returns (f(x), pullback); the '
           'pullback rebuilds the primal backwards."""')
    _forward(em, w, keep | {o.name for o in prog.outputs}, lumps, plan, kept)
    em.refs = sweep_refs                      # the tape: what the sweep reads, not the forward
    pullback = em.sweep_function(w, "vjp_bwd", inner, params,
                                 f"Reverse sweep of {prog.name}_vjp, rebuilding the primal backwards.",
                                 frozenset(defined), extra=(kept,))
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([em.pack(outs), pullback])))
    return [f"def {prog.name}_vjp({', '.join(em.primal_args())}):"] + w.lines


def emit_drift(em: Emitter, lumps: list[Lump], plan: MemoryPlan) -> list[str]:
    """``f_drift(x) -> (forward values, rebuilt values)``, two dicts keyed by SSA name."""
    prog = em.program
    w = Writer()
    w.line(f'"""Forward and rebuilt primal values of {prog.name}, for the drift report."""')
    kept = em.namer.fresh("kept")
    _forward(em, w, set(), lumps, plan, kept, delete=False)
    names = [p.name for p in prog.params] + [s.target.name for s in em.graph.order]
    forward, rebuilt_dict = em.namer.fresh("_forward"), em.namer.fresh("_rebuilt")
    w.line(forward + " = {" + ", ".join(f"{n!r}: {n}" for n in names) + "}")
    rebuilt = []
    for index in range(len(lumps) - 1, -1, -1):
        if plan.recipes[index] is not None:
            made = rebuild_lump(em, w, index, lumps[index], plan, kept)
            rebuilt += [v.name for v in made]
    w.line(rebuilt_dict + " = {" + ", ".join(f"{n!r}: {n}" for n in rebuilt) + "}")
    w.line(f"return {forward}, {rebuilt_dict}")
    return [f"def {prog.name}_drift({', '.join(em.primal_args())}):"] + w.lines
