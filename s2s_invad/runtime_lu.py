"""Run-time helpers for lumps whose block A is sparse (SPEC section 8); re-exported by runtime.

Generated code for a structured lump computes A's nonzeros itself. It calls into this
module only

* to check, in one call per lump, the static pivots of a generated LU on a batch
  (:func:`lu_checked`, :func:`lu_slogdet`): every multiplier must satisfy
  ``|l| <= MULTIPLIER_BOUND`` and every result must be finite, else that batch element is
  solved again by a pivoting solve of the same A;
* for that pivoting solve (:func:`pattern_solve`, :func:`pattern_slogdet`): LAPACK's
  banded LU (``gbtrf``, partial pivoting) when the pattern carries a band (the analysis
  gives one where it is estimated cheaper than SuperLU), else LAPACK (partial pivoting)
  on A built from its nonzeros for k <= DENSE_MAX_K, SuperLU
  (``scipy.sparse.linalg.splu``, threshold partial pivoting) above; this is also how the
  lumps solved at run time by choice (narrow bands, 2-D grids in scalar code) or because
  their factors are too big for generated code are solved.

Only a pivoting solve that meets an exactly zero pivot reports
:class:`SingularJacobianError`, citing the lump's first source line and the first
singular batch element; a failed solve with an input, an entry of A or a right-hand side
that is not finite, or whose result overflows, is a :class:`NonFiniteError` saying which
(:func:`s2s_invad.runtime.lump_failed`). Float32 batches stay float32; Python floats give float64.

The pivot test is threshold partial pivoting with tau = 1 / MULTIPLIER_BOUND = 0.1, the
default of UMFPACK and the test MA48 and SuperLU's ``diag_pivot_thresh`` make: a static
pivot is accepted while it is at least tau times every entry below it in its column,
i.e. every multiplier |l_ik| <= 1/tau. That bounds how much one elimination step can grow
the remaining entries (by at most 1 + 1/tau = 11 times the largest multiplied entry), which
is what the backward error |dA| <= gamma_k |L| |U| of LU depends on; a zero, tiny or NaN
pivot always fails it (its multipliers are inf, huge or NaN), and a zero pivot with no
entry below it gives a non-finite result, which fails the finiteness test.
"""

from __future__ import annotations

import math

import numpy as np

MULTIPLIER_BOUND = 10.0          # 1 / tau of threshold partial pivoting
DENSE_MAX_K = 64                 # pivoting solves up to this k use LAPACK on a dense A
NAN = math.nan
isfinite = math.isfinite


