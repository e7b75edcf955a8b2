"""Structured lumps (issue 12): stencil residuals whose one lump has k = n, against peers.

Run from the repository root::

    python benchmarks/structured.py              # the issue's sizes, all peers installed
    python benchmarks/structured.py --quick      # small sizes, a smoke run
    python benchmarks/structured.py --no-peers   # s2s_invad only

Families (flat straight-line source written by the builders below, n scalar parameters,
the form the Python backend runs fastest; the backend c rows use the same residual written
for one array, ``VECTOR_SOURCES``):

* Bratu, u'' + e^u = 0 on n points (families.bratu): tridiagonal A, n = 64, 512, 4096;
* 2-D Bratu on an m x m grid, five-point stencil: block-tridiagonal A, m = 16, 64;
* STEPS explicit Euler steps of x' = tanh(W x) with a banded W (bandwidth BAND), n = 512:
  one lump per step, each A = I + h diag(tanh') W banded; J has bandwidth STEPS * BAND.

What is measured, all in this one process, interleaved (each round times every function
once; the fastest round is reported, because on a shared machine load only adds time):

* s2s_invad: the primal f (the user's scalar function) and jvp, vjp (call + pullback),
  ijvp, ivjp (call + closure), slogdet through the API, as multiples of the primal;
  transform = analysis, then generation + compile of each mode on a fresh copy.
* peers, computing (f(x), J^-1 v) and (f(x), J^-T w) at the point, each as an expert
  would write it: JAX (jit, CPU, vectorised jnp residual) jacfwd + dense solve; JAX
  coloured JVPs (2b + 1 colours for bandwidth b, 5 for the five-point stencil) + scipy's
  solve_banded (banded) or a sparse LU (grids); scipy spsolve on the Jacobian assembled
  from n s2s_invad jvps (the assembly timed once, the solve repeatedly); CasADi (SX
  graph of the same flat source, sparse Jacobian, Linsol "csparse" with the pattern fixed
  at construction).
* s2s_invad with ``backend="c"`` (``--backends``): the same residual written as a user
  writes it for an array (``VECTOR_SOURCES``: a loop over the points for Bratu, slices and
  ``np.concatenate`` for the grid and the Euler steps), its ijvp and ivjp through the API
  with NumPy arrays in, timed in the same rounds; judged beside the Python backend's call
  in the targets (whichever is faster), never counted as a peer.
* checks: every product against a complex-step Jacobian (n <= 600) and every peer against
  s2s_invad's result (max-norm, relative).

Writes benchmarks/results/structured.md (``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks import families  # noqa: E402

LAM = 1.0
STEPS, BAND, H = 4, 2, 0.05
MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")
CHECK_MAX_N = 600                  # complex-step reference up to this n


# --------------------------------------------------------------------------- programs

def bratu_program(n: int) -> families.Program:
    from dataclasses import replace
    return replace(families.bratu(n, LAM), title="Bratu 1-D")


def grid_program(m: int) -> families.Program:
    """2-D Bratu on the m x m interior points of the unit square, unknown u_{i m + j}."""
    h = 1.0 / (m + 1)
    body = []
    for i in range(m):
        for j in range(m):
            c = i * m + j
            nb = [f"u{c - m}" if i > 0 else None, f"u{c + m}" if i < m - 1 else None,
                  f"u{c - 1}" if j > 0 else None, f"u{c + 1}" if j < m - 1 else None]
            body.append(f"    r{c} = ({' + '.join(x for x in nb if x)} - 4.0 * u{c}) * INV_H2 "
                        f"+ LAM * math.exp(u{c})\n")
    n = m * m
    header = families._header(f"2-D Bratu residual on a {m} x {m} grid (five-point stencil).").replace(
        "import math\n\n\n", f"import math\n\nINV_H2 = {1.0 / h ** 2!r}\nLAM = {LAM!r}\n\n\n")
    source = (header + families._signature("grid", n, prefix="u") + "".join(body)
              + families._return_names([f"r{c}" for c in range(n)]))
    point = tuple(round(0.5 * math.sin(math.pi * (i + 1) * h) * math.sin(math.pi * (j + 1) * h), 6)
                  for i in range(m) for j in range(m))
    return families.Program("g", f"2-D Bratu {m} x {m}", "grid", f"_s2s_bench_grid_m{m}", n, n,
                            source, dict(m=m, point=point))


def banded_weights(n: int, band: int, seed: int = 7) -> dict[int, list[float]]:
    """The diagonals of W: offset d -> n values (those falling outside are unused)."""
    rng = np.random.default_rng(seed)
    return {d: [round(float(x), 6) for x in rng.normal(0.0, 0.5, n)] for d in range(-band, band + 1)}


def euler_program(n: int, steps: int = STEPS, band: int = BAND) -> families.Program:
    """``steps`` Euler steps of x' = tanh(W x), W banded: one lump with k = n per step."""
    W = banded_weights(n, band)
    lines = []
    for step in range(steps):
        for k in range(n):
            terms = [f"{W[d][k]!r} * x{k + d}" for d in range(-band, band + 1) if 0 <= k + d < n]
            lines.append(f"    s{k} = {' + '.join(terms)}\n".replace("+ -", "- "))
        for k in range(n):
            lines.append(f"    x{k} = x{k} + {H!r} * math.tanh(s{k})\n")
    source = (families._header(f"{steps} Euler steps of x' = tanh(W x), W banded ({band}), n = {n}.")
              + families._signature("euler", n) + "".join(lines) + families._return(n))
    return families.Program("e", f"Euler, banded W (bandwidth {band}), {steps} steps", "euler",
                            f"_s2s_bench_euler_banded_n{n}", n, 2 * n * steps, source,
                            dict(W=W, steps=steps, band=band))


