"""Loops kept as loops: transform time, cost per step and memory against the trip count, and JAX.

Run from the repository root::

    python benchmarks/loops.py            # memory to 10^5 steps (about 8 minutes)
    python benchmarks/loops.py --quick    # smaller sizes (under 3 minutes)
    python benchmarks/loops.py --full     # memory to 10^6 steps, 3 processes per transform cell

Prints markdown and writes it to ``benchmarks/results/loops.md`` (``--out``).

The programs are written below as a user writes them: a ``for _ in range(steps):`` loop
over time steps or layers with a runtime trip count ``steps``, on a state vector of four
numbers, helpers inlined by the transform. The package keeps such a loop as a loop
(SPEC.md section 9): its body is analysed once and each mode is a loop over iterations.

- ``leapfrog``: two pendulums joined by a spring, z = (q1, q2, p1, p2), Stormer-Verlet
  steps of DT = 0.01. Each component's update is a shear with a closed-form inverse, so
  memory="recompute" rebuilds every iteration's state backwards from its end.
- ``rk4``: the same pendulums by classical RK4 steps. A step's stages mix the whole state
  (lumps with k >= 2, no closed-form inverse), so memory="recompute" reverses the loop by
  binomial checkpointing (``runtime.revolve``, about log2(N) stored states).
- ``coupling``: additive coupling layers (a RevNet block with fixed weights) on x = (a, b):
  b += H g(a), then a -= H g(b), g a tanh residual; rebuilt backwards like leapfrog. The
  residual is the gradient of a log cosh potential, so 10^6 layers stay bounded.

Sections (each prints what it measures and how):

1. Transform time and generated size against N, for the leapfrog with a module-constant
   trip count ``STEPS = N``: rolled (the loop kept) at N = 10, 1,000, 10^6 and unrolled
   (``unroll=True``) at N = 10, 100, 1,000. Each cell runs in a fresh process with
   ``S2S_INVAD_CACHE=off``: the analysis, then ``si.source`` and ``compile`` of each of
   jvp, vjp, ijvp and ivjp; and ``s2s-invad gen`` once, timed as a whole process.
2. Time per step of every mode at a runtime trip count (10^4; quick 2,000), against the
   user's own function run as plain Python, the generated code already compiled.
3. Peak memory of vjp (forward + pullback) against N for store and recompute, one fresh
   process per cell: tracemalloc, and the growth of the resident set size; the time of
   recompute against store; the revolve schedule (``s2s_invad.revolve.plan``).
4. JAX (if it imports): the same integrators written with ``jax.lax.scan`` in float64,
   jitted, with and without ``jax.checkpoint`` on the scan body: compile time, time per
   step, peak RSS of vjp; ratios s2s_invad / JAX.

Timings are wall clock on a machine shared with other jobs; nothing is asserted on them.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # benchmark the working tree, not an installed copy

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402
from benchmarks.memory import describe_machine, log, peak_rss, peak_traced  # noqa: E402
from benchmarks.modes import median_times, rel_err, table  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results", "loops.md")
MODES = ("jvp", "vjp", "ijvp", "ivjp")
CALLS = ("primal", "jvp", "vjp store", "vjp recompute", "ijvp store", "ijvp recompute", "ivjp", "slogdet")
TRANSFORM_TARGET_S = 1.0        # analysis + four modes + compile, rolled, at N = 10^6
ROLLED = (10, 1000, 1_000_000)
UNROLLED = (10, 100, 1000)

# --------------------------------------------------------------------------- the user's programs

DT = 0.01
SPRING = 0.5
H = 0.1
K = 0.5
C = np.array([0.1, -0.3])
D = np.array([-0.2, 0.25])


def force(q):
    """-dV/dq for two pendulums joined by a spring: gravity plus the spring's pull."""
    return -np.sin(q) + SPRING * (q[::-1] - q)


def leapfrog(z, steps):
    q, p = z[:2], z[2:]
    for _ in range(steps):
        p = p + 0.5 * DT * force(q)
        q = q + DT * p
        p = p + 0.5 * DT * force(q)
    return np.concatenate([q, p])


def pendulums(z):
    q, p = z[:2], z[2:]
    return np.concatenate([p, force(q)])


def rk4(z, steps):
    for _ in range(steps):
        k1 = pendulums(z)
        k2 = pendulums(z + 0.5 * DT * k1)
        k3 = pendulums(z + 0.5 * DT * k2)
        k4 = pendulums(z + DT * k3)
        z = z + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return z


def coupling(x, layers):
    a, b = x[:2], x[2:]
    for _ in range(layers):
        b = b + H * (np.tanh(a + C) + K * np.tanh(a - a[::-1]))
        a = a - H * (np.tanh(b + D) + K * np.tanh(b - b[::-1]))
    return np.concatenate([a, b])


@dataclass(frozen=True)
class Program:
    name: str
    fn: object
    wrt: str                   # the state parameter; the trip count is the second one
    title: str
    recompute: str             # how memory="recompute" reverses its loop


