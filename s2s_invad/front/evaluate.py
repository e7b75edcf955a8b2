"""Front end, step 2: transform-time evaluation down to the SSA IR (SPEC section 7).

The function is *run* at transform time by an interpreter over its syntax tree. Every
value that depends only on literals, module constants, loop indices and the lengths of
vector arguments is computed now, exactly as Python computes it; every other value is a
runtime :class:`~s2s_invad.front.values.Scalar`, and arithmetic on it appends one
statement to the program instead of computing. So:

* ``for i in range(n)`` runs its body n times (the loop is unrolled), ``while`` and
  ``if``/``elif``/``else`` and conditional expressions pick their branch now, and ``break``,
  ``continue`` and ``return`` act now; a condition on a runtime value is refused, naming
  the line (the data flow would change with the input);
* a vector parameter of length n is n scalars ``u_0 .. u_{n-1}`` in a NumPy object array,
  so ``u[i - 1]``, slices, ``len(u)``, iteration, unpacking, elementwise NumPy arithmetic,
  ``np.sum``, ``W @ u`` all resolve now; an index that depends on a runtime value, or one
  out of range, is refused naming the line and the index;
* calls of module-level functions of the same file (helpers) are inlined; their
  statements keep their own line numbers; recursion is refused;
* values get names from the source: the first binding of ``x`` is ``x``, later ones
  ``x_1``, ``x_2``; ``F[3] = ...`` binds ``F_3``; the results of a helper are named after the
  caller's variables; every other intermediate value is a temporary ``t<line>_<k>``.

What reaches the IR (:mod:`s2s_invad.ir`) is a flat program of scalar statements, each
with its source line and the loop indices and helper calls it was evaluated under.
The functions the language knows (builtins, math, numpy, list and array methods) are in
:mod:`s2s_invad.front.library`.
"""

from __future__ import annotations

import dataclasses
import operator

import numpy as np

from .. import _astlib as A
from ..errors import EvaluationError, ShapeError, UnsupportedSyntaxError
from ..ir import Const, Param, Program, Stmt, Value, iter_operands
from ..naming import Namer
from ..primitives import BOOLEAN
from ..sym import Attr, Ref
from . import library, loops, objects
from .fence import fence, refuse
from .loader import Scope, SourceFunction, classify, copy_value, from_function, source_digest
from .objects import ParamObject, Unreadable
from .values import ConstDict, NamedFloat, NamedInt, Scalar, _running, constant_dict, is_number

gast = A.gast

MAX_STATEMENTS = 5_000_000    # statements an unrolled program may have
MAX_WHILE = 1_000_000         # iterations of one transform-time while loop
MAX_LENGTH = MAX_STATEMENTS   # elements of one vector parameter (shapes=, --shape)

_BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
           gast.Div: operator.truediv, gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv,
           gast.Mod: operator.mod, gast.MatMult: operator.matmul, gast.LShift: operator.lshift,
           gast.RShift: operator.rshift, gast.BitAnd: operator.and_, gast.BitOr: operator.or_,
           gast.BitXor: operator.xor}
_INPLACE = {gast.Add: operator.iadd, gast.Sub: operator.isub, gast.Mult: operator.imul,
            gast.Div: operator.itruediv, gast.Pow: operator.ipow, gast.FloorDiv: operator.ifloordiv,
            gast.Mod: operator.imod, gast.MatMult: operator.imatmul, gast.LShift: operator.ilshift,
            gast.RShift: operator.irshift, gast.BitAnd: operator.iand, gast.BitOr: operator.ior,
            gast.BitXor: operator.ixor}
_ORDER = (gast.Lt, gast.LtE, gast.Gt, gast.GtE)
_COMPARE = {gast.Eq: operator.eq, gast.NotEq: operator.ne, gast.Lt: operator.lt,
            gast.LtE: operator.le, gast.Gt: operator.gt, gast.GtE: operator.ge,
            gast.Is: operator.is_, gast.IsNot: operator.is_not,
            gast.In: lambda a, b: a in b, gast.NotIn: lambda a, b: a not in b}
_SYMBOL = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
           gast.FloorDiv: "//", gast.Mod: "%", gast.MatMult: "@"}


class ShapeProbe(Exception):
    """Internal: a parameter whose length was not given is used as a vector (indexed,
    iterated, measured with len...). The caller decides: retry with a length, or tell the
    user how to give one (:meth:`Evaluator.shape_error`)."""

    def __init__(self, param: str, filename: str, line: int, text: str, what: str):
        super().__init__(param)
        self.param, self.filename, self.line, self.text, self.what = param, filename, line, text, what

    def error(self, how: str) -> ShapeError:
        return ShapeError(
            f"{self.filename}:{self.line}: parameter '{self.param}' is used as a vector "
            f"({self.what} at `{self.text}`), so its length must be known: {how}",
            self.param, self.line)


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Module:
    """``math`` or ``numpy`` as a value (``alias`` is the name the source used)."""
    alias: str
    kind: str


@dataclasses.dataclass(frozen=True)
class Known:
    """A function of math or numpy (or a builtin), known to :mod:`library`."""
    kind: str                    # "math", "numpy" or "builtins"
    attr: str
    alias: str | None            # the module alias the source used (None for builtins)


@dataclasses.dataclass(eq=False)
class Helper:
    """A module-level function of the source, inlined where it is called (a method of a
    parameter object: ``first`` holds the object, its ``self``)."""
    name: str
    source: object               # a live function (API) or a SourceFunction (CLI)
    first: tuple = ()            # arguments bound before the call's own


@dataclasses.dataclass(frozen=True)
class Bound:
    """A method looked up on a value: ``F.append``."""
    obj: object
    name: str


@dataclasses.dataclass
class _Frame:
    sf: SourceFunction
    env: dict
    name: str
    parent: "_Frame | None" = None     # a nested function's enclosing frame (read when it runs)


@dataclasses.dataclass(eq=False)
class Closure:
    """A def or lambda nested in the function, inlined where it is called, as helpers are.
    Its free names are read from the enclosing frame when it runs (Python's closures: the
    current value, not the value at the def); its default values were evaluated at the def."""
    name: str
    sf: SourceFunction           # the enclosing function's, with this function's node and names
    parent: _Frame
    defaults: dict
    key: object                  # the def or lambda node (recursion is refused by it)


