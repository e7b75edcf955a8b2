"""Analysis: the sparsity of a lump's blocks and how its block A is solved (SPEC section 8).

For a lump with overwritten values W (k of them) and read-only values R, entry (i, j) of
A = d(new W)/d(old W) can be nonzero only if a path of the lump's data flow leads from
old W_j to new W_i (a step whose partial is the constant 0 is no edge); B = d(new W)/d(R)
likewise. :func:`lump_pattern` reads both patterns off the graph at transform time, as
bit sets, in time linear in the lump's steps times the words of a bit set.

:func:`structure` then chooses how the emitters solve A u = r and A^T z = s:

``unrolled``   k <= 3: Cramer's rule in scalar code (emit_common).
``generated``  straight-line sparse LU for exactly this pattern (back/structured.py):
               P A Q = L U with permutations chosen here, numeric values per point, cost
               O(multiply-adds + nnz(L + U)) a point, elementwise on batches.
``dense``      L + U at least DENSE_FRACTION dense and k > DENSE_GENERATED_MAX_K (k > 3 on
               batches): LAPACK at run time (runtime.solve), where generated code would be
               no faster.
``runtime``    a pivoting solver at run time on the pattern (runtime_lu.pattern_solve):
               LAPACK's banded LU (gbtrf, partial pivoting) in the natural or reverse
               Cuthill-McKee order when A is narrow, else SuperLU in the order chosen
               here, whichever :func:`band_cost` and :func:`superlu_cost` estimate cheaper.
               Chosen when the factors exceed the code bounds below, or, in scalar code
               that no backend compiles, when the run-time solver is estimated
               SUPERLU_MARGIN times faster than :func:`generated_cost` (tri-diagonal
               blocks from k of a few dozen, 2-D grids). Batches and compiled backends get
               generated code within the bounds (a run-time solver runs once per batch
               element, and a compiled backend compiles generated code but not a call).

How the static factorisation is chosen:

1. A zero-free diagonal. The i-th new value takes the register of the i-th killed value,
   so A's natural diagonal is (new_i, killed_i). Where that entry is structurally zero,
   a maximum bipartite matching (augmenting paths from the natural diagonal) picks a row
   permutation; no perfect matching means det A is identically 0 (structurally
   singular): the lump is left to the run-time pivoting solve, which reports it.
2. A fill-reducing symmetric ordering of the row-permuted matrix M, on the graph of
   M + M^T: the natural order, reverse Cuthill-McKee and minimum degree are each
   factorised symbolically and the cheapest (multiply-adds + entries of L + U) wins, the
   natural order on ties (it keeps the generated code in source order).
3. Symbolic LU without pivoting, row by row: row t of L + U is row t of M plus, for every
   s in row t of L (in increasing order), row s of U. Every entry's list of terms
   l_ts u_sc is recorded: the emitter writes exactly these.

Code bounds (``generated`` only within both): GENERATED_MAX_FILL = 40,000 entries of
L + U (one statement each) and GENERATED_MAX_TERMS = 60,000 multiply-adds (the code's size
in characters is proportional to entries + terms). Above them the symbolic factorisation
stops early and the minimum degree elimination gives the (upper bound) fill reported, so
the transform stays near-linear in the pattern.

Pivots are not known at transform time: the generated code checks them at run time (see
back/structured.py for the test and the fallback).
"""

from __future__ import annotations

import gc
import heapq
import math
from dataclasses import dataclass, field

from .graph import LayeredGraph
from .lumps import Lump
from ..runtime_lu import permutation_sign
from ..sym import is_num

UNROLL_MAX_K = 3                 # Cramer's rule up to this k (also emit_common.UNROLL_MAX_K)
GENERATED_MAX_FILL = 40_000      # entries of L + U in generated code, at most
GENERATED_MAX_TERMS = 60_000     # multiply-adds of the generated factorisation, at most
DENSE_GENERATED_MAX_K = 6        # a nearly dense block above this k goes to LAPACK (scalar code;
                                 # at k = 8 LAPACK is 15 % faster, at k = 4 generated code 4x)