PROGRAMS = {
    "leapfrog": Program("leapfrog", leapfrog, "z", "leapfrog, two coupled pendulums (n = 4)", "rebuild"),
    "rk4": Program("rk4", rk4, "z", "RK4, two coupled pendulums (n = 4)", "revolve"),
    "coupling": Program("coupling", coupling, "x", "additive coupling layers (n = 4)", "rebuild"),
}
START = np.array([0.3, -0.2, 0.1, 0.4])
V = np.array([1.0, 0.5, -0.3, 0.2])           # tangent (jvp, ijvp's y_dot)
W = np.array([-0.4, 0.7, 0.2, 1.1])           # cotangent (vjp's y_bar, ivjp's x_bar)


def fixed_source(steps: int) -> str:
    """The leapfrog module with the trip count a module constant ``STEPS = steps``: the text
    of :func:`force` and :func:`leapfrog` above, with ``steps`` no longer a parameter."""
    text = inspect.getsource(leapfrog)
    fixed = text.replace("def leapfrog(z, steps):", "def leapfrog(z):", 1).replace("range(steps)", "range(STEPS)", 1)
    assert fixed.count("STEPS") == 1 and "steps" not in fixed, "leapfrog's text changed: update fixed_source"
    return ('"""Leapfrog of two coupled pendulums, STEPS steps. Written by benchmarks/loops.py."""\n\n'
            f"import numpy as np\n\nSTEPS = {steps}\nDT = {DT!r}\nSPRING = {SPRING!r}\n\n\n"
            f"{inspect.getsource(force)}\n\n{fixed}")


def api_calls(si, program: Program, steps: int, z=START, v=V, w=W) -> dict:
    """A zero-argument callable per entry of CALLS, each returning its product as one 1-D
    array (slogdet: [sign, log|det J|])."""
    f, wrt = program.fn, program.wrt

    def vjp(memory):
        def run():
            _, pullback = si.vjp(f, z, steps, wrt=wrt, memory=memory)
            return pullback(w)[0]
        return run

    def ijvp(memory):
        return lambda: si.ijvp(f, (z, steps), v, wrt=wrt, memory=memory)[1][0]

    def ivjp():
        _, sweep = si.ivjp(f, z, steps, wrt=wrt)
        return sweep(w)

    return {"primal": lambda: f(z, steps),
            "jvp": lambda: si.jvp(f, (z, steps), (v,), wrt=wrt)[1],
            "vjp store": vjp("store"), "vjp recompute": vjp("recompute"),
            "ijvp store": ijvp("store"), "ijvp recompute": ijvp("recompute"),
            "ivjp": ivjp,
            "slogdet": lambda: np.array(si.slogdet(f, (z, steps), wrt=wrt)[1])}


def relative_gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def identities(products: dict, v=V, w=W) -> dict:
    """What each product must satisfy, as a relative gap (0 up to rounding), from the
    products alone: w.(J v) = (J^T w).v; (J^T w).(J^-1 v) = w.v; (J v).(J^-T w) = v.w;
    recompute equals store."""
    p = products
    gaps = {"jvp": relative_gap(w @ p["jvp"], p["vjp store"] @ v)}
    gaps["vjp store"] = gaps["jvp"]
    gaps["ijvp store"] = relative_gap(p["vjp store"] @ p["ijvp store"], w @ v)
    gaps["ivjp"] = relative_gap(p["jvp"] @ p["ivjp"], v @ w)
    for mode in ("vjp", "ijvp"):
        gaps[f"{mode} recompute"] = rel_err(p[f"{mode} recompute"], p[f"{mode} store"])
    return gaps


def check_text(call: str, products: dict, gaps: dict) -> str:
    if call == "primal":
        return "-"
    if call == "slogdet":
        return f"log\\|det J\\| = {products['slogdet'][1]:.2e}"
    what = {"jvp": "w.(Jv) = (J^T w).v", "vjp store": "w.(Jv) = (J^T w).v",
            "ijvp store": "(J^T w).(J^-1 v) = w.v", "ivjp": "(Jv).(J^-T w) = v.w",
            "vjp recompute": "= store", "ijvp recompute": "= store"}[call]
    return f"{what}: {gaps[call]:.0e}"


# --------------------------------------------------------------------------- the JAX twins

