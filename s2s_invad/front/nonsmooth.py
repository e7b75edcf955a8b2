"""Front end: the nonsmooth functions of the input language, evaluated at transform time.

Comparisons of runtime values (``x > 0``, ``x <= y``; combined by ``&``, ``|``, ``~``) are
runtime values that are True or False: statements of the primitives gt, ge, lt, le and
logical_and/or/not, whose derivative is 0 (they are constants of the derivative code). On
them rest

* ``np.where(c, a, b)``: the primitive where (a select: the unselected branch's value never
  reaches the result; d = (0, c, 1 - c), jnp.where's rule);
* ``np.maximum``, ``np.minimum`` (NaN propagates), ``np.fmax``, ``np.fmin`` (NaN ignored):
  primitives whose derivative at a tie is 1/2 for each operand (jnp.maximum's convention);
  builtin ``max(a, b, ...)`` and ``min`` of runtime values are chains of np.maximum and
  np.minimum (so NaN propagates, where Python's max(1.0, nan) would give 1.0);
  ``np.clip(x, lo, hi)`` is np.minimum(np.maximum(x, lo), hi), as NumPy and JAX define it;
  ``np.max``, ``np.amax``, ``np.min``, ``np.amin`` and the methods ``.max()``, ``.min()``
  fold np.maximum / np.minimum over the axis (at a tie of three or more values the weights
  are those of the chain, 1/4, 1/4, 1/2 for three: JAX's reduce_max splits them equally);
* ``np.sign`` (derivative 0) and ``np.heaviside(x, h)`` (d/dx 0, d/dh 1 where x == 0);
* ``np.linalg.norm``: the 2-norm and Frobenius norm as sqrt of the sum of squares (the
  derivative x / norm has no value at 0: the results check raises NonFiniteError there,
  where JAX returns NaN), ord=1 and ord=inf as sums and maxima of abs;
* ``np.logaddexp(a, b)`` = max + log1p(exp(min - max)) (no overflow; derivative exactly
  1/2 at a tie).
"""

from __future__ import annotations

import math

import numpy as np

from ..primitives import BOOLEAN
from . import library as L
from .values import Scalar, is_number


def condition(ev, c):
    """``c`` as a condition: a number is True or False now; a runtime comparison is itself;
    another runtime value x is x != 0, as NumPy reads it."""
    if not isinstance(c, Scalar):
        return bool(c)
    stmt = ev.defs.get(id(c.value))
    if stmt is not None and stmt.op in BOOLEAN:
        return c
    return ev.compare("ne", c, 0.0)


def logical(ev, op: str, alias, *xs):
    """np.logical_and / logical_or / logical_not (``&``, ``|``, ``~`` of comparisons),
    elementwise; a number operand decides now (``c & True`` is c, ``c | True`` True)."""
    alias = alias or L._numpy_alias(ev)
    if any(isinstance(x, (list, tuple, np.ndarray)) for x in xs):
        return L.broadcast(ev, f"{alias}.{op}", lambda *e: logical(ev, op, alias, *e), xs)
    if not all(isinstance(x, Scalar) or is_number(x) for x in xs):
        from .evaluate import _kind
        raise ev.fail(ev.node, f"{alias}.{op} of {', '.join(_kind(x) for x in xs)}: it takes conditions")
    conds = [condition(ev, x) for x in xs]
    if op == "logical_not":
        return ev.primitive(op, alias, conds[0]) if isinstance(conds[0], Scalar) else not conds[0]
    a, b = conds
    for known, other in ((a, b), (b, a)):
        if not isinstance(known, Scalar):
            if op == "logical_and":
                return other if known else False
            return True if known else other
    return ev.primitive(op, alias, a, b)


def _logical_impl(op, arity):
    def impl(ev, alias, args, kwargs):
        L._no_keywords(ev, f"{alias}.{op}", kwargs)
        if len(args) != arity:
            raise ev.fail(ev.node, f"{alias}.{op} takes {arity} argument(s) here, got {len(args)}")
        return logical(ev, op, alias, *args)
    return impl


def select(ev, alias, c, a, b):
    """``np.where(c, a, b)`` of one element: a or b now when c is a number, else a where
    statement (unless both branches are the same number)."""
    c = condition(ev, c)
    if not isinstance(c, Scalar):
        return a if c else b
    if not isinstance(a, Scalar) and not isinstance(b, Scalar) and a == b:
        return a
    return ev.primitive("where", alias, c, a, b)


def _np_where(ev, alias, args, kwargs):
    L._no_keywords(ev, f"{alias}.where", kwargs)
    if len(args) == 1:
        from .evaluate import _holds_runtime
        if not _holds_runtime(args[0]):               # indices of a transform-time mask: NumPy's
            return np.where(np.array(L.to_array(ev, args[0]).tolist()))
        raise ev.refuse(ev.node, f"{alias}.where(condition) gives the indices where it holds, which "
                                 f"depend on the input: write {alias}.where(condition, a, b)")
    if len(args) != 3:
        raise ev.fail(ev.node, f"{alias}.where takes the condition and two values, got {len(args)} arguments")
    return L.broadcast(ev, f"{alias}.where", lambda c, a, b: select(ev, alias, c, a, b), args)