# The residuals as a user writes them for one array argument (what backend="c" compiles);
# the constants are filled in by vector_program.
VECTOR_SOURCES = {
    "bratu": '''\
import math

LAM = {lam!r}


def bratu(u):
    h = 1.0 / (len(u) + 1)
    F = [0.0] * len(u)
    for i in range(len(u)):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < len(u) - 1 else 0.0
        F[i] = (left - 2.0 * u[i] + right) / h ** 2 + LAM * math.exp(u[i])
    return F
''',
    "grid": '''\
import numpy as np

M = {m!r}
INV_H2 = {inv_h2!r}
LAM = {lam!r}


def grid(u):
    U = u.reshape(M, M)
    rows = np.concatenate([np.zeros((1, M)), U, np.zeros((1, M))], axis=0)
    cols = np.concatenate([np.zeros((M, 1)), U, np.zeros((M, 1))], axis=1)
    R = (rows[:-2] + rows[2:] + cols[:, :-2] + cols[:, 2:] - 4.0 * U) * INV_H2 + LAM * np.exp(U)
    return R.ravel()
''',
    "euler": '''\
import numpy as np

STEPS = {steps!r}
BAND = {band!r}
H = {h!r}
DIAGONALS = np.array({diagonals!r})      # row BAND + d: W[k, k + d]


def euler(x):
    n = len(x)
    for _ in range(STEPS):
        padded = np.concatenate([np.zeros(BAND), x, np.zeros(BAND)])
        s = sum(DIAGONALS[BAND + d] * padded[BAND + d:BAND + d + n] for d in range(-BAND, BAND + 1))
        x = x + H * np.tanh(s)
    return x
''',
}


def vector_program(kind: str, program: families.Program) -> families.Program:
    """The residual of ``program`` written for one array argument (VECTOR_SOURCES)."""
    from dataclasses import replace
    n = program.n
    if kind == "bratu":
        text = VECTOR_SOURCES[kind].format(lam=LAM)
    elif kind == "grid":
        m = program.params["m"]
        text = VECTOR_SOURCES[kind].format(m=m, inv_h2=(m + 1.0) ** 2, lam=LAM)
    else:
        W, band = program.params["W"], program.params["band"]
        diagonals = [[W[d][k] if 0 <= k + d < n else 0.0 for k in range(n)] for d in range(-band, band + 1)]
        text = VECTOR_SOURCES[kind].format(steps=program.params["steps"], band=band, h=H, diagonals=diagonals)
    return replace(program, module_name=program.module_name + "_vector", source=text)


def point_and_directions(program: families.Program):
    """(x, v, w) as tuples of Python floats (NumPy scalars would make every operation of
    the scalar code several times slower)."""
    n = program.n
    rng = np.random.default_rng(n)
    x = program.params.get("point")
    x = x if x is not None else np.round(rng.uniform(-1, 1, n), 6)
    return tuple(float(c) for c in x), tuple(rng.normal(size=n).tolist()), tuple(rng.normal(size=n).tolist())


