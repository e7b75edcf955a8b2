"""Back end: the solves of lumps with k > 3 whose block A is sparse (SPEC section 8).

analysis/pattern.py gives each lump its patterns of A and B and a method; this module
writes the code for the two sparse ones (``dense`` blocks keep emit_common's LAPACK call):

``generated``: straight-line LU for exactly the pattern, in the static order chosen at
transform time. For M' = P A Q (row t = new value row_of[t], column c = killed value
order[c]) every entry of L + U is one assignment, row by row::

    L_tc = (a_tc - sum_s L_ts U_sc) * U_cc_inv        c < t   (a multiplier)
    U_tc =  a_tc - sum_s L_ts U_sc                    c >= t
    U_tt_inv = 1.0 / U_tt                              (the pivot's reciprocal)

with exactly the terms of the symbolic factorisation (a_tc = 0 for fill), then the two
triangular solves (L y = P b, U Q^T x = y for ijvp; U^T y = Q^T s, L^T P z = y for ivjp),
one assignment per row. The entries of A and B are computed once each from the lump's
partials (forward accumulation, emit_common.lump_jacobian), never as an n x n literal.
Cost per point: multiply-adds of the factorisation plus O(nnz(L + U)); the code is
elementwise, so it runs on NumPy batches like the rest.

The pivots are static, so each is checked at run time by threshold partial pivoting:
every multiplier must satisfy |L| <= 10 (runtime_lu.MULTIPLIER_BOUND, tau = 0.1; the module
docstring there justifies it) and every result must be finite. In scalar code a failed
test clears ``lu_ok`` (a zero pivot gives a NaN reciprocal, never ZeroDivisionError); in
array code one call (``_rt.lu_checked``) tests the whole batch. Where the test fails, that
point or batch element is solved again by a pivoting solve of the same A, built from its
nonzeros (``_rt.pattern_solve``: LAPACK, or SuperLU for large k), which alone decides
that A is singular and raises SingularJacobianError with the batch index.

``runtime``: the factors would exceed the code bounds, so the entries go to
``_rt.pattern_solve`` (SuperLU on the pattern) directly.

slogdet: det A = parity of the row permutation x the product of the pivots (the
symmetric permutation's signs cancel), taken by ``_rt.lu_slogdet`` with the same test.
"""

from __future__ import annotations

import re

from .. import _astlib as A
from ..analysis.lumps import Lump
from ..analysis.pattern import UNROLL_MAX_K, Structure, describe
from ..runtime_lu import MULTIPLIER_BOUND
from ..sym import ZERO, Ref, Sym, is_atom, is_num

TERMS_PER_LINE = 6           # terms of one assignment before it continues on the next
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")   # a numeric literal
ITEMS_PER_LINE = 12          # names in one line of a tuple


def handles(em, lump: Lump) -> bool:
    """True when this module writes the lump's solves (method generated or runtime)."""
    return lump.k > UNROLL_MAX_K and em.structure(lump).method in ("generated", "runtime")


def _text(em, e: Sym) -> str:
    """Source of an atom (a name, a number, -name); names are recorded as read."""
    if isinstance(e, Ref):
        em.refs.add(e.name)
        return e.name
    return A.to_source(em.expr(e))


def _tuple(items: list[str], indent: str) -> str:
    """``(a, b, ...)`` wrapped after ITEMS_PER_LINE items, continuation lines at ``indent``."""
    if len(items) == 1:
        return f"({items[0]},)"
    rows = [", ".join(items[i:i + ITEMS_PER_LINE]) for i in range(0, len(items), ITEMS_PER_LINE)]
    return "(" + f",\n{indent}".join(rows) + ")"


def _split_sign(text: str) -> tuple[int, str]:
    return (-1, text[1:]) if text.startswith("-") else (1, text)