def jax_module():
    """jax with float64 on, or None when it does not import."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_twins(jax, checkpoint: bool) -> dict:
    """leapfrog and rk4 as a JAX user writes them: jax.lax.scan over the steps, the body
    wrapped in jax.checkpoint when asked (its residuals are then recomputed in the
    backward pass; scan still stores the carry of every step)."""
    jnp = jax.numpy

    def jforce(q):
        return -jnp.sin(q) + SPRING * (q[::-1] - q)

    def leapfrog_step(state, _):
        q, p = state
        p = p + 0.5 * DT * jforce(q)
        q = q + DT * p
        return (q, p + 0.5 * DT * jforce(q)), None

    def field(z):
        return jnp.concatenate([z[2:], jforce(z[:2])])

    def rk4_step(z, _):
        k1 = field(z)
        k2 = field(z + 0.5 * DT * k1)
        k3 = field(z + 0.5 * DT * k2)
        k4 = field(z + DT * k3)
        return z + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), None

    wrap = jax.checkpoint if checkpoint else (lambda body: body)

    def jax_leapfrog(z, steps):
        (q, p), _ = jax.lax.scan(wrap(leapfrog_step), (z[:2], z[2:]), None, length=steps)
        return jnp.concatenate([q, p])

    def jax_rk4(z, steps):
        return jax.lax.scan(wrap(rk4_step), z, None, length=steps)[0]

    return {"leapfrog": jax_leapfrog, "rk4": jax_rk4}


def jax_jitted(jax, fn, steps: int) -> dict:
    """{call: (jitted function, arguments)}: the primal, jvp, vjp (forward and pullback in one
    function), and what a JAX user writes for J^-1 v, J^-T w and log|det J|: the dense J by
    jax.jacfwd (n tangents), then a solve."""
    jnp = jax.numpy

    def f(u):
        return fn(u, steps)

    return {"primal": (jax.jit(f), (START,)),
            "jvp": (jax.jit(lambda u, t: jax.jvp(f, (u,), (t,))[1]), (START, V)),
            "vjp": (jax.jit(lambda u, c: jax.vjp(f, u)[1](c)[0]), (START, W)),
            "ijvp": (jax.jit(lambda u, t: jnp.linalg.solve(jax.jacfwd(f)(u), t)), (START, V)),
            "ivjp": (jax.jit(lambda u, c: jnp.linalg.solve(jax.jacfwd(f)(u).T, c)), (START, W)),
            "slogdet": (jax.jit(lambda u: jnp.stack(jnp.linalg.slogdet(jax.jacfwd(f)(u)))), (START,))}


# --------------------------------------------------------------------------- workers (fresh processes)

def transform_worker(spec: dict) -> dict:
    """Import the package, analyse the module's leapfrog, generate and compile the four modes."""
    t0 = time.perf_counter()
    import s2s_invad as si
    from s2s_invad.api import analysis_of
    out = {"import_s": time.perf_counter() - t0, "modes": {}}
    with open(spec["path"], encoding="utf-8") as handle:
        module = families.Program(family="loops", title=spec["module"], func_name="leapfrog",
                                  module_name=spec["module"], n=4, statements=0, source=handle.read())
    f = families.load(module, os.path.dirname(spec["path"]))   # writes the same text back, imports it
    unroll = True if spec["unroll"] else None
    t0 = time.perf_counter()
    analysis_of(f, "z", shapes={"z": 4}, unroll=unroll)
    out["analysis_s"] = time.perf_counter() - t0
    for mode in MODES:
        t0 = time.perf_counter()
        text = si.source(f, mode, wrt="z", shapes={"z": 4}, unroll=unroll)
        t1 = time.perf_counter()
        compile(text, f"{spec['module']}_{mode}.py", "exec")
        out["modes"][mode] = {"generate_s": t1 - t0, "compile_s": time.perf_counter() - t1,
                              "bytes": len(text.encode()), "lines": text.count("\n")}
    return out


def rss_growth(call):
    """(peak resident set growth during ``call()`` in bytes, how it was measured)."""
    peak = peak_rss(call)
    if peak is not None:
        return peak, "VmHWM"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024, "ru_maxrss"


