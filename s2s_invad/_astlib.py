"""The single door to the AST stack (gast to parse, astor to print).

gast and astor are pinned in pyproject.toml; no other module imports them, so a new
release can only break this file. Emitters build standard-library ``ast`` nodes through
the small constructors below; the front end reads ``gast`` trees.
"""

from __future__ import annotations

import ast
import math
import sys
import io
import threading
import tokenize

import astor
import gast
from gast.ast3 import Ast3ToGAst

__all__ = ["gast", "parse", "to_source", "name", "const", "binop", "unary", "call",
           "attribute", "assign", "accumulate", "const_str", "compare_eq", "not_", "tuple_", "expr_stmt", "raise_call", "if_", "return_",
           "BINOPS", "UNARYOPS"]


DEEP_STACK = 512 * 1024 * 1024      # bytes of stack for deeply nested sources
DEEP_RECURSION = 200_000            # Python frames allowed there


def deep(fn, *args):
    """``fn(*args)``, retried on a thread with a large stack and a high recursion limit
    when it runs out of recursion (gast's conversion and the evaluator recurse once per
    level of a nested expression: 300 chained operators are enough)."""
    try:
        return fn(*args)
    except RecursionError:
        pass
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:            # re-raised in the calling thread
            result["error"] = exc
    old_stack, old_limit = threading.stack_size(), sys.getrecursionlimit()
    # the limit is raised before the worker starts: raised after, a worker that runs first
    # (it may hold the GIL for a switch interval) met the old limit within milliseconds
    sys.setrecursionlimit(max(old_limit, DEEP_RECURSION))
    try:
        threading.stack_size(DEEP_STACK)
        try:
            worker = threading.Thread(target=run, name="s2s_invad-deep", daemon=True)
            worker.start()
        finally:
            threading.stack_size(old_stack)
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in result:
        raise result["error"]
    return result["value"]


TOO_DEEP = ("an expression is nested too deeply for Python's own parser (Python could not run "
            "this file either): split it into several statements")


def too_deep(text: str) -> SyntaxError:
    """The SyntaxError for source Python's parser gives up on (RecursionError, MemoryError),
    at the logical line with the most tokens, which holds the deep expression (the parser
    itself names no line)."""
    lines = text.splitlines()
    counts: dict[int, int] = {}            # first line of a logical line -> its tokens
    first = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            if first is None:
                first = tok.start[0]
            counts[first] = counts.get(first, 0) + 1
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                first = None
    except (tokenize.TokenError, SyntaxError):
        pass
    line = max(counts, key=counts.get) if counts else 1
    source = lines[line - 1] if line <= len(lines) else ""
    return SyntaxError(TOO_DEEP, ("<source>", line, len(source) - len(source.lstrip()) + 1, source))


def parse(text: str) -> gast.Module:
    """Parse Python source text into a gast module (any nesting depth Python accepts)."""
    try:
        tree = ast.parse(text)
    except (RecursionError, MemoryError):
        raise too_deep(text) from None
    return deep(to_gast, tree)


