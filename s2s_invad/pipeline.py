"""The whole compiler as one ordered list of passes.

    loader -> evaluate (fence, transform-time evaluation to SSA) -> activity
           -> [regions: cut at loops kept as loops; per region:] schedule -> graph
           -> (check_invertible, lumpify) -> emit_<mode> -> render -> compile

:func:`analyse` runs the passes up to the lumps (once per function and wrt, cached by the
API); :func:`generate` renders the source of the requested modes. Set the environment
variable ``S2S_INVAD_DUMP`` to a comma-separated list of stage names (or ``all``) to print
the IR after those stages on stderr.
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass

from .front import loader
from .analysis.activity import activity
from .analysis.cse import cse
from ._astlib import deep
from .back.compile import gc_paused
from .errors import NotInvertibleError
from .analysis.graph import LayeredGraph, build_graph
from .ir import Program, Value, has_loops
from .analysis.lumps import Lump, check_invertible, check_signature, lumpify
from .analysis.regions import Regions, analyse_regions, single
from .back.render import render_module
from .analysis.schedule import schedule as choose_order
from .front.evaluate import evaluate
from .progress import stage

STAGES = ("loader", "evaluate", "activity", "schedule", "graph", "lumps")
UNROLL_SHORT = 256      # a rolled loop that breaks the inverse modes is unrolled up to this count


@dataclass
class Analysis:
    program: Program
    graph: LayeredGraph | None          # None for a program with loops kept as loops
    lumps: list[Lump] | None            # None when the inverse modes cannot exist
    not_invertible: NotInvertibleError | None
    scheduled: bool = True              # False: the statements keep their source order
    regions: Regions | None = None  # the regions (one for a program without loops)

    @property
    def invertible(self) -> bool:
        return self.not_invertible is None

    @property
    def rolled(self) -> bool:
        """True when the program keeps loops as loops."""
        return self.graph is None

    def require_lumps(self) -> list[Lump]:
        """The lumps, or a NotInvertibleError saying why there are none: a fresh copy of the
        stored one on every call, so each raise has its own traceback (raising the stored
        object itself would chain every earlier call's frames onto it and keep them alive)."""
        if self.lumps is None:
            problem = self.not_invertible
            raise copy.copy(problem).with_traceback(None) from None
        return self.lumps


def _dump(stage: str, text_of) -> None:
    wanted = os.environ.get("S2S_INVAD_DUMP", "")
    if wanted and (wanted == "all" or stage in wanted.split(",")):
        print(f"== after {stage} ==\n{text_of()}", file=sys.stderr)


def source_order(program: Program) -> list:
    """The schedule that keeps the statements in source order."""
    return list(program.body)


def analyse(fn_or_source, wrt=None, schedule=True, shapes=None, probe=frozenset(), unroll=None,
            arrays=frozenset(), statics=None) -> Analysis:
    """Run the analysis passes on a live function or a :class:`loader.SourceFunction`.

    ``shapes`` maps vector parameters to their lengths; ``probe`` names parameters without
    a length that may turn out to be vectors (see :func:`evaluate.evaluate`), ``arrays`` those
    of them given an array at this call. ``unroll``:
    None (loops of at least front.loops.ROLL_MIN iterations stay loops where they can),
    True (unroll every loop with a transform-time trip count), False (keep every loop that
    can be kept), or {line: bool} per loop. ``schedule=False`` keeps the statements in
    source order (for debugging and comparison).
    """
    with gc_paused():
        return deep(_analyse, fn_or_source, wrt, schedule, shapes, probe, unroll, arrays, statics)


def _analyse(fn_or_source, wrt, schedule, shapes, probe, unroll, arrays=frozenset(), statics=None) -> Analysis:
    if isinstance(fn_or_source, loader.SourceFunction):
        sf = fn_or_source
    else:
        with stage("read"):
            sf = loader.from_function(fn_or_source)
    _dump("loader", lambda: f"{sf.filename}: def {sf.name}")
    why: dict[int, str] = {}                 # loops unrolled so that the inverse modes exist
    while True:
        with stage("evaluate"):
            program = evaluate(sf, wrt, shapes, probe, unroll, arrays, statics)
        for note in program.loop_notes:
            if note.line in why and not note.rolled:
                note.reason = why[note.line]
        _dump("evaluate", program.dump)
        with stage("activity"):
            program = activity(program)
        _dump("activity", program.dump)
        program = cse(program)
        _dump("cse", program.dump)
        if not has_loops(program.body):
            return _flat(program, schedule)
        analysis = _rolled(program, schedule)
        retry = _short_loop_to_unroll(analysis, unroll)
        if retry is None:
            return analysis
        why[retry] = (f"kept as a loop, it would carry more than the active state across iterations "
                      f"(a short loop: at most {UNROLL_SHORT} iterations, so it is unrolled to keep the "
                      "inverse modes)")
        unroll = dict(unroll) if isinstance(unroll, dict) else {} if unroll is None else unroll
        unroll[retry] = True


def _rolled(program: Program, schedule) -> Analysis:
    """A program with loops kept as loops: regions, each analysed on its own."""
    order = choose_order if schedule else source_order
    try:
        check_signature(program)
        problem = None
    except NotInvertibleError as exc:
        problem = exc.with_traceback(None)          # kept with the analysis: no frames with it
    inputs = [p for p in program.wrt if p.active]
    outputs = [o for o in program.outputs if isinstance(o, Value) and o.active]
    with stage("regions"):
        regions = analyse_regions(program, program.body, inputs, outputs, order)
    problem = problem or regions.problem
    regions.problem = problem
    _dump("lumps", lambda: "\n".join(f"k={l.k} lines {l.lines}" for l in regions.lumps) or str(problem))
    return Analysis(program, None, regions.lumps if problem is None else None, problem, schedule, regions)


def _short_loop_to_unroll(analysis: Analysis, unroll) -> int | None:
    """The line of a rolled loop with a short transform-time trip count that keeps the
    inverse modes from existing (it carries more than the active state): unroll it."""
    problem = analysis.not_invertible
    if problem is None or unroll is False:
        return None
    for note in analysis.program.loop_notes:
        if note.rolled and note.line == problem.lineno and note.count.isdigit() \
                and int(note.count) <= UNROLL_SHORT and not (isinstance(unroll, dict) and unroll.get(note.line) is False):
            return note.line
    return None


def _flat(program: Program, schedule) -> Analysis:
    with stage("schedule"):
        order = choose_order(program) if schedule else source_order(program)
    _dump("schedule", lambda: "\n".join(map(repr, order)))
    with stage("graph"):
        graph = build_graph(program, order)
    _dump("graph", lambda: f"widths: {graph.widths}")
    try:
        with stage("lumps"):
            check_invertible(graph)
            lumps, problem = lumpify(graph), None
    except NotInvertibleError as exc:
        lumps, problem = None, exc.with_traceback(None)
    _dump("lumps", lambda: "\n".join(f"k={l.k} lines {l.lines}" for l in lumps or []) or str(problem))
    return Analysis(program, graph, lumps, problem, schedule, single(program, graph, lumps, problem))


def generate(analysis: Analysis, modes: tuple[str, ...], memory: str = "store", checkpoints=None,
             compiled: bool = False) -> str:
    """Generated module source for ``modes`` of one analysed function (``compiled``: for a
    backend that compiles it)."""
    with gc_paused():       # (the rules of a deep expression nest as deep: deep() retries)
        return deep(render_module, [(analysis, tuple(modes))], memory, checkpoints, compiled)
