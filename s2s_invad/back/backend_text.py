"""Back end, optional: what the compiled backends' text passes share.

:mod:`s2s_invad.back.numba_backend` and :mod:`s2s_invad.back.c_backend` each read a
generated module with the standard ``ast`` module and write a section that compiles its
functions. Both decide per function (compiled or Python, and why: :class:`Choice`), read
the same top-level names (:class:`ModuleInfo`), refuse what they do not know
(:class:`Refused`), count statements the same way for their size bounds, and keep a vjp or
ivjp and its sweep together (:func:`pair_sweeps`: the tape must be of one kind on both
sides).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field


class Refused(Exception):
    """A construct the backend does not compile (the function stays Python)."""


@dataclass
class Choice:
    """What a backend does with one generated function."""
    function: str
    compiled: bool
    statements: int
    reason: str = ""
    compiler: str = "numba"
    seconds: float = 0.0                # the estimated compile time

    def describe(self) -> str:
        if self.compiled:
            return (f"{self.function}: compiled by {self.compiler} ({self.statements:,} statements, about "
                    f"{seconds_text(self.seconds)} to compile)")
        return f"{self.function}: Python ({self.reason})"


def seconds_text(seconds: float) -> str:
    seconds = max(seconds, 0.5)
    return f"{seconds:.0f} s" if seconds >= 2 else f"{seconds:.1f} s"


def env_bound(env: str, default: int) -> int:
    """A size bound from the environment variable ``env`` (a count of statements)."""
    text = os.environ.get(env, "").strip()
    try:
        value = int(text) if text else default
    except ValueError:
        value = default
    return max(value, 0)


@dataclass
class ModuleInfo:
    """The names a generated module binds at its top level, and every name it uses."""
    runtime: str | None = None
    partial: str | None = None
    numpy: set = field(default_factory=set)
    math: set = field(default_factory=set)
    abs: str = "abs"
    taken: set = field(default_factory=set)

    @classmethod
    def of(cls, tree: ast.Module) -> "ModuleInfo":
        info = cls()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                info.taken.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.arg)):
                info.taken.add(node.name if isinstance(node, ast.FunctionDef) else node.arg)
            elif isinstance(node, ast.alias):
                info.taken.add(node.asname or node.name)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    bound_name = a.asname or a.name
                    if node.module == "s2s_invad" and a.name == "runtime":
                        info.runtime = bound_name
                    elif node.module == "functools" and a.name == "partial":
                        info.partial = bound_name
                    elif node.module == "builtins" and a.name == "abs":
                        info.abs = bound_name
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "numpy":
                        info.numpy.add(a.asname or a.name)
                    elif a.name == "math":
                        info.math.add(a.asname or a.name)
        return info

    def fresh(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def runtime_call(self, node) -> str | None:
        """``helper`` for a call ``_rt.helper(...)`` of the runtime, else None."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == self.runtime:
            return node.func.attr
        return None

    def is_guard(self, node: ast.Try) -> bool:
        """The try/except every generated function is wrapped in (back/checks.py)."""
        return (not node.orelse and not node.finalbody and len(node.handlers) == 2
                and all(isinstance(h.type, ast.Attribute) and isinstance(h.type.value, ast.Name)
                        and h.type.value.id == self.runtime for h in node.handlers)
                and [h.type.attr for h in node.handlers] == ["S2SError", "NUMERIC_ERRORS"])

    def is_errstate(self, node: ast.With) -> bool:
        ctx = node.items[0].context_expr if len(node.items) == 1 else None
        return (isinstance(ctx, ast.Call) and isinstance(ctx.func, ast.Attribute) and ctx.func.attr == "errstate"
                and isinstance(ctx.func.value, ast.Name) and ctx.func.value.id in self.numpy)


def is_tape_allocation(value) -> bool:
    """``[None] * count``: the list a rolled loop records its iterations in."""
    return (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult) and isinstance(value.left, ast.List)
            and len(value.left.elts) == 1 and isinstance(value.left.elts[0], ast.Constant)
            and value.left.elts[0].value is None)


def count_names(fn: ast.FunctionDef) -> set[str]:
    """The names that are trip counts (ints in Python): those that reach a ``range(...)``
    or a tape's ``[None] * count``, through assignments."""
    ints: set[str] = set()
    defs: dict[str, list] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            for arg in node.args:
                ints |= {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Assign):
            if is_tape_allocation(node.value):
                ints |= {n.id for n in ast.walk(node.value.right) if isinstance(n, ast.Name)}
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defs.setdefault(target.id, []).append(node.value)
    todo = list(ints)
    while todo:
        name = todo.pop()
        for value in defs.get(name, ()):
            for n in ast.walk(value):
                if isinstance(n, ast.Name) and n.id not in ints:
                    ints.add(n.id)
                    todo.append(n.id)
    return ints


def count_statements(stmts) -> int:
    """Statements, recursively (a loop's body once): the size the bounds are about."""
    total = 0
    for node in stmts:
        total += 1
        for name in ("body", "orelse"):
            total += count_statements(getattr(node, name, []) or [])
    return total


def sweeps_of(functions, partial: str | None) -> set[str]:
    """The functions a vjp or ivjp binds with ``partial(sweep, tape)``."""
    found = set()
    for fn in functions:
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == partial \
                    and node.args and isinstance(node.args[0], ast.Name):
                found.add(node.args[0].id)
    return found


def pair_sweeps(converted: dict, sweep_of: dict) -> None:
    """Keep a vjp or ivjp and its sweep on the same side: compiled both, or Python both.

    ``converted`` maps names to objects with ``.node`` (None: stays Python) and ``.reason``;
    ``sweep_of`` maps a function to the sweep it returns."""
    for name, sweep in sweep_of.items():
        c, partner = converted[name], converted.get(sweep)
        if partner is None:
            c.node, c.reason = None, f"its sweep {sweep} is not in the module"
        elif c.node is not None and partner.node is None:
            c.node, c.reason = None, f"its sweep {sweep} stays Python"
        elif c.node is None and partner.node is not None:
            partner.node, partner.reason = None, f"the function returning it, {name}, stays Python"


class _RealCheck(ast.NodeTransformer):
    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "not_real" and len(node.args) == 1:
            test = ast.Compare(self.visit(node.args[0]), [ast.NotEq()], [ast.Constant(0.0)])
            return ast.copy_location(test, node)
        return self.generic_visit(node)


def compiled_checks(tree: ast.Module) -> ast.Module:
    """``tree`` with each results check ``_rt.not_real(total)`` of code with ``**`` read as
    ``total != 0.0``: compiled code computes a negative number to a fractional power as
    nan (caught by that test), never as a complex number, which is what the Python check adds."""
    return ast.fix_missing_locations(_RealCheck().visit(tree))
