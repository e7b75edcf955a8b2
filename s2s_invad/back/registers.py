"""Back end, memory="recompute" only: give the values of generated code a bounded set of names.

CPython's frame has one slot per distinct local name, deleted or not, so straight-line code
with one name per SSA value has a frame that grows with the program (8 bytes a name:
megabytes at 100,000 steps), even when ``del`` frees every value. This pass renames, in each
generated function, every value to a *register*: a name that is reused once the value it
held is deleted. Registers are named after the user's variables (``x_3`` -> ``x``,
``x_3_dot`` -> ``x_dot``), temporaries ``t`` (``t12_3`` -> ``t``), partials ``d``, with a numeric suffix while
two live values want the same name, so the code still reads like the source.

Names a function reads before assigning them (parameters, the tape's values, module
constants, modules) are never renamed and never used as registers. The renaming edits the
final text where the tree has a name, so comments and layout stay as they are.
"""

from __future__ import annotations

import ast
import heapq
import re

from .inline import _STRING, _depth      # string literals, bracket depth: as the fold pass reads lines

_TEMP = re.compile(r"t\d*(?:_\d+)*(_dot|_bar)?(?:_\d+)?")
_PARTIAL = re.compile(r"d\w+_d\w+")
_VERSIONED = re.compile(r"(.+?)(?:_\d+)?(_dot|_bar|_rhs)?")


def _base(name: str) -> str:
    temp = _TEMP.fullmatch(name)
    if temp:
        return "t" + (temp.group(1) or "")
    if _PARTIAL.fullmatch(name):
        return "d"
    m = _VERSIONED.fullmatch(name)
    return m.group(1) + (m.group(2) or "")


def _uses(stmt) -> tuple[list[ast.Name], list[str], list[str], list[str]]:
    """The name nodes of ``stmt`` and the names it reads, assigns and deletes (one walk)."""
    nodes, loads, stores, dels = [], [], [], []
    for n in ast.walk(stmt):
        if type(n) is ast.Name:
            nodes.append(n)
            ctx = type(n.ctx)
            (loads if ctx is ast.Load else stores if ctx is ast.Store else dels).append(n.id)
    return nodes, loads, stores, dels


def _flat(stmts):
    """The simple statements of ``stmts`` in text order, compound ones (if, with, try) opened
    up: their tests and contexts, then their bodies (which hold no ``del``), so that a name
    assigned and read inside one block is renamed like any other."""
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            yield ast.Expr(stmt.test)
            yield from _flat(stmt.body)
            yield from _flat(stmt.orelse)
        elif isinstance(stmt, ast.With):
            yield from (ast.Expr(item.context_expr) for item in stmt.items)
            yield from _flat(stmt.body)
        elif isinstance(stmt, ast.Try):
            yield from _flat(stmt.body)
            for handler in stmt.handlers:
                yield ast.Expr(handler.type)
                yield from _flat(handler.body)
        else:
            yield stmt


def _plan(fn: ast.FunctionDef) -> list[tuple[int, int, int, str]]:
    """The renamings in ``fn``: (line, start, end, new name), offsets in UTF-8 bytes."""
    uses = [_uses(stmt) for stmt in _flat(fn.body)]
    fixed = {a.arg for a in fn.args.args}
    assigned: set[str] = set()
    for _, loads, stores, _ in uses:                   # names read before any assignment
        fixed.update(n for n in loads if n not in assigned)
        assigned.update(stores)
    fixed.update(n for _, loads, _, dels in uses for n in loads + dels if n not in assigned)
    register: dict[str, str] = {}
    busy: set[str] = set()
    taken = fixed | {fn.name}
    edits = []
    for nodes, loads, stores, dels in uses:
        mapping = {n: register[n] for n in loads + dels if n in register}
        for n in dels:
            if n in register:
                busy.discard(register.pop(n))
        for n in stores:
            if n in fixed:
                continue
            if n not in register:
                base, k = _base(n), 0
                candidate = base
                while candidate in busy or candidate in taken:
                    k += 1
                    candidate = f"{base}_{k}"
                register[n] = candidate
                busy.add(candidate)
            mapping[n] = register[n]
        edits += [(node.lineno, node.col_offset, node.end_col_offset, mapping[node.id])
                  for node in nodes if mapping.get(node.id, node.id) != node.id]
    return edits