class Pattern:
    """The nonzero pattern of a lump's block A (rows: new values, columns: killed values),
    in compressed-row form; generated code passes A's entries in this order.

    ``order`` and ``rows`` (position t -> column and row of A), when given, are the static
    ordering chosen at transform time: SuperLU then factorises M' = P A Q in that order
    (``permc_spec="NATURAL"``) instead of ordering A itself on every call.

    ``band=(kl, ku, order)``: solve by LAPACK's banded LU instead, A's rows and columns
    both moved to position ``order`` (None: as they are), where no entry lies more than kl
    below or ku above the diagonal.
    """

    def __init__(self, k: int, starts, columns, order=None, rows=None, band=None):
        self.k = k
        self.indptr = np.asarray(starts, dtype=np.intp)
        self.indices = np.asarray(columns, dtype=np.intp)
        self.rows = np.repeat(np.arange(k, dtype=np.intp), np.diff(self.indptr))
        if len(self.indptr) != k + 1 or self.indptr[-1] != len(self.indices):
            raise ValueError("inconsistent pattern")
        self.order = None if order is None else np.asarray(order, dtype=np.intp)
        self.row_of = None if rows is None else np.asarray(rows, dtype=np.intp)
        if self.order is not None:
            pos_col = np.empty(k, dtype=np.intp)
            pos_col[self.order] = np.arange(k)
            pos_row = np.empty(k, dtype=np.intp)
            pos_row[self.row_of] = np.arange(k)
            t, c = pos_row[self.rows], pos_col[self.indices]
            self._gather = np.lexsort((t, c))          # CSC of M': column c, then row t
            self._csc_rows = t[self._gather]
            self._csc_ptr = np.concatenate(([0], np.cumsum(np.bincount(c, minlength=k))))
            self.sign = permutation_sign(self.order.tolist()) * permutation_sign(self.row_of.tolist())
        self.band = None
        if band is not None:
            kl, ku, border = band
            self.band = (int(kl), int(ku), None if border is None else np.asarray(border, dtype=np.intp))
            pos = np.arange(k, dtype=np.intp)
            if border is not None:
                pos[self.band[2]] = np.arange(k)
            t, c = pos[self.rows], pos[self.indices]
            d = t - c
            if len(d) and (d.max() > kl or -d.min() > ku):
                raise ValueError("an entry outside the band")
            self._ldab = 2 * int(kl) + int(ku) + 1        # gbtrf's storage: kl rows of room for pivoting
            self._band_index = c * self._ldab + (int(kl) + int(ku) + d)

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def dense(self, values: np.ndarray) -> np.ndarray:
        """(m, k, k) blocks from (m, nnz) entries."""
        out = np.zeros((values.shape[0], self.k, self.k), dtype=values.dtype)
        out[:, self.rows, self.indices] = values
        return out

    def superlu(self, values: np.ndarray) -> "_SuperLU":
        """SuperLU's factorisation of one block from its (nnz,) entries (float64); raises
        RuntimeError when a pivot is exactly zero."""
        from scipy import sparse
        from scipy.sparse.linalg import splu
        if self.order is None:
            a = sparse.csr_matrix((values, self.indices, self.indptr), shape=(self.k, self.k)).tocsc()
            lu = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=1.0 / MULTIPLIER_BOUND,
                      options=dict(SymmetricMode=True))
            return _SuperLU(lu, None, None, 1)
        m = sparse.csc_matrix((values[self._gather], self._csc_rows, self._csc_ptr), shape=(self.k, self.k))
        lu = splu(m, permc_spec="NATURAL", diag_pivot_thresh=1.0 / MULTIPLIER_BOUND,
                  options=dict(SymmetricMode=True))
        return _SuperLU(lu, self.order, self.row_of, self.sign)


    def banded(self, values: np.ndarray):
        """LAPACK's banded LU of one block from its (nnz,) entries (float64): (lu, piv),
        or None when a pivot is exactly zero."""
        from scipy.linalg.lapack import dgbtrf
        kl, ku, _ = self.band
        ab = np.zeros(self.k * self._ldab)
        ab[self._band_index] = values
        lu, piv, info = dgbtrf(ab.reshape(self.k, self._ldab).T, kl, ku, overwrite_ab=1)
        return None if info != 0 else (lu, piv)

    def band_solve(self, factors, b: np.ndarray, transposed: bool) -> np.ndarray:
        """Solve with A (A^T) from :meth:`banded`'s factors, in A's own numbering."""
        from scipy.linalg.lapack import dgbtrs
        kl, ku, border = self.band
        lu, piv = factors
        if border is None:
            return dgbtrs(lu, kl, ku, b, piv, trans=1 if transposed else 0)[0]
        x = np.empty_like(b)                            # A x = b: M (x[order]) = b[order]
        x[border] = dgbtrs(lu, kl, ku, b[border], piv, trans=1 if transposed else 0)[0]
        return x

    def band_slogdet(self, factors) -> tuple[float, float]:
        """(sign, log|det A|) from :meth:`banded`'s factors (the symmetric move of rows and
        columns does not change det A)."""
        kl, ku, _ = self.band
        lu, piv = factors
        diag = lu[kl + ku]
        swaps = int(np.count_nonzero(piv != np.arange(self.k)))
        sign = (-1.0 if swaps % 2 else 1.0) * float(np.prod(np.sign(diag)))
        return sign, float(np.sum(np.log(np.abs(diag))))


