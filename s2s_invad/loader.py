"""Front end, step 0: find a function's source, parse it, and learn its namespace.

Two ways in, one result (:class:`SourceFunction`):

* :func:`from_function` for a live Python function (the decorator and functional API);
  names resolve through the function's globals and closure;
* :func:`from_file` for a file read as text and never executed (the CLI); names resolve
  through the module's top-level ``import`` statements and numeric assignments.

Line numbers and columns in the parsed tree are absolute in the file.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import math
import numbers
import textwrap
import types
from dataclasses import dataclass, field

from . import _astlib as A
from .errors import SourceUnavailableError

gast = A.gast


@dataclass
class Scope:
    """What the free names of a function mean: modules and numeric constants."""
    modules: dict[str, str] = field(default_factory=dict)      # alias -> "math" | "numpy"
    constants: dict[str, float] = field(default_factory=dict)  # name -> value
    others: dict[str, str] = field(default_factory=dict)       # name -> what it is (for errors)


@dataclass
class SourceFunction:
    name: str
    filename: str
    node: "gast.FunctionDef"
    lines: dict[int, str]        # absolute line number -> text of that line
    scope: Scope
    text: str                    # the function's source text (hashed for staleness)

    @property
    def digest(self) -> str:
        payload = self.text + repr(sorted(self.scope.constants.items())) + repr(sorted(self.scope.modules.items()))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _shift(tree, line_delta: int, col_delta: int) -> None:
    for node in gast.walk(tree):
        if hasattr(node, "lineno") and node.lineno is not None:
            node.lineno += line_delta
            node.col_offset += col_delta
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += line_delta
                node.end_col_offset += col_delta


def _free_names(node) -> set[str]:
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}


def _describe(value) -> str:
    if callable(value):
        return "a function"
    return f"a {type(value).__name__}"


def from_function(fn) -> SourceFunction:
    """Parse a live function; raise SourceUnavailableError when its source is not readable."""
    if not isinstance(fn, types.FunctionType):
        raise SourceUnavailableError(
            f"{fn!r} is not a Python function defined with def; s2s_invad transforms "
            "the source of plain functions (wrap callables in a def)")
    if fn.__name__ == "<lambda>":
        raise SourceUnavailableError(
            "lambda functions are not supported: write the function with def in a .py file")
    try:
        raw_lines, start = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"the source of {fn.__qualname__} is not available ({exc}); functions typed at "
            "an interactive prompt or built with exec cannot be read: define it in a .py "
            "file, or use 's2s-invad gen' on the file") from None
    text = "".join(raw_lines)
    dedented = textwrap.dedent(text)
    indent = len(raw_lines[0]) - len(raw_lines[0].lstrip()) if raw_lines else 0
    tree = A.parse(dedented)
    node = tree.body[0]
    if not isinstance(node, gast.FunctionDef):
        raise SourceUnavailableError(f"could not find the def of {fn.__qualname__} in its source")
    _shift(node, start - 1, indent)
    lines = {start + i: line.rstrip("\n") for i, line in enumerate(raw_lines)}

    scope = Scope()
    closure = {}
    if fn.__closure__:
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                pass
    import numpy
    for ident in sorted(_free_names(node)):
        if ident in closure:
            value = closure[ident]
        elif ident in fn.__globals__:
            value = fn.__globals__[ident]
        else:
            continue
        if value is math:
            scope.modules[ident] = "math"
        elif value is numpy:
            scope.modules[ident] = "numpy"
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            scope.constants[ident] = float(value) if not isinstance(value, int) else value
        else:
            scope.others[ident] = _describe(value)
    return SourceFunction(fn.__name__, filename, node, lines, scope, dedented)


def _numeric_literal(node):
    """The value of ``1.5``, ``-2``, ``+3e-4``; None for anything else."""
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        inner = _numeric_literal(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, gast.USub) else inner
    return None


def module_scope(tree) -> Scope:
    """Imports and numeric constants at the top level of a module read as text."""
    scope = Scope()
    for stmt in tree.body:
        if isinstance(stmt, gast.Import):
            for alias in stmt.names:
                if alias.name in ("math", "numpy"):
                    scope.modules[alias.asname or alias.name] = alias.name
        elif isinstance(stmt, gast.Assign):
            value = _numeric_literal(stmt.value)
            for target in stmt.targets:
                if isinstance(target, gast.Name):
                    if value is not None:
                        scope.constants[target.id] = value
                    else:
                        scope.constants.pop(target.id, None)
                        scope.others[target.id] = "a module-level value that is not a numeric literal"
        elif isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):
            scope.others[stmt.name] = "a function" if isinstance(stmt, gast.FunctionDef) else "a class"
    return scope


def from_file(filename: str, text: str) -> list[SourceFunction]:
    """Every top-level def of a module given as text, in file order (nothing is executed)."""
    tree = A.parse(text)
    scope = module_scope(tree)
    file_lines = text.splitlines()
    result = []
    for node in tree.body:
        if not isinstance(node, gast.FunctionDef):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        lines = {i: file_lines[i - 1] for i in range(first, node.end_lineno + 1)}
        names = _free_names(node)
        local = Scope({k: v for k, v in scope.modules.items() if k in names},
                      {k: v for k, v in scope.constants.items() if k in names},
                      {k: v for k, v in scope.others.items() if k in names})
        body_text = "\n".join(lines[i] for i in range(first, node.end_lineno + 1))
        result.append(SourceFunction(node.name, filename, node, lines, local,
                                     textwrap.dedent(body_text) + "\n"))
    return result