DENSE_FRACTION = 0.5             # "nearly dense": nnz(L + U) >= this * k^2
SUPERLU_MARGIN = 1.5             # scalar code calls SuperLU only when estimated this much faster
MIN_DEGREE_WORK = 20_000_000     # set operations the minimum degree ordering may spend
BAND_MAX_WORK = 50_000_000       # k kl (kl + ku) of a banded LU at most (about 12 ms a point)


def _bits(x: int) -> list[int]:
    """The indices of the set bits of ``x``, in increasing order."""
    out = []
    while x:
        low = x & -x
        out.append(low.bit_length() - 1)
        x ^= low
    return out


def lump_pattern(graph: LayeredGraph, lump: Lump) -> tuple[list[list[int]], list[list[int]]]:
    """(rows of A, rows of B): for each new value, the indices of the killed values (A)
    and of the read values (B) it can depend on, each list in increasing order."""
    col = {v: j for j, v in enumerate(lump.killed)}
    rcol = {v: j for j, v in enumerate(lump.read)}
    deps: dict = {}
    for v, j in col.items():
        deps[v] = (1 << j, 0)
    for v, j in rcol.items():
        deps[v] = (0, 1 << j)
    for stmt in lump.steps:
        a = b = 0
        for arg, part in graph.partials[stmt].items():
            if is_num(part, 0) or arg not in deps:
                continue
            da, db = deps[arg]
            a |= da
            b |= db
        deps[stmt.target] = (a, b)
    return ([_bits(deps[v][0]) for v in lump.new], [_bits(deps[v][1]) for v in lump.new])


@dataclass
class Symbolic:
    """The static LU of the permuted block M' = P A Q (rows and columns in position t)."""
    name: str                    # the ordering: "natural", "RCM" or "minimum degree"
    order: list[int]             # position t -> column of A (a killed index)
    row_of: list[int]            # position t -> row of A (a new index)
    lower: list[list[int]]       # row t of L: the positions s < t, increasing
    upper: list[list[int]]       # row t of U: the positions c > t, increasing
    terms: list[dict[int, list[int]]]   # row t: entry c -> the s of its terms l_ts u_sc
    fill: int                    # nnz(L + U), the diagonal counted once
    n_terms: int                 # multiply-adds of the factorisation

    @property
    def cost(self) -> int:
        """Work per point: the factorisation's multiply-adds plus one per entry of L + U."""
        return self.n_terms + self.fill


@dataclass
class Band:
    """A symmetric ordering of A for a banded LU with partial pivoting (LAPACK gbtrf):
    entry (i, j) of A goes to (pos[i], pos[j]); kl and ku are the bandwidths below and
    above the diagonal there (pivoting widens U to kl + ku, as gbtrf stores it)."""
    name: str                    # "natural" or "RCM"
    order: list[int] | None      # position t -> index of A (rows and columns alike); None: natural
    kl: int
    ku: int

    @property
    def work(self) -> int:
        """Multiply-adds of the factorisation, at most, per column: kl (kl + ku)."""
        return self.kl * (self.kl + self.ku)


@dataclass
class Structure:
    """What the analysis knows about one lump's block A and how the emitters solve it."""
    k: int
    a_rows: list[list[int]]      # pattern of A: row i (new_i) -> killed indices
    b_rows: list[list[int]]      # pattern of B: row i -> read indices
    method: str                  # "unrolled" | "generated" | "dense" | "runtime"
    reason: str                  # one line for explain
    bandwidth: int               # max |i - j| over the nonzeros of A (natural order)
    symbolic: Symbolic | None = None     # the chosen static LU ("generated")
    parity: int = 1              # sign of the row permutation of the matching
    tried: dict[str, str] = field(default_factory=dict)   # ordering -> what it gives, for explain
    ordering: str = ""           # the ordering the method uses ("": none, or SuperLU's own)
    order: list[int] | None = None       # position t -> column of A (generated and runtime)
    row_of: list[int] | None = None      # position t -> row of A
    fill: int | None = None      # nnz(L + U) of that ordering (an upper bound for "runtime")
    n_terms: int | None = None   # multiply-adds of the factorisation (likewise)
    estimated: bool = False      # fill and n_terms bound those of A's own pattern from above
    band: Band | None = None     # the banded ordering, when a banded LU is cheaper than SuperLU
    solver: str = ""             # "runtime": "band" (LAPACK gbtrf) or "superlu"

    @property
    def nnz_a(self) -> int:
        return sum(map(len, self.a_rows))

    @property
    def nnz_b(self) -> int:
        return sum(map(len, self.b_rows))


