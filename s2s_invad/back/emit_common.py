"""Back end, shared by the four emitters: names, the primal, and how lumps are solved.

Naming convention of the generated code (documented in the README):

* primal values keep the SSA names (``x``, ``x_1``, ``t1``...);
* ``x_dot`` is the tangent of x (jvp, ijvp), ``x_bar`` its cotangent (vjp, ivjp);
* ``dz_dx`` is the partial derivative d z / d x of a step or a lump;
* ``det`` is the determinant of a lump's block A (unrolled solves, k <= 3).

A derived name that would clash with a user's name gets a numeric suffix, and so does a
module-level name the code reads (``_rt``, ``_partial``, ``abs``, the sweep functions...;
see :mod:`s2s_invad.back.names`). Statements are built as ast nodes and printed with astor
through :mod:`s2s_invad._astlib`.
"""

from __future__ import annotations

import contextlib
import math
import re

from .. import _astlib as A
from ..analysis.graph import LayeredGraph
from ..ir import Program, Stmt, Value, spec_size, where_text
from ..analysis.lumps import Lump
from ..analysis import pattern
from ..analysis.pattern import Structure, structure
from ..primitives import COMPARISONS, PRIMITIVES, spelling
from ..naming import Namer
from ..sym import ONE, ZERO, Attr, Fn, Num, Op, Ref, Sym, is_atom, is_num, to_text
from .names import ModuleNames
from .text import comment

UNROLL_MAX_K = pattern.UNROLL_MAX_K   # lumps up to this k are solved by unrolled scalar code
WIDTH = 100               # generated lines longer than this are wrapped inside brackets
NEST_MAX = 16             # a partial folded along a chain of single uses is named every NEST_MAX steps


_BREAKS = re.compile(r"[()\[\]{},]" r"|'(?:\\.|[^'\\])*'" r'|"(?:\\.|[^"\\])*"')   # brackets, commas, strings


def wrap(text: str, indent: str) -> list[str]:
    """``indent + text`` as lines of at most about WIDTH characters, broken after commas
    inside brackets (where Python continues a line by itself); strings are never split."""
    if len(indent) + len(text) <= WIDTH:
        return [indent + text]
    stripped = text.lstrip()
    indent, text = indent + text[:len(text) - len(stripped)], stripped
    breaks, depth = [], 0
    for m in _BREAKS.finditer(text):
        tok = m.group()
        if tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth -= 1
        elif tok == "," and depth > 0:
            breaks.append(m.end())
    if not breaks:
        return [indent + text]
    lines, start, room = [], 0, WIDTH - len(indent)
    cont = indent + "    "
    last = 0
    for cut in breaks:
        if cut - start > room and last > start:
            lines.append(text[start:last].strip())
            start, room = last, WIDTH - len(cont)
        last = cut
    if len(text) - start > room and last > start:
        lines.append(text[start:last].strip())
        start = last
    lines.append(text[start:].strip())
    return [indent + lines[0]] + [cont + ln for ln in lines[1:]]


class Writer:
    """Collects indented source lines: comments as text, statements from ast nodes."""

    def __init__(self, level: int = 1):
        self.lines: list[str] = []
        self.level = level
        self._last_comment = None

    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text if text else "")

    def comment(self, text: str, once: bool = False) -> None:
        if once and (text is self._last_comment or text == self._last_comment):
            return
        self._last_comment = text
        self.line("# " + comment(text))             # user text: escaped, one line

    def statement(self, text: str) -> None:
        """One simple statement printed already, wrapped when long."""
        indent = "    " * self.level
        if len(indent) + len(text) > WIDTH:
            self.lines += wrap(text, indent)
        else:
            self.lines.append(indent + text)

    def stmt(self, node) -> None:
        if type(node) is A.Line:
            self.statement(node.text)
            return
        indent = "    " * self.level
        if isinstance(node, A.ast.Assign) and isinstance(node.targets[0], A.ast.Tuple):
            names = [e.id for e in node.targets[0].elts]
            value = A.to_source(node.value)
            if len(indent) + len(value) + sum(len(n) + 2 for n in names) > WIDTH:
                self.lines += wrap("(" + ", ".join(names) + f") = {value}", indent)
                return
        for text in A.to_source(node).split("\n"):
            if len(text) + len(indent) > WIDTH:
                self.lines += wrap(text, indent)
            else:
                self.line(text)

    def unpack(self, targets: list[str], source: str) -> None:
        """``a, b, c = source``, in parentheses over several lines when long."""
        if not targets:
            return
        text = ", ".join(targets) + (",", "")[len(targets) > 1] + f" = {source}"
        if len("    " * self.level) + len(text) <= WIDTH:
            self.line(text)
        else:
            self.lines += wrap("(" + ", ".join(targets) + f") = {source}", "    " * self.level)