class Evaluator:
    """Runs one function at transform time and builds its SSA program."""

    def __init__(self, sf: SourceFunction, wrt=None, shapes: dict | None = None,
                 probe: frozenset = frozenset(), unroll=None, arrays: frozenset = frozenset(),
                 statics: dict | None = None):
        self.root = sf
        self.statics = dict(statics or {})   # parameter -> the parameter object the call gives it
        self.wrt = wrt
        self.unroll = unroll                # None (by trip count), True, False or {line: bool}
        self.notes: list = []               # loops.LoopNote per source loop met
        self.roll_failures: dict = {}       # id(for statement) -> why its body cannot roll
        self.rolled_indices: dict = {}       # ids of the index Values of loops kept as loops -> count at run time?
        self.count_params: dict[str, str] = {}   # parameter used as a runtime trip count -> file:line of its loop
        self.param_arrays: dict[int, tuple] = {}   # id(the array a vector parameter is bound to) -> (name, array)
        self.products: dict[str, str] = {}       # vector parameter used whole in @ or np.dot -> file:line
        self.rolled_locals: dict[str, int] = {}   # name -> line of the rolled loop that set it
        self.defs: dict[int, Stmt] = {}     # id(Value) -> its statement (for params_of)
        self.count = 0                      # statements emitted, all bodies together
        self.signature: list[Param] = []
        self.shapes = dict(shapes or {})
        self.probe = probe                  # parameters that may turn out to be vectors
        self.arrays = arrays                # those of them the caller gave an array
        self.body: list[Stmt] = []
        self.namer = Namer(set())
        self.versions: set[str] = set()
        self.pending: list[list[Value]] = []
        self.where: tuple = ()
        self.frames: list[_Frame] = []
        self.line = sf.node.lineno if sf.node is not None else 1
        self.node = sf.node
        self.texts: dict[int, str] = {}
        self.lines: dict[int, str] = dict(sf.lines)
        self.helpers: dict[int, SourceFunction] = {}     # id(live fn or sf) -> fenced copy
        self.helper_texts: list[str] = []
        self.scopes: list[Scope] = []
        self.calling: list = []
        self.modules: dict[str, str] = {}
        self.names: set[str] = set()

    # -- errors ------------------------------------------------------------------------
    @property
    def sf(self) -> SourceFunction:
        return self.frames[-1].sf if self.frames else self.root

    def refuse(self, node, message: str, cls=UnsupportedSyntaxError):
        node = node if getattr(node, "lineno", None) else self.node
        return refuse(self.sf, node, message, cls)

    def fail(self, node, message: str):
        """A transform-time evaluation failed (index out of range, division by zero...)."""
        return self.refuse(node, message, EvaluationError)

    HINTS = {
        "a truth test": "conditions may use only constants, loop indices and lengths; write the "
                        "formula without a branch (e.g. with abs or a smooth blend), or branch "
                        "outside the function",
        "a comparison": "comparisons may use only constants, loop indices and lengths; min, max "
                        "and branches on inputs are not differentiable everywhere",
        "an index or count": "indices, loop bounds and counts must be transform-time values: loop "
                             "indices, constants, len(...)",
    }

    def refuse_runtime(self, what: str, scalar: Scalar, subject: str | None = None):
        """Refuse ``what`` (a key of HINTS, or any phrase) on a runtime value."""
        hint = self.HINTS.get(what, "write it with + - * / ** and the supported functions")
        name = scalar.value.name if scalar.value.name else "an input-dependent value"
        subject = subject or f"{what} on a runtime value"
        if id(scalar.value) in self.rolled_indices:       # passive: differentiability is not the point
            subject = subject.replace(" (it is not differentiable)", "")
            if not self.rolled_indices[id(scalar.value)]:   # a loop tried as a loop: it is unrolled instead
                raise self.refuse(self.node, f"{subject} (`{name}`, the loop's index, would be a runtime value "
                                             "in the loop's code)")
            raise self.refuse(self.node, f"{subject} (`{name}` is the index of a loop kept as a loop, "
                                         "known only at run time, because its trip count is a runtime "
                                         "value): write the body with + - * / of the index, or make the "
                                         "trip count a constant so that the loop can be unrolled")
        params = self.params_of(scalar)
        if params and not any(p.differentiated for p in self.signature if p.name in params):
            subject = subject.replace(" (it is not differentiable)", "")
            raise self.refuse(self.node, f"{subject} (`{name}` is computed from {', '.join(sorted(params))}, "
                                         "which is not differentiated but is only known at run time, like a "
                                         "trip count): the generated code computes such values with + - * only; "
                                         "compute this one before the call and pass it as its own argument "
                                         "(f(z, steps // 2) rather than range(steps // 2) inside), or make it "
                                         "a constant")
        raise self.refuse(self.node, f"{subject} (`{name}` depends on the inputs, so the data flow "
                                     f"would change with them): {hint}")

    def product_of(self, *operands) -> None:
        """Note the vector parameters used whole where a 2-D array would not be a batch of
        vectors in NumPy: the left of ``A @ x`` (a matrix there; on the right, ``W @ U`` is
        W times each column, as for a batch), either side of np.inner, np.outer, np.vdot."""
        for a in operands:
            name, array = self.param_arrays.get(id(a), (None, None))
            if array is a:
                self.products.setdefault(name, f"{self.sf.filename}:{getattr(self.node, 'lineno', self.line)}")

    def vector_use(self, value, what: str):
        """``value`` is used as a sequence (``what``: "a for loop over it", "indexing"...):
        ask for its length (a parameter without one), or refuse a scalar."""
        if isinstance(value, Scalar):
            if value.param is not None:
                line = getattr(self.node, "lineno", self.line)
                raise ShapeProbe(value.param, self.sf.filename, line,
                                 self.sf.lines.get(line, "").strip(), what)
            raise self.refuse(self.node, f"{what}: `{value.value.name}` is a scalar (one number), "
                                         "not a vector")
        return value

    def text_of(self, node) -> str | None:
        """The source text of a one-line expression, for messages."""
        line = getattr(node, "lineno", None)
        if line is None or line != getattr(node, "end_lineno", None):
            return None
        raw = self.sf.lines.get(line, "").encode()[node.col_offset:node.end_col_offset]
        return raw.decode(errors="replace") or None

    def check_limit(self):
        if self.count > MAX_STATEMENTS:
            raise self.refuse(self.node, f"the unrolled program has more than {MAX_STATEMENTS:,} "
                              "statements: use fewer loop iterations or a smaller problem size")

    # -- building statements -----------------------------------------------------------
    def operand(self, x):
        if isinstance(x, Scalar):
            return x.value
        if isinstance(x, NamedFloat) or isinstance(x, NamedInt):
            name = x.const_name
            ref = Attr(*name.split(".", 1)) if "." in name else Ref(name)
            return Const(float(x) if isinstance(x, NamedFloat) else int(x), ref)
        if isinstance(x, (bool, np.bool_)):
            return Const(int(x))
        if isinstance(x, (int, np.integer)):
            return Const(int(x))
        if isinstance(x, (float, np.floating)):
            return Const(float(x))
        raise self.fail(self.node, f"cannot use {_kind(x)} as a number here")

    def emit(self, op: str, args: tuple, ns: str | None, param: str | None = None) -> Scalar:
        """Append ``target = op(*args)``; ``param``: the length-less parameter the result
        derives from (a later vector use of it asks for that parameter's length)."""
        target = Value(None, None, self.line)
        self.pending[-1].append(target)
        stmt = Stmt(target, op, args, ns, self.line, self.where)
        self.body.append(stmt)
        self.defs[id(target)] = stmt
        self.count += 1
        if self.count % 65536 == 0:
            self.check_limit()
        return Scalar(target, param)

    def params_of(self, x) -> set[str]:
        """The parameters a runtime value is computed from."""
        if not isinstance(x, Scalar):
            return set()
        out, stack, seen = set(), [x.value], set()
        params = {id(v): p.name for p in self.signature for v in p.values}
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            if id(v) in params:
                out.add(params[id(v)])
            stmt = self.defs.get(id(v))
            if stmt is not None:
                stack.extend(a for a in stmt.args if isinstance(a, Value))
        return out

    def snapshot(self):
        """The naming state, restored when a loop turns out not to roll."""
        return (set(self.namer.used), dict(self.namer.counters), set(self.namer.reserved),
                set(self.versions), self.count)

    def restore(self, state):
        used, counters, reserved, versions, count = state
        self.namer.used, self.namer.counters, self.namer.reserved = used, counters, reserved
        self.versions, self.count = versions, count

    def discard(self, attempt) -> None:
        """Undo a loop body evaluation that was kept for comparison."""
        env = self.frames[-1].env
        env.clear()
        env.update(attempt.env)
        self.restore(attempt.state)

    def lookup_quiet(self, name: str):
        """What ``name`` means here, or None (no error)."""
        frame = self.frames[-1]
        if name in frame.env:
            return frame.env[name]
        outer = frame.parent
        while outer is not None:
            if name in outer.env:
                return outer.env[name]
            outer = outer.parent
        found = frame.sf.scope.lookup(name)
        if found is None:
            return library.builtin(name)
        return None if found[0] != "module" else Module(name, found[1])

    def arith(self, op: str, a, b):
        """``a op b`` where at least one side is a runtime Scalar (the other a number)."""
        a_num, b_num = not isinstance(a, Scalar), not isinstance(b, Scalar)
        if op == "add":
            if b_num and b == 0:
                return a
            if a_num and a == 0:
                return b
        elif op == "sub":
            if b_num and b == 0:
                return a
            if a_num and a == 0:
                return self.negate(b)
        elif op == "mul":
            if (a_num and a == 0) or (b_num and b == 0):
                return 0.0
            if a_num and a == 1:
                return b
            if b_num and b == 1:
                return a
            if a_num and a == -1:
                return self.negate(b)
            if b_num and b == -1:
                return self.negate(a)
        elif op == "div":
            if b_num and b == 0:
                raise self.fail(self.node, "division by the constant 0")
            if b_num and b == 1:
                return a
            if a_num and a == 0:
                return 0.0
        elif op == "pow":
            if b_num and b == 1:
                return a
            if b_num and b == 0:
                return 1.0
            if a_num and a == 1:
                return 1.0
        return self.emit(op, (self.operand(a), self.operand(b)), None, _param(a) or _param(b))

    def compare(self, op: str, a, b):
        """``a op b`` (op "gt", "ge", "lt" or "le") where a side is a runtime Scalar: a
        statement whose value is True or False (a constant of the derivative code)."""
        return self.emit(op, (self.operand(a), self.operand(b)), None, _param(a) or _param(b))

    def logical(self, op: str, *xs):
        """np.logical_and / logical_or / logical_not (``&``, ``|``, ``~``) of comparisons
        (a number operand is True or False now: ``c & True`` is c)."""
        symbol = {"logical_and": "&", "logical_or": "|", "logical_not": "~"}[op]
        for x in xs:
            if isinstance(x, Scalar) and getattr(self.defs.get(id(x.value)), "op", None) not in BOOLEAN:
                raise self.refuse(self.node, f"operator {symbol} of a runtime value that is not a comparison "
                                             f"(NumPy's {symbol} of a float is an error): combine comparisons "
                                             f"((x > 0) {symbol if symbol != '~' else '&'} (y < 1)), or write "
                                             f"np.{op}(...), which reads a number as x != 0")
        return library.logical(self, op, None, *xs)

    def negate(self, a):
        if not isinstance(a, Scalar):
            return -a
        return self.emit("neg", (a.value,), None, a.param)

    def primitive(self, prim: str, alias: str | None, *xs):
        """``prim(*xs)`` where an operand is a runtime scalar (the others numbers), spelled
        in module ``alias`` (None: builtin)."""
        if alias is not None:
            self.modules[alias] = library.module_kind(self, alias)
        param = next((x.param for x in xs if isinstance(x, Scalar) and x.param), None)
        return self.emit(prim, tuple(self.operand(x) for x in xs), alias, param)

    # -- naming --------------------------------------------------------------------------
    def begin(self):
        self.pending.append([])

    def finish(self, bindings=()):
        """Name the values this statement created: bound ones after their targets, the
        rest as temporaries of their line."""
        made = self.pending.pop()
        if not made:
            return
        fresh = {id(v) for v in made}
        for base, is_var, value in bindings:
            for name, v in _leaves(value, base):
                if id(v) in fresh and v.name is None:
                    v.name = self.var_name(name) if (is_var and name == base) else self.derived_name(name)
                    v.var = name
        for v in made:
            if v.name is None:
                v.name = self.namer.temp(v.line)

    def handoff(self):
        """A helper returns: its last statement's values are named by the caller."""
        made = self.pending.pop()
        self.pending[-1].extend(made)

    def var_name(self, var: str) -> str:
        """The next version of the source variable ``var``: ``x``, then ``x_1``, ``x_2``..."""
        if var not in self.versions:
            self.versions.add(var)
            if var in self.namer.reserved:
                self.namer.reserved.discard(var)
                return self.namer.take(var)
            return self.namer.fresh(var)
        return self.namer.fresh(var, first_plain=False)

    def derived_name(self, name: str) -> str:
        if name not in self.versions:
            self.versions.add(name)
            return self.namer.fresh(name)
        return self.namer.fresh(name, first_plain=False)

    # -- the function --------------------------------------------------------------------
    def run(self) -> Program:
        token = _running.set(self)
        try:
            return self._run()
        finally:
            _running.reset(token)

    def _run(self) -> Program:
        sf = fence(self.root)
        self.names |= sf.names
        self.namer.reserved |= sf.names | {sf.node.name}
        self.scopes.append(sf.scope)
        fn = sf.node
        arg_nodes = fn.args.posonlyargs + fn.args.args
        names = [a.id for a in arg_nodes]
        keyword_only = [a.id for a in fn.args.kwonlyargs]
        for name in self.shapes:
            if name in keyword_only:
                raise ShapeError(f"shapes names '{name}', a keyword-only parameter of {fn.name}: it is a "
                                 "constant fixed at its default, whose length is its own", name, fn.lineno)
            if name not in names:
                raise ShapeError(f"shapes names '{name}', which is not a parameter of "
                                 f"{fn.name}({', '.join(names)})", name, fn.lineno)
        wrt = names if self.wrt is None else list(self.wrt)
        constant = [w for w in wrt if w in keyword_only]
        if constant:
            from ..errors import ArgumentError
            raise ArgumentError(f"wrt names {', '.join(map(repr, constant))}, keyword-only in def {fn.name} "
                                f"({sf.filename}:{fn.lineno}): keyword-only parameters are constants fixed at "
                                "their defaults (as in JAX), not differentiated; make it a positional "
                                "parameter to differentiate it")
        unknown = [w for w in wrt if w not in names]
        if unknown:
            from ..errors import ArgumentError
            raise ArgumentError(f"wrt names {unknown} that are not parameters of {fn.name}{tuple(names)}")
        env, signature = self.keyword_constants(sf), []
        for node in arg_nodes:
            name = node.id
            length = self.shapes.get(name)
            if name in self.statics:           # a parameter object: its fields are constants
                env[name] = ParamObject(name, self.statics[name])
                signature.append(Param(name, [], None, False))
                continue
            if length is None:
                v = Value(self.var_name(name), name, node.lineno)
                env[name] = Scalar(v, name if name in self.probe else None)
                values = [v]
            else:
                if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                    raise ShapeError(f"the length of '{name}' must be a non-negative int, got {length!r}",
                                     name, fn.lineno)
                if length > MAX_LENGTH:
                    raise ShapeError(f"{sf.filename}:{fn.lineno}: the length of '{name}' of {fn.name} is "
                                     f"{length:,}, more than the {MAX_LENGTH:,} elements a vector "
                                     "parameter may have (each is one scalar of the program): give its "
                                     "true length, or a smaller problem size", name, fn.lineno)
                self.versions.add(name)
                values = [Value(self.namer.fresh(f"{name}_{i}"), f"{name}[{i}]", node.lineno)
                          for i in range(length)]
                env[name] = _object_array([Scalar(v) for v in values])
                self.param_arrays[id(env[name])] = (name, env[name])    # (kept alive: ids are reused)
            signature.append(Param(name, values, length, name in wrt))
        self.signature = signature
        self.frames.append(_Frame(sf, env, fn.name))
        self.line = fn.lineno
        try:
            self.block(_body(fn))
            raise self.refuse(fn.body[-1], f"def {fn.name} must end with 'return' of its result(s)")
        except _Return as ret:
            result, ret_node = ret.value, ret.node
            ret.__traceback__ = None        # no cycle through the frames: freed without the collector
        if result is None:
            raise self.refuse(ret_node, "'return' needs a value: return the result(s), e.g. 'return x, y'")
        for p in signature:                          # trip counts are integers: never differentiated
            if p.name in self.count_params and p.differentiated:
                if self.wrt is not None:
                    from ..errors import ArgumentError
                    raise ArgumentError(f"wrt names '{p.name}', but {fn.name} uses it as a loop's trip "
                                        "count (an integer): it cannot be differentiated")
                p.differentiated = False
        spec, leaves = self.output(result, ret_node)
        outputs = [self.operand(x) if not isinstance(x, Scalar) else x.value for x in leaves]
        returned = ret_node.value
        elts = returned.elts if isinstance(spec, tuple) and isinstance(returned, gast.Tuple) else [returned]
        out_names = tuple(e.id if isinstance(e, gast.Name) else None for e in elts)
        return self.program(signature, outputs, spec, out_names)

    def program(self, signature, outputs, spec, out_names=None) -> Program:
        sf = self.root
        params = [v for p in signature for v in p.values]
        wrt = [v for p in signature if p.differentiated for v in p.values]
        constants = {}
        for a in list(iter_operands(self.body)) + list(outputs):
            if isinstance(a, Const) and isinstance(a.ref, Ref):
                constants[a.ref.name] = a.value
            elif isinstance(a, Const) and isinstance(a.ref, Attr):
                self.modules.setdefault(a.ref.module, library.module_kind(self, a.ref.module))
        # The source text of the function and its helpers, its lengths and modules: the values
        # of module constants are not hashed (they are in the generated module themselves), so
        # changing STEPS changes one line of the output, not two.
        digest = source_digest(sf.text, self.helper_texts, sorted(self.shapes.items()),
                               sorted(self.modules.items()))
        return Program(
            name=sf.node.name, filename=sf.filename, def_line=sf.node.lineno, params=params, wrt=wrt,
            body=self.body, outputs=outputs, out_spec=spec, lines=self.lines, texts=self.texts,
            modules=dict(sorted(self.modules.items())), constants=constants, digest=digest,
            reserved=self.names | self.namer.used | self.namer.reserved, signature=signature,
            out_names=out_names, counts=dict(sorted(self.count_params.items())),
            products=dict(sorted(self.products.items())), statics=tuple(sorted(self.statics)))

    def output(self, value, node):
        """(spec, leaves) of the returned value: a scalar, a 1-D list/array, or a tuple."""
        if isinstance(value, Scalar) or is_number(value):
            return None, [value]
        if isinstance(value, tuple):
            specs, leaves = [], []
            for item in value:
                s, l = self.output(item, node)
                specs.append(s)
                leaves += l
            return tuple(specs), leaves
        if isinstance(value, (list, np.ndarray)):
            arr = value if isinstance(value, np.ndarray) else _object_array(value, self, node)
            if arr.ndim != 1:
                raise self.refuse(node, f"the function returns an array of shape {arr.shape}: return a "
                                        "1-D array (e.g. F.ravel()) or a tuple")
            items = list(arr)
            for item in items:
                if not (isinstance(item, Scalar) or is_number(item)):
                    raise self.refuse(node, f"the returned array holds {_kind(item)}: return numbers")
            return len(items), items
        raise self.refuse(node, f"the function returns {_kind(value)}: return a number, a tuple, a "
                                "list or a 1-D array of numbers")

    # -- statements ----------------------------------------------------------------------
    def block(self, stmts):
        for stmt in stmts:
            self.statement(stmt)

    def statement(self, stmt):
        self.line = stmt.lineno
        self.node = stmt
        if stmt.lineno not in self.texts:
            self.texts[stmt.lineno] = _statement_text(self.sf, stmt)
        handler = _STATEMENTS.get(type(stmt))
        if handler is None:
            raise self.refuse(stmt, f"{type(stmt).__name__} statement is not supported")
        handler(self, stmt)

    def s_assign(self, stmt):
        self.begin()
        value = stmt.value
        if isinstance(value, gast.Lambda) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            value = self.closure(value, _lambda_def(value), stmt.targets[0].id)    # named after its variable
        else:
            value = self.eval(value)
        bindings = []
        for target in stmt.targets:
            bindings += self.assign(target, value)
        self.finish(bindings)

    def s_annassign(self, stmt):
        self.begin()
        value = self.eval(stmt.value)
        self.finish(self.assign(stmt.target, value))

    def s_augassign(self, stmt):
        self.begin()
        op = type(stmt.op)
        target = stmt.target
        rhs = self.eval(stmt.value)
        if isinstance(target, gast.Name):
            current = self.lookup(target.id, target)
            self.finish(self.assign(target, self.inplace(op, current, rhs, stmt)))
            return
        if isinstance(target, gast.Subscript):
            base = self.eval(target.value)
            index = self.index(target.slice)
            current = self.subscript(base, index, target)
            new = self.inplace(op, current, rhs, stmt)
            self.store_item(base, index, new, target)
            self.finish(self.item_bindings(target, index, new))
            return
        raise self.refuse(target, f"cannot assign to {type(target).__name__}: use a name or an element")

    def inplace(self, op, current, rhs, node):
        if isinstance(current, np.ndarray):                   # elementwise, in place (views too)
            result = self.binop(op, current, rhs, node)
            try:
                current[...] = result
            except (ValueError, TypeError) as exc:
                raise self.fail(node, f"cannot update the array in place: {exc}") from None
            return current
        try:
            return _INPLACE[op](current, rhs)
        except UnsupportedSyntaxError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise self.fail(node, f"{_SYMBOL.get(op, '?')}= failed: {exc}") from None

    def s_expr(self, stmt):
        if isinstance(stmt.value, gast.Constant):
            return                                             # docstring / string comment
        self.begin()
        call = stmt.value
        result = self.eval(call)
        bindings = []
        func = call.func
        if isinstance(func, gast.Attribute) and func.attr in ("append", "insert", "extend"):
            base = _path(func.value)
            target = self.eval_quiet(func.value)
            if base is not None and isinstance(target, list):
                bindings = [(base, False, list(target))]
        del result
        self.finish(bindings)

    def s_pass(self, stmt):
        pass

    def s_functiondef(self, stmt):
        self.frames[-1].env[stmt.name] = self.closure(stmt, stmt, stmt.name)

    def e_lambda(self, node):
        return self.closure(node, _lambda_def(node), "lambda")

    def closure(self, node, fn, name: str) -> Closure:
        """The value of a nested def or lambda ``node`` (``fn``: it as a def): its default
        values evaluated now, in the enclosing scope."""
        sf = self.sf
        names = sf.nested.get(id(node))
        if names is None:                      # not checked by the fence: a module's lambda (CLI)
            raise self.refuse(node, "a lambda here is not supported: write a def")
        args = fn.args
        positional = [a.id for a in args.posonlyargs + args.args]
        defaults = {p: self.eval(n) for p, n in zip(positional[len(positional) - len(args.defaults):],
                                                  args.defaults)}
        defaults.update((a.id, self.eval(n)) for a, n in zip(args.kwonlyargs, args.kw_defaults) if n is not None)
        own = dataclasses.replace(sf, name=fn.name, node=fn, local_names=names, defaults=None, kwdefaults=None)
        return Closure(name, own, self.frames[-1], defaults, node)

    def s_delete(self, stmt):
        env = self.frames[-1].env
        for target in stmt.targets:
            if target.id not in env:
                raise self.fail(target, f"'del {target.id}': the name is not bound")
            del env[target.id]

    def s_assert(self, stmt):
        self.begin()
        ok = self.truth(self.eval(stmt.test), stmt.test)
        self.finish()
        if not ok:
            msg = ""
            if stmt.msg is not None and isinstance(stmt.msg, gast.Constant):
                msg = f": {stmt.msg.value}"
            raise self.fail(stmt, f"assertion failed at transform time{msg}")

    def s_return(self, stmt):
        self.begin()
        value = self.eval(stmt.value) if stmt.value is not None else None
        if len(self.frames) > 1:
            self.handoff()
        else:
            self.finish([("out", False, value)])
        ret = _Return(value)
        ret.node = stmt
        raise ret

    def s_if(self, stmt):
        self.begin()
        chosen = self.truth(self.eval(stmt.test), stmt.test, "the condition of this if")
        self.finish()
        self.block(stmt.body if chosen else stmt.orelse)

    def s_for(self, stmt):
        bounds = loops.range_bounds(self, stmt)
        if bounds is not None and loops.try_roll(self, stmt, bounds):
            return
        self.begin()
        iterable = self.eval(stmt.iter)
        self.finish()
        items = self.iterate(iterable, stmt.iter, "a for loop over it")
        outer = self.where
        try:
            for k, item in enumerate(items):
                self.line = stmt.lineno
                self.node = stmt
                self.begin()
                self.finish(self.assign(stmt.target, item))
                self.where = outer + _loop_labels(stmt.target, item, k)
                try:
                    self.block(stmt.body)
                except _Continue:
                    continue
                except _Break:
                    break
            else:
                self.where = outer
                self.block(stmt.orelse)
        finally:
            self.where = outer

    def s_while(self, stmt):
        outer, k = self.where, 0
        try:
            while True:
                self.line = stmt.lineno
                self.node = stmt
                self.begin()
                going = self.truth(self.eval(stmt.test), stmt.test, "the condition of this while loop")
                self.finish()
                if not going:
                    self.where = outer
                    self.block(stmt.orelse)
                    break
                k += 1
                if k > MAX_WHILE:
                    raise self.refuse(stmt, f"this while loop ran {MAX_WHILE:,} times at transform "
                                            "time without ending: check its condition")
                self.where = outer + (("loop", None, k - 1),)
                try:
                    self.block(stmt.body)
                except _Continue:
                    continue
                except _Break:
                    break
        finally:
            self.where = outer

    def s_break(self, stmt):
        raise _Break

    def s_continue(self, stmt):
        raise _Continue

    # -- assignment ----------------------------------------------------------------------
    def assign(self, target, value) -> list:
        """Bind ``target`` to ``value``; return the (name, is_var, value) bindings to name."""
        if isinstance(target, gast.Name):
            self.frames[-1].env[target.id] = value
            return [(target.id, True, value)]
        if isinstance(target, (gast.Tuple, gast.List)):
            items = self.unpack(value, target)
            out = []
            starred = [i for i, t in enumerate(target.elts) if isinstance(t, gast.Starred)]
            if starred:
                s = starred[0]
                after = len(target.elts) - s - 1
                if len(items) < len(target.elts) - 1:
                    raise self.fail(target, f"not enough values to unpack (expected at least "
                                            f"{len(target.elts) - 1}, got {len(items)})")
                parts = items[:s] + [list(items[s:len(items) - after])] + items[len(items) - after:]
                for t, item in zip(target.elts, parts):
                    out += self.assign(t.value if isinstance(t, gast.Starred) else t, item)
                return out
            if len(items) != len(target.elts):
                raise self.fail(target, f"cannot unpack {len(items)} values into {len(target.elts)} names")
            for t, item in zip(target.elts, items):
                out += self.assign(t, item)
            return out
        if isinstance(target, gast.Subscript):
            base = self.eval(target.value)
            index = self.index(target.slice)
            self.store_item(base, index, value, target)
            return self.item_bindings(target, index, value)
        raise self.refuse(target, f"cannot assign to {type(target).__name__}: assign to a name, "
                                  "a tuple of names, or an element (F[i] = ...)")

    def unpack(self, value, node) -> list:
        self.vector_use(value, "unpacking")
        if isinstance(value, (tuple, list, range)):
            return list(value)
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                raise self.fail(node, "cannot unpack a 0-d array")
            return list(value)
        raise self.fail(node, f"cannot unpack {_kind(value)}")

    def store_item(self, base, index, value, node):
        if isinstance(base, ConstDict):
            raise self.refuse(node, changed_dict(base))
        if isinstance(base, tuple):
            raise self.fail(node, "tuples cannot be changed: build a list (list(t)) or a new tuple")
        if isinstance(base, Scalar):
            self.vector_use(base, "item assignment")
        if not isinstance(base, (list, np.ndarray)):
            raise self.fail(node, f"cannot assign to an element of {_kind(base)}")
        if isinstance(base, np.ndarray) and base.dtype != object:
            if not base.flags.writeable:
                raise self.fail(node, "module constants are read-only: copy the array first "
                                      "(a = W.copy())")
            if _holds_runtime(value):
                raise self.fail(node, f"cannot store a runtime value in a NumPy array of dtype "
                                      f"{base.dtype} (NumPy would convert it to {base.dtype}): create it "
                                      "with np.zeros(n) or np.array([...]) in the function, without "
                                      "dtype= or with dtype=float, or use a list")
        try:
            base[index] = value
        except IndexError:
            raise self.fail(node, f"index {_index_text(index)} is out of range for a sequence of length "
                                  f"{len(base)}") from None
        except (TypeError, ValueError) as exc:
            raise self.fail(node, f"cannot assign this element: {exc}") from None

    def item_bindings(self, target, index, value) -> list:
        base = _path(target.value)
        if base is None:
            return []
        container = self.eval_quiet(target.value)
        suffix = _index_suffix(index, container)
        if suffix is None:
            if isinstance(index, slice) and isinstance(container, (list, np.ndarray)):
                positions = range(len(container))[index]
                return [(f"{base}_{p}", False, container[p]) for p in positions]
            return []
        return [(f"{base}_{suffix}", False, value)]

    def eval_quiet(self, node):
        """Re-read a plain name or element path (no statements are created by it)."""
        if isinstance(node, gast.Name):
            return self.frames[-1].env.get(node.id)
        if isinstance(node, gast.Subscript):
            base = self.eval_quiet(node.value)
            try:
                return base[self.index(node.slice)]
            except Exception:
                return None
        return None

    # -- names -----------------------------------------------------------------------------
    def lookup(self, name: str, node):
        frame = self.frames[-1]
        if name in frame.env:
            return frame.env[name]
        sf = frame.sf
        if name in self.rolled_locals:
            raise self.refuse(node, f"'{name}' was assigned inside the loop at line {self.rolled_locals[name]}, "
                                    "which is kept as a loop, and only the values it carries from one "
                                    "iteration to the next survive it: assign the name before the loop "
                                    "(then it is carried), or compute it after the loop")
        if name in sf.local_names:
            raise self.refuse(node, f"name '{name}' is used before it is assigned")
        outer = frame.parent
        while outer is not None:                  # a nested function: its enclosing functions' names
            if name in outer.env:
                return outer.env[name]
            if name in outer.sf.local_names:
                raise self.refuse(node, f"'{name}' of the enclosing function {outer.name} is not assigned yet "
                                        f"when {frame.name} runs: a nested function reads the enclosing "
                                        "function's names when it is called, so assign it before the call")
            outer = outer.parent
        found = sf.scope.lookup(name)
        if found is None:
            known = library.builtin(name)
            if known is not None:
                return known
            import builtins
            if hasattr(builtins, name):
                raise self.refuse(node, f"the builtin '{name}' is not supported: the builtins the "
                                        f"language knows are {', '.join(library.builtin_names())}")
            raise self.refuse(node, f"name '{name}' is not defined: use a parameter, an earlier "
                                    "assignment, a module-level constant or a helper function")
        kind, value = found
        if kind == "module":
            return Module(name, value)
        if kind == "value":
            return copy_value(value)
        if kind == "helper":
            return Helper(name, value)
        if kind == "known":
            module_kind, attr = value
            alias = library.alias_for(self, module_kind)
            return Known(module_kind, attr, alias)
        if isinstance(value, _ClassFromText):
            raise self.refuse(node, f"'{name}' is {value}")
        raise self.refuse(node, f"'{name}' is {value}: the function may use numbers, tuples and "
                                "lists of numbers, NumPy arrays of numbers, math, numpy and helper "
                                "functions defined in the same file")

    # -- expressions -------------------------------------------------------------------------
    def eval(self, node):
        self.node = node
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            raise self.refuse(node, f"{type(node).__name__} expression is not supported")
        return handler(self, node)

    def e_constant(self, node):
        return node.value

    def e_name(self, node):
        return self.lookup(node.id, node)

    def e_attribute(self, node):
        base = self.eval(node.value)
        self.node = node
        if isinstance(base, ParamObject) or objects.is_namedtuple(base):
            return objects.attribute(self, base, node.attr)
        try:
            return library.attribute(self, base, node.attr)
        except UnsupportedSyntaxError as exc:
            param = next((p.name for p in self.signature if isinstance(base, Scalar)
                          and p.values == [base.value]), None)
            if param is None or not exc.msg.startswith(f"attribute .{node.attr} of a runtime scalar"):
                raise
            raise self.refuse(node, f"{exc.msg}; if the parameter '{param}' is a parameter object (a "
                                    "dataclass, a SimpleNamespace...), its fields are constants of the "
                                    "transform, known only from a call: pass the object with the primals "
                                    f"(si.jvp(f, (..., {param}, ...), ...)), or read it from a closure, a "
                                    "module global or a keyword-only default") from None

    def e_binop(self, node):
        left = self.eval(node.left)
        right = self.eval(node.right)
        self.node = node
        return self.binop(type(node.op), left, right, node, (node.left, node.right))

    def binop(self, op, left, right, node, operands=None):
        if op is gast.MatMult:
            for side in (left, right):
                if isinstance(side, Scalar):
                    self.vector_use(side, "operator @")
            self.product_of(left)
            if not isinstance(left, Scalar):          # [x, 2 * x] @ w contracts x's own axis
                library.across_batch(self, left, "matmul", (), {}, "operator @")
        for a, b in ((left, right), (right, left)):
            if isinstance(a, Scalar) and isinstance(b, (list, tuple, str)):
                raise self.fail(node, f"operator {_SYMBOL.get(op, '?')} on "
                                      f"{self.describe(left, operands, 0)} and {self.describe(right, operands, 1)}: "
                                      "use np.array(...) for elementwise arithmetic")
        for a, b in ((left, right), (right, left)):
            if isinstance(a, Scalar) and a.param in self.arrays and isinstance(b, np.ndarray) and b.ndim \
                    and library.held_array_param(self, b) is None:
                # an array argument combined elementwise with a vector: as in the user's own
                # function, it is a vector of that length, not a batch of scalars (unless the
                # vector holds values of array arguments: NumPy gives it their axis last, so
                # np.array([x0, x2]) + x1 adds x1 point by point, as for a batch)
                self.vector_use(a, f"operator {_SYMBOL.get(op, '?')} with a vector of length {len(b)}")
        if isinstance(left, list) and isinstance(right, np.ndarray) or \
                isinstance(right, list) and isinstance(left, np.ndarray):
            left, right = _as_array(left, self, node), _as_array(right, self, node)
        try:
            return _BINOPS[op](left, right)
        except UnsupportedSyntaxError:
            raise
        except ShapeProbe:
            raise
        except ZeroDivisionError:
            raise self.fail(node, "division by zero at transform time") from None
        except (TypeError, ValueError, OverflowError, IndexError) as exc:
            sym = _SYMBOL.get(op, op.__name__)
            raise self.fail(node, f"operator {sym} on {self.describe(left, operands, 0)} and "
                                  f"{self.describe(right, operands, 1)}: {exc}") from None

    def describe(self, value, operands, i) -> str:
        """``GLOBAL_LIST (a list of length 2)``: an operand for a message."""
        text = self.text_of(operands[i]) if operands else None
        return f"`{text}` ({_kind(value)})" if text else _kind(value)

    def e_unaryop(self, node):
        value = self.eval(node.operand)
        self.node = node
        op = type(node.op)
        if op is gast.Not:
            return not self.truth(value, node)
        try:
            if op is gast.USub:
                return -value
            if op is gast.UAdd:
                return +value
            return ~value
        except UnsupportedSyntaxError:
            raise
        except (TypeError, ValueError) as exc:
            raise self.fail(node, f"unary operator on {_kind(value)}: {exc}") from None

    def truth(self, value, node, what: str = "a condition") -> bool:
        self.node = node
        if isinstance(value, Scalar) and getattr(self.defs.get(id(value.value)), "op", None) in BOOLEAN:
            text = self.text_of(node) or "the comparison"
            raise self.refuse(node, f"a comparison on a runtime value (`{text}`) as {what}: it is known only at "
                                    "run time, so the data flow would change with the inputs; choose between "
                                    f"values with np.where({text}, a, b), np.maximum or np.minimum instead")
        if isinstance(value, Scalar):
            self.refuse_runtime("a truth test", value, f"{what} depends on a runtime value")
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise self.fail(node, "the truth value of an array with several elements is "
                                      "ambiguous: use len(a) or compare elements")
            value = value.reshape(-1)[0]
        return bool(value)

    def e_boolop(self, node):
        is_and = isinstance(node.op, gast.And)
        value = None
        for operand in node.values:
            value = self.eval(operand)
            if self.truth(value, operand) != is_and:
                return value
        return value

    def e_compare(self, node):
        left = self.eval(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.eval(comp)
            self.node = node
            try:
                if type(op) in _ORDER and any(isinstance(v, np.ndarray) and v.dtype == object
                                              and _holds_runtime(v) for v in (left, right)):
                    # NumPy would make the comparisons' results bools: compare element by element
                    ok = library.broadcast(self, "a comparison", _COMPARE[type(op)], (left, right))
                else:
                    ok = _COMPARE[type(op)](left, right)
            except UnsupportedSyntaxError:
                raise
            except (TypeError, ValueError) as exc:
                raise self.fail(node, f"comparison failed: {exc}") from None
            if len(node.ops) == 1 and (_holds_runtime(ok) or isinstance(ok, np.ndarray) and ok.ndim):
                return ok                          # x > 0: a runtime condition (or a mask), for np.where
            if not self.truth(ok, node):
                return False
            left = right
        return True

    def e_ifexp(self, node):
        chosen = self.truth(self.eval(node.test), node.test, "the condition of this conditional expression")
        return self.eval(node.body if chosen else node.orelse)

    def e_tuple(self, node):
        return tuple(self.elements(node.elts))

    def e_dict(self, node):
        """A dict display: only in a module's constants read as text (the fence refuses dicts
        in functions)."""
        out = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.refuse(value, "'**' in a dict display is not supported: write the entries")
            k = self.eval(key)
            if isinstance(k, Scalar):
                self.refuse_runtime("an index or count", k)
            try:
                out[k] = self.eval(value)
            except TypeError as exc:
                raise self.fail(key, f"cannot use {_kind(k)} as a dict key: {exc}") from None
        return out

    def e_list(self, node):
        return self.elements(node.elts)

    def elements(self, elts) -> list:
        out = []
        for elt in elts:
            if isinstance(elt, gast.Starred):
                out.extend(self.iterate(self.eval(elt.value), elt))
            else:
                out.append(self.eval(elt))
        return out

    def iterate(self, value, node, what: str = "iteration") -> list:
        self.node = node
        self.vector_use(value, what)
        if isinstance(value, (Module, Known, Helper, Bound, Closure)) or is_number(value) or value is None:
            raise self.fail(node, f"cannot iterate over {_kind(value)}")
        if isinstance(value, np.ndarray) and value.ndim == 0:
            raise self.fail(node, "cannot iterate over a 0-d array")
        try:
            return list(value)
        except UnsupportedSyntaxError:
            raise
        except TypeError as exc:
            raise self.fail(node, f"cannot iterate over {_kind(value)}: {exc}") from None

    def e_subscript(self, node):
        base = self.eval(node.value)
        index = self.index(node.slice)
        self.node = node
        value = self.subscript(base, index, node)
        if isinstance(value, Unreadable):
            raise objects.unreadable(self, value)
        return value

    def subscript(self, base, index, node):
        if isinstance(base, Scalar):
            self.vector_use(base, "indexing")
        if isinstance(base, (Module, Known, Helper, Bound, Closure)) or is_number(base) or base is None:
            raise self.fail(node, f"cannot index {_kind(base)}")
        try:
            return base[index]
        except KeyError:
            if not isinstance(base, ConstDict):
                raise
            keys = ", ".join(map(repr, base.keys()[:12])) + (", ..." if len(base) > 12 else "")
            raise self.fail(node, f"the module dict {base.name} has no key {index!r} (its keys: "
                                  f"{keys or 'none'})") from None
        except IndexError as exc:
            held = library.held_array_param(self, base) if "too many indices" in str(exc) else None
            if held is not None:                     # np.array([x, 2 * x])[0, 1]: x has an axis of its own
                self.vector_use(held, "indexing a list or array holding it")
            if isinstance(base, np.ndarray) and (base.ndim != 1 or "out of bounds" not in str(exc)):
                raise self.fail(node, f"cannot index an array of shape {base.shape} with "
                                      f"[{_index_text(index)}]: {exc}") from None
            n = len(base) if hasattr(base, "__len__") else "?"
            raise self.fail(node, f"index {_index_text(index)} is out of range for a sequence of "
                                  f"length {n}") from None
        except (TypeError, ValueError) as exc:
            raise self.fail(node, f"cannot index {_kind(base)} with {_index_text(index)}: {exc}") from None

    def index(self, node):
        """The transform-time value of a subscript's index (ints, slices, tuples of them)."""
        if isinstance(node, gast.Slice):
            parts = [None if n is None else self.eval(n) for n in (node.lower, node.upper, node.step)]
            for p in parts:
                self.check_index(p, node)
            return slice(*parts)
        value = self.eval(node)
        if isinstance(value, tuple):
            for v in value:
                self.check_index(v, node)
            return tuple(library.index_array(self, v) for v in value)
        self.check_index(value, node)
        return library.index_array(self, value)

    def check_index(self, value, node):
        if isinstance(value, Scalar):
            raise self.refuse(node, f"the index depends on a runtime value (`{value.value.name}`): "
                                    "indices must be transform-time values (loop indices, constants, "
                                    "len(...)), so that the data flow is fixed")

    def e_slice(self, node):
        return self.index(node)

    def e_listcomp(self, node):
        return self.comprehension(node)

    def e_generatorexp(self, node):
        return self.comprehension(node)

    def comprehension(self, node):
        env = self.frames[-1].env
        names = {n.id for gen in node.generators for n in gast.walk(gen.target) if isinstance(n, gast.Name)}
        saved = {n: env[n] for n in names if n in env}
        out: list = []
        try:
            self._generators(node, node.generators, out)
        finally:
            for n in names:
                env.pop(n, None)
            env.update(saved)
        return out

    def _generators(self, node, generators, out):
        gen, rest = generators[0], generators[1:]
        for item in self.iterate(self.eval(gen.iter), gen.iter, "a comprehension over it"):
            self.assign(gen.target, item)
            if all(self.truth(self.eval(cond), cond, "the condition of this comprehension")
                   for cond in gen.ifs):
                if rest:
                    self._generators(node, rest, out)
                else:
                    out.append(self.eval(node.elt))

    def e_starred(self, node):
        raise self.refuse(node, "a starred expression is allowed only in calls, list/tuple "
                                "literals and assignment targets")

    def e_call(self, node):
        func = self.eval(node.func)
        args = []
        for a in node.args:
            if isinstance(a, gast.Starred):
                args.extend(self.iterate(self.eval(a.value), a))
            else:
                args.append(self.eval(a))
        kwargs = {kw.arg: self.eval(kw.value) for kw in node.keywords}
        self.node = node
        return self.call(func, args, kwargs, node)

    def call(self, func, args, kwargs, node):
        if isinstance(func, Helper):
            return self.inline(func, args, kwargs, node)
        if isinstance(func, Closure):
            return self.inline_closure(func, args, kwargs, node)
        if isinstance(func, objects.TextClass):      # an object of a class read as text (the CLI)
            if self.frames[-1].name != "<module>":
                raise self.refuse(node, f"{func.name}(...) builds an object: the command line builds them "
                                        "at the module's top level only (p = P(...)); read that one here")
            return func.build(self, args, kwargs, node, _numeric)
        if isinstance(func, (Known, Bound)):
            return library.call(self, func, args, kwargs)
        raise self.fail(node, f"{_kind(func)} is not callable here: call math/numpy functions, "
                              "builtins such as range and len, and helpers defined in the same file")

    # -- helpers -------------------------------------------------------------------------------
    def helper_source(self, helper: Helper, node) -> SourceFunction:
        key = id(helper.source)
        if key in self.helpers:
            return self.helpers[key]
        src = helper.source
        if not isinstance(src, SourceFunction):
            if src.__code__.co_filename != self.root.filename:
                raise self.refuse(node, f"helper '{helper.name}' is defined in another file "
                                        f"({src.__code__.co_filename}): s2s_invad inlines helpers "
                                        "defined in the same file as the function it transforms; "
                                        "move or copy it there")
            src = from_function(src)
        src = dataclasses.replace(src, scope=Scope(src.scope._resolve), names=set(), local_names=set(),
                                  fenced=False)
        fence(src, helper=True)
        self.helpers[key] = src
        self.helper_texts.append(src.text)
        self.scopes.append(src.scope)
        self.names |= src.names | {src.node.name}
        self.namer.reserved |= src.names
        self.lines.update(src.lines)
        return src

    def inline(self, helper: Helper, args, kwargs, node):
        if any(h is helper.source for h in self.calling):
            raise self.refuse(node, f"recursive call of '{helper.name}': helpers are inlined, so "
                                    "recursion cannot be; write the recursion as a loop")
        sf = self.helper_source(helper, node)
        env = self.bind_arguments(sf, list(helper.first) + list(args), kwargs, node)
        return self.run_inlined(_Frame(sf, env, sf.node.name), helper.source, node)

    def inline_closure(self, closure: Closure, args, kwargs, node):
        """Call a nested def or lambda: inlined, in a frame whose free names are the
        enclosing frame's."""
        if any(h is closure.key for h in self.calling):
            raise self.refuse(node, f"recursive call of the nested function '{closure.name}': nested functions "
                                    "are inlined where they are called, so recursion cannot be; write the "
                                    "recursion as a loop")
        env = self.bind_arguments(closure.sf, args, kwargs, node, closure.defaults)
        return self.run_inlined(_Frame(closure.sf, env, closure.name, closure.parent), closure.key, node)

    def run_inlined(self, frame: _Frame, key, node):
        """Run the body of an inlined function in ``frame``; its return value."""
        sf = frame.sf
        caller_line, caller_where = self.line, self.where
        self.where = caller_where + (("call", frame.name, caller_line),)
        self.frames.append(frame)
        self.calling.append(key)
        try:
            self.block(_body(sf.node))
            result = None
        except _Return as ret:
            result = ret.value
            ret.__traceback__ = None
        except (_Break, _Continue):
            raise self.refuse(node, "'break' or 'continue' outside a loop") from None
        finally:
            self.frames.pop()
            self.calling.pop()
            self.where = caller_where
            self.line = caller_line
            self.node = node
        return result

    def bind_arguments(self, sf: SourceFunction, args, kwargs, node, defaults=None) -> dict:
        fn = sf.node
        positional = [a.id for a in fn.args.posonlyargs + fn.args.args]
        keyword_only = [a.id for a in fn.args.kwonlyargs]
        if len(args) > len(positional):
            raise self.fail(node, f"{fn.name}() takes {len(positional)} positional argument(s) but "
                                  f"{len(args)} were given")
        env = dict(zip(positional, args))
        for name, value in kwargs.items():
            if name not in positional + keyword_only:
                raise self.fail(node, f"{fn.name}() got an unexpected keyword argument '{name}'")
            if name in env:
                raise self.fail(node, f"{fn.name}() got multiple values for argument '{name}'")
            env[name] = value
        defaults = self.defaults(sf) if defaults is None else defaults
        for name in positional + keyword_only:
            if name not in env:
                if name not in defaults:
                    raise self.fail(node, f"{fn.name}() missing required argument '{name}'")
                env[name] = copy_value(defaults[name])
        return env

    def keyword_constants(self, sf: SourceFunction) -> dict:
        """The keyword-only parameters of the function being differentiated, bound to their
        default values (transform-time constants, as a helper's defaults)."""
        keyword_only = [a.id for a in sf.node.args.kwonlyargs]
        if not keyword_only:
            return {}
        defaults = self.defaults(sf)
        return {name: copy_value(defaults[name]) for name in keyword_only}

    def defaults(self, sf: SourceFunction) -> dict:
        fn = sf.node
        positional = [a.id for a in fn.args.posonlyargs + fn.args.args]
        out = {}
        if sf.defaults is not None:                           # live function: its own values
            values = list(sf.defaults)
            for name, value in zip(positional[len(positional) - len(values):], values):
                out[name] = self._live_default(name, value, sf, fn)
            for name, value in (sf.kwdefaults or {}).items():
                out[name] = self._live_default(name, value, sf, fn)
            return out
        nodes = fn.args.defaults
        for name, n in zip(positional[len(positional) - len(nodes):], nodes):
            out[name] = self.eval_in(sf, n)
        for a, n in zip(fn.args.kwonlyargs, fn.args.kw_defaults):
            if n is not None:
                out[a.id] = self.eval_in(sf, n)
        return out

    def _live_default(self, name, value, sf, fn):
        kind, converted = classify(name, value)
        if kind != "value":
            raise self.refuse(fn, f"the default of '{name}' in {fn.name} is {converted}: defaults must "
                                  "be numbers, tuples or lists of numbers, or NumPy arrays")
        return converted if not isinstance(converted, (NamedFloat, NamedInt)) else \
            type(converted).__mro__[1](converted)

    def eval_in(self, sf: SourceFunction, node):
        """Evaluate ``node`` in the module scope of ``sf`` (defaults, module constants)."""
        self.frames.append(_Frame(sf, {}, "<module>"))
        try:
            return self.eval(node)
        finally:
            self.frames.pop()


_STATEMENTS = {gast.Assign: Evaluator.s_assign, gast.AnnAssign: Evaluator.s_annassign,
               gast.AugAssign: Evaluator.s_augassign, gast.Expr: Evaluator.s_expr,
               gast.Pass: Evaluator.s_pass, gast.Delete: Evaluator.s_delete,
               gast.Assert: Evaluator.s_assert, gast.Return: Evaluator.s_return,
               gast.If: Evaluator.s_if, gast.For: Evaluator.s_for, gast.While: Evaluator.s_while,
               gast.Break: Evaluator.s_break, gast.Continue: Evaluator.s_continue,
               gast.FunctionDef: Evaluator.s_functiondef}
_EXPRESSIONS = {gast.Constant: Evaluator.e_constant, gast.Name: Evaluator.e_name, gast.Dict: Evaluator.e_dict,
                gast.Attribute: Evaluator.e_attribute, gast.BinOp: Evaluator.e_binop,
                gast.UnaryOp: Evaluator.e_unaryop, gast.BoolOp: Evaluator.e_boolop,
                gast.Compare: Evaluator.e_compare, gast.IfExp: Evaluator.e_ifexp,
                gast.Tuple: Evaluator.e_tuple, gast.List: Evaluator.e_list,
                gast.Subscript: Evaluator.e_subscript, gast.Slice: Evaluator.e_slice,
                gast.ListComp: Evaluator.e_listcomp, gast.GeneratorExp: Evaluator.e_generatorexp,
                gast.Starred: Evaluator.e_starred, gast.Call: Evaluator.e_call,
                gast.Lambda: Evaluator.e_lambda}


# -- small helpers ---------------------------------------------------------------------------

def _body(fn) -> list:
    body = list(fn.body)
    if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body


_LAMBDAS: dict = {}


def _lambda_def(node):
    """A lambda as a def named ``lambda`` returning its expression (made once per node)."""
    found = _LAMBDAS.get(id(node))
    if found is not None and found[0] is node:
        return found[1]
    ret = gast.Return(value=node.body)
    fn = gast.FunctionDef(name="lambda", args=node.args, body=[ret], decorator_list=[], returns=None,
                          type_comment=None, type_params=[])
    for made, like in ((ret, node.body), (fn, node)):
        made.lineno, made.col_offset = like.lineno, like.col_offset
        made.end_lineno, made.end_col_offset = like.end_lineno, like.end_col_offset
    _LAMBDAS[id(node)] = (node, fn)
    return fn


def _param(x) -> str | None:
    return x.param if isinstance(x, Scalar) else None


def _kind(value) -> str:
    """What a value is, for error messages."""
    if isinstance(value, Scalar):
        return "a runtime scalar"
    if isinstance(value, bool):
        return "a bool"
    if is_number(value):
        return f"the number {value!r}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, Module):
        return f"the module {value.alias}"
    if isinstance(value, Known):
        return f"the function {value.alias + '.' if value.alias else ''}{value.attr}"
    if isinstance(value, (Helper, Closure)):
        return f"the function {value.name}"
    if isinstance(value, Bound):
        return f"the method .{value.name}"
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, ConstDict):
        return f"the module dict {value.name}"
    if isinstance(value, ParamObject):
        return f"the parameter object {value.path} ({value.kind})"
    return f"a {type(value).__name__}"


