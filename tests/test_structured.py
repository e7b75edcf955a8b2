"""Lumps with k > 3 and a sparse block A (SPEC section 8): patterns, orderings, symbolic LU,
the generated elimination and its run-time fallback, against the independent dense oracle.

Expected values come from oracle.py (complex-step Jacobians) and NumPy's dense solves;
structural facts (patterns, fill) from dense NumPy elimination of random matrices with the
pattern, never from the tool's own output.
"""

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import runtime_lu
from s2s_invad.analysis import pattern
from s2s_invad.api import analysis_of

import oracle
import programs
import stencil_programs as sp

# name -> builder; the method each gets is asserted, so every path below is exercised.
PROGRAMS = {
    "tridiagonal": (lambda ns: sp.bratu(12, ns), {"math": "generated", "np": "generated"}),
    "bratu_lambda": (lambda ns: sp.bratu(10, ns, active_lambda=True), {"math": "generated", "np": "generated"}),
    "pentadiagonal": (lambda ns: sp.pentadiagonal(16, ns), {"math": "generated", "np": "generated"}),
    "grid_5x5": (lambda ns: sp.grid(5, ns), {"math": "generated", "np": "generated"}),
    "grid_12x12": (lambda ns: sp.grid(12, ns), {"math": "runtime", "np": "generated"}),   # math: banded LU
    "arrow": (lambda ns: sp.arrow(12, ns), {"math": "generated", "np": "generated"}),
    "random": (lambda ns: sp.random_sparse(30, 4, ns), {"math": "generated", "np": "generated"}),
    "random_weak": (lambda ns: sp.random_sparse(24, 5, ns, dominant=False), {"math": "generated", "np": "generated"}),
}


def load(program_dir, name, ns):
    src, funcname, n = PROGRAMS[name][0](ns)
    return programs.load_source(src, funcname, program_dir), n


def big_lump(f):
    analysis = analysis_of(f)
    return analysis, max(analysis.lumps, key=lambda l: l.k)


def method_of(f, array_mode):
    analysis, lump = big_lump(f)
    return pattern.structure(analysis.graph, lump, array_mode=array_mode).method


def point(n, seed, scale=0.5):
    return tuple(np.random.default_rng(seed).uniform(-scale, scale, n))


def dense_answers(f, x, v):
    jac = oracle.dense_jacobian(f, x)
    return {"jvp": jac @ v, "vjp": jac.T @ v, "ijvp": np.linalg.solve(jac, v),
            "ivjp": np.linalg.solve(jac.T, v), "slogdet": np.array(np.linalg.slogdet(jac))}, jac


def run(f, mode, x, v, **kw):
    if mode == "jvp":
        return si.jvp(f, x, v)[1]
    if mode == "vjp":
        return si.vjp(f, *x, **kw)[1](v)
    if mode == "ijvp":
        return si.ijvp(f, x, v, **kw)[1]
    if mode == "ivjp":
        return si.ivjp(f, *x)[1](v)
    return si.slogdet(f, x)[1]


MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")


# -- the pattern and the symbolic factorisation -----------------------------------------

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_pattern_is_the_nonzero_pattern_of_the_jacobian(name, program_dir):
    f, n = load(program_dir, name, "math")
    analysis, lump = big_lump(f)
    a_rows, b_rows = pattern.lump_pattern(analysis.graph, lump)
    jac = oracle.dense_jacobian(f, point(n, 1))
    params = [p.name for p in analysis.program.wrt]
    outputs = [o.name for o in analysis.program.outputs]
    rows = [outputs.index(v.name) for v in lump.new]
    cols = [params.index(u.name) for u in lump.killed]
    reads = [params.index(r.name) for r in lump.read]
    for i, r in enumerate(rows):
        assert a_rows[i] == [j for j, c in enumerate(cols) if jac[r, c] != 0], (i, lump.new[i])
        assert b_rows[i] == [j for j, c in enumerate(reads) if jac[r, c] != 0], (i, lump.new[i])


