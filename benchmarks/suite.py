"""The benchmark suite of issue 5: five program families at n = 8, 64, 512, s2s_invad's
four modes against the primal, and the peers a user would reach for instead.

Run from the repository root::

    python -m benchmarks              # full run (tens of minutes; see benchmarks/README.md)
    python -m benchmarks --quick      # n = 8 and 64, short samples, small JAX budget

For each family and size (programs from benchmarks/families.py, written to a temporary
directory and imported, because the package reads source with ``inspect``):

- s2s_invad: the primal ``f(*x)``; jvp, vjp, ijvp, ivjp per call (vjp and ivjp: the API
  call plus one call of the returned closure) and their ratio to the primal, sampled
  interleaved with it; the transform (``analysis_of`` plus, per mode, the first API
  call, which generates and compiles that mode's code); the lumps (number, largest k,
  and the largest k in source order when the package can analyse without its
  scheduler); every product checked against a complex-step Jacobian.
- NumPy route: a dense J from n jvps of s2s_invad, then ``numpy.linalg.solve``.
- JAX (jit, CPU, float64), when installed: the program rewritten for ``jax.numpy``
  (``families.jax_source``: one array argument, ``math.`` -> ``jnp.``); jit of the
  primal, ``jax.jvp``, ``jax.vjp``, ``jax.jacfwd`` then ``jnp.linalg.solve`` (J and J^T),
  and ``jax.scipy.sparse.linalg.gmres`` with ``jax.linearize`` (jvp) or ``jax.vjp``
  matvecs. Trace and compile times are reported apart from the run times. Every peer
  result is compared with s2s_invad's (relative error column).

All times are medians over repeats in this one process. JAX compiles that would take
longer than a cap (estimated from the HLO size and the compiles measured so far in the
run) are skipped with a note; so are sizes where a peer would need minutes per call.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # benchmark the working tree, not an installed copy

# One BLAS thread unless the caller says otherwise. On the shared 2-core machine a
# 512 x 512 numpy.linalg.solve took 14-214 ms with OpenBLAS's default threads (a thread
# waiting for a busy core) and a steady 4-5 ms with one; jax's LU goes through the same
# library. Only effective when this module imports NumPy first (python -m benchmarks).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _var in BLAS_THREAD_VARS:
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402
from benchmarks.modes import (  # noqa: E402
    MODES,
    api_call,
    import_package,
    median_times,
    references,
    rel_err,
    short_error,
    table,
    timed,
    vec,
)

RESULTS = os.path.join(ROOT, "benchmarks", "results")
SIZES = (8, 64, 512)
QUICK_SIZES = (8, 64)
RATIO_TARGET = {"equasive": 3.0, "lump-heavy": 6.0}
JAX_SPEEDUP_TARGET = 20.0          # ijvp / ivjp vs JAX jacfwd + solve at n = 512
TRANSFORM_TARGET_S = 5.0           # at 100,000 statements
BIG_STATEMENTS = 100_000
CHECK_RTOL = 1e-8                  # direct methods against s2s_invad
GMRES_TOL = 1e-10                  # GMRES relative residual asked for
GMRES_RTOL = 1e-6                  # GMRES result counted as converged
# The default XLA CPU pipeline fuses these long scalar programs into huge kernels:
# compiling the 1,600-statement chain at n = 64 took 506 s (primal alone). Without the
# fusion passes the same compile takes ~8 s and the code runs faster, so the suite turns
# them off unless XLA_FLAGS is already set (or --jax-default-xla is given).
XLA_FLAGS = "--xla_disable_hlo_passes=cpu-instruction-fusion,fusion,multi_output_fusion"

PEERS = (
    # key, label, s2s mode it replaces
    ("jax_primal", "JAX jit primal", "primal"),
    ("jax_jvp", "JAX jvp", "jvp"),
    ("jax_vjp", "JAX vjp", "vjp"),
    ("jax_jac_solve", "JAX jacfwd + solve", "ijvp"),
    ("jax_jac_solve_t", "JAX jacfwd + solve (J^T)", "ivjp"),
    ("jax_gmres", "JAX GMRES (linearize matvecs)", "ijvp"),
    ("jax_gmres_t", "JAX GMRES (vjp matvecs)", "ivjp"),
    ("numpy_dense", "NumPy: n jvps + solve", "ijvp"),
)
PEER_LABEL = {k: label for k, label, _ in PEERS}
PEER_MODE = {k: mode for k, _, mode in PEERS}
# which compiled JAX function each timed method needs
JAX_NEEDS = {
    "jax_primal": ("primal",),
    "jax_jvp": ("jvp",),
    "jax_vjp": ("vjp",),
    "jax_jac_solve": ("jacfwd", "solve"),
    "jax_jac_solve_t": ("jacfwd", "solve_t"),
    "jax_gmres": ("gmres",),
    "jax_gmres_t": ("gmres_t",),
}
UNCAPPED_OPS = 5_000      # smaller modules compiled in <= ~7 s in every run: never capped
# first guess of HLO size relative to the primal's (refined by what the run measures)
OPS_FACTOR = {"primal": 1.0, "jvp": 2.6, "vjp": 3.0, "jacfwd": 2.6, "solve": 0.0,
              "solve_t": 0.0, "gmres": 2.0, "gmres_t": 2.5}


# --------------------------------------------------------------------------- records

@dataclass
class Timing:
    median_s: Optional[float] = None
    ratio: Optional[float] = None          # to the primal sampled in the same rounds
    err: Optional[float] = None            # vs the reference (see the table)
    note: str = ""


@dataclass
class PeerResult:
    key: str
    median_s: Optional[float] = None
    trace_s: Optional[float] = None        # JAX: jit(...).lower
    compile_s: Optional[float] = None      # JAX: .compile()
    hlo_ops: Optional[int] = None
    err: Optional[float] = None            # vs s2s_invad's result
    skipped: str = ""

    @property
    def check(self) -> str:
        if self.err is None:
            return "-"
        tol = GMRES_RTOL if "gmres" in self.key else CHECK_RTOL
        if self.err <= tol:
            return f"ok ({self.err:.0e})"
        return ("NOT converged" if "gmres" in self.key else "WRONG") + f" ({self.err:.1e})"


@dataclass
class Config:
    family: str
    n: int
    variant: str = ""                      # "" or "short" (reduced length for JAX)
    statements: int = 0
    ssa_steps: Optional[int] = None
    lumps: Optional[int] = None
    lumps_k_gt_1: Optional[int] = None
    max_k: Optional[int] = None
    max_k_source_order: Optional[int] = None
    analysis_s: Optional[float] = None
    first_call_s: dict = field(default_factory=dict)   # per mode: generate+compile+run
    transform_s: Optional[float] = None
    primal_s: Optional[float] = None
    repeats: int = 0
    modes: dict = field(default_factory=dict)          # mode -> Timing
    y_err: Optional[float] = None                      # primal vs complex-step copy
    cond: Optional[float] = None
    peers: dict = field(default_factory=dict)          # key -> PeerResult
    notes: list = field(default_factory=list)
    error: str = ""

    @property
    def name(self) -> str:
        return self.family + (f" ({self.variant})" if self.variant else "")

    @property
    def kind(self) -> str:
        return "lump-heavy" if self.family in families.LUMP_HEAVY else "equasive"


# --------------------------------------------------------------------------- helpers

def now() -> float:
    return time.perf_counter()


def fmt_t(seconds: Optional[float]) -> str:
    """Seconds with a unit that keeps three significant digits readable."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_x(ratio: Optional[float]) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" if ratio < 100 else f"{ratio:.0f}"


