"""The public API, with JAX's conventions.

    y, y_dot = jvp(f, primals, tangents)        J v
    y, f_vjp = vjp(f, *primals)                  J^T w:   f_vjp(y_bar) -> input cotangents
    y, x_dot = ijvp(f, primals, y_dot)          J^-1 v:  solves J x_dot = y_dot
    y, f_ivjp = ivjp(f, *primals)               J^-T w:  f_ivjp(x_bar) -> y_bar, J^T y_bar = x_bar
    y, (sign, logabsdet) = slogdet(f, primals)   log|det J| from the pivots

(Our ``ivjp`` is the vector-inverse-Jacobian product w^T J^-1; an old, removed JAX API used
the name for something else.) ``wrt`` names the differentiated parameters (default: all);
tangents and cotangents of inputs come one per differentiated parameter, in parameter
order. The transform runs once per (function, wrt, schedule) and is cached; each mode's
code is compiled on first use. ``schedule=False`` keeps the statements in source order
instead of the scheduler's order (for debugging and comparison; SPEC section 4).
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from . import files
from .back import cache
from .back.callspec import CallSpec
from .report.drift import DriftReport, drift_report
from .errors import ArgumentError, NotInvertibleError
from .analysis.memory import describe as describe_memory
from .analysis.memory import plan_memory
from .report.explain import explain as _explain_report
from .pipeline import Analysis, analyse, generate
from .back.render import EXTRA_MODES, INVERSE_MODES, MEMORY, MODES, render_module

_analyses: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _wrt_key(wrt) -> tuple | None:
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return (wrt,)
    return tuple(wrt)


def _unwrap(f, wrt):
    """The plain function and wrt key; a @derivatives function brings its own wrt."""
    if isinstance(f, Derivatives):
        return f.__wrapped__, (f.wrt if wrt is None else _wrt_key(wrt))
    return f, _wrt_key(wrt)


def analysis_of(f, wrt=None, *, schedule=True) -> Analysis:
    """The cached analysis of ``f`` (front end, SSA, schedule, graph, lumps)."""
    schedule = _schedule(f, schedule)
    f, key = _unwrap(f, wrt)
    per_fn = _analyses.setdefault(f, {})
    if ("analysis", key, schedule) not in per_fn:
        per_fn[("analysis", key, schedule)] = analyse(f, key, schedule)
    return per_fn[("analysis", key, schedule)]


def _check_mode(mode: str) -> None:
    if mode not in MODES + EXTRA_MODES:
        raise ArgumentError(f"unknown mode {mode!r}: choose one of {', '.join(MODES + EXTRA_MODES)}")


def _check_memory(memory: str, analysis: Analysis) -> None:
    if memory not in MEMORY:
        raise ArgumentError(f"unknown memory={memory!r}: choose 'store' (keep every intermediate "
                            "value for the backward sweep) or 'recompute' (rebuild them backwards)")
    if memory == "recompute" and analysis.lumps is None:
        raise NotInvertibleError(
            f"memory='recompute' rebuilds values backwards through the lumps, so it needs a square, "
            f"invertible program; use memory='store'. Reason: {analysis.not_invertible}",
            analysis.not_invertible.lineno)


def source(f, mode: str, wrt=None, memory: str = "store", *, schedule=True) -> str:
    """The generated Python source of ``mode`` ("jvp", "vjp", "ijvp" or "ivjp") for ``f``.

    ``memory="recompute"`` (vjp and ijvp) gives sweeps that rebuild the primal backwards.
    """
    _check_mode(mode)
    analysis = analysis_of(f, wrt, schedule=schedule)
    _check_memory(memory, analysis)
    return generate(analysis, (mode,), memory)


def explain(f, wrt=None, *, schedule=True) -> str:
    """A readable report: SSA, live width at each point, pivots, lumps with k and lines, and
    the width profile and lumps of the source order against the chosen schedule."""
    analysis = analysis_of(f, wrt, schedule=schedule)
    report = _explain_report(analysis)
    if analysis.lumps:
        report += "\n" + "\n".join(describe_memory(plan_memory(analysis.graph, analysis.lumps),
                                                    analysis.lumps))
    return report


def drift(f, primals, wrt=None, *, schedule=True) -> DriftReport:
    """How far memory="recompute" rebuilds values from the forward ones at ``primals``."""
    analysis = analysis_of(f, wrt, schedule=schedule)
    _check_memory("recompute", analysis)
    _, fn = _compiled(f, wrt, "drift", schedule=schedule)
    forward, rebuilt = fn(*_primals(analysis.program, primals))
    return drift_report(analysis.program, forward, rebuilt)


def _compiled(f, wrt, mode, memory="store", schedule=True):
    """(call spec, generated function) of ``mode`` for ``f``: from this process's memo, else
    from the cache of generated modules (no transform at all), else transformed and stored.

    The wrappers read only the spec (:class:`~s2s_invad.back.callspec.CallSpec`).
    """
    schedule = _schedule(f, schedule)
    f, key = _unwrap(f, wrt)
    if memory not in MEMORY:
        _check_memory(memory, None)                       # unknown: raises before any analysis
    per_fn = _analyses.setdefault(f, {})
    if (mode, key, memory, schedule) not in per_fn:
        per_fn[(mode, key, memory, schedule)] = _cached_or_generated(f, key, mode, memory, schedule)
    return per_fn[(mode, key, memory, schedule)]


def _cached_or_generated(f, key, mode, memory, schedule):
    """Load the generated ``mode`` of ``f`` from the cache, or transform, store and load it."""
    def make():
        analysis = analysis_of(f, key, schedule=schedule)
        if memory != "store":
            _check_memory(memory, analysis)
        return generate(analysis, (mode,), memory), CallSpec.of(analysis.program, mode)
    spec, namespace = cache.fetch(f, {"mode": mode, "memory": memory, "schedule": schedule, "wrt": key}, make)
    return spec, namespace[spec.entry]


def _as_tuple(value, what: str, expected: int, names) -> tuple:
    if not isinstance(value, (tuple, list)):
        raise ArgumentError(f"{what} must be a tuple of {expected} value(s) ({', '.join(names)}), "
                            f"got {type(value).__name__}")
    if len(value) != expected:
        raise ArgumentError(f"{what}: expected {expected} value(s) ({', '.join(names)}), got {len(value)}")
    return tuple(value)


def _primals(prog, primals) -> tuple:
    primals = _as_tuple(primals, f"primals of {prog.name}", len(prog.params), [p.name for p in prog.params])
    if "numpy" not in prog.modules.values():
        for name, value in zip((p.name for p in prog.params), primals):
            if isinstance(value, np.ndarray) and value.ndim > 0:
                uses = ", ".join(f"{a}.<fn>" for a in prog.modules) or "no numpy function"
                raise ArgumentError(
                    f"{prog.name} was given an array for '{name}', but its source uses {uses}, so its "
                    "generated code works on scalars only; call np.<fn> (import numpy as np) in the "
                    "source to evaluate it on arrays elementwise, or loop over the points")
    return primals


def _outputs_like(prog, value, what: str) -> tuple:
    """A value shaped like f's result, as a tuple."""
    names = [repr(o) for o in prog.outputs]
    if prog.tuple_output:
        return _as_tuple(value, what, len(prog.outputs), names)
    if isinstance(value, (tuple, list)):
        raise ArgumentError(f"{what}: {prog.name} returns a single value, so pass a single value, not a tuple")
    return (value,)