class _ToGast(Ast3ToGAst):
    """gast's converter (``gast.ast_to_gast``), with the visitor of each node class and the
    gast class of each node class looked up once instead of at every node: the same tree,
    in about half the time (it is most of the cost of reading a long function)."""

    _visitors: dict = {}                   # ast class -> the converter's function for it
    _generic: dict = {}                    # ast class -> (gast class or None, fields, attributes)

    def visit(self, node):
        kind = type(node)
        visitor = self._visitors.get(kind)
        if visitor is None:
            visitor = self._visitors[kind] = getattr(type(self), "visit_" + kind.__name__,
                                                     type(self).generic_visit)
        return visitor(self, node)

    def _visit(self, node):
        if isinstance(node, ast.AST):
            return self.visit(node)
        if isinstance(node, list):
            return [self._visit(n) for n in node]
        return node

    def generic_visit(self, node):
        kind = type(node)
        found = self._generic.get(kind)
        if found is None:
            found = self._generic[kind] = (getattr(gast, kind.__name__, None), kind._fields, kind._attributes)
        cls, fields, attributes = found
        if cls is None:                    # not a node of gast's (as gast.ast_to_gast: None)
            return None
        missing, node_class = _MISSING, ast.AST
        values = {}                        # the fields, then the positions, as gast sets them
        for field in fields:
            value = getattr(node, field, missing)
            if value is missing:
                continue
            if isinstance(value, node_class):      # self._visit(value), without its call
                value = self.visit(value)
            elif isinstance(value, list):
                value = [self._visit(v) for v in value]
            values[field] = value
        for attr in attributes:
            value = getattr(node, attr, missing)
            if value is not missing:
                values[attr] = value
        new_node = cls.__new__(cls)
        new_node.__dict__.update(values)
        return new_node

    def visit_Name(self, node):
        # gast.Name(node.id, ctx, None, None) at node's location (ast.copy_location)
        new_node = gast.Name.__new__(gast.Name)
        values = new_node.__dict__
        values.update(id=node.id, ctx=self.visit(node.ctx), annotation=None, type_comment=None)
        for attr in _LOCATION:
            value = getattr(node, attr, None)
            if value is not None or (attr[0] == "e" and hasattr(node, attr)):
                values[attr] = value
        return new_node


_MISSING = object()
_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def to_gast(node: ast.AST):
    """``gast.ast_to_gast(node)``, faster (:class:`_ToGast`)."""
    return _ToGast().visit(node)


def parse_function_at(text: str, lineno: int):
    """The gast FunctionDef that starts at ``lineno`` (its def or first decorator) in ``text``.

    The module is parsed by CPython's parser and only the function found is converted to
    gast, which is most of the cost of parsing; None when no def starts there.
    """
    try:
        stack = [ast.parse(text)]
    except (RecursionError, MemoryError):
        raise too_deep(text) from None
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                if lineno in (first, child.lineno):
                    return deep(to_gast, child)
            if isinstance(child, ast.stmt):
                stack.append(child)
    return None


def parse_lambda_at(text: str, code) -> tuple[object, str | None] | None:
    """The lambda whose code object is ``code``, in ``text``, as a gast FunctionDef (named
    None) whose body returns the lambda's expression, with the name it is assigned to
    (``g = lambda x: ...``) or None; None when no lambda, or more than one, could be it.

    Candidates start on the code's first line and take its parameters; the one whose body
    holds every position of the code's instructions is it (the innermost, for lambdas
    nested in lambdas), so two different lambdas on one line are told apart by column."""
    try:
        tree = ast.parse(text)
    except (RecursionError, MemoryError):
        raise too_deep(text) from None
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount
                              + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)]
    spots = [(line, col) for line, _, col, end in code.co_positions()      # not RESUME's empty span
             if line is not None and col is not None and end is not None and end > col]
    found, names = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Lambda):
            names[id(node.value)] = node.targets[0].id
        if not (isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno):
            continue
        a = node.args
        own = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs] + [x.arg for x in (a.vararg, a.kwarg) if x]
        body = node.body
        start, end = (body.lineno, body.col_offset), (body.end_lineno, body.end_col_offset)
        if tuple(own) == params and all(start <= spot < end for spot in spots):
            found.append(node)
    if not found:
        return None
    inner = [n for n in found if not any(o is not n and o.lineno <= n.lineno and _within(n, o) for o in found)]
    if len(inner) != 1:
        return None
    lam = inner[0]
    fn = ast.FunctionDef(name="lambda", args=lam.args, body=[ast.copy_location(ast.Return(lam.body), lam.body)],
                         decorator_list=[], returns=None, type_comment=None, **_TYPE_PARAMS)
    ast.copy_location(fn, lam)
    fn.end_lineno, fn.end_col_offset = lam.end_lineno, lam.end_col_offset
    return deep(to_gast, fn), names.get(id(lam))


