"""The whole compiler as one ordered list of passes.

    loader -> evaluate (fence, transform-time evaluation to SSA) -> activity -> schedule
           -> graph -> (check_invertible, lumpify) -> emit_<mode> -> render -> compile

:func:`analyse` runs the passes up to the lumps (once per function and wrt, cached by the
API); :func:`generate` renders the source of the requested modes. Set the environment
variable ``S2S_INVAD_DUMP`` to a comma-separated list of stage names (or ``all``) to print
the IR after those stages on stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from .front import loader
from .analysis.activity import activity
from ._astlib import deep
from .back.compile import gc_paused
from .errors import NotInvertibleError
from .analysis.graph import LayeredGraph, build_graph
from .ir import Program
from .analysis.lumps import Lump, check_invertible, lumpify
from .back.render import render_module
from .analysis.schedule import schedule as choose_order
from .front.evaluate import evaluate

STAGES = ("loader", "evaluate", "activity", "schedule", "graph", "lumps")


@dataclass
class Analysis:
    program: Program
    graph: LayeredGraph
    lumps: list[Lump] | None            # None when the inverse modes cannot exist
    not_invertible: NotInvertibleError | None
    scheduled: bool = True              # False: the statements keep their source order

    def require_lumps(self) -> list[Lump]:
        if self.lumps is None:
            raise self.not_invertible
        return self.lumps


def _dump(stage: str, text_of) -> None:
    wanted = os.environ.get("S2S_INVAD_DUMP", "")
    if wanted and (wanted == "all" or stage in wanted.split(",")):
        print(f"== after {stage} ==\n{text_of()}", file=sys.stderr)


def source_order(program: Program) -> list:
    """The schedule that keeps the statements in source order."""
    return list(program.body)


def analyse(fn_or_source, wrt=None, schedule=True, shapes=None, probe=frozenset()) -> Analysis:
    """Run the analysis passes on a live function or a :class:`loader.SourceFunction`.

    ``shapes`` maps vector parameters to their lengths; ``probe`` names parameters without
    a length that may turn out to be vectors (see :func:`evaluate.evaluate`).
    ``schedule=False`` keeps the statements in source order (for debugging and comparison).
    """
    with gc_paused():
        return deep(_analyse, fn_or_source, wrt, schedule, shapes, probe)


def _analyse(fn_or_source, wrt, schedule, shapes, probe) -> Analysis:
    sf = fn_or_source if isinstance(fn_or_source, loader.SourceFunction) else loader.from_function(fn_or_source)
    _dump("loader", lambda: f"{sf.filename}: def {sf.name}")
    program = evaluate(sf, wrt, shapes, probe)
    _dump("evaluate", program.dump)
    program = activity(program)
    _dump("activity", program.dump)
    order = choose_order(program) if schedule else source_order(program)
    _dump("schedule", lambda: "\n".join(map(repr, order)))
    graph = build_graph(program, order)
    _dump("graph", lambda: f"widths: {graph.widths}")
    try:
        check_invertible(graph)
        lumps, problem = lumpify(graph), None
    except NotInvertibleError as exc:
        lumps, problem = None, exc
    _dump("lumps", lambda: "\n".join(f"k={l.k} lines {l.lines}" for l in lumps or []) or str(problem))
    return Analysis(program, graph, lumps, problem, schedule)


def generate(analysis: Analysis, modes: tuple[str, ...], memory: str = "store") -> str:
    """Generated module source for ``modes`` of one analysed function."""
    with gc_paused():
        return render_module([(analysis, tuple(modes))], memory)