def bandwidth_of(kind: str, program) -> int | None:
    """The half bandwidth of J, for the banded routes (None: not banded)."""
    if kind == "bratu":
        return 1
    if kind == "euler":
        return program.params["steps"] * program.params["band"]
    return None


# --------------------------------------------------------------------------- timing

def interleaved(fns: dict, repeats: int, min_sample: float) -> dict:
    """Seconds per call of each zero-argument function: the best of ``repeats`` rounds, each
    round timing every function once in turn. On a machine shared with other jobs, load
    only ever adds time, so the fastest round is the best estimate of the cost itself;
    interleaving keeps the ratios between functions fair."""
    numbers = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        single = time.perf_counter() - t0
        numbers[name] = max(1, min(10_000, math.ceil(min_sample / max(single, 1e-7))))
    samples = {name: [] for name in fns}
    was = gc.isenabled()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                for _ in range(numbers[name]):
                    fn()
                samples[name].append((time.perf_counter() - t0) / numbers[name])
                if was:
                    gc.enable()
    finally:
        if was:
            gc.enable()
    return {name: min(s) for name, s in samples.items()}


def rel(got, want) -> float:
    got, want = np.ravel(np.asarray(got, float)), np.ravel(np.asarray(want, float))
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


# --------------------------------------------------------------------------- peers

class Peers:
    def __init__(self, args):
        self.jax = self.casadi = self.scipy = None
        self.notes = []
        self.c = "c" in args.backends
        if self.c:
            from s2s_invad import errors, runtime_c
            try:
                runtime_c.compiler()
            except errors.BackendError as exc:
                self.c = False
                self.notes.append(f"no backend c rows: {exc}")
        if args.no_peers:
            self.notes.append("peers skipped (--no-peers)")
            return
        try:
            import scipy
            import scipy.linalg
            import scipy.sparse.linalg  # noqa: F401
            self.scipy = scipy
        except ImportError:
            self.notes.append("scipy not installed: no scipy or banded routes")
        try:
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            import jax
            jax.config.update("jax_enable_x64", True)
            self.jax = jax
        except ImportError:
            self.notes.append("JAX not installed (`pip install -e .[bench]`)")
        try:
            import casadi
            self.casadi = casadi
        except ImportError:
            self.notes.append("CasADi not installed (`pip install casadi`)")


def jnp_residual(kind: str, program, jnp):
    """The residual vectorised in jax.numpy, as an expert writes it."""
    n = program.n
    if kind == "bratu":
        inv_h2 = (n + 1.0) ** 2

        def F(u):
            p = jnp.pad(u, 1)
            return (p[:-2] - 2.0 * u + p[2:]) * inv_h2 + LAM * jnp.exp(u)
        return F
    if kind == "grid":
        m = program.params["m"]
        inv_h2 = (m + 1.0) ** 2

        def F(u):
            U = u.reshape(m, m)
            P = jnp.pad(U, 1)
            return ((P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U) * inv_h2
                    + LAM * jnp.exp(U)).ravel()
        return F
    W, band, steps = program.params["W"], program.params["band"], program.params["steps"]
    diags = {d: jnp.array([W[d][k] if 0 <= k + d < n else 0.0 for k in range(n)]) for d in W}

    def F(x):
        for _ in range(steps):
            p = jnp.pad(x, band)
            s = sum(diags[d] * p[band + d:band + d + n] for d in range(-band, band + 1))
            x = x + H * jnp.tanh(s)
        return x
    return F


