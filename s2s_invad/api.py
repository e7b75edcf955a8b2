"""The public API, with JAX's conventions.

    y, y_dot = jvp(f, primals, tangents)        J v
    y, f_vjp = vjp(f, *primals)                  J^T w:   f_vjp(y_bar) -> input cotangents
    y, x_dot = ijvp(f, primals, y_dot)          J^-1 v:  solves J x_dot = y_dot
    y, f_ivjp = ivjp(f, *primals)               J^-T w:  f_ivjp(x_bar) -> y_bar, J^T y_bar = x_bar
    y, (sign, logabsdet) = slogdet(f, primals)   log|det J| from the pivots

(Our ``ivjp`` is the vector-inverse-Jacobian product w^T J^-1; an old, removed JAX API used
the name for something else.)

Conventions, the same in every mode:

* *input side* (tangents for jvp, what ijvp returns, the cotangents vjp's pullback returns
  and ivjp's sweep takes): a tuple with one entry per differentiated parameter, in
  parameter order; with a single differentiated parameter the bare value is accepted too;
* *output side* (y, jvp's y_dot, vjp's y_bar, ijvp's y_dot, what ivjp's sweep returns):
  shaped like f's result: a number, a 1-D array (for a list or array result) or a tuple;
* a vector parameter takes a 1-D array or a list of numbers, and its tangent or cotangent
  comes back as a 1-D NumPy array. Its length is fixed at transform time, from the
  argument: one analysis per length signature, cached, as jit specialises on shapes;
* a parameter object (a dataclass instance, SimpleNamespace, plain object) given for a
  positional parameter is a constant of the transform, as JAX's static arguments: its
  fields are read when the function is transformed, it is never differentiated, and a new
  object or a changed field transforms again;
* batches: arrays evaluate several points at once (sources that call NumPy, or no
  module): a scalar parameter takes an array of the batch shape, a vector parameter of
  length n an array of shape (n, *batch). A NumPy array given for a parameter the source
  never uses as a vector is a batch of scalars; a list is always a vector.

``wrt`` names the differentiated parameters (default: all); ``shapes={"u": 512}`` gives
lengths where no argument does (``source``, ``explain``, ``@derivatives(...).write``).
``schedule=False`` keeps the statements in source order instead of the scheduler's order
(for debugging and comparison; SPEC section 4). ``unroll=`` says which loops to unroll:
None (default: loops of at least 8 iterations whose iterations do the same work stay
loops, shorter ones are unrolled), True (unroll every loop with a transform-time trip
count), False (keep every loop that can be kept), or ``{line: bool}`` per source loop.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import linecache
import os
import re
import reprlib
import sys
import types
import weakref

import numpy as np

from . import files
from .back import cache
from .back.callspec import CallSpec
from .back.guard import Guard
from .back.guard import snapshot as guard_snapshot
from .analysis.memory import describe as describe_memory
from .analysis.memory import plan_memory
from .back import c_backend, numba_backend
from .back.emit_recompute_loops import describe as describe_loops
from .back.render import EXTRA_MODES, INVERSE_MODES, MEMORY, MODES, render_module
from .errors import (ArgumentError, NonFiniteError, NotInvertibleError, ParameterError, S2SError, ShapeError,
                     TapeMemoryError, UnsupportedSyntaxError)
from .front.evaluate import ShapeProbe
from .front.fence import fence
from .front.objects import is_param_object
from .front.loader import from_function as source_of
from .front.loader import from_source as _from_source
from .front.loader import transparent_inner
from .pipeline import Analysis, analyse, generate
from .report.drift import DriftReport, drift_report
from .report.explain import explain as _explain_report


class _Record:
    """Everything cached for one function: analyses and compiled modes per signature."""

    def __init__(self, f):
        self.guard = Guard(f)                # what the transform reads, as it was
        if f.__kwdefaults__:                 # constants of the transform: an in-place change too
            self.guard = _KeywordGuard(self.guard, f)
        self.analyses: dict = {}
        self.compiled: dict = {}
        self.vectors: set[str] = set()       # parameters found to be vectors


class _KeywordGuard:
    """A :class:`Guard` that also holds while a function's keyword-only defaults (built into
    the generated code as constants) are the same objects under the same names: the Guard
    sees ``f.__kwdefaults__`` rebound, this an in-place ``f.__kwdefaults__["scale"] = 3.0``."""
    __slots__ = ("guard", "fn", "kwdefaults")

    def __init__(self, guard: Guard, fn):
        self.guard, self.fn, self.kwdefaults = guard, fn, dict(fn.__kwdefaults__)

    def holds(self) -> bool:
        now = self.fn.__kwdefaults__ or {}
        return (self.guard.holds() and now.keys() == self.kwdefaults.keys()
                and all(now[k] is v for k, v in self.kwdefaults.items()))


def _keyword_constants(fn) -> dict:
    """What a cache key needs of ``fn``'s keyword-only defaults (constants of the generated
    code): exact and JSON-able, arrays by dtype, shape and a hash of their bytes."""
    def describe(value):
        if isinstance(value, np.ndarray):
            return ["ndarray", value.dtype.str, list(value.shape),
                    hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
        if isinstance(value, (tuple, list)):
            return [type(value).__name__, [describe(v) for v in value]]
        if is_param_object(value):               # by its fields (cache._Unkeyable: not cached)
            return cache.describe(value)
        return [type(value).__name__, repr(value)]
    return {name: describe(value) for name, value in sorted((fn.__kwdefaults__ or {}).items())}


_records: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _wrt_key(wrt) -> tuple | None:
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return (wrt,)
    try:
        key = tuple(wrt)
    except TypeError:
        raise ArgumentError(f"wrt must be a parameter name or a tuple of names, got {wrt!r}") from None
    for w in key:
        if not isinstance(w, str):
            raise ArgumentError(f"wrt must name parameters (strings), got {w!r}")
    twice = sorted({w for w in key if key.count(w) > 1})
    if twice:
        raise ArgumentError(f"wrt names {', '.join(map(repr, twice))} more than once: name each "
                            "differentiated parameter once")
    return key


def _shapes_key(shapes) -> tuple:
    if shapes is None:
        return ()
    if not isinstance(shapes, dict):
        raise ArgumentError(f"shapes must be a dict of parameter name -> length, got {shapes!r}")
    for name, n in shapes.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ArgumentError(f"shapes[{name!r}] must be a non-negative int (the vector's length), got {n!r}")
    return tuple(sorted(shapes.items()))


def _unwrap(f, wrt):
    """The plain function and wrt key; a @derivatives function brings its own wrt. Without
    wrt, the parameters that have no default value are differentiated."""
    if isinstance(f, Derivatives):
        g, key = f.__wrapped__, (f.wrt if wrt is None else _wrt_key(wrt))
        if isinstance(g, functools.partial):              # @derivatives of a partial
            g = _from_partial(g)
    elif isinstance(f, functools.partial):
        g, key = _from_partial(f), _wrt_key(wrt)
    else:
        if isinstance(f, types.MethodType):
            raise ArgumentError(f"{f.__qualname__} is a bound method: s2s_invad differentiates plain "
                                "functions; write a module-level def that takes the values as parameters")
        if not isinstance(f, types.FunctionType):
            inner = getattr(f, "__wrapped__", None)
            also = (f": it wraps the def {inner.__qualname__} (a decorator that returns an object, such as "
                    f"functools.lru_cache); pass that function itself (the object's __wrapped__), which "
                    f"differentiates it without the decorator") if isinstance(inner, types.FunctionType) else ""
            raise ArgumentError(f"expected a Python function, got {type(f).__name__}: s2s_invad "
                                f"differentiates functions defined with def{also}")
        g, key = f, _wrt_key(wrt)
    g = _plain(g)
    if key is None and g.__defaults__:
        names = _param_names(g)
        key = names[:len(names) - len(g.__defaults__)]
        if not key:
            raise ArgumentError(f"every parameter of {g.__name__} has a default value, and parameters with "
                                "defaults are differentiated only when wrt names them: pass wrt=(names...)")
    return g, key


_VARIADIC = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_partials: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # partial -> (its state, the def)


def _keyword_only(g) -> tuple:
    code = g.__code__
    return code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]


def _from_partial(p: functools.partial):
    """The def a ``functools.partial`` stands for: its keywords become default values (a
    keyword-only parameter's is a constant of the transform, a positional parameter's a
    default that the primals may leave out). The same def for the same partial, so what the
    API keeps for it is found again."""
    state = (p.func, p.args, dict(p.keywords))
    known = _partials.get(p)
    if known is not None and known[0][0] is state[0] and known[0][1] is state[1] and \
            known[0][2].keys() == state[2].keys() and all(known[0][2][k] is v for k, v in state[2].items()):
        return known[1]
    func = p.func.__wrapped__ if isinstance(p.func, Derivatives) else p.func
    if not isinstance(func, types.FunctionType):
        raise ArgumentError(f"functools.partial of a {type(func).__name__}: s2s_invad differentiates "
                            "functions defined with def (a partial of a def is read as that def with "
                            "the partial's keywords as its default values)")
    g = _plain(func)
    names = _param_names(g)
    if p.args:
        raise ArgumentError(
            f"functools.partial({g.__name__}, {', '.join(reprlib.repr(a) for a in p.args)}) binds positional "
            f"parameter(s) ({', '.join(names[:len(p.args)])}): the primals give every positional parameter. "
            "Bind by keyword a parameter that only parameters with defaults follow (its value is then a "
            "default, passive unless wrt names it), or close over the value in a function that calls "
            f"{g.__name__} (def g({', '.join(names[len(p.args):])}): return {g.__name__}(..., "
            f"{', '.join(names[len(p.args):])}))")
    kwonly = _keyword_only(g)
    unknown = [k for k in p.keywords if k not in names and k not in kwonly]
    if unknown:
        raise ArgumentError(f"functools.partial({g.__name__}, ...) binds {', '.join(map(repr, unknown))}, which "
                            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
                            f"{g.__name__}{tuple(names) + tuple(kwonly)}")
    defaults = dict(zip(names[len(names) - len(g.__defaults__ or ()):], g.__defaults__ or ()))
    defaults.update((k, v) for k, v in p.keywords.items() if k in names)
    first = min((names.index(k) for k in defaults), default=len(names))
    gaps = [n for n in names[first:] if n not in defaults]
    if gaps:
        raise ArgumentError(
            f"functools.partial({g.__name__}, {', '.join(k + '=...' for k in p.keywords if k in names)}) binds "
            f"'{names[first]}' by keyword, but {', '.join(map(repr, gaps))} after it "
            f"{'has' if len(gaps) == 1 else 'have'} no default, so the primals (given by position) could not "
            f"reach {'it' if len(gaps) == 1 else 'them'}: bind only parameters that the ones with defaults "
            f"follow, or write a def that calls {g.__name__} with the values you want")
    kwdefaults = {**(g.__kwdefaults__ or {}), **{k: v for k, v in p.keywords.items() if k in kwonly}}
    derived = types.FunctionType(g.__code__, g.__globals__, g.__name__,
                                 tuple(defaults[n] for n in names[first:]) or None, g.__closure__)
    derived.__kwdefaults__ = kwdefaults or None
    derived.__qualname__, derived.__module__, derived.__doc__ = g.__qualname__, g.__module__, g.__doc__
    _partials[p] = (state, derived)
    return derived
_pass_through: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # wrapper -> the function it passes to


def _plain(g):
    """``g``, or the function a transparent decorator wrapper stands for; a signature the API
    cannot call by position (``*args``, ``**kwargs``, keyword-only parameters) is refused by
    the front end's fence, at the parameter, before the arguments are counted. Keyword-only
    parameters with default values are taken as constants fixed at their defaults (as JAX
    does); one without a default is an ArgumentError."""
    code = g.__code__
    if not (code.co_flags & _VARIADIC or code.co_kwonlyargcount):
        return g
    if not code.co_flags & _VARIADIC:
        missing = [n for n in _keyword_only(g) if n not in (g.__kwdefaults__ or {})]
        if not missing:
            return g
        try:
            fence(source_of(g))               # refused at the parameter, with file, line and caret
        except UnsupportedSyntaxError as exc:
            raise ParameterError(exc.msg, exc.filename, exc.lineno, exc.offset, exc.text) from None
        except S2SError:                      # no source text: said without a line
            pass
        listed = ", ".join(map(repr, missing))
        raise ArgumentError(
            f"{g.__qualname__} ({code.co_filename}:{code.co_firstlineno}): keyword-only parameter(s) {listed} "
            f"without a default value: s2s_invad, as JAX, takes the primals by position and keyword-only "
            f"parameters as constants fixed at their defaults. Give {'it' if len(missing) == 1 else 'them'} a "
            f"default (def {g.__name__}(..., *, {missing[0]}=...)), bind a value with "
            f"functools.partial({g.__name__}, {missing[0]}=...) and differentiate the partial, or make "
            f"{'it a positional parameter' if len(missing) == 1 else 'them positional parameters'} to "
            "pass or differentiate it")
    inner = _pass_through.get(g)
    if inner is None or inner is not getattr(g, "__wrapped__", None):
        inner = transparent_inner(g)          # reads the wrapper's source: once per wrapper
        if inner is not None:
            _pass_through[g] = inner
    if inner is not None:                     # def wrapper(*args, **kwargs): return inner(*args, **kwargs)
        return _plain(inner)
    try:
        fence(source_of(g))
    except UnsupportedSyntaxError as exc:
        wrapped = getattr(g, "__wrapped__", None)
        if wrapped is None or not code.co_flags & _VARIADIC:
            raise
        raise UnsupportedSyntaxError(
            f"{exc.msg}. This def {code.co_name} is a decorator's wrapper (functools.wraps named it "
            f"{g.__name__} after the function it wraps) and is not a plain pass-through (its whole body "
            f"`return <that function>(*args, **kwargs)`), so it cannot be read as {g.__name__}: pass the undecorated "
            f"function ({g.__name__}.__wrapped__) to differentiate it without the decorator's code, or "
            f"write the wrapper with its parameters listed (def {code.co_name}(x, y): ...)",
            exc.filename, exc.lineno, exc.offset, exc.text) from None
    raise ArgumentError(f"{g.__qualname__}: a signature with *args or **kwargs cannot be differentiated: "
                        "list every parameter")


def _record(f) -> _Record:
    """What this process keeps for ``f``: started again when a module constant, constant
    array or helper that ``f`` reads has changed since (:mod:`~s2s_invad.back.guard`)."""
    try:
        record = _records.get(f)
    except TypeError:
        raise ArgumentError(f"cannot differentiate {f!r}") from None
    if record is None or not record.guard.holds():
        record = _records[f] = _Record(f)
    return record


def _unroll_key(unroll):
    """A hashable form of the ``unroll=`` policy (checked)."""
    if unroll is None or isinstance(unroll, bool):
        return unroll
    if isinstance(unroll, dict) and all(isinstance(k, int) and isinstance(v, bool) for k, v in unroll.items()):
        return tuple(sorted(unroll.items()))
    raise ArgumentError(f"unroll must be None, True, False or a dict of source line -> bool, got {unroll!r}")


def _policy(opts):
    """(schedule, unroll) as analyse() takes them."""
    schedule, unroll = opts
    return schedule, dict(unroll) if isinstance(unroll, tuple) else unroll


def _analysis(f, key, opts, lengths: dict, probe=frozenset(), arrays=frozenset(), statics=None,
              memo=()) -> Analysis:
    record = _record(f)
    akey = (key, opts, tuple(sorted(lengths.items())), arrays) + ((memo,) if memo else ())
    if akey not in record.analyses:
        schedule, unroll = _policy(opts)
        record.analyses[akey] = analyse(f, key, schedule, lengths, frozenset(probe), unroll, arrays, statics)
    return record.analyses[akey]


def _options(f, schedule, unroll) -> tuple:
    """The transform options of a call: (schedule, unroll key), a @derivatives function's
    defaults unless the call says otherwise."""
    if isinstance(f, Derivatives):
        schedule = f.schedule if schedule else schedule
        unroll = f.unroll if unroll is None else unroll
    return bool(schedule), _unroll_key(unroll)


BACKENDS = ("python", "numba", "c")
_PASSES = {"numba": numba_backend, "c": c_backend}     # the text pass of each compiled backend


def _backend_name(f, backend) -> str:
    """The backend of a call: "python" (the default), "numba" or "c", a @derivatives
    function's unless the call says otherwise."""
    if backend is None:
        backend = f.backend if isinstance(f, Derivatives) else "python"
    if backend not in BACKENDS:
        raise ArgumentError(f"unknown backend={backend!r}: choose 'python' (the default), 'numba' (compiled "
                            "by numba: small functions, loops kept as loops, batches) or 'c' (compiled by the "
                            "system C compiler: functions without loops, one point at a time)")
    return backend


