"""Deterministic program generators for the benchmarks.

Each generator returns a :class:`Program`: the Python source text of a module that
defines one straight-line function ``f: R^n -> R^n`` over scalars (``import math``
plus one ``def``). The text is a pure function of the arguments (seeded
``random.Random``; no NumPy randomness, no ids), so two runs produce identical bytes.

Families (``FAMILIES`` maps the suite's names to generators):

``equasive_chain`` (family "a", suite name ``chain``)
    n scalars and a long chain of statements, each overwriting one register from itself
    and one other register: ``x_i = x_i + g(x_j)``, ``x_i = x_i * math.exp(g(x_j))`` or
    ``x_i = a*x_i + g(x_j)`` with ``g`` among ``c*math.sin``, ``c*math.tanh``,
    ``c*math.atan`` and ``c*x_j``. Every statement is width-preserving, so the program
    is a chain of k = 1 lumps. Pivots are ``1``, ``exp(g)`` and ``a``, never zero.

``euler_tanh`` (family "b", suite name ``euler``)
    Unrolled explicit Euler steps of ``x' = tanh(W x)`` written in scalar code: per step
    ``s_k = w_k0*x0 + ... + w_k,n-1*x_{n-1}`` for every k, then
    ``x_k = x_k + h*math.tanh(s_k)``. All ``s_k`` are live together with all ``x_k``,
    so the live width goes n -> 2n -> n: each step is one lump with k = n. W is dense by
    default; ``row_nnz=d`` keeps d entries per row (the diagonal and d - 1 seeded
    random columns), which keeps n = 512 affordable.

``shuffled_chain`` (family "c", suite name ``shuffled``)
    The same statements as ``equasive_chain``, but every statement binds a fresh name
    (``x3_7 = x3_6 + ...``), so statements that do not depend on each other can be
    reordered, and they are written in a seeded random topological order. The function
    is exactly the chain's; only the order is bad: an old value stays live until its
    last reader, which the shuffle often moves far down, so in source order the width
    stays above n and lumps grow. A scheduler can recover k = 1.

``bratu`` (family "d", suite name ``bratu``)
    The residual of Bratu's problem ``u'' + lambda e^u = 0`` on n interior grid points,
    one statement per point: ``r_i = (u_{i-1} - 2 u_i + u_{i+1}) * INV_H2 + LAM *
    math.exp(u_i)``. Every ``u_i`` is read by three residuals, so the width never
    returns to n inside the body: one lump with k = n (a known limitation: inverse
    accumulation is a dense k x k solve here). Only n statements, not ~25 per variable.

``random_dag`` (family "e", suite name ``dag``)
    A seeded random mix of invertible blocks over n registers, reading random other
    registers (so the data flow is a random DAG): equasive updates with compound
    arguments, multiplicative updates, a temporary read by two updates (k = 2), 2 x 2
    rotations by tuple assignment (k = 2), and small Euler-like mixing blocks over 2-5
    registers (k = 2..5). About 40 % of the updates bind a fresh name instead of
    overwriting the register. Each block is invertible by construction.

The function bodies are only assignments to names (tuple assignment in ``random_dag``),
calls of ``math.*``, ``+ - *``, float literals and (``bratu``) two module constants, and
a final ``return`` of a tuple of names. :func:`jax_source` rewrites a program for
``jax.numpy`` (one array argument, ``math.`` -> ``jnp.``, a stacked result).

Helpers: :func:`load` writes a program to a real file and imports it (the package reads
source with ``inspect``); :func:`load_complex` builds an independent copy that uses
``cmath`` so that :func:`reference_jacobian` can take complex-step derivatives, which
are exact to rounding (no cancellation), to check the modes against.
"""

from __future__ import annotations

import cmath
import importlib.util
import math
import os
import random
import sys
from dataclasses import dataclass, field, replace

__all__ = [
    "FAMILIES",
    "LUMP_HEAVY",
    "Program",
    "bratu",
    "equasive_chain",
    "euler_tanh",
    "jax_source",
    "random_dag",
    "shuffled_chain",
    "suite_program",
    "load",
    "load_complex",
    "reference_jacobian",
    "renamed",
    "sample_vectors",
    "sanity",
]