def _matching(a_rows: list[list[int]], k: int) -> list[int] | None:
    """row_for_col[j]: a row of A for every column j, with A[row, j] structurally nonzero,
    all rows distinct; the natural diagonal wherever it is nonzero. None if none exists."""
    cols_of = [set(r) for r in a_rows]
    rows_of_col: list[list[int]] = [[] for _ in range(k)]
    for i, row in enumerate(a_rows):
        for j in row:
            rows_of_col[j].append(i)
    row_for_col = [j if j in cols_of[j] else -1 for j in range(k)]
    col_for_row = [i if i in cols_of[i] else -1 for i in range(k)]
    for start in range(k):
        if row_for_col[start] != -1:
            continue
        # Augmenting path by depth-first search: col -> an unvisited row -> its column...
        parent: dict[int, tuple[int, int]] = {}      # row -> (column it was reached from)
        stack = [(start, iter(rows_of_col[start]))]
        found = -1
        while stack and found < 0:
            c, rows = stack[-1]
            for r in rows:
                if r in parent:
                    continue
                parent[r] = c
                if col_for_row[r] == -1:
                    found = r
                    break
                stack.append((col_for_row[r], iter(rows_of_col[col_for_row[r]])))
                break
            else:
                stack.pop()
        if found < 0:
            return None
        r = found
        while True:                                   # flip the path
            c = parent[r]
            previous = row_for_col[c]
            row_for_col[c], col_for_row[r] = r, c
            if c == start:
                break
            r = previous
    return row_for_col


def _rcm(nbrs: list[list[int]]) -> list[int]:
    """Reverse Cuthill-McKee: breadth-first from a pseudo-peripheral vertex of each
    component, neighbours by increasing degree (then index), the whole order reversed."""
    k = len(nbrs)
    degree = [len(n) for n in nbrs]
    placed = [False] * k
    order: list[int] = []

    def bfs(root: int, mark: list[bool]) -> list[list[int]]:
        levels, frontier = [], [root]
        mark[root] = True
        while frontier:
            levels.append(frontier)
            nxt = []
            for v in frontier:
                for u in sorted(nbrs[v], key=lambda x: (degree[x], x)):
                    if not mark[u]:
                        mark[u] = True
                        nxt.append(u)
            frontier = nxt
        return levels

    for seed in sorted(range(k), key=lambda x: (degree[x], x)):
        if placed[seed]:
            continue
        root, depth = seed, len(bfs(seed, list(placed)))
        for _ in range(4):                            # pseudo-peripheral vertex (George-Liu)
            levels = bfs(root, list(placed))
            candidate = min(levels[-1], key=lambda x: (degree[x], x))
            reach = len(bfs(candidate, list(placed)))
            if reach <= depth:
                break
            root, depth = candidate, reach
        for level in bfs(root, placed):
            order.extend(level)
    order.reverse()
    return order


def _bandwidths(a_rows: list[list[int]], pos: list[int] | None) -> tuple[int, int]:
    """(kl, ku) of A with rows and columns both moved to ``pos`` (None: as they are)."""
    kl = ku = 0
    for i, row in enumerate(a_rows):
        for j in row:
            d = (i - j) if pos is None else (pos[i] - pos[j])
            if d > kl:
                kl = d
            elif -d > ku:
                ku = -d
    return kl, ku


