"""Back end, shared by the four emitters: names, the primal, and how lumps are solved.

Naming convention of the generated code (documented in the README):

* primal values keep the SSA names (``x``, ``x_1``, ``t1``...);
* ``x_dot`` is the tangent of x (jvp, ijvp), ``x_bar`` its cotangent (vjp, ivjp);
* ``dz_dx`` is the partial derivative d z / d x of a step or a lump;
* ``det`` is the determinant of a lump's block A (unrolled solves, k <= 3).

A derived name that would clash with a user's name gets a numeric suffix. Statements are
built as ast nodes and printed with astor through :mod:`s2s_invad._astlib`.
"""

from __future__ import annotations

import math

from .. import _astlib as A
from ..analysis.graph import LayeredGraph
from ..ir import Program, Stmt, Value
from ..analysis.lumps import Lump
from ..primitives import spelling
from ..front.ssa import Namer
from ..sym import ONE, ZERO, Op, Ref, Sym, is_atom, is_num, to_ast
from .text import comment

UNROLL_MAX_K = 3          # lumps up to this k are solved by unrolled scalar code


class Writer:
    """Collects indented source lines: comments as text, statements from ast nodes."""

    def __init__(self, level: int = 1):
        self.lines: list[str] = []
        self.level = level
        self._last_comment = None

    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text if text else "")

    def comment(self, text: str, once: bool = False) -> None:
        if once and text == self._last_comment:
            return
        self._last_comment = text
        self.line("# " + comment(text))             # user text: escaped, one line

    def stmt(self, node) -> None:
        for text in A.to_source(node).split("\n"):
            self.line(text)