class _Block:
    """Emission state of one structured lump: its entries, factor names and pattern."""

    def __init__(self, em, w, lump: Lump, jac):
        self.em, self.w, self.lump, self.jac = em, w, lump, jac
        self.st: Structure = em.structure(lump)
        self.array = em.numpy is not None
        self.made: list[str] = []                      # names assigned here (for del in recompute)
        self.entry: dict[tuple[int, int], str] = {}    # (row i, column j) of A -> atom text

    # -- text helpers -------------------------------------------------------------------
    def line(self, text: str) -> None:
        self.w.line(text)

    def assign(self, name: str, value: str) -> None:
        self.line(f"{name} = {value}")
        if name not in self.made:
            self.made.append(name)

    @staticmethod
    def _parts(terms: list[tuple[str, str]]) -> list[str]:
        """`` - a * b`` for each pair of factor texts; factors 1 and 0 simplify away."""
        parts: list[str] = []
        for pair in terms:
            sign, factors = 1, []
            for f in pair:
                s, f = _split_sign(f)
                sign *= s
                if f not in ("1", "1.0"):
                    factors.append(f)
            if any(f in ("0", "0.0") for f in factors):
                continue
            parts.append((" + " if sign < 0 else " - ") + (" * ".join(factors) or "1.0"))
        return parts

    @staticmethod
    def _joined(head: str | None, parts: list[str]) -> str:
        text = "".join(parts)
        if head is None:                               # fill: the sum alone, sign first
            return ("-" if text.startswith(" - ") else "") + text[3:]
        return head + text

    def combination(self, name: str, first: str | None, terms: list[tuple[str, str]],
                    scale: str | None = None) -> str:
        """Assign ``name = (first - sum a * b) * scale``; return what stands for it.

        ``first`` is an atom or None (0, for fill); terms are pairs of factor texts; a long
        sum continues over several assignments of TERMS_PER_LINE terms. Without terms or
        scale nothing is assigned: ``first`` itself stands for the value.
        """
        parts = self._parts(terms)
        if scale in ("1", "1.0"):
            scale = None
        if not parts:
            if scale is None:
                return first if first is not None else "0.0"
            self.assign(name, f"{first if first is not None else '0.0'} * {scale}")
            return name
        head = first
        chunks = [parts[i:i + TERMS_PER_LINE] for i in range(0, len(parts), TERMS_PER_LINE)]
        for n, chunk in enumerate(chunks):
            text = self._joined(head, chunk)
            if scale is not None and n == len(chunks) - 1:
                text = f"({text}) * {scale}"
            self.assign(name, text)
            head = name
        return name

    def runtime(self, fn: str) -> str:
        return A.to_source(self.em.runtime(fn))         # the module's name for the runtime

    def np(self, fn: str) -> str:
        self.em.imports[self.em.numpy] = "numpy"
        return f"{self.em.numpy}.{fn}"

    def site(self) -> list[str]:
        return [A.to_source(x) for x in self.em.site(self.lump)]

    # -- the pattern, the comment and the entries ------------------------------------------
    def pattern(self) -> str:
        """The module-level name of the lump's Pattern (written once per module)."""
        em, lump, st = self.em, self.lump, self.st
        key = ("pattern", lump.start, lump.stop)
        if key not in em.structured_names:
            name = em.derived(f"_{em.program.name}_A", lump.new[0].name)
            em.structured_names[key] = name
            starts, total = [0], 0
            for row in st.a_rows:
                total += len(row)
                starts.append(total)
            columns = [str(j) for row in st.a_rows for j in row]
            lines = [f"# The nonzeros of block A of {em.program.name}'s lump at {_span(lump.lines)} "
                     f"(k = {st.k}), row by row: rows are its new values, columns the values it overwrites",
                     f"{name} = {self.runtime('Pattern')}(",
                     f"    {st.k},",
                     f"    {_tuple([str(s) for s in starts], '     ')},",
                     f"    {_tuple(columns, '     ')}"]
            if st.band is not None:
                b = st.band
                lines[-1] += ","
                lines += [f"    # the pivoting solve: LAPACK's banded LU, {b.name} order, bandwidths "
                          f"{b.kl} below and {b.ku} above the diagonal",
                          f"    band=({b.kl}, {b.ku}, "
                          + ("None" if b.order is None else _tuple([str(j) for j in b.order], '     ')) + ")"]
            elif st.order is not None:
                lines[-1] += ","
                lines += [f"    # the {st.ordering} order: position -> column (killed value), row (new value)",
                          f"    {_tuple([str(j) for j in st.order], '     ')},",
                          f"    {_tuple([str(i) for i in st.row_of], '     ')}"]
            lines[-1] += ")"
            em.lines_after.append(lines)
        return em.structured_names[key]

    def comment(self) -> None:
        for line in describe(self.st):
            self.w.comment(line)

    def bind_entries(self) -> list[str]:
        """The atoms of A's nonzeros, row by row; expressions bound once to ``dv_du``."""
        em, lump, jac = self.em, self.lump, self.jac
        out = []
        for i, row in enumerate(self.st.a_rows):
            v = lump.new[i]
            for j in row:
                u = lump.killed[j]
                e = jac[v].get(u, ZERO)
                if not is_atom(e):
                    e = em.bind(self.w, em.partial_name(v, u), e)
                self.entry[(i, j)] = _text(em, e)
                out.append(self.entry[(i, j)])
        return out

    # -- the static LU ----------------------------------------------------------------------
    def factor(self, check: bool, pivots: bool = False) -> None:
        """Emit L and U of M' = P A Q: with ``check``, scalar pivot tests into ``lu_ok``;
        without ``pivots`` a short pivot is computed inside its reciprocal (only the
        reciprocal is used), with them each pivot is named (slogdet needs them)."""
        em, lump = self.em, self.lump
        sym = self.st.symbolic
        new, killed = lump.new, lump.killed
        self.L: dict[tuple[int, int], str] = {}
        self.U: dict[tuple[int, int], str] = {}
        self.inv: list[str] = []
        self.pivots: list[str] = []
        self.multipliers: list[str] = []
        pending: list[str] = []
        if check:
            self.ok = em.derived("lu", "ok")
            self.assign(self.ok, "True")
        for t in range(self.st.k):
            i = sym.row_of[t]
            row = sym.terms[t]
            a = {c: self.entry.get((i, sym.order[c])) for c in row}
            for c in sym.lower[t]:
                name = em.derived(f"L_{new[i].name}", killed[sym.order[c]].name)
                terms = [(self.L[(t, s)], self.U[(s, c)]) for s in row[c]]
                self.L[(t, c)] = self.combination(name, a[c], terms, self.inv[c])
                self.multipliers.append(self.L[(t, c)])
                pending.append(self.L[(t, c)])
            if check and len(pending) >= 4:
                self.test(pending)
            inv_name = em.derived(f"U_{new[i].name}", f"{killed[sym.order[t]].name}_inv")
            parts = self._parts([(self.L[(t, s)], self.U[(s, t)]) for s in row[t]])
            if parts and not pivots and len(parts) <= TERMS_PER_LINE:
                self.inv.append(self.reciprocal(self._joined(a[t], parts), inv_name, compound=True))
            else:
                name = em.derived(f"U_{new[i].name}", killed[sym.order[t]].name)
                self.U[(t, t)] = self.combination(name, a[t], [(self.L[(t, s)], self.U[(s, t)]) for s in row[t]])
                self.pivots.append(self.U[(t, t)])
                self.inv.append(self.reciprocal(self.U[(t, t)], inv_name))
            for c in sym.upper[t]:
                name = em.derived(f"U_{new[i].name}", killed[sym.order[c]].name)
                terms = [(self.L[(t, s)], self.U[(s, c)]) for s in row[c]]
                self.U[(t, c)] = self.combination(name, a[c], terms)
        if check and pending:
            self.test(pending)

    def test(self, pending: list[str]) -> None:
        """``if not (-10.0 <= L <= 10.0 and ...): lu_ok = False`` for the multipliers in
        ``pending`` (emptied), up to four (and about 120 characters) to a test; NaN fails it."""
        tests = [f"-{MULTIPLIER_BOUND} <= {x} <= {MULTIPLIER_BOUND}" for x in pending]
        pending.clear()
        while tests:
            n = 1
            while n < min(4, len(tests)) and len(" and ".join(tests[:n + 1])) <= 120:
                n += 1
            self.line(f"if not ({' and '.join(tests[:n])}):")
            self.line(f"    {self.ok} = False")
            del tests[:n]

    def reciprocal(self, pivot: str, name: str, compound: bool = False) -> str:
        """``name = 1 / pivot`` (a constant pivot folds); a zero pivot gives NaN or inf,
        never ZeroDivisionError. ``compound``: ``pivot`` is an expression, not a name."""
        if _NUMBER.fullmatch(pivot):                   # a constant pivot: fold
            value = float(pivot)
            return repr(1.0 / value) if value != 0 else self.runtime("NAN")
        if self.array:
            self.assign(name, f"{self.np('divide')}(1.0, {pivot})")
        else:
            self.assign(name, f"1.0 / ({f'({pivot})' if compound else pivot} or {self.runtime('NAN')})")
        return name

    def substitute(self, rhs: list[str], unknowns: list[str], transposed: bool) -> list[str]:
        """The triangular solves; returns the unknowns' names (all assigned)."""
        em, lump, sym = self.em, self.lump, self.st.symbolic
        k = self.st.k
        x = [""] * k
        if not transposed:                             # L y = P b, then U (Q^T x) = y
            y = []
            for t in range(k):
                name = em.derived("y", lump.new[sym.row_of[t]].name)
                y.append(self.combination(name, rhs[sym.row_of[t]],
                                          [(self.L[(t, s)], y[s]) for s in sym.lower[t]]))
            for t in range(k - 1, -1, -1):
                name = unknowns[sym.order[t]]
                terms = [(self.U[(t, c)], x[c]) for c in sym.upper[t]]
                x[t] = self.combination(name, y[t], terms, self.inv[t])
                if x[t] != name:
                    self.assign(name, x[t])
                    x[t] = name
            return unknowns
        ucols: list[list[int]] = [[] for _ in range(k)]
        lcols: list[list[int]] = [[] for _ in range(k)]
        for t in range(k):
            for c in sym.upper[t]:
                ucols[c].append(t)
            for c in sym.lower[t]:
                lcols[c].append(t)
        y = []                                         # U^T y = Q^T s, then L^T (P z) = y
        for t in range(k):
            name = em.derived("y", lump.killed[sym.order[t]].name)
            y.append(self.combination(name, rhs[sym.order[t]],
                                      [(self.U[(s, t)], y[s]) for s in ucols[t]], self.inv[t]))
        for t in range(k - 1, -1, -1):
            name = unknowns[sym.row_of[t]]
            x[t] = self.combination(name, y[t], [(self.L[(c, t)], x[c]) for c in lcols[t]])
            if x[t] != name:
                self.assign(name, x[t])
                x[t] = name
        return unknowns

    def finish(self, results: list[str]) -> None:
        """Hand the temporaries assigned here (not ``results``) to the recompute sweep, which
        deletes them after the lump."""
        keep = set(results) | set(self.em.bound)
        self.em.bound.extend(n for n in self.made if n not in keep)