def jax_routes(kind: str, program, peers: Peers, x, v, w, dense_max_n: int) -> dict:
    """name -> (ijvp callable, ivjp callable), each returning (f(x), product)."""
    jax, scipy = peers.jax, peers.scipy
    jnp = jax.numpy
    F = jnp_residual(kind, program, jnp)
    n = program.n
    xj, vj, wj = jnp.array(x), jnp.array(v), jnp.array(w)
    routes = {}

    @jax.jit
    def dense_ijvp(x, v):
        return F(x), jnp.linalg.solve(jax.jacfwd(F)(x), v)

    @jax.jit
    def dense_ivjp(x, w):
        return F(x), jnp.linalg.solve(jax.jacfwd(F)(x).T, w)
    # Above dense_max_n this O(n^3) route takes seconds a call, and its threads slow what runs
    # after it: it is timed apart ("alone"), after the interleaved rounds.
    name = "JAX jacfwd + solve" + ("" if n <= dense_max_n else " (alone)")
    routes[name] = (lambda: jax.block_until_ready(dense_ijvp(xj, vj)),
                    lambda: jax.block_until_ready(dense_ivjp(xj, wj)))
    if scipy is None:
        return routes
    b = bandwidth_of(kind, program)
    ncol = 2 * b + 1 if b is not None else 5
    if b is not None:
        colour = np.arange(n) % ncol
    else:
        m = program.params["m"]
        colour = np.array([(i + 2 * j) % 5 for i in range(m) for j in range(m)])
    seeds = jnp.array((colour[None, :] == np.arange(ncol)[:, None]).astype(float))

    @jax.jit
    def compressed(x):
        y, lin = jax.linearize(F, x)
        return y, jax.vmap(lin)(seeds)                  # (colours, n): row r, its column of colour c
    rows = np.arange(n)
    if b is not None:
        from scipy.linalg import solve_banded
        offsets = [(d, rows[(rows + d >= 0) & (rows + d < n)]) for d in range(-b, b + 1)]

        def banded(x, transposed):
            y, comp = compressed(x)
            comp = np.asarray(comp)
            ab = np.zeros((2 * b + 1, n))
            for d, r in offsets:                        # J[r, r + d] is comp[colour[r + d], r]
                ab[(d if transposed else -d) + b, r + (0 if transposed else d)] = comp[colour[r + d], r]
            return np.asarray(y), ab
        routes["JAX coloured JVPs + solve_banded"] = (
            lambda: (lambda y, ab: (y, solve_banded((b, b), ab, np.asarray(v))))(*banded(xj, False)),
            lambda: (lambda y, ab: (y, solve_banded((b, b), ab, np.asarray(w))))(*banded(xj, True)))
    else:
        from scipy import sparse
        from scipy.sparse.linalg import splu
        m = program.params["m"]
        r_idx, c_idx = [], []
        for i in range(m):
            for j in range(m):
                r = i * m + j
                for di, dj in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
                    if 0 <= i + di < m and 0 <= j + dj < m:
                        r_idx.append(r)
                        c_idx.append((i + di) * m + j + dj)
        r_idx, c_idx = np.array(r_idx), np.array(c_idx)

        def sparse_lu(x):
            y, comp = compressed(x)
            data = np.asarray(comp)[colour[c_idx], r_idx]
            return np.asarray(y), splu(sparse.csc_matrix((data, (r_idx, c_idx)), shape=(n, n)))
        routes["JAX coloured JVPs + splu"] = (
            lambda: (lambda y, lu: (y, lu.solve(np.asarray(v))))(*sparse_lu(xj)),
            lambda: (lambda y, lu: (y, lu.solve(np.asarray(w), trans="T")))(*sparse_lu(xj)))
    return routes


def casadi_routes(program, f, peers: Peers, x, v, w) -> tuple[dict, float]:
    """CasADi: the flat source run on SX symbols, sparse Jacobian, sparse LU (csparse)."""
    ca = peers.casadi
    t0 = time.perf_counter()
    namespace: dict = {"__name__": program.module_name + "_casadi"}
    exec(compile(program.source, f"<{program.module_name} (casadi)>", "exec"), namespace)

    class Shim:
        exp, tanh, sin, cos = ca.exp, ca.tanh, ca.sin, ca.cos
    namespace["math"] = Shim
    u = ca.SX.sym("u", program.n)
    out = namespace[program.func_name](*[u[i] for i in range(program.n)])
    F = ca.vertcat(*out)
    fJ = ca.Function("fJ", [u], [F, ca.jacobian(F, u)])
    ls = ca.Linsol("ls", "csparse", fJ.sparsity_out(1))
    setup = time.perf_counter() - t0
    xd, vd, wd = ca.DM(x), ca.DM(v), ca.DM(w)

    def ijvp():
        y, J = fJ(xd)
        return y, ls.solve(J, vd)

    def ivjp():
        y, J = fJ(xd)
        return y, ls.solve(J, wd, True)
    return {"CasADi sparse J + csparse LU": (ijvp, ivjp)}, setup


