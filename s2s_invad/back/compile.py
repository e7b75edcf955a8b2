"""Back end: compile generated source from a real file (also registered with linecache),
so tracebacks, pdb and coverage show the generated lines."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import linecache
import os
import tempfile


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


def cache_path(stem: str, text: str) -> str:
    """A real file for generated ``text``: <tmp>/s2s_invad-<uid>/<stem>-<hash>.py, written once.

    Debuggers, coverage tools and editors can open it; the hash of the text keeps two
    functions of the same name apart and makes the name deterministic.
    """
    folder = os.path.join(tempfile.gettempdir(), f"s2s_invad-{os.getuid() if hasattr(os, 'getuid') else 0}")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = os.path.join(folder, f"{stem}-{digest}.py")
    if not os.path.exists(path):
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except OSError:
            return f"<s2s_invad generated: {stem}.py>"     # read-only /tmp: linecache only
    return path


def load_module(text: str, filename: str) -> dict:
    """Execute the generated module ``text`` as ``filename``; return its namespace."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    with gc_paused():
        code = compile(text, filename, "exec")
    namespace = {"__name__": "s2s_invad_generated", "__file__": filename}
    exec(code, namespace)
    return namespace