def _backend(f, backend) -> str:
    """:func:`_backend_name`, and a BackendError unless that backend can run here."""
    backend = _backend_name(f, backend)
    if backend != "python":
        _PASSES[backend].require()
    return backend


def with_backend(text: str, backend: str, bound: int | None = None) -> str:
    """Generated module ``text`` for ``backend``: the compiled backend's section appended."""
    if backend == "numba":
        return numba_backend.with_numba(text, bound)
    if backend == "c":
        return c_backend.with_c(text, bound)
    return text


def analysis_of(f, wrt=None, *, schedule=True, shapes=None, unroll=None) -> Analysis:
    """The cached analysis of ``f`` (front end, SSA, schedule, graph, lumps)."""
    opts = _options(f, schedule, unroll)
    shapes = _shapes(f, shapes)
    f, key = _unwrap(f, wrt)
    lengths = dict(_shapes_key(shapes))
    try:
        return _analysis(f, key, opts, lengths, frozenset(_param_names(f)) - set(lengths))
    except ShapeProbe as probe:
        raise probe.error(f"pass shapes={{{probe.param!r}: LENGTH}}") from None


def _param_names(f) -> tuple:
    code = f.__code__
    return code.co_varnames[:code.co_argcount]


def _primals(f, primals) -> tuple:
    """The primals of a call as a tuple of every parameter's value: parameters with default
    values that the call leaves out take them (as Python would), as arguments that are not
    differentiated unless wrt names them. The values are checked later, against the
    analysis (:func:`_check_primals`)."""
    names = _param_names(f)
    defaults = f.__defaults__ or ()
    required = len(names) - len(defaults)
    what = f"primals of {f.__name__}"
    if defaults and isinstance(primals, (tuple, list)) and required <= len(primals) < len(names):
        primals = tuple(primals) + defaults[len(primals) - required:]
    elif defaults and isinstance(primals, (tuple, list)) and len(primals) != len(names):
        optional = ", ".join(f"{n}={reprlib.repr(d)}" for n, d in zip(names[required:], defaults))
        raise ArgumentError(f"{what}: expected {required} to {len(names)} value(s) ({', '.join(names[:required])}"
                            f"{', then optionally ' if required else ''}{optional}), got {len(primals)}")
    return _as_tuple(primals, what, len(names), names)