def changed_dict(d: ConstDict) -> str:
    """Why the function may not change the module dict ``d``, and what to write instead."""
    return (f"'{d.name}' is a module-level dict, read as a constant when the function is transformed "
            "(the generated code has its values built in), so the function cannot change it: copy the "
            f"value you change into a local variable (k = {d.name}[...]; k = ...), or pass it as a parameter")


def _holds_runtime(value) -> bool:
    if isinstance(value, Scalar):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_runtime(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        return any(isinstance(v, Scalar) for v in value.flat)
    return False


def _object_array(items, ev=None, node=None) -> np.ndarray:
    """A 1-D object array of ``items`` (never a float array: elements may become runtime)."""
    arr = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        arr[i] = item
    return arr


def _as_array(value, ev, node):
    if isinstance(value, np.ndarray):
        return value
    return library.to_array(ev, value)


def _leaves(value, base: str):
    """(name, Value) of the runtime scalars directly inside ``value``, named by position."""
    if isinstance(value, Scalar):
        yield base, value.value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, (Scalar, list, tuple, np.ndarray)):
                yield from _leaves(item, f"{base}_{i}")
    elif isinstance(value, np.ndarray) and value.dtype == object:
        for idx in np.ndindex(value.shape):
            item = value[idx]
            if isinstance(item, Scalar):
                yield base + "".join(f"_{i}" for i in idx), item.value


