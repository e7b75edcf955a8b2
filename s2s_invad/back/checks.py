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
In NumPy code the test is ``np.any(... != 0.0)`` (elementwise; values may be arrays).
"""

from __future__ import annotations

import ast


def guard(text: str, filename: str, numpy: str | None, results: bool = True) -> str:
    """``text`` (one generated function) with its body in a try and its results checked.

    ``filename`` is the source file's name as the error messages cite it; ``numpy`` the
    alias of numpy in array code, None in scalar code; ``results=False`` leaves the results
    unchecked (the drift function returns dicts, whose values the report examines).
    """
    lines = text.split("\n")
    if not lines[0].startswith("def ") or not lines[-1].startswith("    return "):
        return text
    head = 2 if len(lines) > 2 and lines[1].lstrip().startswith('"""') else 1
    body, ret = lines[head:-1], lines[-1]
    site = repr(filename)
    out = lines[:head]
    if any(line.strip() and not line.lstrip().startswith("#") for line in body):
        out += ["    try:"] + ["    " + line if line else line for line in body]
        out += ["    except _rt.S2SError:", "        raise",
                "    except _rt.NUMERIC_ERRORS:", f"        _rt.failed({site})"]
    else:
        out += body
    names = returned_names(ret.strip()) if results else []
    if names:
        total = " + ".join(f"({n} - {n})" for n in names) if len(names) > 1 else f"{names[0]} - {names[0]}"
        test = f"{total} != 0.0" if numpy is None else f"{numpy}.any({total} != 0.0)"
        out += ["    # every result finite? (x - x is 0.0 for finite x, nan for inf and nan)",
                f"    if {test}:", f"        _rt.not_finite({site})"]
    return "\n".join(out + [ret])


def returned_names(statement: str) -> list[str]:
    """The names a ``return`` statement returns, through nested tuples and lists, in order,
    once each (calls such as ``_partial(f_vjp_bwd, ...)`` or ``np.zeros_like(x)`` are skipped)."""
    value = ast.parse(statement).body[0].value
    names: list[str] = []

    def walk(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                walk(elt)
        elif isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    walk(value)
    return names