def _static_objects(f, key, primals, backend: str = "python") -> tuple:
    """(wrt key, {parameter: object}, memo key) for the parameter objects a call gives
    positional parameters. As JAX's static arguments, each is a constant of the transform
    (its fields are read when the function is transformed, and the generated code passes it
    through unused): never differentiated, and a new object or a changed field (compared by
    value, as the guard compares module constants) transforms again."""
    names = _param_names(f)
    objects = {n: x for n, x in zip(names, primals) if is_param_object(x)}
    if not objects:
        return key, {}, ()
    code = f.__code__
    where = f"{f.__name__} ({code.co_filename}:{code.co_firstlineno})"
    if key is None:
        key = tuple(n for n in names if n not in objects)
    named = [n for n in key if n in objects]
    if named:
        raise ArgumentError(f"wrt names '{named[0]}' of {where}, but the call gives it a "
                            f"{type(objects[named[0]]).__name__} (a parameter object): its fields are constants "
                            "of the transform, not differentiated; differentiate numbers or arrays")
    if backend != "python":
        raise ArgumentError(f"argument '{next(iter(objects))}' of {where} is a parameter object, which "
                            f"backend={backend!r} cannot pass: use the Python backend, or read the object "
                            "from a closure, a module global or a keyword-only default")
    memo = []
    for name, x in sorted(objects.items()):
        snapshot = guard_snapshot(x)
        if snapshot is None:
            raise ArgumentError(f"argument '{name}' of {where} is a {type(x).__name__} whose fields cannot be "
                                "compared (object arrays?): pass numbers, arrays and tuples in it")
        memo.append((name, snapshot))
    return key, objects, tuple(memo)


def _batched(primals) -> bool:
    """A call with a batch of points: some argument has two or more axes (vectors (n, B))."""
    return any(isinstance(x, np.ndarray) and x.ndim >= 2 for x in primals)


def _is_vector_arg(x) -> bool:
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim >= 1)


def _ndim(x) -> int:
    """NumPy's ndim of an argument, with a list or tuple (perhaps ragged) as one axis."""
    return 1 if isinstance(x, (list, tuple)) else np.ndim(x)


def _prepare(f, wrt, primals, opts, shapes=None):
    """(analysis, signature key, primals) for a call: lengths from the arguments."""
    shapes = _shapes(f, shapes)
    f, key = _unwrap(f, wrt)
    names = _param_names(f)
    primals = _primals(f, primals)
    key, statics, memo = _static_objects(f, key, primals)
    record = _record(f)
    lengths = _known_lengths(names, primals, record, shapes)
    batched = _batched(primals)
    while True:
        # A 1-D array for a parameter not known as a vector is a batch of points, unless the
        # call is one point: no argument has two axes and (a) the call passes a vector
        # parameter unbatched (1-D), or (b) the body combines the array elementwise with a
        # vector or reduces it (np.sum, np.stack...). Then, as NumPy would in the user's own
        # function, it is a vector of its length.
        arrays = frozenset(n for n, x in zip(names, primals)
                           if not batched and n not in lengths and isinstance(x, np.ndarray) and x.ndim == 1)
        if arrays and any(name in lengths and _ndim(x) == 1 for name, x in zip(names, primals)):
            for n in arrays:
                record.vectors.add(n)
                lengths[n] = primals[names.index(n)].shape[0]
            continue
        try:
            analysis = _analysis(f, key, opts, lengths, frozenset(names) - set(lengths), arrays, statics, memo)
            break
        except ShapeProbe as found:
            x = primals[names.index(found.param)]
            if not (isinstance(x, np.ndarray) and x.ndim >= 1):
                got = "" if isinstance(x, (int, float, np.generic, np.ndarray)) else \
                    f" (got a {type(x).__name__}: a vector is a list of numbers or a 1-D array, its elements in " \
                    "the order the function indexes them)"
                raise found.error(f"pass a 1-D array or a list for '{found.param}'{got}") from None
            record.vectors.add(found.param)
            lengths[found.param] = primals[names.index(found.param)].shape[0]
    skey = tuple(sorted(lengths.items()))
    return f, key, opts, skey, analysis, _check_primals(analysis.program, primals)


def _check_mode(mode: str) -> None:
    if mode not in MODES + EXTRA_MODES:
        raise ArgumentError(f"unknown mode {mode!r}: choose one of {', '.join(MODES + EXTRA_MODES)}")


def _check_memory(memory: str, analysis: Analysis, mode: str = "ijvp") -> None:
    if memory not in MEMORY:
        raise ArgumentError(f"unknown memory={memory!r}: choose 'store' (keep every intermediate "
                            "value for the backward sweep) or 'recompute' (rebuild them backwards)")
    if analysis is not None and analysis.rolled and mode in ("vjp", "drift"):
        return                 # loops without an inverse are reversed by checkpointing instead
    if memory == "recompute" and analysis.lumps is None:
        raise NotInvertibleError(
            f"memory='recompute' rebuilds values backwards through the lumps, so it needs a square, "
            f"invertible program; use memory='store'. Reason: {analysis.not_invertible}",
            analysis.not_invertible.lineno)


