"""Front end, step 0: find a function's source, parse it, and learn its namespace.

Three ways in, one result (:class:`SourceFunction`):

* :func:`from_function` for a live Python function (the decorator and functional API);
  names resolve through the function's globals and closure;
* :func:`from_file` for a file read as text and never executed (the CLI); names resolve
  through the module's top-level statements, evaluated at transform time as far as they
  are in the language (imports of math and numpy, constants and expressions of them,
  helper functions);
* :func:`from_source` for source text given directly (``si.from_source(text, "f")``).

Module-level names are classified by :class:`Scope`: a module (math, numpy), a
transform-time value (numbers, bools, nested tuples and lists of numbers, NumPy arrays of
numbers, parameter objects: :mod:`s2s_invad.front.objects`), a helper function to inline, a math/numpy function imported by name, or
something else (refused where used, saying what it is). Line numbers and columns in the
parsed tree are absolute in the file.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import itertools
import linecache
import math
import re
import textwrap
import types
from dataclasses import dataclass, field

import numpy as np

from .. import _astlib as A
from ..errors import SourceUnavailableError
from .objects import ParamObject, Unreadable, convert, is_namedtuple, is_param_object
from .values import NamedFloat, NamedInt, constant_dict

gast = A.gast

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The lines of Python source as the tokenizer counts them: only \\n, \\r\\n and \\r
    end a line (``str.splitlines`` also splits on form feeds, \\x1c-\\x1e, \\u2028...)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class Scope:
    """What the free names of a function mean, resolved on demand and remembered.

    ``lookup(name)`` returns ``(kind, value)`` or None for an unbound name, with kind one of
    ``"module"`` (value "math" or "numpy"), ``"value"`` (a transform-time value),
    ``"helper"`` (a live function or a :class:`SourceFunction` to inline), ``"known"``
    (``(module, attr)`` of a math/numpy function imported by name) or ``"other"`` (value: a
    description, for the error message). ``used`` records every lookup, so the digest
    covers exactly the module names a function read.
    """

    def __init__(self, resolve):
        self._resolve = resolve          # name -> (kind, value), raises KeyError
        self.used: dict[str, tuple] = {}

    def lookup(self, name: str):
        if name not in self.used:
            try:
                self.used[name] = self._resolve(name)
            except KeyError:
                return None
        return self.used[name]

    @property
    def modules(self) -> dict[str, str]:
        return {k: v for k, (kind, v) in self.used.items() if kind == "module"}

    def digest_items(self) -> list:
        """(name, kind, repr of value) of every name looked up, for staleness hashes."""
        out = []
        for name, (kind, value) in sorted(self.used.items()):
            if kind == "value":
                text = repr(value.tolist()) if isinstance(value, np.ndarray) else repr(value)
            elif kind == "helper":
                text = value.text if isinstance(value, SourceFunction) else getattr(value, "__qualname__", "")
            else:
                text = repr(value)
            out.append((name, kind, text))
        return out


@dataclass
class SourceFunction:
    name: str
    filename: str
    node: "gast.FunctionDef"
    lines: dict[int, str]        # absolute line number -> text of that line
    scope: Scope
    text: str                    # the function's source text (hashed for staleness)
    names: set[str] = field(default_factory=set)        # every identifier (filled by the fence)
    local_names: set[str] = field(default_factory=set)  # parameters and assigned names (fence)
    defaults: tuple | None = None  # live default values (API); None: evaluate the nodes
    kwdefaults: dict | None = None  # live keyword-only defaults (API), with ``defaults``
    fenced: bool = False
    nested: dict = field(default_factory=dict)          # id(nested def or lambda) -> its names (fence)


def source_digest(*parts) -> str:
    """Hash of a function's source and everything it read (for staleness checks)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _describe(value) -> str:
    if isinstance(value, type):
        return "a class"
    if callable(value):
        return "a function s2s_invad does not know"
    return f"a {type(value).__name__}"


def _plain_number(x):
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    return float(x)


