"""Back end, last step: assemble generated functions into one module's source text.

The header marks the file as generated and says by what, from which function, for which
modes, and the hash of the source (so stale files are detectable). The text is the same
bytes on every run and every supported Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._version import VERSION
from ..files import marker_line
from .emit_common import Emitter
from .emit_ijvp import emit_ijvp
from .emit_ivjp import emit_ivjp
from .emit_jvp import emit_jvp
from .emit_recompute import emit_drift, emit_ijvp_recompute, emit_vjp_recompute
from .emit_slogdet import emit_slogdet
from .emit_vjp import emit_vjp
from ..ir import Const
from ..analysis.memory import plan_memory
from .registers import reuse_names
from ..sym import Ref

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


def render_module(items: list[tuple["Analysis", tuple[str, ...]]], memory: str = "store") -> str:
    """Source text of a module with the given modes of each analysed function.

    ``memory="recompute"`` emits vjp and ijvp sweeps that rebuild the primal backwards
    instead of keeping every intermediate value (see :mod:`s2s_invad.emit_recompute`).
    """
    headers, bodies, modules, constants = [], [], {}, {}
    uses_runtime = uses_partial = False
    for analysis, modes in items:
        prog = analysis.program
        em = Emitter(prog, analysis.graph)
        for mode in modes:
            if mode in ("vjp", "ijvp", "drift") and (memory == "recompute" or mode == "drift"):
                lumps = analysis.require_lumps()
                plan = plan_memory(analysis.graph, lumps)
                emitter = {"vjp": emit_vjp_recompute, "ijvp": emit_ijvp_recompute, "drift": emit_drift}[mode]
                lines = emitter(em, lumps, plan)
                if mode != "drift":                  # a frame that does not grow with the program
                    bodies.append(reuse_names("\n".join(lines)))
                    bodies += [reuse_names("\n".join(extra)) for extra in em.lines_after]
                    em.lines_after.clear()
                    continue
            elif mode == "jvp":
                lines = emit_jvp(em)
            elif mode == "vjp":
                lines = emit_vjp(em)
            else:
                emitter = {"ijvp": emit_ijvp, "ivjp": emit_ivjp, "slogdet": emit_slogdet}[mode]
                lines = emitter(em, analysis.require_lumps())
            bodies.append("\n".join(lines))
            bodies += ["\n".join(extra) for extra in em.lines_after]
            em.lines_after.clear()
        src = prog.filename.replace("\\", "/").rsplit("/", 1)[-1]
        memo = ", memory recompute" if memory == "recompute" else ""
        headers.append(f"# {prog.name}: {src} line {prog.def_line}, modes {', '.join(modes)}{memo}, "
                       f"source hash {prog.digest}")
        for alias in sorted(em.used_modules | set(prog.modules)):
            modules[alias] = prog.modules.get(alias, "math")
        for stmt in analysis.graph.order:
            for arg in stmt.args:
                if isinstance(arg, Const) and isinstance(arg.ref, Ref):
                    constants[arg.ref.name] = arg.value
        for out in prog.outputs:
            if isinstance(out, Const) and isinstance(out.ref, Ref):
                constants[out.ref.name] = out.value
        uses_runtime |= em.uses_runtime
        uses_partial |= em.uses_partial
    text = [marker_line(VERSION),
            *headers,
            "# Names: x_dot is the tangent of x, x_bar its cotangent, dz_dx the partial d z / d x.",
            ""]
    if uses_partial:
        text.append("from functools import partial as _partial")
    text += [_import_line(a, modules[a]) for a in sorted(modules)]
    if uses_runtime:
        text.append("from s2s_invad import runtime as _rt")
    if constants:
        text.append("")
        text += [f"{k} = {v!r}  # module constant of the source" for k, v in sorted(constants.items())]
    for body in bodies:
        text += ["", "", body]
    return "\n".join(text).lstrip("\n") + "\n"
