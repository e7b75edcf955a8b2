"""The fuzz target on demand: random programs against their own oracle, counts per class.

    python benchmarks/fuzz.py --programs 10000           # seeds 0 .. 9999, about 10 minutes
    python benchmarks/fuzz.py --seed 4242 --programs 1 --failures 5   # one program, in detail

Each program (tests/fuzz_gen.py) is run in jvp, vjp, ijvp, ivjp and slogdet, vjp and ijvp
also with memory="recompute", at its base point and, for NumPy programs, on a batch of
points; every run is classified by tests/fuzz_run.py (see its docstring for the classes and
the tolerance). Seeds are deterministic, so a count is reproducible and a failure can be
rerun alone. The generated modules are compiled in a temporary folder removed at the end.
Prints a markdown table (and writes it with --out); exits 1 if any run is not correct.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)   # the working tree's package, and the fuzz modules

import fuzz_gen  # noqa: E402
import fuzz_run  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=10_000, help="how many programs (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--failures", type=int, default=20, help="how many failing runs to list")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--show", action="store_true", help="print each program's source (with --programs small)")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="s2s_invad-fuzz-")
    tempfile.tempdir = folder                      # where the API compiles generated modules
    start = time.perf_counter()
    try:
        counts, failures = fuzz_run.run(range(args.seed, args.seed + args.programs))
    finally:
        tempfile.tempdir = None
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - start
    if args.show:
        for seed in range(args.seed, args.seed + args.programs):
            print(fuzz_gen.generate(seed).source)
    lines = [f"## Fuzz: seeds {args.seed} to {args.seed + args.programs - 1}", "",
             fuzz_run.table(counts), "",
             f"{seconds:.0f} s ({1000 * seconds / max(args.programs, 1):.0f} ms a program), "
             f"Python {sys.version.split()[0]}"]
    if failures:
        lines += ["", f"First {min(args.failures, len(failures))} of {len(failures)} failing runs "
                  "(seed, mode, memory, point or batch, class, what the tool did):", ""]
        lines += [f"    {f}" for f in failures[:args.failures]]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