class Emitter:
    """Per-program helper: derived names and ast construction in the source's namespace."""

    def __init__(self, program: Program, graph: LayeredGraph, names: ModuleNames | None = None,
                 compiled: bool = False):
        """``names``: the module-level names of the module the code goes into (default: a
        module of this program alone); ``compiled``: a backend compiles the code (structured
        lumps then get generated elimination rather than a run-time solver)."""
        self.program = program
        self.compiled = compiled
        self.graph = graph
        self.names = names if names is not None else ModuleNames([(program, graph, ())])
        self.aliases = self.names.aliases(program)
        self._constants = {k: v for k, v in self.names.constant_names(program).items() if k != v}
        self._rename = bool(self._constants) or any(k != v for k, v in self.aliases.items())
        self.namer = Namer(program.reserved | self.names.taken)
        self._derived: dict[str, dict[str, str]] = {}    # suffix -> base name -> derived name
        self.imports: dict[str, str] = {}       # module aliases the code emitted so far reads -> kind
        self.uses_runtime = False
        self.uses_abs = False
        self.refs: set[str] = set()         # names the code emitted so far reads
        numpy_aliases = [a for a, kind in sorted(program.modules.items()) if kind == "numpy"]
        # Array mode: the source uses numpy, so the code must also run elementwise on arrays.
        self.numpy = self.aliases[numpy_aliases[0]] if numpy_aliases else None
        self.lines_after: list[list[str]] = []   # module-level sweep functions to append
        self.bound: list[str] = []               # names bind() has emitted, in order
        self.uses_partial = False
        self._tape: str | None = None
        self._structures: dict[tuple[int, int], Structure] = {}
        self._step_comments: dict[tuple, str] = {}     # (line, where) -> comment text
        self._primals: dict[int, tuple] = {}           # id(stmt) -> (stmt, its Line, names read)
        self.structured_names: dict[tuple, str] = {}   # module-level names of back/structured.py
        # Partials read primal values where the primal computed the same expression:
        # "all" (the sweeps, after the whole primal), "before" (jvp: only values computed
        # before the statement), None (memory="recompute": the sweep has no such values).
        self.reuse: str | None = "all"
        self._primal_exprs: dict[int, tuple] = {}
        self._reused: dict[tuple, dict] = {}      # (id(graph), reuse) -> id(stmt) -> partials
        self._exp_names: dict[int, set] = {}      # id(graph) -> names of its exp statements' values

    # names -------------------------------------------------------------------------
    def derived(self, value: Value | str, suffix: str) -> str:
        base = value if type(value) is str else value.name
        names = self._derived.get(suffix)
        if names is None:
            names = self._derived[suffix] = {}
        name = names.get(base)
        if name is None:
            name = names[base] = self.namer.fresh(f"{base}_{suffix}")
        return name

    def derived_names(self, suffix: str) -> dict[str, str]:
        """Base name -> derived name, of every name derived with ``suffix`` so far."""
        return self._derived.get(suffix, {})

    def alias(self, value: Value, suffix: str, name: str) -> bool:
        """Let ``value``'s derived name be ``name`` (an existing one), if it has none yet."""
        names = self._derived.setdefault(suffix, {})
        if value.name in names:
            return False
        names[value.name] = name
        return True

    def dot(self, v: Value) -> str:
        return self.derived(v, "dot")

    def bar(self, v: Value) -> str:
        return self.derived(v, "bar")

    def partial_name(self, z: Value, x: Value) -> str:
        return self.namer.fresh(f"d{z.name}_d{x.name}")

    @contextlib.contextmanager
    def using(self, graph):
        """Emit for one region of a program with loops: its own layered graph."""
        outer, self.graph = self.graph, graph
        try:
            yield
        finally:
            self.graph = outer

    # partials ----------------------------------------------------------------------
    def partials(self, stmt: Stmt) -> dict[Value, Sym]:
        """d target / d operand of ``stmt`` (graph.partials), with each subexpression the
        primal computes read from its value: ``cos(y)`` is ``c`` when the primal has
        ``c = cos(y)`` (see ``reuse``)."""
        if self.reuse is None:
            return self.graph.partials[stmt]
        known = self._reused.get((id(self.graph), self.reuse))
        if known is None:
            known = self._reused[id(self.graph), self.reuse] = {}
        found = known.get(id(stmt))
        if found is None:
            table, position = self._primal_table()
            limit = position[id(stmt)] if self.reuse == "before" else len(position)
            found = known[id(stmt)] = {a: _reuse(e, table, limit)
                                       for a, e in self.graph.partials[stmt].items()}
        return found

    def _primal_table(self) -> tuple[dict, dict]:
        """(expression -> (position, value), id(stmt) -> position) of the current graph."""
        found = self._primal_exprs.get(id(self.graph))
        if found is None:
            table, position = {}, {}
            default = self.program.default_ns
            for i, stmt in enumerate(self.graph.order):
                position[id(stmt)] = i
                args = tuple(a.sym() for a in stmt.args)
                key = ("op", stmt.op, args) if stmt.op in _OPS else (stmt.op, stmt.ns or default, args)
                table.setdefault(key, (i, stmt.target.sym()))
            found = self._primal_exprs[id(self.graph)] = (table, position)
        return found

    # the signature: vector parameters and structured results -----------------------
    def primal_args(self) -> list[str]:
        """The generated function's primal parameters: the source's, in order."""
        return [p.name for p in self.program.signature]

    def unpack_primals(self, w: Writer) -> None:
        """``u_0, u_1, ... = u`` once at the top for every vector parameter."""
        for p in self.program.signature:
            if p.is_vector:
                w.unpack([v.name for v in p.values], p.name)

    def input_args(self, suffix: str) -> list[str]:
        """One argument per differentiated parameter: its tangent (``dot``) or cotangent
        (``bar``), a vector for a vector parameter (``u_dot``)."""
        return [self.derived(p.name if p.is_vector else p.values[0], suffix)
                for p in self.program.wrt_params]

    def unpack_inputs(self, w: Writer, suffix: str) -> None:
        for p in self.program.wrt_params:
            if p.is_vector:
                w.unpack([self.derived(v, suffix) for v in p.values], self.derived(p.name, suffix))

    def pack_inputs(self, suffix: str, present=None) -> list:
        """Per differentiated parameter, its tangent/cotangent (zero where absent)."""
        def leaf(v):
            if present is None or v in present:
                return A.name(self.derived(v, suffix))
            return self.zero_like(v.sym())
        out = []
        for p in self.program.wrt_params:
            out.append(self.vector([leaf(v) for v in p.values]) if p.is_vector else leaf(p.values[0]))
        return out

    def vector(self, elts: list):
        """A 1-D NumPy array of ``elts`` (runtime.vector stacks batches along a new axis 0)."""
        return A.call(self.runtime("vector"), elts)

    def pack(self, elts: list):
        """``elts`` (one per output scalar) shaped like the function's result."""
        return self._pack(self.program.out_spec, iter(elts))

    def _pack(self, spec, leaves):
        # a method, not a recursive closure: the closure's cycle (function -> cell ->
        # function) would keep the emitter and its tables alive until a collection
        if spec is None:
            return next(leaves)
        if isinstance(spec, int):
            return self.vector([next(leaves) for _ in range(spec)])
        return A.tuple_([self._pack(s, leaves) for s in spec])

    def output_args(self, suffix: str) -> list[str]:
        """One argument per top-level result (the function's result is a tuple) or one."""
        prog = self.program
        parts = prog.out_spec if prog.tuple_output else (prog.out_spec,)
        names = prog.out_names or ()
        out = []
        for i, spec in enumerate(parts):
            base = names[i] if i < len(names) and names[i] else (f"out{i}" if prog.tuple_output else "out")
            leaf = self._single_output(i) if spec is None else None
            out.append(self.derived(leaf, suffix) if leaf is not None else self.derived(base, suffix))
        return out

    def _single_output(self, part: int):
        """The output Value of scalar part ``part`` when it can carry its own name."""
        prog = self.program
        parts = prog.out_spec if prog.tuple_output else (prog.out_spec,)
        start = sum(spec_size(s) for s in parts[:part])
        value = prog.outputs[start]
        if isinstance(value, Value) and value.active and \
                sum(1 for o in prog.outputs if o is value) == 1:
            return value
        return None

    def unpack_outputs(self, w: Writer, suffix: str, targets: list[str]) -> None:
        """Bind ``targets`` (one name per output scalar) from the output-side arguments."""
        prog = self.program
        parts = prog.out_spec if prog.tuple_output else (prog.out_spec,)
        names = iter(targets)
        for arg, spec in zip(self.output_args(suffix), parts):
            leaf_names = [next(names) for _ in range(spec_size(spec))]
            if spec is None:
                if leaf_names[0] != arg:
                    w.stmt(A.assign(leaf_names[0], A.name(arg)))
            elif isinstance(spec, int):
                w.unpack(leaf_names, arg)
            else:
                w.line(f"{_nested_target(spec, iter(leaf_names))} = {arg}")

    # expressions -------------------------------------------------------------------
    def callee(self, fn: str, ns: str | None) -> tuple[str, list[str]]:
        """The text of the function computing primitive ``fn`` (spelled in module alias
        ``ns``, None: the source's default) and of the leading arguments it takes."""
        if fn == "abs":
            self.uses_abs = True
            return self.names.abs, []
        source_alias = ns or self.program.default_ns
        kind = self.program.modules.get(source_alias, "math")
        alias = self.module(source_alias, kind)
        attr = spelling(fn, kind)
        if attr is None and fn == "sign":                   # math has no sign()
            return f"{alias}.copysign", ["1.0"]
        return f"{alias}.{attr}", []

    def module(self, source_alias: str, kind: str) -> str:
        """The alias the code uses for the source's module alias ``source_alias``."""
        alias = self.aliases.get(source_alias, source_alias)
        self.imports[alias] = kind
        return alias

    def expr(self, e: Sym):
        """``e`` as an ast expression (a Name, or the printed :class:`_astlib.Code`)."""
        if type(e) is Ref and not self._rename:
            self.refs.add(e.name)
            return A.name(e.name)
        return A.Code(*self.text(e))

    def text(self, e: Sym) -> tuple[str, int]:
        """(source text, precedence) of ``e`` in the generated code."""
        if self._rename:
            e = self._renamed(e)
        return to_text(e, self.callee, self.refs)

    def _renamed(self, e: Sym) -> Sym:
        """``e`` with the module constants and module attributes under their emitted names."""
        if isinstance(e, Ref):
            return Ref(self._constants.get(e.name, e.name))
        if isinstance(e, Attr):
            return Attr(self.module(e.module, self.program.modules.get(e.module, "math")), e.attr)
        if isinstance(e, Op):
            return Op(e.op, tuple(self._renamed(a) for a in e.args))
        if isinstance(e, Fn):
            return Fn(e.fn, tuple(self._renamed(a) for a in e.args), e.ns)
        return e

    def primal(self, stmt: Stmt) -> A.Line:
        """``target = op(args)`` exactly as the source computes it (``x ** 2`` stays).

        Printed once per statement (every mode has the primal): later calls give the same
        line and record the names it reads again."""
        hit = self._primals.get(id(stmt))
        if hit is not None and hit[0] is stmt:
            self.refs.update(hit[2])
            return hit[1]
        outer, self.refs = self.refs, set()
        try:
            line = self._primal(stmt)
            self._primals[id(stmt)] = (stmt, line, tuple(self.refs))
            outer.update(self.refs)
        finally:
            self.refs = outer
        return line

    def _primal(self, stmt: Stmt) -> A.Line:
        args = [self.operand_text(a) for a in stmt.args]
        if stmt.op in A.PREC:
            value = A.binop_text(A.SYMBOL[stmt.op], A.PREC[stmt.op], *args[0], *args[1])[0]
        elif stmt.op in COMPARISONS:
            value = A.compare_text(args, [PRIMITIVES[stmt.op].symbol])[0]
        elif stmt.op == "neg":
            value = A.unary_text("-", *args[0])[0]
        elif stmt.op == "pos":
            value = A.unary_text("+", *args[0])[0]
        else:
            func, lead = self.callee(stmt.op, stmt.ns)
            value = f"{func}({', '.join(lead + [text for text, _ in args])})"
        return A.Line(f"{stmt.target.name} = {value}")

    def operand_text(self, a) -> tuple[str, int]:
        """(text, precedence) of a statement's operand (a Value or a Const)."""
        if type(a) is not Value:
            return self.text(a.sym())
        name = self._constants.get(a.name, a.name) if self._rename else a.name
        self.refs.add(name)
        return name, A.ATOM

    def primal_block(self, w: Writer) -> None:
        """The primal, every statement in schedule order, commented with its source line."""
        self.unpack_primals(w)
        for stmt in self.graph.order:
            self.step_comment(w, stmt)
            w.stmt(self.primal(stmt))

    def wrt_text(self) -> str:
        return ", ".join(p.name for p in self.program.wrt_params)

    def assign(self, w: Writer, name: str, e: Sym) -> None:
        """Emit ``name = e``."""
        w.statement(f"{name} = {self.text(e)[0]}")

    def bind(self, w: Writer, name: str, e: Sym) -> Sym:
        """Emit ``name = e`` unless e is an atom; return what to use in its place."""
        if is_atom(e):
            return e
        self.assign(w, name, e)
        self.bound.append(name)
        return Ref(name)

    @property
    def tape(self) -> str:
        """The name of a sweep function's tape parameter (``_tape`` unless the user has one)."""
        if self._tape is None:
            self._tape = self.namer.fresh("_tape")
        return self._tape

    def sweep_function(self, w: Writer, role: str, inner: Writer, params: list[str], doc: str,
                       local: frozenset = frozenset(), defined: list[str] | None = None,
                       extra: tuple = (), chunked: bool = False) -> str:
        """Emit ``def <f>_<role>(_tape, *params)`` around ``inner`` after the primal in ``w``.

        The tape is the tuple of exactly the primal values the sweep reads, in definition
        order (a closure would do the same, but CPython compiles closures over thousands
        of values in quadratic time); ``local`` names values the sweep computes itself;
        ``defined``: the names the primal defines, in order (default: the flat program's);
        ``extra`` names the forward pass binds besides them (memory="recompute": the dict of
        kept values); ``chunked``: a long straight-line tape goes in parts
        (:mod:`s2s_invad.back.tape`) unless a backend compiles the code. Returns the
        expression that binds the tape.
        """
        if defined is None:
            defined = [p.name for p in self.program.params] + [s.target.name for s in self.graph.order]
        defined = list(defined) + list(extra)
        tape = [v for v in dict.fromkeys(defined) if v in self.refs and v not in local]
        name = self.names.helper(self.program, role)
        head = Writer(level=1)
        from .tape import parts                  # after this module: tape -> registers -> inline -> here
        split = None if self.compiled or not chunked else parts(w.lines, inner.lines, tape, self.tape,
                                                                self.namer.fresh("_parts"))
        if split is not None:
            w.lines[:], inner.lines[:] = split
            head.line(f'"""{doc} {self.tape} holds the primal values it reads, in parts."""')
            bound = A.name(self.tape)
        else:
            head.line(f'"""{doc} {self.tape} holds the primal values it reads."""')
            if tape:
                head.stmt(A.assign(tape, A.name(self.tape)) if len(tape) > 1 else
                          A.assign(tape[0], A.subscript0(self.tape)))
            bound = A.tuple_([A.name(v) for v in tape])
        self.lines_after.append([f"def {name}({', '.join([self.tape] + params)}):"] + head.lines
                                + inner.lines)
        self.uses_partial = True
        return A.call(A.name(self.names.partial), [A.name(name), bound])

    def accumulate(self, w: Writer, target: str, op: str, e: Sym) -> None:
        """``target = target + e`` (op "add") or ``- e`` (op "sub"); ``+ -y`` is written ``- y``."""
        if isinstance(e, Op) and e.op == "neg":
            op, e = ("sub" if op == "add" else "add"), e.args[0]
        value = A.binop_text(A.SYMBOL[op], A.PREC[op], target, A.ATOM, *self.text(e))[0]
        w.statement(f"{target} = {value}")

    def zero_like(self, like: Sym):
        """0.0, or in array mode zeros shaped like ``like``."""
        if self.numpy is None:
            return A.const(0.0)
        self.imports[self.numpy] = "numpy"
        return A.call(A.attribute(self.numpy, "zeros_like"), [self.expr(like)])

    def check_nonzero(self, w: Writer, value: Sym, helper: str, args: list) -> None:
        """``if not 0 < |value| < inf: _rt.<helper>(*args, value)``, elementwise in array mode.

        A zero pivot or determinant means J is singular; an infinite or NaN one, that the
        step's derivative does not exist here: the helper raises the matching error.
        """
        if not (is_num(value) and value.value != 0 and math.isfinite(value.value)):
            self._check(w, value, helper, args, nonzero=True)

    def check_finite(self, w: Writer, value: Sym, helper: str, args: list) -> None:
        """``if not -inf < value < inf: _rt.<helper>(*args, value)``, elementwise in array mode."""
        if not (is_num(value) and math.isfinite(value.value)):
            self._check(w, value, helper, args, nonzero=False)

    def _check(self, w: Writer, value: Sym, helper: str, args: list, nonzero: bool) -> None:
        v = self.expr(value)
        if self.numpy is None:
            inf = self.math_attribute("inf")
            self.uses_abs = True
            test = (A.compare(A.const(0.0), "<", A.call(A.name(self.names.abs), [v]), "<", inf) if nonzero
                    else A.compare(A.unary("neg", inf), "<", v, "<", self.math_attribute("inf")))
        else:
            self.imports[self.numpy] = "numpy"
            test = A.call(A.attribute(self.numpy, "isfinite"), [v])
            if nonzero:
                test = A.and_(test, A.compare(self.expr(value), "!=", A.const(0.0)))
            test = A.call(A.attribute(self.numpy, "all"), [test])
        w.stmt(A.if_(A.not_(test), [A.expr_stmt(A.call(self.runtime(helper), args + [self.expr(value)]))]))

    def math_attribute(self, attr: str):
        """``math.<attr>`` under the alias the source imports math as (else ``math``)."""
        source = next((a for a, kind in sorted(self.program.modules.items()) if kind == "math"),
                      self.program.default_ns if not self.program.modules else "math")
        return A.attribute(self.module(source, "math"), attr)

    # comments and sites ------------------------------------------------------------
    def step_comment(self, w: Writer, stmt: Stmt) -> None:
        key = (stmt.line, stmt.where)
        text = self._step_comments.get(key)
        if text is None:
            where = where_text(stmt.where)
            where = f" ({where})" if where else ""
            text = self._step_comments[key] = f"line {stmt.line}{where}: {self.program.source_line(stmt.line)}"
        w.comment(text, once=True)

    def lump_comment(self, w: Writer, lump: Lump) -> None:
        lines = lump.lines
        first, last = where_text(lump.steps[0].where), where_text(lump.steps[-1].where)
        where = "" if not first else f" ({first})" if first == last else f" ({first} to {last})"
        if lump.k == 1 and len(lines) == 1:
            w.comment(f"line {lines[0]}{where}: {self.program.source_line(lines[0])}")
            return
        span = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
        w.comment(f"{span}{where}: lump with k = {lump.k} "
                  f"(W = {names_text(lump.killed)}; R = {names_text(lump.read) or '-'})")
        for ln in lines:
            w.comment(f"  {ln}: {self.program.source_line(ln)}")

    def site(self, lump: Lump) -> list:
        """Arguments naming the source of a lump for the runtime's error helpers."""
        line = lump.lines[0]
        return [A.const_str(self.program.filename.rsplit("/", 1)[-1]), A.const(line),
                A.const_str(self.program.source_line(line))]

    def runtime(self, fn: str):
        self.uses_runtime = True
        return A.attribute(self.names.runtime, fn)

    # lumps -------------------------------------------------------------------------
    def structure(self, lump: Lump) -> Structure:
        """The patterns of the lump's blocks and how A is solved (analysis/pattern.py)."""
        key = (lump.start, lump.stop)
        if key not in self._structures:
            self._structures[key] = structure(self.graph, lump, array_mode=self.numpy is not None,
                                                  compiled=self.compiled)
        return self._structures[key]

    def lump_jacobian(self, w: Writer, lump: Lump) -> dict[Value, dict[Value, Sym]]:
        """Emit the partials of the lump's new values w.r.t. its inputs (W and R).

        Forward accumulation over the lump's own steps; every non-trivial intermediate
        entry is bound to a name, so the code stays linear in the lump's length.
        """
        grad: dict[Value, dict[Value, Sym]] = {u: {u: ONE} for u in lump.killed + lump.read}
        nesting: dict[tuple, int] = {}           # (value, input) -> steps folded in since named
        uses: dict[Value, int] = {}
        for stmt in lump.steps:
            for arg in self.partials(stmt):
                uses[arg] = uses.get(arg, 0) + 1
        for stmt in lump.steps:
            g: dict[Value, Sym] = {}
            depth: dict[Value, int] = {}
            for arg, part in self.partials(stmt).items():
                if len(grad[arg]) > 1 and not is_atom(part):       # d target/d arg, once
                    part = self.bind(w, self.partial_name(stmt.target, arg), part)
                for u, d in grad[arg].items():
                    term = part * d
                    g[u] = g[u] + term if u in g else term
                    depth[u] = max(depth.get(u, 0), nesting.get((arg, u), 0) + 1)
            if uses.get(stmt.target, 0) > 1:          # read twice: name it, keep code linear
                g = {u: self.bind(w, self.partial_name(stmt.target, u), e) for u, e in g.items()}
            else:                                     # a long chain of single uses: name it every
                for u in g:                           # NEST_MAX steps (Python's parser allows 200
                    if depth[u] >= NEST_MAX:          # nested parentheses)
                        g[u], depth[u] = self.bind(w, self.partial_name(stmt.target, u), g[u]), 0
            for u in g:
                nesting[stmt.target, u] = 0 if is_atom(g[u]) else depth[u]
            grad[stmt.target] = g
        return {v: grad[v] for v in lump.new}

    def constant_pivot(self, lump: Lump) -> Num | None:
        """The pivot d new / d old of a k = 1 lump when it is a number (every partial on
        the way a number), else None; emits nothing."""
        old = lump.killed[0]
        d: dict = {old: ONE}
        for stmt in lump.steps:
            total, known = None, True
            for arg, part in self.partials(stmt).items():
                if arg in d:
                    if d[arg] is None or not isinstance(part, Num):
                        known = False
                        break
                    total = part * d[arg] if total is None else total + part * d[arg]
            if not known:
                d[stmt.target] = None
            elif total is not None:
                d[stmt.target] = total
        pivot = d.get(lump.new[0], ZERO)
        return pivot if isinstance(pivot, Num) else None

    def pivot(self, w: Writer, lump: Lump, jac) -> tuple[Sym, dict[Value, Sym]]:
        """For k = 1: the bound pivot a = d new / d old (checked nonzero) and the b's."""
        new, old = lump.new[0], lump.killed[0]
        row = jac[new]
        a = self.bind(w, self.partial_name(new, old), row.get(old, ZERO))
        if not self.positive_by_construction(a):
            self.check_nonzero(w, a, "zero_pivot", self.site(lump) + [A.const_str(f"d {new.name} / d {old.name}")])
        return a, {r: row[r] for r in lump.read if r in row}

    def positive_by_construction(self, a: Sym) -> bool:
        """In scalar (math) code, a pivot that is the value of an ``exp`` (or a nonzero
        constant times one) needs no test: it is 0 only where exp underflowed (a division by
        it then raises ZeroDivisionError, reported at its line as not finite, which is what
        happened: J is not singular there) and never inf (math.exp raises OverflowError in
        the primal first)."""
        if self.numpy is not None:
            return False
        if type(a) is Op and a.op == "mul" and len(a.args) == 2:
            const = [x for x in a.args if is_num(x)]
            if len(const) != 1 or not (const[0].value != 0 and math.isfinite(const[0].value)):
                return False
            a = a.args[1] if const[0] is a.args[0] else a.args[0]
        if type(a) is not Ref:
            return False
        table = self._exp_names.get(id(self.graph))
        if table is None:
            table = self._exp_names[id(self.graph)] = {
                s.target.name for s in self.graph.order if s.op == "exp"}
        return a.name in table

    def matrices(self, w: Writer, lump: Lump, jac):
        """For k >= 2: bound entries of A (new x killed) and B (new x read)."""
        named = lump.k <= UNROLL_MAX_K          # Cramer's rule reads each entry several times
        amat = [[self.bind(w, self.partial_name(v, u), jac[v].get(u, ZERO)) if named
                 else jac[v].get(u, ZERO) for u in lump.killed] for v in lump.new]
        bmat = [[jac[v].get(r, ZERO) for r in lump.read] for v in lump.new]
        return amat, bmat

    def solve(self, w: Writer, lump: Lump, amat, rhs: list[Sym], unknowns: list[str]) -> None:
        """Emit ``unknowns = solve(amat, rhs)``: unrolled Cramer for small k, else NumPy."""
        k = len(amat)
        rhs = [self.bind(w, self.namer.fresh(f"{u}_rhs"), e) for u, e in zip(unknowns, rhs)]
        if k <= UNROLL_MAX_K:
            det = self.bind(w, self.namer.fresh("det"), _det(amat))
            self.check_nonzero(w, det, "singular_lump", self.site(lump) + [A.const(k)])
            for j, name in enumerate(unknowns):
                cols = [[rhs[i] if jj == j else amat[i][jj] for jj in range(k)] for i in range(k)]
                w.stmt(A.assign(name, self.expr(_det(cols) / det)))
            return
        rows = A.tuple_([A.tuple_([self.expr(x) for x in row]) for row in amat])
        call = A.call(self.runtime("solve"), [rows, A.tuple_([self.expr(r) for r in rhs])] + self.site(lump))
        w.stmt(A.assign(list(unknowns), call))