def reuse_names(text: str) -> str:
    """``text`` (one or more generated defs) with values renamed to reusable registers."""
    tree = ast.parse(text)
    per_line: dict[int, list[tuple[int, int, str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for line, start, end, new in _plan(node):
                per_line.setdefault(line, []).append((start, end, new))
    lines = text.split("\n")
    for row, changes in per_line.items():
        line = lines[row - 1].encode()                 # ast offsets count UTF-8 bytes
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new.encode() + line[end:]
        lines[row - 1] = line.decode()
    return "\n".join(lines)


# --------------------------------------------------------------------------- store mode

MANY_NAMES = 255        # more local names than this: CPython's frame slows down (see below)
FEW = 8                 # live values of one base named after it (x1, x1_1, ...); beyond, their own

_LOOPS = ("for ", "while ", "with ", "def ", "class ", "async ", "global ", "nonlocal ", "lambda",
          "elif ")
_HEADS = ("if ", "else:", "try:", "except", "finally:", "return", "raise", "assert ", "pass")
_AUGMENT = re.compile(r"[A-Za-z_]\w* (?:\*\*|//|[-+*/%@&|^])= ")


def _code_and_strings(text: str) -> list[tuple[bool, str]]:
    """``text`` cut into (is code, piece): string literals are never renamed."""
    out, at = [], 0
    for m in _STRING.finditer(text):
        out.append((True, text[at:m.start()]))
        out.append((False, m.group()))
        at = m.end()
    out.append((True, text[at:]))
    return out


_WORDS = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?!\w)(?!=[^=])")   # not after a dot, not f(name=...)


def _words(code: str) -> list[str]:
    """The names in a piece of code: not attributes (after a dot), not keyword arguments
    (``name=`` inside brackets)."""
    return _WORDS.findall(code)


def _statements(lines: list[str]):
    """The statements of one function's body (a wrapped statement is one), as lists of line
    numbers with their text; None where the body is not straight-line code the renaming
    below understands (loops, nested functions, with)."""
    out, i, n = [], 1, len(lines)                # lines[0] is the def
    while i < n:
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        rows = [i]
        quoted = "'" in stripped or '"' in stripped
        depth = _depth(stripped) if quoted or stripped[-1] in "([{,\\" else 0     # as the emitters wrap
        while depth > 0 and i + 1 < n:
            i += 1
            rows.append(i)
            depth += _depth(lines[i])
        if depth != 0:
            return None
        text = " ".join(lines[r].strip() for r in rows)
        if (text.startswith(_LOOPS) or " lambda " in text or ":=" in text or " yield" in text
                or text.startswith('"""') and rows[0] != 1):
            return None
        cut = _top_level_assign(text)
        if cut is not None and _top_level_assign(text[cut + 3:]) is not None:
            return None                        # a = b = c: not what the emitters write
        out.append((rows, text))
        i += 1
    return out


def _roles(text: str) -> tuple[list[str], list[str], list[str]]:
    """(names read, names bound, names deleted) of one simple statement or block header."""
    quoted = "'" in text or '"' in text
    if not quoted:
        cut = text.find(" = ")
        if cut > 0 and text[:cut].isidentifier():            # name = value: most statements
            return [w for w in _WORDS.findall(text, cut + 3) if w not in _KEYWORD_WORDS], [text[:cut]], []
        words = [w for w in _WORDS.findall(text) if w not in _KEYWORD_WORDS]
    else:
        words = [w for code, piece in _code_and_strings(text) if code for w in _words(piece)
                 if w not in _KEYWORD_WORDS]
    if text.startswith("del "):
        return [], [], words
    if text.startswith(_HEADS):
        return words, [], []
    cut = _top_level_assign(text)
    if cut is not None:
        left = text[:cut]
        left_words = _words(left)
        if "[" in left or "." in left:                       # a subscript or attribute store reads
            return words, [], []
        return words[len(left_words):], left_words, []
    if _AUGMENT.match(text):
        return words, words[:1], []
    return words, [], []


_KEYWORD_WORDS = frozenset("and or not in is if else return raise try except finally del pass assert "
                           "None True False".split())


def _top_level_assign(text: str) -> int | None:
    """Where `` = `` splits targets from the value at bracket depth 0, or None."""
    depth = 0
    masked = _STRING.sub(lambda m: "'" + " " * (len(m.group()) - 2) + "'", text)
    for i, c in enumerate(masked):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "=" and depth == 0 and masked[i - 1:i] == " " and masked[i + 1:i + 2] == " ":
            return i - 1
    return None


def compact(lines: list[str], most: int | None = None) -> list[str]:
    """One generated function (its lines, the def first) with its values held in reusable
    registers when it has more than ``most`` local names, else unchanged.

    Store-mode code names every value once (SSA), so a long function has thousands of local
    names. CPython runs such a function markedly slower than the same operations on a
    bounded set of names: the equasive chain of 3,000 statements written with one name per
    value runs 24 % slower than with the source's 64 names, ``del`` of every dead value
    or not (benchmarks/results/modes.md). Part of it is a fixed cost per call: 3,000
    statements on one name took 74 us a call, 95 us with 3,000 more local names that are
    never touched (their frame is larger than a CPython data-stack chunk, 16 KB), 114 us
    with one name per value.

    Here a value's register is free once the last statement that reads it has read it, and
    a statement's target may take the register of an operand it reads last (``x1_1 = x1_1 -
    0.38 * math.atan(x3_1)``): the code then reads like the source. A copy ``a = b`` of a
    final value gives a b's register and is dropped where a is not rebound while b is still
    read (a reverse sweep passes ``x_bar`` on unchanged through ``x = x + ...``). Names read before any
    assignment (parameters, modules, constants) never change, and parameters are never
    reused: the runtime's diagnosis reads the arguments from the frame after a failure.
    Small functions keep their SSA names (``x1_3``), which say which version of a variable
    each value is; functions with loops kept as loops are left as they are."""
    if not lines or not lines[0].startswith("def "):
        return lines
    most = MANY_NAMES if most is None else most
    end = next((i for i in range(1, len(lines)) if lines[i][:1] not in ("", " ")), len(lines))
    if end < len(lines):                       # module-level text after the function: as it is
        return compact(lines[:end], most) + lines[end:]
    stmts = _statements(lines)
    if stmts is None:
        return lines
    roles = [_roles(text) for _, text in stmts]
    names = {n for loads, stores, dels in roles for n in stores}
    if len(names) <= most:
        return lines
    m = re.match(r"def [A-Za-z_]\w*\((.*)\):$", lines[0])
    if m is None:
        return lines
    fixed = {p.strip().split("=")[0].strip().lstrip("*") for p in m.group(1).split(",") if p.strip()}
    params = set(fixed)
    assigned: set[str] = set()
    for loads, stores, dels in roles:
        fixed.update(n for n in loads + dels if n not in assigned)
        assigned.update(stores)
        if len(loads) == 1 and len(stores) > 1 and loads[0] in params and not loads[0].startswith("_"):
            fixed.update(stores)               # u_0, u_1 = u: a vector's elements keep their names
    if any(dels for _, _, dels in roles):
        return lines
    last: dict[str, int] = {}                  # the last statement that reads or binds a name
    for i, (loads, stores, _) in enumerate(roles):
        for n in loads:
            last[n] = i
        for n in stores:
            last[n] = i
    dying: dict[int, list[str]] = {}
    for n, i in last.items():
        dying.setdefault(i, []).append(n)
    # parameters keep their arguments to the end: the runtime's diagnosis (s2s_invad.diagnose)
    # reads them from the frame to name a bad input and to run the function again
    live: dict[str, str] = {}
    busy: set[str] = set()
    taken = fixed | {lines[0][4:lines[0].index("(")]}
    free: dict[str, list] = {}                 # base -> names free again (a heap, shortest first)
    register: dict[str, str] = {}              # every value's register, for its whole life
    owner: dict[str, str] = {}                 # register -> the base it was handed out for
    count: dict[str, int] = {}                 # base -> how many of its names are busy

    def release(name: str) -> None:
        busy.discard(name)
        base = owner[name]
        count[base] -= 1
        heapq.heappush(free.setdefault(base, []), (len(name), name))

    def allocate(value: str) -> str:
        """The shortest free name of the value's base (x1_3 -> x1, x1_1, ...); while more
        than FEW of them are busy, the value's own name: where values pile up (an inverse
        sweep reads every primal value), renaming gains nothing and the names stay put
        under edits."""
        base = _base(value)
        heap = free.get(base)
        while heap:
            _, name = heapq.heappop(heap)
            if name not in busy and name not in taken:
                return _take(name, base)
        if count.get(base, 0) >= FEW and value not in busy and value not in taken:
            return _take(value, base)
        k = 0
        while (name := base if k == 0 else f"{base}_{k}") in busy or name in taken:
            k += 1
        return _take(name, base)

    def _take(name: str, base: str) -> str:
        busy.add(name)
        count[base] = count.get(base, 0) + 1
        owner[name] = base
        return name

    bound: dict[str, list[int]] = {}           # name -> the statements that bind it
    for i, (_, stores, _) in enumerate(roles):
        for n in stores:
            bound.setdefault(n, []).append(i)
    copies: set[int] = set()                   # rows of ``a = b`` where a shares b's register
    holders: dict[str, set[str]] = {}          # register -> the live names in it (more than one
                                               # after copies)

    def drop(n: str) -> None:
        """n is dead: its register is free once no other live name holds it."""
        r = live.pop(n)
        held = holders.get(r)
        if held is not None:
            held.discard(n)
            if held:
                return
            del holders[r]
        release(r)

    for i, (loads, stores, _) in enumerate(roles):
        if len(loads) == 1 and len(stores) == 1 and stmts[i][1] == f"{stores[0]} = {loads[0]}":
            a, b = stores[0], loads[0]
            if b in live and a not in live and a not in fixed and bound[b][-1] < i:
                r = live[b]
                held = holders.get(r, {b})
                end = max(last[n] for n in held)
                if all(k >= end for k in bound[a] if k > i):
                    # b (and any copy sharing its register) is final, and a is not rebound
                    # before their last read: one value, one name, no copy
                    live[a] = register[a] = r
                    holders[r] = held | {a}
                    copies.update(stmts[i][0])
                    for n in (b, a):
                        if last[n] == i:
                            drop(n)
                    continue
        for n in dying.get(i, ()):             # read for the last time: free before the stores
            if n in live and n not in stores:
                drop(n)
        for n in stores:
            if n not in live and n not in fixed:
                live[n] = register[n] = allocate(n)
        for n in dying.get(i, ()):             # bound and never read again
            if n in live and n in stores:
                drop(n)
    if 3 * len(set(register.values())) > 2 * len(register):
        return lines                           # most values live to the end (a tape): little to gain
    if not any(register[n] != n for n in register):
        return lines
    return [lines[0]] + [rename(line, register) for row, line in enumerate(lines[1:], 1)
                         if row not in copies]            # a copy is now ``x_bar = x_bar``


def rename(line: str, names: dict[str, str]) -> str:
    """One line of generated code with the names in ``names`` replaced; a comment (it
    quotes the source) and string literals are never renamed."""
    if line.lstrip().startswith("#"):
        return line
    swap = lambda m: names.get(m.group(), m.group())              # noqa: E731
    if "'" in line or '"' in line:
        return "".join(_WORDS.sub(swap, piece) if code else piece for code, piece in _code_and_strings(line))
    return _WORDS.sub(swap, line)