class _SuperLU:
    """A factorised block: solves with A or A^T in A's own numbering, and its slogdet."""

    def __init__(self, lu, order, row_of, sign: int):
        self.lu, self.order, self.row_of, self.sign = lu, order, row_of, sign

    def solve(self, b: np.ndarray, transposed: bool) -> np.ndarray:
        if self.order is None:
            return self.lu.solve(b, trans="T" if transposed else "N")
        x = np.empty_like(b)
        if transposed:                                 # M'^T z' = Q^T s, z = P^T z'
            x[self.row_of] = self.lu.solve(b[self.order], trans="T")
        else:                                          # M' x' = P b, x = Q x'
            x[self.order] = self.lu.solve(b[self.row_of])
        return x

    def slogdet(self) -> tuple[float, float]:
        diag = self.lu.U.diagonal()
        sign = (self.sign * permutation_sign(self.lu.perm_r.tolist())
                * permutation_sign(self.lu.perm_c.tolist()) * np.prod(np.sign(diag)))
        return float(sign), float(np.sum(np.log(np.abs(diag))))


def _dtype(values) -> np.dtype:
    """float32 when every array among ``values`` is float32, else float64 (Python floats
    do not count: they are weak, as in NumPy's own promotion)."""
    kinds = {v.dtype for v in values if isinstance(v, (np.ndarray, np.generic))}
    if kinds and all(d == np.float32 for d in kinds):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _stack(values: tuple) -> np.ndarray:
    """(len(values), *shape): scalars and arrays of one batch shape, stacked (one NumPy
    call when all have the same shape, the common case; else broadcast)."""
    try:
        out = np.asarray(values)
        if out.dtype.kind == "f":
            return out
    except ValueError:                          # scalars mixed with arrays
        pass
    shape = np.broadcast_shapes(*(np.shape(v) for v in values))
    out = np.empty((len(values),) + shape, dtype=_dtype(values))
    for i, v in enumerate(values):
        out[i] = v
    return out


def _flat(stack: np.ndarray, shape: tuple, where=None) -> np.ndarray:
    """(points, len) from a (len, *part of shape) stack broadcast to the batch ``shape``;
    only the flat positions ``where`` when given."""
    lead = (1,) * (len(shape) - (stack.ndim - 1))       # scalars beside arrays: align the batch axes
    stack = stack.reshape(stack.shape[:1] + lead + stack.shape[1:])
    full = np.broadcast_to(stack, stack.shape[:1] + shape).reshape(stack.shape[0], -1)
    return (full if where is None else full[:, where]).T


def _failed(site: tuple, k: int, index, entries: np.ndarray, rhs, singular: bool) -> None:
    """Raise for the pivoting solve (factorisation) of one block that failed: the input, A's
    entries, the right-hand side, a singular A or an overflow (:func:`runtime.lump_failed`)."""
    from .runtime import lump_failed
    lump_failed(*site, k, index, entries, rhs, singular)


def _scaled(solve, b: np.ndarray):
    """``solve(b)`` for a right-hand side whose solve was not finite though A is regular and
    b finite: an elimination step overflowed (b near the float range), so solve for b / s
    (s the power of 2 nearest max |b|, exact) and scale back; None if it still overflows."""
    big = float(np.max(np.abs(b))) if b.size else 0.0
    if not (0.0 < big < math.inf):
        return None
    e = math.frexp(big)[1]
    with np.errstate(all="ignore"):
        x = np.ldexp(solve(np.ldexp(b, -e)), e)
    return x if np.all(np.isfinite(x)) else None


