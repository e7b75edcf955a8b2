"""Independent derivative oracle: dense Jacobians by the complex-step method.

Nothing here imports s2s_invad. The function under test is rebuilt from its own
source text and run on complex numbers: for an analytic real function g,
g(x + i h) = g(x) + i h g'(x) + O(h^2), so Im g(x + i h) / h is g'(x) with no
subtractive cancellation, exact to rounding even with h = 1e-30.

The rebuilt function sees shims instead of `math`, `np` and `numpy`: each supported
primitive maps to the NumPy ufunc (which accepts complex and array arguments), and
`abs` maps to a version that keeps the complex step alive (z if Re z >= 0 else -z).
Comparisons ``a < b`` (<, <=, >, >=) compare real parts, and the nonsmooth functions
(np.maximum, np.where's conditions, np.max, builtin max...) choose by real parts, so
away from kinks and ties the chosen piece carries the step.
"""

import ast
import dataclasses
import inspect
import linecache
import math
import numbers
import operator
import textwrap
import types

import numpy as np
import scipy.special

STEP = 1e-30


def _abs(z):
    """|z| for real z, extended analytically: z or -z, chosen by the sign of Re z."""
    if np.ndim(z) == 0:
        return z if np.real(z) >= 0 else -z
    return np.where(np.real(z) >= 0, z, -z)


def _atan2(y, x):
    """atan2 extended analytically: atan(y / x) on the branch the real parts choose."""
    yr, xr = np.real(y), np.real(x)
    with np.errstate(all="ignore"):
        inner = np.where(xr != 0, np.arctan(y / np.where(xr != 0, x, 1)),
                         np.sign(yr) * np.pi / 2 - np.arctan(x / np.where(yr != 0, y, 1)))
    out = inner + np.where(xr < 0, np.where(yr >= 0, np.pi, -np.pi), 0.0)
    return out if np.ndim(out) else out[()]


def _cbrt(z):
    """The real cube root extended analytically: the principal cube root of z, or minus that
    of -z, by the sign of Re z (np.cbrt takes no complex numbers)."""
    z = np.asarray(z, dtype=complex)
    with np.errstate(all="ignore"):
        out = np.where(np.real(z) >= 0, z ** (1 / 3), -((-z) ** (1 / 3)))
    return out if np.ndim(out) else out[()]


def _select(pick_first, a, b):
    """maximum / minimum for complex steps: the operand whose real part wins (away from ties,
    where the derivative is one operand's)."""
    out = np.where(pick_first(np.real(a), np.real(b)), a, b)
    return out if np.ndim(out) else out[()]


def _maximum(a, b):
    return _select(lambda x, y: (x >= y) | np.isnan(x), a, b)


def _minimum(a, b):
    return _select(lambda x, y: (x <= y) | np.isnan(x), a, b)


def _fmax(a, b):
    return _select(lambda x, y: (x >= y) | np.isnan(y), a, b)


def _fmin(a, b):
    return _select(lambda x, y: (x <= y) | np.isnan(y), a, b)


def _extreme(pick):
    """np.max / np.min by the real parts (np.argmax picks the first of a tie)."""
    def reduce(a, axis=None, keepdims=False):
        a = np.asarray(a)
        if axis is None:
            flat = a.ravel()
            out = flat[pick(np.real(flat))]
            return np.reshape(out, (1,) * a.ndim) if keepdims else out
        index = np.expand_dims(pick(np.real(a), axis=axis), axis)
        out = np.take_along_axis(a, index, axis)
        return out if keepdims else np.squeeze(out, axis)
    return reduce


def _heaviside(x, h):
    xr = np.real(x)
    out = np.where(xr < 0, 0.0, np.where(xr > 0, 1.0, h))
    return out if np.ndim(out) else out[()]


