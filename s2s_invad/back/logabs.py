"""Back end, for slogdet: the sign and log|e| of a pivot, taken symbolically.

``log(abs(a))`` of a computed pivot fails where a itself is not a float although log|a|
is: the pivot of ``y = log(y)`` is 1/y, which overflows at y = 1e-320, and the pivot of
``y = exp(y)`` is z, which underflows to 0 at y = -800 (log|a| = -800). So logs are pushed
through the expression as the mathematics allows::

    log|a * b| = log|a| + log|b|      log|a / b| = log|a| - log|b|      log|-a| = log|a|
    log|a ** c| = c log|a|            log|exp(h)| = h                   log|sqrt(h)| = log|h| / 2
    log|c + a ** 2| = 2 log hypot(sqrt(c), a)    (c > 0: d atan(x) = 1 / (1 + x**2), whose
                                                  x**2 overflows beyond |x| = 1.3e154)

and the sign alongside (sign(exp(h)) = 1, sign(a ** c) = 1 for even c...). A name whose
value is defined by one of these (``t = math.exp(x)``) is looked through, a few levels
deep. A condition (``x > 0``, True or False; np.where's pivot) is its own sign. What is
left, ``log(abs(e))`` and ``sign(e)``, is computed as before.
"""

from __future__ import annotations

import math

from ..primitives import BOOLEAN
from ..sym import COMPARISONS, ONE, Fn, Num, Op, Ref, Sym, is_num

DEPTH = 3                     # how many names deep definitions are looked through
CONDITION = Ref("<a comparison: True or False>")     # the definition of a condition's value


def sign_log(e: Sym, defs: dict[str, Sym], depth: int = DEPTH) -> tuple[Sym, Sym]:
    """(sign of e, log|e|), symbolic; ``defs`` maps value names to their definitions."""
    if isinstance(e, Num):
        if e.value == 0:
            return Num(0), Num(-math.inf)
        return Num(1 if e.value > 0 else -1), Num(math.log(abs(e.value)))
    if isinstance(e, Op) and e.op in ("mul", "div"):
        (sa, la), (sb, lb) = (sign_log(a, defs, depth) for a in e.args)
        return sa * sb, (la + lb if e.op == "mul" else la - lb)
    if isinstance(e, Op) and e.op == "neg":
        sa, la = sign_log(e.args[0], defs, depth)
        return -sa, la
    if isinstance(e, Op) and e.op == "fast":          # the general arm is the same number
        return sign_log(e.args[2], defs, depth)
    if isinstance(e, Op) and e.op == "pow" and is_num(e.args[1]):
        c = e.args[1].value
        sa, la = sign_log(e.args[0], defs, depth)
        odd = c == int(c) and int(c) % 2 == 1
        return (sa if odd else ONE), c * la              # a non-integer power has a > 0
    if isinstance(e, Fn) and e.fn == "exp":
        return ONE, e.args[0]
    if isinstance(e, Fn) and e.fn == "sqrt":
        return ONE, 0.5 * sign_log(e.args[0], defs, depth)[1]
    if isinstance(e, Fn) and e.fn == "abs":
        return ONE, sign_log(e.args[0], defs, depth)[1]
    if isinstance(e, Op) and e.op == "add":
        square = _constant_plus_square(e)
        if square is not None:
            c, a = square
            return ONE, 2 * Fn("log", (Fn("hypot", (Num(math.sqrt(c)), a)),))
    if isinstance(e, Op) and e.op in COMPARISONS or isinstance(e, Ref) and defs.get(e.name) is CONDITION:
        return e, Fn("log", (Fn("abs", (e,)),))          # True or False: its own sign (no np.sign of a bool)
    if isinstance(e, Ref) and e.name in defs and depth > 0:
        return sign_log(defs[e.name], defs, depth - 1)
    return Fn("sign", (e,)), Fn("log", (Fn("abs", (e,)),))


def _constant_plus_square(e: Op) -> tuple[float, Sym] | None:
    """(c, a) when ``e`` is ``c + a ** 2`` (or ``a * a``, either order) with a number c > 0."""
    for c, square in (e.args, e.args[::-1]):
        if not (is_num(c) and c.value > 0 and isinstance(square, Op)):
            continue
        a, b = square.args if square.op in ("pow", "mul") else (None, None)
        if (square.op == "pow" and is_num(b, 2)) or (square.op == "mul" and a == b and a is not None):
            return c.value, a
    return None


def definitions(statements) -> dict[str, Sym]:
    """Symbolic definitions of the values :func:`sign_log` may look through."""
    out: dict[str, Sym] = {}
    for stmt in statements:
        args = [a.sym() for a in stmt.args]
        if stmt.op in ("exp", "sqrt"):
            out[stmt.target.name] = Fn(stmt.op, tuple(args), stmt.ns)
        elif stmt.op == "mul":
            out[stmt.target.name] = Op("mul", tuple(args))
        elif stmt.op == "div":
            out[stmt.target.name] = Op("div", tuple(args))
        elif stmt.op == "neg":
            out[stmt.target.name] = Op("neg", tuple(args))
        elif stmt.op == "pow" and is_num(args[1]):
            out[stmt.target.name] = Op("pow", tuple(args))
        elif stmt.op in BOOLEAN:
            out[stmt.target.name] = CONDITION
    return out
