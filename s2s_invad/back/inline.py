"""Back end: fold single-use temporaries into the one statement that reads them.

The emitters write one primitive per statement (``t9_2 = 0.0357 * x2``), which keeps each
rule simple and every value named; but CPython pays a store and a load for every name,
and the forward section of every mode repeats the primal that way. This pass, run on the
lines of each generated function, puts the expression of a temporary that is read exactly
once back into the statement that reads it (``x1_1 = 1.0161 * x1 - 0.0357 * x2``), as
the user wrote it. It is text-to-text and deterministic (the same lines give the same
lines), and it changes no result: the same operations on the same operands in the same
order (Python does not contract or reassociate), only without the intermediate names.

What it folds, all of which must hold:

* the definition is a one-line ``name = expression`` of a name from ``names`` (the
  temporaries of the source and their tangents: never a user variable, which stays named);
* the expression is pure: numbers, names, arithmetic, attributes and calls of the modules
  in ``modules`` (``math``, NumPy) and ``abs``, and inside parentheses comparisons and
  conditional expressions (``(1 - z * z if z * z < 0.5 else ...)``, tanh's slope); no
  subscripts, no runtime helpers;
* the name occurs exactly twice in the function (its definition and one read), and the
  read is a one-line statement at the same indentation in the same block, not a loop
  header, ``elif`` or ``return`` (results stay names: the check that every result is
  finite, added afterwards, reads them), with no assignment in between to a name the
  expression reads;
* the statement that results fits in WIDTH characters and has at most MAX_OPERATORS
  operators (readable lines, no deep nesting for the compiler).

Parentheses are added only where Python's precedence needs them. Comments that quote a
source line stay with the code that remains: a ``# line N:`` comment left with no
statement under it is dropped, and one repeating the comment just above is merged.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from sys import intern
from collections import Counter
from itertools import chain

from .emit_common import WIDTH

MAX_OPERATORS = 12            # operators in one statement after folding, at most

_TOKEN = re.compile(r"""
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?j?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>\*\*=?|//=?|==|!=|<=|>=|->|[-+*/%@&|^]=|[-+*/%@<>=(),.:\[\]{}~^&|;])
  | (?P<sp>\s+)
  | (?P<other>.)
""", re.VERBOSE)
_KEYWORDS = frozenset("and or not in is if else elif for while del return with as try except finally "
                      "raise pass lambda None True False yield import from global nonlocal assert "
                      "break continue def class".split())
_PURE_OPS = frozenset(["+", "-", "*", "/", "**", "//", "%", "(", ")", ",", "."])
_BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "@": 2, "**": 4}
_BUILTINS = frozenset(["abs"])
_CONDITIONAL = frozenset(["if", "else"])         # pure inside parentheses: (a if x < c else b)
_COMPARE = frozenset(["<", ">", "<=", ">=", "==", "!="])
_HEADERS = ("while ", "for ", "elif ", "del ", "with ", "else", "except", "try", "finally", "def ", "class ",
            "return")               # results stay names: the finiteness check (checks.guard) reads them


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of the tokens of one line of code, spaces dropped."""
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "sp"]


def _reads(tokens) -> list[str]:
    """The names a statement mentions (not attributes, not keywords)."""
    out, prev = [], None
    for kind, tok in tokens:
        if kind == "name" and prev != "." and tok not in _KEYWORDS:
            out.append(tok)
        prev = tok
    return out


def _pure(tokens, modules: frozenset) -> bool:
    depth = 0
    for i, (kind, tok) in enumerate(tokens):
        if kind == "num":
            continue
        if kind == "name":
            if tok in _KEYWORDS and not (depth and tok in _CONDITIONAL):
                return False
            nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
            prev = tokens[i - 1][1] if i else None
            if prev == ".":
                continue
            if nxt == "(" and tok not in _BUILTINS:
                return False
            if nxt == "." and tok not in modules:
                return False
            continue
        if kind != "op" or tok not in _PURE_OPS and not (depth and tok in _COMPARE):
            return False
        depth += (tok == "(") - (tok == ")")
        if tok == "(" and i and tokens[i - 1][0] == "name" and tokens[i - 1][1] not in _BUILTINS:
            if not (i >= 3 and tokens[i - 2][1] == "." and tokens[i - 3][1] in modules):
                return False
    return True


def _precedence(tokens) -> int:
    """The loosest binding of the expression's top level: 1 for + and -, 2 for * / // %,
    3 for a leading unary minus, 4 for **, 5 for an atom, a call or a parenthesised whole."""
    depth, low, prev = 0, 5, None
    for kind, tok in tokens:
        if kind == "op" and tok in "([{":
            depth += 1
        elif kind == "op" and tok in ")]}":
            depth -= 1
        elif depth == 0 and kind == "op" and tok in _BINARY:
            unary = prev is None or (prev[0] == "op" and prev[1] not in ")]}")
            low = min(low, 3 if unary and tok in "+-" else _BINARY[tok])
        prev = (kind, tok)
    return low