@dataclass(frozen=True)
class Program:
    """One generated benchmark program."""

    family: str          # short key: "a" or "b"
    title: str           # human description for the tables
    func_name: str       # name of the function defined in `source`
    module_name: str     # name to import the module under
    n: int               # number of inputs = number of outputs
    statements: int      # assignment statements in the function body
    source: str          # full module source text
    params: dict = field(default_factory=dict, compare=False)  # generator parameters

    @property
    def lines(self) -> int:
        return self.source.count("\n")


def _lit(c: float) -> str:
    """A float literal that round-trips exactly (repr is the shortest exact form)."""
    text = repr(float(c))
    if "inf" in text or "nan" in text:
        raise ValueError(f"non-finite literal {c!r}")
    return text


def _scaled(c: float, expr: str) -> str:
    """`c * expr` (a negative c prints as a unary minus on the literal)."""
    return f"{_lit(c)} * {expr}"


def _plus(c: float, expr: str) -> str:
    """` + c * expr` or ` - |c| * expr`: the sign goes into the binary operator."""
    return f" - {_lit(-c)} * {expr}" if c < 0 else f" + {_lit(c)} * {expr}"


def _header(doc: str) -> str:
    return (
        f'"""{doc}\n\nGenerated by benchmarks/families.py; do not edit."""\n\n'
        "import math\n\n\n"
    )


def _signature(func_name: str, n: int, per_line: int = 8, prefix: str = "x") -> str:
    names = [f"{prefix}{i}" for i in range(n)]
    if n <= per_line:
        return f"def {func_name}({', '.join(names)}):\n"
    rows = [", ".join(names[k:k + per_line]) for k in range(0, n, per_line)]
    return f"def {func_name}(\n" + "".join(f"    {r},\n" for r in rows) + "):\n"


def _return(n: int, per_line: int = 8) -> str:
    return _return_names([f"x{i}" for i in range(n)], per_line)


def _return_names(names: list[str], per_line: int = 8) -> str:
    n = len(names)
    if n <= per_line:
        return f"    return {', '.join(names)}\n"
    rows = [", ".join(names[k:k + per_line]) for k in range(0, n, per_line)]
    return "    return (\n" + "".join(f"        {r},\n" for r in rows) + "    )\n"


# --------------------------------------------------------------------------- family (a)

def _chain_steps(n: int, statements: int, seed: int) -> list:
    """The statements of family (a) as ``(i, j, rhs)``: register i is overwritten from
    itself and register j != i; ``rhs(own, other)`` is the right-hand side text for the
    names the two registers have at that point. Shared by ``equasive_chain`` (names
    ``x_i``) and ``shuffled_chain`` (fresh names)."""
    if n < 2:
        raise ValueError("equasive_chain needs n >= 2 (j != i)")
    rng = random.Random(seed)
    bounded = ("math.sin", "math.tanh", "math.atan")
    steps = []
    for _ in range(statements):
        i = rng.randrange(n)
        j = rng.randrange(n - 1)
        j = j + 1 if j >= i else j          # j != i, uniform over the others
        form = rng.randrange(3)
        if form == 1:
            # multiplicative: the exponent must stay bounded
            fn = rng.choice(bounded)
            c = round(rng.uniform(-0.08, 0.08), 4) or 0.01
            rhs = (lambda own, other, fn=fn, c=c:
                   f"{own} * math.exp({_scaled(c, f'{fn}({other})')})")
            steps.append((i, j, rhs))
            continue
        g = rng.randrange(4)
        if g < 3:
            c = round(rng.uniform(-0.5, 0.5), 4) or 0.01
            gx = (lambda other, g=g, c=c: _plus(c, f"{bounded[g]}({other})"))
        else:
            c = round(rng.uniform(-0.05, 0.05), 4) or 0.01
            gx = (lambda other, c=c: _plus(c, other))
        if form == 0:
            rhs = (lambda own, other, gx=gx: f"{own}{gx(other)}")
        else:
            a = round(math.exp(rng.uniform(-0.05, 0.05)), 4)
            rhs = (lambda own, other, gx=gx, a=a: f"{_lit(a)} * {own}{gx(other)}")
        steps.append((i, j, rhs))
    return steps


