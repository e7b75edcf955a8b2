"""Backends side by side (issue 14): the Python, numba and C backends against JAX and CasADi.

Run from the repository root::

    python benchmarks/backends.py                      # chain, euler, bratu, rk4 at n = 8, 64, 512
    python benchmarks/backends.py --quick              # n = 8, a smoke run
    python benchmarks/backends.py --families bratu --sizes 512 --out /tmp/b.md

Prints markdown and writes it to ``benchmarks/results/backends.md`` (``--out``).

Families, each one function f: R^n -> R^n written as a user would:

* **chain**: the equasive coupling chain of ``families.py`` (25 n statements of
  ``x_i = x_i + c g(x_j)``, n scalar parameters): flat code, k = 1 lumps;
* **euler**: 12 unrolled Euler steps of x' = tanh(W x), W with 8 nonzeros a row
  (``families.py``): flat code, one lump with k = n a step;
* **bratu**: the Bratu residual as a loop over the points of a vector (unrolled: the
  boundary branches differ), ``math.exp``: one lump with k = n, tridiagonal, solved by the
  LU generated for its pattern;
* **rk4**: 20 RK4 steps of n / 2 pendulums coupled to their neighbours (a loop over steps,
  kept as a loop, around a right-hand side with a loop over the sites);
* and the target row: 200 RK4 steps of one damped pendulum (n = 2; benchmarks/natural.py).

chain and euler run up to n = 64 by default (``--flat-max-n``): at n = 512 their modes are
45,000-90,000 generated statements, which the C compiler takes minutes a mode to compile on
this machine and numba keeps in Python (over its bound).

Routes, all timed in this one process, interleaved (each round calls every function once;
the fastest round is reported, since load on a shared machine only adds time):

* s2s_invad through the API with ``backend="python"`` (Python floats in), ``"numba"`` and
  ``"c"`` (NumPy arrays in); a cell in brackets is a function the backend kept in Python
  (over its size bound, or a construct it does not take), whose time is the Python one's;
* JAX (jit, CPU, float64, one thread): the vector form written with jax.numpy
  (``lax.fori_loop`` for the RK4 steps, a gather for the sparse W of euler), ``jax.jvp``,
  ``jax.vjp``, ``jacfwd`` + dense solve for J^-1 v and J^-T w; not for chain, which has
  no vector form (its flat scalar form takes XLA minutes to compile with the default
  passes; benchmarks/suite.py times it with fusion off);
* CasADi: the SX graph of the same function (its flat form), ``jtimes`` for J v and J^T w,
  the sparse Jacobian and a linear solver for the inverse products (csparse and qr, the
  faster reported).

One-time costs are apart: the analysis, then per mode the generation of the module with the
backend's section, and the first call (numba and the C compiler compile then); "repays after"
is that compile time over the time a call saves against the Python backend. Every product is
checked against the Python backend's (largest relative max-norm difference in the table).
Also measured: compile time against the size of a flat function for numba and for the C
compiler at equal run time (the choice the issue asks to measure), and a second process
that loads the compiled code from the cache folder.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks import families, natural  # noqa: E402
from benchmarks.structured import VECTOR_SOURCES, fmt_t, interleaved, rel, table  # noqa: E402

MODES = ("jvp", "vjp", "ijvp", "ivjp")
BACKENDS = ("python", "numba", "c")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "backends.md")
RK4_STEPS, PENDULUM_STEPS = 20, 200
DT, DAMPING, SPRING = 0.05, 0.1, 0.5

BRATU = VECTOR_SOURCES["bratu"].format(lam=1.0)    # the residual as a loop over the points

RK4 = '''\
import numpy as np

STEPS = {steps}
DT = {dt!r}
DAMPING = {damping!r}
SPRING = {spring!r}


def pendulums(z):
    m = len(z) // 2
    q, p = z[:m], z[m:]
    dp = [0.0] * m
    for i in range(m):
        left = q[i - 1] if i > 0 else 0.0
        right = q[i + 1] if i < m - 1 else 0.0
        dp[i] = -np.sin(q[i]) - DAMPING * p[i] + SPRING * (left - 2.0 * q[i] + right)
    return np.concatenate([p, np.array(dp)])


def rk4(z):
    for _ in range(STEPS):
        k1 = pendulums(z)
        k2 = pendulums(z + 0.5 * DT * k1)
        k3 = pendulums(z + 0.5 * DT * k2)
        k4 = pendulums(z + DT * k3)
        z = z + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return z
'''


# --------------------------------------------------------------------------- the cases

@dataclass
class Case:
    family: str
    n: int
    label: str
    f: object                    # the user's function
    args: tuple                  # primals for the compiled backends (arrays)
    py_args: tuple               # primals for the Python backend (Python floats)
    wrt: object
    v: np.ndarray                # input side, flat
    w: np.ndarray                # output side, flat
    vector: bool                 # one vector parameter (else n scalars)
    jax_F: object = None         # F(x) on a jnp array
    casadi_F: object = None      # F(list of SX) -> list of SX
    info: dict = field(default_factory=dict)

    def tangents(self, v, python=False):
        if self.vector:
            return (v.tolist() if python else v,)
        return tuple(float(c) for c in v)

    def outputs(self, w, python=False):
        if self.vector:
            return w.tolist() if python else w
        return tuple(float(c) for c in w)


def _load(text: str, name: str, func: str, folder: str):
    return families.load(families.Program("b", name, func, name, 0, 0, text), folder)


def _math_shim(ops):
    class Shim:
        sin, cos, exp, tanh, atan, log = ops.sin, ops.cos, ops.exp, ops.tanh, ops.atan, ops.log
    return Shim


def build(family: str, n: int, folder: str) -> Case:
    rng = np.random.default_rng(n)
    if family in ("chain", "euler"):
        program = families.suite_program(family, n)
        f = families.load(program, folder)
        x, v, w = families.sample_vectors(program)
        jax_F = None          # chain: no vector form (its flat scalar form takes XLA minutes)
        if family == "euler":
            W, h, steps = program.params["W"], program.params["h"], program.params["steps"]
            cols = [[c for c in range(n) if W[k][c] != 0.0] for k in range(n)]
            index = np.array(cols)
            weights = np.array([[W[k][c] for c in cols[k]] for k in range(n)])

            def jax_F(jnp):
                idx, wts = jnp.array(index), jnp.array(weights)

                def F(x):
                    for _ in range(steps):
                        x = x + h * jnp.tanh(jnp.sum(wts * x[idx], axis=1))
                    return x
                return F

        def casadi_F(ca, xs):
            namespace: dict = {"__name__": program.module_name + "_casadi"}
            exec(compile(program.source, f"<{program.module_name} casadi>", "exec"), namespace)
            namespace["math"] = _math_shim(ca)
            return list(namespace[program.func_name](*xs))
        return Case(family, n, f"{family}, n = {n}", f, tuple(x), tuple(x), None, np.array(v), np.array(w),
                    False, jax_F, casadi_F, {"statements": program.statements})
    if family == "bratu":
        f = _load(BRATU, f"_s2s_backends_bratu_{n}", "bratu", folder)
        h = 1.0 / (n + 1)
        u = np.round(0.5 * np.sin(np.pi * np.arange(1, n + 1) * h), 6)
        flat = families.bratu(n, 1.0)

        def jax_F(jnp):
            inv_h2 = (n + 1.0) ** 2

            def F(u):
                p = jnp.pad(u, 1)
                return (p[:-2] - 2.0 * u + p[2:]) * inv_h2 + jnp.exp(u)
            return F

        def casadi_F(ca, xs):
            namespace: dict = {"__name__": flat.module_name + "_casadi"}
            exec(compile(flat.source, f"<{flat.module_name} casadi>", "exec"), namespace)
            namespace["math"] = _math_shim(ca)
            return list(namespace[flat.func_name](*xs))
        return Case(family, n, f"bratu, n = {n}", f, (u,), (u.tolist(),), None, rng.normal(size=n),
                    rng.normal(size=n), True, jax_F, casadi_F, {"param": "u"})
    steps = PENDULUM_STEPS if family == "pendulum" else RK4_STEPS
    if family == "pendulum":
        text = natural.RK4_LOOP.format(steps=steps, dt=DT, damping=DAMPING)
        z = np.array([1.2, -0.3])
    else:
        text = RK4.format(steps=steps, dt=DT, damping=DAMPING, spring=SPRING)
        z = np.round(np.concatenate([0.5 * np.sin(np.arange(n // 2)), 0.1 * np.cos(np.arange(n // 2))]), 6)
    f = _load(text, f"_s2s_backends_{family}_{n}", "rk4", folder)
    m = n // 2

    def rhs(z, ops, concat, pad):
        if family == "pendulum":
            return concat([z[1:2], -ops.sin(z[0:1]) - DAMPING * z[1:2]])
        q, p = z[:m], z[m:]
        qp = pad(q)
        return concat([p, -ops.sin(q) - DAMPING * p + SPRING * (qp[:-2] - 2.0 * q + qp[2:])])

    def step(z, ops, concat, pad):
        k1 = rhs(z, ops, concat, pad)
        k2 = rhs(z + 0.5 * DT * k1, ops, concat, pad)
        k3 = rhs(z + 0.5 * DT * k2, ops, concat, pad)
        k4 = rhs(z + DT * k3, ops, concat, pad)
        return z + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    def jax_F(jnp):
        import jax

        def F(z):
            return jax.lax.fori_loop(0, steps, lambda _, z: step(z, jnp, jnp.concatenate,
                                                                 lambda q: jnp.pad(q, 1)), z)
        return F

    def casadi_F(ca, xs):
        z = ca.vertcat(*xs)

        def pad(q):
            return ca.vertcat(0.0, q, 0.0)
        for _ in range(steps):
            z = step(z, ca, lambda parts: ca.vertcat(*parts), pad)
        return [z[i] for i in range(n)]
    label = f"RK4, {steps} steps, n = {n}" + (" (one pendulum)" if family == "pendulum" else "")
    return Case(family, n, label, f, (z,), (z.tolist(),), None, rng.normal(size=n), rng.normal(size=n), True,
                jax_F, casadi_F)


# --------------------------------------------------------------------------- s2s_invad routes

def s2s_calls(si, case: Case, backend: str) -> dict:
    """mode -> zero-argument callable returning (y, product)."""
    py = backend == "python"
    x = case.py_args if py else case.args
    v, w = case.tangents(case.v, py), case.outputs(case.v, py)
    cw_in, cw_out = case.tangents(case.w, py), case.outputs(case.w, py)
    kw = {"wrt": case.wrt, "backend": backend}
    f = case.f

    def vjp():
        y, pullback = si.vjp(f, *x, **kw)
        return y, pullback(cw_out)

    def ivjp():
        y, sweep = si.ivjp(f, *x, **kw)
        return y, sweep(cw_in)
    return {"jvp": lambda: si.jvp(f, x, v, **kw), "vjp": vjp,
            "ijvp": lambda: si.ijvp(f, x, w, **kw), "ivjp": ivjp}


def flat(value) -> np.ndarray:
    if isinstance(value, (tuple, list)):
        parts = [flat(p) for p in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.ravel(np.asarray(value, dtype=float))


def product(value) -> np.ndarray:
    """The product of a (y, product) pair, flat."""
    return flat(value[1])


def one_time(si, case: Case, backend: str, calls: dict) -> dict:
    """Seconds: generation of each mode's module (analysis done), its first call, and
    which generated functions the backend compiled."""
    from s2s_invad import api
    out = {"generate": {}, "first": {}, "kept": {}}
    x = case.py_args if backend == "python" else case.args
    for mode in MODES:
        t0 = time.perf_counter()
        _, fn, _ = api._compiled(case.f, case.wrt, mode, x, backend=backend)
        out["generate"][mode] = time.perf_counter() - t0
        t0 = time.perf_counter()
        calls[mode]()
        out["first"][mode] = time.perf_counter() - t0
        sweep = getattr(fn, "sweep", None)
        sweep = sweep[1] if isinstance(sweep, tuple) else sweep
        compiled = backend == "python" or (getattr(fn, "backend", "python") == backend
                                           and (sweep is None or sweep.backend == backend))
        out["kept"][mode] = not compiled
    return out


# --------------------------------------------------------------------------- peers

def jax_calls(case: Case, jax) -> dict:
    jnp = jax.numpy
    F = case.jax_F(jnp)
    xj = jnp.array(flat(case.args[0]) if case.vector else np.array(case.args))
    vj, wj = jnp.array(case.v), jnp.array(case.w)
    primal = jax.jit(F)
    jvp = jax.jit(lambda x, v: jax.jvp(F, (x,), (v,)))

    @jax.jit
    def vjp(x, w):
        y, pull = jax.vjp(F, x)
        return y, pull(w)[0]
    ijvp = jax.jit(lambda x, v: (F(x), jnp.linalg.solve(jax.jacfwd(F)(x), v)))
    ivjp = jax.jit(lambda x, w: (F(x), jnp.linalg.solve(jax.jacfwd(F)(x).T, w)))
    done = jax.block_until_ready
    return {"primal": lambda: (done(primal(xj)), None), "jvp": lambda: done(jvp(xj, vj)),
            "vjp": lambda: done(vjp(xj, wj)), "ijvp": lambda: done(ijvp(xj, vj)),
            "ivjp": lambda: done(ivjp(xj, wj))}


def casadi_calls(case: Case, ca) -> dict:
    n = case.n
    xs = ca.SX.sym("x", n)
    F = ca.vertcat(*case.casadi_F(ca, [xs[i] for i in range(n)]))
    vs = ca.SX.sym("v", n)
    f = ca.Function("f", [xs], [F])
    fjv = ca.Function("jv", [xs, vs], [F, ca.jtimes(F, xs, vs)])
    fvj = ca.Function("vj", [xs, vs], [F, ca.jtimes(F, xs, vs, True)])
    fJ = ca.Function("fJ", [xs], [F, ca.jacobian(F, xs)])
    x0 = ca.DM(flat(case.args[0]) if case.vector else list(case.args))
    vd, wd = ca.DM(case.v), ca.DM(case.w)
    calls = {"primal": lambda: (f(x0), None), "jvp": lambda: fjv(x0, vd), "vjp": lambda: fvj(x0, wd)}
    for solver in ("csparse", "qr"):
        ls = ca.Linsol(f"ls_{solver}", solver, fJ.sparsity_out(1))

        def ijvp(ls=ls):
            y, J = fJ(x0)
            return y, ls.solve(J, vd)

        def ivjp(ls=ls):
            y, J = fJ(x0)
            return y, ls.solve(J, wd, True)
        calls[f"ijvp {solver}"], calls[f"ivjp {solver}"] = ijvp, ivjp
    return calls


class Peers:
    def __init__(self, args):
        self.jax = self.casadi = None
        self.notes = []
        if args.no_peers:
            return
        try:
            import jax
            jax.config.update("jax_enable_x64", True)
            self.jax = jax
        except ImportError:
            self.notes.append("JAX not installed (`pip install -e .[bench]`)")
        try:
            import casadi
            self.casadi = casadi
        except ImportError:
            self.notes.append("CasADi not installed (`pip install -e .[bench]`)")


# --------------------------------------------------------------------------- one case

def run_case(si, case: Case, peers: Peers, args) -> dict:
    from s2s_invad import api
    result = {"case": case, "one_time": {}, "times": {}, "errors": {}, "peer_errors": {}}
    t0 = time.perf_counter()
    shapes = {case.wrt or case.info.get("param", "z"): case.n} if case.vector else None
    api.analysis_of(case.f, case.wrt, shapes=shapes)
    result["analysis"] = time.perf_counter() - t0
    fns, reference = {}, {}
    for backend in args.backends:
        calls = s2s_calls(si, case, backend)
        result["one_time"][backend] = one_time(si, case, backend, calls)
        for mode, fn in calls.items():
            fns[(backend, mode)] = fn
            got = product(fn())
            if backend == args.backends[0]:
                reference[mode] = got
            result["errors"][(backend, mode)] = rel(got, reference[mode])
    x_user = case.py_args
    fns[("user", "primal")] = lambda: (case.f(*x_user), None)
    if peers.jax is not None and case.jax_F is not None:
        for mode, fn in jax_calls(case, peers.jax).items():
            fns[("JAX", mode)] = fn
            fn()
            if mode in MODES:
                result["peer_errors"][("JAX", mode)] = rel(product(fn()), reference[mode])
    if peers.casadi is not None:
        t0 = time.perf_counter()
        calls = casadi_calls(case, peers.casadi)
        result["casadi_setup"] = time.perf_counter() - t0
        for mode, fn in calls.items():
            fns[("CasADi", mode)] = fn
            got = fn()
            if mode != "primal":
                result["peer_errors"][("CasADi", mode.split()[0])] = max(
                    result["peer_errors"].get(("CasADi", mode.split()[0]), 0.0),
                    rel(np.asarray(got[1]).ravel(), reference[mode.split()[0]]))
    result["times"] = interleaved(fns, args.repeats, args.min_sample)
    return result


# --------------------------------------------------------------------------- scaling and reuse

SCALING_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import s2s_invad as si
from s2s_invad import api
from benchmarks import families
program = families.equasive_chain(n=8, statements={statements})
f = families.load(program, {folder!r})
x, v, _ = families.sample_vectors(program)
_, fn, _ = api._compiled(f, None, "jvp", tuple(x), backend={backend!r})
t0 = time.perf_counter()
fn(*x, *v)
first = time.perf_counter() - t0
best = min(__import__("timeit").repeat(lambda: fn(*x, *v), number=20, repeat=5)) / 20
print(json.dumps({{"first": first, "call": best, "statements": getattr(fn, "statements", 0),
                   "backend": getattr(fn, "backend", "python")}}))
"""