def _norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm of real vectors and matrices, analytic (no conjugate): sqrt(sum x*x),
    sums and maxima of |x| chosen by real parts."""
    x = np.asarray(x)
    if axis is None and x.ndim == 2 and ord not in (None, "fro"):
        sums = np.sum(_abs(x), axis=0 if ord in (1, -1) else 1)
        return (_extreme(np.argmax) if ord > 0 else _extreme(np.argmin))(sums)
    if ord in (None, 2, "fro"):
        return np.sqrt(np.sum(x * x, axis=axis))
    if ord == 1:
        return np.sum(_abs(x), axis=axis)
    if ord in (np.inf, -np.inf):
        return (_extreme(np.argmax) if ord > 0 else _extreme(np.argmin))(_abs(x), axis=axis)
    return np.sum(_abs(x) ** ord, axis=axis) ** (1.0 / ord)


def _logaddexp(a, b):
    high, low = _maximum(a, b), _minimum(a, b)
    return high + np.log1p(np.exp(low - high))


def _builtin_extreme(pick):
    """Builtin max / min ordering complex numbers by their real parts."""
    def extreme(*args, **kwargs):
        items = list(args[0]) if len(args) == 1 else list(args)
        return pick(items, key=np.real, **kwargs)
    return extreme


_COMPARE_OPS = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}


def _compare(op, a, b):
    """``a < b`` in the rebuilt function: by real parts where a side is complex."""
    if any(np.iscomplexobj(v) for v in (a, b)):
        a, b = np.real(a), np.real(b)
    out = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}[op](a, b)
    return np.bool_(out) if isinstance(out, bool) else out      # ~ of it is logical not, as in NumPy


class _RealComparisons(ast.NodeTransformer):
    """Rewrites each single comparison ``a < b`` (<, <=, >, >=) as ``_oracle_compare("lt", a, b)``."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE_OPS:
            return node
        call = ast.Call(ast.Name("_oracle_compare", ast.Load()),
                        [ast.Constant(_COMPARE_OPS[type(node.ops[0])]), node.left, node.comparators[0]], [])
        return ast.copy_location(call, node)


# Every function the input language accepts, under every spelling it accepts.
_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "sqrt": np.sqrt, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "atan2": _atan2, "arctan2": _atan2,
    "atanh": np.arctanh, "arctanh": np.arctanh, "asinh": np.arcsinh, "arcsinh": np.arcsinh,
    "acosh": np.arccosh, "arccosh": np.arccosh, "cbrt": lambda z: _cbrt(z),
    "erf": scipy.special.erf, "erfc": scipy.special.erfc,       # analytic in the complex plane
}
_NUMPY_NONSMOOTH = {
    "maximum": _maximum, "minimum": _minimum, "fmax": _fmax, "fmin": _fmin,
    "sign": lambda x: np.sign(np.real(x)), "heaviside": _heaviside,
    "clip": lambda a, a_min=None, a_max=None: _minimum(_maximum(a, a_min), a_max) if a_min is not None
    and a_max is not None else _maximum(a, a_min) if a_min is not None else _minimum(a, a_max),
    "max": _extreme(np.argmax), "amax": _extreme(np.argmax), "min": _extreme(np.argmin),
    "amin": _extreme(np.argmin), "logaddexp": _logaddexp,
}

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


def _is_constant(value):
    """Module-level values the rebuilt functions may read: numbers, arrays, tuples/lists,
    parameter objects (dataclass instances, SimpleNamespaces, instances of classes of the
    user's modules: read as they are, their fields are constants)."""
    if _is_number(value) or isinstance(value, bool):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (tuple, list)):
        return all(_is_constant(v) for v in value)
    if isinstance(value, dict):
        return all(_is_constant(v) for v in value.values())
    if isinstance(value, types.SimpleNamespace) or dataclasses.is_dataclass(value):
        return not isinstance(value, type)
    cls = type(value)
    return hasattr(value, "__dict__") and cls.__module__ not in ("builtins", "numpy") and not callable(value) \
        and not isinstance(value, types.ModuleType)


class _LinalgShim:
    """numpy.linalg with an analytic norm."""
    norm = staticmethod(_norm)

    def __getattr__(self, name):
        return getattr(np.linalg, name)


