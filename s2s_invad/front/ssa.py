"""Front end, step 2: lower a fenced function to the SSA IR (:mod:`s2s_invad.ir`).

One primitive per statement. Names: the first binding of a source variable keeps its
name, later ones are numbered (``x_1``, ``x_2``); temporaries are ``t1``, ``t2``...;
no generated name ever equals a name the user wrote. Copies (``y = x``) and unary plus
bind a name to an existing value and produce no statement.
"""

from __future__ import annotations

import math

from .. import _astlib as A
from ..errors import ArgumentError
from .fence import ALLOWED_BINOPS, refuse, resolve_call
from ..ir import Const, Program, Stmt, Value
from .loader import SourceFunction, source_digest
from ..sym import Attr, Ref

gast = A.gast


class Namer:
    """Deterministic fresh names that avoid every reserved and already used name."""

    def __init__(self, reserved: set[str]):
        self.reserved = set(reserved)
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def take(self, name: str) -> str:
        self.used.add(name)
        return name

    def fresh(self, base: str, first_plain: bool = True) -> str:
        if first_plain and base not in self.used and base not in self.reserved:
            return self.take(base)
        k = self.counters.get(base, 0)
        while True:
            k += 1
            candidate = f"{base}_{k}" if not base[-1].isdigit() else f"{base}_{k}"
            if candidate not in self.used and candidate not in self.reserved:
                self.counters[base] = k
                return self.take(candidate)

    def temp(self) -> str:
        k = self.counters.get("#t", 0)
        while True:
            k += 1
            candidate = f"t{k}"
            if candidate not in self.used and candidate not in self.reserved:
                self.counters["#t"] = k
                return self.take(candidate)


class _Lowering:
    def __init__(self, sf: SourceFunction):
        self.sf = sf
        self.reserved = set(sf.names) | {sf.node.name}
        self.namer = Namer(self.reserved)
        self.env: dict[str, object] = {}
        self.body: list[Stmt] = []
        self.versions: set[str] = set()

    def new_value(self, var: str | None, line: int) -> Value:
        if var is None:
            return Value(self.namer.temp(), None, line)
        if var not in self.versions:
            self.versions.add(var)
            # A source variable's first binding keeps its name; an output's name hint
            # ("out1") only when the user does not use that name for something else.
            if var in self.sf.local_names or (var not in self.namer.reserved and var not in self.namer.used):
                self.namer.reserved.discard(var)
                return Value(self.namer.take(var), var, line)
        return Value(self.namer.fresh(var, first_plain=False), var, line)

    def emit(self, op, args, ns, line, var):
        target = self.new_value(var, line)
        self.body.append(Stmt(target, op, tuple(args), ns, line))
        return target

    def expr(self, node, line: int, var: str | None = None):
        """Lower ``node``; the outermost result is named after ``var`` when given."""
        if isinstance(node, gast.Constant):
            return Const(node.value)
        if isinstance(node, gast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id not in self.sf.local_names and self.sf.scope.resolve(node.id) == "constant":
                return Const(self.sf.scope.constants[node.id], Ref(node.id))
            raise refuse(self.sf, node, f"name '{node.id}' is used before it is assigned (and is "
                                        "not a parameter or a module-level numeric constant)")
        if isinstance(node, gast.Attribute):
            value = getattr(math, node.attr)
            return Const(value, Attr(node.value.id, node.attr))
        if isinstance(node, gast.BinOp):
            left = self.expr(node.left, line)
            right = self.expr(node.right, line)
            return self.emit(ALLOWED_BINOPS[type(node.op)], (left, right), None, line, var)
        if isinstance(node, gast.UnaryOp):
            operand = self.expr(node.operand, line)
            if isinstance(node.op, gast.UAdd):
                return operand
            if isinstance(operand, Const) and operand.ref is None:
                return Const(-operand.value)
            return self.emit("neg", (operand,), None, line, var)
        if isinstance(node, gast.Call):
            fn, ns = resolve_call(self.sf, node)
            arg = self.expr(node.args[0], line)
            return self.emit(fn, (arg,), ns, line, var)
        raise refuse(self.sf, node, f"{type(node).__name__} is not supported")  # fenced out already

    def statement(self, stmt) -> None:
        line = stmt.lineno
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], (gast.Tuple, gast.List)):
            names = [t.id for t in stmt.targets[0].elts]
            values = [self.expr(v, line, n) for v, n in zip(stmt.value.elts, names)]
            for n, v in zip(names, values):
                self.env[n] = v
            return
        if isinstance(stmt, gast.AugAssign):
            node = gast.BinOp(left=gast.Name(stmt.target.id, gast.Load(), None, None),
                              op=stmt.op, right=stmt.value)
            for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                setattr(node, attr, getattr(stmt, attr))
            target = stmt.target.id
            if target not in self.env:
                self.expr(node.left, line)   # raises "used before it is assigned"
            self.env[target] = self.expr(node, line, target)
            return
        target = stmt.targets[0] if isinstance(stmt, gast.Assign) else stmt.target
        self.env[target.id] = self.expr(stmt.value, line, target.id)


