"""The registry of primitives: how each is spelled and how it is differentiated.

Every primitive the IR knows is one entry of :data:`PRIMITIVES`. Its ``partials`` rule
takes the operands and the result ``z`` as symbolic expressions and returns one partial
derivative per operand, written as the mathematics reads:
``d sin(x) = cos(x)``, ``d (x / y) = (1/y, -z/y)``.

The generated code calls the namespace the source used: ``math.asin`` stays ``math.asin``,
``np.arcsin`` stays ``np.arcsin``; :func:`spelling` maps the canonical name to each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .sym import ONE, Sym, function

sin, cos, exp, log, sqrt = (function(f) for f in ("sin", "cos", "exp", "log", "sqrt"))
sinh, cosh, sign = (function(f) for f in ("sinh", "cosh", "sign"))


@dataclass(frozen=True)
class Primitive:
    name: str                       # canonical name used in the IR
    arity: int
    partials: Callable[..., tuple]  # (*operands, z) -> one partial per operand
    math: str | None = None         # spelling in the math module (None: not there)
    numpy: str | None = None        # spelling in numpy
    symbol: str | None = None       # operator symbol for arithmetic primitives


def _prim(name, arity, partials, math=None, numpy=None, symbol=None):
    return name, Primitive(name, arity, partials, math, numpy, symbol)


PRIMITIVES: dict[str, Primitive] = dict([
    # arithmetic:                        d z / d x,        d z / d y
    _prim("add", 2, lambda x, y, z: (ONE, ONE), symbol="+"),
    _prim("sub", 2, lambda x, y, z: (ONE, -ONE), symbol="-"),
    _prim("mul", 2, lambda x, y, z: (y, x), symbol="*"),
    _prim("div", 2, lambda x, y, z: (1 / y, -z / y), symbol="/"),
    _prim("pow", 2, lambda x, y, z: (y * x ** (y - 1), z * log(x)), symbol="**"),
    _prim("neg", 1, lambda x, z: (-ONE,), symbol="-"),
    _prim("pos", 1, lambda x, z: (ONE,), symbol="+"),
    # elementary functions:              d z / d x
    _prim("sin", 1, lambda x, z: (cos(x),), "sin", "sin"),
    _prim("cos", 1, lambda x, z: (-sin(x),), "cos", "cos"),
    _prim("tan", 1, lambda x, z: (1 + z ** 2,), "tan", "tan"),
    _prim("exp", 1, lambda x, z: (z,), "exp", "exp"),
    _prim("log", 1, lambda x, z: (1 / x,), "log", "log"),
    _prim("log1p", 1, lambda x, z: (1 / (1 + x),), "log1p", "log1p"),
    _prim("expm1", 1, lambda x, z: (z + 1,), "expm1", "expm1"),
    _prim("sqrt", 1, lambda x, z: (0.5 / z,), "sqrt", "sqrt"),
    _prim("tanh", 1, lambda x, z: (1 - z ** 2,), "tanh", "tanh"),
    _prim("sinh", 1, lambda x, z: (cosh(x),), "sinh", "sinh"),
    _prim("cosh", 1, lambda x, z: (sinh(x),), "cosh", "cosh"),
    _prim("asin", 1, lambda x, z: (1 / sqrt(1 - x ** 2),), "asin", "arcsin"),
    _prim("acos", 1, lambda x, z: (-1 / sqrt(1 - x ** 2),), "acos", "arccos"),
    _prim("atan", 1, lambda x, z: (1 / (1 + x ** 2),), "atan", "arctan"),
    _prim("abs", 1, lambda x, z: (sign(x),)),
])

# Functions that only appear inside derivative rules.
HELPERS = {"sign": {"numpy": "sign"}}


def lookup_function(module_kind: str, attr: str) -> str | None:
    """Canonical primitive name of ``<module>.<attr>`` (module_kind 'math' or 'numpy')."""
    for prim in PRIMITIVES.values():
        if getattr(prim, module_kind) == attr:
            return prim.name
    return None


def supported_functions(module_kind: str) -> list[str]:
    return sorted(getattr(p, module_kind) for p in PRIMITIVES.values() if getattr(p, module_kind))


def spelling(fn: str, module_kind: str) -> str | None:
    """Attribute name of canonical ``fn`` in ``module_kind``, or None (e.g. math.sign)."""
    if fn in PRIMITIVES:
        return getattr(PRIMITIVES[fn], module_kind)
    return HELPERS.get(fn, {}).get(module_kind)


def partials(op: str, operands: list[Sym], result: Sym) -> tuple[Sym, ...]:
    """The partial derivatives of ``result = op(*operands)``, one per operand."""
    return PRIMITIVES[op].partials(*operands, result)


# Module attributes accepted as passive constants.
CONSTANTS = {"math": {"pi", "e", "tau"}, "numpy": {"pi", "e"}}