_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')
_KEYWORD_END = re.compile(r"(?:^|\W)(?:not|and|or|in|is|return|if|else|lambda)$")
_AUGMENTED = re.compile(r"([A-Za-z_]\w*) (?:\*\*|//|[-+*/%@&|^])= ")


class _Stmt:
    """One statement of the function: its lines, indentation and (current) text."""
    __slots__ = ("first", "last", "indent", "text", "single", "removed", "quoted", "info")

    def __init__(self, first, last, indent, text, single, quoted):
        self.first, self.last, self.indent, self.text = first, last, indent, text
        self.single, self.quoted = single, quoted
        self.removed = False
        self.info = None          # of the right-hand side: (pure, precedence, names read), once asked


def _targets(text: str, quoted: bool, names: list[str]) -> list[str]:
    """Names a statement (its ``text``, the ``names`` it mentions) binds or unbinds
    (over-approximated: that only stops a fold)."""
    if text.startswith("del "):
        return names
    if text.startswith("for "):
        return _NAME.findall(text[4:text.find(" in ")])
    cut = text.find(" = ")
    if cut >= 0:
        return _NAME.findall(_STRING.sub("''", text[:cut]) if quoted else text[:cut])
    m = _AUGMENTED.match(text)
    return [m.group(1)] if m else []


_ATOM = r"(?:[A-Za-z_]\w*|\d+\.?\d*(?:[eE][-+]?\d+)?)"
_SIMPLE = re.compile(                    # a op b, or module.fn(a): no tokens needed
    rf"(?:{_ATOM} (?P<op>\*\*|//|[-+*/%]) {_ATOM}|(?P<mod>[A-Za-z_]\w*)\.[A-Za-z_]\w*\({_ATOM}\)|{_ATOM})$")
_NEGATED = re.compile(rf"-{_ATOM}(?: (?P<op>\*\*|//|[-+*/%]) {_ATOM})?$")     # -a, -a op b


_CONTINUES = "([{,\\"                  # a line ending so may continue on the next


def _depth(code: str) -> int:
    if "'" in code or '"' in code:
        code = _STRING.sub("''", code)
    return (code.count("(") + code.count("[") + code.count("{")
            - code.count(")") - code.count("]") - code.count("}"))


def _scan(lines: list[str]) -> tuple[list, list, dict, list]:
    """The code of ``lines`` as statements (a statement wrapped over several lines is one,
    not single; comments and blank lines are skipped), with, per statement, the names it
    mentions and the first later statement of a lesser indent (where its block ends), and
    per name the statements that (un)bind it, in order."""
    stmts, mentions, assigned, end = [], [], {}, []
    blocks: list[tuple[int, int]] = []        # (indent, statement) of the blocks still open
    find_names, strings = _NAME.findall, _STRING.sub
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        stripped = line.lstrip()
        if not stripped or stripped[0] == "#":
            i += 1
            continue
        first = i
        text = stripped.rstrip()
        quoted = '"' in text or "'" in text
        if quoted or text[-1] in _CONTINUES:
            depth = _depth(stripped)
            if depth > 0 and i + 1 < n:
                parts = [text]
                while depth > 0 and i + 1 < n:
                    i += 1
                    parts.append(lines[i].strip())
                    depth += _depth(lines[i])
                text = " ".join(parts)
                quoted = "'" in text or '"' in text
        idx, indent = len(stmts), len(line) - len(stripped)
        stmts.append(_Stmt(first, i, indent, text, first == i, quoted))
        names = find_names(strings("''", text) if quoted else text)
        mentions.append(names)
        cut = text.find(" = ")
        if cut > 0 and text[:cut].isidentifier():
            head = intern(text[:cut])
            if head in assigned:
                assigned[head].append(idx)
            else:
                assigned[head] = [idx]
        else:
            for name in _targets(text, quoted, names):
                assigned.setdefault(name, []).append(idx)
        end.append(-1)
        while blocks and blocks[-1][0] > indent:
            end[blocks.pop()[1]] = idx
        blocks.append((indent, idx))
        i += 1
    for _, idx in blocks:
        end[idx] = len(stmts)
    return stmts, mentions, assigned, end


_SCALED = re.compile(r"(?:(?<=[(\[])|(?<=[=,] )|(?P<sign>[-+]) )(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?) \* $")
_FLIP = {"+": "-", "-": "+"}


