"""Helpers the generated code imports (as ``_rt``): the singularity errors and dense solves.

Only lumps with k > 3 call :func:`solve` at run time; everything else in the generated
code is inline scalar arithmetic.
"""

from __future__ import annotations

import numpy as np

from .errors import SingularJacobianError


def zero_pivot(filename: str, line: int, text: str, what: str, value) -> None:
    raise SingularJacobianError(
        f"{filename}:{line}: zero pivot {what} = {value!r} at `{text}`: the Jacobian is singular "
        "at this point (det J = 0), so J^-1 v and J^-T w do not exist here", filename, line, value)


def singular_lump(filename: str, line: int, text: str, k: int, det) -> None:
    raise SingularJacobianError(
        f"{filename}:{line}: the lump starting at `{text}` (k = {k}) has a singular block A "
        f"(det A = {det!r}): the Jacobian is singular at this point, so J^-1 v and J^-T w do not "
        "exist here", filename, line, det)


def solve(rows, rhs, filename: str, line: int, text: str) -> tuple:
    """Solve the k x k system ``rows @ u = rhs`` of a lump; raise on a singular block."""
    a = np.array(rows, dtype=float)
    b = np.array(rhs, dtype=float)
    try:
        u = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        singular_lump(filename, line, text, len(rhs), float(np.linalg.det(a)))
    if not np.all(np.isfinite(u)):
        singular_lump(filename, line, text, len(rhs), float(np.linalg.det(a)))
    return tuple(float(x) for x in u)
