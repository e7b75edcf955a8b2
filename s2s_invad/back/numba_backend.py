"""Back end, optional: the numba section of a generated module (``backend="numba"``).

One pass, :func:`numba_section`, from the text of a generated module (what
:func:`s2s_invad.pipeline.generate` returns: one function per mode, plus its sweep for
vjp and ivjp) to a section appended to it, which compiles the same functions with numba in
nopython mode. The emitters know nothing about it; this module reads their output with the
standard ``ast`` module, rewrites what numba cannot take, and refuses (keeps as Python,
saying why) what it does not know: a default-deny list of node types and calls.

**Error paths.** Compiled code cannot call the error helpers of :mod:`s2s_invad.runtime`,
which build messages from source lines and batch indices. So the compiled variant of a
function raises ``_nbrt.Fallback`` wherever the Python one calls a helper (a pivot or
determinant test, the results check, a static-pivot LU that failed its test), and its entry
point (:class:`s2s_invad.runtime_numba.Entry`) then runs the Python function on the same
arguments: that returns the same numbers or raises the named error citing the source line
and the batch index. What CPython raises but machine code does not (``1.0 / 0.0``,
``math.exp(1000)``, ``math.log(-1.0)``: a ZeroDivisionError, OverflowError or ValueError
there, inf or NaN here) is caught by the floating-point exception flags: the compiled
function clears them first and raises Fallback if one is set before it returns (numba runs
with NumPy's error model, so nothing raises on the way). A non-finite input also means
Fallback. So the compiled code returns what the Python code would, or the Python code runs;
it never returns inf or NaN where the Python code raises.

**Rewrites.** ``try``/``except`` of the guard and ``with np.errstate(...)`` are removed (their
bodies kept); ``_rt.vector``, ``_rt.finite``, ``_rt.solve``, ``_rt.slogdet``,
``_rt.lu_slogdet``, ``np.zeros_like``, ``np.ones_like``, ``abs`` become the overloads of
:mod:`s2s_invad.runtime_numba` (points and batches alike); ``_rt.lu_checked`` becomes its
test; a pivoting solve (``_rt.pattern_solve``) in the failure branch of a static-pivot LU
becomes Fallback. A rolled loop's tape ``[None] * count``, filled as ``tape[k] = (...)``,
becomes a typed list filled by ``append`` (the forward loop runs k = 0, 1, ...). A vjp or
ivjp returns ``partial(sweep, tape)``: its compiled variant returns the tape (a tuple of
floats packed into one array) and the entry point builds the partial around the sweep's
entry point, whose Python fallback gets the tape back as floats.

**What stays Python**, with the reason in the section's comments and in
``si.explain(f, backend="numba")``: a function over the size bound (statements after these
rewrites, a rolled loop's body counted once; :data:`ENV`, default :data:`DEFAULT_MAX`:
numba compiles about 80 statements a second here, and the time grows faster than the size);
a function with a construct outside the list below (memory="recompute" sweeps, which keep
values in dicts; lumps solved by SuperLU at run time); and a vjp or ivjp whose sweep stays
Python, or the other way round (the tape must be the same kind on both sides).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .. import _astlib as A
from ..errors import BackendError
from ..primitives import HELPERS, PRIMITIVES
from .backend_text import (Choice, ModuleInfo, Refused, compiled_checks, count_statements, env_bound,
                           count_names, is_tape_allocation as _is_tape_allocation, pair_sweeps, seconds_text,
                           sweeps_of)

ENV = "S2S_INVAD_NUMBA_MAX_STATEMENTS"
DEFAULT_MAX = 1500
SECONDS_PER_STATEMENT = 0.012      # numba's compile time per statement near the bound, measured here

ERROR_HELPERS = {"zero_pivot", "singular_lump", "singular_block", "log_pivot", "not_finite", "failed"}
PIVOTING_SOLVES = {"pattern_solve", "pattern_slogdet"}
REPLACED = {"vector": "vector", "finite": "finite", "isfinite": "isfinite", "solve": "solve",
            "slogdet": "slogdet"}

_MATH = ({p.math for p in PRIMITIVES.values() if p.math} | {h["math"] for h in HELPERS.values() if "math" in h}
         | {"copysign", "isfinite"})
_NUMPY = ({p.numpy for p in PRIMITIVES.values() if p.numpy} | {h["numpy"] for h in HELPERS.values()
                                                               if "numpy" in h}
          | {"isfinite", "all", "any", "divide", "copysign"})
_CONSTANTS = {"inf", "nan", "pi", "e", "tau"}
_NUMPY_REPLACED = {"zeros_like": "zeros_like", "ones_like": "ones_like", "heaviside": "heaviside"}
_MATH_REPLACED = {"cbrt": "cbrt"}          # math functions numba does not know: runtime_numba's
_EXPRESSIONS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Constant, ast.Name,
                ast.Tuple, ast.Attribute, ast.Call, ast.Subscript, ast.Load, ast.Store, ast.operator,
                ast.unaryop, ast.cmpop, ast.boolop)
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
              ast.BitAnd)


def require() -> None:
    """Raise :class:`~s2s_invad.errors.BackendError` unless numba can run compiled code here."""
    global _checked
    if _checked is None:
        try:
            import numba  # noqa: F401
        except ImportError as exc:
            _checked = BackendError(f"backend='numba' needs the numba package ({exc}); install it with "
                                    "pip install \"s2s_invad[numba]\", or use the default backend")
        else:
            try:
                from .. import runtime_numba  # noqa: F401 (reads the floating-point flags)
                _checked = False
            except BackendError as exc:
                _checked = exc
    if _checked:
        raise _checked


_checked: BackendError | bool | None = None


def max_statements() -> int:
    """The size bound: functions with more statements than this stay Python."""
    return env_bound(ENV, DEFAULT_MAX)


@dataclass
class _Function:
    params: list
    body: list


@dataclass
class _Converted:
    name: str
    node: _Function | None
    reason: str
    statements: int
    counts: tuple = ()
    sweep: tuple | None = None           # (position in the result, sweep function name)


class _Converter:
    """The numba form of one generated function."""

    def __init__(self, module: ModuleInfo, nbrt: str):
        self.m = module
        self.nbrt = nbrt
        self.tapes: set[str] = set()
        self.filled: set[str] = set()
        self.appended: list[list[str]] = []     # per loop being converted: the tapes it fills
        self.sweep: tuple | None = None         # (position in the result, sweep name, loop tape positions)

    # helpers -------------------------------------------------------------------------
    def nb(self, attr: str) -> ast.Attribute:
        return A.attribute(self.nbrt, attr)

    def fallback(self) -> ast.Raise:
        return ast.Raise(exc=self.nb("Fallback"), cause=None)

    def _rt_call(self, node) -> str | None:
        return self.m.runtime_call(node)

    # statements ----------------------------------------------------------------------
    def block(self, stmts: list, conditional: bool) -> list:
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt, conditional))
        return out

    def stmt(self, node, conditional: bool) -> list:
        if isinstance(node, ast.Try):
            if self.m.is_guard(node):
                return self.block(node.body, conditional)
            raise Refused("a try statement (memory='recompute' tests its rebuilds that way)")
        if isinstance(node, ast.With):
            if self.m.is_errstate(node):
                return self.block(node.body, conditional)
            raise Refused("a with statement")
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return [node]                                   # the docstring
            helper = self._rt_call(node.value)
            if helper in ERROR_HELPERS:
                return [self.fallback()]
            return [ast.Expr(self.expr(node.value))]
        if isinstance(node, ast.Assign):
            return self.assign(node, conditional)
        if isinstance(node, ast.If):
            return [ast.If(self.expr(node.test), self.block(node.body, True), self.block(node.orelse, True))]
        if isinstance(node, ast.For):
            if node.orelse or not (isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
                                   and node.iter.func.id == "range"):
                raise Refused("a for loop that is not over a range")
            self.appended.append([])
            body = self.block(node.body, conditional)
            rows = [ast.Assign([ast.Name(t, ast.Store())], ast.Call(self.nb("rows"), [ast.Name(t, ast.Load())], []))
                    for t in self.appended.pop()]
            return [ast.For(node.target, self.expr(node.iter), body, [])] + rows
        if isinstance(node, ast.Return):
            check = ast.If(ast.Call(self.nb("fe_raised"), [], []), [self.fallback()], [])
            return [check, ast.Return(self.returned(node.value))]
        if isinstance(node, ast.Pass):
            return [node]
        if isinstance(node, ast.Delete) and all(isinstance(t, ast.Name) for t in node.targets):
            return []                     # numba frees values at their last use by itself
        raise Refused(f"a {type(node).__name__} statement")

    def assign(self, node: ast.Assign, conditional: bool) -> list:
        value = node.value
        helper = self._rt_call(value)
        if helper == "lu_checked":                 # (pattern, multipliers, results, entries, rhs, site...)
            test = ast.Call(self.nb("lu_ok"), [self.expr(value.args[1]), self.expr(value.args[2])], [])
            return [ast.If(ast.UnaryOp(ast.Not(), test), [self.fallback()], [])]
        if helper in PIVOTING_SOLVES:
            if not conditional:
                raise Refused("a lump solved by SuperLU at run time (no generated LU)")
            return [self.fallback()]
        if helper == "lu_slogdet":                 # (pattern, pivots, multipliers, parity, entries, site...)
            args = [self.expr(a) for a in value.args[1:4]]
            return [ast.Assign(node.targets, ast.Call(self.nb("lu_slogdet"), args, []))]
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and _is_tape_allocation(value):
            self.tapes.add(node.targets[0].id)
            return [ast.Assign(node.targets, ast.Call(self.nb("List"), [], []))]
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                and target.value.id in self.tapes:
            self.filled.add(target.value.id)
            if self.appended:
                self.appended[-1].append(target.value.id)
            append = ast.Attribute(ast.Name(target.value.id, ast.Load()), "append", ast.Load())
            return [ast.Expr(ast.Call(append, [self.expr(value)], []))]
        for t in node.targets:
            self.check_target(t)
        return [ast.Assign(node.targets, self.expr(value))]

    def check_target(self, node) -> None:
        if isinstance(node, ast.Name):
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.check_target(elt)
            return
        raise Refused(f"an assignment to {type(node).__name__.lower()}")

    def returned(self, value):
        """The result, with ``partial(sweep, tape)`` replaced by the (packed) tape."""
        if isinstance(value, ast.Tuple):
            elts = []
            for i, elt in enumerate(value.elts):
                if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name) and elt.func.id == self.m.partial:
                    if len(elt.args) != 2 or not isinstance(elt.args[0], ast.Name) or self.sweep is not None:
                        raise Refused("a result built with partial that is not (sweep, tape)")
                    tape = elt.args[1]
                    loops = tuple(j for j, e in enumerate(tape.elts) if isinstance(e, ast.Name) and e.id in self.tapes) \
                        if isinstance(tape, ast.Tuple) else ()
                    self.sweep = (i, elt.args[0].id, loops)
                    elts.append(ast.Call(self.nb("tape"), [self.expr(elt.args[1])], []))
                else:
                    elts.append(self.expr(elt))
            return ast.Tuple(elts, ast.Load())
        return self.expr(value)

    # expressions ---------------------------------------------------------------------
    def expr(self, node):
        return self._expr(node)

    def _expr(self, node):
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if base == self.m.runtime and node.attr == "NAN":
                return self.nb("NAN")
            if base in self.m.math | self.m.numpy and node.attr in _CONSTANTS:
                return node
            raise Refused(f"the attribute {ast.unparse(node)}")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float)) or node.value is None:
                return node
            raise Refused(f"a {type(node.value).__name__} constant outside an error message")
        if isinstance(node, ast.Name):
            if node.id == self.m.partial:
                raise Refused("functools.partial outside the result")
            return node
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare)):
            ops = [node.op] if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp)) else node.ops
            for op in ops:
                if not isinstance(op, _OPERATORS + (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)):
                    raise Refused(f"the operator {type(op).__name__}")
            for name, child in ast.iter_fields(node):
                if isinstance(child, ast.AST) and isinstance(child, ast.expr):
                    setattr(node, name, self._expr(child))
                elif isinstance(child, list) and child and isinstance(child[0], ast.expr):
                    setattr(node, name, [self._expr(c) for c in child])
            return node
        if isinstance(node, ast.IfExp):
            return ast.IfExp(self._expr(node.test), self._expr(node.body), self._expr(node.orelse))
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self._expr(e) for e in node.elts], node.ctx)
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name) and isinstance(node.slice, (ast.Name, ast.Constant)):
                return node
            raise Refused("a subscript other than name[index]")
        if isinstance(node, ast.Dict):
            raise Refused("a dict (memory='recompute' keeps the values it cannot rebuild exactly in dicts)")
        raise Refused(f"the expression {type(node).__name__}")

    def call(self, node: ast.Call):
        if node.keywords:
            raise Refused("a call with keyword arguments")
        func = node.func
        args = [self._expr(a) for a in node.args]
        helper = self._rt_call(node)
        if helper is not None:
            if helper in ("vector", "finite"):
                return ast.Call(self.nb(helper), [ast.Tuple(args, ast.Load())], [])
            if helper in ("isfinite",):
                return ast.Call(self.nb(helper), args, [])
            if helper in ("solve", "slogdet"):
                keep = 2 if helper == "solve" else 1
                return ast.Call(self.nb(helper), args[:keep], [])
            raise Refused(f"the runtime helper {helper}")
        if isinstance(func, ast.Name):
            if func.id == self.m.abs:
                return ast.Call(self.nb("absolute"), args, [])
            if func.id == "range":
                return ast.Call(func, args, [])
            raise Refused(f"a call of {func.id}")
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            base, attr = func.value.id, func.attr
            if base in self.m.numpy and attr in _NUMPY_REPLACED:
                return ast.Call(self.nb(_NUMPY_REPLACED[attr]), args, [])
            if base in self.m.math and attr in _MATH_REPLACED:
                return ast.Call(self.nb(_MATH_REPLACED[attr]), args, [])
            if (base in self.m.numpy and attr in _NUMPY) or (base in self.m.math and attr in _MATH):
                return ast.Call(func, args, [])
            raise Refused(f"a call of {base}.{attr}")
        raise Refused("a call of a computed function")


def _counts(fn: ast.FunctionDef) -> tuple[int, ...]:
    """Positions of the parameters that are trip counts (they must stay ints)."""
    ints = count_names(fn)
    return tuple(i for i, a in enumerate(fn.args.args) if a.arg in ints)


def _convert(fn: ast.FunctionDef, module: ModuleInfo, nbrt: str, is_sweep: bool) -> _Converted:
    converter = _Converter(module, nbrt)
    params = [a.arg for a in fn.args.args]
    try:
        if fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.args.defaults or fn.decorator_list:
            raise Refused("a signature with defaults, *args or decorators")
        body = converter.block(fn.body, False)
        unfilled = converter.tapes - converter.filled
        if unfilled:
            raise Refused(f"a loop tape that is never filled ({', '.join(sorted(unfilled))})")
    except Refused as why:
        return _Converted(fn.name, None, str(why), count_statements(fn.body))
    doc = body[:1] if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else []
    checked = params[1:] if is_sweep else params
    prologue = [ast.Expr(ast.Call(converter.nb("fe_clear"), [], []))]
    if checked:
        test = ast.Call(converter.nb("finite"), [ast.Tuple([ast.Name(p, ast.Load()) for p in checked], ast.Load())], [])
        prologue.append(ast.If(ast.UnaryOp(ast.Not(), test), [converter.fallback()], []))
    body = doc + prologue + body[len(doc):]
    node = _Function(params, body)
    return _Converted(fn.name, node, "", count_statements(body), _counts(fn), converter.sweep)


# -- printing ------------------------------------------------------------------------------------

def _print(node, indent: str) -> list[str]:
    if isinstance(node, ast.If):
        lines = [f"{indent}if {A.to_source(node.test)}:"]
        for child in node.body:
            lines += _print(child, indent + "    ")
        if node.orelse:
            lines.append(f"{indent}else:")
            for child in node.orelse:
                lines += _print(child, indent + "    ")
        return lines
    if isinstance(node, ast.For):
        lines = [f"{indent}for {A.to_source(node.target)} in {A.to_source(node.iter)}:"]
        for child in node.body:
            lines += _print(child, indent + "    ")
        return lines
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        text = f"{_target(node.targets[0])} = {_value(node.value)}"
    elif isinstance(node, ast.Expr):
        text = _value(node.value)
    elif isinstance(node, ast.Return):
        text = f"return {_value(node.value)}"
    else:
        text = A.to_source(node)
    return [indent + line for line in text.split("\n")]


def _target(node) -> str:
    if isinstance(node, ast.Tuple):
        return ", ".join(_target(e) for e in node.elts) + ("," if len(node.elts) == 1 else "")
    return _value(node)


def _value(node) -> str:
    """An expression's text; subscripts and attribute calls on subscripts printed here
    (the fast printer of _astlib takes only constant subscripts)."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return f"{node.value.id}[{_value(node.slice)}]"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not isinstance(node.func.value, ast.Name):
        return A.to_source(node)
    if isinstance(node, ast.Tuple):
        return ", ".join(_paren(e) for e in node.elts) + ("," if len(node.elts) == 1 else "")
    if isinstance(node, ast.Call) and any(isinstance(a, ast.Tuple) for a in node.args):
        return f"{A.to_source(node.func)}({', '.join(_paren(a) for a in node.args)})"
    return A.to_source(node)


