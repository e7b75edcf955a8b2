"""Front end, step 1: the default-deny fence.

Walks the parsed function and refuses, with :class:`UnsupportedSyntaxError`, anything
outside the straight-line subset. What is allowed is listed explicitly below; every other
node is refused with its name, its absolute line and column, and what to write instead.
Later passes may therefore assume the subset.
"""

from __future__ import annotations

from .. import _astlib as A
from ..errors import UnsupportedSyntaxError
from .loader import SourceFunction
from ..primitives import CONSTANTS, lookup_function, supported_functions

gast = A.gast

ALLOWED_BINOPS = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "div", gast.Pow: "pow"}
ALLOWED_UNARY = {gast.USub: "neg", gast.UAdd: "pos"}

# What to write instead, by construct (gast class name).
ADVICE = {
    "For": "loops are not supported: write the steps out (unroll the loop, e.g. by generating the code)",
    "While": "loops are not supported: write the steps out as straight-line code",
    "If": "branches are not supported: s2s_invad differentiates straight-line code only",
    "IfExp": "conditional expressions are not supported: straight-line code only",
    "Subscript": "indexing is not supported: pass each scalar as its own parameter and return scalars",
    "ListComp": "comprehensions are not supported: write each element out",
    "SetComp": "comprehensions are not supported: write each element out",
    "DictComp": "comprehensions are not supported: write each element out",
    "GeneratorExp": "generator expressions are not supported: write each element out",
    "Lambda": "lambdas are not supported inside the function: inline the expression",
    "Compare": "comparisons are not supported: straight-line arithmetic only",
    "BoolOp": "boolean operators are not supported: straight-line arithmetic only",
    "FunctionDef": "nested functions are not supported: inline the nested function",
    "AsyncFunctionDef": "async functions are not supported",
    "ClassDef": "classes are not supported inside the function",
    "Global": "'global' is not supported: read module constants without declaring them",
    "Nonlocal": "'nonlocal' is not supported",
    "With": "'with' blocks are not supported",
    "Try": "'try' is not supported: s2s_invad raises its own errors on singular points",
    "Raise": "'raise' is not supported",
    "Assert": "'assert' is not supported: check inputs before calling",
    "Delete": "'del' is not supported",
    "Import": "imports inside the function are not supported: import math or numpy at module level",
    "ImportFrom": "imports inside the function are not supported: import math or numpy at module level",
    "List": "lists are not supported: use separate scalar variables",
    "Dict": "dicts are not supported: use separate scalar variables",
    "Set": "sets are not supported: use separate scalar variables",
    "Starred": "starred expressions are not supported: name every value",
    "NamedExpr": "the walrus operator is not supported: use a separate assignment",
    "JoinedStr": "strings are not supported: straight-line arithmetic only",
    "Await": "await is not supported",
    "Yield": "generators are not supported: return the values",
    "YieldFrom": "generators are not supported: return the values",
    "Pass": "remove 'pass': an empty statement has no meaning in straight-line code",
    "Break": "loops are not supported", "Continue": "loops are not supported",
    "Match": "'match' is not supported: straight-line code only",
}

OP_ADVICE = {
    "FloorDiv": "operator // is not supported (it is not differentiable): use /",
    "Mod": "operator % is not supported (it is not differentiable)",
    "MatMult": "operator @ is not supported: write the products out with scalars",
    "BitAnd": "bitwise operators are not supported", "BitOr": "bitwise operators are not supported",
    "BitXor": "bitwise operators are not supported", "LShift": "shift operators are not supported",
    "RShift": "shift operators are not supported", "Not": "'not' is not supported",
    "Invert": "operator ~ is not supported",
}


def refuse(sf: SourceFunction, node, message: str) -> UnsupportedSyntaxError:
    """Build the error for ``node`` (raise it at the call site)."""
    lineno = getattr(node, "lineno", None) or sf.node.lineno
    col = (getattr(node, "col_offset", None) or 0) + 1
    return UnsupportedSyntaxError(message, sf.filename, lineno, col, sf.lines.get(lineno, ""))


def _construct(node) -> str:
    return type(node).__name__