def _is_numeric_tree(value, depth=0) -> bool:
    if depth > 32:
        return False
    if isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_is_numeric_tree(v, depth + 1) for v in value)
    return False


def _copy_tree(value):
    if isinstance(value, tuple):
        return tuple(_copy_tree(v) for v in value)
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return _plain_number(value)


_KNOWN_OBJECTS: dict[int, tuple[str, str]] | None = None


def known_function(value) -> tuple[str, str] | None:
    """("math", "sin") when ``value`` is math.sin, ("numpy", "exp") for np.exp, else None."""
    global _KNOWN_OBJECTS
    if _KNOWN_OBJECTS is None:
        from .library import known_names
        table = {}
        for module_kind, module in (("math", math), ("numpy", np)):
            for attr in known_names(module_kind):
                obj = getattr(module, attr, None)
                if obj is not None and callable(obj):
                    table.setdefault(id(obj), (module_kind, attr))
        _KNOWN_OBJECTS = table
    return _KNOWN_OBJECTS.get(id(value))


def classify(name: str, value) -> tuple:
    """(kind, value) of a live module-level object (see :class:`Scope`)."""
    if value is math:
        return "module", "math"
    if value is np:
        return "module", "numpy"
    if isinstance(value, (bool, np.bool_)) or value is None:
        return "value", value if not isinstance(value, np.bool_) else bool(value)
    if isinstance(value, str):
        return "other", f"a str ({value[:40]!r}), not a number"
    if isinstance(value, (int, np.integer)):
        return "value", NamedInt(int(value), name)
    if isinstance(value, (float, np.floating)):
        return "value", NamedFloat(float(value), name)
    if is_namedtuple(value):                      # its fields by name and by index
        return "value", convert(name, value)
    if isinstance(value, (tuple, list)):
        if _is_numeric_tree(value):
            return "value", _copy_tree(value)
        converted = convert(name, value)          # e.g. a list of parameter objects
        if not isinstance(converted, Unreadable):
            return "value", converted
        return "other", f"a {type(value).__name__} that does not hold only numbers"
    if isinstance(value, dict):
        return constant_dict(name, value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            arr = np.array(value, copy=True)
            arr.setflags(write=False)
            return "value", arr
        return "other", f"a NumPy array of dtype {value.dtype} (only real numbers are supported)"
    if isinstance(value, types.FunctionType):
        return "helper", value
    if is_param_object(value):                    # a dataclass, a SimpleNamespace, an object
        return "value", ParamObject(name, value)
    known = known_function(value)
    if known is not None:
        return "known", known
    if isinstance(value, types.ModuleType):
        return "other", f"the module {value.__name__} (only math and numpy are supported)"
    return "other", _describe(value)


def _live_scope(fn) -> Scope:
    closure = {}
    if fn.__closure__:
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                pass
    glob = fn.__globals__

    def resolve(name):
        if name in closure:
            return classify(name, closure[name])
        if name in glob:
            return classify(name, glob[name])
        raise KeyError(name)
    return Scope(resolve)


def _function_lines(file_lines: list[str], node) -> tuple[dict[int, str], str]:
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = {i: file_lines[i - 1] if i - 1 < len(file_lines) else "" for i in range(first, node.end_lineno + 1)}
    text = textwrap.dedent("\n".join(lines.values()) + "\n")
    return lines, text


def from_function(fn) -> SourceFunction:
    """Parse a live function; raise SourceUnavailableError when its source is not readable."""
    if not isinstance(fn, types.FunctionType):
        raise SourceUnavailableError(
            f"{fn!r} is not a Python function defined with def; s2s_invad transforms "
            "the source of plain functions (wrap callables in a def)")
    if fn.__code__.co_name == "<lambda>":
        if getattr(fn, "__wrapped__", None) is not None:        # functools.wraps(inner)(lambda ...)
            raise SourceUnavailableError(
                f"{fn.__name__} is a lambda (at {_site(fn)}) that functools.wraps named after the function "
                f"it wraps, {_qualname(fn.__wrapped__)}: s2s_invad differentiates the code a function "
                "runs, never the function it says it wraps, and a lambda's source cannot be read on its "
                "own. Write the wrapper as a def, decorate the inner def instead, or pass the "
                f"undecorated function ({fn.__name__}.__wrapped__) if that is what you mean to differentiate")
    lam = fn.__code__.co_name == "<lambda>"
    filename = fn.__code__.co_filename
    node = None
    file_lines = linecache.getlines(filename, fn.__globals__)
    text = "".join(file_lines)
    if file_lines:
        try:
            node = _lambda_at(text, fn) if lam else A.parse_function_at(text, fn.__code__.co_firstlineno)
        except SyntaxError:
            node = None                                   # the file changed since import
    if node is None:
        try:                     # the code object: inspect would follow __wrapped__ to another function
            raw_lines, start = inspect.getsourcelines(fn.__code__)
        except (OSError, TypeError) as exc:
            raise SourceUnavailableError(
                f"the source of {fn.__qualname__} is not available ({exc}): Python keeps no "
                "text for functions typed at a plain interactive prompt or built with exec "
                "from a string. Define it in a .py file, pass the text with "
                "si.from_source(text, name), or register the text with linecache under the "
                "file name you compiled it with") from None
        text = "".join(raw_lines)
        indented = raw_lines[0][:1] in (" ", "\t")
        # Pad so that the parser itself reports absolute lines and columns.
        if lam:
            padded = ("\n" * (start - 2) + "if 1:\n" if indented and start >= 2 else "\n" * (start - 1)) + text
            try:
                node = _lambda_at(padded, fn)
            except SyntaxError:
                node = None
        elif indented and start >= 2:
            node = A.parse("\n" * (start - 2) + "if 1:\n" + text).body[0].body[0]
        else:
            node = A.parse("\n" * (start - 1) + textwrap.dedent(text)).body[0]
        file_lines = [""] * (start - 1) + raw_lines
    if lam and node is None:
        raise SourceUnavailableError(
            f"the lambda at {_site(fn)} could not be found in its source, or not told apart from another "
            "lambda with the same parameters on that line: write the function with def")
    if not isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):       # async: the fence says why not
        raise SourceUnavailableError(f"could not find the def of {fn.__qualname__} in its source")
    if not lam and node.name != fn.__code__.co_name:     # the def found is not the code that runs
        raise SourceUnavailableError(
            f"the source at {_site(fn)} defines {node.name}, not {fn.__code__.co_name}, the code "
            f"{fn.__qualname__} runs (the file changed since it was imported?): reload the module")
    lines, text = _function_lines([ln.rstrip("\r\n") for ln in file_lines], node)
    defaults = tuple(fn.__defaults__ or ())
    return SourceFunction(node.name if lam else fn.__name__, filename, node, lines, _live_scope(fn), text,
                          defaults=defaults, kwdefaults=dict(fn.__kwdefaults__ or {}))