class _NumpyShim:
    """numpy, except that arrays built from scratch are complex (so that ``F = np.zeros(n)``
    followed by ``F[i] = <complex>`` keeps the complex step), and the supported primitives
    under every spelling."""

    def __init__(self):
        for name, fn in {**_FUNCTIONS, **_NUMPY_NONSMOOTH}.items():
            setattr(self, name, fn)
        self.linalg = _LinalgShim()
        self.abs = self.absolute = self.fabs = _abs

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def _complex(make):
        def build(*args, dtype=None, **kwargs):
            if dtype in (int, "int", np.int64):
                return make(*args, dtype=int, **kwargs)
            return make(*args, dtype=complex, **kwargs)
        return build


NP_SHIM = _NumpyShim()
for _name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
              "array", "asarray", "eye", "identity"):
    setattr(NP_SHIM, _name, _NumpyShim._complex(getattr(np, _name)))

MATH_SHIM = types.SimpleNamespace(pi=math.pi, e=math.e, tau=math.tau, inf=math.inf, **_FUNCTIONS)
for _name in ("floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd", "isqrt"):
    setattr(MATH_SHIM, _name, getattr(math, _name))
MATH_SHIM.fabs = _abs
MATH_SHIM.hypot = lambda *a: np.sqrt(sum(x * x for x in a))
MATH_SHIM.pow = lambda a, b: a ** b
MATH_SHIM.log10 = lambda x: np.log(x) / np.log(10.0)
MATH_SHIM.log2 = lambda x: np.log(x) / np.log(2.0)
NP_SHIM.log10, NP_SHIM.log2, NP_SHIM.hypot = MATH_SHIM.log10, MATH_SHIM.log2, MATH_SHIM.hypot


def _var(a, axis=None, ddof=0, keepdims=False):
    """np.var without the complex conjugate NumPy takes (|x - mean|**2 is not analytic)."""
    a = np.asarray(a)
    d = a - np.mean(a, axis=axis, keepdims=True)
    count = a.size if axis is None else np.prod([a.shape[i] for i in np.atleast_1d(axis)])
    return np.sum(d * d, axis=axis, keepdims=keepdims) / (count - ddof)


NP_SHIM.var = _var
NP_SHIM.std = lambda a, axis=None, ddof=0, keepdims=False: np.sqrt(_var(a, axis, ddof, keepdims))
SHIM = MATH_SHIM


def _shim_of(value):
    """The complex-capable stand-in for a module-level object, or None to leave it out."""
    if value is math:
        return MATH_SHIM
    if value is np:
        return NP_SHIM
    for module, shim in ((math, MATH_SHIM), (np, NP_SHIM)):
        for name in dir(module):
            if getattr(module, name, None) is value and callable(value) and hasattr(shim, name):
                return getattr(shim, name)
    return None


def _source_text(f):
    filename = f.__code__.co_filename
    lines = linecache.getlines(filename, f.__globals__)
    if not lines:
        lines = inspect.getsourcelines(f)[0]
        return textwrap.dedent("".join(lines)), filename, True
    return "".join(lines), filename, False