def _numeric_lu_pattern(rows: list[list[int]], order, row_of, seed) -> set:
    """Nonzeros of L + U of P A Q by dense elimination without pivoting, random entries."""
    k = len(rows)
    rng = np.random.default_rng(seed)
    a = np.zeros((k, k))
    for i, row in enumerate(rows):
        a[i, row] = rng.uniform(1.0, 2.0, len(row))
        if i in row:
            a[i, i] += 4.0 * k                 # dominant: no cancellation, no tiny pivot
    m = a[np.ix_(row_of, order)]
    for s in range(k):
        m[s + 1:, s] /= m[s, s]
        m[s + 1:, s + 1:] -= np.outer(m[s + 1:, s], m[s, s + 1:])
    return {(t, c) for t, c in zip(*np.nonzero(m))}


def _random_rows(k, per_row, seed, diagonal=True):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(k):
        cols = set(rng.choice(k, size=per_row, replace=False).tolist())
        if diagonal:
            cols.add(i)
        rows.append(sorted(cols))
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_symbolic_lu_matches_numeric_elimination(seed):
    rows = _random_rows(40, 3, seed)
    k = len(rows)
    nbrs = [sorted({c for c in rows[i] if c != i} | {j for j in range(k) if i in rows[j] and j != i})
            for i in range(k)]
    for order in (list(range(k)), pattern._rcm(nbrs), pattern._minimum_degree(nbrs, 10 ** 7)[0]):
        assert sorted(order) == list(range(k))
        sym = pattern._symbolic(rows, order, "test", list(range(k)), 10 ** 6, 10 ** 7)
        got = {(t, c) for t in range(k) for c in sym.terms[t]}
        assert got == _numeric_lu_pattern(rows, order, order, seed)
        assert sym.fill == len(got)
        assert all(sym.lower[t] == sorted(c for c in sym.terms[t] if c < t) for t in range(k))


def test_matching_finds_a_zero_free_diagonal():
    # Rows 0 and 1 swap their columns: the natural diagonal is zero at (0, 0) and (1, 1).
    rows = [[1, 2], [0], [2, 3], [0, 3]]
    row_for_col = pattern._matching(rows, 4)
    assert sorted(row_for_col) == [0, 1, 2, 3]
    assert all(j in rows[row_for_col[j]] for j in range(4))
    assert row_for_col[2] == 2 and row_for_col[3] == 3            # kept where it was nonzero
    assert pattern._matching([[0, 1], [0, 1], [0, 1], [3]], 4) is None   # structurally singular


def test_arrow_is_ordered_without_fill(program_dir):
    f, n = load(program_dir, "arrow", "math")
    analysis, lump = big_lump(f)
    st = pattern.structure(analysis.graph, lump)
    assert st.method == "generated" and st.fill == st.nnz_a      # no fill-in at all:
    assert st.order.index(0) >= n - 2                             # the hub among the last two
    assert "natural: L + U 144 entries" in "\n".join(pattern.describe(st))   # it fills in completely


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_program_gets_its_method(name, program_dir):
    for ns, array_mode in (("math", False), ("np", True)):
        f, _ = load(program_dir, name, ns)
        assert method_of(f, array_mode) == PROGRAMS[name][1][ns]


def test_big_grid_goes_to_the_banded_lu_and_bratu_4096_is_generated():
    grid = pattern.structure(*_analysed(sp.grid(32)))
    assert grid.method == "runtime" and "code bounds" in grid.reason and grid.order is not None
    assert grid.solver == "band" and (grid.band.kl, grid.band.ku) == (32, 32)
    bratu = pattern.structure(*_analysed(sp.bratu(4096)))
    assert bratu.method == "generated" and bratu.fill == 3 * 4096 - 2 and bratu.n_terms == 4095


def test_run_time_solver_is_the_cheaper_of_banded_lu_and_superlu():
    """A 2-D grid is narrow (bandwidth m): the banded LU; a random pattern is not (RCM
    leaves it wide): SuperLU; a compiling backend gets generated code for the grid."""
    grid = pattern.structure(*_analysed(sp.grid(12)))
    assert (grid.method, grid.solver, grid.band.name, grid.band.kl) == ("runtime", "band", "natural", 12)
    assert "LAPACK banded LU" in grid.reason
    assert pattern.structure(*_analysed(sp.grid(12)), compiled=True).method == "generated"
    wide = pattern.structure(*_analysed(sp.random_sparse(300, 3)))
    assert (wide.method, wide.solver, wide.band) == ("runtime", "superlu", None)
    assert "SuperLU at run time" in wide.reason


