"""The natural input language against its hand-flattened twin: transform time and per call.

Run from the repository root::

    python benchmarks/natural.py                  # Bratu n = 64, 512; 200 RK4 steps
    python benchmarks/natural.py --bratu 8 --rk4-steps 3 --repeats 1 --transform-repeats 1 \\
        --min-sample 0.001 --out /tmp/natural.md  # a smoke run

Prints markdown and writes it to ``benchmarks/results/natural.md`` (``--out``).

Programs, each in two forms that compute the same thing:

- **Bratu residual**, F_i = (u_{i-1} - 2 u_i + u_{i+1}) / h^2 + lam e^{u_i}: the *loop form*
  is a loop over grid points on a vector u with transform-time boundary branches (SPEC.md
  section 7); the *flat form* has one scalar parameter per grid point and one line per
  residual, as users had to write it before loops were accepted.
- **RK4 steps of a damped pendulum** (q' = p, p' = -sin q - c p): the loop form is a loop
  over steps calling a right-hand-side helper on the state vector; the flat form writes
  every stage of every step out in scalars.

Both forms are source text written to files in a temporary folder and imported (the loop
form's text is fixed, as a user would write it; the flat form's is generated here).

What is measured:

- *transform*: `si.source(f, mode)` (front end, analyses, emitter, rendering) in a fresh
  Python process per measurement (the API caches per function), median over
  ``--transform-repeats`` processes; *compile*: Python's `compile` of the text it returned,
  which every process pays once per mode on its first call. Target: the loop form's
  transform within 1.5x of the flat form's, for every mode.
- *per call*: median over ``--repeats`` interleaved samples (``benchmarks.modes.median_times``,
  gc off while sampling) of one API call (vjp, ivjp: the call plus one call of the returned
  closure), on warm functions in this process; as a ratio to the user's own loop-form
  primal (plain Python on a NumPy array) and to the flat primal. One more row calls the
  generated jvp (the text of `si.source`, compiled here) directly: the difference to the
  API's jvp is the API's argument handling, which grows with the number of parameters.
- *check*: every mode of both forms against an independent dense Jacobian (Bratu: the
  tridiagonal Jacobian written by hand; RK4: complex step through the loop form run as
  plain Python), max-norm error relative to the reference.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # benchmark the working tree, not an installed copy

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402
from benchmarks.modes import median_times, references, rel_err, table  # noqa: E402

MODES = ("jvp", "vjp", "ijvp", "ivjp")
GENERATED_JVP = "jvp, generated code alone"     # without the API's argument handling
TRANSFORM_TARGET = 1.5          # loop-form transform <= this multiple of the flat form's
CHECK_RTOL = 1e-8
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "natural.md")

LAM = 1.0
DT = 0.05
DAMPING = 0.1

# The loop forms: code as a user writes it.
BRATU_LOOP = '''\
import numpy as np


def bratu(u, lam):
    h = 1.0 / (len(u) + 1)
    F = np.zeros(len(u))
    for i in range(len(u)):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < len(u) - 1 else 0.0
        F[i] = (left - 2.0 * u[i] + right) / h ** 2 + lam * np.exp(u[i])
    return F
'''

RK4_LOOP = '''\
import numpy as np

STEPS = {steps}
DT = {dt!r}
DAMPING = {damping!r}


def pendulum(z):
    q, p = z
    return np.array([p, -np.sin(q) - DAMPING * p])


def rk4(z):
    for _ in range(STEPS):
        k1 = pendulum(z)
        k2 = pendulum(z + 0.5 * DT * k1)
        k3 = pendulum(z + 0.5 * DT * k2)
        k4 = pendulum(z + DT * k3)
        z = z + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return z
'''


def bratu_flat_source(n: int) -> str:
    """The same residual for n points, one scalar parameter and one line per point."""
    lines = ["import numpy as np", "", f"H = 1.0 / {n + 1}", "", "",
             f"def bratu_flat({', '.join(f'u{i}' for i in range(n))}, lam):"]
    for i in range(n):
        left = f"u{i - 1} - " if i > 0 else "-"
        right = f" + u{i + 1}" if i < n - 1 else ""
        lines.append(f"    F{i} = ({left}2.0 * u{i}{right}) / H ** 2 + lam * np.exp(u{i})")
    lines.append(f"    return {', '.join(f'F{i}' for i in range(n))}")
    return "\n".join(lines) + "\n"


def rk4_flat_source(steps: int) -> str:
    """The same RK4 steps, every stage written out in scalars."""
    lines = ["import numpy as np", "", f"DT = {DT!r}", f"DAMPING = {DAMPING!r}", "", "",
             "def rk4_flat(q, p):"]
    for step in range(steps):
        lines += [f"    # step {step + 1}",
                  "    k1q, k1p = p, -np.sin(q) - DAMPING * p",
                  "    q2, p2 = q + 0.5 * DT * k1q, p + 0.5 * DT * k1p",
                  "    k2q, k2p = p2, -np.sin(q2) - DAMPING * p2",
                  "    q3, p3 = q + 0.5 * DT * k2q, p + 0.5 * DT * k2p",
                  "    k3q, k3p = p3, -np.sin(q3) - DAMPING * p3",
                  "    q4, p4 = q + DT * k3q, p + DT * k3p",
                  "    k4q, k4p = p4, -np.sin(q4) - DAMPING * p4",
                  "    q = q + DT / 6.0 * (k1q + 2.0 * k2q + 2.0 * k3q + k4q)",
                  "    p = p + DT / 6.0 * (k1p + 2.0 * k2p + 2.0 * k3p + k4p)"]
    lines.append("    return q, p")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- programs

@dataclass
class Form:
    """One form of a program: its module and how the API is called on it."""
    form: str                           # "loop" or "flat"
    module: families.Program            # the source text, written to a file and imported
    args: tuple                         # f(*args) is the primal
    wrt: object                         # wrt= for every API call
    shapes: dict                        # shapes= for si.source
    vector: bool                        # the differentiated input is one vector parameter
    fn: Callable = None

    @property
    def name(self) -> str:
        return self.module.func_name

    def tangents(self, v):
        return (v,) if self.vector else tuple(v)

    def outputs(self, w):
        return w if self.vector else tuple(w)


@dataclass
class Program:
    label: str
    n: int
    loop: Form
    flat: Form
    jacobian: Callable                  # the dense reference Jacobian
    info: dict = field(default_factory=dict)


def as_module(form: str, func_name: str, module_name: str, n: int, text: str) -> families.Program:
    return families.Program(family=form, title=module_name, func_name=func_name, module_name=module_name,
                            n=n, statements=text.count("\n"), source=text)


def bratu_program(n: int) -> Program:
    u = 0.1 * np.sin(np.pi * np.arange(1, n + 1) / (n + 1))
    names = tuple(f"u{i}" for i in range(n))
    loop = Form("loop", as_module("loop", "bratu", f"bratu_loop_{n}", n, BRATU_LOOP),
                (u, LAM), "u", {"u": n}, True)
    flat = Form("flat", as_module("flat", "bratu_flat", f"bratu_flat_{n}", n, bratu_flat_source(n)),
                (*u, LAM), names, {}, False)

    def jacobian():
        h = 1.0 / (n + 1)
        return ((np.eye(n, k=-1) - 2.0 * np.eye(n) + np.eye(n, k=1)) / h ** 2 + LAM * np.diag(np.exp(u)))
    return Program(f"Bratu residual, n = {n}", n, loop, flat, jacobian)


def rk4_program(steps: int) -> Program:
    z = np.array([1.2, -0.3])
    text = RK4_LOOP.format(steps=steps, dt=DT, damping=DAMPING)
    loop = Form("loop", as_module("loop", "rk4", f"rk4_loop_{steps}", 2, text), (z,), None, {"z": 2}, True)
    flat = Form("flat", as_module("flat", "rk4_flat", f"rk4_flat_{steps}", 2, rk4_flat_source(steps)),
                tuple(z), None, {}, False)

    def jacobian():
        """Complex step through the loop form run as plain Python (exact to rounding)."""
        step = 1e-30
        return np.column_stack([np.imag(loop.fn(z + 1j * step * e)) / step for e in np.eye(2)])
    return Program(f"RK4, damped pendulum, {steps} steps", 2, loop, flat, jacobian)


# --------------------------------------------------------------------------- transform

def transform_worker(spec: dict) -> dict:
    """Run in a fresh process: time si.source of one mode, then compile its text."""
    import s2s_invad as si
    with open(spec["path"], encoding="utf-8") as handle:
        text = handle.read()
    f = families.load(as_module("", spec["name"], spec["module"], 0, text), os.path.dirname(spec["path"]))
    wrt = tuple(spec["wrt"]) if isinstance(spec["wrt"], list) else spec["wrt"]
    t0 = time.perf_counter()
    text = si.source(f, spec["mode"], wrt=wrt, shapes=spec["shapes"] or None)
    transform = time.perf_counter() - t0
    t0 = time.perf_counter()
    compile(text, "generated.py", "exec")
    return {"transform": transform, "compile": time.perf_counter() - t0, "lines": text.count("\n")}


def fresh_transform(form: Form, mode: str, folder: str) -> dict:
    spec = {"path": families.write(form.module, folder), "name": form.name,
            "module": form.module.module_name, "mode": mode, "wrt": form.wrt, "shapes": form.shapes}
    with tempfile.TemporaryDirectory(prefix="s2s_invad_natural_") as tmp:
        env = dict(os.environ, TMPDIR=tmp, PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"transform worker failed for {form.name} {mode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_transforms(programs: list[Program], repeats: int, folder: str) -> dict:
    """{(label, form, mode): {"transform": median s, "compile": median s, "lines": n}}, the
    processes interleaved round by round so that a change of load hits both forms alike."""
    samples: dict = {}
    for _ in range(repeats):
        for program in programs:
            for mode in MODES:
                for form in (program.loop, program.flat):
                    runs = samples.setdefault((program.label, form.form, mode), [])
                    runs.append(fresh_transform(form, mode, folder))
    return {key: {"transform": statistics.median(s["transform"] for s in runs),
                  "compile": statistics.median(s["compile"] for s in runs),
                  "lines": runs[0]["lines"]}
            for key, runs in samples.items()}


# --------------------------------------------------------------------------- per call

def api_calls(si, form: Form, v, w) -> dict:
    """Zero-argument callables: the primal and one full product of each mode."""
    f, x, wrt = form.fn, form.args, form.wrt

    def run_vjp():
        y, pullback = si.vjp(f, *x, wrt=wrt)
        return y, pullback(form.outputs(w))

    def run_ivjp():
        y, sweep = si.ivjp(f, *x, wrt=wrt)
        return y, sweep(form.tangents(w))

    namespace: dict = {}
    exec(compile(si.source(f, "jvp", wrt=wrt, shapes=form.shapes or None), "generated.py", "exec"), namespace)
    generated_jvp = namespace[f"{form.name}_jvp"]
    return {"primal": lambda: (f(*x), None),
            "jvp": lambda: si.jvp(f, x, form.tangents(v), wrt=wrt),
            GENERATED_JVP: lambda: generated_jvp(*x, *form.tangents(v)),
            "vjp": run_vjp,
            "ijvp": lambda: si.ijvp(f, x, form.outputs(v), wrt=wrt),
            "ivjp": run_ivjp}


def flat_vector(value) -> np.ndarray:
    """A mode's product as one 1-D array, whatever structure the API gave it."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    return np.asarray(value, dtype=float).reshape(-1)


