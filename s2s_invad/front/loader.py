"""Front end, step 0: find a function's source, parse it, and learn its namespace.

Two ways in, one result (:class:`SourceFunction`):

* :func:`from_function` for a live Python function (the decorator and functional API);
  names resolve through the function's globals and closure;
* :func:`from_file` for a file read as text and never executed (the CLI); names resolve
  through the module's top-level ``import`` statements and numeric assignments.

Line numbers and columns in the parsed tree are absolute in the file.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import math
import numbers
import re
import textwrap
import types
from dataclasses import dataclass, field

from .. import _astlib as A
from ..errors import SourceUnavailableError

gast = A.gast


class Scope:
    """What the free names of a function mean: modules, numeric constants, or other things.

    Names are resolved on demand (``lookup(name)`` returns the value bound to a name, or
    raises KeyError) and remembered; ``modules`` and ``constants`` then list what was used.
    """

    def __init__(self, lookup):
        self._lookup = lookup
        self.modules: dict[str, str] = {}        # alias -> "math" | "numpy"
        self.constants: dict[str, float] = {}    # name -> value
        self.others: dict[str, str] = {}         # name -> what it is (for error messages)

    def resolve(self, name: str) -> str | None:
        """"module", "constant", "other" or None (unbound) for a free name."""
        for kind, table in (("module", self.modules), ("constant", self.constants), ("other", self.others)):
            if name in table:
                return kind
        try:
            value = self._lookup(name)
        except KeyError:
            return None
        import numpy
        if value is math or value == "math":
            self.modules[name] = "math"
        elif value is numpy or value == "numpy":
            self.modules[name] = "numpy"
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            self.constants[name] = value if isinstance(value, int) else float(value)
        else:
            self.others[name] = _describe(value)
        return self.resolve(name)


@dataclass
class SourceFunction:
    name: str
    filename: str
    node: "gast.FunctionDef"
    lines: dict[int, str]        # absolute line number -> text of that line
    scope: Scope
    text: str                    # the function's source text (hashed for staleness)
    names: set[str] = field(default_factory=set)        # every identifier (filled by the fence)
    local_names: set[str] = field(default_factory=set)  # parameters and assigned names (fence)


def source_digest(text: str, constants: dict, modules: dict) -> str:
    """Hash of a function's source and the module names it uses (for staleness checks)."""
    payload = text + repr(sorted(constants.items())) + repr(sorted(modules.items()))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class _Opaque:
    """Describes a module-level value the CLI does not evaluate."""
    def __init__(self, what: str):
        self.what = what


def _describe(value) -> str:
    if isinstance(value, _Opaque):
        return value.what
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
    filename = fn.__code__.co_filename
    node = None
    file_lines = linecache.getlines(filename, fn.__globals__)
    if file_lines:
        try:
            node = A.parse_function_at("".join(file_lines), fn.__code__.co_firstlineno)
        except SyntaxError:
            node = None                                   # the file changed since import
    if node is None:
        try:
            raw_lines, start = inspect.getsourcelines(fn)
        except (OSError, TypeError) as exc:
            raise SourceUnavailableError(
                f"the source of {fn.__qualname__} is not available ({exc}); functions typed at "
                "an interactive prompt or built with exec cannot be read: define it in a .py "
                "file, or use 's2s-invad gen' on the file") from None
        text = "".join(raw_lines)
        indented = raw_lines[0][:1] in (" ", "\t")
        # Pad so that the parser itself reports absolute lines and columns.
        if indented and start >= 2:
            node = A.parse("\n" * (start - 2) + "if 1:\n" + text).body[0].body[0]
        else:
            node = A.parse("\n" * (start - 1) + textwrap.dedent(text)).body[0]
        file_lines = [""] * (start - 1) + raw_lines
    if not isinstance(node, gast.FunctionDef):
        raise SourceUnavailableError(f"could not find the def of {fn.__qualname__} in its source")
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = {i: file_lines[i - 1].rstrip("\n") for i in range(first, node.end_lineno + 1)}
    text = textwrap.dedent("\n".join(lines.values()) + "\n")

    closure = {}
    if fn.__closure__:
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                pass

    def lookup(name):
        if name in closure:
            return closure[name]
        return fn.__globals__[name]
    return SourceFunction(fn.__name__, filename, node, lines, Scope(lookup), text)


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


def module_scope(tree) -> dict:
    """Top-level imports and numeric constants of a module read as text (not executed)."""
    names: dict[str, object] = {}
    for stmt in tree.body:
        if isinstance(stmt, gast.Import):
            for alias in stmt.names:
                if alias.name in ("math", "numpy"):
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(stmt, gast.Assign):
            value = _numeric_literal(stmt.value)
            for target in stmt.targets:
                if isinstance(target, gast.Name):
                    names[target.id] = value if value is not None else _Opaque(
                        "a module-level value that is not a numeric literal")
        elif isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):
            names[stmt.name] = _Opaque("a function" if isinstance(stmt, gast.FunctionDef) else "a class")
    return names


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as Python numbers them: only ``\\n``, ``\\r\\n`` and ``\\r`` end a line.

    (``str.splitlines`` also splits at form feeds, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``...,
    which Python's tokenizer reads as ordinary characters, so line numbers would drift.)
    """
    return _LINE_BREAK.split(text)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def from_file(filename: str, text: str) -> list[SourceFunction]:
    """Every top-level def of a module given as text, in file order (nothing is executed)."""
    tree = A.parse(text)
    names = module_scope(tree)
    file_lines = split_lines(text)
    result = []
    for node in tree.body:
        if not isinstance(node, gast.FunctionDef):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        lines = {i: file_lines[i - 1] for i in range(first, node.end_lineno + 1)}
        body_text = "\n".join(lines[i] for i in range(first, node.end_lineno + 1))
        result.append(SourceFunction(node.name, filename, node, lines, Scope(names.__getitem__),
                                     textwrap.dedent(body_text) + "\n"))
    return result