def _within(inner: ast.AST, outer: ast.AST) -> bool:
    """``inner``'s span lies inside ``outer``'s."""
    return ((outer.lineno, outer.col_offset) <= (inner.lineno, inner.col_offset)
            and (inner.end_lineno, inner.end_col_offset) <= (outer.end_lineno, outer.end_col_offset))


_TYPE_PARAMS = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}


def astor_source(node: ast.AST) -> str:
    """astor's rendering of one statement or expression (the reference printer)."""
    node = _Unprinted().visit(node)
    ast.fix_missing_locations(node)
    return astor.to_source(node, indent_with="    ").rstrip("\n")


class _Unprinted(ast.NodeTransformer):
    """Turns :class:`Code` nodes back into trees, for astor (which prints no text of ours)."""

    def visit_Code(self, node):
        return ast.parse(node.text, mode="eval").body

    def visit_Line(self, node):
        return ast.parse(node.text).body[0]


# Operator precedence as astor uses it (higher binds tighter).
_PREC = {ast.Add: 11, ast.Sub: 11, ast.Mult: 12, ast.Div: 12, ast.Pow: 14, ast.BitAnd: 8}
_SYM = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitAnd: "&",
        ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.Is: "is", ast.IsNot: "is not",
            ast.In: "in"}
UNARY_PREC = 13
COMPARE_PREC = 6
IFEXP_PREC = 1
ATOM = 16
# The same by operator name (the emitters' spelling, see BINOPS), for printers of other trees.
PREC = {"add": 11, "sub": 11, "mul": 12, "div": 12, "pow": 14}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


class _Unknown(Exception):
    pass


class Code(ast.expr):
    """An expression already printed: ``text`` binds with precedence ``prec``.

    Emitters that print expressions themselves (:func:`s2s_invad.sym.to_text`) pass them
    on as this node, so a statement built around it prints without a tree of its own.
    """
    _fields = ("text", "prec")


class Line(ast.stmt):
    """A simple statement already printed (one line of ``text``), for the same reason."""
    _fields = ("text",)


def binop_text(symbol: str, prec: int, left: str, lp: int, right: str, rp: int) -> tuple[str, int]:
    """``left symbol right`` with the parentheses astor puts, from the operands' precedences."""
    if prec == 14:                          # right associative; unary operands bind looser
        if lp <= prec:
            left = f"({left})"
        if rp < UNARY_PREC:
            right = f"({right})"
    else:
        if lp < prec:
            left = f"({left})"
        if rp <= prec:
            right = f"({right})"
    return f"{left} {symbol} {right}", prec


def unary_text(symbol: str, operand: str, op_prec: int) -> tuple[str, int]:
    if op_prec < UNARY_PREC:
        operand = f"({operand})"
    return symbol + operand, UNARY_PREC


def compare_text(parts: list[tuple[str, int]], ops: list[str]) -> tuple[str, int]:
    parts = [f"({text})" if prec <= COMPARE_PREC else text for text, prec in parts]
    return parts[0] + "".join(f" {op} {part}" for op, part in zip(ops, parts[1:])), COMPARE_PREC


def ifexp_text(test: tuple[str, int], body: tuple[str, int], orelse: tuple[str, int]) -> tuple[str, int]:
    """``body if test else orelse`` (each a (text, precedence) pair), parenthesised as
    astor prints it."""
    (t, tp), (b, bp), (o, op) = test, body, orelse
    t = f"({t})" if tp <= IFEXP_PREC else t
    b = f"({b})" if bp <= IFEXP_PREC else b
    o = f"({o})" if op < IFEXP_PREC else o
    return f"{b} if {t} else {o}", IFEXP_PREC


def number_text(value) -> tuple[str, int]:
    """How :func:`const` of ``value`` prints: (text, precedence)."""
    if type(value) not in (int, float):              # bool, np.float64, np.int64...
        value = float(value)
    if value < 0 or (value == 0 and str(value).startswith("-")):
        return unary_text("-", _constant_text(-value), ATOM)
    return _constant_text(value), ATOM