def _analysed(built):
    import tempfile
    src, funcname, n = built
    f = programs.load_source(src, funcname, tempfile.mkdtemp())
    analysis, lump = big_lump(f)
    return analysis.graph, lump


# -- every mode against the oracle ------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_modes_match_oracle_on_scalars(name, program_dir):
    f, n = load(program_dir, name, "math")
    for seed in (2, 3):
        x = point(n, seed)
        v = np.random.default_rng(seed + 10).normal(size=n)
        want, jac = dense_answers(f, x, v)
        tol = 1e-10 * max(1.0, np.linalg.cond(jac))
        for mode in MODES:
            got = np.array(run(f, mode, x, tuple(v)), dtype=float)
            if mode == "slogdet":
                assert got[0] == want[mode][0] and abs(got[1] - want[mode][1]) <= tol * max(1, abs(want[mode][1]))
            else:
                assert np.linalg.norm(got - want[mode]) <= tol * np.linalg.norm(want[mode]), mode


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_modes_match_oracle_on_batches(name, program_dir):
    f, n = load(program_dir, name, "np")
    batch = 3
    rng = np.random.default_rng(7)
    x = tuple(rng.uniform(-0.5, 0.5, batch) for _ in range(n))
    v = tuple(rng.normal(size=batch) for _ in range(n))
    got = {mode: np.array(run(f, mode, x, v), dtype=float) for mode in MODES}
    for b in range(batch):
        xb = tuple(float(c[b]) for c in x)
        want, jac = dense_answers(f, xb, np.array([c[b] for c in v]))
        tol = 1e-10 * max(1.0, np.linalg.cond(jac))
        for mode in MODES:
            if mode == "slogdet":
                assert got[mode][0, b] == want[mode][0]
                assert abs(got[mode][1, b] - want[mode][1]) <= tol * max(1, abs(want[mode][1]))
            else:
                assert np.linalg.norm(got[mode][:, b] - want[mode]) <= tol * np.linalg.norm(want[mode]), mode


def test_recompute_ijvp_with_a_structured_lump(program_dir):
    """memory="recompute" deletes the lump's temporaries; generated, SuperLU and fallback."""
    zero = sp.zero_diagonal(8)
    g = programs.load_source(zero[0], zero[1], program_dir)
    want, _ = dense_answers(g, (0.0,) * 8, np.arange(1.0, 9.0))
    got = si.ijvp(g, (0.0,) * 8, tuple(np.arange(1.0, 9.0)), memory="recompute")[1]
    np.testing.assert_allclose(got, want["ijvp"], rtol=1e-12, atol=1e-12)
    for name, ns in (("pentadiagonal", "math"), ("pentadiagonal", "np"), ("grid_12x12", "math")):
        f, n = load(program_dir, name, ns)
        x = point(n, 5)
        v = np.random.default_rng(6).normal(size=n)
        want, _ = dense_answers(f, x, v)
        got = si.ijvp(f, x, tuple(v), memory="recompute")[1]
        np.testing.assert_allclose(np.array(got, dtype=float), want["ijvp"], rtol=1e-10, atol=1e-12)
        assert "del " in si.source(f, "ijvp", memory="recompute")


# -- zero pivots and singular blocks -----------------------------------------------------

def _count_fallbacks(monkeypatch):
    calls = []
    real_solve, real_slogdet = runtime_lu._solve_points, runtime_lu._slogdet_points

    def solve(*args):
        calls.append(args[1].shape[0])
        return real_solve(*args)

    def slogdet(*args):
        calls.append(args[1].shape[0])
        return real_slogdet(*args)
    monkeypatch.setattr(runtime_lu, "_solve_points", solve)
    monkeypatch.setattr(runtime_lu, "_slogdet_points", slogdet)
    return calls


def test_zero_diagonal_is_solved_by_the_fallback(program_dir, monkeypatch):
    """F_i = u_{i-1} + u_{i+1} + u_i^2 at u = 0, n even: A = tridiag(1, 0, 1) is nonsingular
    but every static pivot is 0."""
    calls = _count_fallbacks(monkeypatch)
    src, funcname, n = sp.zero_diagonal(10)
    f = programs.load_source(src, funcname, program_dir)
    x = (0.0,) * n
    v = np.random.default_rng(8).normal(size=n)
    want, _ = dense_answers(f, x, v)
    for mode in ("ijvp", "ivjp", "slogdet"):
        got = np.array(run(f, mode, x, tuple(v)), dtype=float)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want[mode], rtol=1e-12, atol=1e-12)
    assert calls == [1, 1, 1]                                         # one pivoting solve each


