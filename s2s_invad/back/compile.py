"""Back end: compile generated source under a file name registered with linecache (a real
file of the cache, :mod:`s2s_invad.back.cache`, when it is used), so tracebacks, pdb and
coverage show the generated lines."""

from __future__ import annotations

import contextlib
import gc
import linecache
import re
import types

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
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move every object the collector tracks to its oldest generation, without a scan.

    What the transform keeps (the IR, the generated text's lists) was allocated with the
    collector paused and sits in the youngest generation: the first collection after
    the pause would scan all of it (a second at 10^5 primitives), and the next ones again
    as it ages. gc.freeze() then gc.unfreeze() moves the objects to the oldest generation
    in constant time. Skipped when the program froze objects itself (unfreeze would
    release them)."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


SPLIT_LINES = 20_000        # modules of more lines are compiled one function at a time
_DEF = re.compile(r"^def (\w+)\(", re.M)


def compile_module(text: str, filename: str):
    """The code object of the generated module ``text``, compiled as ``filename``.

    A long module is compiled one top-level function at a time (:func:`by_function`):
    CPython's compiler holds the whole syntax tree and code of what it compiles, about
    2.5 KB per line, so this bounds the peak by the largest function instead of the
    module. The code object is the same either way."""
    with gc_paused(), stage("compile"):
        code = by_function(text, filename) if text.count("\n") > SPLIT_LINES else None
        return code if code is not None else compile(text, filename, "exec")


def by_function(text: str, filename: str):
    """``compile(text, filename, "exec")``, compiled one top-level def at a time, or None
    when the module is not a sequence of simple statements and defs this can split.

    Each function is compiled alone after the module's first lines (its imports), padded
    with newlines to its own line, and the
    module's code comes from a stub of the module in which every body is one ``pass``
    that ends where the body ends (so the def statements keep their positions); the
    stub's function codes are then replaced by the real ones.
    """
    starts = [m.start() for m in _DEF.finditer(text)]
    if not starts:
        return None
    stub, real = [text[:starts[0]]], {}
    head_lines = stub[0].count("\n")
    for i, start in enumerate(starts):
        piece = text[start:starts[i + 1] if i + 1 < len(starts) else len(text)]
        lines = piece.split("\n")
        header, depth = 0, 0
        for header, line in enumerate(lines):           # the def's lines: up to its colon
            depth += line.count("(") - line.count(")")
            if depth == 0 and line.rstrip().endswith(":"):
                break
        else:
            return None
        if any(line[:1] not in ("", " ", "#") for line in lines[header + 1:]):
            return None                                 # a top-level statement after the def
        last = max(k for k, line in enumerate(lines) if line.strip())
        width = len(lines[last].rstrip())
        if last <= header or width < 6 or lines[last].lstrip().startswith("#"):
            return None
        # after the module's imports (the compiler calls an imported module's functions
        # without LOAD_METHOD), at the def's own line
        module = compile(stub[0] + "\n" * (text.count("\n", 0, start) - head_lines) + piece,
                         filename, "exec")
        name = _DEF.match(piece).group(1)
        found = [c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == name]
        if len(found) != 1:
            return None
        real[(name, found[0].co_firstlineno)] = found[0]
        del module, found
        stub.append("\n".join(lines[:header + 1]) + "\n" * (last - header)
                    + " " * (width - 4) + "pass" + "\n" * (len(lines) - 1 - last))
    code = compile("".join(stub), filename, "exec")
    consts, swapped = list(code.co_consts), 0
    for k, c in enumerate(consts):
        if isinstance(c, types.CodeType):
            if (c.co_name, c.co_firstlineno) not in real:
                return None
            consts[k] = real[(c.co_name, c.co_firstlineno)]
            swapped += 1
    if swapped != len(real):
        return None
    return code.replace(co_consts=tuple(consts))


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