def fmt_err(err: Optional[float]) -> str:
    return "-" if err is None else f"{err:.0e}"


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def sample(fns: list, args, round_s: float) -> list:
    """Medians of ``fns`` interleaved (``modes.median_times``) and the repeats used: fewer
    when one round (one call of each) takes long, 5 above 0.5 s and 3 above 2 s."""
    repeats = args.repeats
    if round_s > 2.0:
        repeats = min(repeats, 3)
    elif round_s > 0.5:
        repeats = min(repeats, 5)
    return median_times(fns, repeats, args.min_sample), repeats


def log(args, text: str) -> None:
    if args.verbose:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- JAX

class Jax:
    """Lazily imported JAX with float64 on CPU, and the compile-time model for caps."""

    def __init__(self, args):
        self.why = None
        self.version = None
        self.flags = None
        self.observed: list[tuple[int, float]] = []     # (HLO ops, compile seconds)
        self.factors: dict[str, float] = dict(OPS_FACTOR)
        if args.no_jax:
            self.why = "--no-jax given"
            return
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if not args.jax_default_xla and "XLA_FLAGS" not in os.environ:
            os.environ["XLA_FLAGS"] = XLA_FLAGS
        self.flags = os.environ.get("XLA_FLAGS", "")
        try:
            import jax
            import jax.numpy as jnp
            from jax.scipy.sparse.linalg import gmres
        except Exception as exc:
            self.why = (f"JAX not installed ({short_error(exc, 80)}): "
                        "`pip install -e .[bench]`")
            return
        jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp, self.gmres = jax, jnp, gmres
        self.version = jax.__version__
        self.devices = ", ".join(str(d) for d in jax.devices())

    def estimate(self, ops: int) -> Optional[float]:
        """Compile seconds predicted for an HLO module of ``ops`` operations: quadratic
        in the size (what the XLA CPU thunk runtime's execution graph costs on these
        scalar programs), from the compiles measured so far in this run. Scaled up from
        those at least a quarter of the size (the worst of them: compile time is not a
        function of the size alone), else from the largest smaller one; with only
        bigger ones measured, the quickest of them (an upper bound)."""
        if not self.observed or ops <= UNCAPPED_OPS:
            return None
        near = [t * (ops / o) ** 2 for o, t in self.observed if ops / 4 <= o <= ops]
        if near:
            return max(near)
        below = [(o, t) for o, t in self.observed if o <= ops]
        if below:
            o, t = max(below)
            return t * (ops / o) ** 2
        return min(t for _, t in self.observed)

    def build(self, fj, n: int) -> dict:
        """The functions to jit, each taking jnp arrays."""
        jax, jnp, gmres = self.jax, self.jnp, self.gmres
        restart = min(n, 50)
        maxiter = 20

        def primal(x):
            return fj(x)

        def jvp(x, v):
            return jax.jvp(fj, (x,), (v,))[1]

        def vjp(x, w):
            return jax.vjp(fj, x)[1](w)[0]

        def jacfwd(x):
            return jax.jacfwd(fj)(x)

        def solve(J, v):
            return jnp.linalg.solve(J, v)

        def solve_t(J, w):
            return jnp.linalg.solve(J.T, w)

        def gmres_jvp(x, v):
            _, lin = jax.linearize(fj, x)
            return gmres(lin, v, tol=GMRES_TOL, atol=0.0, restart=restart,
                         maxiter=maxiter)[0]

        def gmres_vjp(x, w):
            _, pull = jax.vjp(fj, x)
            return gmres(lambda u: pull(u)[0], w, tol=GMRES_TOL, atol=0.0,
                         restart=restart, maxiter=maxiter)[0]

        return {"primal": (primal, ("x",)), "jvp": (jvp, ("x", "v")),
                "vjp": (vjp, ("x", "w")), "jacfwd": (jacfwd, ("x",)),
                "solve": (solve, ("J", "v")), "solve_t": (solve_t, ("J", "w")),
                "gmres": (gmres_jvp, ("x", "v")), "gmres_t": (gmres_vjp, ("x", "w"))}


def hlo_ops(lowered) -> int:
    """Operations in the lowered (StableHLO) module: lines that bind a result."""
    return sum(1 for line in lowered.as_text().splitlines() if " = " in line)