def _check_checkpoints(checkpoints, memory: str) -> None:
    if checkpoints is None:
        return
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, (int, np.integer)) or checkpoints < 1:
        raise ArgumentError(f"checkpoints={checkpoints!r}: give the number of loop states binomial "
                            "checkpointing may keep, an integer >= 1 (or None for about log2 of the "
                            "trip count)")
    if memory != "recompute":
        raise ArgumentError("checkpoints= sets the snapshot budget of memory='recompute'; pass "
                            "memory='recompute' too (memory='store' keeps every state)")


def source(f, mode: str, wrt=None, memory: str = "store", *, schedule=True, shapes=None,
           unroll=None, checkpoints=None, backend=None) -> str:
    """The generated Python source of ``mode`` ("jvp", "vjp", "ijvp", "ivjp" or "slogdet").

    ``memory="recompute"`` (vjp and ijvp) gives sweeps that rebuild the primal backwards
    (``checkpoints=``: the snapshot budget for loops reversed by binomial checkpointing);
    ``shapes={"u": n}`` gives the lengths of vector parameters; ``backend="numba"`` (or
    ``"c"``) appends that backend's section (what is compiled, what stays Python and why).
    """
    _check_mode(mode)
    backend = _backend_name(f, backend)                     # writing the text needs no numba
    memory, checkpoints = _memory(f, memory, checkpoints)
    _check_checkpoints(checkpoints, memory)
    analysis = analysis_of(f, wrt, schedule=schedule, shapes=shapes, unroll=unroll)
    _check_memory(memory, analysis, mode)
    return with_backend(generate(analysis, (mode,), memory, checkpoints, backend != "python"), backend)


def explain(f, wrt=None, *, schedule=True, shapes=None, unroll=None, checkpoints=None, backend=None) -> str:
    """A readable report: SSA, live width at each point, pivots, lumps with k and lines, and
    the width profile and lumps of the source order against the chosen schedule; what
    memory="recompute" does (with ``checkpoints=`` snapshots for checkpointed loops); with
    ``backend="numba"``, which generated function of each mode is compiled and which stays
    Python, and why."""
    backend = _backend_name(f, backend)
    analysis = analysis_of(f, wrt, schedule=schedule, shapes=shapes, unroll=unroll)
    report = _explain_report(analysis, compiled=backend != "python")
    if analysis.rolled:
        report += "\n" + "\n".join(describe_loops(analysis.regions, checkpoints))
    elif analysis.lumps:
        report += "\n" + "\n".join(describe_memory(plan_memory(analysis.graph, analysis.lumps),
                                                    analysis.lumps))
    if backend != "python":
        step = _PASSES[backend]
        modes = MODES + EXTRA_MODES if analysis.invertible else ("jvp", "vjp")
        lines = [f"backend {backend} (functions of more than {step.max_statements():,} statements stay "
                 f"Python; set {step.ENV} to change it):"]
        for mode in modes:
            memory, budget = _memory(f, "store", checkpoints) if mode in ("vjp", "ijvp") else ("store", None)
            text = generate(analysis, (mode,), memory, budget if memory == "recompute" else None, True)
            lines += [f"  {mode}: {line}" for line in step.explain_choices(text)]
        report += "\n" + "\n".join(lines)
    return report


def drift(f, primals, wrt=None, *, schedule=True, unroll=None) -> DriftReport:
    """How far memory="recompute" rebuilds values from the forward ones at ``primals``."""
    *_, analysis, checked = _prepare(f, wrt, primals, _options(f, schedule, unroll))
    _check_memory("recompute", analysis, "drift")
    _, fn, _ = _compiled(f, wrt, "drift", primals, schedule=schedule, unroll=unroll)
    forward, rebuilt = fn(*checked)
    return drift_report(analysis.program, forward, rebuilt)


def _compiled(f, wrt, mode, primals, memory="store", schedule=True, unroll=None, checkpoints=None,
              backend="python"):
    """(call spec, generated function, checked primals) of ``mode`` for this call: from
    this process's memo, else from the cache of generated modules (no transform at all),
    else transformed (``_prepare``) and stored. The wrappers read only the spec
    (:class:`~s2s_invad.back.callspec.CallSpec`). ``backend="numba"``: the module has the
    numba section, and the function is its entry point (compiled with a Python fallback)."""
    memory, checkpoints = _memory(f, memory, checkpoints)
    if memory not in MEMORY:
        _check_memory(memory, None)                       # unknown: raises before any analysis
    _check_checkpoints(checkpoints, memory)
    opts, shapes = _options(f, schedule, unroll), _shapes(f, shapes=None)
    g, key = _unwrap(f, wrt)
    names = _param_names(g)
    primals = _primals(g, primals)
    key, statics, memo = _static_objects(g, key, primals, backend)
    record = _record(g)
    lengths = _known_lengths(names, primals, record, shapes)
    batched = tuple(n for n, x in zip(names, primals)       # arrays for scalar parameters
                    if n not in lengths and isinstance(x, np.ndarray) and x.ndim >= 1)
    bound = _PASSES[backend].max_statements() if backend != "python" else None
    tuning = (bound, c_backend.optimize_max_statements()) if backend == "c" else bound   # what shapes its text
    mkey = (mode, key, (memory, checkpoints), opts, (backend, tuning), tuple(sorted(lengths.items())), batched)
    if memo:                                         # parameter objects, by value; other keys as before
        mkey += (memo,)
    if mkey not in record.compiled:
        arrays = tuple((n, np.ndim(x), np.shape(x)[0]) for n, x in zip(names, primals)
                       if n not in lengths and isinstance(x, np.ndarray) and x.ndim >= 1)

        def make():
            *_, analysis, _ = _prepare(f, wrt, primals, opts)
            if memory != "store" or mode == "drift":
                _check_memory("recompute" if mode == "drift" else memory, analysis, mode)
            text = with_backend(generate(analysis, (mode,), memory, checkpoints, backend != "python"),
                                backend, bound)
            return text, CallSpec.of(analysis.program, mode)
        options = {"mode": mode, "memory": memory, "schedule": opts[0], "unroll": opts[1], "wrt": key,
                   **({"checkpoints": int(checkpoints)} if checkpoints is not None else {}),
                   "lengths": sorted(lengths.items()), "arrays": arrays}
        try:
            if g.__kwdefaults__:                     # constants of the code; other keys as before
                options.update(keyword_constants=_keyword_constants(g))
            if statics:
                options.update(statics={n: cache.describe(x) for n, x in sorted(statics.items())})
        except cache.Unkeyable:                      # a constant the key cannot capture: not cached
            options.update(uncacheable=True)
        if backend != "python":                      # other keys as before: python entries stay valid
            options.update(backend=backend, max_statements=bound)
            if backend == "c":
                options.update(optimize_max_statements=tuning[1])
        spec, namespace = cache.fetch(g, options, make)
        # learn which parameters the source uses as vectors (so that an array for one is a
        # vector next time), but not from lists: a list is a vector whatever the source does
        record.vectors |= spec.vectors - {n for n, x in zip(names, primals) if isinstance(x, (list, tuple))}
        entry = (spec, namespace[spec.entry])
        final = tuple(sorted((p.name, p.length) for p in spec.signature if p.is_vector))
        known = {name for name, _ in final}
        record.compiled[mkey] = record.compiled[mkey[:5] + (final, tuple(n for n in batched if n not in known))
                                                + mkey[7:]] = entry
    spec, fn = record.compiled[mkey]
    checked = _check_primals(spec, primals)
    for tape in _tapes(fn):
        tape.check(checked)
    return spec, fn, checked


def _known_lengths(names, primals, record: _Record, shapes) -> dict:
    """The lengths of the vector parameters known before any analysis: given by shapes=,
    a list or tuple argument, or an array for a parameter found to be a vector before."""
    lengths = dict(_shapes_key(shapes))
    for name, x in zip(names, primals):
        if name in lengths:
            continue
        if isinstance(x, (list, tuple)):
            lengths[name] = len(x)
        elif isinstance(x, np.ndarray) and name in record.vectors and x.ndim >= (2 if _batched(primals) else 1):
            lengths[name] = x.shape[0]
    return lengths


# -- store-mode tapes: a loop too long for memory="store" is refused before it runs ----------

