"""Front end: the values of transform-time evaluation (SPEC section 7).

While :mod:`s2s_invad.front.evaluate` runs a function, every value is one of

* a *transform-time* value, computed now exactly as Python computes it: a number, bool,
  None, a tuple, list, range or slice, a NumPy array, a helper function, a module;
* a :class:`Scalar`: a *runtime* scalar, one SSA value of the program being built.
  Arithmetic on it appends a statement to the program (through the evaluator that is
  running) instead of computing; a comparison (``x > 0``) is a runtime value too, True or
  False, for ``np.where`` and arithmetic; truth tests (``if x > 0:``), ``==`` and use as an
  index or a count are refused, because the data flow would then depend on the input.

A module-level dict of constants is a :class:`ConstDict`: read-only, its values read
with transform-time keys. Containers (lists, tuples, NumPy object arrays) may hold both kinds, so ``F = np.zeros(n)``
followed by ``F[i] = u[i] ** 2`` works as in NumPy, and ``W @ u`` with a constant matrix
``W`` multiplies through the elements' own operators. Module constants keep their names
(:class:`NamedFloat`, :class:`NamedInt`) so generated code reads ``LAM`` rather than
``1.0``; any arithmetic on them gives a plain number.
"""

from __future__ import annotations

import copy
import reprlib
from contextvars import ContextVar

import numpy as np

_running: ContextVar = ContextVar("s2s_invad_evaluator")


def running():
    """The evaluator that is running (the one a Scalar's operators report to)."""
    return _running.get()


class NamedFloat(float):
    """A float module constant that remembers its name (``LAM``)."""
    const_name: str

    def __new__(cls, value, name):
        obj = super().__new__(cls, value)
        obj.const_name = name
        return obj


class NamedInt(int):
    """An int module constant that remembers its name (``N``): ``range(N)`` still works."""
    const_name: str

    def __new__(cls, value, name):
        obj = super().__new__(cls, value)
        obj.const_name = name
        return obj


def is_number(x) -> bool:
    """A real transform-time number (bools count, as in Python arithmetic)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, complex)


def _binary(op: str):
    def forward(self, other):
        if not (isinstance(other, Scalar) or is_number(other)):
            return NotImplemented
        return running().arith(op, self, other)

    def backward(self, other):
        if not is_number(other):
            return NotImplemented
        return running().arith(op, other, self)
    return forward, backward


def _runtime_op(kind: str, op: str):
    """``x > y`` (kind "compare": a runtime comparison, True or False, derivative 0:
    library.compare) or ``c & d``, ``c | d`` of comparisons (kind "logical": np.logical_and /
    np.logical_or), by the running evaluator's method of that kind."""
    def method(self, other):
        if not (isinstance(other, Scalar) or is_number(other)):
            return NotImplemented
        return getattr(running(), kind)(op, self, other)
    return method


def _refused(what: str):
    def method(self, *args):
        running().refuse_runtime(what, self)
    return method