def _path(node) -> str | None:
    """``F`` for F, ``F_3`` for F[3] (constant index), None for anything else."""
    if isinstance(node, gast.Name):
        return node.id
    return None


def _index_suffix(index, container) -> str | None:
    """``3`` for [3] (negative indices counted from the end), ``2_5`` for [2, 5]."""
    def one(i, length):
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            return None
        i = int(i)
        if i < 0 and length is not None:
            i += length
        return str(i)
    if isinstance(index, tuple):
        shape = getattr(container, "shape", None)
        parts = [one(i, shape[k] if shape is not None and k < len(shape) else None)
                 for k, i in enumerate(index)]
        return None if None in parts else "_".join(parts)
    length = len(container) if hasattr(container, "__len__") else None
    return one(index, length)


def _index_text(index) -> str:
    if isinstance(index, slice):
        return f"{'' if index.start is None else index.start}:{'' if index.stop is None else index.stop}" + \
            (f":{index.step}" if index.step is not None else "")
    if isinstance(index, tuple):
        return ", ".join(_index_text(i) for i in index)
    if isinstance(index, np.ndarray):
        return repr(index.tolist())
    return repr(index)


def _loop_labels(target, item, k) -> tuple:
    """The ``where`` entries of one iteration: ``i = 3`` for each name bound to a number."""
    labels = []

    def walk(t, v):
        if isinstance(t, gast.Name):
            if is_number(v) and not isinstance(v, bool):
                labels.append(("loop", t.id, v if not isinstance(v, float) else repr(v)))
        elif isinstance(t, (gast.Tuple, gast.List)) and isinstance(v, (tuple, list)) \
                and len(v) == len(t.elts):
            for tt, vv in zip(t.elts, v):
                walk(tt, vv)
    walk(target, item)
    return tuple(labels) or (("loop", None, k),)


