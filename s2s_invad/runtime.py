"""Helpers the generated code imports (as ``_rt``): the singularity errors and dense solves.

Only lumps with k > 3 call in here at run time: :func:`solve` and :func:`slogdet` for
(nearly) dense blocks, and the structured-lump helpers of :mod:`s2s_invad.runtime_lu`
(re-exported below: the batch pivot test, the pivoting fallback, SuperLU on a pattern);
everything else in the generated code is inline scalar (or, for NumPy sources,
elementwise array) arithmetic. Float32 batches stay float32. The failure path
(``failed``, ``not_finite``: :mod:`s2s_invad.diagnose`) runs only when a result is not
finite or a step raised; ``keep`` and ``patch`` (:mod:`s2s_invad.checkpoints`) hold the
values memory="recompute" keeps where a rebuild would be inexact.
"""

from __future__ import annotations

import math

import numpy as np

from .checkpoints import all_rebuilt, amplify, bounded, keep, patch  # noqa: F401 (used by generated code)
from .diagnose import CHECK_ERRORS, NUMERIC_ERRORS, failed, not_finite  # noqa: F401
from .revolve import revolve  # noqa: F401 (loops reversed by binomial checkpointing)
from .errors import NonFiniteError, S2SError, SingularJacobianError  # noqa: F401
from .runtime_lu import _dtype  # float32 batches stay float32
from .runtime_lu import (NAN, Pattern, isfinite, lu_checked, lu_slogdet,  # noqa: F401 (for generated code)
                         pattern_slogdet, pattern_solve)


def finite(*values) -> bool:
    """True when every value (a float, or an array) is finite and real: the results check
    of a function with many results."""
    try:
        return all(map(math.isfinite, values))
    except TypeError:                                   # arrays, or a complex number
        return not any(np.iscomplexobj(v) or not np.all(np.isfinite(v)) for v in values)


def not_real(total) -> bool:
    """The results check of code with ``**``: ``total`` (the sum of ``x - x`` over the
    results) is not 0 (a result is inf or nan) or is complex (Python's float power of a
    negative number to a fractional exponent)."""
    if isinstance(total, float):                        # a Python float or np.float64
        return total != 0.0
    return np.iscomplexobj(total) or bool(np.any(total != 0.0))


def vector(*elts) -> np.ndarray:
    """The 1-D array of a vector result or tangent; for batches, the elements' batch shape
    follows (shape (n, *batch)), scalars broadcast. The dtype is the elements' (float32
    batches stay float32)."""
    try:
        out = np.array(elts)
    except ValueError:                                  # ragged: scalars mixed with arrays
        out = None
    if out is None or out.dtype == object:
        shape = np.broadcast_shapes(*(np.shape(e) for e in elts))
        dtype = np.result_type(*[e for e in elts if np.ndim(e)] or [float])
        out = np.empty((len(elts),) + shape, dtype=dtype)
        for i, e in enumerate(elts):
            out[i] = e
    return out


def _first_bad(value, zero: bool = True):
    """(index of the first element that is inf, NaN or (``zero``) zero, or None for scalars;
    the value there)."""
    if np.ndim(value) == 0:
        return None, float(value)
    a = np.asarray(value)
    flat = np.flatnonzero(~(np.isfinite(a) & ((a != 0) | (not zero))))
    index = np.unravel_index(flat[0], np.shape(value)) if flat.size else (0,)
    index = tuple(int(i) for i in index)
    index = index[0] if len(index) == 1 else index
    return index, float(a[index])


def _where(index) -> str:
    return "" if index is None else f" (first at batch index {index})"


def _not_finite(filename, line, text, what, bad, index):
    return NonFiniteError(
        f"{filename}:{line}: {what} = {bad!r}{_where(index)} at `{text}` is not finite: this step's "
        "derivative is infinite or undefined here (a function at the edge of its domain, or an "
        "overflow), so the derivatives do not exist as floats at this point; move the point or "
        "rescale the variables", filename, line, bad, index)


def zero_pivot(filename: str, line: int, text: str, what: str, value) -> None:
    """Raise for the first pivot element that is zero (singular J) or not finite."""
    index, bad = _first_bad(value)
    if bad != 0:
        raise _not_finite(filename, line, text, f"the pivot {what}", bad, index)
    raise _zero_pivot(filename, line, text, what, bad, index)


def _zero_pivot(filename, line, text, what, bad, index):
    return SingularJacobianError(
        f"{filename}:{line}: zero pivot {what} = {bad!r}{_where(index)} at `{text}`: the Jacobian "
        "is singular at this point (det J = 0), so J^-1 v and J^-T w do not exist here",
        filename, line, bad, index)


