"""Front end: the values of transform-time evaluation (SPEC section 7).

While :mod:`s2s_invad.front.evaluate` runs a function, every value is one of

* a *transform-time* value, computed now exactly as Python computes it: a number, bool,
  None, a tuple, list, range or slice, a NumPy array, a helper function, a module;
* a :class:`Scalar`: a *runtime* scalar, one SSA value of the program being built.
  Arithmetic on it appends a statement to the program (through the evaluator that is
  running) instead of computing; truth tests, comparisons and use as an index or a count
  are refused, because the data flow would then depend on the input.

Containers (lists, tuples, NumPy object arrays) may hold both kinds, so ``F = np.zeros(n)``
followed by ``F[i] = u[i] ** 2`` works as in NumPy, and ``W @ u`` with a constant matrix
``W`` multiplies through the elements' own operators. Module constants keep their names
(:class:`NamedFloat`, :class:`NamedInt`) so generated code reads ``LAM`` rather than
``1.0``; any arithmetic on them gives a plain number.
"""

from __future__ import annotations

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
    __lt__ = __le__ = __gt__ = __ge__ = _refused("a comparison")
    __eq__ = __ne__ = _refused("a comparison")
    __index__ = _refused("an index or count")
    __int__ = _refused("int()")
    __float__ = _refused("a conversion to float (e.g. storing it in a float array)")
    __complex__ = _refused("a conversion to complex")
    __round__ = __floor__ = __ceil__ = __trunc__ = _refused("rounding")
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<runtime scalar {self.value!r}>"

