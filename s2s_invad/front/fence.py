"""Front end, step 1: the default-deny fence.

Walks the parsed function and refuses, with :class:`UnsupportedSyntaxError`, every
construct outside the input language (the list is in README.md, "The input language").
Which uses are allowed is a matter for transform-time evaluation
(:mod:`s2s_invad.front.evaluate`): a loop over a range of constants unrolls, a condition on
a runtime value is refused there. The fence only rules out syntax that no use makes
meaningful (classes, exceptions, dicts, generators...), so every later pass can assume the
subset. Nested defs and lambdas are checked as scopes of their own: the names they bind
are theirs (``sf.nested``); their default values belong to the enclosing scope. Each refusal names the construct, its absolute line and column, and
what to write instead. The walk is iterative, so deeply nested expressions are fine.
"""

from __future__ import annotations

from .. import _astlib as A
from ..errors import UnsupportedSyntaxError
from .loader import SourceFunction

gast = A.gast

# Statements and expressions of the language (anything else is refused).
STATEMENTS = {"Assign", "AugAssign", "AnnAssign", "For", "While", "If", "Break", "Continue",
              "Return", "Expr", "Pass", "Assert", "Delete", "FunctionDef"}
EXPRESSIONS = {"BinOp", "UnaryOp", "BoolOp", "Compare", "IfExp", "Call", "Constant", "Name",
               "Attribute", "Subscript", "Slice", "Tuple", "List", "Starred", "ListComp",
               "GeneratorExp", "Lambda"}
OTHER_NODES = {"keyword", "comprehension", "arguments", "arg", "Load", "Store", "Del",
               "alias"}

# What to write instead, by construct (gast class name).
ADVICE = {
    "AsyncFunctionDef": "async functions are not supported: write a plain def that computes the values "
                        "(no await, async for or async with)",
    "ClassDef": "classes are not supported inside the function",
    "Global": "'global' is not supported: read module constants without declaring them",
    "Nonlocal": "'nonlocal' is not supported: return the new value from the nested function and assign "
                "it in the enclosing one",
    "With": "'with' blocks are not supported",
    "AsyncWith": "'async with' is not supported",
    "AsyncFor": "'async for' is not supported",
    "Try": "'try' is not supported: s2s_invad raises its own errors on singular points",
    "TryStar": "'try' is not supported",
    "Raise": "'raise' is not supported: check inputs before calling (or use assert on "
             "transform-time values)",
    "Import": "imports inside the function are not supported: import math or numpy at module level",
    "ImportFrom": "imports inside the function are not supported: import at module level",
    "Dict": "dicts are not supported: use a list, a tuple or separate variables",
    "Set": "sets are not supported: use a list or a tuple",
    "DictComp": "dict comprehensions are not supported: use a list comprehension",
    "SetComp": "set comprehensions are not supported: use a list comprehension",
    "NamedExpr": "the walrus operator is not supported: use a separate assignment",
    "JoinedStr": "f-strings are not supported: the function computes numbers only",
    "FormattedValue": "f-strings are not supported",
    "Await": "await is not supported: s2s_invad differentiates plain functions of numbers",
    "Yield": "'yield' makes the function a generator, and generators are not supported: return the "
             "values instead (collect them in a list or a tuple and return that)",
    "YieldFrom": "'yield from' makes the function a generator, and generators are not supported: "
                 "return the values instead (collect them in a list or a tuple and return that)",
    "Match": "'match' is not supported: use if/elif on transform-time values",
}


def refuse(sf: SourceFunction, node, message: str, cls=UnsupportedSyntaxError) -> UnsupportedSyntaxError:
    """Build the error for ``node`` (raise it at the call site)."""
    lineno = getattr(node, "lineno", None) or sf.node.lineno
    col = (getattr(node, "col_offset", None) or 0) + 1
    return cls(message, sf.filename, lineno, col, sf.lines.get(lineno, ""))


def _construct(node) -> str:
    return type(node).__name__


def assigned_names(body) -> set[str]:
    """Names bound by assignments, loops and deletions anywhere in ``body`` (Python's
    rule for local variables; comprehension variables stay local to the comprehension)."""
    names: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (gast.ListComp, gast.GeneratorExp, gast.Lambda)):
            continue
        if isinstance(node, gast.FunctionDef):          # its name is bound here, its body is its own
            names.add(node.name)
            continue
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            names.add(node.id)
        stack.extend(gast.iter_child_nodes(node))
    return names


def fence(sf: SourceFunction, helper: bool = False) -> SourceFunction:
    """Check that ``sf`` is inside the supported subset; return it (marked fenced).

    ``helper``: a function inlined at a call site may have default values and
    keyword-only parameters; the transformed function itself takes positional ones only,
    with default values only when it is a live function (the API passes a left-out
    parameter its default, as a value that is not differentiated unless wrt names it), and
    keyword-only parameters with default values, which are constants fixed at their defaults
    (as JAX takes them).
    """
    if sf.fenced:
        return sf
    fn = sf.node
    if isinstance(fn, gast.AsyncFunctionDef):
        raise refuse(sf, fn, f"async def {fn.name}: " + ADVICE["AsyncFunctionDef"])
    args = fn.args
    if args.vararg or args.kwarg:
        bad = args.vararg or args.kwarg
        raise refuse(sf, bad, f"in def {fn.name}: *args and **kwargs are not supported: "
                              "list every parameter")
    if not helper:
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is None:
                raise refuse(sf, param, f"in def {fn.name}: the keyword-only parameter '{param.id}' has no "
                             "default value: keyword-only parameters are constants fixed at their defaults "
                             f"(the primals are positional): give it one ({param.id}=...) and bind other "
                             f"values with functools.partial({fn.name}, {param.id}=...), or make it "
                             "positional to pass or differentiate it")
        if args.defaults and sf.defaults is None:        # a live function's are filled in by the API
            raise refuse(sf, args.defaults[0], f"in def {fn.name}: default parameter values are "
                         "not supported in the function being differentiated here (the generated "
                         "functions take every parameter): remove the default, or use a module-level "
                         "constant (helpers may have defaults)")
        if not args.posonlyargs + args.args:
            raise refuse(sf, fn, f"def {fn.name} has no parameters: there is nothing to differentiate")
    params = args.posonlyargs + args.args + args.kwonlyargs
    sf.names.update(a.id for a in params)
    body = list(fn.body)
    if not body:
        raise refuse(sf, fn, f"def {fn.name} has an empty body")
    sf.local_names = _walk(sf, body) | {a.id for a in params}
    sf.fenced = True
    return sf


