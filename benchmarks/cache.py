"""Benchmark of the cache of generated modules: a new process's first call of a mode.

    python benchmarks/cache.py                    # a 2,000-statement function, 5 runs each
    python benchmarks/cache.py --statements 10000 --modes jvp,vjp,ijvp
    python benchmarks/cache.py --pythonpath OTHER # the same children against another checkout

The function is a chain of coupling steps (``x = x + c*sin(y)``, ``y = y*exp(c*tanh(x))``),
written to a temporary folder. Each measurement is a fresh Python process that imports
s2s_invad and the function, then times its first call of the mode (transform or cache
load, compile or bytecode load, and the call itself):

* ``off``: ``S2S_INVAD_CACHE=off``, so every process transforms (what each process did
  before the cache existed);
* ``cold``: an empty cache folder: the transform runs and the entry is written;
* ``warm``: a second process on the same, unchanged function: the entry is loaded.

Prints a markdown table (least and median of the runs, seconds) and writes it to
benchmarks/results/cache.md. The machine is shared, so times move between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "cache.md")

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import s2s_invad as si
t1 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import chain
mode, x, v = sys.argv[2], (0.3, 0.7), (1.0, 0.5)
t2 = time.perf_counter()
if mode == "jvp":
    si.jvp(chain.chain, x, v)
elif mode == "ijvp":
    si.ijvp(chain.chain, x, v)
else:
    getattr(si, mode)(chain.chain, *x)[1](v)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_call": t3 - t2, "package": si.__file__}))
"""


def chain_source(statements: int) -> str:
    lines = ["import math", "", "", "def chain(x, y):"]
    for i in range(statements // 2):
        lines.append(f"    x = x + math.sin(y) * {0.3 + (i % 7) * 0.01!r}")
        lines.append(f"    y = y * math.exp({0.01 + (i % 5) * 0.002!r} * math.tanh(x))")
    lines.append("    return x, y")
    return "\n".join(lines) + "\n"


def child(folder: str, mode: str, cache_setting: str, pythonpath: str | None) -> dict:
    env = dict(os.environ, S2S_INVAD_CACHE=cache_setting)
    env.pop("S2S_INVAD_DUMP", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, "-c", CHILD, folder, mode], capture_output=True, text=True,
                          env=env, cwd=folder, timeout=600)     # not this checkout's folder: -c puts cwd first
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--modes", default="jvp")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pythonpath", help="run the children against this checkout instead")
    parser.add_argument("--out", default=None if "--pythonpath" in (argv or sys.argv) else RESULTS,
                        help="where to write the table (default: benchmarks/results/cache.md)")
    args = parser.parse_args(argv)
    rows, package = [], None
    with tempfile.TemporaryDirectory(prefix="s2s_invad-cache-bench-") as work:
        with open(os.path.join(work, "chain.py"), "w") as handle:
            handle.write(chain_source(args.statements))
        for mode in args.modes.split(","):
            times = {"off": [], "cold": [], "warm": []}
            imports = []
            for run in range(args.runs):
                folder = os.path.join(work, f"cache-{mode}-{run}")
                for which, setting in (("off", "off"), ("cold", folder), ("warm", folder)):
                    got = child(work, mode, setting, args.pythonpath)
                    times[which].append(got["first_call"])
                    imports.append(got["import"])
                    package = got["package"]
            rows.append((mode, {k: (min(v), statistics.median(v)) for k, v in times.items()},
                         statistics.median(imports)))
    lines = [f"# A new process's first call of a mode ({args.statements:,} source statements)", "",
             f"package: `{os.path.relpath(package, ROOT) if package.startswith(ROOT) else package}`; "
             f"{args.runs} runs; seconds, least / median; `import s2s_invad` takes about "
             f"{statistics.median(r[2] for r in rows):.2f} s before any of this.", "",
             "| mode | cache off (transform) | cold (transform + write) | warm (second process) | off / warm |",
             "|---|---|---|---|---|"]
    for mode, t, _ in rows:
        cells = [f"{t[k][0]:.3f} / {t[k][1]:.3f}" for k in ("off", "cold", "warm")]
        lines.append(f"| {mode} | " + " | ".join(cells) + f" | {t['off'][1] / t['warm'][1]:.0f}x |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