C_ROUTE = "s2s_invad backend c (vector source)"


def c_routes(kind: str, program, si, tmpdir: str, x, v, w) -> dict:
    """ijvp and ivjp of the vector source with backend="c", NumPy arrays in; transformed
    and compiled here (the first calls)."""
    f = families.load(vector_program(kind, program), tmpdir)
    xa, va, wa = np.array(x), np.array(v), np.array(w)

    def ivjp():
        y, sweep = si.ivjp(f, xa, backend="c")
        return y, sweep(wa)
    calls = {f"{C_ROUTE} ijvp": lambda: si.ijvp(f, (xa,), va, backend="c"), f"{C_ROUTE} ivjp": ivjp}
    for fn in calls.values():
        fn()
    return calls


def is_ours(route: str) -> bool:
    return route.startswith(C_ROUTE)


# --------------------------------------------------------------------------- one configuration

@dataclass
class Config:
    kind: str
    label: str
    n: int
    k: int = 0
    method: str = ""
    nnz_a: int = 0
    fill: int | None = None
    ordering: str = ""
    analyse_s: float = 0.0
    transform_s: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)        # route -> seconds
    errors: dict = field(default_factory=dict)       # route -> relative difference
    notes: list = field(default_factory=list)
    assembly_s: float | None = None
    c_transform_s: float | None = None


def run_config(kind: str, program: families.Program, si, peers: Peers, args, tmpdir: str) -> Config:
    from s2s_invad.api import _compiled, analysis_of
    from s2s_invad.back.emit_common import Emitter
    cfg = Config(kind, program.title, program.n)
    f = families.load(program, tmpdir)
    x, v, w = point_and_directions(program)
    t0 = time.perf_counter()
    analysis = analysis_of(f)
    cfg.analyse_s = time.perf_counter() - t0
    em = Emitter(analysis.program, analysis.graph)
    big = max(analysis.lumps, key=lambda l: l.k)
    st = em.structure(big)
    cfg.k, cfg.method, cfg.nnz_a, cfg.fill, cfg.ordering = big.k, st.method, st.nnz_a, st.fill, st.ordering
    if len(analysis.lumps) > 1:
        cfg.notes.append(f"{len(analysis.lumps)} lumps, all k = {big.k}" if all(
            l.k == big.k for l in analysis.lumps) else f"{len(analysis.lumps)} lumps, largest k = {big.k}")
    for mode in MODES:
        t0 = time.perf_counter()
        _compiled(f, None, mode, x)
        cfg.transform_s[mode] = time.perf_counter() - t0

    def pulled(api):                                  # (y, the closure applied to w)
        def call():
            y, back = api(f, *x)
            return y, back(w)
        return call
    calls = {"primal": lambda: f(*x),
             "jvp": lambda: si.jvp(f, x, v),
             "vjp": pulled(si.vjp),
             "ijvp": lambda: si.ijvp(f, x, v),
             "ivjp": pulled(si.ivjp),
             "slogdet": lambda: si.slogdet(f, x)}
    raw = {m: _compiled(f, None, m, x)[1] for m in MODES}   # the generated functions themselves

    def raw_pulled(mode):
        def call():
            y, back = raw[mode](*x)
            return y, back(*w)
        return call
    calls.update({"fn jvp": lambda: raw["jvp"](*x, *v), "fn vjp": raw_pulled("vjp"),
                  "fn ijvp": lambda: raw["ijvp"](*x, *v), "fn ivjp": raw_pulled("ivjp"),
                  "fn slogdet": lambda: raw["slogdet"](*x)})
    ours = {m: calls[m]()[1] for m in ("jvp", "vjp", "ijvp", "ivjp", "slogdet")}
    if program.n <= CHECK_MAX_N:
        J = np.asarray(families.reference_jacobian(program, x)[1])
        want = {"jvp": J @ v, "vjp": J.T @ w, "ijvp": np.linalg.solve(J, v),
                "ivjp": np.linalg.solve(J.T, w), "slogdet": np.array(np.linalg.slogdet(J))}
        for m in MODES:
            cfg.errors[m] = rel(ours[m], want[m])
    routes = {}
    if peers.jax is not None:
        routes.update({f"{name} {m}": fn for name, pair in jax_routes(kind, program, peers, x, v, w, args.dense_max_n).items()
                       for m, fn in zip(("ijvp", "ivjp"), pair)})
    if peers.casadi is not None and program.n <= args.casadi_max_n:
        made, setup = casadi_routes(program, f, peers, x, v, w)
        cfg.notes.append(f"CasADi graph + Jacobian + Linsol setup {setup:.2f} s")
        routes.update({f"{name} {m}": fn for name, pair in made.items() for m, fn in zip(("ijvp", "ivjp"), pair)})
    if peers.scipy is not None:
        from scipy import sparse
        from scipy.sparse.linalg import spsolve
        t0 = time.perf_counter()
        cols = [np.asarray(si.jvp(f, x, tuple(e))[1]) for e in np.eye(program.n)]
        Js = sparse.csc_matrix(np.column_stack(cols))
        cfg.assembly_s = time.perf_counter() - t0
        JsT = Js.T.tocsc()
        routes["scipy spsolve (J given) ijvp"] = lambda: (f(*x), spsolve(Js, np.asarray(v)))
        routes["scipy spsolve (J given) ivjp"] = lambda: (f(*x), spsolve(JsT, np.asarray(w)))
    for name, fn in routes.items():                    # warm up (jit) and check against ours
        got = fn()[1]
        cfg.errors[name] = rel(got, ours["ijvp" if name.endswith("ijvp") else "ivjp"])
    if peers.c:
        t0 = time.perf_counter()
        ours_c = c_routes(kind, program, si, tmpdir, x, v, w)
        cfg.c_transform_s = time.perf_counter() - t0
        for name, fn in ours_c.items():
            cfg.errors[name] = rel(fn()[1], ours["ijvp" if name.endswith("ijvp") else "ivjp"])
        routes.update(ours_c)
    apart = {name: fn for name, fn in routes.items() if "(alone)" in name}
    cfg.times = interleaved({**calls, **{k: fn for k, fn in routes.items() if k not in apart}},
                            args.repeats, args.min_sample)
    cfg.times.update(interleaved(apart, 2, 0.0))
    return cfg