_STATEMENT_TYPES = {getattr(gast, name) for name in STATEMENTS}
_EXPRESSION_TYPES = {getattr(gast, name) for name in EXPRESSIONS}
_FIELDS: dict = {}


def _walk(sf: SourceFunction, body) -> set[str]:
    """Check every node (depth first, in source order); collect the identifiers in
    ``sf.names`` and return the names the body binds (Python's local variables;
    comprehension variables stay local to their comprehension). One pass, no recursion."""
    names, local, comprehension_targets = sf.names, set(), set()
    stack = list(reversed(body))
    name_type, stmt_type, expr_type = gast.Name, gast.stmt, gast.expr
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is gast.FunctionDef or cls is gast.Lambda:
            if cls is gast.FunctionDef:
                local.add(node.name)
                names.add(node.name)
            stack.extend(reversed(_nested(sf, node)))       # its defaults: the enclosing scope's
            continue
        if cls is name_type:
            names.add(node.id)
            if type(node.ctx) is not gast.Load and id(node) not in comprehension_targets:
                local.add(node.id)
            continue
        if cls in _STATEMENT_TYPES:
            _statement(sf, node)
        elif cls in _EXPRESSION_TYPES:
            if cls is gast.Constant or cls is gast.Call:
                _expression(sf, node)
        elif isinstance(node, (stmt_type, expr_type)):
            kind = cls.__name__
            what = "statement" if isinstance(node, stmt_type) else "expression"
            raise refuse(sf, node, f"{kind} {what}: " + ADVICE.get(kind, "not supported"))
        elif cls is gast.comprehension:
            if node.is_async:
                raise refuse(sf, node.iter, "async comprehensions are not supported")
            comprehension_targets.update(id(n) for n in gast.walk(node.target) if type(n) is name_type)
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = cls._fields
        children = []
        for field in fields:
            value = getattr(node, field, None)
            if type(value) is list:
                children.extend(v for v in value if isinstance(v, gast.AST))
            elif isinstance(value, gast.AST):
                children.append(value)
        stack.extend(reversed(children))
    return local


def _nested(sf: SourceFunction, node) -> list:
    """Check a nested def or lambda as a scope of its own; record the names it binds in
    ``sf.nested``; return the nodes the enclosing scope evaluates (its default values)."""
    args = node.args
    what = f"def {node.name}" if isinstance(node, gast.FunctionDef) else "lambda"
    if args.vararg or args.kwarg:
        raise refuse(sf, args.vararg or args.kwarg, f"in {what}: *args and **kwargs are not supported: "
                                                    "list every parameter")
    if isinstance(node, gast.FunctionDef):
        if node.decorator_list:
            raise refuse(sf, node.decorator_list[0], f"decorators on the nested {what} are not supported: "
                                                     "call the functions they stand for in its body")
        body = list(node.body)
    else:
        body = [node.body]
    params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    sf.names.update(params)
    sf.nested[id(node)] = _walk(sf, body) | params
    return list(args.defaults) + [d for d in args.kw_defaults if d is not None]


def _statement(sf: SourceFunction, stmt) -> None:
    if isinstance(stmt, gast.Expr):
        value = stmt.value
        if isinstance(value, gast.Constant) and isinstance(value.value, str):
            return                                        # a docstring or string comment
        if isinstance(value, (gast.Yield, gast.YieldFrom, gast.Await)):      # not a statement without effect
            kind = type(value).__name__
            raise refuse(sf, value, f"{kind} expression: " + ADVICE[kind])
        if not isinstance(value, gast.Call):
            raise refuse(sf, stmt, "an expression statement has no effect: assign its value to "
                                   "a name (only calls such as F.append(x) may stand alone)")
    elif isinstance(stmt, gast.AnnAssign) and stmt.value is None:
        raise refuse(sf, stmt, "an annotation without a value declares nothing: assign a value")
    elif isinstance(stmt, gast.Delete):
        for target in stmt.targets:
            if not isinstance(target, gast.Name):
                raise refuse(sf, target, "'del' of an element is not supported: only 'del name'")
    elif isinstance(stmt, (gast.For, gast.While)) and getattr(stmt, "type_comment", None):
        return


def _expression(sf: SourceFunction, node) -> None:
    if isinstance(node, gast.Constant):
        value = node.value
        if isinstance(value, complex):
            raise refuse(sf, node, f"constant {value!r} is not supported: s2s_invad differentiates "
                                   "real arithmetic (no complex numbers)")
        if isinstance(value, bytes):
            raise refuse(sf, node, "bytes literals are not supported")
    elif isinstance(node, gast.Call):
        for kw in node.keywords:
            if kw.arg is None:
                raise refuse(sf, kw.value, "'**' arguments are not supported: pass keywords by name")