def test_zero_diagonal_in_a_batch_repairs_only_those_elements(program_dir, monkeypatch):
    calls = _count_fallbacks(monkeypatch)
    src, funcname, n = sp.zero_diagonal(10, "np")
    f = programs.load_source(src, funcname, program_dir)
    rng = np.random.default_rng(9)
    x = tuple(np.where([True, False, True, False], 0.0, rng.uniform(0.2, 0.6, 4)) for _ in range(n))
    v = tuple(rng.normal(size=4) for _ in range(n))
    for mode in ("ijvp", "ivjp", "slogdet"):
        got = np.array(run(f, mode, x, v), dtype=float)
        for b in range(4):
            xb = tuple(float(c[b]) for c in x)
            want, _ = dense_answers(f, xb, np.array([c[b] for c in v]))
            np.testing.assert_allclose(got[:, b], want[mode], rtol=1e-10, atol=1e-12)
    assert calls == [2, 2, 2]                                         # elements 0 and 2 only


@pytest.mark.parametrize("ns", ["math", "np"])
def test_singular_block_names_the_lump_and_the_batch_index(ns, program_dir):
    src, funcname, n = sp.zero_diagonal(9, ns)                        # odd n: singular at u = 0
    f = programs.load_source(src, funcname, program_dir)
    first_line = f.__code__.co_firstlineno + 1
    points = [((0.0,) * n, None)]
    if ns == "np":
        column = np.array([0.4, 0.3, 0.0, 0.0])                       # singular at 2 and 3
        points.append((tuple(column for _ in range(n)), 2))
    for x, index in points:
        for call in (lambda: si.ijvp(f, x, x), lambda: si.ivjp(f, *x)[1](x), lambda: si.slogdet(f, x)):
            with pytest.raises(si.SingularJacobianError) as info:
                call()
            err = info.value
            assert err.lineno == first_line and err.index == index
            assert f"{funcname}.py:{first_line}" in str(err) and "singular block A" in str(err)
            if index is not None:
                assert f"batch index {index}" in str(err)


def test_superlu_path_reports_singular_blocks():
    k = 80                                     # above DENSE_MAX_K: SuperLU decides
    rows = [[i - 1, i, i + 1][(i == 0):3 - (i == k - 1)] for i in range(k)]
    starts = np.cumsum([0] + [len(r) for r in rows])
    cols = [j for r in rows for j in r]
    entries = tuple(0.0 if i == j else 1.0 for i, r in enumerate(rows) for j in r)   # tridiag(1, 0, 1)
    pat = runtime_lu.Pattern(k, starts, cols)
    x = runtime_lu.pattern_solve(pat, entries, (1.0,) * k, "f.py", 3, "r0 = ...")
    dense = np.zeros((k, k))
    dense[pat.rows, pat.indices] = entries
    np.testing.assert_allclose(dense @ np.array(x), np.ones(k), atol=1e-12)        # even k: fine
    singular = runtime_lu.Pattern(k - 1, starts[:k], cols[:starts[k - 1]])
    with pytest.raises(si.SingularJacobianError, match="f.py:3"):
        runtime_lu.pattern_solve(singular, entries[:starts[k - 1]], (1.0,) * (k - 1), "f.py", 3, "r0 = ...")


@pytest.mark.parametrize("seed", range(3))
def test_superlu_with_a_static_ordering_solves_and_signs_correctly(seed):
    k = 90
    rng = np.random.default_rng(seed)
    rows = _random_rows(k, 3, seed)
    starts = np.cumsum([0] + [len(r) for r in rows])
    cols = [j for r in rows for j in r]
    entries = rng.normal(size=len(cols))
    order, row_of = rng.permutation(k), rng.permutation(k)
    dense = np.zeros((k, k))
    dense[np.repeat(np.arange(k), np.diff(starts)), cols] = entries
    b = rng.normal(size=k)
    for pat in (runtime_lu.Pattern(k, starts, cols), runtime_lu.Pattern(k, starts, cols, order, row_of)):
        lu = pat.superlu(entries)
        np.testing.assert_allclose(dense @ lu.solve(b, False), b, atol=1e-9 * np.abs(b).max() * np.linalg.cond(dense))
        np.testing.assert_allclose(dense.T @ lu.solve(b, True), b, atol=1e-9 * np.abs(b).max() * np.linalg.cond(dense))
        sign, logabs = lu.slogdet()
        want = np.linalg.slogdet(dense)
        assert sign == want[0] and logabs == pytest.approx(want[1], abs=1e-9)