_OPS = frozenset({"add", "sub", "mul", "div", "pow", "neg"}) | COMPARISONS


def _reuse(e: Sym, table: dict, limit: int) -> Sym:
    """``e`` with every subexpression found in ``table`` before ``limit`` replaced by the
    primal value that holds it."""
    kind = type(e)
    if kind is Ref or kind is Num:
        return e
    if kind is Op:
        hit = table.get(("op", e.op, e.args))
        if hit is not None and hit[0] < limit:
            return hit[1]
        return Op(e.op, tuple(_reuse(a, table, limit) for a in e.args))
    if kind is Fn:
        hit = table.get((e.fn, e.ns, e.args))
        if hit is not None and hit[0] < limit:
            return hit[1]
        return Fn(e.fn, tuple(_reuse(a, table, limit) for a in e.args), e.ns)
    return e


def names_text(values, most: int = 12) -> str:
    """The values' names, comma separated, the middle elided beyond ``most`` (long lumps)."""
    names = [v.name for v in values]
    if len(names) > most:
        names = names[:most // 2] + [f"... {len(names) - most} more ..."] + names[-(most // 2):]
    return ", ".join(names)


def _nested_target(spec, names) -> str:
    if spec is None:
        return next(names)
    if isinstance(spec, int):
        items = [next(names) for _ in range(spec)]
    else:
        items = [_nested_target(s, names) for s in spec]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _det(m: list[list[Sym]]) -> Sym:
    """Determinant by cofactor expansion (used for k <= 3 only)."""
    k = len(m)
    if k == 1:
        return m[0][0]
    if k == 2:
        return m[0][0] * m[1][1] - m[0][1] * m[1][0]
    total: Sym = ZERO
    for j in range(k):
        minor = [row[:j] + row[j + 1:] for row in m[1:]]
        term = m[0][j] * _det(minor)
        total = total + term if j % 2 == 0 else total - term
    return total


def transpose(m):
    return [list(col) for col in zip(*m)] if m else m