_TAPE = re.compile(r"^(?P<indent> *)(?P<name>_tape_l(?P<line>\d+)\w*) = \[None\] \* (?P<count>.+?)\s*$")
_FAILED_AT = re.compile(r"_rt\.failed\((?P<q>['\"])(?P<file>.*?)(?P=q)\)")
_TOP = 8                        # the indentation of a generated function's statements (in its try)
_SITE = re.compile(r"\s*# line (?P<line>\d+)(?: \([^)]*\))?: (?P<text>.*)")   # "(_ = 1)": an unrolled loop's


def _site(lines: list, row: int, line: int) -> str:
    """The source text of ``line`` from the nearest comment above ``lines[row]`` quoting it."""
    for text in reversed(lines[:row]):
        m = _SITE.match(text)
        if m and int(m.group("line")) == line:
            return m.group("text").rstrip()
        if text.startswith("def "):
            break
    return "?"


class _Tape:
    """A list a generated function allocates to keep a kept-as-a-loop loop's values (one
    entry per iteration) before the loop runs: its source line and text, its length (a
    constant, or the index of the parameter that is the trip count) and about how many bytes
    an iteration keeps."""
    __slots__ = ("filename", "line", "text", "count", "param", "per_iteration")

    def __init__(self, filename, line, text, count, param, per_iteration):
        self.filename, self.line, self.text = filename, line, text
        self.count, self.param, self.per_iteration = count, param, per_iteration

    def check(self, primals) -> None:
        count = self.count if self.param is None else primals[self.param]
        if count > sys.maxsize or count * self.per_iteration > _memory_bytes():
            raise _too_long(self.filename, self.line, self.text, count, self.per_iteration)


_tape_plans: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # generated function -> tapes


def _tapes(fn) -> tuple:
    """The tapes the generated function ``fn`` allocates at its top level (read from its
    text, once): those of loops nested in loops, and lengths computed from parameters, are
    left to the check of a failed allocation (:func:`_tape_failure`)."""
    try:
        return _tape_plans[fn]
    except (KeyError, TypeError):
        pass
    python = getattr(fn, "python", fn)          # a compiled backend's entry: its Python function's text
    code = getattr(python, "__code__", None)
    if code is None:
        return ()
    lines = linecache.getlines(code.co_filename)
    body = []
    for text in lines[code.co_firstlineno:]:
        if text.startswith(("def ", "class ", "@")):
            break
        body.append(text)
    shown = next((m.group("file") for m in map(_FAILED_AT.search, body) if m), code.co_filename)
    params = code.co_varnames[:code.co_argcount]
    out = []
    for i, text in enumerate(body):
        m = _TAPE.match(text)
        if m is None or len(m.group("indent")) != _TOP:
            continue
        count = m.group("count")
        if not (count.isdigit() or count in params):
            continue
        store = next((t for t in body[i + 1:] if t.lstrip().startswith(m.group("name") + "[")), "")
        kept = store.split("= (", 1)[1].rstrip().rstrip(")") if "= (" in store else ""
        entries = max(1, len([e for e in kept.split(",") if e.strip()]))
        # Python: a list slot, the tuple (40 bytes and 8 per entry) and a float per entry (24
        # bytes); a compiled backend keeps doubles
        per_iteration = 8 + 40 + 32 * entries if python is fn else 8 * entries
        line = int(m.group("line"))
        out.append(_Tape(shown, line, _site(lines, code.co_firstlineno + i, line),
                         int(count) if count.isdigit() else None,
                         None if count.isdigit() else params.index(count), per_iteration))
    plan = tuple(out)
    try:
        _tape_plans[fn] = plan
    except TypeError:
        pass
    return plan


_MEMORY: list = []


def _memory_bytes() -> float:
    """This machine's memory (or the process's cgroup limit, if lower), in bytes; inf when
    it cannot be read."""
    if not _MEMORY:
        total = float("inf")
        try:
            total = float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
        for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
            try:
                with open(path, encoding="ascii") as fh:
                    limit = fh.read().strip()
            except OSError:
                continue
            if limit.isdigit():
                total = min(total, float(limit))
        _MEMORY.append(total)
    return _MEMORY[0]


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:,.0f} {unit}" if n / scale >= 10 else f"{n / scale:.1f} {unit}"
    return f"{n:,.0f} bytes"


def _too_long(filename, line, text, count, per_iteration) -> TapeMemoryError:
    where = f"{filename}:{line}: " if line is not None else f"{filename}: "
    if count is not None and count > sys.maxsize:
        why = f"more than a Python list can hold ({sys.maxsize:,} entries)"
        needed = None
    elif count is not None and per_iteration:
        needed = count * per_iteration
        memory = _memory_bytes()
        have = f"this machine has {_size(memory)}" if memory != float("inf") else "more than this machine can hold"
        why = f"about {_size(needed)} ({have})"
    else:
        why, needed = "more memory than this machine has", None
    times = f"{count:,} iterations" if count is not None else "its iterations"
    return TapeMemoryError(
        f"{where}the loop `{text}` is kept as a loop, and memory='store' keeps the values of each of its "
        f"{times} for the backward sweep: {why}. Pass memory='recompute' (vjp and ijvp: the sweep rebuilds "
        "the values backwards in constant memory, or from checkpoints=S stored states by binomial "
        "checkpointing), or run fewer iterations per call", filename, line, count, needed)


def _tape_failure(exc: BaseException) -> None:
    """Raise :class:`TapeMemoryError` when ``exc`` (from a generated function) is the failed
    allocation of a tape: a MemoryError, or an OverflowError (a length beyond an index)
    reported as a NonFiniteError; return otherwise (the caller re-raises ``exc``)."""
    inner = exc.__cause__ if isinstance(exc, NonFiniteError) else exc
    if not isinstance(inner, (MemoryError, OverflowError)) or inner.__traceback__ is None:
        return
    tb = inner.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    gen_file, gen_line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
    m = _TAPE.match(linecache.getline(gen_file, gen_line).rstrip("\n"))
    if m is None:
        return
    count = m.group("count")
    value = int(count) if count.isdigit() else tb.tb_frame.f_locals.get(count)
    lines, line = linecache.getlines(gen_file), int(m.group("line"))
    shown = next((f.group("file") for f in map(_FAILED_AT.search, lines[gen_line:]) if f), gen_file)
    raise _too_long(shown, line, _site(lines, gen_line - 1, line),
                    value if isinstance(value, int) else None, None) from None


def _run(fn, args):
    """``fn(*args)`` for a generated function that may keep a tape (vjp, ijvp): a tape that
    could not be allocated is a :class:`TapeMemoryError` citing its loop."""
    try:
        return fn(*args)
    except (MemoryError, NonFiniteError) as exc:
        _tape_failure(exc)
        raise


# -- arguments ---------------------------------------------------------------------------

def _names_text(names) -> str:
    """Parameter names for a message: all of a few, the ends of many (a 512-parameter
    function's message stays one line)."""
    names = list(names)
    return ", ".join(names) if len(names) <= 10 else ", ".join(names[:6] + ["..."] + names[-2:])


def _as_tuple(value, what: str, expected: int, names) -> tuple:
    if not isinstance(value, (tuple, list)):
        raise ArgumentError(f"{what} must be a tuple of {expected} value(s) ({_names_text(names)}), "
                            f"got {type(value).__name__}")
    if len(value) != expected:
        raise ArgumentError(f"{what}: expected {expected} value(s) ({_names_text(names)}), got {len(value)}")
    return tuple(value)


def _not_masked(x, what: str) -> None:
    """Refuse a NumPy masked array: the generated code would compute with the values under
    its mask (and NumPy turns masked elements into nan on the way)."""
    if isinstance(x, np.ma.MaskedArray):
        raise ArgumentError(f"{what} is a NumPy masked array: the derivatives are computed from every "
                            "element, masked ones included, so its masked elements would come back as "
                            "nan; pass x.filled(value) to choose the values under the mask, or "
                            "np.asarray(x) if the mask is meant to be ignored")