def _statement_text(sf: SourceFunction, node) -> str:
    """The exact source text of a statement (no trailing comment), on one line; for a
    compound statement, its header line."""
    if isinstance(node, (gast.For, gast.While, gast.If)):
        return sf.lines.get(node.lineno, "").strip()
    lines = [sf.lines.get(i, "") for i in range(node.lineno, node.end_lineno + 1)]
    if len(lines) == 1:
        raw = lines[0].encode()[node.col_offset:node.end_col_offset]
        return raw.decode(errors="replace")
    first = lines[0].encode()[node.col_offset:].decode(errors="replace")
    last = lines[-1].encode()[:node.end_col_offset].decode(errors="replace")
    return " ".join(part.strip() for part in [first, *lines[1:-1], last])


def evaluate(sf: SourceFunction, wrt=None, shapes=None, probe=frozenset(), unroll=None,
             arrays=frozenset(), statics=None) -> Program:
    """The SSA program of ``sf`` with vector parameters of the given ``shapes``.

    ``probe``: parameters given no length that may be vectors; using one as a vector
    raises :class:`ShapeProbe` (the API retries with the length of its argument).
    ``unroll``: which loops to unroll (see :mod:`s2s_invad.front.loops`); the program's
    ``loop_notes`` say what happened to each.
    """
    ev = Evaluator(sf, wrt, shapes, probe, unroll, arrays, statics)
    program = ev.run()
    program.loop_notes = _unique_notes(ev.notes)
    return program