def run_jax(cfg: Config, program, jx: Jax, x, v, w, s2s: dict, args) -> None:
    """Trace, compile (unless capped), check and time the JAX methods."""
    jax, jnp = jx.jax, jx.jnp
    text, name = families.jax_source(program)
    namespace: dict = {"__name__": program.module_name + "_jnp"}
    exec(compile(text, f"<{program.module_name} (jax.numpy)>", "exec"), namespace)
    fj = namespace[name]
    arrays = {"x": jnp.asarray(x, dtype=jnp.float64), "v": jnp.asarray(v, dtype=jnp.float64),
              "w": jnp.asarray(w, dtype=jnp.float64)}
    fns = jx.build(fj, cfg.n)
    compiled: dict = {}
    info: dict = {}                    # fn -> (trace_s, compile_s, ops) or skip reason
    primal_ops = None

    def over_budget(est, spent: float, ops: str, note: str):
        """Why a JAX compile estimated at ``est`` seconds is skipped, or None to compile it."""
        if est is not None and est > args.jax_cap:
            return f"compile skipped: {ops}, estimated {est:,.0f} s > cap {args.jax_cap:g} s{note}"
        if est is not None and spent + est > args.jax_budget:
            return (f"compile skipped: {ops}, estimated {est:,.0f} s would pass this program's "
                    f"JAX compile budget ({spent:.0f} s spent of {args.jax_budget:g} s)")
        return None

    def get(fname: str):
        nonlocal primal_ops
        if fname in compiled or fname in info and isinstance(info[fname], str):
            return compiled.get(fname)
        fn, argnames = fns[fname]
        if fname in ("solve", "solve_t"):
            J = jnp.zeros((cfg.n, cfg.n), dtype=jnp.float64)
            call_args = [J if a == "J" else arrays[a] for a in argnames]
        else:
            call_args = [arrays[a] for a in argnames]
        spent = sum(i[1] for i in info.values() if isinstance(i, tuple))
        cheap = fname in ("solve", "solve_t")          # n x n solves: never capped
        if primal_ops is not None and not cheap and jx.factors.get(fname):
            guess = int(primal_ops * jx.factors[fname])
            reason = over_budget(jx.estimate(guess), spent, f"~{guess:,} HLO ops (guess)", "")
            if reason:
                info[fname] = reason
                return None
        try:
            lowered, trace_s = timed(jax.jit(fn).lower, *call_args)
            ops = hlo_ops(lowered)
            if fname == "primal":
                primal_ops = ops
            elif primal_ops and not cheap:
                jx.factors[fname] = max(jx.factors.get(fname, 0.0), ops / primal_ops)
            reason = over_budget(None if cheap else jx.estimate(ops), spent, f"{ops:,} HLO ops",
                                 f" (trace took {trace_s:.1f} s)")
            if reason:
                info[fname] = reason
                return None
            log(args, f"  JAX compile {fname}: {ops} HLO ops")
            exe, compile_s = timed(lowered.compile)
        except Exception as exc:
            info[fname] = f"failed: {short_error(exc)}"
            return None
        if not cheap:
            jx.observed.append((ops, compile_s))
        info[fname] = (trace_s, compile_s, ops)
        compiled[fname] = exe
        return exe

    def block(value):
        return jax.block_until_ready(value)

    # The primal first: its HLO size scales the guesses for the others.
    for key in ("jax_primal", "jax_jvp", "jax_vjp", "jax_jac_solve", "jax_jac_solve_t",
                "jax_gmres", "jax_gmres_t"):
        res = PeerResult(key)
        cfg.peers[key] = res
        needs = JAX_NEEDS[key]
        exes = [get(fname) for fname in needs]
        main = needs[0]
        got = info.get(main)
        if isinstance(got, tuple):
            res.trace_s, res.compile_s, res.hlo_ops = got
            extra = [info.get(f) for f in needs[1:]]
            if all(isinstance(e, tuple) for e in extra):
                res.trace_s += sum(e[0] for e in extra)
                res.compile_s += sum(e[1] for e in extra)
        if any(e is None for e in exes):
            why = next((info[f] for f in needs if isinstance(info.get(f), str)), "not compiled")
            res.skipped = why
            continue
        X, V, W = arrays["x"], arrays["v"], arrays["w"]
        if key == "jax_primal":
            call = lambda: block(exes[0](X))  # noqa: E731
            ref = s2s["y"]
        elif key == "jax_jvp":
            call = lambda: block(exes[0](X, V))  # noqa: E731
            ref = s2s["jvp"]
        elif key == "jax_vjp":
            call = lambda: block(exes[0](X, W))  # noqa: E731
            ref = s2s["vjp"]
        elif key == "jax_jac_solve":
            call = lambda: block(exes[1](exes[0](X), V))  # noqa: E731
            ref = s2s["ijvp"]
        elif key == "jax_jac_solve_t":
            call = lambda: block(exes[1](exes[0](X), W))  # noqa: E731
            ref = s2s["ivjp"]
        elif key == "jax_gmres":
            call = lambda: block(exes[0](X, V))  # noqa: E731
            ref = s2s["ijvp"]
        else:
            call = lambda: block(exes[0](X, W))  # noqa: E731
            ref = s2s["ivjp"]
        try:
            out, single = timed(call)
            if ref is not None:
                res.err = rel_err(np.asarray(out), ref)
            [(res.median_s, _)], _ = sample([call], args, single)
        except Exception as exc:
            res.skipped = f"failed: {short_error(exc)}"
    for fname in ("solve", "solve_t"):
        got = info.get(fname)
        if isinstance(got, str):
            cfg.notes.append(f"JAX {fname}: {got}")


# --------------------------------------------------------------------------- one config