# --------------------------------------------------------------------------- report

def fmt_t(seconds) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    return f"{us:.0f} us" if us < 1000 else f"{us / 1e3:.2f} ms" if us < 1e6 else f"{us / 1e6:.2f} s"


def table(header, rows, align) -> str:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def report(configs: list[Config], peers: Peers, args, started: float) -> str:
    import s2s_invad
    try:
        import subprocess
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
    except OSError:
        rev = "?"
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}",
                f"s2s_invad {getattr(s2s_invad, '__version__', '?')}"]
    for name, mod in (("SciPy", peers.scipy), ("JAX", peers.jax), ("CasADi", peers.casadi)):
        if mod is not None:
            versions.append(f"{name} {mod.__version__}")
    out = [f"<!-- `python benchmarks/structured.py{' ' + ' '.join(args.argv) if args.argv else ''}` "
           f"on {time.strftime('%Y-%m-%d')}, git {rev}, {os.cpu_count()}-core machine, "
           f"{time.time() - started:.0f} s -->", "",
           "# Structured lumps: stencil residuals with one lump of k = n", "",
           ", ".join(versions) + f". Best of {args.repeats} interleaved rounds, each sample >= "
           f"{args.min_sample} s, gc off while sampling. Scalar Python floats (the user's function "
           "takes n floats); the backend c rows: the vector source (`VECTOR_SOURCES`), one NumPy array.", ""]
    out += [n for n in peers.notes]
    out += ["", "## s2s_invad: the modes as multiples of the primal", ""]
    rows = []
    for c in configs:
        p = c.times["primal"]
        rows.append([c.label, str(c.n), str(c.k), c.method, f"{c.nnz_a:,}",
                     "-" if c.fill is None else f"{c.fill:,} ({c.ordering})",
                     fmt_t(p)] + [f"{c.times[m] / p:.1f} ({c.times['fn ' + m] / p:.1f})" for m in MODES]
                    + [f"{c.analyse_s:.2f} + {max(c.transform_s.values()):.2f}",
                       "-" if not c.errors.get("ijvp") and "ijvp" not in c.errors
                       else f"{max(c.errors[m] for m in MODES):.0e}"])
    out.append(table(["family", "n", "k", "method", "nnz(A)", "L + U (order)", "primal"]
                     + [f"{m} x" for m in MODES] + ["transform (s)", "check"], rows, "lrrlrrr" + "r" * 7))
    out += ["", "*mode x* = time of the API call (vjp, ivjp: with the returned closure) / time of "
            "the primal; in brackets the generated function alone, called directly, without the "
            "API's argument checks (which cost up to 2 ms a call at n = 4096). *transform* = analysis "
            "+ the slowest mode's generation and compile (each mode on its own; see below); *check* = "
            "largest relative max-norm error of the five products against a complex-step Jacobian "
            "(n <= 600)."]
    out += ["", "Transform per mode (s): " + "; ".join(
        f"{c.label} n={c.n}: analysis {c.analyse_s:.2f}, " + ", ".join(f"{m} {t:.2f}" for m, t in c.transform_s.items())
        for c in configs)]
    if any(len(c.times) > 2 * len(MODES) + 1 for c in configs):
        out += ["", "## Peers: (f(x), J^-1 v) and (f(x), J^-T w) at the point", ""]
        rows = []
        for c in configs:
            for mode in ("ijvp", "ivjp"):
                ours = c.times[mode]
                rows.append([c.label, str(c.n), mode, "**s2s_invad**", fmt_t(ours), "1.0", "-"])
                rows.append(["", "", "", "s2s_invad generated function alone", fmt_t(c.times["fn " + mode]),
                             f"{c.times['fn ' + mode] / ours:.1f}", "0"])
                mine = f"{C_ROUTE} {mode}"
                if mine in c.times:
                    rows.append(["", "", "", C_ROUTE, fmt_t(c.times[mine]), f"{c.times[mine] / ours:.1f}",
                                 f"{c.errors.get(mine, float('nan')):.0e}"])
                for name, t in sorted(c.times.items()):
                    if name.endswith(" " + mode) and name not in MODES and not name.startswith("fn ") \
                            and not is_ours(name):
                        rows.append(["", "", "", name[:-len(mode) - 1], fmt_t(t), f"{t / ours:.1f}",
                                     f"{c.errors.get(name, float('nan')):.0e}"])
        out.append(table(["family", "n", "product", "route", "time", "route / s2s_invad", "vs s2s_invad"],
                         rows, "lrllrrr"))
        out += ["", "*route / s2s_invad* > 1: s2s_invad is faster. scipy's route needs the Jacobian, "
                "assembled from n s2s_invad jvps: " + "; ".join(
                    f"{c.label} n={c.n}: {c.assembly_s:.2f} s" for c in configs if c.assembly_s is not None)
                + " (once per point, not included in its time)."]
    for c in configs:
        if c.c_transform_s is not None:
            c.notes.append(f"backend c: transform + C compile of ijvp and ivjp {c.c_transform_s:.1f} s")
    notes = [f"{c.label} n={c.n}: " + "; ".join(c.notes) for c in configs if c.notes]
    if notes:
        out += ["", "Notes: " + " | ".join(notes)]
    out += ["", "## Targets", ""] + [table(["target", "measured", "met"], targets(configs), "lll")]
    return "\n".join(out) + "\n"


