"""Back end: compile generated source under a file name registered with linecache,
so tracebacks and pdb show the generated lines."""

from __future__ import annotations

import linecache


def load_module(text: str, filename: str) -> dict:
    """Execute the generated module ``text``; return its namespace."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    code = compile(text, filename, "exec")
    namespace = {"__name__": "s2s_invad_generated", "__file__": filename}
    exec(code, namespace)
    return namespace