def _span(lines: list[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"


def _emit_call(block: _Block, targets: list[str], fn: str, args: list[str]) -> None:
    """``targets = _rt.fn(args)``, wrapped."""
    w = block.w
    pad = "    " * w.level
    lhs = _tuple(targets, pad + " ") if len(targets) > 1 else targets[0]
    w.lines.append(pad + f"{lhs} = {block.runtime(fn)}(\n{pad}    " + f",\n{pad}    ".join(args) + ")")
    for t in targets:
        if t not in block.made:
            block.made.append(t)


def _rhs_names(em, w, rhs: list[Sym], unknowns: list[str]) -> list[str]:
    return [_text(em, em.bind(w, em.namer.fresh(f"{u}_rhs"), e)) for u, e in zip(unknowns, rhs)]


def _ignoring_errors(block, w, body) -> None:
    """What ``body`` writes, inside ``with np.errstate(all='ignore'):`` (no block at all when
    it writes nothing: a factorisation of constant pivots, e.g. A = I)."""
    w.line(f"with {block.np('errstate')}(all='ignore'):    # a failed pivot gives inf or nan here")
    start = len(w.lines)
    w.level += 1
    body()
    w.level -= 1
    if len(w.lines) == start:
        w.lines.pop()


def _solve(em, w, lump: Lump, jac, rhs: list[Sym], unknowns: list[str], transposed: bool) -> None:
    block = _Block(em, w, lump, jac)
    block.comment()
    entries = block.bind_entries()
    rhs = _rhs_names(em, w, rhs, unknowns)
    pattern = block.pattern()

    def solve_args(level: int) -> list[str]:        # for a call at indentation ``level``
        pad = "    " * (level + 1) + " "
        return ([pattern, _tuple(entries, pad), _tuple(rhs, pad)] + block.site()
                + (["True"] if transposed else []))
    if block.st.method == "runtime":
        _emit_call(block, unknowns, "pattern_solve", solve_args(w.level))
        block.finish(unknowns)
        return
    w.comment(f"static pivots: a multiplier |L| > {MULTIPLIER_BOUND:g} or a non-finite result "
              "means a pivoting solve of A instead")
    if block.array:
        _ignoring_errors(block, w, lambda: (block.factor(check=False), block.substitute(rhs, unknowns, transposed)))
        pad = "    " * (w.level + 1) + " "
        args = solve_args(w.level)
        _emit_call(block, unknowns, "lu_checked",
                   args[:1] + [_tuple(block.multipliers, pad) if block.multipliers else "()",
                               _tuple(unknowns, pad)] + args[1:])
    else:
        block.factor(check=True)
        block.substitute(rhs, unknowns, transposed)
        total = em.derived("lu", "sum")
        for g in range(0, len(unknowns), ITEMS_PER_LINE):
            block.assign(total, " + ".join(([total] if g else []) + unknowns[g:g + ITEMS_PER_LINE]))
        w.line(f"if not ({block.ok} and {block.runtime('isfinite')}({total})):")
        w.level += 1
        _emit_call(block, unknowns, "pattern_solve", solve_args(w.level))
        w.level -= 1
    block.finish(unknowns)


def _chunked_sum(terms: list[Sym]) -> list[Sym]:
    """Sums of at most TERMS_PER_LINE terms each (a long sum nests too deep to compile)."""
    out = []
    for g in range(0, len(terms), TERMS_PER_LINE):
        total = ZERO
        for term in terms[g:g + TERMS_PER_LINE]:
            total = total + term
        out.append(total)
    return out


def ijvp_lump(em, w, lump: Lump, jac) -> None:
    """W_dot = solve(A, new_dot - B R_dot)."""
    rhs = []
    for v in lump.new:
        e: Sym = Ref(em.dot(v))
        for part in _chunked_sum([jac[v][r] * Ref(em.dot(r)) for r in lump.read if r in jac[v]]):
            e = e - part
        rhs.append(e)
    _solve(em, w, lump, jac, rhs, [em.dot(u) for u in lump.killed], transposed=False)


def ivjp_lump(em, w, lump: Lump, jac) -> None:
    """new_bar = solve(A^T, W_bar); R_bar -= B^T new_bar."""
    _solve(em, w, lump, jac, [Ref(em.bar(u)) for u in lump.killed], [em.bar(v) for v in lump.new],
           transposed=True)
    for r in lump.read:
        terms = [jac[v][r] * Ref(em.bar(v)) for v in lump.new if r in jac[v] and not is_num(jac[v][r], 0)]
        for part in _chunked_sum(terms):
            em.accumulate(w, em.bar(r), "sub", part)


def slogdet_lump(em, w, lump: Lump, jac) -> tuple[str, str]:
    """Emit (sign, log|det A|) of the lump; return the two names."""
    block = _Block(em, w, lump, jac)
    block.comment()
    entries = block.bind_entries()
    pattern = block.pattern()
    sign, logdet = em.namer.fresh("lump_sign"), em.namer.fresh("lump_logabsdet")
    pad = "    " * (w.level + 1) + " "
    if block.st.method == "runtime":
        _emit_call(block, [sign, logdet], "pattern_slogdet", [pattern, _tuple(entries, pad + " ")] + block.site())
        block.finish([sign, logdet])
        return sign, logdet
    if block.array:
        _ignoring_errors(block, w, lambda: block.factor(check=False, pivots=True))
    else:
        block.factor(check=False, pivots=True)
    _emit_call(block, [sign, logdet], "lu_slogdet",
               [pattern, _tuple(block.pivots, pad + " "),
                _tuple(block.multipliers, pad + " ") if block.multipliers else "()",
                repr(float(block.st.parity)), _tuple(entries, pad + " ")] + block.site())
    block.finish([sign, logdet])
    return sign, logdet
