"""Back end, last step: assemble generated functions into one module's source text.

The header marks the file as generated and says by what, from which function, for which
modes, and the hash of the source (so stale files are detectable). The text is the same
bytes on every run and every supported Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _astlib as A
from .._version import VERSION
from ..files import marker_line
from .emit_common import Emitter
from .names import ModuleNames
from .emit_ijvp import emit_ijvp
from .emit_ivjp import emit_ivjp
from .emit_jvp import emit_jvp
from .emit_recompute import emit_drift, emit_ijvp_recompute, emit_vjp_recompute
from .emit_recompute_loops import emit_drift_rolled, emit_ijvp_recompute_rolled, emit_vjp_recompute_rolled
from .emit_slogdet import emit_slogdet
from .emit_vjp import emit_vjp
from ..analysis.memory import plan_memory
from .checks import guard
from .inline import fold_module, temporaries
from .registers import compact, reuse_names
from .text import CODING_LINE, comment
from .text import module as checked_module
from ..progress import each_stage

if TYPE_CHECKING:
    from ..pipeline import Analysis

MODES = ("jvp", "vjp", "ijvp", "ivjp")
EXTRA_MODES = ("slogdet",)                 # sign and log|det J|, for square functions
INVERSE_MODES = ("ijvp", "ivjp", "slogdet")
MODE_TITLES = {"jvp": "J v", "vjp": "J^T w", "ijvp": "J^-1 v", "ivjp": "J^-T w",
               "slogdet": "sign, log|det J|"}


def _import_line(alias: str, kind: str) -> str:
    return f"import {kind}" if alias == kind else f"import {kind} as {alias}"


MEMORY = ("store", "recompute")
PURE_MODULES = ("math", "numpy", "cmath")     # calls of these may be folded (back/inline.py)


def _folded(em: Emitter, prog, lines: list[str]) -> list[str]:
    """The emitted functions with their single-use temporaries folded (back/inline.py)."""
    kinds = {**prog.modules, **em.imports}
    return fold_module(lines, temporaries(prog, em), {a for a, k in kinds.items() if k in PURE_MODULES})


def render_module(items: list[tuple["Analysis", tuple[str, ...]]], memory: str = "store",
                  checkpoints: int | None = None, compiled: bool = False) -> str:
    """Source text of a module with the given modes of each analysed function.

    ``memory="recompute"`` emits vjp and ijvp sweeps that rebuild the primal backwards
    instead of keeping every intermediate value (see :mod:`s2s_invad.emit_recompute`);
    loops kept as loops are reversed by inverse steps or by binomial checkpointing with
    at most ``checkpoints`` snapshots (:mod:`s2s_invad.back.emit_recompute_loops`).
    ``compiled``: a backend (numba, C) will compile the module, so structured lumps get
    generated elimination code instead of run-time solver calls it cannot compile.
    """
    names = ModuleNames([(analysis.program, analysis.graph, tuple(modes)) for analysis, modes in items])
    headers, bodies, modules = [], [], {}
    uses_runtime = uses_partial = uses_abs = False
    for analysis, modes in each_stage(items, lambda item: item[0].program.name):
        prog = analysis.program
        em = Emitter(prog, analysis.graph, names, compiled)
        first, plain = len(bodies), set()          # plain: results left unchecked (drift)
        for mode in each_stage(modes):             # the progress display names the mode
            recompute = mode == "drift" or (mode in ("vjp", "ijvp") and memory == "recompute")
            em.reuse = None if recompute else "before" if mode == "jvp" else "all"
            if analysis.rolled and (mode == "drift" or (mode in ("vjp", "ijvp") and memory == "recompute")):
                if mode == "ijvp":
                    analysis.require_lumps()
                if mode == "drift":
                    lines = emit_drift_rolled(em, analysis.regions)
                else:
                    emitter = {"vjp": emit_vjp_recompute_rolled, "ijvp": emit_ijvp_recompute_rolled}[mode]
                    lines = emitter(em, analysis.regions, checkpoints)
            elif mode in ("vjp", "ijvp", "drift") and (memory == "recompute" or mode == "drift"):
                lumps = analysis.require_lumps()
                plan = plan_memory(analysis.graph, lumps)
                emitter = {"vjp": emit_vjp_recompute, "ijvp": emit_ijvp_recompute, "drift": emit_drift}[mode]
                lines = _folded(em, prog, emitter(em, lumps, plan))
                if mode != "drift":                  # a frame that does not grow with the program
                    bodies.append(reuse_names("\n".join(lines)))
                    bodies += [reuse_names("\n".join(_folded(em, prog, extra))) for extra in em.lines_after]
                    em.lines_after.clear()
                    continue
            elif mode == "jvp":
                lines = emit_jvp(em, analysis.regions)
            elif mode == "vjp":
                lines = emit_vjp(em, analysis.regions)
            else:
                analysis.require_lumps()
                emitter = {"ijvp": emit_ijvp, "ivjp": emit_ivjp, "slogdet": emit_slogdet}[mode]
                lines = emitter(em, analysis.regions)
            if mode == "drift":
                plain.add(len(bodies))
            bodies.append("\n".join(compact(_folded(em, prog, lines))))
            bodies += ["\n".join(compact(_folded(em, prog, extra))) for extra in em.lines_after]
            em.lines_after.clear()
        src = prog.filename.replace("\\", "/").rsplit("/", 1)[-1]
        memo = ", memory recompute" if memory == "recompute" else ""
        if memory == "recompute" and checkpoints is not None:
            memo += f" with {int(checkpoints)} checkpoints"
        site = prog.filename.rsplit("/", 1)[-1]             # as the runtime's error helpers cite it
        for i in range(first, len(bodies)):
            bodies[i] = guard(bodies[i], site, em.numpy, names.runtime, results=i not in plain)
        uses_runtime |= len(bodies) > first
        headers.append("# " + comment(f"{prog.name}: {src} line {prog.def_line}, modes "
                                      f"{', '.join(modes)}{memo}, source hash {prog.digest}"))
        for alias, kind in prog.modules.items():
            em.module(alias, kind)                   # every module the source calls
        modules.update(em.imports)
        uses_runtime |= em.uses_runtime
        uses_partial |= em.uses_partial
        uses_abs |= em.uses_abs
    text = [marker_line(VERSION),
            CODING_LINE,                      # line 2: no user text can be a coding cookie
            *headers,
            "# Names: x_dot is the tangent of x, x_bar its cotangent, dz_dx the partial d z / d x.",
            ""]
    if uses_partial:
        text.append(f"from functools import partial as {names.partial}")
    text += [_import_line(a, modules[a]) for a in sorted(modules)]
    if uses_abs and names.abs != "abs":
        text.append(f"from builtins import abs as {names.abs}")
    if uses_runtime:
        text.append(f"from s2s_invad import runtime as {names.runtime}")
    if names.constants:
        text.append("")
        for name, (value, source_name) in sorted(names.constants.items()):
            what = "" if name == source_name else f" {source_name}"
            text.append(f"{name} = {A.to_source(A.const(value))}  # module constant{what} of the source")
    for body in bodies:
        text += ["", "", body]
    return checked_module("\n".join(text).lstrip("\n") + "\n")