def scaling(args, folder: str) -> list:
    """numba and the C compiler on the jvp of chains of growing length, each in a fresh
    process with an empty cache: compile seconds (first call - call) and ns a statement."""
    rows = []
    for statements in args.scaling:
        for backend in ("python", "numba", "c"):
            if backend == "numba" and statements > args.numba_scaling_max:
                continue
            env = dict(os.environ, S2S_INVAD_CACHE=tempfile.mkdtemp(dir=folder),
                       S2S_INVAD_NUMBA_MAX_STATEMENTS="10000000", S2S_INVAD_C_MAX_STATEMENTS="10000000")
            script = SCALING_SCRIPT.format(root=ROOT, statements=statements, folder=folder, backend=backend)
            done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                  timeout=3600)
            if done.returncode != 0:
                rows.append((statements, backend, None, None, None, done.stderr.strip().splitlines()[-1][:120]))
                continue
            import json
            got = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((statements, backend, got["statements"], got["first"] - got["call"], got["call"], ""))
    return rows


REUSE_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
import s2s_invad as si
from benchmarks import backends
case = backends.build({family!r}, {n}, {folder!r})
t1 = time.perf_counter()
calls = backends.s2s_calls(si, case, {backend!r})
t2 = time.perf_counter()
calls[{mode!r}]()
t3 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "first": t3 - t2}}))
"""


def reuse(args, folder: str) -> list:
    """A fresh process's first call, cache cold then warm (same folder, second process)."""
    rows = []
    for family, n, mode in args.reuse:
        for backend in ("python", "numba", "c"):
            cache = tempfile.mkdtemp(dir=folder)
            runs = []
            for _ in range(2):
                env = dict(os.environ, S2S_INVAD_CACHE=cache)
                script = REUSE_SCRIPT.format(root=ROOT, family=family, n=n, folder=folder, backend=backend, mode=mode)
                done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                      timeout=3600)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-2000:])
                import json
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            rows.append((f"{family}, n = {n}", mode, backend, runs[0]["first"], runs[1]["first"]))
    return rows