def _number_or_array(x, what: str):
    """``x`` checked: a real number or a real array (never bools, complex, strings, objects,
    masked arrays)."""
    _not_masked(x, what)
    if isinstance(x, (bool, np.bool_)):
        raise ArgumentError(f"{what} is a bool ({x!r}): pass a number (a float or an int)")
    if isinstance(x, (int, float, np.integer, np.floating)):
        return x
    if isinstance(x, (complex, np.complexfloating)):
        raise ArgumentError(f"{what} is complex ({x!r}): s2s_invad differentiates real arithmetic")
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise ArgumentError(f"{what} is a complex array: s2s_invad differentiates real arithmetic")
        if x.dtype.kind not in "iuf":
            raise ArgumentError(f"{what} is an array of dtype {x.dtype}: pass real numbers (floats or ints)")
        return x
    raise ArgumentError(f"{what} must be a number or a NumPy array, got {type(x).__name__}")


def _vector(x, n: int, what: str):
    """A vector argument of length ``n``: a list/tuple of numbers or an array (n, *batch)."""
    if isinstance(x, (list, tuple)):
        if len(x) != n:
            raise ArgumentError(f"{what} has length {len(x)}, expected {n}")
        for i, e in enumerate(x):
            _number_or_array(e, f"{what}[{i}]")
        return x
    if isinstance(x, np.ndarray):
        _number_or_array(x, what)
        if x.ndim == 0 or x.shape[0] != n:
            raise ArgumentError(f"{what} has shape {x.shape}, expected a vector of length {n} "
                                f"(shape ({n},), or ({n}, batch...) for a batch)")
        return x
    _number_or_array(x, what)
    raise ArgumentError(f"{what} is a number, but it is a vector of length {n}: pass a 1-D array or a list")


def _batch_shape(x, vector: bool, name: str) -> tuple:
    if isinstance(x, (list, tuple)):
        shapes = [np.shape(e) for e in x]
        try:
            return np.broadcast_shapes(*shapes) if shapes else ()
        except ValueError:
            raise ArgumentError(f"{name} is a list whose elements have batch shapes that do not "
                                f"broadcast ({', '.join(map(str, shapes))})") from None
    shape = np.shape(x)
    return shape[1:] if vector else shape


def _check_batches(prog, pairs, what: str, base: tuple = ()) -> tuple:
    """The common batch shape of ``pairs`` ((value, is_vector, name)) and ``base`` (the
    arguments' batch shape, for tangents and cotangents), or an ArgumentError."""
    shapes = [(name, _batch_shape(x, vec, f"{what} of {prog.name}: '{name}'")) for x, vec, name in pairs]
    try:
        batch = np.broadcast_shapes(base, *(s for _, s in shapes))
    except ValueError:
        listed = ", ".join(f"{n}: {s}" for n, s in shapes)
        against = f" with the arguments' batch shape {base}" if base else ""
        raise ArgumentError(f"{what} of {prog.name}: batch shapes that do not broadcast{against} "
                            f"({listed})") from None
    if batch and ("numpy" not in prog.modules.values() or prog.calls_math):
        uses = ", ".join(f"{a}.<fn>" for a, kind in prog.modules.items() if kind == "math") \
            if prog.calls_math else "no numpy function"
        raise ArgumentError(
            f"{prog.name} was given arrays (batch shape {batch}), but its source uses {uses}, so its "
            "generated code works on one point at a time; call np.<fn> (import numpy as np) in the "
            "source to evaluate it on arrays elementwise, or loop over the points")
    return batch


def _check_primals(prog, primals) -> tuple:
    out, pairs = [], []
    for param, x in zip(prog.signature, primals):
        what = f"argument '{param.name}' of {prog.name}"
        if param.name in prog.statics:                # a parameter object: passed through, unused
            if not is_param_object(x):
                raise ArgumentError(f"{what} is a {type(x).__name__}, but this code was made for a parameter "
                                    "object there")
            out.append(x)
            continue
        if param.name in prog.counts and not param.is_vector:
            x = _trip_count(x, what, prog.counts[param.name])
        else:
            if param.name in prog.products and isinstance(x, np.ndarray) and x.ndim >= 2:
                _matrix_argument(x, what, param.name, prog.products[param.name])
            x = _vector(x, param.length, what) if param.is_vector else _scalar(x, what)
        out.append(x)
        pairs.append((x, param.is_vector, param.name))
    _check_batches(prog, pairs, "the arguments")
    return tuple(out)


def _primal_batch(prog, primals) -> tuple:
    """The batch shape of checked primals (() for one point)."""
    return _check_batches(prog, [(x, p.is_vector, p.name) for p, x in zip(prog.signature, primals)
                                 if p.name not in prog.statics], "the arguments")


def _matrix_argument(x, what: str, name: str, site: str) -> None:
    """A 2-D array for a parameter the body multiplies whole (``A @ x`` at ``site``): the
    API reads it as a batch of vectors (a column per point), which would make ``A @ x`` a dot
    product per point, not the matrix product the user's own function computes."""
    raise ArgumentError(
        f"{what} is an array of shape {x.shape}, and the source multiplies '{name}' whole at {site} "
        f"(@ or np.dot): s2s_invad reads an array with two axes as a batch of vectors (a column per "
        f"point), which would make that a dot product per point, not the matrix product of your "
        f"function. Matrix parameters are not supported: make '{name}' a module constant or capture "
        f"it in a closure (def make(A): def f(x): ... A @ x ...; return f), where it is a value known "
        f"at transform time")


def _trip_count(x, what: str, site: str) -> int:
    """An argument the source uses as a loop's trip count, as a Python int: an int, a NumPy
    integer or a 0-d integer array (floats, bools and anything else refused)."""
    _not_masked(x, what)
    value = x[()] if type(x) is np.ndarray and x.ndim == 0 else x
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    got = (f"an array of shape {x.shape} and dtype {x.dtype}" if isinstance(x, np.ndarray)
           else f"a {type(x).__name__} ({reprlib.repr(x)})")
    raise ArgumentError(f"{what} is {got}, but the loop at {site} runs a number of times computed from "
                        "it (its trip count), and a trip count must be an int: pass a Python int or a NumPy "
                        "integer (int(n) of a whole number; every point of a batch shares it)")


def _scalar(x, what):
    if isinstance(x, (list, tuple)):
        raise ArgumentError(f"{what} is a {type(x).__name__}, but the function uses it as a scalar")
    return _number_or_array(x, what)


def _inputs(prog, value, what: str, batch: tuple = ()) -> tuple:
    """Input-side values: one per differentiated parameter (bare for a single one), whose
    batch shapes broadcast with ``batch`` (the arguments')."""
    params = prog.wrt_params
    names = [p.name for p in params]
    if len(params) == 1 and not isinstance(value, tuple):
        value = (value,)
    others = [p.name for p in prog.signature if p.name not in names]
    if isinstance(value, (tuple, list)) and len(value) != len(params) and others:
        raise ArgumentError(f"{what}: expected {len(params)} value(s), one per differentiated parameter "
                            f"({_names_text(names)}), got {len(value)}: {_names_text(others)} "
                            f"{'is' if len(others) == 1 else 'are'} not differentiated (wrt= names the "
                            "differentiated parameters; without wrt they are the parameters that have no "
                            "default value)")
    value = _as_tuple(value, what, len(params), names)
    out = tuple(_vector(x, p.length, f"{what} for '{p.name}'") if p.is_vector else
                _scalar(x, f"{what} for '{p.name}'") for p, x in zip(params, value))
    _check_batches(prog, [(x, p.is_vector, p.name) for p, x in zip(params, out)], what, batch)
    return out


def _outputs_like(prog, value, what: str, batch: tuple = ()) -> tuple:
    """Output-side values shaped like f's result, as the tuple of top-level parts, whose
    batch shapes broadcast with ``batch`` (the arguments')."""
    leaves = []

    def check(spec, x, where):
        if spec is None:
            if isinstance(x, (tuple, list)):
                raise ArgumentError(f"{where}: {prog.name} returns a single value here, so pass a "
                                    "single value, not a sequence")
            leaves.append((x, False, where))
            return _number_or_array(x, where)
        if isinstance(spec, int):
            leaves.append((x, True, where))
            return _vector(x, spec, where)
        if not isinstance(x, (tuple, list)) or len(x) != len(spec):
            raise ArgumentError(f"{where}: expected a tuple of {len(spec)} values (shaped like "
                                f"{prog.name}'s result)")
        return tuple(check(s, e, f"{where}[{i}]") for i, (s, e) in enumerate(zip(spec, x)))
    spec = prog.out_spec
    out = check(spec, value, what) if isinstance(spec, tuple) else (check(spec, value, what),)
    _check_batches(prog, leaves, what, batch)
    return out


