"""Random programs in the natural input language, many at once: counts of what was checked.

    python benchmarks/natural_fuzz.py --programs 2000          # seeds 0 .. 1999
    python benchmarks/natural_fuzz.py --seed 73 --programs 1 --show

Each program (tests/natural_gen.py: vectors, lists, helpers, branches on loop indices,
loops kept as loops and unrolled) is checked by tests/natural_run.py against the oracle
run on the user's own function: every mode and slogdet, memory="recompute" (loops
kept as loops included), a batch of points and unroll=True. Prints a
markdown table; exits 1 if any program fails (the first failures are listed with their seeds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("S2S_INVAD_CACHE", "off")      # thousands of one-off modules: keep none

import natural_gen  # noqa: E402
import natural_run  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--failures", type=int, default=10, help="how many failures to print")
    parser.add_argument("--show", action="store_true", help="print each program's source")
    args = parser.parse_args(argv)
    seeds = range(args.seed, args.seed + args.programs)
    if args.show:
        for seed in seeds:
            print(natural_gen.generate(natural_gen.random_spec(seed)).source)
    start = time.perf_counter()
    counts, failures = natural_run.run(seeds)
    seconds = time.perf_counter() - start
    rows = [("programs", counts["programs"]), ("with loops kept as loops", counts["with loops kept as loops"])]
    rows += [(k, v) for k, v in sorted(counts.items()) if k not in ("programs", "with loops kept as loops", "failed")]
    rows.append(("failed", counts["failed"]))
    width = max(len(r[0]) for r in rows)
    print(f"## Natural programs: seeds {seeds.start} to {seeds.stop - 1}\n")
    print(f"| {'what':<{width}} | {'count':>7} |\n|{'-' * (width + 2)}|{'-' * 9}|")
    for name, count in rows:
        print(f"| {name:<{width}} | {count:>7} |")
    print(f"\n{seconds:.0f} s ({1000 * seconds / max(args.programs, 1):.0f} ms a program)")
    for seed, message in failures[:args.failures]:
        print(f"\nseed {seed}: {message[:2000]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
