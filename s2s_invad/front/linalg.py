"""Front end: ``np.linalg`` besides ``norm`` (which is in :mod:`.nonsmooth`).

Matrices a user's function factors or inverts are most often constants of the transform (a
mass matrix, a mixing layer's weights): these functions then run in NumPy at transform time
and their results are constants of the generated code, like any module constant. The one
runtime form is ``np.linalg.solve(A, b)`` with a constant A and a runtime b, which is linear
in b: it becomes ``inv(A) @ b`` (A inverted once, at transform time; the result's error is
cond(A) times the rounding, as a solve's is). A runtime matrix is refused at its line: the
generated code holds no factorisation of runtime values.
"""

from __future__ import annotations

import numpy as np

from .values import Scalar


def _runtime(value) -> bool:
    from .evaluate import _holds_runtime           # (evaluate imports library, which imports this)
    return _holds_runtime(value)


CONSTANT_ONLY = ("inv", "det", "slogdet", "cholesky", "eig", "eigh", "eigvals", "eigvalsh", "qr", "svd",
                 "pinv", "cond", "matrix_rank", "lstsq")
NAMES = set(CONSTANT_ONLY) | {"solve", "multi_dot", "matrix_power"}


def _numeric(value) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _constant(name):
    fn = getattr(np.linalg, name)

    def impl(ev, alias, args, kwargs):
        from .library import ev_errors
        if any(_runtime(a) for a in list(args) + list(kwargs.values())):
            raise ev.refuse(ev.node, f"np.linalg.{name} of runtime values is not supported: the generated "
                                     "code holds no factorisation of runtime values; np.linalg.solve(A, b) "
                                     "with a constant A and a runtime b is, and so is any np.linalg function "
                                     "of constants")
        try:
            out = fn(*[_numeric(a) if isinstance(a, (list, tuple, np.ndarray)) else a for a in args], **kwargs)
        except (np.linalg.LinAlgError, *ev_errors()) as exc:
            raise ev.fail(ev.node, f"np.linalg.{name} failed at transform time: {exc}") from None
        return _plain(out)
    return impl


def _plain(out):
    """NumPy's result with its scalars as Python floats and its named tuples as tuples."""
    if isinstance(out, tuple):
        return tuple(_plain(o) for o in out)
    if isinstance(out, np.generic):
        return out.item()
    return out


def _solve(ev, alias, args, kwargs):
    from .library import _exactly, _no_keywords, ev_errors, to_array
    _no_keywords(ev, "np.linalg.solve", kwargs)
    a, b = _exactly(ev, "np.linalg.solve", args, 2)
    if _runtime(a):
        raise ev.refuse(ev.node, "np.linalg.solve with a runtime matrix is not supported (the generated code "
                                 "holds no factorisation of runtime values): the matrix must be a constant "
                                 "of the transform")
    try:
        if not _runtime(b):
            return _plain(np.linalg.solve(_numeric(a), _numeric(b)))
        inverse = np.linalg.inv(_numeric(a))
    except (np.linalg.LinAlgError, *ev_errors()) as exc:
        raise ev.fail(ev.node, f"np.linalg.solve failed at transform time: {exc}") from None
    rhs = to_array(ev, b)
    try:
        return inverse @ rhs
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.linalg.solve failed: {exc}") from None


def _multi_dot(ev, alias, args, kwargs):
    """np.linalg.multi_dot(arrays): the products left to right (NumPy picks the cheapest
    order; the sums differ from it only by rounding)."""
    from .library import _exactly, _no_keywords, _sequence, ev_errors, to_array
    _no_keywords(ev, "np.linalg.multi_dot", kwargs)
    (arrays,) = _exactly(ev, "np.linalg.multi_dot", args, 1)
    items = [to_array(ev, a) for a in _sequence(ev, arrays, "np.linalg.multi_dot")]
    if len(items) < 2:
        raise ev.fail(ev.node, "np.linalg.multi_dot takes at least two arrays")
    ev.product_of(*items)
    try:
        out = items[0]
        for item in items[1:]:
            out = out @ item
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.linalg.multi_dot failed: {exc}") from None
    return out


def _matrix_power(ev, alias, args, kwargs):
    """np.linalg.matrix_power(M, k): k - 1 products for a runtime M and k >= 1 (the identity
    for k = 0); a negative k inverts, so only for a constant M."""
    from .library import _exactly, _no_keywords, ev_errors, to_array
    _no_keywords(ev, "np.linalg.matrix_power", kwargs)
    m, k = _exactly(ev, "np.linalg.matrix_power", args, 2)
    if not _runtime(m):
        return _constant("matrix_power")(ev, alias, args, kwargs)
    if isinstance(k, Scalar) or not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise ev.refuse(ev.node, "np.linalg.matrix_power takes a transform-time integer exponent")
    if k < 0:
        raise ev.refuse(ev.node, "np.linalg.matrix_power of a runtime matrix with a negative exponent inverts "
                                 "runtime values, which is not supported")
    mat = to_array(ev, m)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ev.fail(ev.node, f"np.linalg.matrix_power takes a square matrix, got shape {mat.shape}")
    ev.product_of(m)
    try:
        out = np.eye(mat.shape[0]) if k == 0 else mat
        for _ in range(max(k - 1, 0)):
            out = out @ mat
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.linalg.matrix_power failed: {exc}") from None
    return out


IMPLS = {("numpy.linalg", name): _constant(name) for name in CONSTANT_ONLY}
IMPLS[("numpy.linalg", "solve")] = _solve
IMPLS[("numpy.linalg", "multi_dot")] = _multi_dot
IMPLS[("numpy.linalg", "matrix_power")] = _matrix_power