def run_config(family: str, n: int, si, jx: Jax, args, tmpdir: str,
               variant: str = "") -> Config:
    from s2s_invad.api import analysis_of

    if variant == "short":
        program = short_program(family, n)
    else:
        program = families.suite_program(family, n)
    cfg = Config(family, n, variant, statements=program.statements)
    log(args, f"{cfg.name} n={n}: {program.statements} statements")
    f = families.load(program, tmpdir)
    x, v, w = families.sample_vectors(program)
    primal = lambda: f(*x)  # noqa: E731
    y = vec(primal())

    # Independent reference: complex-step Jacobian (exact to rounding).
    J = None
    if n <= args.reference_max_n:
        try:
            y_c, J = families.reference_jacobian(program, x)
            cfg.y_err = rel_err(y, y_c)
            cfg.cond = float(np.linalg.cond(J))
        except Exception as exc:
            cfg.notes.append(f"complex-step reference failed: {short_error(exc)}")
    else:
        cfg.notes.append(f"no complex-step reference above n = {args.reference_max_n}")
    refs = references(J, v, w) if J is not None else None

    # Transform: analysis (front end, schedule, lumps), then per mode the first API call
    # (generate + compile + one run).
    s2s: dict = {"y": y, "jvp": None, "vjp": None, "ijvp": None, "ivjp": None}
    calls = {mode: api_call(si, mode, f, x, v, w) for mode in MODES}
    try:
        analysis, cfg.analysis_s = timed(analysis_of, f)
        cfg.ssa_steps = len(analysis.program.body)
        if analysis.lumps is not None:
            ks = [lump.k for lump in analysis.lumps]
            cfg.lumps, cfg.max_k = len(ks), max(ks)
            cfg.lumps_k_gt_1 = sum(k > 1 for k in ks)
        for mode in MODES:
            (y_m, out), cfg.first_call_s[mode] = timed(calls[mode])
            s2s[mode] = vec(out)
            t = Timing(err=rel_err(out, refs[mode]) if refs is not None else None)
            cfg.modes[mode] = t
            if rel_err(y_m, y) > CHECK_RTOL:
                t.note = f"y differs from f(x) by {rel_err(y_m, y):.1e}"
        cfg.transform_s = cfg.analysis_s + sum(cfg.first_call_s.values())
    except Exception as exc:
        cfg.error = f"s2s_invad: {short_error(exc)}"
        return cfg
    cfg.max_k_source_order = source_order_max_k(f, cfg)

    # Modes against the primal, interleaved.
    single = sum(timed(calls[m])[1] for m in MODES)
    fns = [primal] + [calls[m] for m in MODES]
    medians, cfg.repeats = sample(fns, args, single)
    cfg.primal_s = medians[0][0]
    for mode, (med, _) in zip(MODES, medians[1:]):
        cfg.modes[mode].median_s = med
        cfg.modes[mode].ratio = med / cfg.primal_s
    log(args, f"  modes timed: ijvp {fmt_t(cfg.modes['ijvp'].median_s)}")

    # NumPy route: J from n jvps, then a dense solve.
    if args.no_numpy:
        pass
    else:
        res = PeerResult("numpy_dense")
        cfg.peers["numpy_dense"] = res
        est = n * cfg.modes["jvp"].median_s
        if est > args.numpy_cap:
            res.skipped = (f"skipped: n jvps would take ~{est:.1f} s per call "
                           f"> {args.numpy_cap:g} s")
        else:
            basis = [tuple(row) for row in np.eye(n).tolist()]
            vv, ww = vec(v), vec(w)

            def dense_jacobian():
                return np.column_stack([si.jvp(f, x, e)[1] for e in basis])

            def numpy_route():
                return np.linalg.solve(dense_jacobian(), vv)

            try:
                Jd, single = timed(dense_jacobian)
                res.err = max(rel_err(np.linalg.solve(Jd, vv), s2s["ijvp"]),
                              rel_err(np.linalg.solve(Jd.T, ww), s2s["ivjp"]))
                [(res.median_s, _)], _ = sample([numpy_route], args, single)
            except Exception as exc:
                res.skipped = f"failed: {short_error(exc)}"

    # JAX.
    if jx.why is None:
        if variant == "" and n > args.jax_max_n:
            cfg.notes.append(f"JAX not run above n = {args.jax_max_n} (--jax-max-n)")
        else:
            try:
                run_jax(cfg, program, jx, x, v, w, s2s, args)
            except Exception as exc:
                cfg.notes.append(f"JAX failed: {short_error(exc)}")

    sys.modules.pop(program.module_name, None)
    gc.collect()
    return cfg


def source_order_max_k(f, cfg: Config) -> Optional[int]:
    """Largest lump k without the scheduler, when the package can say (its pipeline's
    ``analyse(f, schedule=False)``); None otherwise."""
    try:
        from s2s_invad.pipeline import analyse
        if "schedule" not in inspect.signature(analyse).parameters:
            return None
        a = analyse(f, schedule=False)
        return None if a.lumps is None else max(lump.k for lump in a.lumps)
    except Exception as exc:
        cfg.notes.append(f"source-order analysis failed: {short_error(exc)}")
        return None


SHORT_PER_VARIABLE = 1


def short_program(family: str, n: int):
    """The reduced-length variant used to get JAX numbers at n = 512: one statement per
    variable (chain, shuffled, dag), one Euler step (2n statements)."""
    if family == "euler":
        return families.euler_tanh(n=n, steps=1, row_nnz=families.EULER_ROW_NNZ)
    return families.suite_program(family, n, per_variable=SHORT_PER_VARIABLE)


# --------------------------------------------------------------------------- 100k statements

@dataclass
class BigResult:
    statements: int
    n: int
    ssa_steps: Optional[int] = None
    source_s: dict = field(default_factory=dict)      # mode -> fresh si.source seconds
    first_call_s: dict = field(default_factory=dict)  # mode -> first API call after it
    error: str = ""


def run_big(si, args, tmpdir: str) -> BigResult:
    """``si.source(f, mode)`` on a fresh copy of a 100,000-statement chain, per mode."""
    from s2s_invad.api import analysis_of

    n = 64
    res = BigResult(BIG_STATEMENTS, n)
    program = families.equasive_chain(n=n, statements=BIG_STATEMENTS)
    x, v, w = families.sample_vectors(program)
    for mode in MODES:
        log(args, f"100k chain: fresh si.source(f, {mode!r})")
        copy = families.renamed(program, f"{mode}_big")
        try:
            f = families.load(copy, tmpdir)
            _, res.source_s[mode] = timed(si.source, f, mode)
            _, res.first_call_s[mode] = timed(api_call(si, mode, f, x, v, w))
            if res.ssa_steps is None:
                res.ssa_steps = len(analysis_of(f).program.body)
        except Exception as exc:
            res.error = f"{mode}: {short_error(exc)}"
            break
        finally:
            sys.modules.pop(copy.module_name, None)
            gc.collect()
    return res