def _signed(before: str, inner: str) -> tuple[str, str]:
    """``c * -y`` as ``-c * y`` and ``a + c * -y`` as ``a - c * y``: the same number to the
    bit (negation is exact and commutes with rounding), one operation less. ``before`` is
    the reader's text up to the name, ``inner`` the folded ``-y``."""
    m = _SCALED.search(before)
    if m is None:
        return before, inner
    sign = m.group("sign")
    if sign is None:
        return before[:m.start("num")] + "-" + before[m.start("num"):], inner[1:]
    head = before[:m.start()].rstrip()
    if not head or not (head[-1].isalnum() or head[-1] in "_)]"):
        return before, inner                       # a unary sign: -c * -y stays as it is
    return before[:m.start()] + _FLIP[sign] + before[m.start() + 1:], inner[1:]


def _left(text: str) -> int:
    """Precedence of the operator just before a position (3 for a unary sign, 0 where none
    binds) from the text before that position."""
    s = text.rstrip()
    c = s[-1:]
    if c == "*":
        return 4 if s.endswith("**") else 2
    if c in ("/", "%", "@"):
        return 2
    if c in ("+", "-"):
        t = s[:-1].rstrip()
        unary = not t or t[-1] in "(,[{=:*/%@+-<>~" or _KEYWORD_END.search(t) is not None
        return 3 if unary else 1
    return 0


def _right(text: str) -> int | None:
    """Precedence of the operator just after a position (0 where none binds, None where
    only an atom may stand: an attribute, subscript or call follows)."""
    s = text.lstrip()
    c = s[:1]
    if c in (".", "[", "("):
        return None
    if c == "*":
        return 4 if s.startswith("**") else 2
    if c in ("/", "%", "@"):
        return 2
    if c in ("+", "-"):
        return 1
    return 0


def fold_module(lines: list[str], names, modules) -> list[str]:
    """:func:`fold` on each top-level function of ``lines`` (a def at column 0 starts one)."""
    out: list[str] = []
    start = 0
    for i in range(1, len(lines) + 1):
        if i == len(lines) or lines[i].startswith("def "):
            out += fold(lines[start:i], names, modules)
            start = i
    return out


def temporaries(program, em) -> set[str]:
    """The generated names of ``program``'s temporaries (values that bind no source
    variable) and of their tangents and cotangents: what :func:`fold` may fold."""
    from ..ir import Loop, Stmt
    temps: set[str] = set()
    stack = list(program.body)
    while stack:
        item = stack.pop()
        if isinstance(item, Stmt):
            if item.target.var is None:
                temps.add(item.target.name)
        elif isinstance(item, Loop):
            stack.extend(item.body)
    names = set(temps)
    for suffix in ("dot", "bar"):
        table = em.derived_names(suffix)
        names.update(map(table.__getitem__, temps.intersection(table)))
    return names


def fold(lines: list[str], names, modules=frozenset({"math"})) -> list[str]:
    """``lines`` of one generated function with the single-use temporaries among ``names``
    folded into their readers (module docstring)."""
    stmts, mentions, assigned, end = _scan(lines)
    if not stmts:
        return lines
    modules = frozenset(modules)
    count = Counter(chain.from_iterable(mentions))
    small, large = (names, count) if len(names) < len(count) else (count, names)
    wanted = {n for n in small if n in large and count[n] == 2}
    if not wanted:
        return lines
    first: dict[str, int] = {}                        # name -> its first and second statement
    second: dict[str, int] = {}
    for idx, found in enumerate(mentions):
        hit = wanted.intersection(found)
        for name in hit:
            if name in first:
                second[name] = idx
            else:
                first[name] = idx
    del mentions, count, small, large, wanted         # not needed below: free them for the folds
    rewritten: list[_Stmt] = []                       # readers, once per fold into them
    for idx in sorted({first[n] for n in second}):
        st = stmts[idx]
        text = st.text
        cut = text.find(" = ")
        if not st.single or st.quoted or cut <= 0:
            continue
        name = text[:cut]
        if name not in second or first[name] != idx:
            continue
        use = second[name]
        reader = stmts[use]
        if (use <= idx or use >= end[idx] or not reader.single or reader.quoted or reader.indent != st.indent
                or reader.text.startswith(_HEADERS)):
            continue
        expr_text = text[cut + 3:]
        pure, prec, reads = _info(st, cut, modules)
        if not pure or _rebound(reads, assigned, idx, use):
            continue
        at = _find(reader.text, name)
        if at < 0 or (at == 0 and reader.text[len(name):].startswith(" = ")):
            continue
        before, after = reader.text[:at], reader.text[at + len(name):]
        lp = _left(before)
        rp = _right(after)
        if prec == 5:
            inner = expr_text
        elif rp is None or lp == 4 or rp == 4 or (lp and prec <= lp) or (rp and prec < rp):
            inner = "(" + expr_text + ")"
        else:
            inner = expr_text
        if inner is expr_text and expr_text[:1] == "-" and expr_text[1:].isidentifier():
            before, inner = _signed(before, inner)
        new = before + inner + after
        if st.indent + len(new) > WIDTH or _operators(new) > MAX_OPERATORS:
            continue
        rcut = reader.text.find(" = ")
        if (rcut > 0 and at > rcut and first.get(reader.text[:rcut]) == use and reader.text[:rcut] in second
                and reader.text[:rcut].isidentifier()):
            # the reader is a definition to fold in turn: its right side's information,
            # from its text before this change, kept up to date
            r_pure, r_prec, r_reads = _info(reader, rcut, modules)
            whole = at == rcut + 3 and not after               # the reader's right side was the name
            reader.info = (r_pure, (5 if inner is not expr_text else prec) if whole else r_prec,
                           (r_reads - {name}) | reads)
        reader.text = new
        st.removed = True
        rewritten.append(reader)
    if not rewritten:
        return lines
    return _rebuild(lines, stmts, rewritten)


