"""Transform time per stage and peak memory against program size (issue 14, part 2).

Run from the repository root::

    python benchmarks/transform.py                      # 10^3, 10^4, 10^5 primitives
    python benchmarks/transform.py --sizes 1e3,1e4,1e5,3e5,1e6
    python benchmarks/transform.py --sizes 1e5 --profile /tmp/transform.prof

The program is the equasive chain of ``families.py`` (64 scalars, statements of the form
``x_i = x_i + c*g(x_j)``, about 3.5 primitives each), sized so that its SSA form has the
number of primitives asked for. Each size runs in fresh worker processes (one process per
size for the times, one for the tracemalloc peak), and in each the whole transform runs
once, as ``s2s-invad gen`` of all four modes and then the API's compile do:

    analyse (read, evaluate, activity, schedule, graph, lumps)
    -> generate jvp, vjp, ijvp, ivjp into one module -> compile the module

The stages are timed through :mod:`s2s_invad.progress` (the hooks the CLI's progress
display uses), with the garbage collector as the package leaves it (paused during the
analysis and the generation). Columns:

- primitives: statements of the SSA program (``len(program.body)``);
- one column per stage, seconds; ``rest`` is the part of the generation outside the four
  modes (the module's names, the result checks, assembly); ``total`` is the wall time of
  the whole sequence; ``us/prim`` is total / primitives;
- ``lines``: lines of the generated module;
- ``peak RSS``: the peak resident set size of the worker during the transform minus its size
  before it (Linux ``/proc/self/clear_refs``), per primitive;
- ``traced``: the tracemalloc peak during the transform, per primitive, in a second worker
  (tracemalloc slows the transform about 2x; sizes above ``--trace-max`` are skipped).

Targets (issue 14): the four modes + compile of a 100,000-primitive program in under 5 s,
under 1 KB of memory per primitive, near-linear growth (us/prim about flat) to 10^6.
Writes ``results/transform.md``. Timings are wall clock on whatever machine runs this;
on a loaded machine run it twice.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

MODES = ("jvp", "vjp", "ijvp", "ivjp")
FRONT = ("read", "evaluate", "activity", "schedule", "graph", "lumps")
PRIMS_PER_STATEMENT = 3.5        # the chain's statements average ~3.5 SSA primitives
TARGET_SECONDS_1E5 = 5.0
TARGET_BYTES = 1024


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def worker(primitives: int, trace: bool, profile: str | None, directory: str) -> dict:
    """One transform of the chain of about ``primitives`` primitives; figures as a dict."""
    import families
    from s2s_invad import pipeline, progress
    from s2s_invad.back.compile import compile_module

    statements = max(1, round(primitives / PRIMS_PER_STATEMENT))
    program = families.equasive_chain(64, statements)
    f = families.load(program, directory)
    timings = progress.Timings()
    if trace:
        import tracemalloc
        tracemalloc.start()
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    base = _rss_bytes()
    has_peak = _reset_peak()
    t0 = time.perf_counter()
    with progress.listening(timings):
        if profiler:
            profiler.enable()
        analysis = pipeline.analyse(f)
        t1 = time.perf_counter()
        text = pipeline.generate(analysis, MODES)
        t2 = time.perf_counter()
        code = compile_module(text, f"<{program.module_name}_derivs>")
        if profiler:
            profiler.disable()
    total = time.perf_counter() - t0
    out = {"primitives": len(analysis.program.body), "statements": statements,
           "total": total, "front": t1 - t0, "generate": t2 - t1,
           "lines": text.count("\n"), "chars": len(text)}
    out.update(timings.seconds)
    out["rest"] = out["generate"] - sum(timings.seconds.get(m, 0.0) for m in MODES)
    peak = _peak_rss_bytes() if has_peak else None
    out["peak_rss"] = None if peak is None else peak - base
    if trace:
        import tracemalloc
        out["traced"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if profiler:
        profiler.dump_stats(profile)
    del code
    return out


def _run_worker(primitives: int, trace: bool, profile: str | None, directory: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(primitives), "--dir", directory]
    if trace:
        cmd.append("--trace")
    if profile:
        cmd += ["--profile", profile]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"worker for {primitives} primitives failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _size(text: str) -> int:
    return int(float(text))


def _cell(value, digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict]) -> list[str]:
    stages = list(FRONT) + list(MODES) + ["rest", "compile"]
    head = ["primitives"] + stages + ["total", "us/prim", "lines", "peak RSS B/prim", "traced B/prim"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        p = r["primitives"]
        cells = [f"{p:,}"] + [_cell(r.get(s, 0.0)) for s in stages]
        cells += [_cell(r["total"]), f"{r['total'] / p * 1e6:.0f}", f"{r['lines']:,}",
                  "-" if r.get("peak_rss") is None else f"{r['peak_rss'] / p:.0f}",
                  "-" if r.get("traced") is None else f"{r['traced'] / p:.0f}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def targets(rows: list[dict]) -> list[str]:
    out = []
    near = [r for r in rows if 0.5e5 <= r["primitives"] <= 2e5]
    if near:
        r = min(near, key=lambda r: abs(r["primitives"] - 1e5))
        scaled = r["total"] * 1e5 / r["primitives"]
        out.append(f"- four modes + compile at 10^5 primitives (scaled from {r['primitives']:,}): "
                   f"{scaled:.1f} s, target < {TARGET_SECONDS_1E5:.0f} s: "
                   + ("met" if scaled < TARGET_SECONDS_1E5 else "NOT met"))
    mem = [r for r in rows if r.get("traced") or r.get("peak_rss")]
    if mem:
        r = max(mem, key=lambda r: r["primitives"])
        per = (r.get("traced") or r["peak_rss"]) / r["primitives"]
        what = "traced" if r.get("traced") else "peak RSS"
        out.append(f"- memory at {r['primitives']:,} primitives ({what}): {per:.0f} B per primitive, "
                   f"target < {TARGET_BYTES} B: " + ("met" if per < TARGET_BYTES else "NOT met"))
    if len(rows) >= 2:
        lo, hi = rows[0], rows[-1]
        ratio = (hi["total"] / hi["primitives"]) / (lo["total"] / lo["primitives"])
        big = [r for r in rows if r["primitives"] >= 1e4]
        if len(big) >= 2:
            ratio = (big[-1]["total"] / big[-1]["primitives"]) / (big[0]["total"] / big[0]["primitives"])
            lo = big[0]
        out.append(f"- growth: time per primitive at {hi['primitives']:,} is {ratio:.2f}x that at "
                   f"{lo['primitives']:,} (near-linear: about 1)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e3,1e4,1e5",
                        help="comma-separated primitive counts (default 1e3,1e4,1e5)")
    parser.add_argument("--trace-max", type=_size, default=100_000,
                        help="largest size also measured under tracemalloc (default 1e5)")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the largest size's transform into FILE")
    parser.add_argument("--no-write", action="store_true", help="print only; keep results/transform.md")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.trace, args.profile, args.dir)))
        return 0
    sizes = [_size(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            profile = args.profile if size == max(sizes) else None
            row = _run_worker(size, False, profile, directory)
            if size <= args.trace_max:
                row["traced"] = _run_worker(size, True, None, directory)["traced"]
            rows.append(row)
            print(f"{row['primitives']:>9,} primitives: {row['total']:.2f} s", file=sys.stderr, flush=True)
    lines = ["# Transform time and memory against program size", "",
             f"`python benchmarks/transform.py --sizes {args.sizes}` on {time.strftime('%Y-%m-%d')}, "
             f"Python {sys.version.split()[0]}, {os.cpu_count()} cores. Seconds per stage of one transform "
             "(analysis, the four modes into one module, compile), one fresh process per size.", ""]
    lines += table(rows) + ["", "Targets:", ""] + targets(rows)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        with open(os.path.join(HERE, "results", "transform.md"), "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
