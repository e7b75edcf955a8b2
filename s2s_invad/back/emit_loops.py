"""Back end: loops kept as loops, in every mode (SPEC section 9).

A rolled loop's body was analysed once (:mod:`s2s_invad.analysis.regions`); each mode
wraps the body's code in a loop:

* jvp runs one forward loop carrying the tangents along; slogdet one forward loop
  accumulating each iteration's log|det|;
* vjp and ijvp (memory="store") run the primal loop forwards, recording per iteration
  only what the backward sweep reads into a list made once (``[None] * count``), then one
  reversed loop applies the body's reverse (or inverse) rules;
* ivjp's sweep runs the loop forwards again from its entry values, applying the body's
  reverse-inverse rules as it goes (constant memory).

The carried values keep their names across iterations: before the loop they take their
entry values, after each iteration their results (``q, p = q_2, p_2``), and after the
loop they hold the final state. This module holds the scaffolding the mode emitters
share: the loop's header and comment, entry copies and carry-back, and the tapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import _astlib as A
from ..analysis.regions import Rolled, Regions
from ..ir import Loop, Value, iter_stmts, where_text
from .emit_common import Emitter, Writer


def loop_comment(em: Emitter, w: Writer, loop: Loop, what: str = "") -> None:
    where = f" ({where_text(loop.where)})" if where_text(loop.where) else ""
    w.comment(f"line {loop.line}{where}: {em.program.source_line(loop.line)}")
    w.comment(f"  kept as a loop: its body is analysed once{what}")


def assign_pairs(em: Emitter, w: Writer, targets: list[str], values: list) -> None:
    """``a, b = x, y`` for the pairs that differ (one line, or nothing)."""
    pairs = [(t, v) for t, v in zip(targets, values) if not (isinstance(v, A.ast.Name) and v.id == t)]
    if not pairs:
        return
    if len(pairs) == 1:
        w.stmt(A.assign(pairs[0][0], pairs[0][1]))
    else:
        w.stmt(A.assign([t for t, _ in pairs], A.tuple_([v for _, v in pairs])))


def operand_expr(em: Emitter, op):
    return em.expr(op.sym())


def enter(em: Emitter, w: Writer, loop: Loop) -> None:
    """The carried values take their entry values."""
    assign_pairs(em, w, [c.var.name for c in loop.carried], [operand_expr(em, c.entry) for c in loop.carried])


def carry_back(em: Emitter, w: Writer, loop: Loop) -> None:
    """After an iteration, the carried values take its results."""
    assign_pairs(em, w, [c.var.name for c in loop.carried], [operand_expr(em, c.result) for c in loop.carried])


def count_text(em: Emitter, loop: Loop) -> str:
    return A.to_source(operand_expr(em, loop.count))


def header(em: Emitter, w: Writer, loop: Loop, reverse: bool = False) -> str:
    """Write ``for k in range(...):`` (the caller indents the body); return the name of the
    iteration counter (the index itself for ``range(count)``)."""
    count = count_text(em, loop)
    simple = loop.start == 0 and loop.step == 1
    counter = loop.index.name if simple else em.namer.fresh(f"{loop.index.name}_i")
    span = f"range({count} - 1, -1, -1)" if reverse else f"range({count})"
    w.line(f"for {counter} in {span}:")
    if not simple:
        w.level += 1
        w.stmt(A.assign(loop.index.name, A.binop("add", A.const(loop.start),
                                                A.binop("mul", A.const(loop.step), A.name(counter)))))
        w.level -= 1
    return counter


def active_carries(loop: Loop) -> list:
    return [c for c in loop.carried if c.var.active]


def zero_or(em: Emitter, name_of, value, like):
    """``name_of(value)`` for an active value, else zero shaped like ``like``."""
    if isinstance(value, Value) and value.active:
        return A.name(name_of(value))
    return em.zero_like(like.sym())


def iteration_locals(loop: Loop, tapes: "Tapes | None" = None) -> set[str]:
    """Names whose value changes from one iteration to the next: the index, the carried
    values and everything the body defines (nested loops' values and tapes too)."""
    return set(definition_order(loop, tapes))


@dataclass
class Tape:
    """What one rolled loop records per iteration for its backward sweep."""
    loop: Loop
    name: str                    # the list: [None] * count
    writer: Writer               # where the forward loop's recording line goes
    slot: int                    # its index in writer.lines (a placeholder until known)
    indent: str
    counter: str
    row: list[str] = field(default_factory=list)

    def fill(self, row: list[str]) -> None:
        """Put the recording line in place now that the backward sweep's reads are known."""
        self.row = row
        text = f"{self.name}[{self.counter}] = ({', '.join(row)}{',' if len(row) == 1 else ''})" if row else ""
        self.writer.lines[self.slot] = self.indent + text if text else None


class Tapes:
    """The tapes of one generated function's loops, by loop (in forward order)."""

    def __init__(self):
        self.by_loop: dict[int, Tape] = {}

    def allocate(self, em: Emitter, w: Writer, loop: Loop) -> Tape:
        name = em.namer.fresh(f"_tape_l{loop.line}")
        w.stmt(A.assign(name, A.binop("mul", A.list_([A.const_none()]), operand_expr(em, loop.count))))
        tape = Tape(loop, name, w, -1, "", "")
        self.by_loop[id(loop)] = tape
        return tape

    def record_here(self, tape: Tape, w: Writer, counter: str) -> None:
        tape.writer, tape.slot, tape.indent, tape.counter = w, len(w.lines), "    " * w.level, counter
        w.lines.append(None)                                  # filled by Tape.fill

    def __getitem__(self, loop: Loop) -> Tape:
        return self.by_loop[id(loop)]

    def finish(self, writers) -> None:
        """Drop the placeholders of loops whose sweep read nothing (and their lists)."""
        for w in writers:
            w.lines[:] = [line for line in w.lines if line is not None]


def primal_regions(em: Emitter, w: Writer, regions: Regions, tapes: Tapes | None = None) -> None:
    """The primal of every region in order; loops kept as loops (recording for ``tapes``)."""
    for region in regions.parts:
        if isinstance(region, Rolled):
            primal_loop(em, w, region, tapes)
        else:
            with em.using(region.graph):
                for stmt in em.graph.order:
                    em.step_comment(w, stmt)
                    w.stmt(em.primal(stmt))


def primal_loop(em: Emitter, w: Writer, region: Rolled, tapes: Tapes | None) -> None:
    loop = region.loop
    loop_comment(em, w, loop)
    enter(em, w, loop)
    tape = tapes.allocate(em, w, loop) if tapes is not None else None
    counter = header(em, w, loop)
    w.level += 1
    primal_regions(em, w, region.body, tapes)
    if tape is not None:
        tapes.record_here(tape, w, counter)
    carry_back(em, w, loop)
    w.level -= 1
    w._last_comment = None


def reversed_loop(em: Emitter, w: Writer, region: Rolled, tapes: Tapes, body) -> None:
    """``for k in range(count - 1, -1, -1):`` around ``body()``, which emits one backward
    iteration; the values it reads that change between iterations come from the tape row
    (``a, b, c = _tape[k]``), which the forward loop records."""
    loop = region.loop
    tape = tapes[loop]
    begin = len(w.lines)
    loop_comment(em, w, loop, ", here in reverse")
    counter = header(em, w, loop, reverse=True)
    w.level += 1
    slot = len(w.lines)
    w.lines.append(None)                         # the tape row, once known
    outer_refs, em.refs = em.refs, set()
    body()
    order = definition_order(loop, tapes)
    locals_ = set(order)
    row = [n for n in order if n in em.refs and n in locals_]
    em.refs = outer_refs | {n for n in em.refs if n not in locals_} | {tape.name}
    if isinstance(loop.count, Value):
        em.refs.add(loop.count.name)
    if row:
        w.lines[slot] = "    " * w.level + ", ".join(row) + ("," if len(row) == 1 else "") + \
            f" = {tape.name}[{counter}]"
    tape.fill(row)
    w.level -= 1
    w._last_comment = None
    if not row and all(line is None or not line.strip() or line.lstrip().startswith("#")
                       or line.lstrip().startswith(f"{loop.index.name} = ")
                       for line in w.lines[slot:]):
        del w.lines[begin:]              # nothing to do in reverse (a loop on passive values only)


def copy_pairs(em: Emitter, w: Writer, pairs: list, name) -> set:
    """``name(to) = name(from)`` for (to, from) Value pairs, all at once (a swap stays a
    swap); returns the targets."""
    pairs = [(a, b) for a, b in pairs if a is not b]
    assign_pairs(em, w, [name(a) for a, _ in pairs], [A.name(name(b)) for _, b in pairs])
    return {a for a, _ in pairs}


def definition_order(loop: Loop, tapes: "Tapes | None" = None) -> list[str]:
    """Iteration-local names in the order the forward body defines them."""
    out = [loop.index.name] + [c.var.name for c in loop.carried]

    def walk(items):
        for item in items:
            if isinstance(item, Loop):
                if tapes is not None and id(item) in tapes.by_loop:
                    out.append(tapes[item].name)
                out.append(item.index.name)
                out.extend(c.var.name for c in item.carried)
                walk(item.body)
            else:
                out.append(item.target.name)
    walk(loop.body)
    return out


def outer_defined(program, regions: Regions, tapes: Tapes | None = None) -> list[str]:
    """Names the outer level of a generated function defines, in order (for its tape)."""
    out = [p.name for p in program.params]
    for region in regions.parts:
        if isinstance(region, Rolled):
            if tapes is not None and id(region.loop) in tapes.by_loop:
                out.append(tapes[region.loop].name)
            out.extend(c.var.name for c in region.loop.carried)
            if isinstance(region.loop.count, Value):
                out.append(region.loop.count.name)
        else:
            out.extend(s.target.name for s in region.graph.order)
    return out