class Emitter:
    """Per-program helper: derived names and ast construction in the source's namespace."""

    def __init__(self, program: Program, graph: LayeredGraph):
        self.program = program
        self.graph = graph
        self.namer = Namer(program.reserved)
        self._derived: dict[tuple[str, str], str] = {}
        self.used_modules: set[str] = set()
        self.uses_runtime = False
        self.refs: set[str] = set()         # names the code emitted so far reads
        numpy_aliases = [a for a, kind in sorted(program.modules.items()) if kind == "numpy"]
        # Array mode: the source uses numpy, so the code must also run elementwise on arrays.
        self.numpy = numpy_aliases[0] if numpy_aliases else None
        self.lines_after: list[list[str]] = []   # module-level sweep functions to append
        self.bound: list[str] = []               # names bind() has emitted, in order
        self.uses_partial = False

    # names -------------------------------------------------------------------------
    def derived(self, value: Value | str, suffix: str) -> str:
        base = value.name if isinstance(value, Value) else value
        key = (base, suffix)
        if key not in self._derived:
            self._derived[key] = self.namer.fresh(f"{base}_{suffix}")
        return self._derived[key]

    def dot(self, v: Value) -> str:
        return self.derived(v, "dot")

    def bar(self, v: Value) -> str:
        return self.derived(v, "bar")

    def partial_name(self, z: Value, x: Value) -> str:
        return self.namer.fresh(f"d{z.name}_d{x.name}")

    # expressions -------------------------------------------------------------------
    def spell(self, fn: str, ns: str | None, args):
        if fn == "abs":
            return A.call(A.name("abs"), args)
        alias = ns or self.program.default_ns
        kind = self.program.modules.get(alias, "math")
        self.used_modules.add(alias)
        attr = spelling(fn, kind)
        if attr is None and fn == "sign":                   # math has no sign()
            return A.call(A.attribute(alias, "copysign"), [A.const(1.0)] + list(args))
        return A.call(A.attribute(alias, attr), args)

    def expr(self, e: Sym):
        return to_ast(e, self.spell, self.refs)

    def primal(self, stmt: Stmt):
        """``target = op(args)`` exactly as the source computes it."""
        args = [self.expr(a.sym()) for a in stmt.args]
        if stmt.op in A.BINOPS:
            value = A.binop(stmt.op, *args)
        elif stmt.op in A.UNARYOPS:
            value = A.unary(stmt.op, args[0])
        else:
            value = self.spell(stmt.op, stmt.ns, args)
        return A.assign(stmt.target.name, value)

    def primal_block(self, w: Writer) -> None:
        """The primal, every statement in schedule order, commented with its source line."""
        for stmt in self.graph.order:
            self.step_comment(w, stmt)
            w.stmt(self.primal(stmt))

    def bind(self, w: Writer, name: str, e: Sym) -> Sym:
        """Emit ``name = e`` unless e is an atom; return what to use in its place."""
        if is_atom(e):
            return e
        w.stmt(A.assign(name, self.expr(e)))
        self.bound.append(name)
        return Ref(name)

    def sweep_function(self, w: Writer, name: str, inner: Writer, params: list[str], doc: str,
                       local: frozenset = frozenset(), extra: tuple = ()) -> str:
        """Emit ``def name(_tape, *params)`` around ``inner`` after the primal in ``w``.

        The tape is the tuple of exactly the primal values the sweep reads, in definition
        order (a closure would do the same, but CPython compiles closures over thousands
        of values in quadratic time); ``local`` names values the sweep computes itself,
        ``extra`` names the forward pass binds besides them (memory="recompute": the dict of
        kept values). Returns the expression that binds the tape.
        """
        defined = [p.name for p in self.program.params] + [s.target.name for s in self.graph.order]
        defined += list(extra)
        tape = [v for v in defined if v in self.refs and v not in local]
        head = Writer(level=1)
        head.line(f'"""{doc} _tape holds the primal values it reads."""')
        if tape:
            head.stmt(A.assign(tape, A.name("_tape")) if len(tape) > 1 else
                      A.assign(tape[0], A.subscript0("_tape")))
        self.lines_after.append([f"def {name}({', '.join(['_tape'] + params)}):"] + head.lines
                                + inner.lines)
        self.uses_partial = True
        return A.call(A.name("_partial"), [A.name(name), A.tuple_([A.name(v) for v in tape])])

    def accumulate(self, w: Writer, target: str, op: str, e: Sym) -> None:
        """``target = target + e`` (op "add") or ``- e`` (op "sub"); ``+ -y`` is written ``- y``."""
        if isinstance(e, Op) and e.op == "neg":
            op, e = ("sub" if op == "add" else "add"), e.args[0]
        w.stmt(A.accumulate(target, op, self.expr(e)))

    def zero_like(self, like: Sym):
        """0.0, or in array mode zeros shaped like ``like``."""
        if self.numpy is None:
            return A.const(0.0)
        self.used_modules.add(self.numpy)
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
            test = (A.compare(A.const(0.0), "<", A.call(A.name("abs"), [v]), "<", inf) if nonzero
                    else A.compare(A.unary("neg", inf), "<", v, "<", self.math_attribute("inf")))
        else:
            self.used_modules.add(self.numpy)
            test = A.call(A.attribute(self.numpy, "isfinite"), [v])
            if nonzero:
                test = A.and_(test, A.compare(self.expr(value), "!=", A.const(0.0)))
            test = A.call(A.attribute(self.numpy, "all"), [test])
        w.stmt(A.if_(A.not_(test), [A.expr_stmt(A.call(self.runtime(helper), args + [self.expr(value)]))]))

    def math_attribute(self, attr: str):
        """``math.<attr>`` under the alias the source imports math as (else ``math``)."""
        alias = next((a for a, kind in sorted(self.program.modules.items()) if kind == "math"), "math")
        self.used_modules.add(alias)
        return A.attribute(alias, attr)

    # comments and sites ------------------------------------------------------------
    def step_comment(self, w: Writer, stmt: Stmt) -> None:
        w.comment(f"line {stmt.line}: {self.program.source_line(stmt.line)}", once=True)

    def lump_comment(self, w: Writer, lump: Lump) -> None:
        lines = lump.lines
        if lump.k == 1 and len(lines) == 1:
            w.comment(f"line {lines[0]}: {self.program.source_line(lines[0])}")
            return
        span = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
        w.comment(f"{span}: lump with k = {lump.k} "
                  f"(W = {', '.join(v.name for v in lump.killed)}; "
                  f"R = {', '.join(v.name for v in lump.read) or '-'})")
        for ln in lines:
            w.comment(f"  {ln}: {self.program.source_line(ln)}")

    def site(self, lump: Lump) -> list:
        """Arguments naming the source of a lump for the runtime's error helpers."""
        line = lump.lines[0]
        return [A.const_str(self.program.filename.rsplit("/", 1)[-1]), A.const(line),
                A.const_str(self.program.source_line(line))]

    def runtime(self, fn: str):
        self.uses_runtime = True
        return A.attribute("_rt", fn)

    # lumps -------------------------------------------------------------------------
    def lump_jacobian(self, w: Writer, lump: Lump) -> dict[Value, dict[Value, Sym]]:
        """Emit the partials of the lump's new values w.r.t. its inputs (W and R).

        Forward accumulation over the lump's own steps; every non-trivial intermediate
        entry is bound to a name, so the code stays linear in the lump's length.
        """
        grad: dict[Value, dict[Value, Sym]] = {u: {u: ONE} for u in lump.killed + lump.read}
        uses: dict[Value, int] = {}
        for stmt in lump.steps:
            for arg in self.graph.partials[stmt]:
                uses[arg] = uses.get(arg, 0) + 1
        for stmt in lump.steps:
            g: dict[Value, Sym] = {}
            for arg, part in self.graph.partials[stmt].items():
                if len(grad[arg]) > 1 and not is_atom(part):       # d target/d arg, once
                    part = self.bind(w, self.partial_name(stmt.target, arg), part)
                for u, d in grad[arg].items():
                    term = part * d
                    g[u] = g[u] + term if u in g else term
            if uses.get(stmt.target, 0) > 1:          # read twice: name it, keep code linear
                g = {u: self.bind(w, self.partial_name(stmt.target, u), e) for u, e in g.items()}
            grad[stmt.target] = g
        return {v: grad[v] for v in lump.new}

    def pivot(self, w: Writer, lump: Lump, jac) -> tuple[Sym, dict[Value, Sym]]:
        """For k = 1: the bound pivot a = d new / d old (checked nonzero) and the b's."""
        new, old = lump.new[0], lump.killed[0]
        row = jac[new]
        a = self.bind(w, self.partial_name(new, old), row.get(old, ZERO))
        self.check_nonzero(w, a, "zero_pivot", self.site(lump) + [A.const_str(f"d {new.name} / d {old.name}")])
        return a, {r: row[r] for r in lump.read if r in row}

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