def equasive_chain(n: int = 64, statements: int = 10_000, seed: int = 20241128) -> Program:
    """Family (a): a chain of width-preserving (equasive) statements over n registers.

    Coefficients are chosen so that the primal stays O(1)-O(10) and the Jacobian stays
    well conditioned over 10,000 statements: additive couplings are small, the argument
    of ``exp`` is a small multiple of a *bounded* function (never of ``x_j`` itself, so
    ``math.exp`` cannot overflow), and the affine factor ``a`` is log-uniform around 1
    (so the product of pivots random-walks around 1 instead of drifting).
    """
    body = [f"    x{i} = {rhs(f'x{i}', f'x{j}')}\n"
            for i, j, rhs in _chain_steps(n, statements, seed)]
    func_name = "chain"
    doc = (f"Family (a): equasive coupling chain, n = {n}, {statements} statements, "
           f"seed = {seed}.")
    source = _header(doc) + _signature(func_name, n) + "".join(body) + _return(n)
    return Program(
        family="a",
        title=f"(a) equasive coupling chain, n={n}",
        func_name=func_name,
        module_name=f"_s2s_bench_chain_n{n}_s{statements}_seed{seed}",
        n=n,
        statements=statements,
        source=source,
        params=dict(n=n, statements=statements, seed=seed),
    )


# --------------------------------------------------------------------------- family (b)

def euler_weights(n: int = 8, seed: int = 7, scale: float = 0.3) -> list[list[float]]:
    """The fixed W for family (b): ``scale/sqrt(n) * normal``, rounded to 6 decimals
    (the rounded values are exactly the literals in the source)."""
    rng = random.Random(seed)
    sd = scale / math.sqrt(n)
    return [[round(rng.gauss(0.0, sd), 6) for _ in range(n)] for _ in range(n)]


def sparse_euler_weights(n: int, row_nnz: int, seed: int = 7,
                         scale: float = 0.3) -> list[list[float]]:
    """W with ``row_nnz`` entries per row: the diagonal and ``row_nnz - 1`` distinct
    seeded random columns, ``scale/sqrt(row_nnz) * normal``, rounded to 6 decimals;
    zero elsewhere. With ``row_nnz >= n`` this is :func:`euler_weights`."""
    if row_nnz >= n:
        return euler_weights(n, seed, scale)
    rng = random.Random(seed * 7919 + n)
    sd = scale / math.sqrt(row_nnz)
    W = [[0.0] * n for _ in range(n)]
    for k in range(n):
        cols = [k] + sorted(rng.sample([c for c in range(n) if c != k], row_nnz - 1))
        for c in cols:
            W[k][c] = round(rng.gauss(0.0, sd), 6) or 1e-6
    return W


def euler_tanh(n: int = 8, statements: int = 10_000, h: float = 0.01,
               seed: int = 7, steps: int | None = None,
               row_nnz: int | None = None) -> Program:
    """Family (b): unrolled explicit Euler for ``x' = tanh(W x)``.

    One step is ``2n`` statements (n sums, n updates); the number of steps is ``steps``
    or else ``max(1, round(statements / (2n)))``. ``row_nnz`` (default: dense) keeps
    that many entries per row of W (see :func:`sparse_euler_weights`); the sums then
    have ``row_nnz`` terms instead of n. Returns the n final values.
    """
    sparse = row_nnz is not None and row_nnz < n
    W = sparse_euler_weights(n, row_nnz, seed) if sparse else euler_weights(n, seed)
    if steps is None:
        steps = max(1, round(statements / (2 * n)))
    lines = []
    for step in range(steps):
        lines.append(f"    # step {step}: t = {step * h:.4g}\n")
        for k in range(n):
            terms = []
            for l in range(n):
                w = W[k][l]
                if sparse and w == 0.0:
                    continue
                if not terms:
                    terms.append(f"{_lit(w)} * x{l}")
                elif w < 0:
                    terms.append(f" - {_lit(-w)} * x{l}")
                else:
                    terms.append(f" + {_lit(w)} * x{l}")
            lines.append(f"    s{k} = {''.join(terms)}\n")
        for k in range(n):
            lines.append(f"    x{k} = x{k} + {_lit(h)} * math.tanh(s{k})\n")
    func_name = "euler"
    shape = f", {row_nnz} nonzeros per row of W" if sparse else ""
    doc = (f"Family (b): {steps} explicit Euler step{'s' if steps != 1 else ''} of "
           f"x' = tanh(W x), n = {n}, "
           f"h = {h}, W seed = {seed}{shape}.")
    source = _header(doc) + _signature(func_name, n) + "".join(lines) + _return(n)
    title = f"(b) Euler steps of x' = tanh(Wx), n={n}, {steps} steps (lumps k={n})"
    if sparse:
        title += f", W with {row_nnz} nonzeros per row"
    return Program(
        family="b",
        title=title,
        func_name=func_name,
        module_name=(f"_s2s_bench_euler_n{n}_st{steps}_seed{seed}"
                     + (f"_nnz{row_nnz}" if sparse else "")),
        n=n,
        statements=steps * 2 * n,
        source=source,
        params=dict(n=n, steps=steps, h=h, seed=seed, W=W,
                    **({"row_nnz": row_nnz} if sparse else {})),
    )