def _lambda_at(text: str, fn):
    """The lambda ``fn`` as a def named after the variable it is assigned to, else
    ``lambda_<line>`` (its generated functions are named after that); None if not found."""
    found = A.parse_lambda_at(text, fn.__code__)
    if found is None:
        return None
    node, assigned = found
    node.name = assigned if assigned and assigned.isidentifier() else f"lambda_{fn.__code__.co_firstlineno}"
    return node




def _qualname(fn) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _site(fn) -> str:
    """file:line of a live function's code."""
    return f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"


def transparent_inner(fn):
    """The function a decorator's wrapper stands for when the wrapper provably passes its
    arguments through unchanged and returns the inner result unchanged: its source is
    ``def wrapper(*args, **kwargs): return inner(*args, **kwargs)`` (a docstring allowed;
    ``*args`` alone or ``**kwargs`` alone too), ``inner`` is bound (closure or module) to
    the very object ``fn.__wrapped__``. None otherwise: a wrapper that computes anything is
    not unwrapped (differentiating the inner function would silently drop its work)."""
    inner = getattr(fn, "__wrapped__", None)
    if not isinstance(fn, types.FunctionType) or not isinstance(inner, types.FunctionType) \
            or fn.__code__.co_name == "<lambda>" or fn.__code__.co_argcount or fn.__code__.co_kwonlyargcount:
        return None
    try:
        sf = from_function(fn)
    except (SourceUnavailableError, SyntaxError):
        return None
    args = sf.node.args
    body = [s for s in sf.node.body if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant)
                                             and isinstance(s.value.value, str))]
    if len(body) != 1 or not isinstance(body[0], gast.Return) or not isinstance(body[0].value, gast.Call):
        return None
    call = body[0].value
    star = args.vararg.id if args.vararg is not None else None
    double = args.kwarg.id if args.kwarg is not None else None
    passed_star = [a.value.id for a in call.args if isinstance(a, gast.Starred) and isinstance(a.value, gast.Name)]
    passed_double = [k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, gast.Name)]
    if len(call.args) != (star is not None) or len(call.keywords) != (double is not None) \
            or passed_star != ([star] if star else []) or passed_double != ([double] if double else []):
        return None
    if not isinstance(call.func, gast.Name):
        return None
    found = sf.scope.lookup(call.func.id)
    if found is None or found[0] != "helper" or found[1] is not inner:
        return None
    return inner


