"""Peak memory and time of vjp and ijvp, memory="store" versus memory="recompute", against depth.

Run from the repository root::

    python benchmarks/memory.py              # depths 100 ... 10,000, batch 10,000, 3 repeats
    python benchmarks/memory.py --quick      # depths 100 ... 2,000, 2 repeats (about 3 minutes)
    python benchmarks/memory.py --depths 1000,10000 --family coupling --batch 2000

Two program families, generated as Python source text (seeded, byte-identical across runs),
written to module files and imported (the package reads real source files):

- ``coupling``: an affine coupling network on n = 16 scalars; each step updates one scalar
  from another, ``x3 = x3 * np.exp(0.07 * np.tanh(x7)) + 0.05 * np.sin(x7)``: one
  statement, invertible in closed form.
- ``leapfrog``: leapfrog (staggered: momenta at half steps) for 4 particles on a line with
  the soft pair potential c_ab * log cosh(q_a - q_b): per step ``p_a = p_a - h * (sum of
  c_ab * np.tanh(q_a - q_b))`` for every a, then ``q_a = q_a + h * p_a``; n = 8, 8 statements
  per leapfrog step, each invertible in closed form.

Depth is the number of program statements (each a k = 1 update; the package may cut a
statement into more than one lump), in both families; the leapfrog family uses
round(depth / 8) leapfrog steps. Each argument is a NumPy array of
``--batch`` points.

Each (family, depth) is measured by three worker processes:

1. the transform worker calls the API (``si.vjp(f, ..., memory=...)``, ``si.ijvp``) once per
   mode and memory variant, which transforms and compiles; it copies each generated module
   (the real file the API compiled, ``fn.__code__.co_filename``) to a work folder, checks
   drift and the agreement of store and recompute, and measures the recompute peak once
   more in its own process (information only, see below);
2. a memory worker per generated function, a fresh process that never runs the transform,
   imports the generated module from its bytecode (as Python imports committed
   ``s2s-invad gen`` output the second time) and calls the generated function directly:
   ``y, pullback = leapfrog_vjp(*x); pullback(*w)`` and ``leapfrog_ijvp(*x, *v)``;
3. the time worker calls the API, as in 1, and times it.

In a memory worker, a first call warms up outside the measurement; then, each on its own
call:

- peak: the peak resident set size during one call minus the resident size just before
  it (Linux: freed heap is first returned with malloc_trim, then the peak is reset
  through /proc/self/clear_refs). It runs with glibc's mmap threshold below one array's
  size (MALLOC_MMAP_THRESHOLD_), so each array buffer is mapped when allocated and
  unmapped when freed, and the resident size follows the live arrays. It counts
  everything the call touches: arrays, Python objects and the call's frame;
- traced: the tracemalloc peak of one call (NumPy reports its buffers to tracemalloc),
  only up to ``--traced-max-depth`` (300, quick 100): tracemalloc looks up the source line of every
  allocation by a linear scan of the code object's line table, so on a generated
  function of depth d a call costs O(d^2) (about 30 s per call at depth 1,000). Where
  clear_refs is not available it is measured at every depth and used as the peak.

In the time worker: the median wall time of ``--repeats`` API calls, garbage collector
off, default allocator.

Why a process that never transforms, loading bytecode, one per function: transforming a
long program (or compiling its generated source) allocates and frees hundreds of MB of
small objects and leaves glibc's heap full of free chunks. malloc serves an array from a
free chunk of the heap before it considers the mmap threshold, and freed heap pages stay
resident until the next malloc_trim, so in such a process the high-water mark of one
call counts every heap page the call's arrays passed through, which grows with the
length of the call and depends on what ran before, while the call itself holds the same
number of arrays at every depth (the "live arrays" column counts them from the generated
source: the most names bound at once, parameters plus assignments minus dels). The "here" column (recompute through the API in the
transforming process) shows that number.

Stored runs whose peak, extrapolated linearly from the largest depth measured so far,
would exceed ``--stored-budget-gb`` (4) are not run: the table shows the extrapolation in
parentheses. Drift is ``si.drift(f, points).max`` (max relative difference of rebuilt and
forward values) on the first ``--drift-points`` (256) points of the batch; "agree" is the
max-norm relative difference of the store and recompute results on those points.

Targets, each printed met / NOT met: the recompute peak is flat in depth, max / min - 1
within 10 percent over the depths from 1,000 to the largest; the recompute time is at most
2x the stored time at every depth where both ran.

Prints markdown on stdout and writes it to benchmarks/results/memory.md, plus a log-log plot
of peak memory against depth to benchmarks/results/memory.png when matplotlib imports.
Exit status is 0 unless ``--strict`` is given and a target is not met.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import hashlib
import importlib.util
import itertools
import json
import math
import os
import platform
import py_compile
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # benchmark the working tree, not an installed copy

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402
from benchmarks.families import Program  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results")
MODES = ("vjp", "ijvp")
MEMORIES = ("store", "recompute")
FAMILIES = ("coupling", "leapfrog")
FULL_DEPTHS = (100, 300, 1000, 3000, 10_000)
QUICK_DEPTHS = (100, 300, 1000, 2000)
FLAT_FROM = 1000            # the flatness target covers depths from here to the largest
FLAT_TOLERANCE = 0.10       # recompute peak: max / min - 1 over those depths
TIME_TARGET = 2.0           # recompute time / stored time
MB = 1e6


# --------------------------------------------------------------------------- programs

def _lit(c: float) -> str:
    """A float literal that round-trips exactly."""
    text = repr(float(c))
    if not math.isfinite(c):
        raise ValueError(f"non-finite literal {c!r}")
    return text


def _scaled(c: float, expr: str) -> str:
    return f"{_lit(c)} * {expr}"


def _plus(c: float, expr: str) -> str:
    """` + c * expr`, or ` - |c| * expr` for a negative c."""
    return f" - {_lit(-c)} * {expr}" if c < 0 else f" + {_lit(c)} * {expr}"


def _names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def _module(doc: str, func_name: str, params: list[str], body: list[str]) -> str:
    return (f'"""{doc}\n\nGenerated by benchmarks/memory.py; do not edit."""\n\n'
            "import numpy as np\n\n\n"
            f"def {func_name}({', '.join(params)}):\n" + "".join(body)
            + f"    return {', '.join(params)}\n")


def coupling_network(depth: int, n: int = 16, seed: int = 20250611) -> Program:
    """An affine coupling network: ``depth`` steps, each one scalar updated from another.

    ``x_i = x_i * np.exp(a * np.tanh(x_j)) + b * np.sin(x_j)`` with i != j drawn uniformly,
    |a| in [0.025, 0.1] with a random sign and b in [-0.1, 0.1]. The coefficients are small
    enough that 10,000 steps stay well conditioned (with |a| up to 0.3 the batch reaches
    |x| ~ 1e5 at depth 10,000 and rebuilding backwards loses every digit).
    """
    rng = random.Random(seed)
    body = []
    for _ in range(depth):
        i = rng.randrange(n)
        j = rng.randrange(n - 1)
        j = j + 1 if j >= i else j
        a = round(rng.choice((-1.0, 1.0)) * rng.uniform(0.025, 0.1), 3)
        b = round(rng.uniform(-0.1, 0.1), 3) or 0.01
        body.append(f"    x{i} = x{i} * np.exp({_scaled(a, f'np.tanh(x{j})')})"
                    f"{_plus(b, f'np.sin(x{j})')}\n")
    func_name = "coupling"
    doc = f"Affine coupling network, n = {n}, {depth} steps, seed = {seed}."
    return Program(family="coupling", title=f"coupling network, n={n}", func_name=func_name,
                   module_name=f"_s2s_memory_coupling_n{n}_d{depth}_seed{seed}", n=n,
                   statements=depth, source=_module(doc, func_name, _names("x", n), body),
                   params=dict(n=n, depth=depth, seed=seed, steps=depth))


def leapfrog(depth: int, particles: int = 4, h: float = 0.05, seed: int = 3) -> Program:
    """Leapfrog for ``particles`` unit masses on a line, pair potential c_ab log cosh(q_a - q_b).

    Staggered form (p at half steps): per step ``p_a -= h * sum_b c_ab tanh(q_a - q_b)``
    for every a, then ``q_a += h * p_a``. Each statement computes its own forces from q,
    so every statement is one k = 1 lump; round(depth / (2 * particles)) steps.
    """
    rng = random.Random(seed)
    c = {}
    for a, b in itertools.combinations(range(particles), 2):
        c[a, b] = c[b, a] = round(rng.uniform(0.5, 1.5), 3)
    steps = max(1, round(depth / (2 * particles)))
    body = []
    for step in range(steps):
        body.append(f"    # step {step}: t = {step * h:.4g}\n")
        for a in range(particles):
            terms = [_scaled(c[a, b], f"np.tanh(q{a} - q{b})") for b in range(particles) if b != a]
            body.append(f"    p{a} = p{a} - {_lit(h)} * ({' + '.join(terms)})\n")
        for a in range(particles):
            body.append(f"    q{a} = q{a} + {_lit(h)} * p{a}\n")
    func_name = "leapfrog"
    n = 2 * particles
    doc = (f"Leapfrog, {particles} particles on a line, pair potential c log cosh(dq), "
           f"h = {h}, {steps} steps, seed = {seed}.")
    return Program(family="leapfrog", title=f"leapfrog, {particles} particles in 1-D, n={n}",
                   func_name=func_name,
                   module_name=f"_s2s_memory_leapfrog_p{particles}_st{steps}_seed{seed}", n=n,
                   statements=steps * n,
                   source=_module(doc, func_name, _names("q", particles) + _names("p", particles), body),
                   params=dict(particles=particles, h=h, seed=seed, steps=steps))


GENERATORS = {"coupling": coupling_network, "leapfrog": leapfrog}


def points(program: Program, batch: int, seed: int = 0):
    """Deterministic inputs (x), output cotangents (w) and output tangents (v)."""
    rng = np.random.default_rng(seed)
    if program.family == "leapfrog":
        half = program.n // 2
        x = tuple(rng.uniform(-1.0, 1.0, batch) for _ in range(half)) + \
            tuple(rng.uniform(-0.5, 0.5, batch) for _ in range(half))
    else:
        x = tuple(rng.uniform(-1.0, 1.0, batch) for _ in range(program.n))
    w = tuple(rng.normal(size=batch) for _ in range(program.n))
    v = tuple(rng.normal(size=batch) for _ in range(program.n))
    return x, w, v


# --------------------------------------------------------------------------- measuring

def _proc_status(field: str):
    """A field of /proc/self/status in bytes, or None (not Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


_LIBC = None


def _trim_heap() -> None:
    """Return freed heap memory to the system (glibc), so RSS starts from what is in use."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
        except OSError:                   # not glibc: find_library runs ldconfig, slowly
            name = ctypes.util.find_library("c")
            try:
                _LIBC = ctypes.CDLL(name) if name else False
            except OSError:
                _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def peak_traced(call) -> int:
    gc.collect()
    _trim_heap()
    tracemalloc.start()
    try:
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def peak_rss(call):
    gc.collect()
    _trim_heap()
    before = _proc_status("VmRSS")
    if before is None or not _reset_peak_rss():
        return None
    result = call()
    peak = _proc_status("VmHWM")
    del result
    return None if peak is None else max(0, peak - before)


def median_time(call, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            result = call()
            samples.append(time.perf_counter() - t0)
        finally:
            gc.enable()
        del result
    return statistics.median(samples)


def make_call(si, f, mode: str, memory: str, x, w, v):
    """One API call: vjp = forward + pullback, ijvp."""
    if mode == "vjp":
        def call():
            _, pullback = si.vjp(f, *x, memory=memory)
            return pullback(w)
    else:
        def call():
            return si.ijvp(f, x, v, memory=memory)[1]
    return call


def generated_call(fn, mode: str, x, w, v):
    """One call of a generated function itself, without the API around it."""
    if mode == "vjp":
        def call():
            _, pullback = fn(*x)
            return pullback(*w)
    else:
        def call():
            return fn(*x, *v)[1]
    return call


def module_file(workdir: str, mode: str, memory: str) -> str:
    return os.path.join(workdir, f"generated_{mode}_{memory}.py")


def max_live(path: str) -> int:
    """The most names bound at once in any function of a generated module: parameters,
    plus every assignment, minus every ``del``, statement by statement. Each name holds
    one array, so this counts the arrays a call keeps alive, whatever the allocator does."""
    import ast
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    most = 0
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        live = {a.arg for a in fn.args.args}
        most = max(most, len(live))
        for stmt in fn.body:
            if isinstance(stmt, ast.Delete):
                live -= {t.id for t in stmt.targets}
            elif isinstance(stmt, ast.Assign):
                live |= {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            most = max(most, len(live))
    return most


def rel_diff(got, ref) -> float:
    got = np.concatenate([np.ravel(g) for g in got])
    ref = np.concatenate([np.ravel(r) for r in ref])
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-300))


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def transform_worker(args) -> dict:
    """Transform through the API, save each generated module, check drift and agreement,
    and measure the recompute peak in this (transforming) process."""
    import s2s_invad as si
    from s2s_invad.api import _compiled, analysis_of
    from s2s_invad.analysis.memory import plan_memory

    program = GENERATORS[args.family](args.depth)
    f = families.load(program, args.workdir)
    x, w, v = points(program, args.batch)
    t0 = time.perf_counter()
    analysis = analysis_of(f)
    out = dict(analysis_s=time.perf_counter() - t0, package=package_fingerprint(), in_process={},
               live={}, functions={})
    skip = set(filter(None, args.skip_store.split(",")))
    for mode in MODES:
        for memory in MEMORIES:
            if memory == "store" and mode in skip:
                continue
            call = make_call(si, f, mode, memory, x, w, v)
            t0 = time.perf_counter()
            call()                                       # transform, compile, warm up
            first = time.perf_counter() - t0
            _, fn, _ = _compiled(f, None, mode, x, memory)   # what the API just ran
            path = module_file(args.workdir, mode, memory)
            shutil.copyfile(fn.__code__.co_filename, path)
            py_compile.compile(path, doraise=True)       # the memory worker loads the bytecode
            out["functions"][f"{mode}/{memory}"] = fn.__name__
            note = ""
            if memory == "recompute":
                out["live"][mode] = max_live(path)
                out["in_process"][mode] = peak_rss(call)
                note = f", peak here {fmt_mb(out['in_process'][mode])} MB"
            log(f"    {program.family} depth {args.depth} {mode}/{memory}: first call {first:.1f} s{note}")
    plan = plan_memory(analysis.graph, analysis.lumps)
    out.update(family=program.family, depth=args.depth, statements=program.statements,
               steps=program.params["steps"], n=program.n, batch=args.batch,
               ssa=len(analysis.program.body), lumps=len(analysis.lumps),
               checkpointed=len(plan.checkpointed(analysis.lumps)))
    sub = tuple(a[:args.drift_points] for a in x)
    sub_w = tuple(a[:args.drift_points] for a in w)
    sub_v = tuple(a[:args.drift_points] for a in v)
    t0 = time.perf_counter()
    out["drift"] = float(si.drift(f, sub).max)
    out["drift_s"] = time.perf_counter() - t0
    out["agree"] = {}
    for mode in MODES:
        store = make_call(si, f, mode, "store", sub, sub_w, sub_v)()
        rec = make_call(si, f, mode, "recompute", sub, sub_w, sub_v)()
        out["agree"][mode] = rel_diff(rec, store)
    y = f(*x)
    out["max_abs_y"] = float(max(np.max(np.abs(a)) for a in y))
    return out


def memory_worker(args) -> dict:
    """Import the generated modules (no transform in this process) and measure each one's
    peak memory per call."""
    program = GENERATORS[args.family](args.depth)
    x, w, v = points(program, args.batch)
    traced = args.depth <= args.traced_max_depth or not _reset_peak_rss()
    functions = json.loads(args.functions)
    out = dict(runs={})
    for key, name in sorted(functions.items()):
        mode, memory = key.split("/")
        path = module_file(args.workdir, mode, memory)
        spec = importlib.util.spec_from_file_location(f"_s2s_memory_{mode}_{memory}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        call = generated_call(getattr(module, name), mode, x, w, v)
        call()                                           # warm up
        run = dict(rss=peak_rss(call), traced=peak_traced(call) if traced else None)
        out["runs"][key] = run
        log(f"    {program.family} depth {args.depth} {key}: peak {fmt_mb(peak(run))} MB "
            "(generated module, fresh process)")
        del module, call
        gc.collect()
    return out


def time_worker(args) -> dict:
    """Time the API calls (transform and warm-up first, outside the timing)."""
    import s2s_invad as si

    program = GENERATORS[args.family](args.depth)
    f = families.load(program, args.workdir)
    x, w, v = points(program, args.batch)
    out = dict(runs={}, package=package_fingerprint())
    for key in json.loads(args.functions):
        mode, memory = key.split("/")
        call = make_call(si, f, mode, memory, x, w, v)
        t0 = time.perf_counter()
        call()
        first = time.perf_counter() - t0
        out["runs"][key] = dict(first_s=first, time_s=median_time(call, args.repeats))
        log(f"    {program.family} depth {args.depth} {key}: first call {first:.1f} s, "
            f"time {out['runs'][key]['time_s']:.3f} s")
    return out


WORKERS = {"transform": transform_worker, "memory": memory_worker, "time": time_worker}


# --------------------------------------------------------------------------- driving

def run_worker(family: str, depth: int, args, skip: set) -> dict:
    """Run the transform worker, a memory worker per generated function, and the time
    worker, each in a fresh process; merge their results.

    They share a work folder: the program's module, and the generated modules (with their
    bytecode) the transform worker saved. The memory worker runs with glibc's mmap threshold below the
    size of one array (MALLOC_MMAP_THRESHOLD_), so the resident size follows the live
    arrays; the others run with the default allocator.
    """
    workdir = tempfile.mkdtemp(prefix="s2s_invad_memory_", dir=args.keep)
    results = {}
    try:
        functions = {}
        def run(part, functions):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", part, "--family", family,
                   "--depths", str(depth), "--batch", str(args.batch), "--repeats", str(args.repeats),
                   "--drift-points", str(args.drift_points), "--workdir", workdir,
                   "--functions", json.dumps(functions),
                   "--traced-max-depth", str(args.traced_max_depth), "--skip-store", ",".join(sorted(skip))]
            env = dict(os.environ)
            if part == "memory":
                env["MALLOC_MMAP_THRESHOLD_"] = str(mmap_threshold(args.batch))
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            if proc.returncode != 0:
                raise SystemExit(f"{part} worker for {family} depth {depth} failed (exit {proc.returncode})")
            return json.loads(proc.stdout.strip().splitlines()[-1])

        results["transform"] = run("transform", {})
        functions = results["transform"]["functions"]
        results["memory"] = {"runs": {}}
        for key, name in sorted(functions.items()):      # one process per generated function
            results["memory"]["runs"].update(run("memory", {key: name})["runs"])
        results["time"] = run("time", functions)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    merged = results["transform"]
    merged["runs"] = {f"{mode}/{memory}": None for mode in MODES for memory in MEMORIES}
    for key, run in results["memory"]["runs"].items():
        run.update(results["time"]["runs"][key])
        merged["runs"][key] = run
    merged["packages"] = sorted({results[part]["package"] for part in ("transform", "time")})
    return merged


def mmap_threshold(batch: int) -> int:
    """Half an array's buffer, at least 16 KiB (smaller arrays stay on the heap)."""
    return max(16 * 1024, 4 * batch)