def timed(call):
    """(seconds, result) of one call, garbage collector off."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = call()
        return time.perf_counter() - t0, result
    finally:
        gc.enable()


def write_generated(si, program: Program, memory: str, folder: str) -> dict:
    """Write the generated vjp module of ``program`` to ``folder``; return the memory worker's
    spec for it (without the trip count)."""
    module = f"loops_{program.name}_vjp_{memory}"
    path = os.path.join(folder, module + ".py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(si.source(program.fn, "vjp", wrt=program.wrt, memory=memory, shapes={program.wrt: 4}))
    return {"path": path, "module": module, "function": f"{program.name}_vjp"}


def memory_worker(spec: dict) -> dict:
    """One forward + backward call of a generated vjp module at one N, in a process that never
    transforms (the transform leaves freed memory resident, which would hide the call's growth):
    RSS growth of one call, its time (median of ``repeats`` calls), tracemalloc's peak of one
    more when asked."""
    import importlib.util
    loader = importlib.util.spec_from_file_location(spec["module"], spec["path"])
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    vjp = getattr(module, spec["function"])

    def call(steps=spec["steps"]):
        _, pullback = vjp(START, steps)
        return pullback(W)[0]
    call(2)                                                   # warm-up
    samples = []
    out = {}

    def measured():
        seconds, result = timed(call)
        samples.append(seconds)
        out["result"] = [float(r) for r in result]
        return result
    out["rss"], out["rss_method"] = rss_growth(measured)
    for _ in range(spec["repeats"] - 1):
        measured()
    out["seconds"] = statistics.median(samples)
    out["traced"] = out["traced_s"] = None
    if spec["traced"]:
        t0 = time.perf_counter()
        out["traced"] = peak_traced(call)
        out["traced_s"] = time.perf_counter() - t0
    return out


def jax_memory_worker(spec: dict) -> dict:
    """RSS growth of one call of JAX's jitted vjp, compiled ahead of time (not measured)."""
    jax = jax_module()
    fn = jax_twins(jax, spec["checkpoint"])[spec["program"]]
    jitted, args = jax_jitted(jax, fn, spec["steps"])["vjp"]
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    rss, method = rss_growth(lambda: jax.block_until_ready(compiled(*args)))
    return {"rss": rss, "rss_method": method, "compile_s": compile_s}


WORKERS = {"transform": transform_worker, "memory": memory_worker, "jax-memory": jax_memory_worker}


def run_worker(kind: str, spec: dict, env: dict) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind, json.dumps(spec)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed for {spec}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- formatting

def fmt_s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def fmt_us(seconds) -> str:
    us = seconds * 1e6
    return f"{us:.3f}" if us < 1 else f"{us:.2f}" if us < 100 else f"{us:.0f}"


def fmt_bytes(value) -> str:
    if value is None:
        return "-"
    if value < 1e6:
        return f"{value / 1e3:,.1f} kB"
    return f"{value / 1e6:,.1f} MB"


def fmt_ratio(num, den) -> str:
    """num / den; "-" when either is unknown or den is 0 (RSS growth below a page reads 0)."""
    if num is None or not den:
        return "-"
    return f"{num / den:.1f}" if num / den >= 0.05 or num == 0 else f"{num / den:.0e}"


def fmt_times(ratio: float) -> str:
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"


def fmt_n(n: int) -> str:
    return f"10^{len(str(n)) - 1}" if n >= 10_000 and str(n).strip("0") == "1" else f"{n:,}"


# --------------------------------------------------------------------------- 1. transform

def section_transform(args, env) -> tuple[list, dict]:
    out = ["## 1. Transform time and generated size against N (module-constant trip count)", "",
           "The leapfrog above with `STEPS = N` a module constant (`for _ in range(STEPS):`), written to a "
           "module file. Each cell is a fresh process (`S2S_INVAD_CACHE=off`, so nothing is cached between "
           "them), "
           f"{'one such process' if args.transform_repeats == 1 else f'the median of {args.transform_repeats} such processes'}"
           ": *analysis* is `api.analysis_of` (front end, transform-time "
           "evaluation, analyses); per mode *generate* is `si.source(f, mode)` on that analysis, *compile* is "
           "`compile()` of its text (what every process pays once per mode). *total* = analysis + the four "
           "generates + the four compiles; *import* (`import s2s_invad`) is not in it. *CLI* is the wall time "
           "of one whole `python -m s2s_invad gen FILE:leapfrog --wrt z --shape z=4 -o OUT` process "
           "(interpreter start, import, all four modes, writing the file).", ""]
    data = {}
    cells = [(n, False) for n in ROLLED] + [(n, True) for n in args.unrolled]
    with tempfile.TemporaryDirectory(prefix="s2s_invad_loops_") as folder:
        for n, unroll in cells:
            label = "unrolled" if unroll else "rolled"
            module = f"loops_leapfrog_{label}_{n}"
            path = os.path.join(folder, module + ".py")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(fixed_source(n))
            log(f"transform: {label} N = {n:,}")
            runs = [run_worker("transform", {"path": path, "module": module, "unroll": unroll}, env)
                    for _ in range(args.transform_repeats)]
            cmd = [sys.executable, "-m", "s2s_invad", "gen", f"{path}:leapfrog", "--wrt", "z", "--shape",
                   "z=4", "-o", os.path.join(folder, module + "_derivs.py")] + (["--unroll"] if unroll else [])
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
            data[(n, unroll)] = {"runs": runs, "cli_s": time.perf_counter() - t0}

    rows = []
    for (n, unroll), cell in data.items():
        runs = cell["runs"]
        cell["import_s"] = statistics.median(r["import_s"] for r in runs)
        cell["analysis_s"] = statistics.median(r["analysis_s"] for r in runs)
        cell["modes"] = {m: {key: statistics.median(r["modes"][m][key] for r in runs)
                             for key in ("generate_s", "compile_s", "bytes", "lines")} for m in MODES}
        cell["total_s"] = cell["analysis_s"] + sum(c["generate_s"] + c["compile_s"] for c in cell["modes"].values())
        modes = cell["modes"]
        rows.append(["unrolled" if unroll else "rolled", f"{n:,}", fmt_s(cell["import_s"]), fmt_s(cell["analysis_s"])]
                    + [f"{fmt_s(modes[m]['generate_s'])} + {fmt_s(modes[m]['compile_s'])}" for m in MODES]
                    + [f"**{fmt_s(cell['total_s'])}**", fmt_s(cell["cli_s"]),
                       f"{sum(modes[m]['bytes'] for m in MODES):,}", f"{sum(modes[m]['lines'] for m in MODES):,}"])
    out.append(table(["loop", "N", "import (s)", "analysis (s)"] + [f"{m}: generate + compile (s)" for m in MODES]
                     + ["total (s)", "CLI (s)", "bytes (4 modes)", "lines (4 modes)"], rows, "lrrr" + "r" * 8))
    out += ["", "Generated size per mode (bytes / lines):", ""]
    rows = [["unrolled" if unroll else "rolled", f"{n:,}"]
            + [f"{cell['modes'][m]['bytes']:,} / {cell['modes'][m]['lines']:,}" for m in MODES]
            for (n, unroll), cell in data.items()]
    out.append(table(["loop", "N"] + list(MODES), rows, "lr" + "r" * 4))
    rolled = [data[(n, False)] for n in ROLLED]
    big = data[(ROLLED[-1], False)]["total_s"]
    same = len({tuple(c["modes"][m]["lines"] for m in MODES) for c in rolled}) == 1
    out += ["", f"Target (issue): rolled, N = 10^6, analysis + four modes + compile under "
            f"{TRANSFORM_TARGET_S:g} s: **{big:.3f} s, {'met' if big < TRANSFORM_TARGET_S else 'NOT met'}**; "
            f"flat in N: the rolled total ranges {min(c['total_s'] for c in rolled):.3f}-"
            f"{max(c['total_s'] for c in rolled):.3f} s over N = 10 ... 10^6, and the generated line counts are "
            f"{'identical' if same else 'NOT identical'} (only the value of `STEPS` differs)."]
    return out, data


# --------------------------------------------------------------------------- 2. per step

def section_per_step(si, args) -> tuple[list, dict]:
    steps = args.steps
    out = [f"## 2. Time per step of each mode, runtime trip count N = {steps:,}", "",
           f"`f(z, {steps})` with `steps` an argument (the loop is kept as a loop). Each call is the median of "
           f"{args.repeats} interleaved samples (`benchmarks.modes.median_times`, garbage collector off) of one "
           "API call on a warm function (the generated code compiled before timing); vjp and ivjp: the call "
           "plus one call of the returned closure (forward + backward). The primal is the user's function, "
           "plain Python on NumPy arrays of length 2 and 4; the generated code runs on NumPy scalars. Per "
           "step = per call / N. *check*: the identity each product must satisfy, as a relative gap, "
           "computed from the products themselves (recompute: its gap to store).", ""]
    data = {}
    for name, program in PROGRAMS.items():
        log(f"per step: {name}, N = {steps:,}")
        calls = api_calls(si, program, steps)
        products = {call: np.asarray(fn(), dtype=float) for call, fn in calls.items()}   # warm-up too
        gaps = identities(products)
        times = dict(zip(CALLS, (t for t, _ in median_times([calls[c] for c in CALLS], args.repeats, 0.02))))
        data[name] = {"seconds": times, "products": products, "gaps": gaps}
        report = si.explain(program.fn, wrt=program.wrt, shapes={program.wrt: 4})
        lumps = next(line.strip() for line in report.splitlines() if line.startswith("Lumps"))
        how = next(line.split(": ", 1)[1] for line in report.splitlines() if line.startswith("memory='recompute'"))
        out += [f"### {program.title}", "", f"{lumps}. memory='recompute': {how.split(':')[0]}.", ""]
        primal = times["primal"]
        rows = [[call, fmt_us(times[call] / steps), f"{times[call] / primal:.2f}", fmt_s(times[call]),
                 check_text(call, products, gaps)] for call in CALLS]
        out += [table(["call", "per step (us)", "/ primal", "per call (s)", "check"], rows, "lrrrl"), ""]
    return out[:-1], data


# --------------------------------------------------------------------------- 3. memory

def section_memory(si, args, env) -> tuple[list, dict]:
    from s2s_invad import revolve
    out = ["## 3. Peak memory of vjp against N: store, recompute by rebuilding, recompute by revolve", "",
           "The generated vjp module (`si.source(f, 'vjp', memory=...)`, written to a file) is imported by a "
           "fresh process that never transforms, which calls it once at N = 2 (warm-up, outside the measurement) "
           "and then `y, pullback = f_vjp(z, N); pullback(w)`, forward + backward, per measurement. *traced*: "
           "tracemalloc's peak over one call (Python objects and NumPy buffers; the generated code is "
           f"measured to N = {args.traced_max:,} only: tracemalloc looks up the line of every allocation "
           "by a linear scan of the code object's line table: these calls ran 17-33x slower under it at "
           "N = 10^5 when this benchmark was written, e.g. leapfrog recompute 6 s -> 161 s; the *traced / "
           "untraced* column gives this run's slowdown; `--traced-max` raises the limit). *RSS*: "
           "the peak resident set size during one call minus the resident size before it (Linux: the peak "
           "reset through /proc/self/clear_refs, `benchmarks.memory.peak_rss`; elsewhere ru_maxrss after - "
           "before), in the page granularity of the OS. *time*: median of "
           f"{args.memory_repeats} untraced calls at N <= 10^4, one call above; *recompute / store* is the "
           "measured recomputation factor. *revolve*: `s2s_invad.revolve.plan(N, None)`: the stored states "
           "(snapshots), and the forward iterations the backward sweep reruns per iteration (advances / N). "
           "*agree*: max-norm gap of the recompute result to the store result, relative.", ""]
    data = measure_memory(si, args, env)
    for name, program in PROGRAMS.items():
        rows = []
        for n in args.memory_sizes:
            store, rec = data[(name, n)]["store"], data[(name, n)]["recompute"]
            plan = revolve.plan(n, None)
            slow = [fmt_ratio(c["traced_s"], c["seconds"]) if c["traced_s"] else "-" for c in (store, rec)]
            rows.append([fmt_n(n), fmt_bytes(store["traced"]), fmt_bytes(store["rss"]), fmt_bytes(rec["traced"]),
                         fmt_bytes(rec["rss"]), fmt_s(store["seconds"]), fmt_s(rec["seconds"]),
                         f"{rec['seconds'] / store['seconds']:.1f}",
                         f"{plan.snapshots} / {plan.factor:.2f}" if program.recompute == "revolve" else "-",
                         f"{rel_err(rec['result'], store['result']):.0e}", " / ".join(slow)])
        how = "by binomial checkpointing (revolve)" if program.recompute == "revolve" else "rebuilds states backwards"
        out += [f"### {program.title}: recompute {how}", "",
                table(["N", "store traced", "store RSS", "recompute traced", "recompute RSS", "store time (s)",
                       "recompute time (s)", "recompute / store", "revolve snapshots / advances per step",
                       "agree", "traced / untraced (store / recompute)"], rows, "lrrrrrrrrrr"), ""]
        for kind in ("traced", "rss"):
            points = [(n, data[(name, n)]["store"][kind]) for n in args.memory_sizes if data[(name, n)]["store"][kind]]
            if len(points) >= 2:
                (n0, b0), (n1, b1) = points[-2:]
                out += [f"Store grows by {(b1 - b0) / (n1 - n0):.0f} bytes per step ({kind}, N = {n0:,} to {n1:,}).",
                        ""]
    methods = {c[m]["rss_method"] for c in data.values() for m in c}
    out.append(f"RSS measured by {', '.join(sorted(methods))}.")
    return out, data


def measure_memory(si, args, env) -> dict:
    """{(program, N): {memory: memory worker result}}."""
    data = {}
    with tempfile.TemporaryDirectory(prefix="s2s_invad_loops_") as folder:
        for name, program in PROGRAMS.items():
            modules = {memory: write_generated(si, program, memory, folder) for memory in ("store", "recompute")}
            for n in args.memory_sizes:
                for memory, module in modules.items():
                    log(f"memory: {name} {memory} N = {n:,}")
                    spec = dict(module, steps=n, traced=n <= args.traced_max,
                                repeats=args.memory_repeats if n <= 10_000 else 1)
                    data.setdefault((name, n), {})[memory] = run_worker("memory", spec, env)
    return data


# --------------------------------------------------------------------------- 4. JAX

def section_jax(jax, args, env, per_step: dict, memory: dict) -> tuple[list, dict]:
    steps = args.steps
    out = ["## 4. JAX side by side (jax.lax.scan, float64, jitted)", ""]
    if jax is None:
        return out + ["Skipped: `import jax` failed (pip install jax to compare)."], {}
    out += [f"JAX {jax.__version__}, backend {jax.default_backend()}. The same leapfrog and RK4 written with "
            "`jax.lax.scan` over the steps (`jax_twins` in this file), `jax_enable_x64`, each call `jax.jit`-ted "
            f"with N = {steps:,} fixed. *compile*: `jitted.lower(...).compile()`; *per step*: median of "
            f"{args.repeats} interleaved samples (`median_times`, each >= 0.02 s of calls) of the compiled "
            "function (`block_until_ready`) / N. vjp is forward and pullback "
            "in one jitted function; *+ checkpoint* wraps the scan body in `jax.checkpoint` (the body's "
            "residuals are recomputed in the backward pass; scan still stores every step's carry, so memory "
            "stays O(N)). JAX has no J^-1 v, J^-T w or log|det J| transform: the rows for them time what a "
            "JAX user writes instead, the dense J by `jax.jacfwd` (4 tangents) and `jnp.linalg.solve` / "
            "`slogdet`. The s2s_invad column is section 2's (vjp + checkpoint is compared with memory="
            "'recompute'). *agree*: max-norm gap between the two products, relative.", ""]
    pairs = (("primal", "primal", False), ("jvp", "jvp", False), ("vjp", "vjp store", False),
             ("primal", "primal", True), ("jvp", "jvp", True), ("vjp", "vjp recompute", True),
             ("ijvp", "ijvp store", False), ("ivjp", "ivjp", False), ("slogdet", "slogdet", False))
    labels = {"ijvp": "J^-1 v: none; jacfwd + solve", "ivjp": "J^-T w: none; jacfwd + solve(J^T)",
              "slogdet": "log\\|det J\\|: none; jacfwd + slogdet"}
    ratios = {}
    for name in ("leapfrog", "rk4"):
        log(f"jax: {name}, N = {steps:,}")
        twins = {ck: jax_jitted(jax, jax_twins(jax, ck)[name], steps) for ck in (False, True)}
        compiled, seconds = [], []
        for call, _, ck in pairs:
            jitted, call_args = twins[ck][call]
            t0 = time.perf_counter()
            run = jitted.lower(*call_args).compile()
            seconds.append(time.perf_counter() - t0)
            compiled.append(lambda run=run, call_args=call_args: np.asarray(jax.block_until_ready(run(*call_args))))
        runs = median_times(compiled, args.repeats, 0.02)
        rows = []
        for (call, ours, ck), run, compile_s, (run_s, _) in zip(pairs, compiled, seconds, runs):
            label = call + (" + checkpoint" if ck else "")
            theirs, mine = run_s / steps, per_step[name]["seconds"][ours] / steps
            ratios[(name, label)] = mine / theirs
            rows.append([labels.get(call, label), ours, fmt_s(compile_s), fmt_us(theirs), fmt_us(mine),
                         fmt_times(mine / theirs), f"{rel_err(per_step[name]['products'][ours], run()):.0e}"])
        out += [f"### {PROGRAMS[name].title}, N = {steps:,}", "",
                table(["JAX call", "s2s_invad call", "JAX compile (s)", "JAX per step (us)",
                       "s2s_invad per step (us)", "s2s_invad / JAX", "agree"], rows, "llrrrrr"), ""]
    out += ["### Peak memory of vjp: JAX against s2s_invad (RSS)", "",
            "Peak RSS growth during one vjp call (forward + pullback), each in a fresh process, measured the same "
            "way for both (section 3's RSS; JAX's function compiled ahead of time, before the measurement, so "
            "compilation is not counted). RSS has page granularity and includes allocator slack: small values "
            "are noise.", ""]
    rows = []
    for name in ("leapfrog", "rk4"):
        for n in [n for n in args.memory_sizes if n >= 10_000]:
            log(f"jax memory: {name} N = {n:,}")
            plain, ckpt = (run_worker("jax-memory", {"program": name, "checkpoint": ck, "steps": n}, env)["rss"]
                           for ck in (False, True))
            store, rec = memory[(name, n)]["store"]["rss"], memory[(name, n)]["recompute"]["rss"]
            rows.append([name, fmt_n(n), fmt_bytes(plain), fmt_bytes(ckpt), fmt_bytes(store), fmt_bytes(rec),
                         fmt_ratio(store, plain), fmt_ratio(rec, ckpt)])
    out.append(table(["program", "N", "JAX vjp", "JAX vjp + checkpoint", "s2s_invad store",
                      "s2s_invad recompute", "store / JAX", "recompute / JAX + checkpoint"], rows, "lrrrrrrr"))
    return out, ratios


# --------------------------------------------------------------------------- summary

def summary(args, transform: dict, per_step: dict, memory: dict, ratios: dict) -> list:
    big, unrolled = transform[(ROLLED[-1], False)], transform[(args.unrolled[-1], True)]
    out = ["## Summary", "",
           f"- Transform, rolled, N = 10^6: **{big['total_s']:.3f} s** for analysis + jvp, vjp, ijvp, ivjp + "
           f"compile (target < {TRANSFORM_TARGET_S:g} s: {'met' if big['total_s'] < TRANSFORM_TARGET_S else 'NOT met'}"
           f"); the CLI process {big['cli_s']:.2f} s. Unrolled, N = {args.unrolled[-1]:,}: "
           f"{unrolled['total_s']:.2f} s and {sum(m['lines'] for m in unrolled['modes'].values()):,} lines.",
           f"- Per step at N = {args.steps:,}, as a multiple of the user's primal:", ""]
    calls = CALLS[1:]
    rows = [[name, fmt_us(per_step[name]["seconds"]["primal"] / args.steps)]
            + [f"{per_step[name]['seconds'][c] / per_step[name]['seconds']['primal']:.2f}" for c in calls]
            for name in per_step]
    out += [table(["program", "primal (us / step)"] + list(calls), rows, "lr" + "r" * len(calls)), ""]
    out.append("- vjp peak memory against N, store -> recompute (tracemalloc where measured, else RSS growth; "
               "recompute time / store time):")
    for name in PROGRAMS:
        cells = []
        for n in args.memory_sizes:
            cell = memory[(name, n)]
            kind = "traced" if cell["store"]["traced"] is not None else "rss"
            cells.append(f"N = {fmt_n(n)}: {fmt_bytes(cell['store'][kind])} -> {fmt_bytes(cell['recompute'][kind])}"
                         f" ({'traced' if kind == 'traced' else 'RSS'}, "
                         f"{cell['recompute']['seconds'] / cell['store']['seconds']:.1f}x)")
        out.append(f"  - {name} (recompute {PROGRAMS[name].recompute}): " + "; ".join(cells))
    if ratios:
        out.append(f"- s2s_invad / JAX per step at N = {args.steps:,}: " + "; ".join(
            f"{name} " + ", ".join(f"{call} {fmt_times(ratios[(name, call)])}x" for call in
                                   ("primal", "jvp", "vjp", "vjp + checkpoint"))
            for name in ("leapfrog", "rk4")) + " (vjp + checkpoint against memory='recompute').")
    return out


# --------------------------------------------------------------------------- driver

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="N = 2,000 per step, memory to 10^4, unrolled to 100")
    size.add_argument("--full", action="store_true", help="memory to 10^6, 3 processes per transform cell")
    parser.add_argument("--steps", type=int, help="runtime trip count of sections 2 and 4 (10^4; quick 2,000)")
    parser.add_argument("--memory-sizes", help="comma-separated N of section 3 (1000,10000,100000)")
    parser.add_argument("--traced-max", type=int, help="largest N measured with tracemalloc (10^4; quick 10^3)")
    parser.add_argument("--repeats", type=int, help="timed samples per call in sections 2 and 4 (5; quick 3)")
    parser.add_argument("--out", default=RESULTS, help=f"markdown file to write (default {RESULTS})")
    parser.add_argument("--no-jax", action="store_true", help="skip section 4")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    quick = args.quick
    args.steps = args.steps or (2000 if quick else 10_000)
    args.repeats = args.repeats or (3 if quick else 5)
    args.traced_max = args.traced_max if args.traced_max is not None else (1000 if quick else 10_000)
    default_sizes = (1000, 10_000) if quick else (1000, 10_000, 100_000, 1_000_000) if args.full else \
        (1000, 10_000, 100_000)
    args.memory_sizes = [int(n.replace("_", "")) for n in args.memory_sizes.split(",")] if args.memory_sizes \
        else list(default_sizes)
    args.unrolled = UNROLLED[:2] if quick else UNROLLED
    args.transform_repeats = 3 if args.full else 1
    args.memory_repeats = 3
    return args