def _neighbours(rows: list[list[int]], k: int) -> list[list[int]]:
    """The graph of M + M^T for the pattern ``rows`` of M: each index's other indices, sorted."""
    nbrs = [set() for _ in range(k)]
    for i, row in enumerate(rows):
        for j in row:
            if i != j:
                nbrs[i].add(j)
                nbrs[j].add(i)
    return [sorted(n) for n in nbrs]


def _band(a_rows: list[list[int]], k: int) -> Band:
    """The narrower of A's natural order and reverse Cuthill-McKee on the graph of A + A^T
    (rows stay with their columns: partial pivoting needs no zero-free diagonal)."""
    kl, ku = _bandwidths(a_rows, None)
    best = Band("natural", None, kl, ku)
    if kl + ku > 2:
        order = _rcm(_neighbours(a_rows, k))
        pos = [0] * k
        for t, j in enumerate(order):
            pos[j] = t
        rcm = Band("RCM", order, *_bandwidths(a_rows, pos))
        if rcm.work < best.work:
            best = rcm
    return best


def _minimum_degree(nbrs: list[list[int]], budget: int) -> tuple[list[int], int, int] | None:
    """Minimum degree on the explicit elimination graph (ties: lowest index): (order,
    nnz(L + U), multiply-adds) of the symmetrised pattern, which bound the unsymmetric
    ones; None when the elimination costs more than ``budget`` set operations."""
    k = len(nbrs)
    adj = [set(n) for n in nbrs]
    heap = [(len(adj[v]), v) for v in range(k)]
    heapq.heapify(heap)
    done = [False] * k
    order: list[int] = []
    below = terms = 0
    while heap:
        d, v = heapq.heappop(heap)
        if done[v] or d != len(adj[v]):
            continue
        done[v] = True
        order.append(v)
        clique = adj[v]
        below += len(clique)
        terms += len(clique) * len(clique)
        if terms > budget:
            return None
        for u in clique:
            au = adj[u]
            au.discard(v)
            au |= clique
            au.discard(u)
            heapq.heappush(heap, (len(au), u))
        adj[v] = set()
    return order, k + 2 * below, terms


def _symbolic(m_rows: list[list[int]], order: list[int], name: str, row_for_col: list[int],
              max_fill: int, max_terms: int) -> Symbolic | None:
    """The static LU of M permuted symmetrically by ``order``; None beyond the bounds."""
    k = len(order)
    pos = [0] * k
    for t, j in enumerate(order):
        pos[j] = t
    lower: list[list[int]] = []
    upper: list[list[int]] = []
    terms: list[dict[int, list[int]]] = []
    fill = n_terms = 0
    for t in range(k):
        row = {pos[c]: [] for c in m_rows[order[t]]}
        heap = [c for c in row if c < t]
        heapq.heapify(heap)
        low = []
        while heap:
            s = heapq.heappop(heap)
            low.append(s)
            for c in upper[s]:
                entry = row.get(c)
                if entry is None:
                    entry = row[c] = []
                    if c < t:
                        heapq.heappush(heap, c)
                entry.append(s)
            n_terms += len(upper[s])
        lower.append(low)
        upper.append(sorted(c for c in row if c > t))
        terms.append(row)
        fill += len(row)
        if fill > max_fill or n_terms > max_terms:
            return None
    return Symbolic(name, list(order), [row_for_col[j] for j in order], lower, upper, terms,
                    fill, n_terms)


def structure(graph: LayeredGraph, lump: Lump, array_mode: bool = False, compiled: bool = False,
              max_fill: int = GENERATED_MAX_FILL, max_terms: int = GENERATED_MAX_TERMS) -> Structure:
    """The patterns of A and B of ``lump`` and the method that solves A (module docstring).

    ``array_mode``: the code must run elementwise on NumPy batches, where one generated
    operation costs a NumPy call and SuperLU would run once per batch element.
    ``compiled``: a backend compiles the code (numba, C): generated elimination compiles,
    a call to a run-time solver does not.
    """
    was_enabled = gc.isenabled()         # millions of small lists: collections would dominate
    gc.disable()
    try:
        return _structure(graph, lump, array_mode, compiled, max_fill, max_terms)
    finally:
        if was_enabled:
            gc.enable()