# --------------------------------------------------------------------------- family (c)

def shuffled_chain(n: int = 64, statements: int = 10_000, seed: int = 20241128,
                   shuffle_seed: int = 1) -> Program:
    """Family (c): family (a)'s statements with fresh names, in a random valid order.

    Statement t of the chain overwrites register i from itself and register j; here it
    binds ``x<i>_<version>`` instead, reading the versions of i and j current at t in
    the chain. That makes the only constraints the data dependencies, so any
    topological order computes the same function as ``equasive_chain(n, statements,
    seed)``; the order written is Kahn's algorithm taking a seeded random ready
    statement each time. Every register's newest written version is live, so the width
    never drops below n (the program stays invertible in every order).
    """
    steps = _chain_steps(n, statements, seed)
    current = [f"x{i}" for i in range(n)]
    version = [0] * n
    producer: dict[str, int] = {}
    nodes = []                      # (text, dependencies)
    for t, (i, j, rhs) in enumerate(steps):
        version[i] += 1
        target = f"x{i}_{version[i]}"
        deps = {producer[v] for v in (current[i], current[j]) if v in producer}
        nodes.append((f"    {target} = {rhs(current[i], current[j])}\n", deps))
        producer[target] = t
        current[i] = target
    children: list[list[int]] = [[] for _ in nodes]
    pending = [len(deps) for _, deps in nodes]
    for t, (_, deps) in enumerate(nodes):
        for d in sorted(deps):
            children[d].append(t)
    rng = random.Random(shuffle_seed)
    ready = [t for t, c in enumerate(pending) if c == 0]
    body = []
    while ready:
        k = rng.randrange(len(ready))
        ready[k], ready[-1] = ready[-1], ready[k]
        t = ready.pop()
        body.append(nodes[t][0])
        for c in children[t]:
            pending[c] -= 1
            if pending[c] == 0:
                ready.append(c)
    assert len(body) == len(nodes)
    func_name = "shuffled"
    doc = (f"Family (c): shuffled equasive chain, n = {n}, {statements} statements, "
           f"chain seed = {seed}, shuffle seed = {shuffle_seed}.")
    source = (_header(doc) + _signature(func_name, n) + "".join(body)
              + _return_names(current))
    return Program(
        family="c",
        title=f"(c) shuffled chain (fresh names, random order), n={n}",
        func_name=func_name,
        module_name=f"_s2s_bench_shuffled_n{n}_s{statements}_seed{seed}_sh{shuffle_seed}",
        n=n,
        statements=statements,
        source=source,
        params=dict(n=n, statements=statements, seed=seed, shuffle_seed=shuffle_seed),
    )


# --------------------------------------------------------------------------- family (d)

