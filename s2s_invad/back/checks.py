"""Back end, after the emitters: the checks that keep every generated function honest.

A generated function either returns finite numbers or raises an error of
:mod:`s2s_invad.errors` that names the source line. :func:`guard` rewrites each function's
text (the emitters do not need to know) into::

    def f_jvp(x, y, x_dot, y_dot):
        \"\"\"...\"\"\"
        try:
            <the body, unchanged>
        except _rt.S2SError:
            raise
        except _rt.NUMERIC_ERRORS:
            _rt.failed('model.py')
        # every result finite? (x - x is 0.0 for finite x, nan for inf and nan)
        if (x_1 - x_1) + (y_1 - y_1) + (x_dot - x_dot) + (y_dot - y_dot) != 0.0:
            _rt.not_finite('model.py')
        return (x_1, y_1), (x_dot, y_dot)

The ``try`` costs nothing in CPython 3.11+ until something raises; the test costs two float
operations per returned value. Only when one of them fires does the runtime
(:mod:`s2s_invad.diagnose`) look for the first statement that went wrong: from the
traceback for a float division by zero, an overflow in ``**`` or a math domain error, and by
running the function again with a check after each assignment for an inf or NaN result.

In NumPy code (values may be arrays or NumPy scalars, whose inf and nan make NumPy print
RuntimeWarnings) the body runs inside ``with np.errstate(all='ignore'):`` within the
``try``, and the test is ``_rt.finite(...)`` (``math.isfinite`` per value, ``np.isfinite``
for arrays), which does no arithmetic: a non-finite value reaches the user as the named
error only, never as a warning printed before it.
"""

from __future__ import annotations

import ast
import re


MANY = 6        # more results than this are checked by one call of runtime.finite


def guard(text: str, filename: str, numpy: str | None, runtime: str = "_rt", results: bool = True) -> str:
    """``text`` (one generated function) with its body in a try and its results checked.

    ``filename`` is the source file's name as the error messages cite it; ``numpy`` the
    alias of numpy in array code, None in scalar code; ``runtime`` the module's name for
    s2s_invad.runtime; ``results=False`` leaves the results unchecked (the drift function
    returns dicts, whose values the report examines).
    """
    if not text.startswith("def "):
        return text
    at = text.rfind("\n    return ")              # the last line that returns
    if at < 0:
        return text
    head = text.find("\n")                         # the def line, and a docstring after it
    second = text.find("\n", head + 1)
    if second >= 0 and text[head + 1:second].lstrip().startswith('"""'):
        head = second
    site = repr(filename)
    out = [text[:head]]
    if at > head:                                   # body lines between head and return
        body = text[head + 1:at]
        if _CODE_LINE.search(body):
            if numpy is None:
                out += ["    try:", _INDENT.sub("    ", body)]
            else:                                   # inf and nan are the checks' business, not warnings'
                out += ["    try:", f"        with {numpy}.errstate(all='ignore'):    # inf and nan: checked below",
                        _INDENT.sub("        ", body)]
            out += [f"    except {runtime}.S2SError:", "        raise",
                    f"    except {runtime}.NUMERIC_ERRORS:", f"        {runtime}.failed({site})"]
        else:
            out.append(body)
    ret = text[at + 1:]
    names = returned_names(" ".join(line.strip() for line in ret.split("\n")), runtime) if results else []
    if names and numpy is not None:              # x - x of an inf NumPy value warns: test without arithmetic
        from .emit_common import wrap
        out += ["    # every result finite?"]
        out += wrap(f"if not {runtime}.finite({', '.join(names)}):", "    ")
        out += [f"        {runtime}.not_finite({site})"]
    elif len(names) > MANY:                      # one call, wrapped over lines
        from .emit_common import wrap
        out += ["    # every result finite?"]
        out += wrap(f"if not {runtime}.finite({', '.join(names)}):", "    ")
        out += [f"        {runtime}.not_finite({site})"]
    elif names:
        total = " + ".join(f"({n} - {n})" for n in names) if len(names) > 1 else f"{names[0]} - {names[0]}"
        if "**" in text.replace(site, ""):   # a negative float to a fractional power is complex in
            # Python (the file name, which the error helpers cite, may hold ** too: not code)
            test = f"{runtime}.not_real({total})"
        else:
            test = f"{total} != 0.0"
        out += ["    # every result finite? (x - x is 0.0 for finite x, nan for inf and nan)",
                f"    if {test}:", f"        {runtime}.not_finite({site})"]
    return "\n".join(out + [ret])


_CODE_LINE = re.compile(r"^\s*[^\s#]", re.M)      # a line with code, not only a comment
_INDENT = re.compile(r"^(?=.)", re.M)              # the start of every line that is not empty


def returned_names(statement: str, runtime: str = "_rt") -> list[str]:
    """The names a ``return`` statement returns, through nested tuples, lists and the
    runtime's ``vector(...)`` (other calls, such as ``_partial(f_vjp_bwd, ...)`` or
    ``np.zeros_like(x)``, are skipped), in order, once each."""
    names: list[str] = []
    _returned(ast.parse(statement).body[0].value, runtime, names)
    return names


def _returned(node, runtime: str, names: list[str]) -> None:
    """Append to ``names`` the names ``node`` returns (a function, not a recursive
    closure, whose cycle would wait for a collection)."""
    if isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _returned(elt, runtime, names)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "vector" and isinstance(node.func.value, ast.Name) \
            and node.func.value.id == runtime:
        for elt in node.args:
            _returned(elt, runtime, names)
    elif isinstance(node, ast.Name) and node.id not in names:
        names.append(node.id)