# --------------------------------------------------------------------------- report

def s2s_table(configs: list[Config]) -> str:
    rows = []
    for c in configs:
        if c.error:
            rows.append([c.name, str(c.n), str(c.statements)] + ["-"] * 10 + [c.error])
            continue
        k = "-" if c.max_k is None else str(c.max_k)
        if c.max_k_source_order is not None and c.max_k_source_order != c.max_k:
            k += f" (source order {c.max_k_source_order})"
        errs = [c.modes[m].err for m in MODES if c.modes[m].err is not None]
        check = "-" if not errs else (("ok" if max(errs) <= CHECK_RTOL else "WRONG")
                                      + f" ({max(errs):.0e})")
        rows.append([
            c.name, str(c.n), str(c.statements),
            "-" if c.ssa_steps is None else str(c.ssa_steps),
            f"{c.lumps} ({c.lumps_k_gt_1} with k>1)" if c.lumps is not None else "-",
            k,
            f"{c.transform_s:.2f}" if c.transform_s is not None else "-",
            fmt_t(c.primal_s),
        ] + [fmt_x(c.modes[m].ratio) for m in MODES]
          + [fmt_t(c.modes["ijvp"].median_s), check])
    return table(["family", "n", "stmts", "SSA steps", "lumps", "max k", "transform (s)",
                  "primal", "jvp x", "vjp x", "ijvp x", "ivjp x", "ijvp time",
                  "check vs complex step"], rows, "lrrrrlrrrrrrrl")


def peer_table(configs: list[Config]) -> str:
    rows = []
    for c in configs:
        for key, label, mode in PEERS:
            p = c.peers.get(key)
            if p is None:
                continue
            ours = c.primal_s if mode == "primal" else (
                c.modes[mode].median_s if mode in c.modes else None)
            speed = None if (p.median_s is None or not ours) else p.median_s / ours
            ours_label = "primal (Python)" if mode == "primal" else mode
            rows.append([
                c.name, str(c.n), label,
                "-" if p.trace_s is None else f"{p.trace_s:.2f}",
                "-" if p.compile_s is None else f"{p.compile_s:.2f}",
                "-" if p.hlo_ops is None else f"{p.hlo_ops:,}",
                fmt_t(p.median_s),
                f"{ours_label} {fmt_t(ours)}",
                "-" if speed is None else (f"{speed:.2f}" if speed < 100 else f"{speed:.0f}"),
                p.check if not p.skipped else p.skipped,
            ])
    return table(["family", "n", "method", "trace (s)", "compile (s)", "HLO ops", "time",
                  "s2s_invad counterpart", "peer / s2s", "check vs s2s_invad / note"],
                 rows, "lrlrrrrlrl")


def headline_rows(configs: list[Config], n: int) -> list:
    rows = []
    for c in configs:
        if c.n != n or c.error:
            continue
        for mode, jac, gm in (("ijvp", "jax_jac_solve", "jax_gmres"),
                              ("ivjp", "jax_jac_solve_t", "jax_gmres_t")):
            ours = c.modes[mode].median_s
            cells = [c.name, mode, fmt_t(ours), fmt_x(c.modes[mode].ratio)]
            for key in (jac, gm, "numpy_dense"):
                p = c.peers.get(key)
                if key == "numpy_dense" and mode == "ivjp":
                    cells += ["(as ijvp)", "-"]
                    continue
                if p is None or p.median_s is None:
                    cells += ["not run" if p is None else "skipped", "-"]
                else:
                    flag = "" if p.err is None or p.err <= (
                        GMRES_RTOL if "gmres" in key else CHECK_RTOL) else " (!)"
                    cells += [fmt_t(p.median_s), f"{p.median_s / ours:.1f}x{flag}"]
            rows.append(cells)
    return rows


