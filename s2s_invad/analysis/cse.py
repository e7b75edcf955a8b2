"""Analysis, after activity: a passive value the program computes twice is computed once.

The front end evaluates the source as written, so ``math.cos(t)`` on two lines, or a
helper called twice on the same arguments, gives two statements with the same operation on
the same operands. All primitives are pure, so the second statement is dropped and every
later use reads the first one's value (``x + y`` and ``y + x`` count as the same: IEEE
addition and multiplication are commutative). Inside a loop kept as a loop, a statement
equal to one computed before the loop reads that value, and a passive statement that reads
nothing the body defines moves before the loop (with a transform-time trip count of at
least 1): loop-invariant work is done once. Statements of a loop body are not visible
after the loop.

Only passive statements (not differentiated) are merged: an active value shared by two
updates of different variables would keep both in one lump (a k = 2 solve where the source
had two pivots), and the scheduler's freedom is worth more than the saved operation.
"""

from __future__ import annotations

from ..ir import Carry, Const, Loop, Program, Stmt, Value

COMMUTATIVE = frozenset({"add", "mul"})


def cse(program: Program) -> Program:
    """Drop repeated statements (in place); return the program."""
    same: dict[int, Value] = {}                  # id(dropped value) -> the value kept
    program.body = _block(program.body, same, {})
    program.outputs = [_read(o, same) for o in program.outputs]
    return program


def _read(op, same: dict):
    return same.get(id(op), op) if isinstance(op, Value) else op


def _key(stmt: Stmt, args: tuple):
    keys = tuple(("v", id(a)) if isinstance(a, Value) else ("c", repr(a.value), a.ref) for a in args)
    if stmt.op in COMMUTATIVE:
        keys = tuple(sorted(keys, key=repr))
    return stmt.op, stmt.ns, keys


def _block(items: list, same: dict, seen: dict) -> list:
    """The items without repeats; ``seen`` maps statement keys to values visible here."""
    out = []
    for item in items:
        if isinstance(item, Loop):
            out += _loop(item, same, seen)
            continue
        args = tuple(_read(a, same) for a in item.args)
        item.args = args
        if item.target.active:
            out.append(item)
            continue
        key = _key(item, args)
        first = seen.get(key)
        if first is not None:
            same[id(item.target)] = first
            continue
        seen[key] = item.target
        out.append(item)
    return out


def _loop(loop: Loop, same: dict, seen: dict) -> list:
    """The loop, after the passive statements of its body that read nothing the body
    defines (hoisted before it, where the loop surely runs: a transform-time trip count
    of at least 1, so a statement that could raise never runs where the source did not)."""
    loop.count = _read(loop.count, same)
    for c in loop.carried:
        c.entry = _read(c.entry, same)
    inner = dict(seen)
    loop.body = _block(loop.body, same, inner)        # the body's own values stay inside
    loop.carried = [Carry(c.entry, c.var, _read(c.result, same)) for c in loop.carried]
    hoisted = _invariant(loop) if isinstance(loop.count, Const) and loop.count.value >= 1 else []
    for stmt in hoisted:
        seen[_key(stmt, stmt.args)] = stmt.target
    return hoisted + [loop]


def _invariant(loop: Loop) -> list[Stmt]:
    """Take out of the body the passive statements that read only values from outside."""
    inside = {id(loop.index)} | {id(c.var) for c in loop.carried}
    out, kept = [], []
    for item in loop.body:
        if isinstance(item, Loop):
            inside |= {id(v) for v in _defined(item)}
            kept.append(item)
        elif not item.target.active and not any(isinstance(a, Value) and id(a) in inside for a in item.args):
            out.append(item)
        else:
            inside.add(id(item.target))
            kept.append(item)
    loop.body = kept
    return out


def _defined(loop: Loop):
    yield loop.index
    for c in loop.carried:
        yield c.var
    for item in loop.body:
        if isinstance(item, Loop):
            yield from _defined(item)
        else:
            yield item.target