def jvp(f, primals, tangents, wrt=None, *, schedule=True):
    """``(f(*primals), J @ tangents)``; tangents one per differentiated parameter."""
    prog, fn = _compiled(f, wrt, "jvp", schedule=schedule)
    primals = _primals(prog, primals)
    tangents = _as_tuple(tangents, "tangents", len(prog.wrt), [p.name for p in prog.wrt])
    return fn(*primals, *tangents)


def vjp(f, *primals, wrt=None, memory="store", schedule=True):
    """``(f(*primals), f_vjp)`` with ``f_vjp(y_bar) = J^T y_bar`` (a tuple, one per input).

    ``memory="recompute"``: the pullback rebuilds the primal backwards instead of keeping
    every intermediate value (square, invertible functions; see :func:`drift`).
    """
    prog, fn = _compiled(f, wrt, "vjp", _memory(f, memory), schedule)
    y, bwd = fn(*_primals(prog, primals))

    def f_vjp(y_bar):
        return bwd(*_outputs_like(prog, y_bar, "the output cotangent y_bar"))
    return y, f_vjp


def ijvp(f, primals, y_dot, wrt=None, memory="store", *, schedule=True):
    """``(f(*primals), x_dot)`` where ``J x_dot = y_dot`` (x_dot a tuple, one per input).

    ``memory="recompute"``: the sweep rebuilds the primal backwards (constant memory).
    """
    prog, fn = _compiled(f, wrt, "ijvp", _memory(f, memory), schedule)
    primals = _primals(prog, primals)
    return fn(*primals, *_outputs_like(prog, y_dot, "the output tangent y_dot"))


