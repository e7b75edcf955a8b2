"""The core IR: SSA statements over scalars. Every pass after the front end reads only this.

Grammar::

    Program   := def NAME(Param*) [wrt Param*]: Item* return Output
    Param     := NAME: Value | NAME[n]: Value^n     a scalar, or a vector of n scalars
    Item      := Stmt | Loop
    Stmt      := Value = OP(Operand, ...)          one primitive of primitives.PRIMITIVES
    Loop      := for Value in range(Operand):      a loop kept as a loop (SPEC section 9):
                   carry (Value <- Operand)*          each carried Value starts from its entry,
                   Item*                              the body runs count times,
                   carry (Value <- Operand)*          and takes its result after each iteration
    Operand   := Value | Const
    Value     := a named SSA value, assigned once (parameters are assigned at entry)
    Const     := a number: a literal, a module constant (G) or a module attribute (math.pi)
    Output    := Operand | [Operand^n] | (Output, ...)   scalar, 1-D array, tuple

Apart from loops kept as loops, the IR is flat: branches, indices, helper calls and short
loops of the source were resolved at transform time (front/evaluate.py), so a vector
parameter ``u`` of length 3 is three scalar values ``u_0, u_1, u_2`` and ``F[3]`` is the
value ``F_3``. A :class:`Loop` carries values across iterations; after the loop, each
carried Value holds its final value (with no iteration, its entry). Each statement keeps
the absolute source line it came from and ``where``, the loop indices and helper calls it
was evaluated under (for comments). Intermediate values of compound expressions are
temporaries numbered per source line (``t12_1``, ``t12_2``... on line 12), so an edit of
one line renames only that line's temporaries; reassigned variables get numbered versions
(``x``, ``x_1``, ``x_2``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sym import Attr, Num, Ref, Sym


@dataclass(eq=False, slots=True)
class Value:
    name: str                    # unique name in the generated code
    var: str | None              # the source variable it binds; None for temporaries
    line: int                    # source line of its definition
    active: bool = False         # depends on a differentiated input and reaches an output

    def sym(self) -> Sym:
        return Ref(self.name)

    def __repr__(self):
        return self.name


@dataclass(frozen=True, slots=True)
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


@dataclass(eq=False, slots=True)
class Stmt:
    target: Value
    op: str                      # canonical primitive name
    args: tuple                  # Operands
    ns: str | None               # module alias of a call ("math", "np"); None otherwise
    line: int
    where: tuple = ()            # ((kind, name, value), ...): loop indices, helper calls

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


@dataclass(eq=False)
class Carry:
    """One value a loop carries: ``var`` starts as ``entry``; after each iteration it takes
    ``result`` (computed by the body, or ``var`` itself when the body leaves it unchanged)."""
    entry: object                # Operand before the loop
    var: Value                   # the value an iteration starts from; the loop's exit value
    result: object               # Operand at the end of an iteration


@dataclass(eq=False)
class Loop:
    """``for index in range(start, start + step * count, step)`` kept as a loop."""
    index: Value                 # the loop variable: a passive int inside the body
    start: int
    step: int
    count: object                # Operand: a Const int or a passive runtime Value
    carried: list                # Carry
    body: list                   # Items
    line: int                    # the for statement's line
    where: tuple = ()

    @property
    def target(self) -> Value:      # (lets passes that look for targets skip loops)
        return None

    def free_values(self) -> list:
        """Values the body reads but neither defines nor carries (read-only inputs), in
        order of first use."""
        defined = {id(self.index)} | {id(c.var) for c in self.carried}
        seen, out = set(), []

        def walk(items):
            for item in items:
                if isinstance(item, Loop):
                    defined.add(id(item.index))
                    defined.update(id(c.var) for c in item.carried)
                    ops = [c.entry for c in item.carried] + [item.count]
                    for op in ops:
                        take(op)
                    walk(item.body)
                    for c in item.carried:
                        take(c.result)
                else:
                    for a in item.args:
                        take(a)
                    defined.add(id(item.target))
        def take(op):
            if isinstance(op, Value) and id(op) not in defined and id(op) not in seen:
                seen.add(id(op))
                out.append(op)
        walk(self.body)
        for c in self.carried:
            take(c.result)
        return out


def has_loops(items) -> bool:
    return any(isinstance(item, Loop) for item in items)


def iter_stmts(items):
    """Every Stmt of ``items``, loop bodies included, in order."""
    for item in items:
        if isinstance(item, Loop):
            yield from iter_stmts(item.body)
        else:
            yield item


def loop_values(items):
    """The values loops define themselves: indices and carried values (nested too)."""
    for item in items:
        if isinstance(item, Loop):
            yield item.index
            for c in item.carried:
                yield c.var
            yield from loop_values(item.body)


def iter_operands(items):
    """Every operand of ``items``: statement arguments, carry entries and results, counts."""
    for item in items:
        if isinstance(item, Loop):
            yield item.count
            for c in item.carried:
                yield c.entry
            yield from iter_operands(item.body)
            for c in item.carried:
                yield c.result
        else:
            yield from item.args


def where_text(where: tuple) -> str:
    """``i = 3, in rhs from line 20``: the context of a statement, for comments."""
    parts = []
    for kind, name, value in where:
        if kind == "loop":
            parts.append(f"{name} = {value}" if name else f"iteration {value}")
        elif kind == "call":
            parts.append(f"in {name} from line {value}")
        # "rolled": inside a loop kept as a loop, which the generated code shows itself
    return ", ".join(parts)


@dataclass(eq=False)
class Param:
    """A source parameter: one scalar value, or a vector of ``length`` scalar values."""
    name: str
    values: list[Value]
    length: int | None           # None: a scalar
    differentiated: bool

    @property
    def is_vector(self) -> bool:
        return self.length is not None


def spec_size(spec) -> int:
    """How many scalars an output spec holds."""
    if spec is None:
        return 1
    if isinstance(spec, int):
        return spec
    return sum(spec_size(s) for s in spec)


@dataclass
class Program:
    name: str
    filename: str
    def_line: int
    params: list[Value]          # every scalar of every parameter, in order
    wrt: list[Value]             # the differentiated scalars, in parameter order
    body: list[Stmt]
    outputs: list                # Operands, in return order (flattened)
    out_spec: object             # None (one scalar), n (a 1-D array of n) or a tuple of specs
    lines: dict[int, str]        # absolute line -> source text
    texts: dict[int, str]        # absolute line -> the statement starting there, exactly
    modules: dict[str, str]      # alias -> "math" | "numpy" (those the function uses)
    constants: dict[str, float]  # module constants the function uses
    digest: str                  # hash of the source function (staleness checks)
    reserved: set[str] = field(default_factory=set)   # every name the generated code may not take
    signature: list[Param] = field(default_factory=list)   # the source parameters
    out_names: tuple | None = None   # per top-level result, the source name returned (or None)
    loop_notes: list = field(default_factory=list)   # front.loops.LoopNote per source loop
    counts: dict = field(default_factory=dict)   # parameter used as a runtime trip count -> file:line of its loop
    products: dict = field(default_factory=dict)  # vector parameter used whole in @ or np.dot -> file:line
    statics: tuple = ()          # parameters given a parameter object: constants, unused at run time

    @property
    def tuple_output(self) -> bool:
        """True when the function returns a tuple."""
        return isinstance(self.out_spec, tuple)

    @property
    def wrt_params(self) -> list[Param]:
        return [p for p in self.signature if p.differentiated]

    @property
    def calls_math(self) -> bool:
        """True when a statement calls a ``math`` function on a runtime value: the generated
        code then works on one point at a time (math functions take no arrays)."""
        key = (id(self.body), len(self.body))      # asked once per statement: remembered per body
        memo = self.__dict__.get("_calls_math")
        if memo is None or memo[0] != key:
            memo = self.__dict__["_calls_math"] = (key, any(
                s.ns is not None and self.modules.get(s.ns) == "math" for s in iter_stmts(self.body)))
        return memo[1]

    @property
    def default_ns(self) -> str:
        """The module alias used for functions the derivative rules introduce: numpy's when
        the source calls no math function on runtime values (so that the generated code runs
        on arrays, even where the source reads a constant such as ``math.pi``), else math's."""
        numpy = sorted(a for a, kind in self.modules.items() if kind == "numpy")
        if numpy and not self.calls_math:
            return numpy[0]
        return next(iter(sorted(self.modules)), "math")

    def source_line(self, line: int) -> str:
        """The statement at ``line`` as written (without a trailing comment)."""
        if line in self.texts:
            return self.texts[line]
        return self.lines.get(line, "").strip()

    def dump(self) -> str:
        """The SSA listing, one statement per line, with its source line number."""
        params = [p.name if p.length is None else f"{p.name}[{p.length}]" for p in self.signature]
        head = f"def {self.name}({', '.join(params)}):"
        wrt = ", ".join(p.name for p in self.wrt)
        out = [head + f"    # wrt: {wrt}"]
        out += dump_items(self.body, "    ")
        out.append("    return " + ", ".join(map(repr, self.outputs)))
        return "\n".join(out)


def dump_items(items, indent: str) -> list[str]:
    """The IR listing of ``items``, one statement per line, loops indented."""
    out = []
    for s in items:
        if isinstance(s, Loop):
            carry = ", ".join(f"{c.var!r} <- {c.entry!r}" for c in s.carried)
            start = f"{s.start}, " if s.start or s.step != 1 else ""
            step = f", step {s.step}" if s.step != 1 else ""
            out.append(f"{indent}for {s.index!r} in range({start}{s.count!r} times{step}):   "
                       f"# line {s.line}; carry {carry}")
            out += dump_items(s.body, indent + "    ")
            out.append(f"{indent}    carry " + ", ".join(f"{c.var!r} <- {c.result!r}" for c in s.carried))
            continue
        flag = "" if s.active else "    # passive"
        where = f" ({where_text(s.where)})" if where_text(s.where) else ""
        out.append(f"{indent}{s!r:<40} # line {s.line}{where}{flag}")
    return out