def _segment(sf: SourceFunction, node) -> str:
    """The exact source text of a statement (no trailing comment), on one line."""
    lines = [sf.lines.get(i, "") for i in range(node.lineno, node.end_lineno + 1)]
    if len(lines) == 1:
        raw = lines[0].encode()[node.col_offset:node.end_col_offset]
        return raw.decode(errors="replace")
    first = lines[0].encode()[node.col_offset:].decode(errors="replace")
    last = lines[-1].encode()[:node.end_col_offset].decode(errors="replace")
    return " ".join(part.strip() for part in [first, *lines[1:-1], last])


def to_ssa(sf: SourceFunction, wrt: tuple[str, ...] | None = None) -> Program:
    """Lower the fenced function ``sf``; ``wrt`` names the differentiated parameters."""
    low = _Lowering(sf)
    fn = sf.node
    params = []
    for arg in fn.args.posonlyargs + fn.args.args:
        value = low.new_value(arg.id, arg.lineno)
        params.append(value)
        low.env[arg.id] = value
    names = [p.name for p in params]
    if wrt is None:
        wrt_values = list(params)
    else:
        if isinstance(wrt, str):
            wrt = (wrt,)
        unknown = [w for w in wrt if w not in names]
        if unknown:
            raise ArgumentError(f"wrt names {unknown} that are not parameters of {fn.name}{tuple(names)}")
        wrt_values = [p for p in params if p.name in wrt]
    body = fn.body
    if body and isinstance(body[0], gast.Expr):
        body = body[1:]
    texts = {}
    for stmt in body:
        texts.setdefault(stmt.lineno, _segment(sf, stmt))
    for stmt in body[:-1]:
        low.statement(stmt)
    ret = body[-1]
    tuple_output = isinstance(ret.value, gast.Tuple)
    elts = ret.value.elts if tuple_output else [ret.value]
    outputs = []
    for i, elt in enumerate(elts):
        hint = None if isinstance(elt, gast.Name) else ("out" if len(elts) == 1 else f"out{i}")
        outputs.append(low.expr(elt, ret.lineno, hint))
    used_modules = {s.ns for s in low.body if s.ns} | {
        o.ref.module for s in low.body for o in s.args if isinstance(o, Const) and isinstance(o.ref, Attr)}
    return Program(
        name=fn.name, filename=sf.filename, def_line=fn.lineno, params=params, wrt=wrt_values,
        body=low.body, outputs=outputs, tuple_output=tuple_output, lines=sf.lines, texts=texts,
        modules={a: sf.scope.modules[a] for a in sorted(used_modules)},
        constants=dict(sf.scope.constants),
        digest=source_digest(sf.text, sf.scope.constants, sf.scope.modules), reserved=low.namer.reserved | low.namer.used)