def _paren(node) -> str:
    if isinstance(node, ast.Tuple):
        return f"({_value(node)})"
    return _value(node)


def _function_text(node: _Function, name: str) -> str:
    params = ", ".join(node.params)
    lines = [f"@{_NBRT_PLACEHOLDER}.jit", f"def {name}({params}):"]
    for child in node.body:
        lines += _print(child, "    ")
    return "\n".join(lines)


_NBRT_PLACEHOLDER = "\0nbrt\0"


# -- the section -----------------------------------------------------------------------------------

HEADER = """\
# -- backend numba ------------------------------------------------------------------------------
# The functions above, compiled by numba in nopython mode (s2s_invad.runtime_numba). A compiled
# function raises Fallback where the Python one would call an error helper (a pivot or results
# check), when an input is not finite, and when it set a floating-point exception flag (invalid,
# division by zero, overflow); its entry point then runs the Python function above on the same
# arguments, which returns its numbers or raises the named error citing the source line."""


def numba_section(text: str, bound: int | None = None) -> tuple[str, list[Choice]]:
    """The numba section for the generated module ``text`` (to append to it) and what it
    does with each function. ``bound`` (default :func:`max_statements`) is the size above
    which a function stays Python."""
    bound = max_statements() if bound is None else bound
    tree = compiled_checks(ast.parse(text))
    module = ModuleInfo.of(tree)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    nbrt = module.fresh("_nbrt")
    sweeps = sweeps_of(functions, module.partial)
    converted = {fn.name: _convert(fn, module, nbrt, fn.name in sweeps) for fn in functions}
    for c in converted.values():
        if c.node is not None and c.statements > bound:
            c.node, c.reason = None, (f"{c.statements:,} statements > {bound:,} ({ENV}); numba would take "
                                      f"about {seconds_text(c.statements * SECONDS_PER_STATEMENT)} to compile it")
    pair_sweeps(converted, {c.name: c.sweep[1] for c in converted.values() if c.sweep})
    choices = [Choice(c.name, c.node is not None, c.statements, c.reason, "numba", c.statements * SECONDS_PER_STATEMENT)
               for c in converted.values()]
    out = [HEADER]
    out += [f"# {choice.describe()}" for choice in choices]
    if not any(choice.compiled for choice in choices):
        return "\n".join(out) + "\n", choices
    out += ["", f"from s2s_invad import runtime_numba as {nbrt}", "", f"{nbrt}.importable(globals())"]
    compiled_name = {c.name: module.fresh(f"_nb_{c.name}") for c in converted.values() if c.node is not None}
    for c in converted.values():
        if c.node is not None:
            out += ["", "", _function_text(c.node, compiled_name[c.name]).replace(_NBRT_PLACEHOLDER, nbrt)]
    out.append("")
    sweep_entry = {}
    for c in converted.values():
        if c.node is not None and c.name in sweeps:
            sweep_entry[c.name] = module.fresh(f"_nbs_{c.name}")
            loops = next((o.sweep[2] for o in converted.values() if o.sweep and o.sweep[1] == c.name), ())
            out.append(f"{sweep_entry[c.name]} = {nbrt}.sweep({compiled_name[c.name]}, {c.name}, "
                       f"counts={_tuple_text(tuple(i - 1 for i in c.counts))}, tapes={_tuple_text(loops)}, "
                       f"statements={c.statements})")
    for c in converted.values():
        if c.node is not None and c.name not in sweeps:
            sweep = f", sweep=({c.sweep[0]}, {sweep_entry[c.sweep[1]]})" if c.sweep else ""
            out.append(f"{c.name} = {nbrt}.entry({compiled_name[c.name]}, {c.name}, "
                       f"counts={_tuple_text(c.counts)}{sweep}, statements={c.statements})")
    return "\n".join(out) + "\n", choices


def _tuple_text(values: tuple) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def with_numba(text: str, bound: int | None = None) -> str:
    """The generated module ``text`` with its numba section appended."""
    section, _ = numba_section(text, bound)
    return text + "\n\n" + section


def explain_choices(text: str, bound: int | None = None) -> list[str]:
    """One line per function of the module ``text``: compiled or Python, and why."""
    return [choice.describe() for choice in numba_section(text, bound)[1]]
