"""Back end: compile generated source under a file name registered with linecache (a real
file of the cache, :mod:`s2s_invad.back.cache`, when it is used), so tracebacks, pdb and
coverage show the generated lines."""

from __future__ import annotations

import contextlib
import gc
import linecache

from ..progress import stage


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


def compile_module(text: str, filename: str):
    """The code object of the generated module ``text``, compiled as ``filename``."""
    with gc_paused(), stage("compile"):
        return compile(text, filename, "exec")


def load_module(text: str, filename: str, code=None) -> dict:
    """Execute the generated module ``text`` (compiled already: ``code``) as ``filename``,
    registered with linecache; return its namespace."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    if code is None:
        code = compile_module(text, filename)
    namespace = {"__name__": "s2s_invad_generated", "__file__": filename}
    exec(code, namespace)
    return namespace