# --------------------------------------------------------------------------- report

def cell(result, backend, mode) -> str:
    t = result["times"].get((backend, mode))
    if t is None:
        return "-"
    kept = backend in result["one_time"] and result["one_time"][backend]["kept"].get(mode)
    return f"({fmt_t(t)})" if kept else fmt_t(t)


def best(result, route, mode):
    times = [t for (r, m), t in result["times"].items() if r == route and m.split()[0] == mode]
    return min(times) if times else None


def per_call_table(results, args) -> str:
    rows = []
    for r in results:
        case = r["case"]
        first = True
        routes = [("s2s_invad " + b, b) for b in args.backends] + [("JAX", "JAX"), ("CasADi", "CasADi")]
        for title, route in routes:
            if not any(k[0] == route for k in r["times"]):
                continue
            if route in args.backends:
                cells = [fmt_t(r["times"][("user", "primal")])] + [cell(r, route, m) for m in MODES]
                err = max(r["errors"][(route, m)] for m in MODES)
            else:
                cells = [fmt_t(best(r, route, "primal"))] + [fmt_t(best(r, route, m)) for m in MODES]
                errs = [v for (p, m), v in r["peer_errors"].items() if p == route]
                err = max(errs) if errs else None
            rows.append([case.label if first else "", title] + cells + ["-" if err is None else f"{err:.0e}"])
            first = False
    return table(["case", "route", "primal", "jvp", "vjp", "ijvp", "ivjp", "check"], rows, "llrrrrrr")