def singular_lump(filename: str, line: int, text: str, k: int, det) -> None:
    """Raise for the first determinant element that is zero (singular block) or not finite."""
    index, bad = _first_bad(det)
    if bad != 0:
        raise _not_finite(filename, line, text, f"det A of the lump (k = {k})", bad, index)
    singular_block(filename, line, text, k, bad, index)


def singular_block(filename: str, line: int, text: str, k: int, det: float, index) -> None:
    """Raise for the lump at ``line`` whose block A is singular at batch ``index``."""
    raise SingularJacobianError(
        f"{filename}:{line}: the lump starting at `{text}` (k = {k}) has a singular block A "
        f"(det A = {det!r}){_where(index)}: the Jacobian is singular at this point, so J^-1 v "
        "and J^-T w do not exist here", filename, line, det, index)


def log_pivot(filename: str, line: int, text: str, what: str, logabs) -> None:
    """slogdet: raise for the first log|pivot| that is -inf (a zero pivot) or inf/NaN."""
    index, bad = _first_bad(logabs, zero=False)
    if bad == -math.inf:
        raise _zero_pivot(filename, line, text, what, 0.0, index)
    raise _not_finite(filename, line, text, f"log|{what}|", bad, index)


def _point_solver():
    """The LAPACK gufunc behind ``numpy.linalg.solve`` for one (k, k) system, without the
    wrapper's checks (they cost 3.5 of its 5 microseconds at k = 8, and a call solves each
    lump once); ``numpy.linalg.solve`` itself where that gufunc is missing or answers
    wrongly."""
    try:
        from numpy.linalg import _umath_linalg
        fn = _umath_linalg.solve1
        if np.allclose(fn(np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([3.0, 5.0])), [0.8, 1.4]):
            return fn
    except Exception:                                   # pragma: no cover - other NumPy builds
        pass
    return np.linalg.solve                              # pragma: no cover


_solve_point = _point_solver()


def solve(rows, rhs, filename: str, line: int, text: str) -> tuple:
    """Solve the k x k system ``rows @ u = rhs`` of a lump; raise on a singular block.

    Entries may be scalars or arrays of one batch shape (broadcasting scalars): a batch is
    solved as one stacked (batch, k, k) system.
    """
    try:
        a = np.array(rows, dtype=float)
        b = np.array(rhs, dtype=float)
    except ValueError:                                  # scalars mixed with arrays
        a = b = None
    if a is not None and a.ndim == 2 and b.ndim == 1:   # one point: the common, fast case
        try:
            with np.errstate(all="ignore"):             # a singular block: NaNs, then our error
                u = _solve_point(a, b).tolist()
        except np.linalg.LinAlgError:
            u = [math.nan]
        if not all(map(math.isfinite, u)):
            _singular(a, filename, line, text)
        return tuple(u)
    k = len(rhs)
    entries = [x for row in rows for x in row] + list(rhs)
    shape = np.broadcast_shapes(*(np.shape(x) for x in entries))
    a = _stacked(rows, shape, _dtype(entries))
    b = _stacked([[x] for x in rhs], shape, a.dtype)
    try:
        u = np.linalg.solve(a, b)[..., 0]
        ok = bool(np.all(np.isfinite(u)))
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        _singular(a, filename, line, text)
    return tuple(u[..., i] for i in range(k))


def _stacked(rows, shape: tuple, dtype=np.float64) -> np.ndarray:
    """The (*shape, len(rows), len(rows[0])) stack of entries ``rows[i][j]``, each a scalar
    or an array broadcast to ``shape``."""
    out = np.empty(shape + (len(rows), len(rows[0])), dtype=dtype)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            out[..., i, j] = x
    return out


def _singular(a, filename: str, line: int, text: str) -> None:
    """Raise for the block(s) ``a`` whose solve failed, at the first with det A = 0."""
    det = np.linalg.det(a)
    singular_lump(filename, line, text, a.shape[-1], np.where(np.isfinite(det) & (det != 0), det, 0.0))


def slogdet(rows, filename: str, line: int, text: str) -> tuple:
    """(sign, log|det|) of a lump's k x k block (k > 3); batches are stacked."""
    entries = [x for row in rows for x in row]
    shape = np.broadcast_shapes(*(np.shape(x) for x in entries))
    a = _stacked(rows, shape, _dtype(entries))
    sign, logabsdet = np.linalg.slogdet(a)
    if np.any(sign == 0):
        singular_lump(filename, line, text, len(rows), np.where(sign == 0, 0.0, 1.0))
    return (float(sign), float(logabsdet)) if not shape else (sign, logabsdet)