def _banded_rows(k, kl, ku, seed, density=0.6):
    rng = np.random.default_rng(seed)
    return [sorted({j for j in (i - 1, i, i + 1) if 0 <= j < k}
                   | {j for j in range(max(0, i - kl), min(k, i + ku + 1)) if rng.random() < density})
            for i in range(k)]


@pytest.mark.parametrize("seed", range(4))
def test_banded_lu_solves_and_signs_like_dense(seed):
    """LAPACK's banded LU on the pattern, natural and permuted, with a zero diagonal that
    needs pivoting: A x = b, A^T z = b and slogdet against NumPy on the dense block."""
    k, kl, ku = 70, 3, 2
    rng = np.random.default_rng(seed)
    rows = _banded_rows(k, kl, ku, seed)
    starts = np.cumsum([0] + [len(r) for r in rows])
    cols = [j for r in rows for j in r]
    diagonal = np.array([starts[i] + rows[i].index(i) for i in range(k)])
    for _ in range(20):                               # a draw that is well conditioned
        entries = rng.normal(size=len(cols))
        entries[diagonal] += 3.0
        entries[diagonal[::3]] = 0.0                  # pivoting needed
        dense = np.zeros((k, k))
        dense[np.repeat(np.arange(k), np.diff(starts)), cols] = entries
        if np.linalg.cond(dense) < 1e6:
            break
    assert np.linalg.cond(dense) < 1e6
    b = rng.normal(size=k)
    order = rng.permutation(k)                      # a symmetric move widens the band to all of A
    pos = np.empty(k, dtype=int)
    pos[order] = np.arange(k)
    d = [pos[i] - pos[j] for i, r in enumerate(rows) for j in r]
    for pat in (runtime_lu.Pattern(k, starts, cols, band=(kl, ku, None)),
                runtime_lu.Pattern(k, starts, cols, band=(max(d), -min(d), order))):
        factors = pat.banded(entries)
        tol = 1e-10 * np.abs(b).max() * np.linalg.cond(dense)
        np.testing.assert_allclose(dense @ pat.band_solve(factors, b, False), b, atol=tol)
        np.testing.assert_allclose(dense.T @ pat.band_solve(factors, b, True), b, atol=tol)
        sign, logabs = pat.band_slogdet(factors)
        want = np.linalg.slogdet(dense)
        assert sign == want[0] and logabs == pytest.approx(want[1], abs=1e-9)
        x = runtime_lu.pattern_solve(pat, tuple(entries.tolist()), tuple(b.tolist()), "f.py", 3, "r0 = ...", True)
        np.testing.assert_allclose(dense.T @ np.array(x), b, atol=tol)
    with pytest.raises(ValueError, match="outside the band"):
        runtime_lu.Pattern(k, starts, cols, band=(kl - 1, ku, None))


def test_banded_lu_reports_singular_blocks_with_the_batch_index():
    k = 9                                               # tridiag(1, 0, 1) of odd k: singular
    rows = [[j for j in (i - 1, i, i + 1) if 0 <= j < k] for i in range(k)]
    starts = np.cumsum([0] + [len(r) for r in rows])
    cols = [j for r in rows for j in r]
    pat = runtime_lu.Pattern(k, starts, cols, band=(1, 1, None))
    zero = np.array([0.0 if i == j else 1.0 for i, r in enumerate(rows) for j in r])
    good = np.where(zero == 0.0, 3.0, 1.0)
    entries = tuple(np.stack([good, zero, good], axis=1))          # batch element 1 singular
    with pytest.raises(si.SingularJacobianError, match="batch index 1") as info:
        runtime_lu.pattern_solve(pat, entries, tuple(np.ones((k, 3))), "f.py", 3, "r0 = ...")
    assert info.value.index == 1
    with pytest.raises(si.SingularJacobianError, match="batch index 1"):
        runtime_lu.pattern_slogdet(pat, entries, "f.py", 3, "r0 = ...")