def fence(sf: SourceFunction) -> SourceFunction:
    """Check that ``sf`` is inside the supported subset; return it unchanged."""
    fn = sf.node
    args = fn.args
    if args.vararg or args.kwarg or args.kwonlyargs:
        bad = args.vararg or args.kwarg or args.kwonlyargs[0]
        raise refuse(sf, bad, f"in def {fn.name}: *args, **kwargs and keyword-only parameters "
                              "are not supported: list every scalar as a positional parameter")
    if args.defaults:
        raise refuse(sf, args.defaults[0], f"in def {fn.name}: default parameter values are not "
                     "supported: pass every argument, or use a module-level constant")
    params = args.posonlyargs + args.args
    if not params:
        raise refuse(sf, fn, f"def {fn.name} has no parameters: there is nothing to differentiate")

    sf.names.update(a.id for a in params)
    local = {a.id for a in params}
    for stmt in fn.body:
        for target in getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]:
            if isinstance(target, gast.Name):
                local.add(target.id)
            elif isinstance(target, (gast.Tuple, gast.List)):
                local.update(e.id for e in target.elts if isinstance(e, gast.Name))
    sf.local_names = local
    body = list(fn.body)
    if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]                                   # docstring
    if not body or not isinstance(body[-1], gast.Return):
        where = body[-1] if body else fn
        raise refuse(sf, where, f"def {fn.name} must end with 'return' of its result(s)")
    for stmt in body[:-1]:
        _statement(sf, stmt)
    ret = body[-1]
    if ret.value is None:
        raise refuse(sf, ret, "'return' needs a value: return the result(s), e.g. 'return x, y'")
    values = ret.value.elts if isinstance(ret.value, gast.Tuple) else [ret.value]
    for value in values:
        _expression(sf, value)
    return sf


def _statement(sf: SourceFunction, stmt) -> None:
    if isinstance(stmt, gast.Return):
        raise refuse(sf, stmt, "'return' must be the last statement (early return is a branch)")
    if isinstance(stmt, gast.Assign):
        if len(stmt.targets) != 1:
            raise refuse(sf, stmt, "chained assignment 'a = b = ...' is not supported: "
                                   "assign once and copy ('a = ...' then 'b = a')")
        target = stmt.targets[0]
        if isinstance(target, (gast.Tuple, gast.List)):
            for elt in target.elts:
                if not isinstance(elt, gast.Name):
                    raise refuse(sf, elt, f"cannot assign to {_construct(elt)}: unpack into plain names")
            if not isinstance(stmt.value, (gast.Tuple, gast.List)) or len(stmt.value.elts) != len(target.elts):
                raise refuse(sf, stmt.value, "tuple unpacking needs a tuple of the same length on the "
                                             "right, e.g. 'a, b = b, a + b'")
            for elt in stmt.value.elts:
                _expression(sf, elt)
            return
        if not isinstance(target, gast.Name):
            raise refuse(sf, target, f"cannot assign to {_construct(target)}: "
                         + ADVICE.get(_construct(target), "assign to a plain name"))
        _expression(sf, stmt.value)
        return
    if isinstance(stmt, gast.AnnAssign):
        if not isinstance(stmt.target, gast.Name) or stmt.value is None:
            raise refuse(sf, stmt, "an annotated assignment needs a plain name and a value")
        _expression(sf, stmt.value)
        return
    if isinstance(stmt, gast.AugAssign):
        if not isinstance(stmt.target, gast.Name):
            raise refuse(sf, stmt.target, f"cannot assign to {_construct(stmt.target)}: "
                         + ADVICE.get(_construct(stmt.target), "assign to a plain name"))
        _operator(sf, stmt, stmt.op)
        _expression(sf, stmt.value)
        return
    if isinstance(stmt, gast.Expr):
        raise refuse(sf, stmt, "an expression statement has no effect: assign its value to a name")
    name = _construct(stmt)
    raise refuse(sf, stmt, f"{name} statement: " + ADVICE.get(name, "not supported in straight-line code"))


def _operator(sf, node, op) -> None:
    if type(op) not in ALLOWED_BINOPS and type(op) not in ALLOWED_UNARY:
        name = _construct(op)
        raise refuse(sf, node, OP_ADVICE.get(name, f"operator {name} is not supported"))