def _structure(graph, lump, array_mode, compiled, max_fill, max_terms) -> Structure:
    k = lump.k
    a_rows, b_rows = lump_pattern(graph, lump)
    bandwidth = max((abs(i - j) for i, row in enumerate(a_rows) for j in row), default=0)
    st = Structure(k, a_rows, b_rows, "unrolled", "Cramer's rule in scalar code", bandwidth)
    if k <= UNROLL_MAX_K:
        return st
    row_for_col = _matching(a_rows, k)
    if row_for_col is None:            # det A is 0 at every point: the pivoting solve reports it
        st.method = "runtime"
        st.reason = "structurally singular (no zero-free diagonal): every point raises SingularJacobianError"
        return st
    st.parity = permutation_sign(row_for_col)
    m_rows = [a_rows[row_for_col[j]] for j in range(k)]      # row j of M = row row_for_col[j] of A
    nbrs = _neighbours(m_rows, k)
    best: Symbolic | None = None
    md = None
    for name in ("natural", "RCM", "minimum degree"):
        if name == "natural":
            order = list(range(k))
        elif name == "RCM":
            order = _rcm(nbrs)
        else:
            md = _minimum_degree(nbrs, MIN_DEGREE_WORK)
            if md is None:
                st.tried[name] = f"not tried (more than {MIN_DEGREE_WORK:,} operations)"
                continue
            order = md[0]
        sym = _symbolic(m_rows, order, name, row_for_col, max_fill, max_terms)
        if sym is not None:
            st.tried[name] = f"L + U {sym.fill:,} entries, {sym.n_terms:,} multiply-adds"
            if best is None or sym.cost < best.cost:
                best = sym
        elif md is not None and name == "minimum degree":
            st.tried[name] = f"L + U <= {md[1]:,} entries, <= {md[2]:,} multiply-adds"
        else:
            st.tried[name] = "over the code bounds"
    dense = best.fill if best is not None else st.nnz_a
    # Dense factors: unrolled code beats LAPACK's call overhead only for small k on scalars,
    # and never on batches (one NumPy call per operation against one stacked solve).
    if dense >= DENSE_FRACTION * k * k and (best is None or k > (UNROLL_MAX_K if array_mode
                                                                   else DENSE_GENERATED_MAX_K)):
        st.method = "dense"
        st.reason = f"{'L + U' if best else 'A'} is {100 * dense / (k * k):.0f} % dense: LAPACK at run time"
        return st
    band = _band(a_rows, k)
    banded = band_cost(k, band.kl, band.ku, st.nnz_a) if k * band.work <= BAND_MAX_WORK else math.inf
    if best is not None:
        st.ordering, st.order, st.row_of = best.name, best.order, best.row_of
        st.fill, st.n_terms = best.fill, best.n_terms
        gen = generated_cost(k, best.fill, best.n_terms)
        slu = superlu_cost(k, best.fill, best.n_terms)
        if banded < slu:
            st.band = band                             # also the fallback's pivoting solve
        if array_mode or compiled or gen <= SUPERLU_MARGIN * min(slu, banded):
            st.method, st.symbolic = "generated", best
            st.reason = "sparse LU generated for this pattern"
            if not (array_mode or compiled):
                st.reason += f" (estimated {gen / 1e3:.0f} us a point, {_runtime_text(st, slu, banded)})"
            return st
        st.method = "runtime"
        _choose_solver(st, band, slu, banded)
        st.reason += (f": scalar code, where it is estimated at {min(slu, banded) / 1e3:.0f} us a point "
                      f"against {gen / 1e3:.0f} us for generated code")
        return st
    st.method = "runtime"
    slu = math.inf
    if md is not None:
        st.ordering, st.order = "minimum degree", md[0]
        st.row_of = [row_for_col[j] for j in md[0]]
        st.fill, st.n_terms, st.estimated = md[1], md[2], True
        slu = superlu_cost(k, md[1], md[2])
    _choose_solver(st, band, slu, banded)
    st.reason += (f": L + U exceeds the code bounds ({max_fill:,} entries, {max_terms:,} multiply-adds) "
                  f"in every ordering")
    if md is None and st.solver == "superlu":
        st.reason += "; SuperLU orders A itself (MMD on A + A^T)"
    return st


