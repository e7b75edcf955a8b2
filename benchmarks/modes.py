"""Time the four modes of s2s_invad on two generated program families.

Run from the repository root::

    python benchmarks/modes.py               # 10,000 statements per family, 7 repeats
    python benchmarks/modes.py --quick       # 1,000 statements, 5 repeats: a smoke run
    python benchmarks/modes.py --size 20000 --family a --repeats 9

Prints markdown: one table per family, then a table of the performance targets
(every mode <= 4x primal on family (a), <= 10x on (b); transform <= 2 s per 10,000
statements) with a met / NOT met column. The families are generated as source text by
benchmarks/families.py, written to a temporary directory and imported, because the
package reads functions' source with ``inspect``.

What is measured (all in this one process):

- transform: wall time of the first ``si.source(f, mode)`` on a fresh, renamed copy of
  the function (nothing cached from other modes). The sequence of all four modes on one
  function is reported too: analyses shared between modes are paid once there.
- first call: the first API call on that fresh copy, right after ``si.source``; it
  includes whatever the API does beyond ``source`` (e.g. compiling the generated code).
- median: median over ``--repeats`` samples of the time per API call on a warm
  function; a sample loops the call until it lasts ``--min-sample`` seconds; garbage
  collection is off while a sample runs (as in ``timeit``). ``vjp`` and ``ivjp`` are
  timed as the API call plus one call of the returned closure. API overhead per call is
  included (negligible at this size).
- check: each mode's first result on the timed function against a complex-step
  reference Jacobian (exact to rounding): max-norm error relative to the reference.

Exit status is 0 unless ``--strict`` is given and a target is not met or a check fails.
"""

from __future__ import annotations

import argparse
import ast
import gc
import inspect
import linecache
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # benchmark the working tree, not an installed copy

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402

MODES = ("jvp", "vjp", "ijvp", "ivjp")
MODE_LABEL = {
    "jvp": "jvp",
    "vjp": "vjp (fwd+bwd)",
    "ijvp": "ijvp",
    "ivjp": "ivjp (fwd+closure)",
}
RATIO_TARGET = {"a": 4.0, "b": 10.0}     # every mode <= this multiple of the primal
TRANSFORM_BUDGET_S = 2.0                 # per 10,000 statements (never less than 2 s)
CHECK_RTOL = 1e-8                        # tolerance of the correctness check
API = ("jvp", "vjp", "ijvp", "ivjp", "source")


# --------------------------------------------------------------------------- helpers

def perf() -> float:
    return time.perf_counter()


def timed(fn: Callable, *args, **kwargs):
    """(result, seconds) of one call."""
    t0 = perf()
    result = fn(*args, **kwargs)
    return result, perf() - t0


def median_times(fns: list, repeats: int, min_sample: float) -> list:
    """Median seconds per call of each ``fn()`` in ``fns``, sampled interleaved.

    One untimed warm-up call each; a sample then runs ``fn`` ``number`` times, with
    ``number`` chosen from the warm-up so that a sample lasts about ``min_sample``.
    Each of the ``repeats`` rounds takes one sample of every function in turn, so that a
    slow drift of the machine's load affects them alike (their ratio is what matters).
    Returns [(median, number)] in the order of ``fns``.
    """
    numbers = []
    for fn in fns:
        _, single = timed(fn)
        numbers.append(max(1, min(10_000, math.ceil(min_sample / max(single, 1e-7)))))
    samples = [[] for _ in fns]
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            for fn, number, out in zip(fns, numbers, samples):
                gc.collect()
                gc.disable()
                t0 = perf()
                for _ in range(number):
                    fn()
                out.append((perf() - t0) / number)
                if gc_was_enabled:
                    gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return [(statistics.median(out), number) for out, number in zip(samples, numbers)]


def vec(values) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def rel_err(got, ref) -> float:
    got, ref = vec(got), vec(ref)
    if got.shape != ref.shape:
        return math.inf
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    return float(np.max(np.abs(got - ref))) / scale


