"""Independent derivative oracle: dense Jacobians by the complex-step method.

Nothing here imports s2s_invad. The function under test is rebuilt from its own
source text and run on complex numbers: for an analytic real function g,
g(x + i h) = g(x) + i h g'(x) + O(h^2), so Im g(x + i h) / h is g'(x) with no
subtractive cancellation, exact to rounding even with h = 1e-30.

The rebuilt function sees shims instead of `math`, `np` and `numpy`: each supported
primitive maps to the NumPy ufunc (which accepts complex and array arguments), and
`abs` maps to a version that keeps the complex step alive (z if Re z >= 0 else -z).
"""

import ast
import inspect
import math
import numbers
import textwrap
import types

import numpy as np

STEP = 1e-30


def _abs(z):
    """|z| for real z, extended analytically: z or -z, chosen by the sign of Re z."""
    if np.ndim(z) == 0:
        return z if np.real(z) >= 0 else -z
    return np.where(np.real(z) >= 0, z, -z)


# Every function the input language accepts, under every spelling it accepts.
_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "sqrt": np.sqrt, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
}

SHIM = types.SimpleNamespace(pi=math.pi, e=math.e, **_FUNCTIONS)


def underlying_function(f):
    """The plain Python function behind f (follows __wrapped__ / __func__)."""
    seen = 0
    while not isinstance(f, types.FunctionType):
        seen += 1
        if seen > 20:
            break
        if hasattr(f, "__wrapped__"):
            f = f.__wrapped__
        elif hasattr(f, "__func__"):
            f = f.__func__
        else:
            break
    if not isinstance(f, types.FunctionType):
        raise TypeError(f"oracle needs a Python function, got {f!r}")
    return f


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def rebuild(f):
    """Re-create f from its source text with the complex-capable shims in scope."""
    f = underlying_function(f)
    tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
    (fdef,) = tree.body
    fdef.decorator_list = []
    namespace = {k: float(v) for k, v in f.__globals__.items() if _is_number(v)}
    namespace.update(math=SHIM, np=SHIM, numpy=SHIM, abs=_abs)
    filename = inspect.getsourcefile(f) or "<oracle>"
    exec(compile(tree, filename, "exec"), namespace)
    return namespace[fdef.name]


def parameter_names(f):
    return tuple(inspect.signature(underlying_function(f)).parameters)


def _wrt_indices(f, wrt):
    names = parameter_names(f)
    if wrt is None:
        return list(range(len(names)))
    return [names.index(name) for name in wrt]


def _as_tuple(result):
    return tuple(result) if isinstance(result, tuple) else (result,)


def evaluate(f, primals):
    """f(*primals) computed by the rebuilt function, as floats shaped like f's result."""
    result = rebuild(f)(*[float(x) for x in primals])
    values = tuple(float(np.real(r)) for r in _as_tuple(result))
    return values if isinstance(result, tuple) else values[0]


def dense_jacobian(f, primals, wrt=None):
    """The m x n Jacobian of f at primals with respect to the wrt parameters."""
    g = rebuild(f)
    base = [complex(float(x)) for x in primals]
    columns = []
    for j in _wrt_indices(f, wrt):
        point = list(base)
        point[j] += complex(0.0, STEP)
        outputs = _as_tuple(g(*point))
        columns.append([float(np.imag(y)) / STEP for y in outputs])
    return np.array(columns, dtype=float).T.reshape(-1, len(columns))


def cond(jacobian):
    """2-norm condition number, inf for a singular matrix."""
    with np.errstate(all="ignore"):
        c = np.linalg.cond(jacobian)
    return float(c) if np.isfinite(c) else math.inf