def rebuild(f):
    """Re-create f, and every top-level def of its file (its helpers), from the source
    text with complex-capable shims in scope."""
    f = inspect.unwrap(underlying_function(f))
    text, filename, only_f = _source_text(f)
    tree = ast.parse(text)
    namespace = {}
    closure = {}
    for var, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
        try:
            closure[var] = cell.cell_contents
        except ValueError:
            pass
    for name, value in list(f.__globals__.items()) + list(closure.items()):
        if _is_constant(value):
            namespace[name] = value
        elif isinstance(value, type) and value.__module__ == f.__module__:
            namespace[name] = value                  # a class of the module (for default values)
        else:
            shim = _shim_of(value)
            if shim is not None:
                namespace[name] = shim
    namespace.update(math=MATH_SHIM, np=NP_SHIM, numpy=NP_SHIM, abs=_abs, max=_builtin_extreme(max),
                     min=_builtin_extreme(min), _oracle_compare=_compare)
    tree = ast.fix_missing_locations(_RealComparisons().visit(tree))
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not only_f:
        first = f.__code__.co_firstlineno
        found = [d for d in _all_defs(tree) if d.name == f.__name__
                 and min([d.lineno] + [x.lineno for x in d.decorator_list]) <= first <= d.end_lineno]
        defs = [d for d in defs if d.name != f.__name__] + found[-1:]
    for node in defs:
        node.decorator_list = []
    exec(compile(ast.Module(body=defs, type_ignores=[]), filename, "exec"), namespace)
    g = namespace[f.__name__]
    if g.__code__.co_varnames[:g.__code__.co_argcount] == f.__code__.co_varnames[:f.__code__.co_argcount]:
        g.__defaults__, g.__kwdefaults__ = f.__defaults__, f.__kwdefaults__    # the live default values
    return g


def _all_defs(tree):
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def parameter_names(f):
    """The positional parameters (keyword-only ones are constants fixed at their defaults)."""
    return tuple(name for name, p in inspect.signature(underlying_function(f)).parameters.items()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _wrt_indices(f, wrt):
    names = parameter_names(f)
    if wrt is None:
        return list(range(len(names)))
    if isinstance(wrt, str):
        wrt = (wrt,)
    return [names.index(name) for name in wrt]


def _as_tuple(result):
    return tuple(result) if isinstance(result, tuple) else (result,)


def _flat(result) -> np.ndarray:
    """Every scalar of a result (numbers, arrays, lists, nested tuples), in order."""
    if isinstance(result, (tuple, list)):
        parts = [_flat(r) for r in result]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=complex)
    return np.ravel(np.asarray(result, dtype=complex))


def _shaped(result):
    """A result with the imaginary parts dropped, shaped as s2s_invad returns it."""
    if isinstance(result, tuple):
        return tuple(_shaped(r) for r in result)
    if isinstance(result, np.ndarray) and result.ndim == 0:      # np.where of scalars
        return float(np.real(result))
    if isinstance(result, (list, np.ndarray)):
        return np.real(np.asarray(result, dtype=complex)).astype(float)
    return float(np.real(result))


def _point(primals):
    """Complex copies of the primals (vectors as complex arrays)."""
    out = []
    for x in primals:
        if isinstance(x, (list, tuple, np.ndarray)):
            out.append(np.array(x, dtype=complex))
        elif isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            out.append(int(x))                      # a count stays an int (perturbed when asked)
        elif _is_constant(x) and not _is_number(x):
            out.append(x)                           # a parameter object: passed as it is
        else:
            out.append(complex(float(x)))
    return out


def evaluate(f, primals):
    """f(*primals) computed by the rebuilt function, shaped like f's result (floats, 1-D
    arrays for list and array results, tuples)."""
    return _shaped(rebuild(f)(*_point(primals)))


def dense_jacobian(f, primals, wrt=None):
    """The m x n Jacobian of f at primals with respect to the wrt parameters (every scalar
    of a vector parameter is one column; every scalar of the result one row)."""
    g = rebuild(f)
    base = _point(primals)
    columns = []
    for j in _wrt_indices(f, wrt):
        size = np.size(base[j]) if isinstance(base[j], np.ndarray) else None
        for k in range(size if size is not None else 1):
            point = [x.copy() if isinstance(x, np.ndarray) else x for x in base]
            if size is None:
                point[j] += complex(0.0, STEP)
            else:
                point[j].flat[k] += complex(0.0, STEP)
            columns.append(np.imag(_flat(g(*point))) / STEP)
    if not columns:
        return np.zeros((0, 0))
    return np.array(columns, dtype=float).T.reshape(-1, len(columns))


def cond(jacobian):
    """2-norm condition number, inf for a singular matrix."""
    with np.errstate(all="ignore"):
        c = np.linalg.cond(jacobian)
    return float(c) if np.isfinite(c) else math.inf