def short_error(exc: BaseException, limit: int = 160) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_s(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"


def fmt_ms(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.1f}"


def table(header: list[str], rows: list[list[str]], align: str) -> str:
    """A markdown table; ``align`` has one letter per column, 'l' or 'r'."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def import_package():
    """(module, seconds, None) or (None, seconds, reason)."""
    t0 = perf()
    try:
        import s2s_invad as si
    except Exception as exc:  # report, do not crash: the package may be half written
        return None, perf() - t0, f"`import s2s_invad` failed: {short_error(exc)}"
    seconds = perf() - t0
    missing = [name for name in API if not callable(getattr(si, name, None))]
    if missing:
        where = getattr(si, "__file__", None) or list(getattr(si, "__path__", []))
        return None, seconds, (f"s2s_invad ({where}) has no {', '.join(missing)} yet: "
                               "mode rows are skipped")
    return si, seconds, None


def api_call(si, mode: str, f: Callable, x: tuple, v: tuple, w: tuple) -> Callable:
    """A zero-argument callable running one full product of ``mode``; it returns
    (y, product)."""
    if mode == "jvp":
        return lambda: si.jvp(f, x, v)
    if mode == "ijvp":
        return lambda: si.ijvp(f, x, v)
    if mode == "vjp":
        def run_vjp():
            y, f_vjp = si.vjp(f, *x)
            return y, f_vjp(w)
        return run_vjp
    if mode == "ivjp":
        def run_ivjp():
            y, f_ivjp = si.ivjp(f, *x)
            return y, f_ivjp(w)
        return run_ivjp
    raise ValueError(mode)


def references(J: np.ndarray, v: tuple, w: tuple) -> dict:
    """The four products from the dense reference Jacobian."""
    v, w = vec(v), vec(w)
    return {
        "jvp": J @ v,
        "vjp": J.T @ w,
        "ijvp": np.linalg.solve(J, v),
        "ivjp": np.linalg.solve(J.T, w),
    }


# --------------------------------------------------------------------------- front end

def source_by_positions(f: Callable) -> str:
    """The function's source cut from the file by the code object's positions: what
    ``inspect.getsource`` returns for an undecorated function, without tokenizing."""
    code = f.__code__
    end = max(p[1] for p in code.co_positions() if p[1] is not None)
    lines = linecache.getlines(code.co_filename)
    return "".join(lines[code.co_firstlineno - 1:end])


def once(fn: Callable, gc_off: bool = False) -> float:
    gc.collect()
    was = gc.isenabled()
    if gc_off:
        gc.disable()
    try:
        return timed(fn)[1]
    finally:
        if was:
            gc.enable()


def frontend_floor(f: Callable) -> list:
    """Cost of standard front-end/back-end stages on the primal function alone, which a
    transform built on inspect, gast and astor pays at least once: [(stage, seconds with
    gc on, seconds with gc off)]. Stages whose library is missing are left out."""
    stages = [("inspect.getsource", lambda: inspect.getsource(f)),
              ("slice by co_positions", lambda: source_by_positions(f))]
    text = inspect.getsource(f)
    tree = ast.parse(text)
    stages += [("ast.parse", lambda: ast.parse(text)),
               ("ast.unparse", lambda: ast.unparse(tree)),
               ("compile(ast)", lambda: compile(tree, "<floor>", "exec"))]
    try:
        import gast
        gtree = gast.parse(text)
        stages += [("gast.parse", lambda: gast.parse(text)),
                   ("gast.gast_to_ast", lambda: gast.gast_to_ast(gtree))]
        try:
            import astor
            back = gast.gast_to_ast(gtree)
            stages.append(("astor.to_source", lambda: astor.to_source(back)))
        except ImportError:
            pass
    except ImportError:
        pass
    return [(name, once(fn), once(fn, gc_off=True)) for name, fn in stages]


# --------------------------------------------------------------------------- one family

@dataclass
class ModeResult:
    mode: str
    transform_s: Optional[float] = None      # first si.source on a fresh copy
    first_call_s: Optional[float] = None     # first API call on that copy
    seq_source_s: Optional[float] = None     # si.source in the 4-mode sequence
    gen_lines: Optional[int] = None
    gen_compile_s: Optional[float] = None    # compile() of the generated text
    median_s: Optional[float] = None
    primal_s: Optional[float] = None         # primal median, sampled interleaved
    number: Optional[int] = None
    err: Optional[float] = None              # max(rel err of y, rel err of product)
    error: Optional[str] = None              # first failure, if any

    @property
    def ratio(self) -> Optional[float]:
        """Median over the primal's median sampled in the same rounds."""
        if self.median_s is None or not self.primal_s:
            return None
        return self.median_s / self.primal_s

    @property
    def check(self) -> str:
        if self.err is None:
            return "-"
        return f"{'ok' if self.err <= CHECK_RTOL else 'WRONG'} ({self.err:.1e})"


@dataclass
class FamilyResult:
    program: families.Program
    info: dict = field(default_factory=dict)
    primal_s: Optional[float] = None
    primal_number: Optional[int] = None
    modes: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def measure_generated(r: ModeResult, gen, func_name: str) -> None:
    """Line count and ``compile`` time of the text ``si.source`` returned."""
    gen = gen if isinstance(gen, str) else str(gen)
    r.gen_lines = gen.count("\n") + 1
    _, r.gen_compile_s = timed(compile, gen, f"<s2s_invad {r.mode} of {func_name}>",
                               "exec")


def run_family(program: families.Program, gen_s: float, si, args, tmpdir: str
               ) -> FamilyResult:
    res = FamilyResult(program)
    info = res.info
    info["generate_s"] = gen_s

    path = families.write(program, tmpdir)
    _, info["compile_s"] = timed(compile, program.source, path, "exec")
    f, info["import_s"] = timed(families.load, program, tmpdir)
    if not args.no_floor:
        info["floor"] = frontend_floor(f)

    x, v, w = families.sample_vectors(program)
    J = None
    try:
        stats = families.sanity(program, f, x)
        J = stats["J"]
        info.update({k: stats[k] for k in ("max_abs_y", "max_abs_J", "cond_J",
                                           "log10_abs_det")})
    except AssertionError as exc:
        res.notes.append(f"generator sanity check FAILED: {exc} (checks disabled)")
    if args.no_check:
        J = None

    primal = lambda: f(*x)  # noqa: E731
    [(res.primal_s, res.primal_number)] = median_times([primal], args.repeats,
                                                       args.min_sample)
    if si is None:
        return res

    for mode in MODES:
        res.modes[mode] = ModeResult(mode)

    # 1. Isolated transform per mode: a fresh, renamed copy, so no cache is shared.
    if not args.no_fresh:
        for mode in MODES:
            r = res.modes[mode]
            try:
                copy = families.renamed(program, f"{mode}_fresh")
                f_copy = families.load(copy, tmpdir)
                gen, r.transform_s = timed(si.source, f_copy, mode)
                measure_generated(r, gen, copy.func_name)
                _, r.first_call_s = timed(api_call(si, mode, f_copy, x, v, w))
            except Exception as exc:
                r.error = f"fresh-copy transform/first call: {short_error(exc)}"
            gc.collect()

    # 2. All four modes in sequence on the function that is timed.
    for mode in MODES:
        r = res.modes[mode]
        try:
            gen, r.seq_source_s = timed(si.source, f, mode)
            if args.no_fresh:
                r.transform_s = r.seq_source_s
                measure_generated(r, gen, program.func_name)
        except Exception as exc:
            r.error = r.error or f"si.source: {short_error(exc)}"

    # 3. Check, then time, each mode on the warm function.
    refs = references(J, v, w) if J is not None else None
    y_ref = vec(f(*x))
    for mode in MODES:
        r = res.modes[mode]
        call = api_call(si, mode, f, x, v, w)
        try:
            (y, out), first = timed(call)
            if args.no_fresh:
                r.first_call_s = first
            if refs is not None:
                r.err = max(rel_err(y, y_ref), rel_err(out, refs[mode]))
            (r.median_s, r.number), (r.primal_s, _) = median_times(
                [call, primal], args.repeats, args.min_sample)
        except Exception as exc:
            r.error = r.error or f"API call: {short_error(exc)}"
        gc.collect()
    return res


# --------------------------------------------------------------------------- report

def transform_budget(statements: int) -> float:
    return TRANSFORM_BUDGET_S * max(1.0, statements / 10_000)


def family_report(res: FamilyResult, args) -> str:
    p, info = res.program, res.info
    target = RATIO_TARGET[p.family]
    lines = [f"## {p.title}: {p.statements} statements", ""]
    lines.append(
        f"Primal source: {p.lines} lines, generated in {info['generate_s']:.3f} s; "
        f"`compile` {info['compile_s']:.3f} s; import {info['import_s']:.3f} s.")
    if info.get("floor"):
        parts = ", ".join(f"{name} {on:.3f} ({off:.3f})" for name, on, off in info["floor"])
        lines.append(
            f"Front-end floor on the primal function, one call each, seconds with gc on "
            f"(gc off): {parts}.")
    if "cond_J" in info:
        lines.append(
            f"At the benchmark point: max|f(x)| = {info['max_abs_y']:.3g}, "
            f"max|J| = {info['max_abs_J']:.3g}, cond(J) = {info['cond_J']:.3g}, "
            f"log10|det J| = {info['log10_abs_det']:.3g} (complex-step reference).")
    lines.append("")

    rows = [["primal f", "-", "-", "-", "-", fmt_ms(res.primal_s), "1.00", "-", "-", "-"]]
    for mode in MODES:
        r = res.modes.get(mode)
        if r is None:
            rows.append([MODE_LABEL[mode]] + ["n/a"] * 6 + [f"<= {target:g}x", "n/a", "n/a"])
            continue
        ratio = r.ratio
        met = "-" if ratio is None else ("met" if ratio <= target else "NOT met")
        rows.append([
            MODE_LABEL[mode],
            fmt_s(r.transform_s),
            fmt_s(r.first_call_s),
            "-" if r.gen_lines is None else str(r.gen_lines),
            fmt_s(r.gen_compile_s),
            fmt_ms(r.median_s),
            "-" if ratio is None else f"{ratio:.2f}",
            f"<= {target:g}x",
            met if r.error is None or ratio is not None else "error",
            r.check,
        ])
    lines.append(table(
        ["mode", "transform (s)", "first call (s)", "generated lines",
         "compile generated (s)", "median (ms)", "x primal", "target", "met", "check"],
        rows, "lrrrrrrlll"))
    lines.append("")
    paired = [r.primal_s for r in res.modes.values() if r.primal_s]
    lines.append(
        f"Primal: median of {args.repeats} samples of {res.primal_number} call(s) each"
        + (f"; interleaved with the modes it measured {fmt_ms(min(paired))} to "
           f"{fmt_ms(max(paired))} ms." if paired else "."))
    seq = [res.modes[m].seq_source_s for m in MODES if m in res.modes]
    if seq and all(s is not None for s in seq):
        parts = ", ".join(f"{m} {s:.3f}" for m, s in zip(MODES, seq))
        lines.append(f"`si.source` of all four modes in sequence on one function: "
                     f"{sum(seq):.3f} s ({parts}).")
    for mode in MODES:
        r = res.modes.get(mode)
        if r is None:
            continue
        if r.error:
            lines.append(f"- {mode}: {r.error}")
        if (r.transform_s and r.gen_compile_s is not None
                and r.gen_compile_s > 0.5 * r.transform_s and r.gen_compile_s > 0.2):
            lines.append(f"- {mode}: `compile` of the generated code alone takes "
                         f"{r.gen_compile_s:.3f} s, "
                         f"{100 * r.gen_compile_s / r.transform_s:.0f}% of the transform.")
    if info["compile_s"] > 1.0:
        lines.append(f"- `compile` of the primal module is slow: {info['compile_s']:.3f} s.")
    for note in res.notes:
        lines.append(f"- {note}")
    return "\n".join(lines)


def targets(results: list[FamilyResult]):
    """Rows of the targets table and whether every target that could be measured was
    met (an unmeasured target counts as not met)."""
    rows, ok = [], True
    for res in results:
        p = res.program
        tgt = RATIO_TARGET[p.family]
        key = f"({p.family})"
        measured = {m: r for m, r in res.modes.items()}
        ratios = {m: r.ratio for m, r in measured.items() if r.ratio is not None}
        missing = [m for m in MODES if m not in ratios]
        value = "; ".join(
            ([f"worst {max(ratios, key=ratios.get)} {max(ratios.values()):.2f}x"]
             if ratios else [])
            + ([f"not measured: {', '.join(missing)}"] if missing else []))
        met = not missing and max(ratios.values()) <= tgt
        ok &= met
        rows.append([f"every mode <= {tgt:g}x primal", key, value,
                     "met" if met else "NOT met"])

        budget = transform_budget(p.statements)
        times = {m: r.transform_s for m, r in measured.items() if r.transform_s is not None}
        missing = [m for m in MODES if m not in times]
        value = "; ".join(
            ([f"worst {max(times, key=times.get)} {max(times.values()):.3f} s"]
             if times else [])
            + ([f"not measured: {', '.join(missing)}"] if missing else []))
        met = not missing and max(times.values()) <= budget
        ok &= met
        rows.append([f"transform <= {budget:g} s each mode ({p.statements} stmts)", key,
                     value, "met" if met else "NOT met"])

        errs = {m: r.err for m, r in measured.items() if r.err is not None}
        if errs:
            worst = max(errs, key=errs.get)
            met = len(errs) == len(MODES) and errs[worst] <= CHECK_RTOL
            ok &= met
            rows.append([f"results match reference (rel err <= {CHECK_RTOL:g})", key,
                         f"worst {worst} {errs[worst]:.1e}"
                         + ("" if len(errs) == len(MODES) else " (some modes failed)"),
                         "met" if met else "NOT met"])
    return rows, ok


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=None,
                    help="statements per family (default 10000; 1000 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="small fast run: 1000 statements, 5 repeats, short samples")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timing samples per measurement, median reported (default 7)")
    ap.add_argument("--min-sample", type=float, default=None,
                    help="seconds a timing sample lasts at least (default 0.05)")
    ap.add_argument("--family", choices=("a", "b", "both"), default="both")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the comparison with the complex-step reference")
    ap.add_argument("--no-fresh", action="store_true",
                    help="measure transforms only in sequence on the timed function "
                         "(halves the transform work; later modes may reuse cached "
                         "analyses of earlier ones)")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip timing the front-end stages (inspect, ast, gast, astor)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write the generated modules to DIR and keep them")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 1 if a target is not met or a check fails")
    args = ap.parse_args(argv)
    if args.size is None:
        args.size = 1_000 if args.quick else 10_000
    if args.repeats is None:
        args.repeats = 5 if args.quick else 7
    if args.min_sample is None:
        args.min_sample = 0.02 if args.quick else 0.05
    if args.size < 1 or args.repeats < 1:
        ap.error("--size and --repeats must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    si, import_s, why = import_package()

    print("# s2s_invad: cost of the four modes relative to the primal")
    print()
    version = getattr(si, "__version__", "?") if si is not None else "-"
    print(f"Python {platform.python_version()} ({platform.machine()}), NumPy "
          f"{np.__version__}, s2s_invad {version} (import {import_s:.3f} s). "
          f"Size {args.size} statements per family; median of {args.repeats} samples, "
          f"each >= {args.min_sample:g} s, gc off while sampling.")
    if why:
        print()
        print(f"**Package not usable:** {why}")
    print()
    where = ("in sequence on the timed function f (`--no-fresh`)" if args.no_fresh
             else "on a fresh, renamed copy of f (nothing cached)")
    print(f"Columns: *transform* = first `si.source(f, mode)` {where}; *first call* = "
          "the first API call right after it; *generated lines*, *compile generated* = "
          "size of, and `compile` time of, the text `si.source` returned; *median* = "
          "per API call on a warm function (vjp, ivjp: the API call plus one call of "
          "the returned closure); *x primal* = median / median of the primal sampled "
          "in the same rounds (interleaved, against drifting load); *check* = "
          "max-norm error of y and of the product relative to a complex-step "
          f"Jacobian (ok <= {CHECK_RTOL:g}).")
    print()

    if args.keep:
        tmpdir = os.path.abspath(args.keep)
        os.makedirs(tmpdir, exist_ok=True)
    else:
        tmpdir = tempfile.mkdtemp(prefix="s2s_invad_bench_")
    results = []
    try:
        generators = {"a": families.equasive_chain, "b": families.euler_tanh}
        for key in ("a", "b"):
            if args.family not in (key, "both"):
                continue
            program, gen_s = timed(generators[key], statements=args.size)
            res = run_family(program, gen_s, si, args, tmpdir)
            results.append(res)
            print(family_report(res, args))
            print()
            sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(tmpdir, ignore_errors=True)
        else:
            print(f"Generated modules kept in {tmpdir}.")
            print()

    rows, ok = targets(results)
    print("## Targets")
    print()
    print(table(["target", "family", "value", "status"], rows, "llll"))
    print()
    if si is None:
        print("(Targets are NOT met by default while the package cannot be used.)")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