def _extreme(ev, prim, alias, a, b):
    return L.binary(ev, prim, "numpy", alias, a, b)


def _builtin_extreme(ev, name, items, kwargs):
    """``max(a, b, ...)`` / ``min`` of runtime scalars: a chain of np.maximum / np.minimum."""
    if kwargs:
        raise ev.refuse(ev.node, f"{name}() of runtime values with {next(iter(kwargs))}=: compare the values "
                                 f"themselves ({name}(a, b) or np.{name}imum)")
    if not items:
        raise ev.fail(ev.node, f"{name}() of an empty sequence")
    for item in items:
        if not (isinstance(item, Scalar) or is_number(item)):
            from .evaluate import _kind
            raise ev.refuse(ev.node, f"{name}() of {_kind(item)} among runtime values: Python would compare "
                                     f"them whole; use np.{name}imum for elementwise {name}ima")
    alias = L._numpy_alias(ev)
    total = items[0]
    for item in items[1:]:
        total = _extreme(ev, f"{name}imum", alias, total, item)
    return total


def _np_clip(ev, alias, args, kwargs):
    """np.clip(a, a_min, a_max) = np.minimum(np.maximum(a, a_min), a_max); None: no bound
    (also the method a.clip(a_min, a_max))."""
    alias = alias or L._numpy_alias(ev)
    a = L._arguments(ev, f"{alias}.clip", args, kwargs, ("a", "a_min", "a_max"), required=1)
    lo, hi = a.get("a_min"), a.get("a_max")
    if lo is None and hi is None:
        raise ev.fail(ev.node, f"{alias}.clip needs a_min or a_max (both are None)")
    out = a["a"]
    if lo is not None:
        out = _extreme(ev, "maximum", alias, out, lo)
    if hi is not None:
        out = _extreme(ev, "minimum", alias, out, hi)
    return out


def _axes(ev, axis, ndim, name) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for ax in axes:
        ax = L._count(ev, ax, f"the axis of {name}")
        if not -ndim <= ax < ndim:
            raise ev.fail(ev.node, f"axis {ax} of {name} is out of bounds for an array of {ndim} dimension(s)")
        out.append(ax % ndim)
    return tuple(out)


def reduce(ev, prim, alias, arr, axis, keepdims, name):
    """np.maximum (or minimum) folded over ``axis`` of ``arr``, first element first."""
    axes = _axes(ev, axis, arr.ndim, name)
    if any(arr.shape[ax] == 0 for ax in axes) or arr.size == 0:
        raise ev.fail(ev.node, f"{name} of an empty array: it has no identity")
    rest = [d for i, d in enumerate(arr.shape) if i not in axes]
    rows = np.moveaxis(arr, axes, tuple(range(len(axes)))).reshape((-1, *rest))
    out = rows[0]
    for row in rows[1:]:
        out = _extreme(ev, prim, alias, out, row)
    if keepdims:
        out = L.to_array(ev, out).reshape([1 if i in axes else d for i, d in enumerate(arr.shape)])
    return out


def _extremum(name):
    """np.max / np.min (np.amax, np.amin, the methods .max(), .min()): reductions."""
    prim = f"{name}imum"

    def impl(ev, alias, args, kwargs):
        what = f"{alias}.{name}" if alias else f".{name}()"
        a = L._arguments(ev, what, args, kwargs, ("a", "axis", "out", "keepdims", "initial", "where"))
        for key in ("out", "initial", "where"):
            if key in a:
                raise ev.refuse(ev.node, f"{key}= of {what} is not supported: leave it out")
        alias = alias or L._numpy_alias(ev)
        x = a["a"]
        if isinstance(x, Scalar) or is_number(x):
            L._sequence(ev, x, what)
            return x
        arr = L.to_array(ev, x)
        L.across_batch(ev, arr, name, (a.get("axis"),), {}, what)
        return reduce(ev, prim, alias, arr, a.get("axis"), bool(a.get("keepdims", False)), what)
    return impl


def _abs(ev, alias, x):
    return L.primitive(ev, "abs", "numpy", alias, x)


def _sum(values):
    total = 0.0
    for v in values:
        total = total + v
    return total


def vector_norm(ev, alias, items: list, order, name):
    """The norm of one vector: ord None or 2: sqrt(sum x*x); 1: sum |x|; inf / -inf: the
    largest / smallest |x|; p: (sum |x|**p) ** (1/p)."""
    if order is None or order == 2:
        total = _sum(x * x for x in items)
        return L.primitive(ev, "sqrt", "numpy", alias, total) if isinstance(total, Scalar) else math.sqrt(total)
    if order == 1:
        return _sum(_abs(ev, alias, x) for x in items)
    if order in (math.inf, -math.inf):
        if not items:
            raise ev.fail(ev.node, f"{name} with ord={order} of an empty vector")
        return reduce(ev, "maximum" if order > 0 else "minimum", alias,
                      L.to_array(ev, [_abs(ev, alias, x) for x in items]), None, False, name)
    if is_number(order) and order > 0:
        return _sum(_abs(ev, alias, x) ** order for x in items) ** (1.0 / order)
    raise ev.refuse(ev.node, f"{name} with ord={order!r} is not supported: it takes ord None, 1, 2, np.inf, "
                             "-np.inf or p > 0 for vectors")