def _runtime_text(st: Structure, slu: float, banded: float) -> str:
    if st.band is not None:
        return f"banded LU {banded / 1e3:.0f} us"
    return f"SuperLU {slu / 1e3:.0f} us"


def _choose_solver(st: Structure, band: Band, slu: float, banded: float) -> None:
    """The run-time solver of a "runtime" lump: the banded LU where it is estimated cheaper."""
    if banded < math.inf and banded <= slu:
        b = st.band = band
        st.solver = "band"
        st.reason = (f"LAPACK banded LU (partial pivoting) at run time, {b.name} order: "
                     f"bandwidths {b.kl} below, {b.ku} above")
    else:
        st.band, st.solver = None, "superlu"
        st.reason = "SuperLU at run time on the pattern"


def describe(st: Structure) -> list[str]:
    """Lines for explain and the generated code: the patterns, how A is solved, the orderings."""
    k = st.k
    lines = [f"A: {st.nnz_a:,} nonzeros of {k} x {k} ({100 * st.nnz_a / (k * k):.1f} %), "
             f"bandwidth {st.bandwidth}; B: {st.nnz_b:,} nonzeros"]
    if st.fill is not None:
        bound = "<= " if st.estimated else ""
        lines.append(f"{st.method}: {st.reason}; {st.ordering} order: L + U {bound}{st.fill:,} entries "
                     f"(fill-in {bound}{st.fill - st.nnz_a:,}), {bound}{st.n_terms:,} multiply-adds")
    else:
        lines.append(f"{st.method}: {st.reason}")
    if st.tried:
        lines.append("orderings: " + "; ".join(f"{name}: {text}" for name, text in st.tried.items()))
    return lines


def label(st: Structure) -> str:
    """A few words for a drawing: how the lump's block A is solved."""
    if st.method == "generated":
        return f"structured: generated sparse LU, {st.nnz_a} nonzeros, L + U {st.fill}"
    if st.method == "runtime":
        return f"structured: SuperLU at run time, {st.nnz_a} nonzeros"
    return "dense LAPACK solve" if st.method == "dense" else "unrolled"


def generated_cost(k: int, fill: int, n_terms: int) -> float:
    """Estimated ns a point for generated scalar code (CPython 3.11, fitted on tri- and
    penta-diagonal blocks and 2-D grids from k = 16 to 576, benchmarks as in
    tests/stencil_programs.py): 13 ns a statement (an entry of L + U, a pivot test per
    multiplier, a reciprocal and the two solves' rows) and 21 ns a term of the
    factorisation and of the solves."""
    statements = fill + (fill - k) / 2 + 3 * k
    return 13.0 * statements + 21.0 * (n_terms + fill - k)


def band_cost(k: int, kl: int, ku: int, nnz: int) -> float:
    """Estimated ns a point for LAPACK's banded LU and solve (scipy's dgbtrf + dgbtrs) on
    one point, with the copies in and out of band storage (same fit): 8.7 us, 60 ns a
    column, 25 ns an entry of A, 0.1 ns a multiply-add of k kl (kl + ku)."""
    return 8_700.0 + 60.0 * k + 25.0 * nnz + 0.1 * k * kl * (kl + ku)


def superlu_cost(k: int, fill: int, n_terms: int) -> float:
    """Estimated ns a point for scipy's SuperLU (or LAPACK up to k = 64) on the pattern with
    the ordering given, one point at a time, call overhead included: 60 us, 250 ns a
    column, 20 ns an entry of L + U, 4 ns a multiply-add (scipy 1.17, same blocks)."""
    return 60_000.0 + 250.0 * k + 20.0 * fill + 4.0 * n_terms