# -- the modes ---------------------------------------------------------------------------

# -- the fast path: a call like the previous one skips every check but the cheapest ------------

_NUMBERS = frozenset({float, int})


class _Fast:
    """A generated function called directly when every argument has exactly the kind of
    the previous call: a Python float or int for a scalar, a Python int for a trip count, a
    1-D float64 array of the right length for a vector (no batches, no lists): a few type
    tests, not the general checks. A call that leaves out parameters with default values
    takes them from the function (read at each call, as Python does) and is checked the same."""
    __slots__ = ("fn", "guard", "params", "inputs_of", "outputs_of", "tuple_output", "plain", "tapes", "scalars",
                 "scalar_inputs", "scalar_outputs")

    def __init__(self, fn, spec, record: _Record, plain):
        self.fn = fn
        self.guard = record.guard
        self.plain = weakref.ref(plain)        # the def whose __defaults__ fill left-out parameters
        self.tapes = tuple(t for t in _tapes(fn) if t.param is not None)   # lengths from trip counts
        # a vector parameter the source does not use as one (it came as a list) takes the
        # general path for an array, which reads a 1-D array there as a batch of points
        self.params = tuple(_NEVER if p.name in spec.statics else
                            (p.length if p.name in record.vectors else _NEVER) if p.is_vector else
                            _COUNT if p.name in spec.counts else None for p in spec.signature)
        self.inputs_of = tuple(p.length if p.is_vector else None for p in spec.wrt_params)
        self.tuple_output = spec.tuple_output
        self.outputs_of = tuple(spec.out_spec) if spec.tuple_output else (spec.out_spec,)
        # the usual case, tested first: every parameter (every input, every output) a scalar
        self.scalars = len(self.params) if not self.tapes and all(p is None for p in self.params) else -1
        self.scalar_inputs = len(self.inputs_of) if all(p is None for p in self.inputs_of) else -1
        self.scalar_outputs = len(self.outputs_of) if self.tuple_output and all(
            p is None for p in self.outputs_of) else -1

    def primals(self, primals):
        """Every parameter's value (defaults filled in) when the call fits, else None."""
        if type(primals) is not tuple:
            return None
        if len(primals) == self.scalars and _NUMBERS.issuperset(map(type, primals)):
            return primals
        missing = len(self.params) - len(primals)
        if missing:
            plain = self.plain()
            defaults = plain.__defaults__ if plain is not None else None
            if not defaults or not 0 < missing <= len(defaults):
                return None
            primals = primals + defaults[len(defaults) - missing:]
        if not _all_fit(primals, self.params):
            return None
        for tape in self.tapes:                # a trip count too long to store: the general path says so
            count = primals[tape.param]
            if count > sys.maxsize or count * tape.per_iteration > _memory_bytes():
                return None
        return primals

    def inputs(self, value):
        if type(value) is tuple and (len(value) == self.scalar_inputs and _NUMBERS.issuperset(map(type, value))
                                     or _all_fit(value, self.inputs_of)):
            return value
        return (value,) if len(self.inputs_of) == 1 and _fits(value, self.inputs_of[0]) else None

    def outputs(self, value):
        if self.tuple_output:
            return value if type(value) is tuple and (
                len(value) == self.scalar_outputs and _NUMBERS.issuperset(map(type, value))
                or _all_fit(value, self.outputs_of)) else None
        return (value,) if _fits(value, self.outputs_of[0]) else None


_F64 = np.dtype(np.float64)
_NEVER = -1                                    # a length no array has: never the fast path
_COUNT = "count"                               # a trip count: a Python int only


def _fits(x, length) -> bool:
    if length is None:
        return type(x) in _NUMBERS
    if length is _COUNT:
        return type(x) is int
    return type(x) is np.ndarray and x.shape == (length,) and x.dtype == _F64


def _all_fit(values: tuple, kinds: tuple) -> bool:
    if len(values) != len(kinds):
        return False
    if _NUMBERS.issuperset(map(type, values)):       # all numbers (the usual case), at C speed
        scalars = kinds.count(None)
        if scalars == len(kinds):
            return True
        if scalars + kinds.count(_COUNT) != len(kinds):
            return False                             # a number for a vector
    for x, length in zip(values, kinds):
        if not _fits(x, length):
            return False
    return True


# id(f) -> (a weak reference to f, {key: _Fast}): looked up on every call, so not a
# WeakKeyDictionary (whose get builds a weak reference each time).
_fast_tables: dict[int, tuple] = {}


def _fast(f, key) -> _Fast | None:
    entry = _fast_tables.get(id(f))
    if entry is None or entry[0]() is not f:
        return None
    table = entry[1]
    try:
        fast = table.get(key)
    except TypeError:                          # an unhashable wrt: the general path
        return None
    if fast is not None and not fast.guard.holds():
        table.clear()                          # a constant or helper changed: transform again
        return None
    return fast


def _remember(f, key, spec, fn) -> None:
    """Keep the direct call for functions of scalars and vectors with results that are
    scalars, vectors or a flat tuple of them."""
    out = spec.out_spec
    flat = out is None or isinstance(out, int) or (isinstance(out, tuple) and
                                                  all(s is None or isinstance(s, int) for s in out))
    if flat:
        try:
            plain = _unwrap(f, key[1])[0]
            fast = _Fast(fn, spec, _record(plain), plain)
            entry = _fast_tables.get(id(f))
            if entry is None or entry[0]() is not f:
                entry = (weakref.ref(f, functools.partial(_forget, id(f))), {})
                _fast_tables[id(f)] = entry
            entry[1][key] = fast
        except TypeError:                      # not weak-referenceable, or an unhashable wrt
            pass


def _forget(i: int, ref, tables: dict = _fast_tables) -> None:
    """The function with fast entries under id ``i`` was collected: drop them. (``tables``
    is bound here: at interpreter exit the module's globals may already be gone.)"""
    if tables.get(i, (None,))[0] is ref:
        del tables[i]


# -- the modes ---------------------------------------------------------------------------

def jvp(f, primals, tangents, wrt=None, *, schedule=True, unroll=None, backend=None):
    """``(f(*primals), J @ tangents)``; tangents one per differentiated parameter."""
    key = ("jvp", wrt, schedule, unroll, backend)
    fast = _fast(f, key)
    every = fast.primals(primals) if fast is not None else None
    if every is not None:
        v = fast.inputs(tangents)
        if v is not None:
            return fast.fn(*every, *v)
    spec, fn, primals = _compiled(f, wrt, "jvp", primals, schedule=schedule, unroll=unroll,
                                  backend=_backend(f, backend))
    _remember(f, key, spec, fn)
    return fn(*primals, *_inputs(spec, tangents, "tangents", _primal_batch(spec, primals)))


def vjp(f, *primals, wrt=None, memory="store", schedule=True, unroll=None, checkpoints=None, backend=None):
    """``(f(*primals), f_vjp)`` with ``f_vjp(y_bar) = J^T y_bar`` (a tuple, one per input).

    ``memory="recompute"``: the pullback rebuilds the primal backwards instead of keeping
    every intermediate value (square, invertible functions, or any function whose loops
    are kept as loops; see :func:`drift`). Loops without a closed-form inverse are
    reversed by binomial checkpointing with at most ``checkpoints`` stored states
    (default about log2 of the trip count).
    """
    key = ("vjp", wrt, memory, schedule, unroll, checkpoints, backend)
    fast = _fast(f, key)
    every = fast.primals(primals) if fast is not None else None
    if every is not None:
        y, bwd = _run(fast.fn, every)
        spec, batch = None, ()
    else:
        spec, fn, primals = _compiled(f, wrt, "vjp", primals, memory, schedule, unroll, checkpoints,
                                      _backend(f, backend))
        _remember(f, key, spec, fn)
        batch = _primal_batch(spec, primals)
        y, bwd = _run(fn, primals)

    def f_vjp(y_bar):
        if fast is not None:
            w = fast.outputs(y_bar)
            if w is not None:
                return bwd(*w)
        return bwd(*_outputs_like(spec or _spec_of(f, key), y_bar, "the output cotangent y_bar", batch))
    return y, f_vjp