def _constant_text(value) -> str:
    """A Constant's text: repr, but for infinities and NaN."""
    if type(value) is float and not math.isfinite(value):
        # repr gives the names inf and nan, unbound in generated code; as astor does:
        return "1e1000" if value > 0 else "(1e1000-1e1000)"
    return repr(value)


def _expr(node) -> tuple[str, int]:
    """(text, precedence) of the expression shapes the emitters build."""
    kind = type(node)
    if kind is Code:
        return node.text, node.prec
    if kind is ast.Name:
        return node.id, ATOM
    if kind is ast.Constant:
        if type(node.value) is float and not math.isfinite(node.value):
            return _constant_text(node.value), ATOM
        if type(node.value) in (int, float, str) and not (type(node.value) is not str and node.value < 0):
            return _constant_text(node.value), ATOM
        if node.value is None:
            return "None", ATOM
        raise _Unknown
    if kind is ast.List:
        return "[" + ", ".join(_paren_tuple(e) for e in node.elts) + "]", ATOM
    if kind is ast.BinOp and type(node.op) in _PREC:
        return binop_text(_SYM[type(node.op)], _PREC[type(node.op)], *_expr(node.left), *_expr(node.right))
    if kind is ast.UnaryOp and type(node.op) is ast.Not:
        operand, op_prec = _expr(node.operand)
        return "not " + (f"({operand})" if op_prec <= COMPARE_PREC else operand), 5
    if kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
        return unary_text(_SYM[type(node.op)], *_expr(node.operand))
    if kind is ast.Attribute and type(node.value) is ast.Name:
        return f"{node.value.id}.{node.attr}", ATOM
    if kind is ast.Call and all(k.arg for k in node.keywords):
        func, fp = _expr(node.func)
        args = [_paren_tuple(a) for a in node.args] + [f"{k.arg}={_paren_tuple(k.value)}" for k in node.keywords]
        return f"{func}({', '.join(args)})", ATOM
    if kind is ast.Tuple:
        return ", ".join(_paren_tuple(e) for e in node.elts) + ("," if len(node.elts) == 1 else ""), 0
    if kind is ast.Subscript and type(node.slice) is ast.Constant:
        return f"{_expr(node.value)[0]}[{node.slice.value!r}]", ATOM
    if kind is ast.Compare and all(type(op) in _COMPARE for op in node.ops):
        return compare_text([_expr(operand) for operand in [node.left] + node.comparators],
                            [_COMPARE[type(op)] for op in node.ops])
    raise _Unknown


def _paren_tuple(node) -> str:
    text, prec = _expr(node)
    return f"({text})" if type(node) is ast.Tuple else text


def _stmt(node) -> str:
    kind = type(node)
    if kind is Line:
        return node.text
    if kind is ast.Assign and len(node.targets) == 1:
        return f"{_expr(node.targets[0])[0]} = {_expr(node.value)[0]}"
    if kind is ast.AugAssign and type(node.op) in _PREC:
        return f"{_expr(node.target)[0]} {_SYM[type(node.op)]}= {_expr(node.value)[0]}"
    if kind is ast.Expr:
        return _expr(node.value)[0]
    if kind is ast.Return:
        return "return " + _expr(node.value)[0]
    if kind is ast.If:
        text = f"if {_expr(node.test)[0]}:\n{_block(node.body)}"
        return text + (f"\nelse:\n{_block(node.orelse)}" if node.orelse else "")
    if kind is ast.Try and not (node.orelse or node.finalbody) and all(h.name is None for h in node.handlers):
        return "try:\n" + _block(node.body) + "".join(
            f"\nexcept {_expr(h.type)[0]}:\n{_block(h.body)}" for h in node.handlers)
    if kind is ast.With and len(node.items) == 1 and node.items[0].optional_vars is None:
        return f"with {_expr(node.items[0].context_expr)[0]}:\n{_block(node.body)}"
    if kind is ast.Raise and node.cause is None:
        return "raise " + _expr(node.exc)[0]
    raise _Unknown


def _block(stmts) -> str:
    return "\n".join("    " + line for b in stmts for line in to_source(b).split("\n"))