def _unique_notes(notes) -> list:
    """One note per source loop (a loop inside an unrolled loop is met many times)."""
    seen, out = {}, []
    for note in notes:
        key = (note.line, note.rolled, note.reason)
        if key not in seen:
            seen[key] = note
            out.append(note)
    return out


# -- module-level names of a file read as text (the CLI) -------------------------------------

def module_names(tree, filename: str, file_lines: list[str], functions: dict) -> dict:
    """name -> (kind, value) for the top-level statements of a module read as text.

    Imports of math and numpy (also ``from math import pi, sin``), assignments whose value
    is a transform-time expression (numbers, tuples and lists of them, ``np.array`` of such
    lists, expressions of earlier constants, calls of helpers), and defs (helpers). Names
    the CLI cannot evaluate are recorded as "other", with the reason, and refused only
    where a function uses them.
    """
    import math
    table: dict = {}
    lines = {i + 1: line for i, line in enumerate(file_lines)}
    module_sf = SourceFunction("<module>", filename, None, lines, Scope(table.__getitem__), "")
    ev = Evaluator(module_sf)
    token = _running.set(ev)
    known: dict = {}                 # bound name -> "dataclass", "dataclasses", "NamedTuple", "typing"
    try:
        for stmt in tree.body:
            if isinstance(stmt, gast.Import):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if alias.name in ("dataclasses", "typing"):
                        known[bound] = alias.name
                    if alias.name in ("math", "numpy"):
                        table[bound] = ("module", alias.name)
                    else:
                        table[bound] = ("other", f"the module {alias.name} (only math and numpy are "
                                                 "supported)")
            elif isinstance(stmt, gast.ImportFrom):
                module = {"math": math, "numpy": np}.get(stmt.module or "")
                for alias in stmt.names:
                    bound = alias.asname or alias.name
                    if (stmt.module, alias.name) in _TEXT_CLASSES:
                        known[bound] = alias.name
                        if alias.name == "SimpleNamespace":
                            table[bound] = ("value", objects.TextClass(bound, "namespace"))
                            continue
                    if module is None or not hasattr(module, alias.name):
                        table[bound] = ("other", f"imported from {stmt.module}, which the command line "
                                                 "does not read")
                    else:
                        table[bound] = classify(bound, getattr(module, alias.name))
            elif isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef)):
                table[stmt.name] = ("helper", functions.get(stmt.name))
            elif isinstance(stmt, gast.ClassDef):
                table[stmt.name] = _text_class(ev, module_sf, stmt, known, table, file_lines)
            elif isinstance(stmt, (gast.Assign, gast.AnnAssign, gast.AugAssign)):
                _module_assignment(ev, module_sf, table, stmt)
            elif isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try)):
                from .fence import assigned_names
                for name in sorted(assigned_names([stmt])):
                    table[name] = ("other", f"assigned inside a block at module level (line "
                                            f"{stmt.lineno}), which the command line does not evaluate: "
                                            "assign it at the top level")
    finally:
        _running.reset(token)
    return table