# -- dtypes, generated source ------------------------------------------------------------

@pytest.mark.parametrize("name", ["tridiagonal", "grid_5x5", "random_weak"])
def test_float32_batches_stay_float32(name, program_dir):
    f, n = load(program_dir, name, "np")
    rng = np.random.default_rng(11)
    x = tuple(rng.uniform(-0.5, 0.5, 5).astype(np.float32) for _ in range(n))
    v = tuple(rng.normal(size=5).astype(np.float32) for _ in range(n))
    for mode in ("ijvp", "ivjp", "slogdet"):
        out = run(f, mode, x, v)
        assert all(np.asarray(o).dtype == np.float32 for o in out), mode
        want = np.array(run(f, mode, tuple(c.astype(float) for c in x), tuple(c.astype(float) for c in v)))
        np.testing.assert_allclose(np.array(out, dtype=float), want, rtol=2e-3, atol=2e-3)


def test_batch_beside_scalar_tangents_through_the_fallback(program_dir):
    """A batch of points with one scalar tangent (it broadcasts), element 0 repaired."""
    src, funcname, n = sp.zero_diagonal(8, "np")
    f = programs.load_source(src, funcname, program_dir)
    x = tuple(np.array([0.0, 0.3]) for _ in range(n))
    v = tuple(float(i + 1) for i in range(n))
    for mode in ("ijvp", "ivjp"):
        got = np.array(run(f, mode, x, v), dtype=float)
        for b in range(2):
            want, _ = dense_answers(f, tuple(float(c[b]) for c in x), np.array(v))
            np.testing.assert_allclose(got[:, b], want[mode], rtol=1e-10, atol=1e-12)


def test_float32_batches_stay_float32_through_the_fallback(program_dir):
    src, funcname, n = sp.zero_diagonal(8, "np")
    f = programs.load_source(src, funcname, program_dir)
    x = tuple(np.array([0.0, 0.3, 0.0], dtype=np.float32) for _ in range(n))
    v = tuple(np.ones(3, dtype=np.float32) for _ in range(n))
    for mode in ("ijvp", "ivjp", "slogdet"):
        assert all(np.asarray(o).dtype == np.float32 for o in run(f, mode, x, v)), mode


def test_dense_lapack_path_keeps_float32():
    from batch_functions import lump5
    x = tuple(np.linspace(0.2, 0.8, 4).astype(np.float32) + i / 10 for i in range(5))
    for mode in ("ijvp", "ivjp", "slogdet"):
        assert all(np.asarray(o).dtype == np.float32 for o in run(lump5, mode, x, x)), mode


def test_generated_source_is_deterministic_short_lined_and_linear(program_dir):
    sizes = {}
    for n in (100, 200):
        src, funcname, _ = sp.bratu(n)
        f = programs.load_source(src, funcname, program_dir)
        for mode in ("ijvp", "ivjp", "slogdet"):
            text = si.source(f, mode)
            assert text == si.source(f, mode)
            lines = text.splitlines()
            block = lines[next(i for i, line in enumerate(lines) if "lump with k =" in line):]
            block = [line for line in block if not line.lstrip().startswith(("return", "def"))]
            assert max(map(len, block)) <= 200           # the lump's code (not the signatures)
            sizes[(n, mode)] = len(text)
    for mode in ("ijvp", "ivjp", "slogdet"):
        assert 1.8 < sizes[(200, mode)] / sizes[(100, mode)] < 2.2     # linear in n, not n^2


def test_explain_and_graph_say_how_each_lump_is_solved(program_dir):
    f, n = load(program_dir, "grid_5x5", "math")
    report = si.explain(f)
    assert "A: 105 nonzeros of 25 x 25" in report and "bandwidth 5" in report
    assert "generated: sparse LU generated for this pattern" in report
    assert "order: L + U" in report and "fill-in" in report and "orderings: natural:" in report
    g, _ = load(program_dir, "grid_12x12", "math")
    assert "runtime: LAPACK banded LU (partial pivoting) at run time, natural order: bandwidths 12" in si.explain(g)
    from s2s_invad.report.dot import figure
    tri = sp.bratu(5)
    h = programs.load_source(tri[0], tri[1], program_dir)
    rows = figure(analysis_of(h), "ijvp").rows
    assert "structured: generated sparse LU, 13 nonzeros, L + U 13" in rows[1]