def to_source(node: ast.AST) -> str:
    """Print one ast statement or expression as source text.

    The emitters build a few node shapes over and over (assignments of arithmetic and
    calls); those are printed directly, byte-identical to astor (tests compare the two on
    generated programs), because astor costs ~40 microseconds a statement. Every other
    node goes to astor.
    """
    try:
        return _stmt(node) if isinstance(node, ast.stmt) else _expr(node)[0]
    except _Unknown:
        return astor_source(node)


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
    if type(value) not in (int, float):              # bool, np.float64, np.int64...
        value = float(value)
    if value < 0 or (value == 0 and str(value).startswith("-")):
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return ast.Constant(value=value)


def const_str(value: str) -> ast.Constant:
    return ast.Constant(value=value)


def const_none() -> ast.Constant:
    return ast.Constant(value=None)


def list_(elts: list[ast.expr]) -> ast.List:
    return ast.List(elts=list(elts), ctx=ast.Load())


def not_(operand: ast.expr) -> ast.UnaryOp:
    return ast.UnaryOp(op=ast.Not(), operand=operand)


def compare_eq(left: ast.expr, right: ast.expr) -> ast.Compare:
    return ast.Compare(left=left, ops=[ast.Eq()], comparators=[right])


def compare(left: ast.expr, *rest) -> ast.Compare:
    """``compare(a, "<", b, "<", c)``: a chained comparison (ops ==, !=, <, <=, is, is not, in)."""
    symbols = {sym: op for op, sym in _COMPARE.items()}
    return ast.Compare(left=left, ops=[symbols[op]() for op in rest[0::2]], comparators=list(rest[1::2]))


def and_(left: ast.expr, right: ast.expr) -> ast.BinOp:
    """``left & right`` (elementwise and, for NumPy conditions)."""
    return ast.BinOp(left=left, op=ast.BitAnd(), right=right)


def or_(left: ast.expr, right: ast.expr) -> ast.BoolOp:
    """``left or right``."""
    return ast.BoolOp(op=ast.Or(), values=[left, right])


def accumulate(target: str, op: str, value: ast.expr) -> ast.Assign:
    """``target = target <op> value``: never in place, so caller's arrays are not mutated."""
    return assign(target, binop(op, name(target), value))


def subscript0(base: str) -> ast.Subscript:
    """``base[0]``."""
    return ast.Subscript(value=name(base), slice=ast.Constant(value=0), ctx=ast.Load())


def binop(op: str, left: ast.expr, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=BINOPS[op](), right=right)


def unary(op: str, operand: ast.expr) -> ast.UnaryOp:
    return ast.UnaryOp(op=UNARYOPS[op](), operand=operand)


def attribute(base: str, attr: str) -> ast.Attribute:
    return ast.Attribute(value=name(base), attr=attr, ctx=ast.Load())


def call(func: ast.expr, args: list[ast.expr], **keywords: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()])


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


def if_(test: ast.expr, body: list[ast.stmt], orelse: list[ast.stmt] = ()) -> ast.If:
    return ast.If(test=test, body=body, orelse=list(orelse))


def try_(body: list[ast.stmt], exceptions: ast.expr, handler: list[ast.stmt]) -> ast.Try:
    """``try: body`` / ``except exceptions: handler``."""
    return ast.Try(body=body, handlers=[ast.ExceptHandler(type=exceptions, name=None, body=handler)],
                   orelse=[], finalbody=[])


def assign_item(base: str, key: ast.expr, value: ast.expr) -> ast.Assign:
    """``base[key] = value``."""
    target = ast.Subscript(value=name(base), slice=key, ctx=ast.Store())
    return ast.Assign(targets=[target], value=value, lineno=0)


def with_(context: ast.expr, body: list[ast.stmt]) -> ast.With:
    return ast.With(items=[ast.withitem(context_expr=context, optional_vars=None)], body=body)


def raise_call(func: ast.expr, args: list[ast.expr]) -> ast.Raise:
    return ast.Raise(exc=call(func, args), cause=None)