def _rebound(reads: set, assigned: dict, idx: int, use: int) -> bool:
    """Whether a statement strictly between ``idx`` and ``use`` (un)binds one of ``reads``
    (each name's list of statements is in order)."""
    for r in reads:
        at = assigned.get(r)
        if at is not None and at[-1] > idx:
            later = bisect_right(at, idx)                  # the first one after idx
            if at[later] < use:
                return True
    return False


def _info(st: _Stmt, cut: int, modules: frozenset) -> tuple[bool, int, set]:
    """(pure, precedence, names read) of the right-hand side of ``st``, an assignment whose
    ``" = "`` is at ``cut``; computed once, then kept up to date by the folds into it."""
    if st.info is None:
        expr_text = st.text[cut + 3:]
        simple = _SIMPLE.match(expr_text)
        if simple is not None:                        # the common shapes, without tokens
            op, module = simple.group("op"), simple.group("mod")
            reads = _NAME.findall(expr_text) if module is None else _NAME.findall(expr_text[len(module):])
            st.info = (module is None or module in modules, 5 if op is None else _BINARY[op], set(reads))
        elif (negated := _NEGATED.match(expr_text)) is not None and _KEYWORDS.isdisjoint(
                reads := _NAME.findall(expr_text)):
            op = negated.group("op")                  # the unary minus binds at 3
            st.info = (True, 3 if op is None else min(3, _BINARY[op]), set(reads))
        else:
            expr = _tokens(expr_text)
            st.info = (_pure(expr, modules), _precedence(expr), set(_reads(expr)))
    return st.info


def _find(text: str, name: str) -> int:
    """Where ``name`` stands as a name in ``text`` (not inside a longer name or after a
    dot), or -1."""
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        if ((at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_."))
                and (end == len(text) or not (text[end].isalnum() or text[end] == "_"))):
            return at
        at = text.find(name, end)
    return -1


def _operators(text: str) -> int:
    """Binary operators of a statement in the emitters' spacing (`` + ``, `` * ``...)."""
    return (text.count(" + ") + text.count(" - ") + text.count(" * ") + text.count(" / ")
            + text.count(" ** ") + text.count(" // ") + text.count(" % "))


def _rebuild(lines: list[str], stmts: list, rewritten: list) -> list[str]:
    """``lines`` without the folded definitions, the ``rewritten`` readers in their new
    text, comments tidied."""
    kept: list = list(lines)
    for st in rewritten:
        if not st.removed and st.text != lines[st.first].strip():
            kept[st.first] = " " * st.indent + st.text
    for st in stmts:
        if st.removed:
            kept[st.first:st.last + 1] = [None] * (st.last + 1 - st.first)
    return _tidy_comments([line for line in kept if line is not None])


def _tidy_comments(lines: list[str]) -> list[str]:
    """Drop a ``# line N:`` comment with no code under it; merge one that repeats the
    ``# line`` comment of the statements just above it."""
    out: list[str] = []
    last_comment: dict[int, str] = {}                 # indent -> the line comment in force
    n = len(lines)
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("# line ") or stripped.startswith("# lines "):
            nxt = lines[i + 1] if i + 1 < n else ""
            nxt_stripped = nxt.lstrip()
            nxt_indent = len(nxt) - len(nxt_stripped)
            if ((nxt_stripped.startswith(("# line ", "# lines ")) and nxt_indent == indent)
                    or not nxt_stripped or nxt_indent < indent):
                continue                              # nothing under it any more
            if last_comment.get(indent) == stripped:
                continue                              # the same line's code continues
            last_comment[indent] = stripped
            out.append(line)
            continue
        if stripped and not stripped.startswith("#"):
            for k in [k for k in last_comment if k > indent]:
                del last_comment[k]
        elif stripped.startswith("#"):
            last_comment.pop(indent, None)
        out.append(line)
    return out