def one_time_table(results, args) -> str:
    rows = []
    for r in results:
        case = r["case"]
        first = True
        for backend in args.backends:
            ot = r["one_time"][backend]
            cells = []
            for mode in MODES:
                call = r["times"][(backend, mode)]
                compile_s = max(ot["first"][mode] - call, 0.0)
                saved = r["times"][("python", mode)] - call if "python" in args.backends else None
                if backend == "python":
                    cells.append(f"{ot['generate'][mode]:.2f} + {compile_s:.2f}")
                elif ot["kept"][mode]:
                    cells.append(f"{ot['generate'][mode]:.2f} (Python)")
                else:
                    repay = ("" if saved is None else f", repays after {math.ceil(compile_s / saved):,}"
                             if saved > 0 else ", never repays (no faster)")
                    cells.append(f"{ot['generate'][mode]:.2f} + {compile_s:.2f}{repay}")
            rows.append([case.label if first else "", backend, f"{r['analysis']:.2f}" if first else ""] + cells)
            first = False
    return table(["case", "backend", "analysis (s)", "jvp", "vjp", "ijvp", "ivjp"], rows, "llrllll")


def targets(results) -> list:
    rows = []
    by = {(r["case"].family, r["case"].n): r for r in results}
    pend = by.get(("pendulum", 2))
    if pend is not None and ("JAX", "jvp") in pend["times"]:
        jax_jvp = pend["times"][("JAX", "jvp")]
        for mode in ("jvp", "ijvp"):
            for backend in ("numba", "c"):
                t = pend["times"].get((backend, mode))
                if t is None:
                    continue
                kept = pend["one_time"][backend]["kept"][mode]
                ratio = t / jax_jvp
                rows.append([f"200 RK4 steps {mode}, backend {backend}, within 2x of JAX fori_loop + jax.jvp",
                             f"{fmt_t(t)} against {fmt_t(jax_jvp)} = {ratio:.2f}x" + (" (kept in Python)" if kept else ""),
                             "met" if ratio <= 2.0 and not kept else "**not met**"])
    bratu = by.get(("bratu", 512))
    if bratu is not None and any(k[0] == "CasADi" for k in bratu["times"]):
        casadi = best(bratu, "CasADi", "ijvp")
        for backend in ("numba", "c"):
            t = bratu["times"].get((backend, "ijvp"))
            if t is None:
                continue
            kept = bratu["one_time"][backend]["kept"]["ijvp"]
            rows.append([f"Bratu n = 512 ijvp, backend {backend}, faster than CasADi's sparse J + fastest solver",
                         f"{fmt_t(t)} against {fmt_t(casadi)}" + (" (kept in Python)" if kept else ""),
                         "met" if t < casadi and not kept else "**not met**"])
    return rows