def _solve_points(pattern: Pattern, values: np.ndarray, rhs: np.ndarray, transposed: bool,
                  points: list, site: tuple) -> np.ndarray:
    """Pivoting solves of m systems: values (m, nnz), rhs (m, k) -> (m, k) in float64.

    ``points`` names each system's batch index (None for a lone point) for the error.
    """
    m, k = rhs.shape
    out = np.empty((m, k))
    if pattern.band is not None:
        for p in range(m):
            b = rhs[p].astype(float)
            with np.errstate(all="ignore"):
                factors = pattern.banded(values[p].astype(float, copy=False))
                if factors is not None:
                    out[p] = pattern.band_solve(factors, b, transposed)
            if factors is None or not np.all(np.isfinite(out[p])):
                x = None if factors is None else _scaled(lambda c: pattern.band_solve(factors, c, transposed), b)
                if x is None:
                    _failed(site, k, points[p], values[p], rhs[p], factors is None)
                out[p] = x
        return out
    if k <= DENSE_MAX_K:
        a = pattern.dense(values.astype(float))
        if transposed:
            a = np.swapaxes(a, -1, -2)
        singular = np.zeros(m, dtype=bool)
        with np.errstate(all="ignore"):
            try:
                out[:] = np.linalg.solve(a, rhs.astype(float)[..., None])[..., 0]
                failed = ~np.all(np.isfinite(out), axis=1)
            except np.linalg.LinAlgError:            # some block exactly singular: one by one
                failed = np.zeros(m, dtype=bool)
                for p in range(m):
                    try:
                        out[p] = np.linalg.solve(a[p], rhs[p].astype(float))
                        failed[p] = not np.all(np.isfinite(out[p]))
                    except np.linalg.LinAlgError:
                        failed[p] = singular[p] = True
        for p in np.flatnonzero(failed):
            x = None
            if not singular[p] and np.all(np.isfinite(a[p])):
                x = _scaled(lambda c: np.linalg.solve(a[p], c), rhs[p].astype(float))
            if x is None:
                _failed(site, k, points[p], values[p], rhs[p], bool(singular[p]))
            out[p] = x
        return out
    for p in range(m):
        lu = None
        b = rhs[p].astype(float, copy=False)
        try:
            with np.errstate(all="ignore"):
                lu = pattern.superlu(values[p].astype(float, copy=False))
                out[p] = lu.solve(b, transposed)
            ok = bool(np.all(np.isfinite(out[p])))
        except RuntimeError:                          # "Factor is exactly singular"
            ok = False
        if not ok:
            x = None if lu is None else _scaled(lambda c: lu.solve(c, transposed), b)
            if x is None:
                _failed(site, k, points[p], values[p], rhs[p], lu is None)
            out[p] = x
    return out


def _points(shape: tuple, flat: np.ndarray) -> list:
    """The batch index of each flat position: None for a lone point, an int for a 1-D
    batch, a tuple for more dimensions (as the other singularity errors report it)."""
    if not shape:
        return [None]
    if len(shape) == 1:
        return [int(f) for f in flat]
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]


def pattern_solve(pattern: Pattern, entries: tuple, rhs: tuple, filename: str, line: int, text: str,
                  transposed: bool = False) -> tuple:
    """Solve A u = rhs (A^T u = rhs when ``transposed``) by a pivoting solve at every point;
    A's ``entries`` follow ``pattern``. Scalars give floats, batches arrays."""
    a, b = _stack(entries), _stack(rhs)
    site = (filename, line, text)
    if a.ndim == 1 and b.ndim == 1:                  # one point (scalar code): no batch to map
        x = _solve_points(pattern, a[None, :], b[None, :], transposed, [None], site)[0]
        return tuple(x.tolist()) if x.dtype == np.float64 else tuple(x)
    shape = np.broadcast_shapes(a.shape[1:], b.shape[1:])
    dtype = np.result_type(a.dtype, b.dtype)
    points = _points(shape, np.arange(int(np.prod(shape))))
    x = _solve_points(pattern, _flat(a, shape), _flat(b, shape), transposed, points, site)
    if not shape:
        return tuple(x[0].tolist()) if dtype == np.float64 else tuple(x[0].astype(dtype))
    return tuple(x.T.reshape((pattern.k,) + shape).astype(dtype, copy=False))


def lu_checked(pattern: Pattern, multipliers: tuple, results: tuple, entries: tuple, rhs: tuple,
               filename: str, line: int, text: str, transposed: bool = False) -> tuple:
    """``results`` of a generated static-pivot LU solve, where every multiplier passed the
    pivot test and every result is finite; the other batch elements solved again."""
    x = _stack(results)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x).all(axis=0)
        if multipliers:
            bad = bad | ~(np.abs(_stack(multipliers)) <= MULTIPLIER_BOUND).all(axis=0)
    if not bad.any():
        return results
    a, b = _stack(entries), _stack(rhs)
    shape = np.broadcast_shapes(bad.shape, x.shape[1:], a.shape[1:], b.shape[1:])
    flat = np.flatnonzero(np.broadcast_to(bad, shape))
    fixed = _solve_points(pattern, _flat(a, shape, flat), _flat(b, shape, flat), transposed,
                          _points(shape, flat), (filename, line, text))
    out = _flat(x, shape).T.copy()
    out[:, flat] = fixed.T
    if not shape:
        return tuple(out[:, 0].tolist()) if out.dtype == np.float64 else tuple(out[:, 0])
    return tuple(out.reshape((len(results),) + shape))