def check(si, program: Program) -> dict:
    """Max-norm error of every mode of both forms relative to the dense reference."""
    jac = program.jacobian()
    n = program.n
    v = np.cos(np.arange(n) + 0.5)
    w = np.sin(np.arange(n) + 1.0)
    expected = references(jac, tuple(v), tuple(w))
    errors = {}
    for form in (program.loop, program.flat):
        calls = api_calls(si, form, v, w)
        for mode in MODES:
            errors[(form.form, mode)] = rel_err(flat_vector(calls[mode]()[1]), expected[mode])
        errors[(form.form, GENERATED_JVP)] = rel_err(flat_vector(calls[GENERATED_JVP]()[1]), expected["jvp"])
    program.info["cond"] = float(np.linalg.cond(jac))
    return errors


def measure_calls(si, program: Program, repeats: int, min_sample: float) -> dict:
    n = program.n
    v, w = np.cos(np.arange(n) + 0.5), np.sin(np.arange(n) + 1.0)
    keys, fns = [], []
    for form in (program.loop, program.flat):
        for call, fn in api_calls(si, form, v, w).items():
            keys.append((form.form, call))
            fns.append(fn)
    return {key: median for key, (median, _) in zip(keys, median_times(fns, repeats, min_sample))}


def describe(si, form: Form) -> str:
    """"statements, lumps (largest k)" from the analysis the API cached for this form."""
    from s2s_invad.api import analysis_of
    analysis = analysis_of(form.fn, form.wrt, shapes=form.shapes or None)
    ks = [lump.k for lump in analysis.lumps or []]
    return f"{len(analysis.program.body)} statements, {len(ks)} lumps (largest k = {max(ks, default=0)})"