def peak(run):
    """The peak memory of a run: RSS where Linux lets us measure it, else tracemalloc."""
    if run is None:
        return None
    return run["rss"] if run["rss"] is not None else run["traced"]


def extrapolated_store(results: list[dict], mode: str, depth: int):
    """Stored peak at ``depth`` extrapolated linearly from the largest depth measured."""
    measured = [r for r in results if peak(r["runs"].get(f"{mode}/store"))]
    if not measured:
        return None
    last = max(measured, key=lambda r: r["depth"])
    return peak(last["runs"][f"{mode}/store"]) * depth / last["depth"]


def fmt_mb(value, estimate=False) -> str:
    if value is None:
        return "-"
    text = f"{value / MB:,.1f}" if value < 1e10 else f"{value / MB:,.0f}"
    return f"({text})" if estimate else text


def fmt_ratio(num, den, estimate=False) -> str:
    if not num or not den:
        return "-"
    return f"({num / den:,.0f}x)" if estimate else f"{num / den:,.0f}x"


def family_table(results: list[dict]) -> list[str]:
    rows = ["| depth | mode | peak store (MB) | peak recompute (MB) | ratio | live arrays | here recompute (MB) | "
            "traced store (MB) | traced recompute (MB) | time store (s) | time recompute (s) | "
            "time ratio | agree | drift |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for mode in MODES:
            store, rec = r["runs"][f"{mode}/store"], r["runs"][f"{mode}/recompute"]
            if store is None:
                peak_store = fmt_mb(r["extrapolated"][mode], estimate=True)
                memory_ratio = fmt_ratio(r["extrapolated"][mode], peak(rec), estimate=True)
                traced_store = time_store = time_ratio = "-"
            else:
                peak_store = fmt_mb(peak(store))
                memory_ratio = fmt_ratio(peak(store), peak(rec))
                traced_store = fmt_mb(store["traced"])
                time_store = f"{store['time_s']:.3f}"
                time_ratio = f"{rec['time_s'] / store['time_s']:.2f}"
            rows.append(f"| {r['depth']:,} | {mode} | {peak_store} | {fmt_mb(peak(rec))} | "
                        f"{memory_ratio} | {r['live'].get(mode, '-')} | "
                        f"{fmt_mb(r['in_process'].get(mode))} | {traced_store} | "
                        f"{fmt_mb(rec['traced'])} | {time_store} | "
                        f"{rec['time_s']:.3f} | {time_ratio} | {r['agree'][mode]:.1e} | "
                        f"{r['drift']:.1e} |")
    return rows


def targets(name: str, results: list[dict]) -> list[tuple]:
    """(family, mode, target, value, met) rows; met is None for information only."""
    out = []
    largest = max(r["depth"] for r in results)
    span = [r for r in results if r["depth"] >= FLAT_FROM]
    for mode in MODES:
        peaks = [peak(r["runs"][f"{mode}/recompute"]) for r in span]
        if len(span) >= 2 and not min(peaks):
            out.append((name, mode, "recompute peak flat", "a peak of 0 MB: the batch is too "
                        "small to measure", None))
        elif len(span) >= 2:
            spread = max(peaks) / min(peaks) - 1
            lo = min(r["depth"] for r in span)
            out.append((name, mode, f"recompute peak flat within {FLAT_TOLERANCE:.0%}, depth "
                        f"{lo:,} to {largest:,}",
                        f"{spread:+.1%} (max/min - 1; {fmt_mb(min(peaks))} to {fmt_mb(max(peaks))} MB)",
                        spread <= FLAT_TOLERANCE))
            live = [r["live"].get(mode) for r in span]
            if all(live):
                out.append((name, mode, "(information) arrays one recompute call keeps alive",
                            f"{min(live)} to {max(live)} (generated source, depth {lo:,} to "
                            f"{largest:,})", None))
            here = [r["in_process"].get(mode) for r in span]
            if all(here):
                out.append((name, mode, "(information) the same measured in the transforming "
                            "process", f"{max(here) / min(here) - 1:+.1%} ({fmt_mb(min(here))} to "
                            f"{fmt_mb(max(here))} MB): heap pages left free by the transform", None))
        else:
            out.append((name, mode, f"recompute peak flat from depth {FLAT_FROM:,}",
                        "needs two depths >= 1,000", None))
        ratios = [(r["runs"][f"{mode}/recompute"]["time_s"] / r["runs"][f"{mode}/store"]["time_s"],
                   r["depth"]) for r in results if r["runs"][f"{mode}/store"]]
        if ratios:
            worst, at = max(ratios)
            out.append((name, mode, f"recompute time <= {TIME_TARGET:g}x stored",
                        f"max {worst:.2f}x (depth {at:,}; {len(ratios)} depths)", worst <= TIME_TARGET))
    return out


def plot(all_results: dict, path: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return False
    names = list(all_results)
    fig, axes = plt.subplots(1, len(names), figsize=(6.2 * len(names), 4.6), squeeze=False)
    styles = {("vjp", "store"): ("C0", "o", "-"), ("vjp", "recompute"): ("C0", "s", "--"),
              ("ijvp", "store"): ("C3", "o", "-"), ("ijvp", "recompute"): ("C3", "s", "--")}
    for ax, name in zip(axes[0], names):
        results = all_results[name]
        for (mode, memory), (color, marker, line) in styles.items():
            pts = [(r["depth"], peak(r["runs"][f"{mode}/{memory}"]) / MB)
                   for r in results if peak(r["runs"][f"{mode}/{memory}"])]
            if pts:
                ax.plot(*zip(*pts), color=color, marker=marker, linestyle=line,
                        label=f"{mode}, {memory}")
            if memory == "store":
                est = [(r["depth"], r["extrapolated"][mode] / MB)
                       for r in results if r["runs"][f"{mode}/store"] is None]
                if est and pts:
                    ax.plot([pts[-1][0]] + [d for d, _ in est], [pts[-1][1]] + [m for _, m in est],
                            color=color, linestyle=":", marker="o", markerfacecolor="none",
                            label=f"{mode}, store (extrapolated, not run)")
        first = results[0]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("depth (program statements)")
        ax.set_ylabel("peak memory of one call (MB, RSS)")
        ax.set_title(f"{name}: n = {first['n']}, batch {first['batch']:,}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def package_fingerprint() -> str:
    """A hash of the package's source files, to tell whether they changed during a run."""
    digest = hashlib.sha256()
    folder = os.path.join(ROOT, "s2s_invad")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as fh:
                digest.update(name.encode() + b"\0" + fh.read())
    return digest.hexdigest()[:12]


def describe_machine() -> str:
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, text=True,
                               capture_output=True).stdout.strip()
        rev = (rev + (" + uncommitted changes" if dirty else "")) if rev else "?"
    except OSError:
        rev = "?"
    mem = f"{total / 2**30:.0f} GiB RAM" if total else "RAM ?"
    return (f"Python {platform.python_version()}, NumPy {np.__version__}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, {mem}; git {rev}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"depths {', '.join(map(str, QUICK_DEPTHS))}, 2 repeats, traced up to 100")
    ap.add_argument("--depths", default=None, help="comma-separated depths (program steps)")
    ap.add_argument("--family", choices=FAMILIES + ("both",), default="both")
    ap.add_argument("--batch", type=int, default=10_000, help="points per argument (10,000)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per variant (3; quick 2)")
    ap.add_argument("--stored-budget-gb", type=float, default=4.0,
                    help="skip a stored run whose extrapolated peak exceeds this (4 GB)")
    ap.add_argument("--drift-points", type=int, default=256,
                    help="points of the batch for the drift report and the agreement check")
    ap.add_argument("--traced-max-depth", type=int, default=None,
                    help="also measure the tracemalloc peak up to this depth (300; quick 100); "
                         "it costs time quadratic in depth")
    ap.add_argument("--out", default=RESULTS, help="folder for memory.md and memory.png")
    ap.add_argument("--keep", metavar="DIR", help="keep the work folders (program and generated modules) in DIR")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is NOT met")
    ap.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--functions", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--skip-store", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    if args.traced_max_depth is None:
        args.traced_max_depth = 100 if args.quick else 300
    depths = ([int(d.replace("_", "")) for d in args.depths.split(",")] if args.depths
              else list(QUICK_DEPTHS if args.quick else FULL_DEPTHS))
    if args.worker:
        args.depth = depths[0]
        print(json.dumps(WORKERS[args.worker](args)))
        return 0
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)

    names = FAMILIES if args.family == "both" else (args.family,)
    budget = args.stored_budget_gb * 1e9
    all_results: dict[str, list[dict]] = {}
    started = time.perf_counter()
    fingerprint = package_fingerprint()
    head = describe_machine()
    for name in names:
        results: list[dict] = []
        for depth in sorted(depths):
            extrapolated = {mode: extrapolated_store(results, mode, depth) for mode in MODES}
            skip = {mode for mode in MODES if extrapolated[mode] and extrapolated[mode] > budget}
            log(f"{name} depth {depth:,}" + (f" (stored {', '.join(sorted(skip))} skipped: "
                                             "over the memory budget)" if skip else ""))
            t0 = time.perf_counter()
            result = run_worker(name, depth, args, skip)
            result["extrapolated"] = extrapolated
            result["wall_s"] = time.perf_counter() - t0
            results.append(result)
            log(f"  done in {result['wall_s']:.0f} s")
        all_results[name] = results
    total = time.perf_counter() - started

    lines = ["# Memory: memory=\"store\" versus memory=\"recompute\"", "",
             f"`{' '.join(['python benchmarks/memory.py'] + list(sys.argv[1:] if argv is None else argv))}`; "
             f"{head}; package source hash {fingerprint}.", "",
             f"Batch {args.batch:,} points per argument ({8 * args.batch / 1e3:,.0f} kB per value); "
             f"time = median of {args.repeats} calls after a warm-up call that compiles; "
             "vjp = forward + pullback. Peak = peak resident set size during one call of the "
             "generated function, in a fresh process that imports the generated module, minus "
             "the resident size before it (MB = 10^6 bytes; glibc mmap threshold "
             f"{mmap_threshold(args.batch):,} bytes, so arrays are mapped one by one); "
             "live arrays = the most names bound at once in a recompute function (read from "
             "the generated source: parameters + assignments - dels), an allocator-independent "
             "count of the arrays one call keeps alive; "
             "here = the recompute peak through the API in the process that ran the "
             "transform (information); traced = tracemalloc peak of one call "
             f"(measured up to depth {args.traced_max_depth:,} only: its cost is quadratic in depth). "
             "A stored peak in parentheses is extrapolated linearly from the largest stored run: "
             f"it was not run (budget {args.stored_budget_gb:g} GB). agree = max relative "
             "difference store vs recompute, and drift = si.drift(f, x).max, both on the first "
             f"{args.drift_points} points.", ""]
    for name in names:
        results = all_results[name]
        title = (coupling_network(1) if name == "coupling" else leapfrog(8)).title
        lines += [f"## {title}", ""]
        lines += ["Depth = program statements, each a k = 1 update. "
                  + "; ".join(f"{r['depth']:,}: "
                              + (f"{r['steps']:,} leapfrog steps, " if name == "leapfrog" else "")
                              + f"{r['ssa']:,} SSA statements, {r['lumps']:,} lumps "
                              f"({r['checkpointed']} checkpointed), max|f(x)| {r['max_abs_y']:.3g}"
                              for r in results) + ".", ""]
        lines += family_table(results)
        lines += [""]
    rows = [t for name in names for t in targets(name, all_results[name])]
    lines += ["## Targets", "", "| family | mode | target | value | met |", "|---|---|---|---|---|"]
    for name, mode, what, value, met in rows:
        mark = "-" if met is None else ("met" if met else "**NOT met**")
        lines.append(f"| {name} | {mode} | {what} | {value} | {mark} |")
    lines += ["", "Peaks are measured in a fresh process that imports the generated modules "
              "and never runs the transform. The information rows give the recompute peak "
              "measured through the API in the process that ran the transform: there malloc "
              "serves arrays from the free chunks the transform left in the heap, and the "
              "high-water mark of a long call counts every heap page its arrays passed "
              "through (see the module docstring of benchmarks/memory.py)."]
    seen = sorted({fp for name in names for r in all_results[name] for fp in r["packages"]}
                  | {fingerprint, package_fingerprint()})
    if len(seen) > 1:
        which = "; ".join(f"{name} {r['depth']:,}: {'/'.join(r['packages'])}"
                          for name in names for r in all_results[name])
        lines += ["", f"**Warning**: the package's source changed during the run (hashes "
                  f"{', '.join(seen)}; at the start {fingerprint}, at the end "
                  f"{package_fingerprint()}). Rows by hash: {which}."]
        log("warning: the package's source changed during the run")
    largest = max(depths)
    if largest < 10_000:
        lines += ["", f"Depths only up to {largest:,}: the flatness target asks for 1,000 to 10,000."]
    lines += ["", f"Total wall time {total / 60:.1f} min (transforms included: "
              + "; ".join(f"{name} depth {r['depth']:,}: {r['wall_s']:.0f} s"
                          for name in names for r in all_results[name][-1:]) + ")."]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "memory.md"), "w", encoding="utf-8") as fh:
        fh.write(text)
    png = os.path.join(args.out, "memory.png")
    if plot(all_results, png):
        log(f"wrote {os.path.relpath(os.path.join(args.out, 'memory.md'))} and {os.path.relpath(png)}")
    else:
        log(f"wrote {os.path.relpath(os.path.join(args.out, 'memory.md'))} (no matplotlib: no plot)")
    failed = any(met is False for *_, met in rows)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
