"""Benchmark of the scheduler (s2s_invad/schedule.py): lump sizes and scheduling time.

    python benchmarks/schedule.py            # sizes up to 100,000 statements
    python benchmarks/schedule.py --quick    # sizes up to 10,000 (smoke run)

Five program families, generated here as source text in which every value has its own
name (``x3_7`` is version 7 of x3), so that any topological order of the lines is valid
Python; the source order written is a random topological order of the lines ("shuffled"),
the *generation order* is the order they were generated in:

- chain: coupling steps ``x_i = x_i + c*sin(x_j)``, ``x_i = x_i*exp(c*tanh(x_j))``,
  ``x_i = a*x_i + c*atan(x_j)``: k = 1 everywhere in generation order;
- euler: explicit Euler steps of x' = tanh(W x) in scalar code (``s_k = w_k0*x0 + ...``,
  then ``x_k = x_k + h*tanh(s_k)``): every step needs a lump with k = n, in any order;
- pde: odd-even sweeps of pairwise flux exchanges of a finite-volume 1-D diffusion with a
  tanh nonlinearity (``f = c (tanh u_{i+1} - tanh u_i); u_i += f; u_{i+1} -= f``, banded):
  each exchange is a lump with k = 2, and the exchanges of a half-sweep are independent;
- jacobi: explicit steps of the stencil u_i += c (tanh u_{i-1} - 2 tanh u_i + tanh u_{i+1})
  with old neighbours (banded): every step needs a lump with k = n, in any order (and
  one lump may span several steps, which lowers the sum of k^3);
- random: equasive steps mixed with lumps of 2 or 3 registers through a shared temporary
  (``t = tanh(a x_i + b x_j); x_i += c t; x_j -= d t``): k <= 3 in generation order.

Table 1: largest k and sum of k^3 for the source order, the generation order (an upper
bound on the optimum), the scheduler and (at small sizes, up to 50,000 orders) the
brute-force optimum over all topological orders, all scored with graph.build_graph and
lumps.lumpify. Table 2: time of schedule(program) (least of REPEATS runs, garbage
collector paused as in pipeline.analyse) against the number of SSA statements,
with the exponent of a least-squares fit of log(time) against log(size), over all sizes
and between the two largest. The tables are
printed and written to benchmarks/results/schedule.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from s2s_invad.front import loader  # noqa: E402
from s2s_invad.back.compile import gc_paused  # noqa: E402
from s2s_invad.errors import NotInvertibleError  # noqa: E402
from s2s_invad.analysis.graph import build_graph  # noqa: E402
from s2s_invad.analysis.lumps import check_invertible, lumpify  # noqa: E402
from s2s_invad.pipeline import analyse  # noqa: E402
from s2s_invad.analysis.schedule import schedule  # noqa: E402

NAME = re.compile(r"\b([a-z]\w*)\b")
REPEATS = 3


# --------------------------------------------------------------------------- generators

def shuffled(lines, rng):
    """The lines in a random topological order (each name still defined before use)."""
    defined = {line.split(" = ")[0]: k for k, line in enumerate(lines)}
    users = [[] for _ in lines]
    waiting = [0] * len(lines)
    for k, line in enumerate(lines):
        deps = {defined[w] for w in NAME.findall(line.split(" = ", 1)[1]) if w in defined}
        waiting[k] = len(deps)
        for d in deps:
            users[d].append(k)
    ready = [k for k in range(len(lines)) if not waiting[k]]
    out = []
    while ready:                                # (a cycle would drop lines: checked below)
        j = rng.randrange(len(ready))
        ready[j], ready[-1] = ready[-1], ready[j]
        k = ready.pop()
        out.append(lines[k])
        for u in users[k]:
            waiting[u] -= 1
            if not waiting[u]:
                ready.append(u)
    assert len(out) == len(lines), "the lines read a name before it is defined"
    return out


class Registers:
    """Current SSA name of each register."""

    def __init__(self, n, base="x"):
        self.base = base
        self.cur = [f"{base}{i}" for i in range(n)]
        self.version = [0] * n

    def new(self, i):
        self.version[i] += 1
        self.cur[i] = f"{self.base}{i}_{self.version[i]}"
        return self.cur[i]


def module(name, params, lines, outputs):
    return "\n".join(["import math", "", "", f"def {name}({', '.join(params)}):"]
                     + [f"    {line}" for line in lines]
                     + [f"    return {', '.join(outputs)}", ""])


def chain(statements, seed, shuffle=True):
    """Coupling chain: about 3 SSA statements per line."""
    rng = random.Random(seed)
    n = min(64, max(2, statements // 12))
    regs, lines = Registers(n), []
    for _ in range(max(1, round(statements / 3.3))):
        i = rng.randrange(n)
        j = rng.choice([r for r in range(n) if r != i])
        x, y = regs.cur[i], regs.cur[j]
        c = round(rng.uniform(-0.4, 0.4), 3) or 0.1
        form = rng.randrange(3)
        rhs = (f"{x} + {c!r} * math.sin({y})" if form == 0 else
               f"{x} * math.exp({c!r} * math.tanh({y}))" if form == 1 else
               f"{round(rng.uniform(0.8, 1.2), 3)!r} * {x} + {c!r} * math.atan({y})")
        lines.append(f"{regs.new(i)} = {rhs}")
    return [f"x{i}" for i in range(n)], shuffled(lines, rng) if shuffle else lines, regs.cur


def euler(statements, seed, shuffle=True):
    """Euler steps of x' = tanh(W x), n = 4 (n = 2 for tiny sizes): 2n lines and
    2n^2 + 2n SSA statements a step."""
    rng = random.Random(seed)
    n = 2 if statements < 100 else 4
    W = [[round(rng.gauss(0, 0.3 / math.sqrt(n)), 4) for _ in range(n)] for _ in range(n)]
    regs, lines = Registers(n), []
    for step in range(max(1, round(statements / (2 * n * n + 2 * n)))):
        sums = []
        for k in range(n):
            s = f"s{k}_{step}"
            lines.append(f"{s} = " + " + ".join(f"{W[k][l]!r} * {regs.cur[l]}" for l in range(n)))
            sums.append(s)
        for k in range(n):
            x = regs.cur[k]
            lines.append(f"{regs.new(k)} = {x} + 0.01 * math.tanh({sums[k]})")
    return [f"x{i}" for i in range(n)], shuffled(lines, rng) if shuffle else lines, regs.cur


def _stencil(regs, old, i, n):
    """``u_i = u_i + 0.1 (tanh u_{i-1} - 2 tanh u_i + tanh u_{i+1})`` reading ``old`` names."""
    left = f"math.tanh({old[i - 1]})" if i > 0 else "0.0"
    right = f"math.tanh({old[i + 1]})" if i + 1 < n else "0.0"
    rhs = f"{old[i]} + 0.1 * ({left} - 2.0 * math.tanh({old[i]}) + {right})"
    return f"{regs.new(i)} = {rhs}"


def pde(statements, seed, shuffle=True):
    """Odd-even sweeps of flux exchanges for u_t = (tanh u)_xx on n cells (finite volumes,
    banded): ``f = c*(tanh(u_{i+1}) - tanh(u_i)); u_i = u_i + f; u_{i+1} = u_{i+1} - f``.
    Each exchange is a lump with k = 2; the exchanges of one half-sweep are independent."""
    rng = random.Random(seed)
    n = min(32, max(3, statements // 30))
    regs, lines, fluxes = Registers(n, "u"), [], 0
    per_sweep = 7 * (n - 1)
    for sweep in range(max(1, round(statements / per_sweep))):
        for parity in (0, 1):
            for i in range(parity, n - 1, 2):
                fluxes += 1
                f, a, b = f"f{fluxes}", regs.cur[i], regs.cur[i + 1]
                lines.append(f"{f} = 0.1 * (math.tanh({b}) - math.tanh({a}))")
                lines.append(f"{regs.new(i)} = {a} + {f}")
                lines.append(f"{regs.new(i + 1)} = {b} - {f}")
    return [f"u{i}" for i in range(n)], shuffled(lines, rng) if shuffle else lines, regs.cur


def jacobi(statements, seed, shuffle=True):
    """Explicit (Jacobi) steps of u_t = (tanh u)_xx, one :func:`_stencil` line a point: every
    update reads its neighbours' old values, so each step needs a lump with k = n."""
    rng = random.Random(seed)
    n = min(16, max(2, statements // 30))
    regs, lines = Registers(n, "u"), []
    for _ in range(max(1, round(statements / (9 * n)))):
        old = list(regs.cur)
        for i in range(n):
            lines.append(_stencil(regs, old, i, n))
    return [f"u{i}" for i in range(n)], shuffled(lines, rng) if shuffle else lines, regs.cur


def random_dag(statements, seed, shuffle=True):
    """Equasive steps and lumps of 2-3 registers through a shared temporary."""
    rng = random.Random(seed)
    n = min(16, max(3, statements // 10))
    regs, lines, temps, size = Registers(n), [], 0, 0
    while size < statements:                    # size: about the SSA statements so far
        if rng.random() < 0.3:
            k = rng.choice((2, 3))
            W = rng.sample(range(n), k)
            temps += 1
            t = f"t{temps}"
            lines.append(f"{t} = math.tanh(" + " + ".join(
                f"{round(rng.uniform(0.2, 0.6), 3)!r} * {regs.cur[r]}" for r in W) + ")")
            for r in W:
                x = regs.cur[r]
                lines.append(f"{regs.new(r)} = {x} + {round(rng.uniform(-0.3, 0.3), 3)!r} * {t}")
            size += 3 * k + 1
        else:
            i = rng.randrange(n)
            j = rng.choice([r for r in range(n) if r != i])
            x, y = regs.cur[i], regs.cur[j]
            lines.append(f"{regs.new(i)} = {x} + {round(rng.uniform(-0.4, 0.4), 3)!r} * math.sin({y})")
            size += 3
    return [f"x{i}" for i in range(n)], shuffled(lines, rng) if shuffle else lines, regs.cur


FAMILIES = {"chain": chain, "euler": euler, "pde": pde, "jacobi": jacobi, "random": random_dag}


def program_of(family, statements, seed, directory, shuffle=True):
    """The analysed Program (front end only, source order) of one generated function."""
    params, lines, outputs = FAMILIES[family](statements, seed, shuffle)
    name = f"{family}_{statements}_{seed}" + ("" if shuffle else "_unshuffled")
    text = module(name, params, lines, outputs)
    path = os.path.join(directory, name + ".py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    (sf,) = loader.from_file(path, text)
    return analyse(sf, schedule=False).program


# --------------------------------------------------------------------------- scoring

def score(program, order):
    """(largest k, sum of k^3) of an order, by build_graph + lumpify; None if not invertible."""
    graph = build_graph(program, order)
    try:
        check_invertible(graph)
    except NotInvertibleError:
        return None
    ks = [lump.k for lump in lumpify(graph)]
    return max(ks, default=0), sum(k ** 3 for k in ks)


def brute_force(program, cap=50_000):
    """Best score over all topological orders of the active steps, or None above ``cap``."""
    steps = [s for s in program.body if s.active]
    index = {id(s.target): k for k, s in enumerate(steps)}
    preds = [[index[id(a)] for a in s.args if id(a) in index] for s in steps]
    chosen, used, best, seen = [], [False] * len(steps), [None], [0]

    def walk():
        if len(chosen) == len(steps):
            seen[0] += 1
            if seen[0] > cap:
                raise OverflowError
            found = score(program, [steps[k] for k in chosen])
            if found is not None and (best[0] is None or found < best[0]):
                best[0] = found
            return
        for k in range(len(steps)):
            if not used[k] and all(used[p] for p in preds[k]):
                used[k] = True
                chosen.append(k)
                walk()
                chosen.pop()
                used[k] = False

    try:
        walk()
    except OverflowError:
        return None, seen[0]
    return best[0], seen[0]


def fmt(pair):
    return "-" if pair is None else f"{pair[0]} / {pair[1]}"


# --------------------------------------------------------------------------- tables

def quality_table(sizes, seeds, directory):
    rows = ["| family | SSA statements | source order | generation order | scheduled | "
            "brute-force optimum (orders) | schedule time |",
            "|---|---:|---|---|---|---|---:|"]
    for family in FAMILIES:
        for size in sizes:
            for seed in seeds:
                program = program_of(family, size, seed, directory)
                active = [s for s in program.body if s.active]
                with gc_paused():
                    t0 = time.perf_counter()
                    order = schedule(program)
                    elapsed = time.perf_counter() - t0
                src, got = score(program, list(program.body)), score(program, order)
                unshuffled = program_of(family, size, seed, directory, shuffle=False)
                made = score(unshuffled, list(unshuffled.body))
                optimum = "-"
                if len(active) <= 16:
                    opt, count = brute_force(program)
                    optimum = f"{fmt(opt)} ({count:,})" if opt else f"- (> {count - 1:,})"
                rows.append(f"| {family} (seed {seed}) | {len(program.body):,} | {fmt(src)} | {fmt(made)} | "
                            f"{fmt(got)} | {optimum} | {elapsed * 1e3:.1f} ms |")
    return rows


def fit_exponent(points):
    xs = [math.log(s) for s, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else float("nan")


def timing_table(sizes, directory):
    rows = ["| family | " + " | ".join(f"{s:,}" for s in sizes) + " | fitted exponent | "
            "exponent between the two largest |",
            "|---|" + "---:|" * len(sizes) + "---:|---:|"]
    for family in FAMILIES:
        cells, points = [], []
        for size in sizes:
            program = program_of(family, size, 1, directory)
            elapsed = math.inf
            for _ in range(REPEATS):            # the least of a few runs: the machine is shared
                with gc_paused():               # as in pipeline.analyse
                    t0 = time.perf_counter()
                    schedule(program)
                    elapsed = min(elapsed, time.perf_counter() - t0)
            points.append((len(program.body), elapsed))
            cells.append(f"{elapsed:.2f} s ({len(program.body):,})")
        rows.append(f"| {family} | " + " | ".join(cells) + f" | {fit_exponent(points):.2f} | "
                    f"{fit_exponent(points[-2:]):.2f} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 10,000 statements")
    args = parser.parse_args(argv)
    quality_sizes = (12, 100, 1000) if args.quick else (12, 100, 1000, 10_000)
    timing_sizes = (1000, 3000, 10_000) if args.quick else (1000, 3000, 10_000, 30_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="s2s_invad_sched_") as directory:
        quality = quality_table(quality_sizes, (1, 2), directory)
        timing = timing_table(timing_sizes, directory)
    text = ["# Scheduler benchmark", "",
            "Generated by `python benchmarks/schedule.py" + (" --quick" if args.quick else "") + "`. "
            "Source orders are random topological orders of the generated lines.", "",
            "## Lumps: largest k / sum of k^3", ""] + quality + [
            "", "## Scheduling time (SSA statements in brackets)", "",
            f"Least of {REPEATS} runs of `schedule(program)` alone (the front end is not included), "
            "with the garbage collector paused as in `pipeline.analyse`; the exponent is the slope "
            "of log(time) against log(size).", ""] + timing + [""]
    print("\n".join(text))
    out = os.path.join(ROOT, "benchmarks", "results", "schedule.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(text))


if __name__ == "__main__":
    main()