def targets(configs: list[Config], big: Optional[BigResult], args) -> list:
    rows = []
    for fam in args.families:
        cs = [c for c in configs if c.family == fam and not c.variant and not c.error]
        if not cs:
            continue
        kind = cs[0].kind
        tgt = RATIO_TARGET[kind]
        parts, met = [], True
        for c in cs:
            ratios = {m: c.modes[m].ratio for m in MODES if c.modes[m].ratio is not None}
            if len(ratios) < len(MODES):
                met = False
                parts.append(f"n={c.n}: not all modes measured")
                continue
            worst = max(ratios, key=ratios.get)
            parts.append(f"n={c.n}: worst {worst} {ratios[worst]:.2f}x")
            met &= ratios[worst] <= tgt
        rows.append([f"every mode <= {tgt:g}x primal ({kind})", fam, "; ".join(parts),
                     "met" if met else "NOT met"])
    largest = max(args.sizes)
    for key, what, factor in (("jax_jac_solve", "JAX jacfwd + solve", JAX_SPEEDUP_TARGET),
                              ("jax_gmres", "JAX GMRES", 1.0)):
        parts, passed, failed, unmeasured = [], 0, 0, 0
        for c in configs:
            if c.n != 512 or c.error:
                continue
            for mode, pk in (("ijvp", key), ("ivjp", key + "_t" if "gmres" in key
                                              else key.replace("solve", "solve_t"))):
                p = c.peers.get(pk)
                ours = c.modes[mode].median_s
                if p is None or p.median_s is None or not ours:
                    unmeasured += 1
                    parts.append(f"{c.name} {mode}: not measured")
                    continue
                speed = p.median_s / ours
                if "gmres" in pk and p.err is not None and p.err > GMRES_RTOL:
                    # a GMRES that did not converge is no competitor; do not count it
                    unmeasured += 1
                    parts.append(f"{c.name} {mode}: {speed:.2f}x but GMRES did not "
                                 f"converge (rel err {p.err:.0e}), not counted")
                    continue
                parts.append(f"{c.name} {mode}: {speed:.2f}x")
                if speed >= factor:
                    passed += 1
                else:
                    failed += 1
        label = (f"ijvp/ivjp at n = 512 >= {factor:g}x faster than {what}" if factor != 1
                 else f"ijvp/ivjp at n = 512 faster than {what}")
        if largest < 512:
            rows.append([label, "all", "n = 512 not run (--quick or --sizes)",
                         "NOT met (not measured)"])
            continue
        if failed:
            status = f"NOT met ({failed} of {passed + failed} measured fail)"
        elif passed == 0:
            status = "NOT met (not measured)"
        elif unmeasured:
            status = f"met where measured ({passed} of {passed + unmeasured})"
        else:
            status = "met"
        rows.append([label, "all", "; ".join(parts) or "no JAX", status])
    if big is None:
        rows.append([f"transform < {TRANSFORM_TARGET_S:g} s at {BIG_STATEMENTS:,} statements",
                     "chain n=64", "not measured (--quick or --no-big)", "NOT met (not measured)"])
    elif big.error or not big.source_s:
        rows.append([f"transform < {TRANSFORM_TARGET_S:g} s at {BIG_STATEMENTS:,} statements",
                     "chain n=64", big.error or "no result", "NOT met"])
    else:
        worst = max(big.source_s, key=big.source_s.get)
        value = (", ".join(f"{m} {s:.1f} s" for m, s in big.source_s.items())
                 + f" (fresh `si.source` per mode; worst {worst})")
        rows.append([f"transform < {TRANSFORM_TARGET_S:g} s per mode at "
                     f"{BIG_STATEMENTS:,} statements", "chain n=64", value,
                     "met" if big.source_s[worst] < TRANSFORM_TARGET_S else "NOT met"])
    # correctness
    bad = []
    for c in configs:
        for m in MODES:
            t = c.modes.get(m)
            if t is not None and t.err is not None and t.err > CHECK_RTOL:
                bad.append(f"{c.name} n={c.n} {m} {t.err:.1e}")
        for key, p in c.peers.items():
            if p.err is not None and p.err > CHECK_RTOL and "gmres" not in key:
                bad.append(f"{c.name} n={c.n} {PEER_LABEL[key]} {p.err:.1e}")
    rows.append([f"every direct result agrees (rel err <= {CHECK_RTOL:g})", "all",
                 "; ".join(bad) or "all agree", "met" if not bad else "NOT met"])
    return rows