def bratu(n: int = 64, lam: float = 1.0) -> Program:
    """Family (d): the residual of Bratu's problem on n interior points of (0, 1).

    ``r_i = (u_{i-1} - 2 u_i + u_{i+1}) / h^2 + lam * exp(u_i)`` with ``u_0 = u_{n+1} =
    0`` and ``h = 1/(n+1)``; ``1/h^2`` and ``lam`` are module constants (passive). The
    benchmark point (``params["point"]``) is the smooth profile
    ``u_i = 0.5 sin(pi x_i)``, where the residual is O(1); a random point would make it
    O(1/h^2).
    """
    if n < 2:
        raise ValueError("bratu needs n >= 2")
    h = 1.0 / (n + 1)
    u = [f"u{i}" for i in range(n)]
    body = []
    for i in range(n):
        left = f"{u[i - 1]} - " if i > 0 else "-"
        right = f" + {u[i + 1]}" if i < n - 1 else ""
        body.append(f"    r{i} = ({left}2.0 * {u[i]}{right}) * INV_H2 "
                    f"+ LAM * math.exp({u[i]})\n")
    func_name = "bratu"
    doc = (f"Family (d): Bratu residual u'' + lambda e^u on {n} interior points, "
           f"lambda = {lam}.")
    header = _header(doc).replace(
        "import math\n\n\n",
        f"import math\n\nINV_H2 = {_lit(1.0 / h ** 2)}\nLAM = {_lit(lam)}\n\n\n")
    source = (header + _signature(func_name, n, prefix="u") + "".join(body)
              + _return_names([f"r{i}" for i in range(n)]))
    point = tuple(round(0.5 * math.sin(math.pi * (i + 1) * h), 6) for i in range(n))
    return Program(
        family="d",
        title=f"(d) Bratu residual, n={n} (one lump, k={n})",
        func_name=func_name,
        module_name=f"_s2s_bench_bratu_n{n}",
        n=n,
        statements=n,
        source=source,
        params=dict(n=n, lam=lam, point=point),
    )


# --------------------------------------------------------------------------- family (e)