def _slogdet_points(pattern: Pattern, values: np.ndarray, points: list, site: tuple):
    """(sign, log|det|) of m blocks by a pivoting factorisation; raise where det A = 0."""
    m, k = values.shape[0], pattern.k
    if pattern.band is not None:
        sign, logabs = np.zeros(m), np.full(m, -np.inf)
        for p in range(m):
            with np.errstate(all="ignore"):
                factors = pattern.banded(values[p].astype(float))
                if factors is not None:
                    sign[p], logabs[p] = pattern.band_slogdet(factors)
    elif k <= DENSE_MAX_K:
        with np.errstate(all="ignore"):
            sign, logabs = np.linalg.slogdet(pattern.dense(values.astype(float)))
    else:
        sign, logabs = np.zeros(m), np.full(m, -np.inf)
        for p in range(m):
            try:
                with np.errstate(all="ignore"):
                    sign[p], logabs[p] = pattern.superlu(values[p].astype(float)).slogdet()
            except RuntimeError:
                continue
    for p in np.flatnonzero((sign == 0) | ~np.isfinite(logabs)):
        _failed(site, k, points[p], values[p], None, True)   # a zero pivot, unless an entry is not finite
    return sign, logabs


def permutation_sign(perm) -> int:
    """+1 or -1: the parity of the permutation i -> perm[i] (by its cycles)."""
    seen = [False] * len(perm)
    sign = 1
    for start in range(len(perm)):
        if seen[start]:
            continue
        length, j = 0, start
        while not seen[j]:
            seen[j] = True
            j = perm[j]
            length += 1
        if length % 2 == 0:
            sign = -sign
    return sign


def pattern_slogdet(pattern: Pattern, entries: tuple, filename: str, line: int, text: str):
    """(sign, log|det A|) by a pivoting factorisation at every point."""
    a = _stack(entries)
    shape = a.shape[1:]
    sign, logabs = _slogdet_points(pattern, _flat(a, shape), _points(shape, np.arange(int(np.prod(shape)))),
                                   (filename, line, text))
    if not shape:
        return float(sign[0]), float(logabs[0])
    return sign.reshape(shape).astype(a.dtype), logabs.reshape(shape).astype(a.dtype)


def lu_slogdet(pattern: Pattern, pivots: tuple, multipliers: tuple, parity: float, entries: tuple,
               filename: str, line: int, text: str):
    """(sign, log|det A|) from the pivots of a generated static LU: det A = parity x the
    product of the pivots where the pivots pass the test of :func:`lu_checked` (and are
    nonzero and finite); the other batch elements by a pivoting factorisation."""
    p = _stack(pivots)
    with np.errstate(all="ignore"):
        bad = ~(np.isfinite(p) & (p != 0)).all(axis=0)
        if multipliers:
            bad = bad | ~(np.abs(_stack(multipliers)) <= MULTIPLIER_BOUND).all(axis=0)
        sign = parity * np.prod(np.sign(p), axis=0)
        logabs = np.sum(np.log(np.abs(p)), axis=0)
    if bad.any():
        a = _stack(entries)
        shape = np.broadcast_shapes(bad.shape, p.shape[1:], a.shape[1:])
        flat = np.flatnonzero(np.broadcast_to(bad, shape))
        s, la = _slogdet_points(pattern, _flat(a, shape, flat), _points(shape, flat), (filename, line, text))
        sign = np.array(np.broadcast_to(sign, shape), dtype=p.dtype)
        logabs = np.array(np.broadcast_to(logabs, shape), dtype=p.dtype)
        sign.reshape(-1)[flat] = s
        logabs.reshape(-1)[flat] = la
    if np.ndim(sign) == 0:
        return float(sign), float(logabs)
    return sign.astype(logabs.dtype), logabs