def _expression(sf: SourceFunction, node) -> None:
    if isinstance(node, gast.BinOp):
        _operator(sf, node, node.op)
        _expression(sf, node.left)
        _expression(sf, node.right)
    elif isinstance(node, gast.UnaryOp):
        _operator(sf, node, node.op)
        _expression(sf, node.operand)
    elif isinstance(node, gast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise refuse(sf, node, f"constant {node.value!r} is not supported: only int and float "
                                   "literals (complex numbers, strings and booleans are not)")
    elif isinstance(node, gast.Name):
        sf.names.add(node.id)
        if node.id in sf.local_names:
            return
        kind = sf.scope.resolve(node.id)
        if kind == "other":
            raise refuse(sf, node, f"'{node.id}' is {sf.scope.others[node.id]}, not a number: only "
                         "parameters, assigned names and module-level numeric constants can be used")
        if kind == "module":
            raise refuse(sf, node, f"module '{node.id}' used as a value: call one of its functions")
        if kind is None:
            raise refuse(sf, node, f"name '{node.id}' is not defined: use a parameter, an earlier "
                                   "assignment or a module-level numeric constant")
    elif isinstance(node, gast.Attribute):
        _constant_attribute(sf, node)
    elif isinstance(node, gast.Call):
        _call(sf, node)
    else:
        name = _construct(node)
        raise refuse(sf, node, f"{name} expression: " + ADVICE.get(name, "not supported in straight-line code"))


def _module_of(sf: SourceFunction, node) -> str | None:
    if isinstance(node, gast.Name) and node.id not in sf.local_names \
            and sf.scope.resolve(node.id) == "module":
        sf.names.add(node.id)
        return sf.scope.modules[node.id]
    return None


def _constant_attribute(sf, node) -> None:
    kind = _module_of(sf, node.value)
    if kind is None or node.attr not in CONSTANTS[kind]:
        allowed = ", ".join(f"math.{c}" for c in sorted(CONSTANTS["math"]))
        raise refuse(sf, node, f"attribute access '{_dotted(node)}' is not supported: the only "
                               f"attributes allowed as values are the constants {allowed}, np.pi, np.e")


def _dotted(node) -> str:
    if isinstance(node, gast.Attribute):
        return _dotted(node.value) + "." + node.attr
    if isinstance(node, gast.Name):
        return node.id
    return "<expr>"


def resolve_call(sf: SourceFunction, node) -> tuple[str, str | None]:
    """(canonical primitive, module alias or None for builtin abs) of a fenced call."""
    func = node.func
    if isinstance(func, gast.Name):
        return "abs", None
    return lookup_function(sf.scope.modules[func.value.id], func.attr), func.value.id


def _call(sf, node) -> None:
    func = node.func
    if node.keywords:
        raise refuse(sf, node.keywords[0].value if node.keywords else node,
                     f"keyword arguments in the call of {_dotted(func)} are not supported: pass arguments positionally")
    if isinstance(func, gast.Name):
        if func.id != "abs":
            raise refuse(sf, node, f"call of '{func.id}' is not supported: only math.<fn>, np.<fn> "
                         f"and abs are known (supported: {', '.join(supported_functions('math'))}); "
                         "inline the function's body, and call math/numpy functions as attributes")
    elif isinstance(func, gast.Attribute):
        kind = _module_of(sf, func.value)
        if kind is None:
            raise refuse(sf, node, f"method call '{_dotted(func)}(...)' is not supported: call math.<fn> "
                                   "or np.<fn> on the value instead")
        if lookup_function(kind, func.attr) is None:
            raise refuse(sf, node, f"{_dotted(func)} is not supported: the {kind} functions s2s_invad "
                         f"differentiates are {', '.join(supported_functions(kind))}")
    else:
        raise refuse(sf, node, "only calls of math.<fn>, np.<fn> and abs are supported")
    for arg in node.args:
        if isinstance(arg, gast.Starred):
            raise refuse(sf, arg, "starred arguments are not supported: pass each argument")
    if len(node.args) != 1:
        raise refuse(sf, node, f"{_dotted(func)} takes exactly one argument here, got {len(node.args)}")
    _expression(sf, node.args[0])
