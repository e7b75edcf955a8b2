"""Run time, failure path only: name the source line where generated code stopped being finite.

Every generated function (see :mod:`s2s_invad.back.checks`) runs its statements inside one
``try`` (free in CPython 3.11+ until something raises) and checks once, before returning,
that every value it returns is finite. Nothing here runs unless one of the two fails:

* :func:`failed`, from the ``except`` clause: a float division by zero, an overflow in
  ``**`` or a math domain error. The traceback gives the generated line; the comment above
  it (``# line 12: y = math.sqrt(x)``) gives the source line.
* :func:`not_finite`, when a result is inf or NaN. The function is run again on the same
  arguments, instrumented to check each value as it is assigned, so the error cites the
  first statement whose value was not finite (with the batch index for arrays).

Both raise :class:`~s2s_invad.errors.NonFiniteError`; nothing else leaves generated code
but the errors of :mod:`s2s_invad.errors` (and exceptions that are not numeric, such as a
broadcasting ValueError, which pass through unchanged).
"""

from __future__ import annotations

import ast
import linecache
import re
import sys
import types
import warnings

import numpy as np

from .errors import NonFiniteError, S2SError

# What a numeric step can raise in scalar code (float division by zero, ``**`` overflow,
# numpy errors under np.seterr(all="raise")); ValueError only for math domain errors.
NUMERIC_ERRORS = (ArithmeticError, ValueError)
# What a forward check of a rebuild can raise besides: a negative number to a fractional
# power is complex in Python, which math functions refuse (TypeError): that rebuild is inexact.
CHECK_ERRORS = NUMERIC_ERRORS + (TypeError,)

# the comments that quote the source; in an unrolled loop they name the iteration: "# line 4 (k = 1): ..."
_ITERATION = r"(?: \([^:]*?\))?"
_STEP = re.compile(r"\s*# line (\d+)" + _ITERATION + r": (.*)")
_LUMP = re.compile(r"\s*# lines (\d+)-(\d+)" + _ITERATION + r": lump with k = (\d+)")
_LUMP_LINE = re.compile(r"\s*#   (\d+)" + _ITERATION + r": (.*)")
_TARGET = re.compile(r"\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=[^=]")


def failed(filename: str) -> None:
    """Called in a generated ``except`` clause: raise the error the exception deserves."""
    exc = sys.exc_info()[1]
    if isinstance(exc, S2SError) or (type(exc) is ValueError and "math domain error" not in str(exc)):
        raise exc
    tb = exc.__traceback__
    gen_file, gen_line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
    line, text = source_site(gen_file, gen_line)
    code = linecache.getline(gen_file, gen_line).strip()
    what = describe(_target(code))
    raise NonFiniteError(
        f"{_where(filename, line)}{type(exc).__name__} ({exc}) computing {what} at `{text}`: the "
        f"function or its derivatives are not finite at this point (generated code: `{code}`). "
        f"{ADVICE}", filename, line) from exc


ADVICE = ("Derivatives do not exist here as floats: move the point away from the edge of the "
          "function's domain, or rescale the variables so no value overflows.")


def not_finite(filename: str) -> None:
    """Called by generated code whose result is not finite: find the first value that was not."""
    frame = sys._getframe(1)
    code = frame.f_code
    args = [frame.f_locals[name] for name in code.co_varnames[:code.co_argcount]]
    check_inputs(filename, frame)
    fn = _instrumented(code, frame.f_globals)
    found = None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args)
        except _Found as exc:
            found = exc
    if found is None:
        raise NonFiniteError(f"{filename}: {code.co_name} computed a result that is not finite. {ADVICE}",
                             filename, None)
    line, text = source_site(code.co_filename, found.lineno)
    what = describe(found.name)
    why = ("not a real number (a negative number to a fractional power)" if isinstance(found.value, complex)
           else "not finite")
    raise NonFiniteError(
        f"{_where(filename, line)}{what} is {found.value!r}{at_index(found.index)} at `{text}`: the "
        f"function or its derivatives are {why} at this point (generated code: "
        f"`{linecache.getline(code.co_filename, found.lineno).strip()}`). {ADVICE}",
        filename, line, found.value, found.index)