def run_meta(jx: Jax, si_version: str, started: float, load_start: str) -> dict:
    """What the report's header says about the run and the machine."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "wall_s": round(now() - started, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "s2s_invad": si_version,
        "jax": (f"JAX {jx.version} ({jx.devices}, float64, XLA_FLAGS=`{jx.flags}`)"
                if jx.version else f"JAX: {jx.why}"),
        "cpus": os.cpu_count(),
        "blas_threads": ", ".join(f"{v}={os.environ.get(v, '-')}" for v in BLAS_THREAD_VARS),
        "load_start": load_start,
        "load_end": load_average(),
    }


def report(configs: list[Config], big: Optional[BigResult], meta: dict, args) -> str:
    out = []
    mode_name = "quick" if args.quick else "full"
    meta = {k: meta.get(k, "?") for k in ("date", "wall_s", "python", "numpy", "s2s_invad",
                                          "jax", "cpus", "load_start", "load_end",
                                          "blas_threads")}
    if isinstance(meta["wall_s"], (int, float)):
        meta["wall_s"] = f"{meta['wall_s']:.0f}"
    out.append(f"# s2s_invad benchmark suite ({mode_name} run)")
    out.append("")
    out.append(f"Generated by `python -m benchmarks{' --quick' if args.quick else ''}` "
               f"on {meta['date']}, {meta['wall_s']} s wall. Python {meta['python']}, "
               f"NumPy {meta['numpy']}, s2s_invad {meta['s2s_invad']}, {meta['jax']}; "
               f"{meta['cpus']} CPUs, load average (1/5/15 min) {meta['load_start']} at "
               f"the start, {meta['load_end']} at the end; BLAS threads: "
               f"{meta['blas_threads']}.")
    out.append("")
    out.append(
        f"Times are medians of {args.repeats} samples (5 when one round of calls takes "
        "over 0.5 s, 3 over 2 s), each "
        f"sample >= {args.min_sample:g} s, gc off while sampling, all in this one process. "
        "The modes are sampled interleaved with the primal and their ratio (x) uses the "
        "primal samples of the same rounds. The machine is shared (other jobs were "
        "running), so expect 10-30 % noise on any single number; ratios are steadier "
        "than absolute times.")
    out.append("")
    out.append("Families (benchmarks/families.py), sizes n = "
               + ", ".join(map(str, args.sizes)) + ":")
    out.append("")
    for fam in args.families:
        out.append(f"- **{fam}**: {families.FAMILIES[fam]}.")
    out.append(
        f"- Program length: {families.STATEMENTS_PER_VARIABLE} statements per variable for "
        f"chain, shuffled and dag; euler has {families.EULER_STEPS} steps of 2n statements "
        "(24 per variable) with a sparse W, because a dense W costs ~n^2 primitives per "
        "step (at n = 512 one step would be ~525,000 SSA steps, 40x the budget); bratu has "
        "one statement per point (1 per variable) by nature.")
    if any(c.variant == "short" for c in configs):
        out.append(
            f"- **(short)** rows: the same families at n = 512 with {SHORT_PER_VARIABLE} "
            "statement(s) per variable (euler: 1 step), run because XLA cannot compile the "
            "full-length n = 512 programs within the cap (see notes); they give the n = 512 "
            "comparison with JAX.")
    out.append("")

    out.append("## s2s_invad: the four modes against the primal")
    out.append("")
    out.append(
        "*stmts*: source statements; *SSA steps*: primitives after lowering; *max k*: "
        "largest lump (from `s2s_invad.api.analysis_of(f).lumps`; in brackets the largest "
        "k in source order, without the scheduler, when it differs); *transform*: "
        "`analysis_of` plus the first call of each of the four modes (generation, "
        "`compile`, one run) on a fresh function; *x*: per-call time over the primal's; "
        "*check*: worst relative error (max norm) of the four products against a "
        "complex-step Jacobian.")
    out.append("")
    out.append(s2s_table(configs))
    out.append("")

    if any(c.peers for c in configs):
        out.append("## Peers")
        out.append("")
        out.append(
            "*peer / s2s*: the peer's time over the s2s_invad counterpart's (above 1: "
            "s2s_invad is faster). JAX is jit-compiled on CPU in float64; *trace* is "
            "`jax.jit(fn).lower(...)`, *compile* is `.compile()` (jacfwd + solve: both "
            "functions), one-time costs not included in *time*. GMRES: restart min(n, 50), "
            f"at most 20 restarts, tol {GMRES_TOL:g}; counted as converged when its result "
            f"is within {GMRES_RTOL:g} of s2s_invad's. NumPy: the Jacobian is built from n "
            "s2s_invad jvps and then `numpy.linalg.solve`d (its check covers J^-1 v and "
            "J^-T w; the ivjp route costs the same).")
        out.append("")
        out.append(peer_table(configs))
        out.append("")
        big_n = max(c.n for c in configs)
        rows = headline_rows(configs, big_n)
        if rows:
            out.append(f"### Inverse products at n = {big_n}")
            out.append("")
            out.append(table(["family", "mode", "s2s_invad", "x primal",
                              "JAX jacfwd + solve", "speed-up", "JAX GMRES", "speed-up",
                              "NumPy n jvps + solve", "speed-up"], rows, "llrrrrrrrr"))
            out.append("")
            out.append("(!) marks a peer whose result does not match s2s_invad's (GMRES "
                       "not converged).")
            out.append("")

    if big is not None:
        out.append(f"## Transform at {BIG_STATEMENTS:,} statements")
        out.append("")
        if big.error:
            out.append(f"Failed: {big.error}")
        parts = [f"{m}: `si.source` {big.source_s[m]:.1f} s, then the first call "
                 f"(compile + run) {big.first_call_s.get(m, float('nan')):.1f} s"
                 for m in big.source_s]
        out.append(f"Equasive chain, n = {big.n}, {big.statements:,} statements "
                   f"({big.ssa_steps or '?'} SSA steps), a fresh copy per mode: "
                   + "; ".join(parts) + ".")
        out.append("")

    out.append("## Targets")
    out.append("")
    out.append(table(["target", "family", "value", "status"], targets(configs, big, args),
                     "llll"))
    out.append("")
    notes = [(c, note) for c in configs for note in c.notes]
    if notes:
        out.append("## Notes")
        out.append("")
        for c, note in notes:
            out.append(f"- {c.name} n={c.n}: {note}")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- plots

METHOD_STYLE = {   # key: (label, colour, line style, marker)
    "primal": ("primal (Python)", "k", "-", "o"),
    "jvp": ("s2s jvp", "tab:blue", "-", "o"),
    "vjp": ("s2s vjp", "tab:cyan", "-", "o"),
    "ijvp": ("s2s ijvp", "tab:red", "-", "o"),
    "ivjp": ("s2s ivjp", "tab:orange", "-", "o"),
    "numpy_dense": ("NumPy n jvps + solve", "tab:brown", ":", "^"),
    "jax_primal": ("JAX jit primal", "grey", "--", "s"),
    "jax_jvp": ("JAX jvp", "tab:blue", "--", "s"),
    "jax_vjp": ("JAX vjp", "tab:cyan", "--", "s"),
    "jax_jac_solve": ("JAX jacfwd + solve", "tab:purple", "--", "s"),
    "jax_gmres": ("JAX GMRES (jvp)", "tab:green", "--", "s"),
}


def plots(configs: list[Config], big: Optional[BigResult], outdir: str, prefix: str,
          fams: list) -> list:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return []
    written = []
    cols = min(3, len(fams))
    rows = math.ceil(len(fams) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax, fam in zip(axes.flat, fams):
        cs = sorted((c for c in configs if c.family == fam and not c.variant and not c.error),
                    key=lambda c: c.n)
        for key, (label, color, style, marker) in METHOD_STYLE.items():
            pts = []
            for c in cs:
                if key == "primal":
                    t = c.primal_s
                elif key in MODES:
                    t = c.modes[key].median_s
                else:
                    p = c.peers.get(key)
                    t = p.median_s if p is not None else None
                if t is not None:
                    pts.append((c.n, t))
            if pts:
                ax.plot(*zip(*pts), linestyle=style, color=color, marker=marker,
                        label=label, fillstyle="none" if marker == "s" else "full")
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted({c.n for c in cs})
        if sizes:
            ax.set_xticks(sizes)
            ax.set_xticklabels([str(n) for n in sizes])
            ax.minorticks_off()
            ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
        ax.set_title(fam)
        ax.set_xlabel("n")
        ax.set_ylabel("time per call (s)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(fams):]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(l, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower right",
               fontsize=8, ncol=2)
    fig.suptitle("s2s_invad vs peers: time per call against n (log-log, medians; "
                 "missing points = skipped, see the table)")
    fig.tight_layout()
    path = os.path.join(outdir, f"{prefix}time_vs_n.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    markers = dict(zip(families.FAMILIES, "osD^v"))
    for fam in fams:
        pts = [(c.ssa_steps, c.transform_s) for c in configs
               if c.family == fam and c.transform_s is not None and c.ssa_steps]
        if pts:
            ax.plot(*zip(*sorted(pts)), markers.get(fam, "o") + "-", label=f"{fam}: all 4 modes")
    if big is not None and big.source_s and big.ssa_steps:
        worst = max(big.source_s.values())
        ax.plot([big.ssa_steps], [worst], "k*", markersize=12,
                label=f"chain {BIG_STATEMENTS:,} stmts: worst single mode")
        ax.axhline(TRANSFORM_TARGET_S, color="grey", linestyle=":",
                   label=f"target {TRANSFORM_TARGET_S:g} s at {BIG_STATEMENTS:,} stmts")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("program size (SSA steps)")
    ax.set_ylabel("transform time (s)")
    ax.set_title("s2s_invad transform time against program size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(outdir, f"{prefix}transform_vs_size.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)
    return written


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="n = 8 and 64, 5 short samples, JAX compile cap 20 s, no "
                         "100,000-statement transform; writes results/quick.md")
    ap.add_argument("--families", nargs="+", choices=list(families.FAMILIES),
                    default=list(families.FAMILIES))
    ap.add_argument("--sizes", nargs="+", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None, help="samples per median (7)")
    ap.add_argument("--min-sample", type=float, default=None,
                    help="seconds a sample lasts at least (0.05; 0.02 with --quick)")
    ap.add_argument("--no-jax", action="store_true", help="skip the JAX peers")
    ap.add_argument("--no-numpy", action="store_true", help="skip the NumPy dense route")
    ap.add_argument("--jax-cap", type=float, default=None,
                    help="skip a JAX compile estimated to take longer (s; 240, quick 20)")
    ap.add_argument("--jax-budget", type=float, default=None,
                    help="JAX compile seconds allowed per program (s; 600, quick 40)")
    ap.add_argument("--jax-max-n", type=int, default=512,
                    help="largest n at which JAX runs on the full-length programs")
    ap.add_argument("--jax-default-xla", action="store_true",
                    help=f"do not set XLA_FLAGS={XLA_FLAGS}")
    ap.add_argument("--no-short", action="store_true",
                    help="skip the reduced-length n = 512 variants run for JAX")
    ap.add_argument("--numpy-cap", type=float, default=None,
                    help="skip the NumPy route when one call would take longer (s; 30)")
    ap.add_argument("--reference-max-n", type=int, default=512,
                    help="largest n checked against a complex-step Jacobian")
    ap.add_argument("--no-big", action="store_true",
                    help=f"skip the {BIG_STATEMENTS:,}-statement transform")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--out", default=None,
                    help="markdown file (default benchmarks/results/latest.md; quick.md "
                         "with --quick); the PNGs go next to it")
    ap.add_argument("--from-json", metavar="FILE",
                    help="re-render the markdown and plots from a results JSON, no runs")
    ap.add_argument("--verbose", "-v", action="store_true", help="progress on stderr")
    args = ap.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else SIZES)
    if args.repeats is None:
        args.repeats = 5 if args.quick else 7
    if args.min_sample is None:
        args.min_sample = 0.02 if args.quick else 0.05
    if args.jax_cap is None:
        args.jax_cap = 20.0 if args.quick else 240.0
    if args.jax_budget is None:
        args.jax_budget = 40.0 if args.quick else 600.0
    if args.numpy_cap is None:
        args.numpy_cap = 5.0 if args.quick else 30.0
    if args.quick:
        args.no_big = True
        args.no_short = True
    if args.out is None:
        args.out = os.path.join(RESULTS, "quick.md" if args.quick else "latest.md")
    return args


def load_json(path: str):
    """(configs, big, meta, args) from a results JSON written by an earlier run."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    configs = []
    for d in raw["configs"]:
        d = dict(d)
        d["modes"] = {m: Timing(**t) for m, t in d["modes"].items()}
        d["peers"] = {k: PeerResult(**p) for k, p in d["peers"].items()}
        configs.append(Config(**d))
    big = BigResult(**raw["big"]) if raw.get("big") else None
    meta = raw.get("meta") or {}
    return configs, big, meta, raw.get("args") or {}