def random_dag(n: int = 64, statements: int = 10_000, seed: int = 31337) -> Program:
    """Family (e): a random invertible program, built from blocks that are invertible
    by construction (see the module docstring). Registers are read at random, so the
    data flow is a random DAG; about 40 % of updates bind a fresh name ``y<t>``.

    Blocks (weights): equasive update ``x_i = a*x_i + c*g(arg)`` with ``arg`` one of
    ``x_j``, ``x_j*x_k``, ``x_j + x_k``, ``x_j - x_k`` and bounded ``g`` (0.35);
    multiplicative ``x_i = x_i * math.exp(c*math.tanh(x_j + x_k))`` (0.2); a temporary
    ``t = math.tanh(x_j*x_k)`` read by two updates (0.15); a rotation by tuple
    assignment ``x_a, x_b = co*x_a - si*x_b, si*x_a + co*x_b + d*math.sin(x_j)``
    (0.1); and an Euler-like mixing block on m = 2..5 registers,
    ``s_p = sum_q M_pq x_q`` then ``x_p = x_p + h*math.tanh(s_p)``, small h |M| (0.2).
    """
    if n < 6:
        raise ValueError("random_dag needs n >= 6")
    rng = random.Random(seed * 1009 + n)
    names = [f"x{i}" for i in range(n)]
    counter = [0]
    body: list[str] = []

    def fresh(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def target(i: int) -> str:
        """The name the new value of register i binds: fresh or the register's own."""
        name = fresh("y") if rng.random() < 0.4 else f"x{i}"
        return name

    def others(k: int, exclude: tuple = ()) -> list[int]:
        pool = [r for r in range(n) if r not in exclude]
        return rng.sample(pool, k)

    bounded = ("math.sin", "math.tanh", "math.atan")
    while len(body) < statements:
        kind = rng.random()
        if kind < 0.35:                                     # equasive, compound argument
            i = rng.randrange(n)
            j, k = others(2, (i,))
            arg = rng.choice((names[j], f"{names[j]} * {names[k]}",
                              f"{names[j]} + {names[k]}", f"{names[j]} - {names[k]}"))
            c = round(rng.uniform(-0.4, 0.4), 4) or 0.01
            a = round(math.exp(rng.uniform(-0.05, 0.05)), 4)
            g = rng.choice(bounded)
            new = target(i)
            body.append(f"    {new} = {_lit(a)} * {names[i]}{_plus(c, f'{g}({arg})')}\n")
            names[i] = new
        elif kind < 0.55:                                   # multiplicative
            i = rng.randrange(n)
            j, k = others(2, (i,))
            c = round(rng.uniform(-0.08, 0.08), 4) or 0.01
            new = target(i)
            body.append(f"    {new} = {names[i]} * math.exp("
                        f"{_scaled(c, f'math.tanh({names[j]} + {names[k]})')})\n")
            names[i] = new
        elif kind < 0.70:                                   # fan-out temporary, k = 2
            a, b, j, k = others(4)
            t = fresh("t")
            body.append(f"    {t} = math.tanh({names[j]} * {names[k]})\n")
            c1 = round(rng.uniform(-0.4, 0.4), 4) or 0.01
            c2 = round(rng.uniform(-0.08, 0.08), 4) or 0.01
            new = target(a)
            body.append(f"    {new} = {names[a]}{_plus(c1, t)}\n")
            names[a] = new
            new = target(b)
            body.append(f"    {new} = {names[b]} * math.exp({_scaled(c2, t)})\n")
            names[b] = new
        elif kind < 0.80:                                   # rotation, k = 2
            a, b, j = others(3)
            theta = rng.uniform(-0.6, 0.6)
            co, si = round(math.cos(theta), 6), round(math.sin(theta), 6)
            d = round(rng.uniform(-0.3, 0.3), 4) or 0.01
            na, nb = target(a), target(b)
            body.append(
                f"    {na}, {nb} = {_lit(co)} * {names[a]}{_plus(-si, names[b])}, "
                f"{_lit(si)} * {names[a]}{_plus(co, names[b])}"
                f"{_plus(d, f'math.sin({names[j]})')}\n")
            names[a], names[b] = na, nb
        else:                                               # mixing block, k = m
            m = rng.randint(2, 5)
            group = others(m)
            h = 0.05
            sums = []
            for p in group:
                s = fresh("s")
                terms = []
                for q in group:
                    w = round(rng.gauss(0.0, 1.0 / math.sqrt(m)), 4) or 0.01
                    terms.append(f"{_lit(w)} * {names[q]}" if not terms
                                 else _plus(w, names[q]))
                body.append(f"    {s} = {''.join(terms)}\n")
                sums.append(s)
            for p, s in zip(group, sums):
                new = target(p)
                body.append(f"    {new} = {names[p]} + {_lit(h)} * math.tanh({s})\n")
                names[p] = new
    func_name = "dag"
    doc = (f"Family (e): random invertible DAG program, n = {n}, {len(body)} statements, "
           f"seed = {seed}.")
    source = _header(doc) + _signature(func_name, n) + "".join(body) + _return_names(names)
    return Program(
        family="e",
        title=f"(e) random invertible DAG, n={n}",
        func_name=func_name,
        module_name=f"_s2s_bench_dag_n{n}_s{statements}_seed{seed}",
        n=n,
        statements=len(body),
        source=source,
        params=dict(n=n, statements=statements, seed=seed),
    )


# --------------------------------------------------------------------------- the suite

STATEMENTS_PER_VARIABLE = 25        # the suite's program length (issue 5: 20-30 per variable)
EULER_STEPS = 12                    # 2n statements per step: 24 per variable
EULER_ROW_NNZ = 8                   # nonzeros per row of W (dense at n = 8)

FAMILIES = {
    "chain": "equasive coupling chain (k = 1)",
    "shuffled": "shuffled chain: fresh names, random order",
    "euler": f"Euler steps of x' = tanh(W x), {EULER_STEPS} steps, "
             f"{EULER_ROW_NNZ} nonzeros per row of W (k = n)",
    "bratu": "Bratu residual, one statement per point (one lump, k = n)",
    "dag": "random invertible DAG (small lumps)",
}
LUMP_HEAVY = {"euler", "bratu", "dag"}   # by construction; chain and shuffled are equasive


def suite_program(name: str, n: int, per_variable: int = STATEMENTS_PER_VARIABLE) -> Program:
    """The suite's program of family ``name`` for n variables.

    chain, shuffled, dag: ``per_variable * n`` statements. euler: ``EULER_STEPS`` steps
    (``2n`` statements each) with ``EULER_ROW_NNZ`` nonzeros per row of W, so a step
    costs O(n) and not O(n^2) primitives (a dense W at n = 512 is ~525,000 primitives
    per step: the whole budget would be 1/40 of one step). bratu: n statements (the
    residual has one per point).
    """
    if name == "chain":
        return equasive_chain(n=n, statements=per_variable * n)
    if name == "shuffled":
        return shuffled_chain(n=n, statements=per_variable * n)
    if name == "euler":
        return euler_tanh(n=n, steps=EULER_STEPS, row_nnz=EULER_ROW_NNZ)
    if name == "bratu":
        return bratu(n=n)
    if name == "dag":
        return random_dag(n=n, statements=per_variable * n)
    raise ValueError(f"unknown family {name!r}: one of {', '.join(FAMILIES)}")


# --------------------------------------------------------------------------- loading

def renamed(program: Program, suffix: str) -> Program:
    """The same program with the function (and module) renamed ``<name>_<suffix>``.

    The function's source text differs in its ``def`` line, so a fresh copy misses any
    transform cache, whether keyed by function object, code object, file or text.
    """
    func_name = f"{program.func_name}_{suffix}"
    source = program.source.replace(f"def {program.func_name}(", f"def {func_name}(", 1)
    return replace(program, func_name=func_name, source=source,
                   module_name=f"{program.module_name}_{suffix}")


def write(program: Program, directory: str) -> str:
    """Write the module source to ``directory/<module_name>.py``; return the path."""
    path = os.path.join(directory, program.module_name + ".py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(program.source)
    return path


def load(program: Program, directory: str):
    """Write the program to a real file in ``directory``, import it, return the function.

    The module is registered in ``sys.modules`` so ``inspect.getsource`` works on it.
    """
    path = write(program, directory)
    spec = importlib.util.spec_from_file_location(program.module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[program.module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, program.func_name)


def load_complex(program: Program):
    """An independent copy of the function whose ``math`` is ``cmath``.

    Executed from the source text in a fresh namespace: it shares nothing with the
    function the package transforms (no cache interference).
    """
    namespace: dict = {"__name__": program.module_name + "_complex"}
    code = compile(program.source, f"<{program.module_name} (complex)>", "exec")
    exec(code, namespace)
    namespace["math"] = cmath           # looked up at call time
    return namespace[program.func_name]


def reference_jacobian(program: Program, x, step: float = 1e-30):
    """Dense Jacobian at x by complex step: J[:, k] = Im f(x + i*step*e_k) / step.

    Exact to rounding for this class of programs (all operations are analytic).
    Returns (y, J) as NumPy arrays.
    """
    import numpy as np

    fc = load_complex(program)
    n = program.n
    x = [float(v) for v in x]
    J = np.empty((n, n))
    y = None
    for k in range(n):
        args = [complex(v) for v in x]
        args[k] += complex(0.0, step)
        out = fc(*args)
        if y is None:
            y = np.array([o.real for o in out])
        J[:, k] = [o.imag / step for o in out]
    return y, J


def sample_vectors(program: Program, seed: int = 1):
    """Deterministic (x, v, w): a primal point and two direction vectors, each of
    length n, as tuples of Python floats. The point is ``params["point"]`` when the
    generator chose one (``bratu``), else uniform in [-1, 1]."""
    rng = random.Random(seed * 1000 + program.n)
    x = tuple(round(rng.uniform(-1.0, 1.0), 6) for _ in range(program.n))
    if program.params.get("point") is not None:
        x = tuple(float(c) for c in program.params["point"])
    v = tuple(round(rng.gauss(0.0, 1.0), 6) for _ in range(program.n))
    w = tuple(round(rng.gauss(0.0, 1.0), 6) for _ in range(program.n))
    return x, v, w


def sanity(program: Program, f, x):
    """Check the generated function on x: finite, moderate values; real and complex
    copies agree; Jacobian finite and well conditioned. Returns a dict of statistics;
    raises AssertionError on a failure."""
    import numpy as np

    y = np.asarray(f(*x), dtype=float)
    assert y.shape == (program.n,), f"expected {program.n} outputs, got {y.shape}"
    assert np.all(np.isfinite(y)), "non-finite output"
    y_c, J = reference_jacobian(program, x)
    assert np.allclose(y, y_c, rtol=1e-12, atol=1e-12), "real/complex copies disagree"
    assert np.all(np.isfinite(J)), "non-finite Jacobian"
    sign, logdet = np.linalg.slogdet(J)
    cond = float(np.linalg.cond(J))
    stats = dict(
        max_abs_y=float(np.max(np.abs(y))),
        max_abs_J=float(np.max(np.abs(J))),
        cond_J=cond,
        log10_abs_det=float(logdet / math.log(10)) if sign != 0 else -math.inf,
        y=y,
        J=J,
    )
    assert stats["max_abs_y"] < 1e3, f"primal values too large: {stats['max_abs_y']:.3g}"
    assert sign != 0 and cond < 1e8, f"Jacobian badly conditioned: cond = {cond:.3g}"
    return stats


# --------------------------------------------------------------------------- jax.numpy

JNP_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}


def jax_source(program: Program, func_name: str | None = None) -> tuple[str, str]:
    """The program rewritten for ``jax.numpy``: ``(module text, function name)``.

    The function takes one array ``x`` of shape (n,) (what ``jax.jvp``, ``jax.jacfwd``
    and ``gmres`` want), unpacks it into the original parameter names, runs the original
    body with ``math.<fn>`` replaced by ``jnp.<fn>`` (``atan`` -> ``arctan`` etc.), and
    returns ``jnp.stack`` of the returned names. Module constants are kept. The body
    text is otherwise the original, line for line.
    """
    import ast
    import re

    tree = ast.parse(program.source)
    fn = next(node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name == program.func_name)
    params = [a.arg for a in fn.args.args]
    ret = fn.body[-1]
    if not isinstance(ret, ast.Return):
        raise ValueError("the function must end with a return")
    elts = ret.value.elts if isinstance(ret.value, ast.Tuple) else [ret.value]
    outputs = [ast.get_source_segment(program.source, e) for e in elts]
    lines = program.source.splitlines(keepends=True)
    first = fn.body[0].lineno
    body = "".join(lines[first - 1:ret.lineno - 1])
    body = re.sub(r"\bmath\.([A-Za-z_][A-Za-z_0-9]*)",
                  lambda m: "jnp." + JNP_NAMES.get(m.group(1), m.group(1)), body)
    constants = "".join(ast.get_source_segment(program.source, node) + "\n"
                        for node in tree.body if isinstance(node, ast.Assign))
    name = func_name or f"{program.func_name}_jnp"
    unpack = ", ".join(params) + ("," if len(params) == 1 else "")
    text = (f'"""jax.numpy version of {program.module_name}.{program.func_name} '
            f'(benchmarks/families.py jax_source)."""\n\n'
            "import jax.numpy as jnp\n\n" + constants + "\n\n"
            f"def {name}(x):\n    {unpack} = x\n" + body
            + f"    return jnp.stack([{', '.join(outputs)}])\n")
    return text, name


if __name__ == "__main__":
    # Quick self-check of the generators: python benchmarks/families.py [statements]
    # (statements for families (a) and (b); then the suite's programs at n = 8 and 64)
    import tempfile
    import time

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory(prefix="s2s_invad_bench_") as tmp:
        progs = [equasive_chain(statements=size), euler_tanh(statements=size)]
        progs += [suite_program(name, n) for n in (8, 64) for name in FAMILIES]
        for prog in progs:
            t0 = time.perf_counter()
            f = load(prog, tmp)
            t_import = time.perf_counter() - t0
            x, _, _ = sample_vectors(prog)
            st = sanity(prog, f, x)
            print(f"{prog.title}: {prog.statements} statements, {prog.lines} lines, "
                  f"import {t_import:.3f} s, max|y| = {st['max_abs_y']:.3g}, "
                  f"max|J| = {st['max_abs_J']:.3g}, cond J = {st['cond_J']:.3g}, "
                  f"log10|det J| = {st['log10_abs_det']:.3g}")