def header(args, jax) -> list:
    command = " ".join(["python benchmarks/loops.py", *args.argv])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return ["# Loops kept as loops: transform, cost per step, memory, JAX", "",
            f"`{command}` on {datetime.date.today()}; {describe_machine()}; os.cpu_count() = {os.cpu_count()}; "
            f"load average at the start {load} (the machine is shared: timings move by 10-30 % between runs); "
            f"JAX {jax.__version__ if jax else 'not installed'}. `S2S_INVAD_CACHE=off` throughout.", "",
            "Programs (in `benchmarks/loops.py`, written as a user writes them, `for _ in range(steps):` with "
            "`steps` an argument; state of 4 numbers): leapfrog of two pendulums joined by a spring (dt = 0.01), "
            "RK4 of the same system, additive coupling layers. Start z = (0.3, -0.2, 0.1, 0.4).", "",
            "Note: the force is written elementwise (`-np.sin(q) + SPRING * (q[::-1] - q)`). Written with one "
            "shared temporary for both components (`pull = SPRING * (q[1] - q[0])`, then "
            "`np.array([-np.sin(q[0]) + pull, -np.sin(q[1]) - pull])`, as samples/leapfrog.py does), the update "
            "of p is one k = 2 lump, and memory='recompute' falls back to revolve instead of rebuilding.", ""]


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["S2S_INVAD_CACHE"] = "off"          # nothing cached on disk, in this process or the workers
    if args.worker:
        kind, spec = args.worker
        print(json.dumps(WORKERS[kind](json.loads(spec))))
        return 0
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    import s2s_invad as si
    jax = None if args.no_jax else jax_module()
    started = time.perf_counter()
    text = header(args, jax)
    section, transform = section_transform(args, env)
    text += section + [""]
    section, per_step = section_per_step(si, args)
    text += section + [""]
    section, memory = section_memory(si, args, env)
    text += section + [""]
    section, ratios = section_jax(jax, args, env, per_step, memory)
    text += section + [""] + summary(args, transform, per_step, memory, ratios)
    text += ["", f"Whole run: {time.perf_counter() - started:.0f} s."]
    report = "\n".join(text) + "\n"
    print(report, end="")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