def check_inputs(filename: str, frame) -> None:
    """Raise NonFiniteError naming the first argument of the generated function running in
    ``frame`` that is not finite (a primal, a tangent or a cotangent), with the element of a
    vector and the batch index; return when every argument is finite.

    Arguments the body assigns again (a loop kept as a loop may reuse a parameter's name)
    and the tape (``_tape``: values the function computed, not inputs) are not examined.
    """
    code = frame.f_code
    vectors, rebound = _parameter_uses(code)
    for name in code.co_varnames[:code.co_argcount]:
        if name.startswith("_") or name in rebound:
            continue
        bad = _bad_argument(frame.f_locals[name], name in vectors)
        if bad is None:
            continue
        element, index, x = bad
        at = f" at {name}{''.join(f'[{i}]' for i in element)}" if element else ""
        raise NonFiniteError(
            f"{filename}: the input {name} of {code.co_name} ({_kind(name)}) is {x!r}{at}"
            f"{at_index(index)}: derivatives at a point that is not finite do not exist; check the "
            "inputs", filename, None, x, index)


def _kind(name: str) -> str:
    return "a tangent" if name.endswith("_dot") else "a cotangent" if name.endswith("_bar") else "an argument"


def _bad_argument(value, vector: bool):
    """(element path, batch index or None, value) of the first element of an argument that
    is not finite, or None. A list or tuple is a vector (element by element); so is an array
    for a parameter the function unpacks (its first axis), whose other axes are the batch."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            bad = _bad_argument(item, False)
            if bad is not None:
                return (i,) + bad[0], bad[1], bad[2]
        return None
    bad = first_bad(value)
    if bad is None:
        return None
    index, x = bad
    if vector and isinstance(value, np.ndarray) and value.ndim >= 1:
        index = index if isinstance(index, tuple) else (index,)
        rest = index[1:]
        return (index[0],), (None if not rest else rest[0] if len(rest) == 1 else rest), x
    return (), index, x


_uses: dict = {}


def _parameter_uses(code: types.CodeType) -> tuple[frozenset, frozenset]:
    """(parameters the generated function unpacks as vectors, ``a, b, c = u``; parameters
    its body assigns again), read from its source."""
    key = (code.co_filename, code.co_firstlineno, code.co_name)
    if key not in _uses:
        vectors, rebound = set(), set()
        params = set(code.co_varnames[:code.co_argcount])
        try:
            tree = ast.parse(_function_source(code))
        except SyntaxError:                           # no source: examine every argument whole
            tree = ast.Module([], [])
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) \
                    and node.value.id in params and any(isinstance(t, ast.Tuple) for t in node.targets):
                vectors.add(node.value.id)
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.id in params:
                rebound.add(node.id)
        _uses[key] = (frozenset(vectors), frozenset(rebound))
    return _uses[key]


def _function_source(code: types.CodeType) -> str:
    """The text of the generated function of ``code`` (its def line and indented body)."""
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "\t")):
        end += 1
    return "".join(lines[start:end])


def _where(filename: str, line: int | None) -> str:
    return f"{filename}:{line}: " if line is not None else f"{filename}: "


def at_index(index) -> str:
    return "" if index is None else f" (first at batch index {index})"


def first_bad(value):
    """(batch index or None, value) of the first element that is not finite; None if all are.

    Values that are not numbers (the tape, a partial function) count as finite.
    """
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return None if value - value == 0 else (None, float(value))
    if isinstance(value, complex):                     # (-1.0) ** 0.5 in Python: not a real number
        return None, value
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        ok = np.isfinite(value) & (np.imag(value) == 0)
        if ok.all():
            return None
        flat = int(np.flatnonzero(~ok)[0])
        index = tuple(int(i) for i in np.unravel_index(flat, value.shape))
        bad = value[index]
        return (index[0] if len(index) == 1 else index), (complex(bad) if np.imag(bad) else float(bad))
    if isinstance(value, np.generic) and np.issubdtype(type(value), np.inexact):
        return None if np.isfinite(value) and not np.imag(value) else (None, value.item())
    return None


class _Found(Exception):
    def __init__(self, lineno: int, name: str, value, index):
        super().__init__(name)
        self.lineno, self.name, self.value, self.index = lineno, name, value, index


def _probe(lineno: int, name: str, value) -> None:
    bad = first_bad(value)
    if bad is not None:
        raise _Found(lineno, name, bad[1], bad[0])


_cache: dict = {}


def _instrumented(code: types.CodeType, globals_: dict):
    """The generated function of ``code``, rebuilt from its source with a probe after every
    assignment and without its final check (so the rerun stops at the first bad value)."""
    source = _function_source(code)
    start = code.co_firstlineno - 1
    key = (code.co_filename, start, source)
    if key not in _cache:
        tree = ast.parse(source)
        ast.increment_lineno(tree, start)
        tree.body[0].body = _probed(tree.body[0].body)
        tree.body[0].decorator_list = []
        _cache[key] = compile(tree, code.co_filename, "exec")
    namespace = dict(globals_, __s2s_probe=_probe)
    exec(_cache[key], namespace)
    return namespace[code.co_name]


def _probed(stmts: list) -> list:
    out = []
    for stmt in stmts:
        if isinstance(stmt, ast.If) and _is_final_check(stmt):
            continue
        for field in ("body", "orelse"):
            if isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and field in stmt._fields:
                setattr(stmt, field, _probed(getattr(stmt, field)))
        out.append(stmt)
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        probe = ast.Expr(ast.Call(ast.Name("__s2s_probe", ast.Load()),
                                                  [ast.Constant(stmt.lineno), ast.Constant(node.id),
                                                   ast.Name(node.id, ast.Load())], []))
                        out.append(ast.copy_location(probe, stmt))
    return [ast.fix_missing_locations(s) for s in out]


def _is_final_check(stmt: ast.If) -> bool:
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    return any(c.func.attr == "not_finite" for c in calls)


def source_site(filename: str, lineno: int) -> tuple[int | None, str]:
    """(source line, source text) of the generated line ``lineno`` of ``filename``, from the
    nearest comment above it that quotes the source (``# line N: text`` or a lump's list)."""
    lines = linecache.getlines(filename)
    listed: tuple[int, str] | None = None
    for row in range(min(lineno, len(lines)) - 1, -1, -1):
        text = lines[row].rstrip("\n")
        if text.startswith("def ") or text.startswith("@"):
            break
        m = _LUMP_LINE.match(text)
        if m:
            listed = (int(m.group(1)), m.group(2))
            continue
        m = _LUMP.match(text)
        if m and listed is not None:
            return listed
        m = _STEP.match(text)
        if m:
            return int(m.group(1)), m.group(2)
    return None, "?"


def _target(code: str) -> str | None:
    m = _TARGET.match(code)
    return m.group(1).split(",")[0].strip() if m else None


def describe(name: str | None) -> str:
    """What a generated name holds, in words (names follow the README's conventions)."""
    if name is None:
        return "a value"
    if re.search(r"_dot(_\d+)?$", name):                # x_dot, and registers x_dot_1 (back/registers.py)
        return f"the tangent {name}"
    if re.search(r"_bar(_\d+)?$", name):
        return f"the cotangent {name}"
    if re.fullmatch(r"d\w+_d\w+|d(_\d+)?", name):
        return f"the partial derivative {name}"
    if re.fullmatch(r"det(_\d+)?", name):
        return f"the determinant {name} of the lump's block"
    if name.startswith(("logabsdet", "log_pivot", "lump_logabsdet")):
        return f"the log-determinant term {name}"
    if re.fullmatch(r"t\d*(_\d+)?", name):
        return f"the intermediate value {name}"
    return f"the value {name}"