def targets(configs: list[Config]) -> list:
    """Rows (target, measured, met): judged on the API call, the generated function alone
    shown beside it ("fn")."""
    rows = []

    def find(kind, n):
        return next((c for c in configs if c.kind == kind and c.n == n), None)

    def verdict(api_ok: bool, fn_ok: bool) -> str:
        return "met" if api_ok else ("NOT met (fn: met)" if fn_ok else "NOT met")
    c = find("bratu", 512)
    if c:
        for m in ("ijvp", "ivjp"):
            r, rf = c.times[m] / c.times["primal"], c.times["fn " + m] / c.times["primal"]
            rows.append([f"Bratu n = 512 {m} <= 6x primal", f"{r:.1f}x (fn {rf:.1f}x)", verdict(r <= 6, rf <= 6)])
    for c in configs:
        if c.kind in ("bratu", "euler") and c.n >= 512 and len(c.times) > 2 * len(MODES) + 1:
            for m in ("ijvp", "ivjp"):
                peers = {k: t for k, t in c.times.items()
                         if k.endswith(" " + m) and k not in MODES and not k.startswith("fn ") and not is_ours(k)}
                best = min(peers, key=peers.get)
                ours = c.times[m]
                text = f"Python {fmt_t(ours)} (fn {fmt_t(c.times['fn ' + m])})"
                compiled = c.times.get(f"{C_ROUTE} {m}")
                if compiled is not None:
                    text += f", backend c {fmt_t(compiled)}"
                    ours = min(ours, compiled)
                rows.append([f"{c.label} n = {c.n} {m} faster than every peer",
                             f"{text}; fastest peer {best[:-len(m) - 1]} {fmt_t(peers[best])}",
                             verdict(ours < peers[best], c.times["fn " + m] < peers[best])])
    c = find("grid", 256)
    if c:
        worst = max(c.times[m] / c.times["primal"] for m in ("ijvp", "ivjp"))
        worst_fn = max(c.times["fn " + m] / c.times["primal"] for m in ("ijvp", "ivjp"))
        rows.append(["2-D 16 x 16 ijvp and ivjp <= 10x primal", f"{worst:.1f}x (fn {worst_fn:.1f}x)",
                     verdict(worst <= 10, worst_fn <= 10)])
    c = find("grid", 4096)
    if c:
        t = c.times["ijvp"]
        text = f"ijvp {fmt_t(t)} (fn {fmt_t(c.times['fn ijvp'])})"
        if c.fill:
            text += (f", L + U <= {c.fill:,} entries ({c.ordering}): {t / c.fill * 1e9:.0f} ns an entry "
                     f"({c.times['fn ijvp'] / c.fill * 1e9:.0f} for fn)")
        rows.append(["2-D 64 x 64: cost against the fill of L + U", text, "reported"])
        sp = c.times.get("scipy spsolve (J given) ijvp")
        if sp:
            rows.append(["2-D 64 x 64 ijvp faster than spsolve on the assembled J",
                         f"{fmt_t(t)} (fn {fmt_t(c.times['fn ijvp'])}) against {fmt_t(sp)} "
                         f"(+ {c.assembly_s:.1f} s to assemble J from n jvps)",
                         verdict(t < sp, c.times["fn ijvp"] < sp)])
    c = find("bratu", 4096)
    if c:
        total = c.analyse_s + sum(c.transform_s.values())
        rows.append(["Bratu n = 4096 transform, all five modes (analysis once)", f"{total:.1f} s",
                     "met" if total < 60 else "NOT met"])
    return rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, 3 rounds")
    p.add_argument("--no-peers", action="store_true", help="s2s_invad only")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--min-sample", type=float, default=0.05)
    p.add_argument("--casadi-max-n", type=int, default=4096)
    p.add_argument("--backends", default="python,c",
                   help="python (always) and c: also time the vector source's ijvp and ivjp with backend='c'")
    p.add_argument("--dense-max-n", type=int, default=1024,
                   help="largest n at which JAX jacfwd + dense solve is interleaved with the rest")
    p.add_argument("--cases", default=None,
                   help="comma-separated family:size, e.g. bratu:512,grid:16,euler:512 (grid size is m)")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "structured.md"))
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.time()
    import s2s_invad as si
    peers = Peers(args)
    builders = {"bratu": bratu_program, "grid": grid_program, "euler": euler_program}
    if args.cases:
        plan = [(kind, builders[kind](int(size))) for kind, size in
                (case.split(":") for case in args.cases.split(","))]
    elif args.quick:
        plan = [("bratu", bratu_program(16)), ("bratu", bratu_program(64)), ("grid", grid_program(4)),
                ("euler", euler_program(16, steps=2))]
    else:
        plan = [("bratu", bratu_program(n)) for n in (64, 512, 4096)]
        plan += [("grid", grid_program(m)) for m in (16, 64)]
        plan += [("euler", euler_program(512))]
    configs = []
    with tempfile.TemporaryDirectory(prefix="s2s_invad_structured_") as tmp:
        for kind, program in plan:
            print(f"... {program.title} n={program.n}", file=sys.stderr, flush=True)
            configs.append(run_config(kind, program, si, peers, args, tmp))
    text = report(configs, peers, args, started)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    bad = [(c, m, e) for c in configs for m, e in c.errors.items() if not e <= 1e-8]
    for c, m, e in bad:
        print(f"check failed: {c.label} n={c.n}: {m} differs by {e:.1e}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
