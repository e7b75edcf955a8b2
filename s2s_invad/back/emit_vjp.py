"""Back end: reverse mode, w -> J^T w. The primal runs first; the returned closure sweeps
the steps last to first (works for any m x n)."""

from __future__ import annotations

from .. import _astlib as A
from .emit_common import Emitter, Writer
from .emit_jvp import shaped
from ..ir import Value
from ..sym import Ref


def vjp_step(em: Emitter, w: Writer, stmt, have: set) -> None:
    """``arg_bar += d target / d arg * target_bar`` for each active operand of ``stmt``."""
    if stmt.target not in have:
        return
    z_bar = Ref(em.bar(stmt.target))
    for arg, part in em.graph.partials[stmt].items():
        contribution = part * z_bar
        if arg in have:
            em.accumulate(w, em.bar(arg), "add", contribution)
        else:
            w.stmt(A.assign(em.bar(arg), em.expr(contribution)))
            have.add(arg)


def output_cotangents(em: Emitter, w: Writer, have: set) -> list[str]:
    """Parameter names of the output cotangents; a value returned twice adds both."""
    params = []
    for i, out in enumerate(em.program.outputs):
        if isinstance(out, Value) and out.active and out not in have:
            params.append(em.bar(out))
            have.add(out)
            continue
        name = em.derived(f"out{i}", "bar")
        params.append(name)
        if isinstance(out, Value) and out.active:
            w.stmt(A.accumulate(em.bar(out), "add", A.name(name)))
    return params


def emit_vjp(em: Emitter) -> list[str]:
    prog = em.program
    w = Writer()
    w.line(f'"""J^T w for {prog.name}: returns (f(x), pullback); '
           f'pullback(y_bar) gives the cotangents of ({", ".join(p.name for p in prog.wrt)})."""')
    em.primal_block(w)

    em.refs.clear()
    inner = Writer(level=1)
    have: set[Value] = set()
    params = output_cotangents(em, inner, have)
    for stmt in reversed(em.graph.steps):
        em.step_comment(inner, stmt)
        vjp_step(em, inner, stmt, have)
    result = [A.name(em.bar(p)) if p in have else em.zero_like(p.sym()) for p in prog.wrt]
    inner.stmt(A.return_(A.tuple_(result)))

    pullback = em.sweep_function(w, "vjp_bwd", inner, params,
                                  f"Reverse sweep of {prog.name}_vjp, last step to first.")
    outs = [em.expr(o.sym()) for o in prog.outputs]
    w.stmt(A.return_(A.tuple_([shaped(prog, outs), pullback])))
    return [f"def {prog.name}_vjp({', '.join(p.name for p in prog.params)}):"] + w.lines
