"""Analysis: programs with loops kept as loops, cut into regions (SPEC section 9).

A program whose body holds :class:`~s2s_invad.ir.Loop` items is cut into *regions*:
maximal runs of statements (straight regions) and the loops. The active values live at
every boundary between regions are computed last to first. Each straight region becomes a
sub-program (parameters: the active values live at its start; outputs: those live at its
end) analysed by the usual passes: schedule, layered graph, lumps. Each loop's body is
analysed the same way, recursively, with the carried values and the active values the
body reads from outside (*invariants*, live in every iteration) as its inputs and
outputs, so the body's lumps are found once for all iterations.

The inverse modes need the live width to be n at every boundary: then no lump crosses a
region boundary, J is the product of the regions' Jacobians (of the loop's iterations:
J_body(x_{N-1}) ... J_body(x_0)), and each region is inverted on its own. Where that
fails (a loop carrying more than the active state, a value kept alive across a loop),
``problem`` says why; jvp and vjp work regardless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import NotInvertibleError
from ..ir import Carry, Loop, Program, Stmt, Value
from .graph import LayeredGraph, build_graph
from .lumps import Lump, check_invertible, lumpify


@dataclass
class Straight:
    """A run of statements analysed as its own program."""
    program: Program             # params/wrt: active values live at its start; outputs: at its end
    graph: LayeredGraph
    lumps: list[Lump] | None     # None when this region cannot be inverted
    problem: NotInvertibleError | None = None


@dataclass
class Rolled:
    """A loop kept as a loop; its body is cut into regions of its own."""
    loop: Loop
    body: "Regions"
    carried: list[Carry]         # the active carried values
    invariants: list[Value]      # active values the body reads from outside


@dataclass
class Regions:
    parts: list                  # Straight | Rolled, in order
    live: list[list[Value]]      # active values live at each boundary: len(parts) + 1 lists
    n: int
    problem: NotInvertibleError | None = None
    lumps: list[Lump] = field(default_factory=list)   # every lump of every straight region

    @property
    def invertible(self) -> bool:
        return self.problem is None

    def straight(self):
        """Every straight region, loop bodies included, in order."""
        for region in self.parts:
            if isinstance(region, Rolled):
                yield from region.body.straight()
            else:
                yield region


def _reads(item) -> list:
    if isinstance(item, Loop):
        ops = [c.entry for c in item.carried] + [item.count] + item.free_values()
        return [v for v in ops if isinstance(v, Value)]
    return [a for a in item.args if isinstance(a, Value)]


def _defines(item) -> list:
    if isinstance(item, Loop):
        return [c.var for c in item.carried]
    return [item.target]


def _runs(items) -> list:
    """Items grouped: lists of consecutive statements, and loops on their own."""
    runs, current = [], []
    for item in items:
        if isinstance(item, Loop):
            if current:
                runs.append(current)
                current = []
            runs.append(item)
        else:
            current.append(item)
    if current or not runs:
        runs.append(current)
    return runs


def analyse_regions(program: Program, items, inputs: list[Value], outputs: list[Value],
                      schedule) -> Regions:
    """Cut ``items`` into regions and analyse each; ``inputs`` and ``outputs`` are the
    active values live at the start and at the end, ``n`` their number.

    ``schedule(sub_program) -> order`` chooses each straight region's statement order.
    """
    n = len(inputs)
    runs = _runs(items)
    live: list[list[Value]] = [[] for _ in range(len(runs) + 1)]
    live[-1] = list(outputs)
    current = {id(v): v for v in outputs}
    for i in range(len(runs) - 1, -1, -1):             # live active values, last to first
        run = runs[i]
        members = run if isinstance(run, list) else [run]
        for item in reversed(members):
            for v in _defines(item):
                current.pop(id(v), None)
            for v in _reads(item):
                if v.active:
                    current[id(v)] = v
        live[i] = _ordered(current, live[i + 1], inputs, members)
    regions = Regions([], live, n)
    for i, run in enumerate(runs):
        if isinstance(run, Loop):
            region = _rolled(program, run, live[i + 1], n, schedule)
            problem = region.body.problem
            regions.lumps += region.body.lumps
        else:
            region = _straight(program, run, live[i], live[i + 1], schedule)
            problem = region.problem
            regions.lumps += region.lumps or []
        regions.parts.append(region)
        if regions.problem is None:
            if len(live[i + 1]) != n and not isinstance(run, Loop):
                after = runs[i + 1] if i + 1 < len(runs) else None
                regions.problem = _width_problem(program, run, len(live[i + 1]), n, after)
            elif problem is not None:
                regions.problem = problem
    return regions


def single(program: Program, graph: LayeredGraph, lumps, problem) -> Regions:
    """The regions of a program without loops: one straight region."""
    inputs = [p for p in program.wrt if p.active]
    outputs = [o for o in program.outputs if isinstance(o, Value) and o.active]
    return Regions([Straight(program, graph, lumps, problem)], [inputs, outputs], len(program.wrt),
                     problem, list(lumps or []))


def _ordered(current: dict, after: list, inputs: list, members) -> list:
    """The values of ``current`` in a deterministic order: inputs first (their order), then
    by first appearance in the run and the values live after it."""
    rank: dict[int, int] = {}
    for v in inputs:
        rank.setdefault(id(v), len(rank))
    for item in members:
        for v in _reads(item):
            rank.setdefault(id(v), len(rank))
    for v in after:
        rank.setdefault(id(v), len(rank))
    return sorted(current.values(), key=lambda v: rank.get(id(v), len(rank)))


def _sub_program(program: Program, stmts, live_in, live_out) -> Program:
    return Program(
        name=program.name, filename=program.filename, def_line=program.def_line,
        params=list(live_in), wrt=list(live_in), body=list(stmts), outputs=list(live_out),
        out_spec=len(live_out), lines=program.lines, texts=program.texts, modules=program.modules,
        constants=program.constants, digest=program.digest, reserved=program.reserved)


def _straight(program, stmts, live_in, live_out, schedule) -> Straight:
    sub = _sub_program(program, stmts, live_in, live_out)
    graph = build_graph(sub, schedule(sub))
    try:
        check_invertible(graph)
        return Straight(sub, graph, lumpify(graph))
    except NotInvertibleError as exc:
        return Straight(sub, graph, None, exc.with_traceback(None))   # kept: no frames with it


def _rolled(program, loop: Loop, live_out, n: int, schedule) -> Rolled:
    carried = [c for c in loop.carried if c.var.active]
    invariants = [v for v in loop.free_values() if v.active]
    inputs = [c.var for c in carried] + invariants
    outputs = [c.result for c in carried] + invariants
    body = analyse_regions(program, loop.body, inputs, [o for o in outputs if isinstance(o, Value)],
                             schedule)
    problem = body.problem
    if problem is None:
        for c in carried:
            if not (isinstance(c.result, Value) and c.result.active):
                problem = NotInvertibleError(
                    f"{program.filename}:{loop.line}: the loop carries '{c.var.name}', but each iteration "
                    "sets it to a value that does not depend on the differentiated inputs, so J has a "
                    "zero row and no inverse", loop.line)
                break
    if problem is None:
        results = [id(c.result) for c in carried]
        if len(set(results)) != len(results):
            problem = NotInvertibleError(
                f"{program.filename}:{loop.line}: two carried values of the loop take the same value "
                "at the end of an iteration, so J has two equal rows and no inverse", loop.line)
    if problem is None:                          # the width at every iteration boundary
        vars_ = {id(c.var) for c in carried}
        during = {id(v) for v in live_out if id(v) not in vars_} | {id(v) for v in invariants}
        width = len(carried) + len(during)
        if width != n:
            problem = _width_problem(program, loop, width, n)
    body.problem = problem
    return Rolled(loop, body, carried, invariants)


def _width_problem(program, run, width: int, n: int, next_loop: Loop | None = None) -> NotInvertibleError:
    """The live width is not n at the end of ``run`` (a loop, or the straight run before
    ``next_loop``)."""
    line = run.line if isinstance(run, Loop) else (run[-1].line if run else program.def_line)
    if isinstance(run, Loop):
        what = (f"the loop at line {run.line} keeps {width} active values alive across its iterations "
                f"(n = {n}): it carries more than the active state (the previous state of a multistep "
                "method, say), so a lump would cross the iteration boundary")
    else:
        what = f"{width} active values are live here, not n = {n}"
    return NotInvertibleError(f"{program.filename}:{line}: {what}; the inverse modes need the live width "
                              f"to be n between loop iterations (jvp and vjp still work; "
                              f"{_unroll_advice(program, run if isinstance(run, Loop) else next_loop)})", line)


def _unroll_advice(program, loop: Loop | None) -> str:
    """How to unroll ``loop``: unroll=True, unless its trip count is a runtime value."""
    if loop is None or not isinstance(loop.count, Value):
        return "unroll=True unrolls the loop instead"
    count = next((note.count for note in program.loop_notes if note.line == loop.line), loop.count.name)
    names = [p.name for p in program.signature]
    fixed = [name for name in names if name not in program.counts]
    call = ", ".join("100" if name in program.counts else name for name in names)
    return (f"the loop at line {loop.line} cannot be unrolled: its trip count `{count}` is known only at run "
            "time, and unroll=True unrolls transform-time trip counts only. To unroll it, give it a "
            f"transform-time trip count and pass unroll=True: differentiate a wrapper such as `def "
            f"g({', '.join(fixed)}): return {program.name}({call})` ({program.name} is inlined with the "
            "constant 100), or read the count from a module constant")
