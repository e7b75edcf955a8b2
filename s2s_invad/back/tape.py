"""Back end, store mode: hand a long sweep its tape in parts, the part it reads first last pushed.

vjp and ivjp run the primal forwards, then return a sweep that reads primal values
backwards. The plain tape is one tuple of every value the sweep reads: the forward pass
keeps all of them alive, each under its own name, until it builds the tuple at the end,
and the sweep unpacks all of them at its start. A CPython frame with thousands of local
names runs markedly slower (:mod:`s2s_invad.back.registers`), so for long straight-line
functions the tape is a list of small tuples instead::

    _tape = []
    ...
    _tape.append((x3_1, t27_3))        # forward: right after the last of them is computed
    ...
    _parts = _tape[:]                  # sweep: a copy (a pullback may be called again)
    ...
    (x3_1, t27_3) = _parts.pop()       # right before the first of them is read

A reverse sweep (vjp) reads values last to first, so the forward pass pushes the parts in
that order and the sweep pops them from the end; the reverse-inverse sweep (ivjp) reads
them first to last, so it pops them from the front (a reversed copy, ``_tape[::-1]``).
Which of the two is chosen from the order the sweep reads the values in.
Each value then lives only between its definition and its part's push in the forward
pass, and between its part's pop and its last read in the sweep: the register pass gives
both functions a bounded set of names.

Parts are cut where the sweep first reads a value whose name hashes to a boundary (at
least MIN and at most MAX values a part), so that an edit of one source line moves only
the parts around it, not every part after it.
"""

from __future__ import annotations

import zlib

from .emit_common import wrap
from .registers import _roles, _statements, rename

MIN, MAX, SPREAD = 8, 64, 16     # values a part (MAX), and 1/SPREAD of names start a new part
WORTH = 64                       # tapes of fewer values stay one tuple (small functions keep it)


def _simple(lines: list[str]):
    """The simple statements of a function body as (first row, last row, names read, bound),
    or None where the body is not straight-line code."""
    stmts = _statements(["def _():"] + lines)
    if stmts is None:
        return None
    out = []
    for rows, text in stmts:
        loads, stores, dels = _roles(text)
        if dels:
            return None
        out.append((rows[0] - 1, rows[-1] - 1, loads, stores))
    return out


def _boundary(name: str) -> bool:
    return zlib.crc32(name.encode()) % SPREAD == 0


def parts(forward: list[str], sweep: list[str], tape: list[str], name: str, rest: str,
          indent: str = "    "):
    """The forward body and the sweep body (two functions: vjp, ivjp) with the tape
    ``tape`` (the names it holds) appended to the list ``name`` in parts and popped from
    its copy ``rest``; None where it stays one tuple (a short tape, loops, anything but
    straight-line code)."""
    if len(tape) < WORTH:
        return None
    plan = _plan(forward, _simple(forward), _simple(sweep), tape)
    if plan is None:
        return None
    fifo, pops, pushes, start = plan
    order = "[::-1]" if fifo else "[:]"
    head = [f"{indent}{rest} = {name}{order}  # pop() gives the part read next"]
    return (_pushed(forward, pushes, start, name, indent),
            _popped(sweep, pops, f"{rest}.pop()", indent, head))


def within(lines: list[str], mark: int, name: str, fresh, indent: str = "    "):
    """One function's body (ijvp) whose lines from ``mark`` on (the inverse sweep) read the
    values the lines before it compute, last to first: the values go on the stack ``name``
    in parts and come back under new names (``fresh(old)``) right before the sweep reads
    them, so each lives only where it is used; None where nothing changes."""
    forward, sweep = lines[:mark], lines[mark:]
    fwd, swp = _simple(forward), _simple(sweep)
    if not fwd or not swp:
        return None
    bound = {n for _, _, _, stores in fwd for n in stores}
    tape = list(dict.fromkeys(n for _, _, loads, _ in swp for n in loads if n in bound))
    if len(tape) < WORTH:
        return None
    plan = _plan(forward, fwd, swp, tape)
    if plan is None or plan[0]:
        return None                                    # a sweep reading first to last: not ijvp's
    _, pops, pushes, start = plan
    renamed = {n: fresh(n) for n in tape}
    sweep = [rename(line, renamed) for line in sweep]
    pops = {row: [renamed[n] for n in values] for row, values in pops.items()}
    return _pushed(forward, pushes, start, name, indent) + _popped(sweep, pops, f"{name}.pop()", indent, [])


