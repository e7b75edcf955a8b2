"""Back end, memory="recompute" only: give the values of generated code a bounded set of names.

CPython's frame has one slot per distinct local name, deleted or not, so straight-line code
with one name per SSA value has a frame that grows with the program (8 bytes a name:
megabytes at 100,000 steps), even when ``del`` frees every value. This pass renames, in each
generated function, every value to a *register*: a name that is reused once the value it
held is deleted. Registers are named after the user's variables (``x_3`` -> ``x``,
``x_3_dot`` -> ``x_dot``), temporaries ``t`` (``t12_3`` -> ``t``), partials ``d``, with a numeric suffix while
two live values want the same name, so the code still reads like the source.

Names a function reads before assigning them (parameters, the tape's values, module
constants, modules) are never renamed and never used as registers. The renaming edits the
final text where the tree has a name, so comments and layout stay as they are.
"""

from __future__ import annotations

import ast
import re

_TEMP = re.compile(r"t\d*(?:_\d+)*(_dot|_bar)?(?:_\d+)?")
_PARTIAL = re.compile(r"d\w+_d\w+")
_VERSIONED = re.compile(r"(.+?)(?:_\d+)?(_dot|_bar|_rhs)?")


def _base(name: str) -> str:
    temp = _TEMP.fullmatch(name)
    if temp:
        return "t" + (temp.group(1) or "")
    if _PARTIAL.fullmatch(name):
        return "d"
    m = _VERSIONED.fullmatch(name)
    return m.group(1) + (m.group(2) or "")


def _uses(stmt) -> tuple[list[ast.Name], list[str], list[str], list[str]]:
    """The name nodes of ``stmt`` and the names it reads, assigns and deletes (one walk)."""
    nodes, loads, stores, dels = [], [], [], []
    for n in ast.walk(stmt):
        if type(n) is ast.Name:
            nodes.append(n)
            ctx = type(n.ctx)
            (loads if ctx is ast.Load else stores if ctx is ast.Store else dels).append(n.id)
    return nodes, loads, stores, dels


def _flat(stmts):
    """The simple statements of ``stmts`` in text order, compound ones (if, with, try) opened
    up: their tests and contexts, then their bodies (which hold no ``del``), so that a name
    assigned and read inside one block is renamed like any other."""
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            yield ast.Expr(stmt.test)
            yield from _flat(stmt.body)
            yield from _flat(stmt.orelse)
        elif isinstance(stmt, ast.With):
            yield from (ast.Expr(item.context_expr) for item in stmt.items)
            yield from _flat(stmt.body)
        elif isinstance(stmt, ast.Try):
            yield from _flat(stmt.body)
            for handler in stmt.handlers:
                yield ast.Expr(handler.type)
                yield from _flat(handler.body)
        else:
            yield stmt


def _plan(fn: ast.FunctionDef) -> list[tuple[int, int, int, str]]:
    """The renamings in ``fn``: (line, start, end, new name), offsets in UTF-8 bytes."""
    uses = [_uses(stmt) for stmt in _flat(fn.body)]
    fixed = {a.arg for a in fn.args.args}
    assigned: set[str] = set()
    for _, loads, stores, _ in uses:                   # names read before any assignment
        fixed.update(n for n in loads if n not in assigned)
        assigned.update(stores)
    fixed.update(n for _, loads, _, dels in uses for n in loads + dels if n not in assigned)
    register: dict[str, str] = {}
    busy: set[str] = set()
    taken = fixed | {fn.name}
    edits = []
    for nodes, loads, stores, dels in uses:
        mapping = {n: register[n] for n in loads + dels if n in register}
        for n in dels:
            if n in register:
                busy.discard(register.pop(n))
        for n in stores:
            if n in fixed:
                continue
            if n not in register:
                base, k = _base(n), 0
                candidate = base
                while candidate in busy or candidate in taken:
                    k += 1
                    candidate = f"{base}_{k}"
                register[n] = candidate
                busy.add(candidate)
            mapping[n] = register[n]
        edits += [(node.lineno, node.col_offset, node.end_col_offset, mapping[node.id])
                  for node in nodes if mapping.get(node.id, node.id) != node.id]
    return edits


def reuse_names(text: str) -> str:
    """``text`` (one or more generated defs) with values renamed to reusable registers."""
    tree = ast.parse(text)
    per_line: dict[int, list[tuple[int, int, str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for line, start, end, new in _plan(node):
                per_line.setdefault(line, []).append((start, end, new))
    lines = text.split("\n")
    for row, changes in per_line.items():
        line = lines[row - 1].encode()                 # ast offsets count UTF-8 bytes
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new.encode() + line[end:]
        lines[row - 1] = line.decode()
    return "\n".join(lines)
