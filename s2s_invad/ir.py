"""The core IR: SSA statements over scalars. Every pass after the front end reads only this.

Grammar::

    Program   := def NAME(Value*) [wrt Value*]: Stmt* return Operand+
    Stmt      := Value = OP(Operand, ...)          one primitive of primitives.PRIMITIVES
    Operand   := Value | Const
    Value     := a named SSA value, assigned once (parameters are assigned at entry)
    Const     := a number: a literal, a module constant (G) or a module attribute (math.pi)

Each statement keeps the absolute source line it came from. Compound source expressions
become several statements whose intermediate values are temporaries (``t1``, ``t2``...);
reassigned variables get numbered versions (``x``, ``x_1``, ``x_2``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sym import Attr, Num, Ref, Sym


@dataclass(eq=False)
class Value:
    name: str                    # unique name in the generated code
    var: str | None              # the source variable it binds; None for temporaries
    line: int                    # source line of its definition
    active: bool = False         # depends on a differentiated input and reaches an output

    def sym(self) -> Sym:
        return Ref(self.name)

    def __repr__(self):
        return self.name


@dataclass(frozen=True)
class Const:
    value: float | int
    ref: Sym | None = None       # Ref("G") for a module constant, Attr("math", "pi")

    def sym(self) -> Sym:
        return self.ref if self.ref is not None else Num(self.value)

    @property
    def active(self) -> bool:
        return False

    def __repr__(self):
        if isinstance(self.ref, Ref):
            return self.ref.name
        if isinstance(self.ref, Attr):
            return f"{self.ref.module}.{self.ref.attr}"
        return repr(self.value)


Operand = Value | Const


@dataclass(eq=False)
class Stmt:
    target: Value
    op: str                      # canonical primitive name
    args: tuple                  # Operands
    ns: str | None               # module alias of a call ("math", "np"); None otherwise
    line: int

    @property
    def active(self) -> bool:
        return self.target.active

    def active_args(self) -> list[Value]:
        """The distinct active operands, in operand order."""
        seen: list[Value] = []
        for a in self.args:
            if isinstance(a, Value) and a.active and a not in seen:
                seen.append(a)
        return seen

    def __repr__(self):
        from .primitives import PRIMITIVES
        prim = PRIMITIVES[self.op]
        if prim.symbol and len(self.args) == 2:
            rhs = f"{self.args[0]!r} {prim.symbol} {self.args[1]!r}"
        elif prim.symbol:
            rhs = f"{prim.symbol}{self.args[0]!r}"
        else:
            rhs = f"{self.op}({', '.join(map(repr, self.args))})"
        return f"{self.target.name} = {rhs}"


@dataclass
class Program:
    name: str
    filename: str
    def_line: int
    params: list[Value]
    wrt: list[Value]             # the differentiated parameters, in parameter order
    body: list[Stmt]
    outputs: list                # Operands, in return order
    tuple_output: bool           # True when the function returns a tuple
    lines: dict[int, str]        # absolute line -> source text
    texts: dict[int, str]        # absolute line -> the statement starting there, exactly
    modules: dict[str, str]      # alias -> "math" | "numpy" (those the function uses)
    constants: dict[str, float]  # module constants the function uses
    digest: str                  # hash of the source function (staleness checks)
    reserved: set[str] = field(default_factory=set)   # every name the generated code may not take

    @property
    def default_ns(self) -> str:
        """The module alias used for functions the derivative rules introduce."""
        return next(iter(sorted(self.modules)), "math")

    def source_line(self, line: int) -> str:
        """The statement at ``line`` as written (without a trailing comment)."""
        if line in self.texts:
            return self.texts[line]
        return self.lines.get(line, "").strip()

    def dump(self) -> str:
        """The SSA listing, one statement per line, with its source line number."""
        head = f"def {self.name}({', '.join(p.name for p in self.params)}):"
        wrt = ", ".join(p.name for p in self.wrt)
        out = [head + f"    # wrt: {wrt}"]
        for s in self.body:
            flag = "" if s.active else "    # passive"
            out.append(f"    {s!r:<40} # line {s.line}{flag}")
        out.append("    return " + ", ".join(map(repr, self.outputs)))
        return "\n".join(out)
