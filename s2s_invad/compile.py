"""Back end: compile generated source under a file name registered with linecache,
so tracebacks and pdb show the generated lines."""

from __future__ import annotations

import contextlib
import gc
import linecache


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector: the transform allocates millions of small,
    acyclic objects (AST nodes), and collections triggered by them cost more than the
    transform itself on large programs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_module(text: str, filename: str) -> dict:
    """Execute the generated module ``text``; return its namespace."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    with gc_paused():
        code = compile(text, filename, "exec")
    namespace = {"__name__": "s2s_invad_generated", "__file__": filename}
    exec(code, namespace)
    return namespace