class Scalar:
    """A runtime scalar: the SSA value ``value`` of the program being built.

    ``param`` names the source parameter when this is a scalar parameter whose length was
    not given (it might be a vector: see :class:`evaluate.ShapeProbe`).
    """
    __slots__ = ("value", "param")

    def __init__(self, value, param: str | None = None):
        self.value = value
        self.param = param

    __add__, __radd__ = _binary("add")
    __sub__, __rsub__ = _binary("sub")
    __mul__, __rmul__ = _binary("mul")
    __truediv__, __rtruediv__ = _binary("div")

    def __pow__(self, other, modulo=None):
        if modulo is not None or not (isinstance(other, Scalar) or is_number(other)):
            return NotImplemented
        return running().arith("pow", self, other)

    def __rpow__(self, other, modulo=None):
        if modulo is not None or not is_number(other):
            return NotImplemented
        return running().arith("pow", other, self)

    def __neg__(self):
        return running().negate(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return running().primitive("abs", None, self)

    __floordiv__ = __rfloordiv__ = _refused("operator // (it is not differentiable)")
    __mod__ = __rmod__ = _refused("operator % (it is not differentiable)")
    __divmod__ = __rdivmod__ = _refused("divmod")
    def __matmul__(self, other):
        running().vector_use(self, "operator @")

    __rmatmul__ = __matmul__
    __bool__ = _refused("a truth test")
    __lt__, __le__, __gt__, __ge__ = (_runtime_op("compare", op) for op in ("lt", "le", "gt", "ge"))
    __and__ = __rand__ = _runtime_op("logical", "logical_and")
    __or__ = __ror__ = _runtime_op("logical", "logical_or")

    def __invert__(self):
        return running().logical("logical_not", self)

    __eq__ = __ne__ = _refused("a comparison by == or != (write <= and >=, or np.where)")
    __index__ = _refused("an index or count")
    __int__ = _refused("int()")
    __float__ = _refused("a conversion to float (e.g. storing it in a float array)")
    __complex__ = _refused("a conversion to complex")
    __round__ = __floor__ = __ceil__ = __trunc__ = _refused("rounding")
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<runtime scalar {self.value!r}>"



# -- module-level dicts of constants ---------------------------------------------------------

_KEYS = (str, int, float, bool, type(None))
DICT_READS = ("get", "keys", "values", "items")            # the methods of a ConstDict
DICT_CHANGES = ("update", "pop", "popitem", "setdefault", "clear", "copy", "fromkeys", "__setitem__")


class ConstDict:
    """A module-level dict of constants (``PARAMS = {"k": 0.5}``), read when the function is
    transformed, like any module constant: ``PARAMS["k"]`` with a transform-time key is its
    value, and so are ``.get``, ``.keys()``, ``.values()``, ``.items()``, ``in``, ``len`` and
    iteration (over the keys, in the dict's order). It is read-only: the generated code has
    its values built in, so the function may not change it. A value that is not a number, a
    tuple or list of numbers, a NumPy array of numbers or such a dict is refused where it is
    read (so ``{"method": "rk4", "k": 0.5}`` still gives ``k``)."""
    __slots__ = ("name", "_items")

    def __init__(self, name: str, items: dict):
        self.name = name
        self._items = items                  # key -> ("value", v) or ("other", why)

    def _key(self, key):
        if isinstance(key, Scalar):
            ev = running()
            raise ev.refuse(ev.node, f"a key of the module dict {self.name} depends on a runtime value "
                                     f"(`{key.value.name}`): keys must be transform-time values (constants, "
                                     "indices of unrolled loops), so that the values read are fixed")
        return key

    def _read(self, key):
        kind, value = self._items[key]
        if kind != "value":
            ev = running()
            raise ev.refuse(ev.node, f"{self.name}[{key!r}] is {value}: the values of a module dict the "
                                     "function reads must be numbers, tuples and lists of numbers, NumPy "
                                     "arrays of numbers or such dicts")
        return copy.deepcopy(value) if isinstance(value, list) else value

    def __getitem__(self, key):
        return self._read(self._key(key))

    def get(self, key, default=None):
        return self._read(key) if self._key(key) in self._items else default

    def __contains__(self, key) -> bool:
        return self._key(key) in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def keys(self) -> list:
        return list(self._items)

    def values(self) -> list:
        return [self._read(k) for k in self._items]

    def items(self) -> list:
        return [(k, self._read(k)) for k in self._items]

    def __repr__(self) -> str:                # deterministic: hashed for staleness checks
        def plain(entry):
            kind, v = entry
            return v.tolist() if isinstance(v, np.ndarray) else v if kind == "value" else ("other", v)
        return f"ConstDict({self.name}, {[(k, plain(e)) for k, e in self._items.items()]!r})"


def _constant_key(key, depth: int = 0) -> bool:
    if isinstance(key, tuple):
        return depth < 8 and all(_constant_key(k, depth + 1) for k in key)
    return isinstance(key, _KEYS) or isinstance(key, (np.integer, np.floating, np.str_))


def _numbers(value, depth: int = 0):
    """A copy of a number or a nest of tuples and lists of numbers (plain Python numbers),
    or None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (tuple, list)) and depth < 32:
        items = [_numbers(v, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        return tuple(items) if isinstance(value, tuple) else items
    return None


def _entry(name: str, value, depth: int) -> tuple:
    if isinstance(value, dict):
        return constant_dict(name, value, depth + 1)
    if value is None:
        return "value", None
    from .objects import Unreadable, convert, is_namedtuple, is_param_object
    if is_param_object(value) or is_namedtuple(value):      # parameter objects (front/objects.py)
        read = convert(name, value, depth)
        return ("other", read.why) if isinstance(read, Unreadable) else ("value", read)
    numbers = _numbers(value)
    if numbers is not None:
        return "value", numbers
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        arr = np.array(value, copy=True)
        arr.setflags(write=False)
        return "value", arr
    if isinstance(value, str):
        return "other", f"a str ({value[:40]!r}), not a number"
    if isinstance(value, (tuple, list)):
        return "other", f"a {type(value).__name__} that does not hold only numbers"
    if isinstance(value, np.ndarray):
        return "other", f"a NumPy array of dtype {value.dtype} (only real numbers are supported)"
    return "other", f"a {type(value).__name__}"


def constant_dict(name: str, value: dict, depth: int = 0) -> tuple:
    """(kind, value) of a module-level dict, as ``loader.classify`` gives them for other
    module constants: ("value", :class:`ConstDict`) when its keys are constants (strings,
    numbers, bools, None or tuples of them), else ("other", why). Its values are checked
    where they are read."""
    if depth > 32:
        return "other", "a dict nested too deeply"
    items = {}
    for key, v in value.items():
        if not _constant_key(key):
            return "other", (f"a dict with the key {reprlib.repr(key)} (the keys of a module dict the "
                             "function reads must be strings, numbers, bools, None or tuples of them)")
        key = _numbers(key) if isinstance(key, (np.integer, np.floating)) else \
            str(key) if isinstance(key, np.str_) else key
        items[key] = _entry(f"{name}[{key!r}]", v, depth)
    return "value", ConstDict(name, items)
