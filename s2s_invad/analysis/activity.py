"""Analysis: which values are active, and which statements are needed at all.

A value is *active* when it depends on a differentiated parameter (varied) and some
output depends on it (useful). The result of a piecewise constant primitive (a comparison
``x > 0``, ``np.sign``: derivative 0) is never varied: it is a constant of the derivative
code, as the condition of ``np.where`` is. Statements no output depends on are dead and dropped,
so the generated code has no dead code. Passive statements that an output or an active
statement needs stay: they are constants of the derivative code.

Loops kept as loops (:class:`~s2s_invad.ir.Loop`) are handled as fixed points: a carried
value is needed when its exit is needed or when the body needs it in the next iteration,
and varied when its entry is varied or the body makes its result varied. Dead carried
values are dropped from the loop, and a loop nobody needs disappears.
"""

from __future__ import annotations

from ..ir import Loop, Program, Value
from ..primitives import PIECEWISE_CONSTANT


def activity(program: Program) -> Program:
    """Mark active values and drop dead statements (in place); return the program."""
    needed: set[int] = {id(o) for o in program.outputs if isinstance(o, Value)}
    program.body = _needed(program.body, needed)
    varied: set[int] = {id(p) for p in program.wrt}
    _varied(program.body, varied)
    for p in program.params:
        p.active = id(p) in varied and id(p) in needed
    _mark(program.body, varied, needed)
    return program


def _uses(op, needed: set) -> None:
    if isinstance(op, Value):
        needed.add(id(op))


def _needed(items: list, needed: set, prune: bool = True) -> list:
    """The items an output depends on (last to first); ``needed`` gains what they read.
    ``prune=False`` leaves the loops' own carries and bodies untouched (fixed points)."""
    kept = []
    for item in reversed(items):
        if isinstance(item, Loop):
            if _loop_needed(item, needed, prune):
                kept.append(item)
        elif id(item.target) in needed:
            kept.append(item)
            for a in item.args:
                _uses(a, needed)
    kept.reverse()
    return kept


def _loop_needed(loop: Loop, needed: set, prune: bool) -> bool:
    live = [c for c in loop.carried if id(c.var) in needed]
    while True:                       # a carry the body reads is needed in the next iteration
        inner = set(needed)
        for c in live:
            _uses(c.result, inner)
        _needed(loop.body, inner, prune=False)
        more = [c for c in loop.carried if c not in live and id(c.var) in inner]
        if not more:
            break
        live += more
    if not live:
        return False
    if prune:
        inner = set(needed)
        for c in live:
            _uses(c.result, inner)
        loop.body = _needed(loop.body, inner, prune=True)
        loop.carried = [c for c in loop.carried if c in live]
    needed |= inner
    for c in live:
        _uses(c.entry, needed)
    _uses(loop.count, needed)
    return True


def _varied(items: list, varied: set) -> None:
    for item in items:
        if isinstance(item, Loop):
            while True:
                for c in item.carried:
                    if isinstance(c.entry, Value) and id(c.entry) in varied:
                        varied.add(id(c.var))
                _varied(item.body, varied)
                grew = [c for c in item.carried if isinstance(c.result, Value) and id(c.result) in varied
                        and id(c.var) not in varied]
                if not grew:
                    break
                varied.update(id(c.var) for c in grew)
        elif item.op not in PIECEWISE_CONSTANT and any(isinstance(a, Value) and id(a) in varied
                                                        for a in item.args):
            varied.add(id(item.target))


def _mark(items: list, varied: set, needed: set) -> None:
    for item in items:
        if isinstance(item, Loop):
            item.index.active = False
            for c in item.carried:
                c.var.active = id(c.var) in varied and id(c.var) in needed
            _mark(item.body, varied, needed)
        else:
            item.target.active = id(item.target) in varied