def report(results, scale, reused, peers, args, started) -> str:
    import s2s_invad
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}", f"s2s_invad {s2s_invad.__version__}"]
    for name in ("numba", "jax", "casadi"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    try:
        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        cc = "no cc"
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=ROOT).stdout.strip()
    except OSError:
        git = "?"
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    out = [f"<!-- `python benchmarks/backends.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d')}, git {git}, "
           f"{os.cpu_count()}-core machine, load {load}, {time.perf_counter() - started:.0f} s -->", "",
           "# Backends: Python, numba and C side by side, with JAX and CasADi", "",
           ", ".join(versions) + f"; C compiler: {cc} (`-O1 -std=c11`). Best of {args.repeats} interleaved "
           f"rounds, each sample >= {args.min_sample} s; JAX and BLAS on one thread.", ""]
    out += ["## Per call", "",
            "s2s_invad rows: the API call (vjp, ivjp: with the returned closure); *primal* is the user's own "
            "Python function. A time in brackets is a function the backend kept in Python. *check*: largest "
            "relative difference of the four products against the first backend's (s2s_invad's own Python code "
            "for the s2s_invad rows, the route itself against it for JAX and CasADi).", "",
            per_call_table(results, args), ""]
    out += ["## One-time costs (seconds)", "",
            "*analysis*: front end to lumps, once per function. Per mode: generating the module (with the "
            "backend's section; Python's compile of it included) + the first call beyond a steady one (numba "
            "or the C compiler compiling); *repays after*: that compile time over the time a call saves "
            "against the Python backend. *(Python)*: the backend kept that mode's functions in Python.", "",
            one_time_table(results, args), ""]
    if scale:
        rows = [[f"{s:,}", b, f"{st:,}" if st else "-", "-" if c is None else f"{c:.2f}",
                 "-" if t is None else fmt_t(t), "-" if t is None or not st else f"{t / st * 1e9:.1f}", note]
                for s, b, st, c, t, note in scale]
        out += ["## Compile time against size: numba or the C compiler", "",
                "jvp of the equasive chain (n = 8) of growing length, each in a fresh process with an empty "
                "cache and no size bound: *compile* = first call - steady call; *ns / statement* = the steady "
                "call over the compiled function's statements.", "",
                table(["chain statements", "backend", "compiled statements", "compile (s)", "call",
                       "ns / statement", "note"], rows, "rlrrrrl"), ""]
    if reused:
        rows = [[label, mode, backend, f"{cold:.2f}", f"{warm:.2f}"] for label, mode, backend, cold, warm in reused]
        out += ["## A second process", "",
                "The first call of one mode in a fresh process (after importing s2s_invad and the function; "
                "for numba this includes importing numba), with an empty cache folder and then with the "
                "folder the first process filled.", "",
                table(["case", "mode", "backend", "cold (s)", "warm (s)"], rows, "lllrr"), ""]
    rows = targets(results)
    if rows:
        out += ["## Targets", "", table(["target", "measured", ""], rows, "lll"), ""]
    if peers.notes:
        out += ["Notes: " + "; ".join(peers.notes), ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--families", default="chain,euler,bratu,rk4,pendulum")
    p.add_argument("--sizes", default="8,64,512")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--min-sample", type=float, default=0.05)
    p.add_argument("--scaling", default="100,300,1000,3000")
    p.add_argument("--numba-scaling-max", type=int, default=300)
    p.add_argument("--flat-max-n", type=int, default=64,
                   help="largest n for the flat families chain and euler (at n = 512 their modes are "
                        "45,000-90,000 statements: the C compiler takes minutes a mode here, numba keeps "
                        "them in Python)")
    p.add_argument("--reuse", default="pendulum:2:ijvp,bratu:512:ijvp")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--quick", action="store_true", help="n = 8, few repeats, small scaling and reuse runs")
    p.add_argument("--out", default=RESULTS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.min_sample = "8", 2, 0.005
        args.scaling, args.reuse = "100", "pendulum:2:jvp"
    args.families = [f for f in args.families.split(",") if f]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.backends = [b for b in args.backends.split(",") if b]
    args.scaling = [int(s) for s in args.scaling.split(",") if s]
    args.reuse = [(a, int(b), c) for a, b, c in (r.split(":") for r in args.reuse.split(",") if r)]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="s2s_invad_backends_")
    os.environ["S2S_INVAD_CACHE"] = os.path.join(folder, "cache")     # compile times measured, not loaded
    import s2s_invad as si
    peers = Peers(args)
    results = []
    for family in args.families:
        sizes = [n for n in args.sizes if family not in ("chain", "euler") or n <= args.flat_max_n]
        for n in ([2] if family == "pendulum" else sizes):
            case = build(family, n, folder)
            print(f"[{time.strftime('%H:%M:%S')}] {case.label}", file=sys.stderr, flush=True)
            results.append(run_case(si, case, peers, args))
    scale = scaling(args, folder) if args.scaling else []
    reused = reuse(args, folder) if args.reuse else []
    text = report(results, scale, reused, peers, args, started)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    worst = max([e for r in results for e in r["errors"].values()] + [0.0])
    return 0 if worst < 1e-8 else 1


if __name__ == "__main__":
    sys.exit(main())