def ivjp(f, *primals, wrt=None, schedule=True):
    """``(f(*primals), f_ivjp)`` with ``f_ivjp(x_bar) = J^-T x_bar``, shaped like f's result."""
    prog, fn = _compiled(f, wrt, "ivjp", schedule=schedule)
    y, fwd = fn(*_primals(prog, primals))
    names = [p.name for p in prog.wrt]

    def f_ivjp(x_bar):
        if len(names) == 1 and not isinstance(x_bar, (tuple, list)):
            x_bar = (x_bar,)
        return fwd(*_as_tuple(x_bar, "the input cotangent x_bar", len(names), names))
    return y, f_ivjp


def slogdet(f, primals, wrt=None, *, schedule=True):
    """``(f(*primals), (sign, logabsdet))`` of det J, from the pivots and lumps (no Jacobian)."""
    prog, fn = _compiled(f, wrt, "slogdet", schedule=schedule)
    return fn(*_primals(prog, primals))


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    files.write_atomic(path, text)


def _memory(f, memory):
    """A @derivatives(memory=...) function's default, unless the call says otherwise."""
    if isinstance(f, Derivatives) and memory == "store":
        return f.memory
    return memory


def _schedule(f, schedule):
    """A @derivatives(schedule=False) function's default, unless the call says otherwise."""
    if isinstance(f, Derivatives) and schedule:
        return f.schedule
    return schedule


class Derivatives:
    """A function with its derivatives attached (see :func:`derivatives`)."""

    def __init__(self, f, wrt=None, memory="store", schedule=True):
        functools.update_wrapper(self, f)
        self.wrt = _wrt_key(wrt)
        self.memory = memory
        self.schedule = schedule

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def jvp(self, primals, tangents):
        return jvp(self.__wrapped__, primals, tangents, wrt=self.wrt, schedule=self.schedule)

    def vjp(self, *primals):
        return vjp(self.__wrapped__, *primals, wrt=self.wrt, memory=self.memory, schedule=self.schedule)

    def ijvp(self, primals, y_dot):
        return ijvp(self.__wrapped__, primals, y_dot, wrt=self.wrt, memory=self.memory, schedule=self.schedule)

    def drift(self, primals) -> DriftReport:
        return drift(self.__wrapped__, primals, wrt=self.wrt, schedule=self.schedule)

    def ivjp(self, *primals):
        return ivjp(self.__wrapped__, *primals, wrt=self.wrt, schedule=self.schedule)

    def slogdet(self, primals):
        return slogdet(self.__wrapped__, primals, wrt=self.wrt, schedule=self.schedule)

    def source(self, mode: str) -> str:
        return source(self.__wrapped__, mode, wrt=self.wrt, schedule=self.schedule)

    def explain(self) -> str:
        return explain(self.__wrapped__, wrt=self.wrt, schedule=self.schedule)

    def write(self, path: str, modes=MODES, force: bool = False) -> str:
        """Write a module with the generated ``modes`` to ``path``; return its text.

        As ``s2s-invad gen``: the function's own source is never replaced, and a file
        whose first line is not the generated marker only with ``force=True``
        (:class:`~s2s_invad.errors.OutputPathError` otherwise); a file already up to date
        is not touched.
        """
        for mode in modes:
            _check_mode(mode)
        sources = files.source_files(self.__wrapped__)
        files.check_target(path, sources)                      # before the transform
        text = render_module([(analysis_of(self.__wrapped__, self.wrt, schedule=self.schedule), tuple(modes))])
        files.write_generated(path, text, sources, force)
        return text


def derivatives(f=None, *, wrt=None, memory="store", schedule=True):
    """Decorator: ``@derivatives`` or ``@derivatives(wrt=("x", "y"), memory="recompute")``.

    The function stays callable as before and gains ``.jvp``, ``.vjp``, ``.ijvp``,
    ``.ivjp``, ``.source(mode)``, ``.explain()`` and ``.write(path, modes)``.
    ``schedule=False`` keeps the statements in source order (see the module docstring).
    """
    if f is None:
        return lambda g: Derivatives(g, wrt, memory, schedule)
    return Derivatives(f, wrt, memory, schedule)


__all__ = ["jvp", "vjp", "ijvp", "ivjp", "slogdet", "drift", "source", "explain", "derivatives", "Derivatives",
           "MODES", "INVERSE_MODES"]