def write_outputs(configs, big, meta, args) -> None:
    text = report(configs, big, meta, args)
    outdir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(outdir, exist_ok=True)
    prefix = "quick_" if args.quick else ""
    written = [] if args.no_plots else plots(configs, big, outdir, prefix, args.families)
    if written:
        rel = [os.path.relpath(p, outdir) for p in written]
        text += "\n\nPlots: " + ", ".join(f"[{r}]({r})" for r in rel) + "\n"
    elif not args.no_plots:
        text += "\n\n(No plots: matplotlib is not importable; `pip install -e .[bench]`.)\n"
    print(text)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    raw = {"meta": meta,
           "configs": [asdict(c) for c in configs],
           "big": asdict(big) if big is not None else None,
           "args": {k: v for k, v in vars(args).items()}}
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as fh:
        json.dump(raw, fh, indent=1, default=str)
    print(f"\nWritten: {os.path.relpath(args.out, ROOT)}"
          + "".join(f", {os.path.relpath(p, ROOT)}" for p in written), file=sys.stderr)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        configs, big, meta, old = load_json(args.from_json)
        for key in ("families", "sizes", "repeats", "min_sample", "quick"):
            if key in old:
                setattr(args, key, old[key])
        return write_outputs(configs, big, meta, args) or 0
    started = now()
    load_start = load_average()
    si, _, why = import_package()
    if si is None:
        print(f"s2s_invad not usable: {why}")
        return 1
    jx = Jax(args)
    tmpdir = tempfile.mkdtemp(prefix="s2s_invad_suite_")
    configs: list[Config] = []
    big = None
    try:
        for n in sorted(args.sizes):
            for fam in args.families:
                configs.append(run_config(fam, n, si, jx, args, tmpdir))
        if not args.no_short and 512 in args.sizes and jx.why is None:
            for fam in args.families:
                full = next((c for c in configs if c.family == fam and c.n == 512), None)
                jax_done = full is not None and any(
                    p.median_s is not None for k, p in full.peers.items()
                    if k.startswith("jax_") and k != "jax_primal")
                if fam != "bratu" and not jax_done:
                    configs.append(run_config(fam, 512, si, jx, args, tmpdir, "short"))
        if not args.no_big:
            big = run_big(si, args, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    meta = run_meta(jx, getattr(si, "__version__", "?"), started, load_start)
    write_outputs(configs, big, meta, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