def from_file(filename: str, text: str) -> list[SourceFunction]:
    """Every top-level def of a module given as text, in file order (nothing is executed)."""
    from .evaluate import module_names          # the module's constants, evaluated from text
    tree = A.parse(text)
    file_lines = source_lines(text)
    table: dict | None = None
    functions: dict[str, SourceFunction] = {}

    def resolve(name):
        nonlocal table
        if table is None:
            table = module_names(tree, filename, file_lines, functions)
        return table[name]

    scope = Scope(resolve)
    result = []
    for node in tree.body:
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):      # async: the fence says why not
            lines, body_text = _function_lines(file_lines, node)
            sf = SourceFunction(node.name, filename, node, lines, scope, body_text)
            functions[node.name] = sf
            result.append(sf)
    # Each function gets its own record of the names it reads.
    return [SourceFunction(sf.name, sf.filename, sf.node, sf.lines, Scope(resolve), sf.text)
            for sf in result]


_SOURCE_COUNTER = itertools.count(1)


def register_source(text: str, name: str) -> str:
    """A pseudo file name for ``text``, registered with linecache (so tracebacks, inspect
    and s2s_invad can read it back); the same text gets the same name."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    filename = f"<s2s_invad source {name} {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    return filename


def from_source(text: str, name: str, namespace: dict | None = None):
    """The live function ``name`` defined by the source ``text`` (executed once, with
    ``namespace`` as its globals; math and numpy are imported by the text itself)."""
    if not isinstance(text, str):
        raise SourceUnavailableError(f"from_source needs the source as a str, got {type(text).__name__}")
    text = textwrap.dedent(text)
    filename = register_source(text, name)
    glob = {"__name__": f"s2s_invad_source_{next(_SOURCE_COUNTER)}"} if namespace is None else namespace
    try:
        try:
            code = compile(text, filename, "exec", dont_inherit=True)     # not this module's __future__ flags
        except (RecursionError, MemoryError):            # Python's own limit on nesting
            raise A.too_deep(text) from None
    except SyntaxError as exc:
        from ..errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(f"invalid Python syntax: {exc.msg}", filename, exc.lineno or 1,
                                     exc.offset or 1, exc.text or "") from None
    exec(code, glob)
    fn = glob.get(name)
    if not isinstance(fn, types.FunctionType):
        defined = sorted(k for k, v in glob.items() if isinstance(v, types.FunctionType))
        raise SourceUnavailableError(f"the source defines no function {name!r} (it defines: "
                                     f"{', '.join(defined) or 'none'})")
    return fn


def copy_value(value):
    """A private copy of a transform-time value (module lists are not mutated in place)."""
    if isinstance(value, list):
        return copy.deepcopy(value)
    return value
