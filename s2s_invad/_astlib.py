"""The single door to the AST stack (gast to parse, astor to print).

gast and astor are pinned in pyproject.toml; no other module imports them, so a new
release can only break this file. Emitters build standard-library ``ast`` nodes through
the small constructors below; the front end reads ``gast`` trees.
"""

from __future__ import annotations

import ast

import astor
import gast

__all__ = ["gast", "parse", "to_source", "name", "const", "binop", "unary", "call",
           "attribute", "assign", "aug_assign", "const_str", "compare_eq", "tuple_", "expr_stmt", "raise_call", "if_", "return_",
           "BINOPS", "UNARYOPS"]


def parse(text: str) -> gast.Module:
    """Parse Python source text into a gast module."""
    return gast.parse(text)


def to_source(node: ast.AST) -> str:
    """Print one standard-library ast statement or expression as source text."""
    ast.fix_missing_locations(node)
    text = astor.to_source(node, indent_with="    ")
    return text.rstrip("\n")


# Operator spelling shared by the front end (gast class names) and the emitters.
BINOPS = {"add": ast.Add, "sub": ast.Sub, "mul": ast.Mult, "div": ast.Div, "pow": ast.Pow}
UNARYOPS = {"neg": ast.USub, "pos": ast.UAdd}


def name(ident: str, store: bool = False) -> ast.Name:
    return ast.Name(id=ident, ctx=ast.Store() if store else ast.Load())


def const(value: float) -> ast.expr:
    """A numeric constant; negative values become a unary minus node.

    astor prints ``Constant(-2.0) ** x`` as ``-2.0 ** x`` (a different number), so a
    negative constant is never a bare Constant. NumPy scalars are converted to Python
    numbers so they print as ``0.5`` and not ``np.float64(0.5)``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = float(value)
    if value < 0 or (value == 0 and str(value).startswith("-")):
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return ast.Constant(value=value)


def const_str(value: str) -> ast.Constant:
    return ast.Constant(value=value)


def compare_eq(left: ast.expr, right: ast.expr) -> ast.Compare:
    return ast.Compare(left=left, ops=[ast.Eq()], comparators=[right])


def aug_assign(target: str, op: str, value: ast.expr) -> ast.AugAssign:
    return ast.AugAssign(target=name(target, store=True), op=BINOPS[op](), value=value)


def binop(op: str, left: ast.expr, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=BINOPS[op](), right=right)


def unary(op: str, operand: ast.expr) -> ast.UnaryOp:
    return ast.UnaryOp(op=UNARYOPS[op](), operand=operand)


def attribute(base: str, attr: str) -> ast.Attribute:
    return ast.Attribute(value=name(base), attr=attr, ctx=ast.Load())


def call(func: ast.expr, args: list[ast.expr]) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def tuple_(elts: list[ast.expr], store: bool = False) -> ast.Tuple:
    return ast.Tuple(elts=list(elts), ctx=ast.Store() if store else ast.Load())


def assign(target: str | list[str], value: ast.expr) -> ast.Assign:
    if isinstance(target, str):
        tgt: ast.expr = name(target, store=True)
    else:
        tgt = tuple_([name(t, store=True) for t in target], store=True)
    return ast.Assign(targets=[tgt], value=value, lineno=0)


def expr_stmt(value: ast.expr) -> ast.Expr:
    return ast.Expr(value=value)


def return_(value: ast.expr) -> ast.Return:
    return ast.Return(value=value)


def if_(test: ast.expr, body: list[ast.stmt]) -> ast.If:
    return ast.If(test=test, body=body, orelse=[])


def raise_call(func: ast.expr, args: list[ast.expr]) -> ast.Raise:
    return ast.Raise(exc=call(func, args), cause=None)
