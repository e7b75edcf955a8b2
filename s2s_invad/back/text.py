"""Back end: the one door through which user text enters generated code.

Generated modules quote the user in comments (the source file's name in the header, each
statement's source text above the code derived from it). Python ends a comment only at a
line break, and its tokenizer breaks lines at ``\\n``, ``\\r`` and ``\\r\\n``; ``str.splitlines``
(used by linecache, editors and diff tools) also breaks at ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
``\\x85``, ``\\u2028`` and ``\\u2029``; NUL makes the file unreadable to Python; bidirectional
controls (``\\u202e``) make the text look different from what runs. :func:`escape` replaces
every character that ``str.isprintable`` rejects (all of these, every other control and
format character, unpaired surrogates, unassigned code points) by its Python escape, so
quoted text is always one line of visible characters and nothing in it can end a comment.

The other channel is the coding cookie: Python reads the encoding from a ``coding[:=]``
comment on line 1 or 2. Line 1 is the ``@generated`` marker and line 2 is
:data:`CODING_LINE`, so no user text is ever on a line where it could be a cookie.

String constants (file names and source lines passed to the runtime's error helpers) are
written with ``repr``, which escapes the same characters; :func:`module` checks the
assembled text once more, so a future writer that forgets to escape cannot put a raw
control character into a module.
"""

from __future__ import annotations

CODING_LINE = "# -*- coding: utf-8 -*-"


def escape(text: str) -> str:
    """``text`` with every non-printable character replaced by its Python escape.

    >>> escape("model.py\\nimport os")
    'model.py\\\\nimport os'
    >>> escape("x = x +\\x0c y  # \\u2028")
    'x = x +\\\\x0c y  # \\\\u2028'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def comment(text: str) -> str:
    """A comment line's text (after ``# ``) quoting ``text``: one line, visible characters."""
    return escape(text)


def module(text: str) -> str:
    """The module source ``text``, with any non-printable character other than ``\\n`` escaped.

    Every writer already escapes what it quotes, so this returns ``text`` itself; it is the
    last guard before the text is written or compiled.
    """
    step = 1 << 16                       # in pieces: no list of every line of a large module
    if all(text[i:i + step].replace("\n", "").isprintable() for i in range(0, len(text), step)):
        return text
    lines = text.split("\n")
    return "\n".join(escape(line) for line in lines)