def ijvp(f, primals, y_dot, wrt=None, memory="store", *, schedule=True, unroll=None, checkpoints=None,
         backend=None):
    """``(f(*primals), x_dot)`` where ``J x_dot = y_dot`` (x_dot a tuple, one per input).

    ``memory="recompute"``: the sweep rebuilds the primal backwards (constant memory; loops
    without a closed-form inverse: binomial checkpointing with ``checkpoints`` states).
    """
    key = ("ijvp", wrt, memory, schedule, unroll, checkpoints, backend)
    fast = _fast(f, key)
    every = fast.primals(primals) if fast is not None else None
    if every is not None:
        v = fast.outputs(y_dot)
        if v is not None:
            return _run(fast.fn, every + v)
    spec, fn, primals = _compiled(f, wrt, "ijvp", primals, memory, schedule, unroll, checkpoints,
                                  _backend(f, backend))
    _remember(f, key, spec, fn)
    return _run(fn, primals + _outputs_like(spec, y_dot, "the output tangent y_dot", _primal_batch(spec, primals)))


def ivjp(f, *primals, wrt=None, schedule=True, unroll=None, backend=None):
    """``(f(*primals), f_ivjp)`` with ``f_ivjp(x_bar) = J^-T x_bar``, shaped like f's result."""
    key = ("ivjp", wrt, schedule, unroll, backend)
    fast = _fast(f, key)
    every = fast.primals(primals) if fast is not None else None
    if every is not None:
        y, fwd = fast.fn(*every)
        spec, batch = None, ()
    else:
        spec, fn, primals = _compiled(f, wrt, "ivjp", primals, schedule=schedule, unroll=unroll,
                                      backend=_backend(f, backend))
        _remember(f, key, spec, fn)
        batch = _primal_batch(spec, primals)
        y, fwd = fn(*primals)

    def f_ivjp(x_bar):
        if fast is not None:
            w = fast.inputs(x_bar)
            if w is not None:
                return fwd(*w)
        return fwd(*_inputs(spec or _spec_of(f, key), x_bar, "the input cotangent x_bar", batch))
    return y, f_ivjp


def slogdet(f, primals, wrt=None, *, schedule=True, unroll=None, backend=None):
    """``(f(*primals), (sign, logabsdet))`` of det J, from the pivots and lumps (no Jacobian)."""
    key = ("slogdet", wrt, schedule, unroll, backend)
    fast = _fast(f, key)
    every = fast.primals(primals) if fast is not None else None
    if every is not None:
        return fast.fn(*every)
    spec, fn, primals = _compiled(f, wrt, "slogdet", primals, schedule=schedule, unroll=unroll,
                                  backend=_backend(f, backend))
    _remember(f, key, spec, fn)
    y, (sign, logdet) = fn(*primals)
    batch = _primal_batch(spec, primals)
    if batch and (np.shape(sign) != batch or np.shape(logdet) != batch):   # det J constant over the batch
        sign, logdet = (np.broadcast_to(np.asarray(z), batch).copy() for z in (sign, logdet))
    return y, (sign, logdet)


def _spec_of(f, key):
    """The call spec behind a fast entry (for the general checks of a pullback's argument)."""
    record = _record(_unwrap(f, key[1])[0])
    for spec, fn in record.compiled.values():
        if fn is _fast(f, key).fn:
            return spec
    raise ArgumentError("internal: no call spec for this function")


def from_source(text: str, name: str, namespace: dict | None = None):
    """The function ``name`` defined by the source ``text``, ready for every mode.

    The text is executed once (with ``namespace`` as its globals, or a fresh module) and
    registered under a pseudo file name, so tracebacks and s2s_invad can read it back.
    """
    return _from_source(text, name, namespace)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    files.write_atomic(path, text)


def _memory(f, memory, checkpoints=None):
    """A @derivatives(memory=..., checkpoints=...) function's defaults, unless the call
    says otherwise."""
    if isinstance(f, Derivatives) and memory == "store":
        return f.memory, f.checkpoints if checkpoints is None else checkpoints
    return memory, checkpoints


def _shapes(f, shapes):
    """A @derivatives(shapes=...) function's lengths, unless the call gives its own."""
    if isinstance(f, Derivatives) and shapes is None:
        return f.shapes
    return shapes


class Derivatives:
    """A function with its derivatives attached (see :func:`derivatives`)."""

    def __init__(self, f, wrt=None, memory="store", schedule=True, shapes=None, unroll=None, checkpoints=None,
                 backend=None):
        _unwrap(f, wrt)                                   # a def function, or ArgumentError
        functools.update_wrapper(self, f)
        self.wrt = _wrt_key(wrt)
        self.backend = _backend_name(f, backend)
        self.memory = memory
        _check_checkpoints(checkpoints, memory)
        self.checkpoints = checkpoints
        self.schedule = schedule
        self.unroll = unroll
        _unroll_key(unroll)
        _shapes_key(shapes)
        self.shapes = dict(shapes) if shapes else None

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def jvp(self, primals, tangents):
        return jvp(self, primals, tangents)

    def vjp(self, *primals):
        return vjp(self, *primals)

    def ijvp(self, primals, y_dot):
        return ijvp(self, primals, y_dot)

    def drift(self, primals) -> DriftReport:
        return drift(self, primals)

    def ivjp(self, *primals):
        return ivjp(self, *primals)

    def slogdet(self, primals):
        return slogdet(self, primals)

    def source(self, mode: str, shapes=None) -> str:
        return source(self, mode, shapes=shapes)

    def explain(self, shapes=None) -> str:
        return explain(self, shapes=shapes)

    def write(self, path: str, modes=MODES, shapes=None, force: bool = False) -> str:
        """Write a module with the generated ``modes`` (a mode name or several) to ``path``;
        return its text.

        As ``s2s-invad gen``: the function's own source is never replaced, and a file
        whose first line is not the generated marker only with ``force=True``
        (:class:`~s2s_invad.errors.OutputPathError` otherwise); a file already up to date
        is not touched.
        """
        path = files.checked_path(path)
        modes = (modes,) if isinstance(modes, str) else tuple(modes)     # "jvp" is one mode
        for mode in modes:
            _check_mode(mode)
        sources = files.source_files(self.__wrapped__)
        files.check_target(path, sources)                      # before the transform
        analysis = analysis_of(self, shapes=shapes)
        for mode in {"vjp", "ijvp"} & set(modes):
            _check_memory(self.memory, analysis, mode)
        text = with_backend(render_module([(analysis, tuple(modes))], self.memory, self.checkpoints,  # as gen
                                          self.backend != "python"), self.backend)
        files.write_generated(path, text, sources, force)
        return text


def derivatives(f=None, *, wrt=None, memory="store", schedule=True, shapes=None, unroll=None, checkpoints=None,
                backend=None):
    """Decorator: ``@derivatives`` or ``@derivatives(wrt=("x", "y"), memory="recompute")``.

    The function stays callable as before and gains ``.jvp``, ``.vjp``, ``.ijvp``,
    ``.ivjp``, ``.slogdet``, ``.source(mode)``, ``.explain()`` and ``.write(path, modes)``.
    ``shapes={"u": n}`` gives vector lengths for the methods that take no arguments
    (source, explain, write); ``schedule=False`` keeps the statements in source order;
    ``checkpoints=`` the snapshot budget of memory="recompute" for loops reversed by
    binomial checkpointing; ``backend="numba"`` or ``"c"`` compiles the generated functions
    (where it can).
    """
    if f is None:
        return lambda g: Derivatives(g, wrt, memory, schedule, shapes, unroll, checkpoints, backend)
    return Derivatives(f, wrt, memory, schedule, shapes, unroll, checkpoints, backend)


__all__ = ["jvp", "vjp", "ijvp", "ivjp", "slogdet", "drift", "source", "explain", "derivatives", "Derivatives",
           "from_source", "MODES", "INVERSE_MODES", "BACKENDS"]
