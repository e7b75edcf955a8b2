"""Analysis: which values are active, and which statements are needed at all.

A value is *active* when it depends on a differentiated parameter (varied) and some
output depends on it (useful). Statements no output depends on are dead and dropped,
so the generated code has no dead code. Passive statements that an output or an active
statement needs stay: they are constants of the derivative code.
"""

from __future__ import annotations

from ..ir import Program, Value


def activity(program: Program) -> Program:
    """Mark active values and drop dead statements (in place); return the program."""
    needed: set[int] = {id(o) for o in program.outputs if isinstance(o, Value)}
    kept = []
    for stmt in reversed(program.body):
        if id(stmt.target) in needed:
            kept.append(stmt)
            needed.update(id(a) for a in stmt.args if isinstance(a, Value))
    kept.reverse()
    program.body = kept

    varied: set[int] = {id(p) for p in program.wrt}
    for stmt in kept:
        if any(id(a) in varied for a in stmt.args if isinstance(a, Value)):
            varied.add(id(stmt.target))
    for p in program.params:
        p.active = id(p) in varied and id(p) in needed
    for stmt in kept:
        stmt.target.active = id(stmt.target) in varied
    return program
