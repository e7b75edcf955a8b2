"""Back end, memory="recompute" only: give the values of generated code a bounded set of names.

CPython's frame has one slot per distinct local name, deleted or not, so straight-line code
with one name per SSA value has a frame that grows with the program (8 bytes a name:
megabytes at 100,000 steps), even when ``del`` frees every value. This pass renames, in each
generated function, every value to a *register*: a name that is reused once the value it
held is deleted. Registers are named after the user's variables (``x_3`` -> ``x``,
``x_3_dot`` -> ``x_dot``), temporaries ``t``, partials ``d``, with a numeric suffix while
two live values want the same name, so the code still reads like the source.

Names a function reads before assigning them (parameters, the tape's values, module
constants, modules) are never renamed and never used as registers. The renaming is done on
the tokens of the final text, so comments and layout stay as they are.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

_TEMP = re.compile(r"t\d+((?:_\d+)?_(?:dot|bar))?")
_PARTIAL = re.compile(r"d\w+_d\w+")
_VERSIONED = re.compile(r"(.+?)(?:_\d+)?(_dot|_bar|_rhs)?")


def _base(name: str) -> str:
    temp = _TEMP.fullmatch(name)
    if temp:
        return "t" + (re.sub(r"_\d+", "", temp.group(1)) if temp.group(1) else "")
    if _PARTIAL.fullmatch(name):
        return "d"
    m = _VERSIONED.fullmatch(name)
    return m.group(1) + (m.group(2) or "")


def _names(node, ctx) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)]


def _plan(fn: ast.FunctionDef) -> dict[int, dict[str, str]]:
    """For each line of ``fn``, the renaming of the names on it."""
    fixed = {a.arg for a in fn.args.args}
    assigned: set[str] = set()
    for stmt in fn.body:                               # names read before any assignment
        fixed.update(n for n in _names(stmt, ast.Load) if n not in assigned)
        assigned.update(_names(stmt, ast.Store))
    fixed.update(n for stmt in fn.body for n in _names(stmt, (ast.Load, ast.Del)) if n not in assigned)
    register: dict[str, str] = {}
    busy: set[str] = set()
    taken = fixed | {fn.name}
    per_line: dict[int, dict[str, str]] = {}
    for stmt in fn.body:
        mapping = {n: register[n] for n in _names(stmt, (ast.Load, ast.Del)) if n in register}
        if isinstance(stmt, ast.Delete):
            for n in _names(stmt, ast.Del):
                if n in register:
                    busy.discard(register.pop(n))
        for n in _names(stmt, ast.Store):
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
        for line in range(stmt.lineno, stmt.end_lineno + 1):
            per_line[line] = mapping
    return per_line


def reuse_names(text: str) -> str:
    """``text`` (one or more generated defs) with values renamed to reusable registers."""
    tree = ast.parse(text)
    per_line: dict[int, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            per_line.update(_plan(node))
    lines = text.split("\n")
    edits: dict[int, list[tuple[int, int, str]]] = {}
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and not (previous and previous.string == "."):
            row = tok.start[0]
            new = per_line.get(row, {}).get(tok.string)
            if new is not None and new != tok.string:
                edits.setdefault(row, []).append((tok.start[1], tok.end[1], new))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok
    for row, changes in edits.items():
        line = lines[row - 1]
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new + line[end:]
        lines[row - 1] = line
    return "\n".join(lines)