_TEXT_CLASSES = {("dataclasses", "dataclass"), ("typing", "NamedTuple"), ("types", "SimpleNamespace")}


def _is_known(node, known: dict, name: str, module: str) -> bool:
    """``node`` spells ``name`` imported from ``module``: ``name`` bound by a from-import, or
    ``module.name`` (a decorator may be called: ``@dataclass(frozen=True)``)."""
    if isinstance(node, gast.Call):
        node = node.func
    if isinstance(node, gast.Name):
        return known.get(node.id) == name
    return isinstance(node, gast.Attribute) and node.attr == name and isinstance(node.value, gast.Name) \
        and known.get(node.value.id) == module


def _text_class(ev: Evaluator, module_sf, stmt, known: dict, table: dict, file_lines: list) -> tuple:
    """(kind, value) of a module-level class read as text: a dataclass or a typing.NamedTuple
    whose body has only fields (with defaults evaluated from the text), methods and
    properties becomes an :class:`objects.TextClass`; any other class, the reason it is not."""
    def other(why: str = "") -> tuple:
        return "other", _ClassFromText(CLASS_FROM_TEXT.format(line=stmt.lineno) + why)
    if any(_is_known(d, known, "dataclass", "dataclasses") for d in stmt.decorator_list) and not stmt.bases:
        kind = "dataclass"
    elif len(stmt.bases) == 1 and not stmt.decorator_list and _is_known(stmt.bases[0], known, "NamedTuple", "typing"):
        kind = "namedtuple"
    else:
        return other()
    from .loader import _function_lines
    names, defaults, attrs = [], {}, {}
    for item in stmt.body:
        if isinstance(item, gast.Expr) and isinstance(item.value, gast.Constant) or isinstance(item, gast.Pass):
            continue
        if isinstance(item, gast.AnnAssign) and isinstance(item.target, gast.Name):
            names.append(item.target.id)
            if item.value is not None:
                ev.frames.append(_Frame(module_sf, {}, "<module>"))
                try:
                    defaults[item.target.id] = _numeric(ev.eval(item.value))
                except UnsupportedSyntaxError as exc:
                    return other(f" (the default of its field {item.target.id}, line {item.lineno}: {exc.msg})")
                finally:
                    ev.frames.pop()
            continue
        if isinstance(item, gast.FunctionDef) and kind == "dataclass":
            prop = [d for d in item.decorator_list if isinstance(d, gast.Name) and d.id == "property"]
            if len(prop) == len(item.decorator_list) <= 1:
                lines, text = _function_lines(file_lines, item)
                sf = SourceFunction(item.name, module_sf.filename, item, lines, Scope(table.__getitem__), text)
                attrs[item.name] = objects.TextMethod(sf, bool(prop))
                continue
        return other(f" (line {item.lineno} of its body is neither a field, a method nor a property)")
    return "value", objects.TextClass(stmt.name, kind, names, defaults, attrs)