def _plan(forward: list[str], fwd, swp, tape: list[str]):
    """(pops from the front?, {sweep row: values popped before it}, {forward row: parts
    pushed after it, in order}, the row the list starts after) from the statements of
    both bodies (:func:`_simple`); None where they are not straight-line code."""
    if not fwd or not swp:
        return None
    held = set(tape)
    groups: list[tuple[int, list[str]]] = []      # (sweep statement it is popped before, values)
    seen: set[str] = set()
    for i, (_, _, loads, stores) in enumerate(swp):
        if held & set(stores):
            return None                            # the sweep rebinds a tape value: not ours
        new = [n for n in dict.fromkeys(loads) if n in held and n not in seen]
        if not new:
            continue
        seen.update(new)
        if groups and (len(groups[-1][1]) < MIN or not _boundary(new[0])) and len(groups[-1][1]) < MAX:
            groups[-1][1].extend(new)
        else:
            groups.append((i, new))
    unread = [n for n in tape if n not in seen]    # none in practice: popped first
    if unread:
        if not groups:
            return None
        groups[0] = (groups[0][0], unread + groups[0][1])
    start = -1
    if forward[fwd[0][0]].lstrip().startswith('"""'):
        start, fwd = fwd[0][1], fwd[1:]            # the docstring stays first
    if not fwd:
        return None
    defined: dict[str, int] = {}
    for i, (_, _, _, stores) in enumerate(fwd):
        for n in stores:
            defined.setdefault(n, i)
    ready = [max([-1] + [defined.get(n, -1) for n in values]) for _, values in groups]
    queue, stack = _pushes(ready, range(len(groups))), _pushes(ready, range(len(groups) - 1, -1, -1))
    late = lambda at: sum(a - r for a, r in zip(at, ready))         # noqa: E731
    fifo = late(queue) < late(stack)
    at = queue if fifo else stack
    pushes: dict[int, list[list[str]]] = {}
    for g in (range(len(groups)) if fifo else range(len(groups) - 1, -1, -1)):
        row = start if at[g] < 0 else fwd[at[g]][1]                # after that statement's last row
        pushes.setdefault(row, []).append(groups[g][1])
    return fifo, {swp[i][0]: values for i, values in groups}, pushes, start


def _pushed(forward: list[str], pushes: dict, start: int, name: str, indent: str) -> list[str]:
    """``forward`` with ``name = []`` after row ``start`` and each part's push after the
    row it follows; a row of -1: before everything."""
    out: list[str] = []
    rows = [(-1, None)] + list(enumerate(forward))
    for row, line in rows:
        if line is not None:
            out.append(line)
        if row == start:
            out.append(f"{indent}{name} = []")
        for values in pushes.get(row, ()):
            out += wrap(f"{name}.append({_tuple(values)})", indent)
    return out


def _popped(sweep: list[str], pops: dict, source: str, indent: str, head: list[str]) -> list[str]:
    """``head``, then ``sweep`` with each part popped from ``source`` before the step that
    first reads it."""
    out = list(head)
    floor = len(out)                                 # nothing moves above the last pop
    for row, line in enumerate(sweep):
        if row in pops:
            at = _step_start(out, floor)
            text = wrap(f"{_tuple(pops[row])} = {source}", indent)
            out[at:at] = text
            floor = at + len(text)
        out.append(line)
    return out


def _tuple(names: list[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _step_start(lines: list[str], floor: int) -> int:
    """Where the step that ends ``lines`` starts: before its comment (``# line 12: ...``);
    the end where no comment heads it after ``floor``."""
    at = len(lines)
    while at > floor and not lines[at - 1].lstrip().startswith("#"):
        at -= 1
    if at == floor:
        return len(lines)
    while at > floor and lines[at - 1].lstrip().startswith("#"):
        at -= 1
    return at


def _pushes(ready: list[int], order) -> list[int]:
    """Where each part is pushed (after which forward statement; -1: first) when parts are
    pushed in ``order``: once all its values exist, and not before the part pushed ahead of it."""
    at, out = -1, [0] * len(ready)
    for g in order:
        at = out[g] = max(at, ready[g])
    return out
