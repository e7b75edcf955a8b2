"""Back end: is what this process generated for a function still what the function means?

The transform evaluates a function's module constants, constant arrays and helpers at
transform time (SPEC section 7), so the generated code has their values built in. The on-disk
cache keys entries by those values (:func:`~s2s_invad.back.cache.entry_key`); the API's
in-process memo of analyses and compiled modes is checked against a :class:`Guard` taken
just before the transform reads them. A guard holds, for the function and every Python
function it reaches through its names (helpers, recursively):

- what each name its code mentions is bound to, in its closure or its globals (a name that
  resolved to a builtin is recorded as unbound, so a global defined later is noticed),
  compared by identity: ``K = 5.0``, a redefined helper, a rebound module are all changes;
- the function's code, defaults and keyword defaults, by identity;
- a copy of every array, list, tuple or dict such a name is bound to, compared by value,
  so an in-place ``W[0, 1] = 7.0`` is a change too; of a parameter object
  (:mod:`~s2s_invad.front.objects`), its fields by value and its class's methods by
  identity, so ``p.a = 3.0`` is a change (and the methods' own names are followed).

When a guard fails the API drops everything it kept for the function and transforms again
(from the disk cache when an entry with the new values is there). A check costs a dictionary
look-up per name (about 0.5 us a call for a function of a few names) and a comparison per
array (about 0.1 us for 64 numbers, 50-100 us for a 512 x 512 matrix). Attributes of
modules (``params.K``) are not followed (the disk cache does not follow them either).
"""

from __future__ import annotations

import types
import weakref

import numpy as np

from ..front.objects import class_attributes, fields, is_param_object, state
from .cache import UNBOUND, bindings

_DEPTH = 12                  # as the cache key: helpers nested deeper are not followed


class _Opaque(Exception):
    """A value with no comparable copy (an object array)."""


def _snapshot(value):
    """A comparable copy of an array or container, or None for values compared by identity
    only (numbers, functions, modules: rebinding them makes a new object)."""
    if not isinstance(value, (np.ndarray, list, tuple, dict)) and not is_param_object(value):
        return None
    try:
        return _plain(value, 0)
    except _Opaque:
        return None


snapshot = _snapshot


def _plain(value, depth):
    """A comparable copy of a nest of containers of numbers, strings and arrays."""
    if depth > _DEPTH:
        raise _Opaque
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return (type(value), value)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Opaque
        return (np.ndarray, value.dtype, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_plain(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((_plain(k, depth + 1), _plain(v, depth + 1)) for k, v in value.items()))
    if is_param_object(value):                 # its fields by value, its class's methods by identity
        cls, fields, extra = state(value)
        return (cls, _plain(fields, depth + 1), tuple((k, v if callable(v) or isinstance(v, property)
                                                       else _plain(v, depth + 1)) for k, v in extra.items()))
    return (object, id(value))


def _methods(value, depth: int) -> list:
    """The functions (methods, property getters) of the parameter objects in ``value``."""
    if depth > _DEPTH:
        return []
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _methods(v, depth + 1)]
    if not is_param_object(value):
        return []
    out = [getattr(v, "fget", v) for v in class_attributes(value).values()
           if isinstance(v, (types.FunctionType, property))]
    return out + [m for v in fields(value).values() for m in _methods(v, depth + 1)]


class Guard:
    """What a transform of ``fn`` may read, as it is now; :meth:`holds` says whether it
    still is."""

    __slots__ = ("names", "cells", "functions", "data")

    def __init__(self, fn):
        self.names: list = []        # (globals dict, name, value or UNBOUND)
        self.cells: list = []        # (closure cell, value)
        self.functions: list = []    # (weak reference to the function, code, defaults, kwdefaults)
        self.data: list = []         # (value, snapshot)
        self._walk(fn, 0, set())

    def _walk(self, fn, depth: int, seen: set) -> None:
        if depth > _DEPTH or id(fn) in seen or not isinstance(fn, types.FunctionType):
            return
        seen.add(id(fn))
        # weakly: the guard lives in the record of the function it describes, and must not keep it alive
        self.functions.append((weakref.ref(fn), fn.__code__, fn.__defaults__, fn.__kwdefaults__))
        for name, cell, value in bindings(fn):
            if cell is None:
                self.names.append((fn.__globals__, name, value))
            else:
                self.cells.append((cell, value))
            if value is not UNBOUND:
                self._value(value, depth, seen)
        for default in (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values()):
            self._value(default, depth, seen)

    def _value(self, value, depth: int, seen: set) -> None:
        snapshot = _snapshot(value)
        if snapshot is not None:
            self.data.append((value, snapshot))
        wrapped = getattr(value, "__wrapped__", None)        # a @derivatives helper
        self._walk(wrapped if isinstance(wrapped, types.FunctionType) else value, depth + 1, seen)
        for method in _methods(value, depth):                # inlined methods and properties
            self._walk(method, depth + 1, seen)

    def holds(self) -> bool:
        for namespace, name, value in self.names:
            if namespace.get(name, UNBOUND) is not value:
                return False
        for cell, value in self.cells:
            try:
                if cell.cell_contents is not value:
                    return False
            except ValueError:
                if value is not UNBOUND:
                    return False
        for ref, code, defaults, kwdefaults in self.functions:
            fn = ref()
            if fn is None or fn.__code__ is not code or fn.__defaults__ is not defaults \
                    or fn.__kwdefaults__ is not kwdefaults:
                return False
        for value, snapshot in self.data:
            if _snapshot(value) != snapshot:
                return False
        return True