# --------------------------------------------------------------------------- report

def fmt_time(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.1f} us" if us < 1000 else f"{us / 1000:.2f} ms" if us < 1e6 else f"{us / 1e6:.2f} s"


def report(programs, transforms, calls, errors, args) -> tuple[str, bool]:
    out = ["# The natural input language against its hand-flattened twin", ""]
    command = " ".join(["python benchmarks/natural.py", *args.argv])
    threads = [f"{name}={os.environ[name]}" for name in BLAS_THREADS if name in os.environ]
    out.append(f"`{command}` on "
               f"{datetime.date.today()}, Python {platform.python_version()}, NumPy {np.__version__}, "
               f"{os.cpu_count()} cores (shared with other jobs: ratios move by 10-30 % between runs), "
               f"BLAS threads: {', '.join(threads) or 'the library default'} (the dense solves of large "
               "lumps run in LAPACK, whose threads make them vary several-fold on a loaded machine).")
    out.append("")
    out.append(f"Transform: median of {args.transform_repeats} fresh processes per cell, `si.source(f, mode)`; "
               "compile: `compile()` of the generated text (paid once per mode and process, on the first "
               f"call). Per call: median of {args.repeats} interleaved samples of >= {args.min_sample:g} s, "
               "API call included (vjp, ivjp: plus one call of the returned closure); the loop primal is "
               "the user's function run as plain Python on a NumPy array, the flat primal the straight-line "
               "function on floats. Check: relative max-norm error against a dense reference "
               f"(ok <= {CHECK_RTOL:g}).")
    worst_ratio, worst_where, worst_error = 0.0, "-", 0.0
    for program in programs:
        out += ["", f"## {program.label}", ""]
        out.append(f"Loop form: {program.info['loop']}; flat form: {program.info['flat']}; "
                   f"cond(J) = {program.info['cond']:.3g}.")
        out.append("")
        rows = []
        for mode in MODES:
            loop = transforms[(program.label, "loop", mode)]
            flat = transforms[(program.label, "flat", mode)]
            ratio = loop["transform"] / flat["transform"]
            if ratio > worst_ratio:
                worst_ratio, worst_where = ratio, f"{program.label}, {mode}"
            rows.append([mode, f"{loop['transform']:.3f}", f"{flat['transform']:.3f}", f"{ratio:.2f}",
                         "met" if ratio <= TRANSFORM_TARGET else "NOT met",
                         f"{loop['compile'] * 1e3:.1f}", f"{flat['compile'] * 1e3:.1f}", str(loop["lines"])])
        out.append(table(["mode", "transform loop (s)", "transform flat (s)", "loop / flat",
                          f"<= {TRANSFORM_TARGET}x", "compile loop (ms)", "compile flat (ms)",
                          "generated lines (loop)"], rows, "lrrrlrrr"))
        out.append("")
        timing = calls[program.label]
        loop_primal, flat_primal = timing[("loop", "primal")], timing[("flat", "primal")]
        rows = []
        for form in ("loop", "flat"):
            for call in ("primal",) + MODES + (GENERATED_JVP,):
                seconds = timing[(form, call)]
                err = errors[program.label].get((form, call))
                if err is not None:
                    worst_error = max(worst_error, err)
                rows.append([form, call, fmt_time(seconds), f"{seconds / loop_primal:.2f}",
                             f"{seconds / flat_primal:.2f}",
                             "-" if err is None else f"{'ok' if err <= CHECK_RTOL else 'FAILED'} ({err:.1e})"])
        out.append(table(["form", "call", "per call", "/ loop primal", "/ flat primal", "check"], rows,
                         "llrrrl"))
    met_transform = worst_ratio <= TRANSFORM_TARGET
    met_check = worst_error <= CHECK_RTOL
    out += ["", "## Targets", ""]
    out.append(table(["target", "value", "status"], [
        [f"transform of the loop form <= {TRANSFORM_TARGET}x the flat form's (every mode)",
         f"worst {worst_ratio:.2f}x ({worst_where})", "met" if met_transform else "NOT met"],
        ["every mode of both forms matches the dense reference", f"worst {worst_error:.1e}",
         "met" if met_check else "NOT met"]], "lll"))
    return "\n".join(out) + "\n", met_check


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bratu", default="64,512", help="comma-separated grid sizes (default 64,512)")
    parser.add_argument("--rk4-steps", type=int, default=200, help="RK4 steps (default 200)")
    parser.add_argument("--repeats", type=int, default=7, help="per-call samples (default 7)")
    parser.add_argument("--min-sample", type=float, default=0.05, help="seconds per sample (default 0.05)")
    parser.add_argument("--transform-repeats", type=int, default=3, help="fresh processes per cell (default 3)")
    parser.add_argument("--out", default=RESULTS, help=f"markdown file to write (default {RESULTS})")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(transform_worker(json.loads(args.worker))))
        return 0
    import s2s_invad as si
    with tempfile.TemporaryDirectory(prefix="s2s_invad_natural_") as folder:
        programs = [bratu_program(int(n)) for n in args.bratu.split(",") if n]
        if args.rk4_steps > 0:
            programs.append(rk4_program(args.rk4_steps))
        for program in programs:
            for form in (program.loop, program.flat):
                form.fn = families.load(form.module, folder)
        transforms = measure_transforms(programs, args.transform_repeats, folder)
        calls, errors = {}, {}
        for program in programs:
            errors[program.label] = check(si, program)
            for form in (program.loop, program.flat):
                program.info[form.form] = describe(si, form)
            calls[program.label] = measure_calls(si, program, args.repeats, args.min_sample)
    text, ok = report(programs, transforms, calls, errors, args)
    print(text, end="")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