class _ClassFromText(str):
    """Why the command line cannot read a class of the module, or an object of it (a
    reason with its own advice)."""


CLASS_FROM_TEXT = ("a class defined at line {line}: the command line reads the module as text and never "
                   "runs it, so it builds objects only of dataclasses and typing.NamedTuple classes whose "
                   "bodies are fields (with constant defaults), methods and properties, and of "
                   "types.SimpleNamespace(...), at the module's top level: write the class so, or the "
                   "parameters as module-level numbers, tuples, arrays or a dict (P = {{'a': 2.0}}, read as "
                   "P['a']), or transform the function with the API (si.jvp, @si.derivatives(...).write), "
                   "which reads live objects")


def _module_assignment(ev: Evaluator, module_sf, table, stmt):
    targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
    names = sorted({n.id for t in targets for n in gast.walk(t) if isinstance(n, gast.Name)})
    ev.frames.append(_Frame(module_sf, {}, "<module>"))
    try:
        if isinstance(stmt, gast.AugAssign):
            if not isinstance(stmt.target, gast.Name):
                raise ev.refuse(stmt, "only names can be updated at module level")
            value = ev.binop(type(stmt.op), ev.lookup(stmt.target.id, stmt.target), ev.eval(stmt.value), stmt)
            values = {stmt.target.id: value}
        else:
            value = ev.eval(stmt.value)
            values = {}
            for target in targets:
                _bind_module(ev, target, value, values)
        for name, v in values.items():
            table[name] = constant_dict(name, _numeric(v)) if isinstance(v, dict) else classify(name, _numeric(v))
    except (UnsupportedSyntaxError, ShapeProbe, _Return, _Break, _Continue) as exc:
        reason = exc.msg if isinstance(exc, UnsupportedSyntaxError) else "it is not a constant"
        text = _statement_text(module_sf, stmt)
        classes = [n.id for n in gast.walk(stmt.value) if isinstance(n, gast.Name)
                   and isinstance(table.get(n.id), tuple) and isinstance(table[n.id][1], _ClassFromText)]
        for name in names:
            if classes:                             # an object of a class of the module: the advice alone
                kind, why = table[classes[0]]
                table[name] = ("other", _ClassFromText(f"an object of the class {classes[0]} (line "
                                                       f"{stmt.lineno}: `{text}`), {why}"))
                continue
            table[name] = ("other", f"a module-level value the command line cannot evaluate from the "
                                    f"text (line {stmt.lineno}: `{text}`: {reason})")
    finally:
        ev.frames.pop()


def _bind_module(ev, target, value, values):
    if isinstance(target, gast.Name):
        values[target.id] = value
    elif isinstance(target, (gast.Tuple, gast.List)):
        items = ev.unpack(value, target)
        if len(items) != len(target.elts):
            raise ev.fail(target, f"cannot unpack {len(items)} values into {len(target.elts)} names")
        for t, item in zip(target.elts, items):
            _bind_module(ev, t, item, values)
    else:
        raise ev.refuse(target, "only names and tuples of names can be assigned at module level")


def _numeric(value):
    """Object arrays of numbers (what np.array builds here) as numeric arrays (also as the
    values of a dict)."""
    if isinstance(value, dict):
        return {k: _numeric(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == object:
        items = list(value.flat)
        if all(is_number(v) for v in items):
            kind = int if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items) else float
            return np.array(items, dtype=kind).reshape(value.shape)
    return value
