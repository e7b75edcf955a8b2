"""Tiny symbolic expressions, so derivative rules can be written as mathematics.

A rule such as ``d sin(x) = cos(x)`` is the Python expression ``cos(x)`` over
:class:`Sym` objects; operators simplify as they build (``1*a -> a``, ``a + 0 -> a``,
constants fold), and :func:`to_text` prints the result as Python in the namespace
(``math`` or ``numpy``) the source used.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _astlib as A


class Sym:
    """Base class; operators build simplified trees."""
    __slots__ = ()                   # the leaves and trees below are slotted: no dict each

    def __add__(self, other): return add(self, lift(other))
    def __radd__(self, other): return add(lift(other), self)
    def __sub__(self, other): return sub(self, lift(other))
    def __rsub__(self, other): return sub(lift(other), self)
    def __mul__(self, other): return mul(self, lift(other))
    def __rmul__(self, other): return mul(lift(other), self)
    def __truediv__(self, other): return div(self, lift(other))
    def __rtruediv__(self, other): return div(lift(other), self)
    def __pow__(self, other): return power(self, lift(other))
    def __neg__(self): return neg(self)
    def __pos__(self): return self


@dataclass(frozen=True, slots=True)
class Num(Sym):
    value: float | int


@dataclass(frozen=True, slots=True)
class Ref(Sym):
    """A named value of the generated code (an SSA value or a module constant)."""
    name: str


@dataclass(frozen=True, slots=True)
class Attr(Sym):
    """A module attribute constant such as ``math.pi``."""
    module: str
    attr: str


@dataclass(frozen=True, slots=True)
class Op(Sym):
    op: str                      # add sub mul div pow neg, and the comparisons eq ne gt ge lt le
                                 # (eq: 1 where a == b, else 0; True and False add as 1 and 0);
                                 # "fast": (condition, cheap, general), see :func:`fast`
    args: tuple


@dataclass(frozen=True, slots=True)
class Fn(Sym):
    fn: str                      # canonical primitive name, e.g. "cos"
    args: tuple
    ns: str | None = None        # namespace alias; None: the caller's default


ZERO, ONE = Num(0), Num(1)
_SYMS = frozenset((Num, Ref, Attr, Op, Fn))


def lift(x) -> Sym:
    if type(x) in _SYMS or isinstance(x, Sym):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Num(x)
    raise TypeError(f"cannot use {x!r} in a symbolic expression")


def is_num(a: Sym, value=None) -> bool:
    return type(a) is Num and (value is None or a.value == value)


# The builders below are the emitters' inner loop: they test types with ``type(x) is``
# (no class derives from Num or Op) and read each constant once.

def add(a: Sym, b: Sym) -> Sym:
    an, bn = type(a) is Num, type(b) is Num
    if an and a.value == 0:
        return b
    if bn and b.value == 0:
        return a
    if an and bn:
        return Num(a.value + b.value)
    if type(b) is Op and b.op == "neg":
        return sub(a, b.args[0])
    return Op("add", (a, b))


def sub(a: Sym, b: Sym) -> Sym:
    an, bn = type(a) is Num, type(b) is Num
    if bn and b.value == 0:
        return a
    if an and a.value == 0:
        return neg(b)
    if an and bn:
        return Num(a.value - b.value)
    if type(b) is Op and b.op == "neg":
        return add(a, b.args[0])
    return Op("sub", (a, b))


def mul(a: Sym, b: Sym) -> Sym:
    an, bn = type(a) is Num, type(b) is Num
    av = a.value if an else None
    bv = b.value if bn else None
    if (an and av == 0) or (bn and bv == 0):
        return ZERO
    if an and av == 1:
        return b
    if bn and bv == 1:
        return a
    if an and av == -1:
        return neg(b)
    if bn and bv == -1:
        return neg(a)
    if an and bn:
        return Num(av * bv)
    if bn:                                         # constants first: 2 * x, not x * 2
        a, b, av, an = b, a, bv, True
    if an:
        if type(b) is Op and b.op == "mul" and type(b.args[0]) is Num:
            return mul(Num(av * b.args[0].value), b.args[1])
        if av < 0:                                 # -c * x reads as -(c * x): a - c * x
            return neg(mul(Num(-av), b))
    elif type(a) is Op and a.op == "neg":
        return neg(mul(a.args[0], b))
    if type(b) is Op and b.op == "neg":
        return neg(mul(a, b.args[0]))
    if _is_reciprocal(a):                          # (1 / y) * x reads (and runs) as x / y
        return div(b, a.args[1])
    if _is_reciprocal(b):
        return div(a, b.args[1])
    return Op("mul", (a, b))


def _is_reciprocal(a: Sym) -> bool:
    return type(a) is Op and a.op == "div" and type(a.args[0]) is Num and a.args[0].value == 1


def div(a: Sym, b: Sym) -> Sym:
    if is_num(b, 1):
        return a
    if is_num(a, 0):
        return ZERO
    if is_num(a) and is_num(b) and b.value != 0:
        return Num(a.value / b.value)
    if isinstance(a, Op) and a.op == "neg":
        return neg(div(a.args[0], b))
    return Op("div", (a, b))


def power(a: Sym, b: Sym) -> Sym:
    if is_num(b, 1):
        return a
    if is_num(b, 0):
        return ONE
    return Op("pow", (a, b))


def eq(a: Sym, b: Sym) -> Sym:
    """``a == b`` as a number (True adds as 1, also elementwise in NumPy)."""
    if is_num(a) and is_num(b):
        return Num(int(a.value == b.value))
    return Op("eq", (a, b))


COMPARISONS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_DECIDE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
           "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}


def compare(op: str, a: Sym, b: Sym) -> Sym:
    """``a > b`` (op "gt"...) as a number: 1 where it holds, else 0."""
    if is_num(a) and is_num(b):
        return Num(int(_DECIDE[op](a.value, b.value)))
    return Op(op, (a, b))


def neg(a: Sym) -> Sym:
    if type(a) is Num:
        return Num(-a.value)
    if type(a) is Op and a.op == "neg":
        return a.args[0]
    return Op("neg", (a,))


def fast(cond: Sym, cheap: Sym, general: Sym) -> Sym:
    """One value computed two ways: ``cheap if cond else general`` in scalar code, where
    ``cheap`` is as accurate as ``general`` (a few ulps) wherever ``cond`` holds and costs
    less; both arms are the same number up to rounding, so an analysis may read
    ``general`` alone (its sign, its log). Array code, whose ``if`` cannot test an array,
    computes ``general`` (analysis/graph.py drops the cheap arm for NumPy statements)."""
    return Op("fast", (cond, cheap, general))


def function(fn: str):
    """A builder for calls of primitive ``fn``: ``cos = function("cos")``."""
    def build(*args):
        return Fn(fn, tuple(lift(a) for a in args))
    build.__name__ = fn
    return build


def to_text(e: Sym, callee, refs: set | None = None) -> tuple[str, int]:
    """(text, precedence) of ``e`` as Python source, printed as _astlib prints the ast of
    it (same parentheses, same constants); ``callee(fn, ns)`` gives the text of the
    function that computes primitive fn and the texts of any leading arguments it takes
    (``("math.copysign", ["1.0"])`` for sign in math).

    Names referenced are added to ``refs`` when given. ``x ** 2`` of a name is written
    ``x * x``: a third of the cost on floats.
    """
    kind = type(e)
    if kind is Ref:
        if refs is not None:
            refs.add(e.name)
        return e.name, A.ATOM
    if kind is Num:
        return A.number_text(e.value)
    if kind is Op:
        op, args = e.op, e.args
        if op == "pow" and type(args[1]) is Num and args[1].value == 2 and type(args[0]) is Ref:
            op, args = "mul", (args[0], args[0])
        if op == "neg":
            inside = _negated(args[0])
            if inside is not None:                 # -(c * x) runs as (-c) * x: one operation less
                return to_text(inside, callee, refs)
            return A.unary_text("-", *to_text(args[0], callee, refs))
        if op == "fast":
            return A.ifexp_text(*(to_text(a, callee, refs) for a in args))
        if op in COMPARISONS:
            return A.compare_text([to_text(a, callee, refs) for a in args], [COMPARISONS[op]])
        return A.binop_text(A.SYMBOL[op], A.PREC[op], *to_text(args[0], callee, refs),
                            *to_text(args[1], callee, refs))
    if kind is Fn:
        func, lead = callee(e.fn, e.ns)
        args = lead + [to_text(a, callee, refs)[0] for a in e.args]
        return f"{func}({', '.join(args)})", A.ATOM
    if kind is Attr:
        return f"{e.module}.{e.attr}", A.ATOM
    raise TypeError(f"not a symbolic expression: {e!r}")


def _negated(e: Sym) -> Sym | None:
    """``-e`` with the sign taken by the constant that leads a product or quotient
    (``-(c * x) / y`` as ``-c * x / y``), the same number to the bit; None if ``e`` has no
    leading constant. Built as is: ``mul`` would move the sign out again."""
    if type(e) is not Op or e.op not in ("mul", "div"):
        return None
    first = e.args[0]
    if type(first) is Num and not isinstance(first.value, bool):
        return Op(e.op, (Num(-first.value), e.args[1]))
    inner = _negated(first)
    return None if inner is None else Op(e.op, (inner, e.args[1]))


def is_atom(e: Sym) -> bool:
    """True for expressions cheap enough to repeat (names, numbers, -name)."""
    if isinstance(e, (Num, Ref, Attr)):
        return True
    return isinstance(e, Op) and e.op == "neg" and isinstance(e.args[0], (Num, Ref, Attr))
