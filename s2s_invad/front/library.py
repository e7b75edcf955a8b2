"""Front end: the functions the input language knows, evaluated at transform time.

Three families (the README lists them under "The input language"):

* the primitives of :data:`s2s_invad.primitives.PRIMITIVES` under their math and numpy
  spellings (``math.sin``, ``np.sin``, ``np.arcsin``, builtin ``abs``): on a runtime scalar
  they append a statement; on numbers they compute now; ``np.<fn>`` maps over arrays and
  lists elementwise, ``math.<fn>`` takes one number as in Python;
* transform-time helpers that never see a runtime value in a place that would need one:
  ``range``, ``len``, ``enumerate``, ``zip``, ``reversed``, ``min``, ``max``, ``int``,
  ``round``, ``math.floor``..., ``np.arange``, ``np.linspace``; a runtime value where a
  count, an index or a comparison is needed is refused;
* structure: ``list``, ``tuple``, ``sum``, ``float``, ``np.array``, ``np.zeros``,
  ``np.ones``, ``np.full``, ``np.concatenate``, ``np.stack``, ``np.sum``, ``np.dot``,
  ``np.matmul``, ``np.outer``, ``np.roll``, ``np.flip``... and list and array methods
  (``append``, ``copy``, ``sum``, ``dot``, ``reshape``...). Arrays made here are NumPy
  *object* arrays, so their elements may be runtime scalars (``F = np.zeros(n)`` then
  ``F[i] = ...`` works), and NumPy's own loops do the arithmetic through the elements'
  operators (a constant zero times anything folds to zero, so ``W @ u`` with a banded ``W``
  keeps its band).
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ..primitives import PRIMITIVES
from .values import NamedFloat, Scalar, is_number

# math/numpy spelling -> canonical primitive
_PRIMS = {"math": {}, "numpy": {}}
for _p in PRIMITIVES.values():
    if _p.math:
        _PRIMS["math"][_p.math] = _p.name
    if _p.numpy:
        _PRIMS["numpy"][_p.numpy] = _p.name
_PRIMS["math"]["fabs"] = "abs"
_PRIMS["numpy"].update({"abs": "abs", "absolute": "abs", "fabs": "abs"})

_MATH_TT = {"floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd", "isqrt", "isfinite",
            "isinf", "isnan", "copysign", "fmod", "degrees", "radians"}
_MATH_CONSTANTS = {"pi", "e", "tau", "inf"}
_NUMPY_CONSTANTS = {"pi", "e", "inf"}
_MATH_OTHER = {"pow", "hypot", "log10", "log2"}
_NUMPY_OTHER = {"array", "asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                "empty_like", "full_like", "arange", "linspace", "eye", "identity", "copy",
                "concatenate", "stack", "hstack", "vstack", "roll", "flip", "reshape", "ravel",
                "transpose", "outer", "sum", "prod", "dot", "matmul", "vdot", "inner", "mean",
                "cumsum", "diff", "square", "negative", "log10", "log2", "hypot", "power", "add",
                "subtract", "multiply", "divide", "true_divide", "ndim", "shape", "size", "append",
                "floor", "ceil", "isfinite"}
_BUILTINS = {"range", "len", "enumerate", "zip", "reversed", "min", "max", "abs", "sum", "list",
             "tuple", "float", "int", "round", "pow", "sorted", "any", "all", "divmod", "bool",
             "isinstance", "print"}

_LIST_METHODS = {"append", "extend", "insert", "pop", "copy", "reverse", "index", "count"}
_ARRAY_METHODS = {"copy", "sum", "prod", "mean", "dot", "reshape", "ravel", "flatten", "tolist",
                  "astype", "fill", "transpose", "cumsum"}
_ARRAY_ATTRS = {"shape", "size", "ndim", "T"}


def known_names(module_kind: str) -> set[str]:
    """The attributes of math / numpy the language knows (for identifying live imports)."""
    if module_kind == "math":
        return set(_PRIMS["math"]) | _MATH_TT | _MATH_OTHER
    return set(_PRIMS["numpy"]) | _NUMPY_OTHER


def builtin_names() -> list[str]:
    return sorted(_BUILTINS - {"print", "isinstance"})


def builtin(name: str):
    from .evaluate import Known
    return Known("builtins", name, None) if name in _BUILTINS else None


def module_kind(ev, alias: str) -> str:
    for scope in ev.scopes:
        found = scope.used.get(alias)
        if found and found[0] == "module":
            return found[1]
    return alias if alias in ("math", "numpy") else "numpy"


def alias_for(ev, kind: str) -> str:
    """The module alias generated code uses for a function imported by name."""
    for scope in ev.scopes:
        for name, (k, v) in scope.used.items():
            if k == "module" and v == kind:
                return name
    ev.modules.setdefault(kind, kind)
    return kind


# -- attributes ----------------------------------------------------------------------------

def attribute(ev, base, attr: str):
    from .evaluate import Bound, Known, Module
    if isinstance(base, Module):
        if base.kind == "math" and attr in _MATH_CONSTANTS or base.kind == "numpy" and attr in _NUMPY_CONSTANTS:
            value = getattr(math if base.kind == "math" else np, attr)
            if not math.isfinite(value):
                return float(value)
            return NamedFloat(value, f"{base.alias}.{attr}")
        if attr == "newaxis" and base.kind == "numpy":
            return None
        if attr in known_names(base.kind):
            return Known(base.kind, attr, base.alias)
        raise ev.refuse(ev.node, f"{base.alias}.{attr} is not supported: the {base.kind} functions "
                                 f"s2s_invad knows are {', '.join(sorted(known_names(base.kind)))}")
    if isinstance(base, Scalar):
        if attr in _ARRAY_ATTRS or attr in _ARRAY_METHODS:
            ev.vector_use(base, f".{attr}")
        raise ev.refuse(ev.node, f"attribute .{attr} of a runtime scalar: call math.<fn> or np.<fn> "
                                 "on the value instead")
    if isinstance(base, np.ndarray):
        if attr in _ARRAY_ATTRS:
            return getattr(base, attr)
        if attr in _ARRAY_METHODS:
            return Bound(base, attr)
    elif isinstance(base, list) and attr in _LIST_METHODS:
        return Bound(base, attr)
    elif isinstance(base, tuple) and attr in ("index", "count"):
        return Bound(base, attr)
    elif isinstance(base, (int, float)) and attr in ("real", "imag"):
        return getattr(base, attr)
    from .evaluate import _kind
    raise ev.refuse(ev.node, f"attribute .{attr} of {_kind(base)} is not supported")


# -- calls ---------------------------------------------------------------------------------

def call(ev, func, args, kwargs):
    from .evaluate import Bound
    if isinstance(func, Bound):
        return _method(ev, func.obj, func.name, args, kwargs)
    kind, attr, alias = func.kind, func.attr, func.alias
    if kind == "numpy" and alias is not None:       # a source that calls numpy runs on arrays
        ev.modules[alias] = "numpy"
    if kind in ("math", "numpy") and attr in _PRIMS[kind] and (kind, attr) not in _IMPLS:
        _no_keywords(ev, f"{alias}.{attr}", kwargs)
        if len(args) != 1:
            raise ev.fail(ev.node, f"{alias}.{attr} takes one argument here, got {len(args)}")
        return primitive(ev, _PRIMS[kind][attr], kind, alias, args[0])
    impl = _IMPLS.get((kind, attr))
    if impl is None:
        raise ev.refuse(ev.node, f"{(alias + '.') if alias else ''}{attr}() is not supported")
    return impl(ev, alias, args, kwargs)


def _no_keywords(ev, name, kwargs, allowed=()):
    extra = [k for k in kwargs if k not in allowed]
    if extra:
        raise ev.refuse(ev.node, f"keyword argument '{extra[0]}' of {name} is not supported")


def primitive(ev, prim: str, kind: str, alias: str | None, x):
    """``prim(x)``: a statement for a runtime scalar, a number now, elementwise for arrays."""
    if isinstance(x, Scalar):
        return ev.primitive(prim, alias if prim != "abs" else None, x)
    if is_number(x):
        return _compute(ev, prim, kind, alias, x)
    if isinstance(x, (list, tuple, np.ndarray)):
        if kind == "math":
            raise ev.fail(ev.node, f"{alias}.{prim} takes one number, not a sequence: use np.{prim} "
                                   "for arrays (elementwise)")
        arr = to_array(ev, x)
        return _map(lambda e: primitive(ev, prim, kind, alias, e), arr)
    from .evaluate import _kind
    raise ev.fail(ev.node, f"{prim}() of {_kind(x)}")


def _compute(ev, prim, kind, alias, x):
    if prim == "abs":
        return abs(x)
    name = PRIMITIVES[prim].math if kind == "math" else PRIMITIVES[prim].numpy
    fn = getattr(math if kind == "math" else np, name)
    try:
        with np.errstate(all="raise"):
            value = fn(float(x))
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
        raise ev.fail(ev.node, f"{alias}.{name}({x!r}) at transform time: {exc}") from None
    return float(value)


def _map(fn, arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = fn(arr[idx])
    return out


def to_array(ev, value) -> np.ndarray:
    """``value`` (numbers, runtime scalars, nested lists/tuples of them, arrays) as an object
    array, never a float array (so elements may become runtime later)."""
    if isinstance(value, np.ndarray):
        return value.astype(object) if value.dtype != object else value
    if isinstance(value, Scalar):
        ev.vector_use(value, "np.array")
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise ev.fail(ev.node, f"cannot make an array of this value: {exc}") from None
    for item in arr.flat:
        if not (isinstance(item, Scalar) or is_number(item) or item is None):
            from .evaluate import _kind
            raise ev.fail(ev.node, f"an array element is {_kind(item)}: arrays hold numbers")
    return arr


def _sequence(ev, value, what):
    ev.vector_use(value, what)
    return value


def _count(ev, value, what) -> int:
    if isinstance(value, Scalar):
        ev.refuse_runtime("an index or count", value, f"{what} depends on a runtime value")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value == int(value):
            raise ev.fail(ev.node, f"{what} must be an int, got the float {value!r}: use int(...)")
        from .evaluate import _kind
        raise ev.fail(ev.node, f"{what} must be an int, got {_kind(value)}")
    return int(value)


def _shape(ev, value, what="a shape"):
    if isinstance(value, (tuple, list)):
        return tuple(_count(ev, v, what) for v in value)
    return (_count(ev, value, what),)


# builtins ---------------------------------------------------------------------------------

def _range(ev, alias, args, kwargs):
    _no_keywords(ev, "range", kwargs)
    if not 1 <= len(args) <= 3:
        raise ev.fail(ev.node, f"range expected 1 to 3 arguments, got {len(args)}")
    bounds = [_count(ev, a, "a range bound (the loop's trip count)") for a in args]
    if len(bounds) == 3 and bounds[2] == 0:
        raise ev.fail(ev.node, "range() step must not be zero")
    return range(*bounds)


def _len(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "len", args, 1)
    _sequence(ev, x, "len()")
    try:
        return len(x)
    except TypeError as exc:
        raise ev.fail(ev.node, f"len() failed: {exc}") from None


def _exactly(ev, name, args, n):
    if len(args) != n:
        raise ev.fail(ev.node, f"{name}() takes {n} argument(s), got {len(args)}")
    return args


def _python(name, sequence_args=1):
    """A builtin applied as Python applies it (after checking its sequence arguments)."""
    fn = getattr(builtins, name)

    def impl(ev, alias, args, kwargs):
        for a in args[:sequence_args] if sequence_args >= 0 else args:
            _sequence(ev, a, f"{name}()")
        try:
            result = fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{name}() failed: {exc}") from None
        if name in ("enumerate", "zip", "reversed", "map", "filter"):
            result = list(result)
        return result
    return impl


def ev_errors():
    return (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError)


def _minmax(name):
    fn = getattr(builtins, name)

    def impl(ev, alias, args, kwargs):
        items = list(args[0]) if len(args) == 1 and not is_number(args[0]) else list(args)
        if len(args) == 1:
            _sequence(ev, args[0], f"{name}()")
        for item in items:
            if isinstance(item, Scalar):
                raise ev.refuse(ev.node, f"{name}() of runtime values is not differentiable "
                                         "everywhere and would make the data flow depend on the "
                                         "inputs: write the formula without it")
        try:
            return fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{name}() failed: {exc}") from None
    return impl


def _sum(ev, alias, args, kwargs):
    if not args:
        raise ev.fail(ev.node, "sum() needs an iterable")
    seq = _sequence(ev, args[0], "sum()")
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    total = start
    for item in (list(seq) if not isinstance(seq, np.ndarray) else list(seq)):
        total = _add(ev, total, item)
    return total


def _add(ev, a, b):
    try:
        return a + b
    except TypeError as exc:
        raise ev.fail(ev.node, f"sum() failed: {exc}") from None


def _float(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "float", args, 1)
    if isinstance(x, Scalar):
        return x
    try:
        return float(x)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"float() failed: {exc}") from None


def _int(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "int", args, 1)
    if isinstance(x, Scalar):
        raise ev.refuse(ev.node, "int() of a runtime value: rounding is not differentiable and "
                                 "would make the data flow depend on the inputs")
    try:
        return int(x)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"int() failed: {exc}") from None


def _print(ev, alias, args, kwargs):
    raise ev.refuse(ev.node, "print() is not supported inside the function: the generated code "
                             "computes numbers only (print outside, or use si.explain)")


def _isinstance(ev, alias, args, kwargs):
    raise ev.refuse(ev.node, "isinstance() is not supported: the function sees numbers, tuples, "
                             "lists and arrays whose kinds are fixed at transform time")


# math ---------------------------------------------------------------------------------------

def _math_tt(name):
    fn = getattr(math, name)

    def impl(ev, alias, args, kwargs):
        for a in args:
            if isinstance(a, Scalar):
                raise ev.refuse(ev.node, f"{alias}.{name}() of a runtime value is not supported "
                                         "(it is not differentiable, or not a primitive)")
        try:
            return fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"{alias}.{name}() failed: {exc}") from None
    return impl


def _math_pow(ev, alias, args, kwargs):
    if len(args) != 2:
        raise ev.fail(ev.node, f"{alias}.pow takes two arguments")
    a, b = args
    if not isinstance(a, Scalar) and not isinstance(b, Scalar):
        return math.pow(a, b)
    return a ** b


def _hypot(ev, alias, args, kwargs):
    kind = module_kind(ev, alias)
    if all(not isinstance(a, Scalar) and is_number(a) for a in args):
        return math.hypot(*args)
    total = 0.0
    for a in args:
        total = total + a * a
    return primitive(ev, "sqrt", kind, alias, total)


def _log_base(base):
    def impl(ev, alias, args, kwargs):
        (x,) = _exactly(ev, f"log{base}", args, 1)
        kind = module_kind(ev, alias)
        return primitive(ev, "log", kind, alias, x) / math.log(base)
    return impl


def _math_log(ev, alias, args, kwargs):
    if len(args) == 2:
        return primitive(ev, "log", "math", alias, args[0]) / primitive(ev, "log", "math", alias, args[1])
    (x,) = _exactly(ev, f"{alias}.log", args, 1)
    return primitive(ev, "log", "math", alias, x)


# numpy ----------------------------------------------------------------------------------------

_FLOAT_DTYPES = (None, float, "float", "float64", "f8", np.float64, np.float32, "float32")


def _dtype(ev, kwargs, name):
    dtype = kwargs.pop("dtype", None)
    if dtype in (int, "int", np.int64, "int64"):
        return int
    if dtype not in _FLOAT_DTYPES:
        raise ev.refuse(ev.node, f"dtype={dtype!r} in np.{name} is not supported: arrays hold floats")
    return None


def _np_array(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    dtype = _dtype(ev, kwargs, "array")
    kwargs.pop("copy", None)
    _no_keywords(ev, "np.array", kwargs)
    (x,) = _exactly(ev, "np.array", args, 1)
    arr = to_array(ev, x)
    if arr is x:
        arr = arr.copy()
    if dtype is int:
        return np.array(arr.tolist(), dtype=int)
    return arr


def _np_asarray(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    _dtype(ev, kwargs, "asarray")
    _no_keywords(ev, "np.asarray", kwargs)
    (x,) = _exactly(ev, "np.asarray", args, 1)
    return to_array(ev, x)


def _filled(fill):
    def impl(ev, alias, args, kwargs):
        kwargs = dict(kwargs)
        dtype = _dtype(ev, kwargs, "zeros")
        _no_keywords(ev, "np.zeros", kwargs)
        (shape,) = _exactly(ev, "np.zeros", args, 1)
        shape = _shape(ev, shape)
        if dtype is int:
            return np.full(shape, 0 if fill is None else int(fill), dtype=int)
        return np.full(shape, fill, dtype=object)
    return impl


def _np_full(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    _dtype(ev, kwargs, "full")
    _no_keywords(ev, "np.full", kwargs)
    shape, value = _exactly(ev, "np.full", args, 2)
    return np.full(_shape(ev, shape), value, dtype=object)


def _like(fill):
    def impl(ev, alias, args, kwargs):
        kwargs = dict(kwargs)
        _dtype(ev, kwargs, "zeros_like")
        _no_keywords(ev, "np.zeros_like", kwargs)
        x = args[0]
        arr = to_array(ev, x)
        value = fill if fill != "value" else args[1]
        return np.full(arr.shape, value, dtype=object)
    return impl


def _np_arange(ev, alias, args, kwargs):
    kwargs = dict(kwargs)
    dtype = _dtype(ev, kwargs, "arange")
    for a in args:
        if isinstance(a, Scalar):
            ev.refuse_runtime("an index or count", a)
    try:
        out = np.arange(*args, **kwargs)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.arange failed: {exc}") from None
    return out.astype(int) if dtype is int else out


def _np_linspace(ev, alias, args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Scalar):
            raise ev.refuse(ev.node, "np.linspace of runtime values is not supported: its bounds "
                                     "must be transform-time values")
    try:
        return np.linspace(*args, **kwargs).astype(object)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"np.linspace failed: {exc}") from None


def _np_eye(ev, alias, args, kwargs):
    n = _count(ev, args[0], "the size of np.eye")
    return np.eye(n).astype(object)


_PRODUCTS = {"dot": 1, "matmul": 1, "inner": 2, "vdot": 2, "outer": 2}   # operands a batch cannot be (Evaluator.product_of)


def _structural(name, arrays=1):
    """numpy ``name`` applied to object arrays (NumPy moves elements and, for reductions and
    products, combines them through their own operators)."""
    fn = getattr(np, name)

    def impl(ev, alias, args, kwargs):
        args = list(args)
        for a in (_sequence(ev, args[0], f"np.{name}") if arrays == "seq" and args else args):
            if isinstance(a, Scalar) and a.param in ev.arrays:    # an array argument: reduced or moved
                ev.vector_use(a, f"np.{name}")                    # as a vector by NumPy, so a vector
        if name in _PRODUCTS:
            ev.product_of(*args[:_PRODUCTS[name]])
        if arrays == "seq":
            seq = _sequence(ev, args[0], f"np.{name}")
            # a scalar item (np.stack([x[0] * x[1], x[0] + x[1]])) is a 0-d array, as in NumPy
            args[0] = [_zero_d(a) if isinstance(a, Scalar) or is_number(a) else to_array(ev, a) for a in seq]
        else:
            for i in range(min(arrays, len(args))):
                args[i] = to_array(ev, args[i])
        try:
            out = fn(*args, **kwargs)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
        return _unwrap(out)
    return impl


def _zero_d(x) -> np.ndarray:
    """A number or runtime scalar as a 0-d object array."""
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def _unwrap(out):
    """A 0-d result (a reduction) as its element."""
    if isinstance(out, np.ndarray) and out.ndim == 0:
        return out[()]
    return out


def _elementwise(op):
    """np.add, np.multiply...: the operator, with lists taken as arrays."""
    def impl(ev, alias, args, kwargs):
        _no_keywords(ev, "np ufunc", kwargs)
        a, b = _exactly(ev, "the ufunc", args, 2)
        a = to_array(ev, a) if isinstance(a, (list, tuple)) else a
        b = to_array(ev, b) if isinstance(b, (list, tuple)) else b
        try:
            return op(a, b)
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"the ufunc failed: {exc}") from None
    return impl


def _np_square(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.square", args, 1)
    x = to_array(ev, x) if isinstance(x, (list, tuple)) else x
    return x * x


def _np_negative(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.negative", args, 1)
    x = to_array(ev, x) if isinstance(x, (list, tuple)) else x
    return -x


def _np_copy(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.copy", args, 1)
    return to_array(ev, x).copy()


def _np_shape(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.shape", args, 1)
    if isinstance(x, Scalar):
        return ()
    return to_array(ev, x).shape


def _np_size(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.size", args, 1)
    return 1 if isinstance(x, Scalar) else to_array(ev, x).size


def _np_ndim(ev, alias, args, kwargs):
    (x,) = _exactly(ev, "np.ndim", args, 1)
    return 0 if isinstance(x, Scalar) else to_array(ev, x).ndim


def _np_tt(name):
    fn = getattr(np, name)

    def impl(ev, alias, args, kwargs):
        for a in args:
            if isinstance(a, Scalar) or (isinstance(a, np.ndarray) and a.dtype == object
                                         and any(isinstance(e, Scalar) for e in a.flat)):
                raise ev.refuse(ev.node, f"np.{name} of a runtime value is not supported")
        try:
            return _unwrap(fn(*args, **kwargs))
        except ev_errors() as exc:
            raise ev.fail(ev.node, f"np.{name} failed: {exc}") from None
    return impl


# methods -----------------------------------------------------------------------------------

def _method(ev, obj, name, args, kwargs):
    if isinstance(obj, np.ndarray):
        if name == "copy":
            return obj.astype(object) if obj.dtype != object else obj.copy()
        if name == "astype":
            return obj.astype(object) if obj.dtype != object else obj.copy()
        if name in ("tolist",):
            return obj.tolist()
        if name in ("flatten",):
            return obj.ravel().copy()
        if name == "fill":
            (value,) = _exactly(ev, ".fill", args, 1)
            if obj.dtype != object and isinstance(value, Scalar):
                raise ev.fail(ev.node, "cannot fill a numeric array with a runtime value")
            obj[...] = value
            return None
        if name == "dot":
            (other,) = _exactly(ev, ".dot", args, 1)
            return _unwrap(np.dot(to_array(ev, obj), to_array(ev, other)))
        if name == "reshape":
            shape = args[0] if len(args) == 1 else tuple(args)
            shape = _shape(ev, shape, "a shape") if not (isinstance(shape, (tuple, list)) and -1 in shape) \
                else tuple(shape)
            try:
                return obj.reshape(shape)
            except ev_errors() as exc:
                raise ev.fail(ev.node, f".reshape failed: {exc}") from None
        method = getattr(obj.astype(object) if obj.dtype != object else obj, name)
    else:
        method = getattr(obj, name)
        if name in ("index", "count"):
            for a in args:
                if isinstance(a, Scalar):
                    raise ev.refuse(ev.node, f".{name}() of a runtime value compares runtime values")
        if name in ("pop", "insert") and args and isinstance(args[0], Scalar):
            ev.refuse_runtime("an index or count", args[0])
        if name == "extend" and args:
            args = [list(_sequence(ev, args[0], ".extend()"))]
    try:
        return _unwrap(method(*args, **kwargs))
    except ev_errors() as exc:
        raise ev.fail(ev.node, f".{name}() failed: {exc}") from None


_IMPLS = {
    ("builtins", "range"): _range,
    ("builtins", "len"): _len,
    ("builtins", "enumerate"): _python("enumerate"),
    ("builtins", "zip"): _python("zip", sequence_args=-1),
    ("builtins", "reversed"): _python("reversed"),
    ("builtins", "sorted"): _python("sorted"),
    ("builtins", "list"): _python("list"),
    ("builtins", "tuple"): _python("tuple"),
    ("builtins", "any"): _python("any"),
    ("builtins", "all"): _python("all"),
    ("builtins", "min"): _minmax("min"),
    ("builtins", "max"): _minmax("max"),
    ("builtins", "sum"): _sum,
    ("builtins", "abs"): lambda ev, alias, args, kwargs: abs(*_exactly(ev, "abs", args, 1)),
    ("builtins", "float"): _float,
    ("builtins", "int"): _int,
    ("builtins", "bool"): lambda ev, alias, args, kwargs: ev.truth(args[0], ev.node) if args else False,
    ("builtins", "pow"): lambda ev, alias, args, kwargs: _math_pow(ev, "pow", args, kwargs),
    ("builtins", "print"): _print,
    ("builtins", "isinstance"): _isinstance,
    ("math", "pow"): _math_pow,
    ("math", "hypot"): _hypot,
    ("math", "log10"): _log_base(10),
    ("math", "log2"): _log_base(2),
    ("numpy", "hypot"): _hypot,
    ("numpy", "log10"): _log_base(10),
    ("numpy", "log2"): _log_base(2),
    ("numpy", "array"): _np_array,
    ("numpy", "asarray"): _np_asarray,
    ("numpy", "zeros"): _filled(0.0),
    ("numpy", "ones"): _filled(1.0),
    ("numpy", "empty"): _filled(None),
    ("numpy", "full"): _np_full,
    ("numpy", "zeros_like"): _like(0.0),
    ("numpy", "ones_like"): _like(1.0),
    ("numpy", "empty_like"): _like(None),
    ("numpy", "full_like"): _like("value"),
    ("numpy", "arange"): _np_arange,
    ("numpy", "linspace"): _np_linspace,
    ("numpy", "eye"): _np_eye,
    ("numpy", "identity"): _np_eye,
    ("numpy", "copy"): _np_copy,
    ("numpy", "concatenate"): _structural("concatenate", "seq"),
    ("numpy", "stack"): _structural("stack", "seq"),
    ("numpy", "hstack"): _structural("hstack", "seq"),
    ("numpy", "vstack"): _structural("vstack", "seq"),
    ("numpy", "append"): _structural("append", 2),
    ("numpy", "roll"): _structural("roll"),
    ("numpy", "flip"): _structural("flip"),
    ("numpy", "reshape"): _structural("reshape"),
    ("numpy", "ravel"): _structural("ravel"),
    ("numpy", "transpose"): _structural("transpose"),
    ("numpy", "outer"): _structural("outer", 2),
    ("numpy", "sum"): _structural("sum"),
    ("numpy", "prod"): _structural("prod"),
    ("numpy", "dot"): _structural("dot", 2),
    ("numpy", "matmul"): _structural("matmul", 2),
    ("numpy", "vdot"): _structural("vdot", 2),
    ("numpy", "inner"): _structural("inner", 2),
    ("numpy", "mean"): _structural("mean"),
    ("numpy", "cumsum"): _structural("cumsum"),
    ("numpy", "diff"): _structural("diff"),
    ("numpy", "square"): _np_square,
    ("numpy", "negative"): _np_negative,
    ("numpy", "shape"): _np_shape,
    ("numpy", "size"): _np_size,
    ("numpy", "ndim"): _np_ndim,
    ("numpy", "floor"): _np_tt("floor"),
    ("numpy", "ceil"): _np_tt("ceil"),
    ("numpy", "isfinite"): _np_tt("isfinite"),
}


def _tt_builtin(name):
    """A builtin of numbers only (round, divmod): refused on runtime values."""
    def impl(ev, alias, args, kwargs):
        return _tt_builtin_call(ev, name, args, kwargs)
    return impl


def _tt_builtin_call(ev, name, args, kwargs):
    for a in args:
        if isinstance(a, Scalar):
            raise ev.refuse(ev.node, f"{name}() of a runtime value is not supported (it is not "
                                     "differentiable)")
    try:
        return getattr(builtins, name)(*args, **kwargs)
    except ev_errors() as exc:
        raise ev.fail(ev.node, f"{name}() failed: {exc}") from None


for _name in _MATH_TT:
    _IMPLS[("math", _name)] = _math_tt(_name)
for _name in ("round", "divmod"):
    _IMPLS[("builtins", _name)] = _tt_builtin(_name)
_IMPLS[("math", "log")] = _math_log
for _name, _op in (("add", operator.add), ("subtract", operator.sub), ("multiply", operator.mul),
                   ("divide", operator.truediv), ("true_divide", operator.truediv),
                   ("power", operator.pow)):
    _IMPLS[("numpy", _name)] = _elementwise(_op)