def _matrix_norm(ev, alias, arr, order, name):
    """Frobenius (ord None or 'fro'), or the largest (smallest) column sum (ord 1, -1) or
    row sum (ord inf, -inf) of |a_ij|; the spectral and nuclear norms are refused."""
    if order is None or order == "fro":
        return vector_norm(ev, alias, list(arr.ravel()), None, name)
    if order in (1, -1, math.inf, -math.inf):
        axis = 0 if order in (1, -1) else 1
        sums = L.to_array(ev, [_sum(_abs(ev, alias, x) for x in line)
                               for line in (arr.T if axis == 0 else arr)])
        return reduce(ev, "maximum" if order > 0 else "minimum", alias, sums, None, False, name)
    raise ev.refuse(ev.node, f"{name} of a matrix with ord={order!r} is not supported (it needs singular "
                             "values): use ord None ('fro'), 1, -1, np.inf or -np.inf")


def _np_norm(ev, alias, args, kwargs):
    name = f"{alias}.linalg.norm"
    a = L._arguments(ev, name, args, kwargs, ("x", "ord", "axis", "keepdims"))
    if a.get("keepdims"):
        raise ev.refuse(ev.node, f"keepdims= of {name} is not supported")
    alias = L._numpy_alias(ev) if alias is None else alias
    order, axis = a.get("ord"), a.get("axis")
    x = a["x"]
    if isinstance(x, Scalar) or is_number(x):
        L._sequence(ev, x, name)
        return _abs(ev, alias, x)
    arr = L.to_array(ev, x)
    L.across_batch(ev, arr, "norm", (), {}, name)
    if axis is None:
        if arr.ndim == 2 and order is not None:
            return _matrix_norm(ev, alias, arr, order, name)
        if arr.ndim > 2 and order is not None:
            raise ev.fail(ev.node, f"{name} with ord= takes a vector or a matrix")
        return vector_norm(ev, alias, list(arr.ravel()), order, name)
    if isinstance(axis, tuple) and len(axis) == 2:
        if arr.ndim != 2 or set(_axes(ev, axis, 2, name)) != {0, 1}:
            raise ev.refuse(ev.node, f"{name} over two axes of a {arr.ndim}-D array is not supported")
        matrix = arr if _axes(ev, axis, 2, name) == (0, 1) else arr.T
        return _matrix_norm(ev, alias, matrix, order, name)
    (ax,) = _axes(ev, axis, arr.ndim, name)
    lines = np.moveaxis(arr, ax, -1)
    out = np.empty(lines.shape[:-1], dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = vector_norm(ev, alias, list(lines[index]), order, name)
    return L._unwrap(out)


def _np_logaddexp(ev, alias, args, kwargs):
    """np.logaddexp(a, b) = log(exp(a) + exp(b)) as m + log1p(exp(n - m)), m = maximum(a, b)
    and n = minimum(a, b): no overflow, and d/da = 1/2 exactly at a = b."""
    L._no_keywords(ev, f"{alias}.logaddexp", kwargs)
    if len(args) != 2:
        raise ev.fail(ev.node, f"{alias}.logaddexp takes two arguments, got {len(args)}")

    def each(a, b):
        if not isinstance(a, Scalar) and not isinstance(b, Scalar):
            return float(np.logaddexp(a, b))
        high, low = _extreme(ev, "maximum", alias, a, b), _extreme(ev, "minimum", alias, a, b)
        gap = L.primitive(ev, "exp", "numpy", alias, low - high)
        return high + L.primitive(ev, "log1p", "numpy", alias, gap)
    return L.broadcast(ev, f"{alias}.logaddexp", each, args)


IMPLS = {
    ("numpy", "where"): _np_where,
    ("numpy", "logical_and"): _logical_impl("logical_and", 2),
    ("numpy", "logical_or"): _logical_impl("logical_or", 2),
    ("numpy", "logical_not"): _logical_impl("logical_not", 1),
    ("numpy", "clip"): _np_clip,
    ("numpy", "max"): _extremum("max"),
    ("numpy", "amax"): _extremum("max"),
    ("numpy", "min"): _extremum("min"),
    ("numpy", "amin"): _extremum("min"),
    ("numpy", "logaddexp"): _np_logaddexp,
    ("numpy.linalg", "norm"): _np_norm,
}
NUMPY_NAMES = {"where", "logical_and", "logical_or", "logical_not", "clip", "max", "amax", "min", "amin",
               "logaddexp", "linalg"}
METHODS = {"max": _extremum("max"), "min": _extremum("min"), "clip": _np_clip}
