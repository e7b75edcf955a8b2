"""Analysis: the layered data-flow graph of the active statements.

The graph has one layer per program point (point p is after the p-th active step; point 0
is the entry), each holding the active values live there; a step's edges run from its
operands to its result with weight a (to the operand whose register it takes) or b, and
a value live across a point is carried by an identity edge.

Stored compactly, so that building it stays linear in the program: a networkx DAG over
SSA values (edge attribute ``partial``: the symbolic d target / d operand) and each value's
live interval [born, end] in points; a layer is the set of values whose interval covers it.
:meth:`LayeredGraph.expand` materialises the explicit layered graph (one node per value
per layer) for drawing small programs. Scheduling, lump cutting and the explain report all
read this structure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir import Program, Stmt, Value
from ..primitives import partials
from ..sym import Fn, Op, Sym

if TYPE_CHECKING:
    import networkx as nx


def _bind_ns(e: Sym, ns: str, array: bool = False) -> Sym:
    """Give the functions a derivative rule introduced the namespace of their statement; in
    array code (NumPy: the values may be arrays) keep only the general arm of a
    :func:`s2s_invad.sym.fast`."""
    if isinstance(e, Fn):
        return Fn(e.fn, tuple(_bind_ns(a, ns, array) for a in e.args), e.ns or ns)
    if isinstance(e, Op):
        if array and e.op == "fast":
            return _bind_ns(e.args[2], ns, array)
        return Op(e.op, tuple(_bind_ns(a, ns, array) for a in e.args))
    return e


def step_partials(program: Program, stmt: Stmt) -> dict[Value, Sym]:
    """d target / d operand for each distinct active operand (repeated operands add up)."""
    parts = partials(stmt.op, [a.sym() for a in stmt.args], stmt.target.sym())
    ns = stmt.ns or program.default_ns
    array = program.modules.get(ns, "math") != "math"
    result: dict[Value, Sym] = {}
    for arg, part in zip(stmt.args, parts):
        if isinstance(arg, Value) and arg.active:
            part = _bind_ns(part, ns, array)
            result[arg] = result[arg] + part if arg in result else part
    return result


@dataclass
class LayeredGraph:
    program: Program
    order: list[Stmt]                 # every statement (passive ones too), in schedule order
    steps: list[Stmt]                 # the active ones, in the same order
    born: dict[Value, int]            # first point where the value is live
    end: dict[Value, int]             # last point where the value is live
    widths: list[int]                 # live width at points 0..len(steps)
    partials: dict[Stmt, dict[Value, Sym]]

    @functools.cached_property
    def dag(self) -> "nx.DiGraph":
        """The data flow over active values: operand name -> result name, attribute 'partial'."""
        import networkx as nx                    # imported on use: it costs 0.2 s at start-up
        g = nx.DiGraph()
        g.add_nodes_from(v.name for v in self.born)
        g.add_edges_from((arg.name, stmt.target.name, {"partial": part})
                         for stmt in self.steps for arg, part in self.partials[stmt].items())
        return g

    @property
    def n_points(self) -> int:
        return len(self.steps) + 1

    def live(self, point: int) -> list[Value]:
        """The active values live at ``point``, in order of birth."""
        return [v for v in self.born if self.born[v] <= point <= self.end[v]]

    def expand(self) -> "nx.DiGraph":
        """The explicit layered graph: node (point, value name); edges carry 'weight'."""
        import networkx as nx
        g = nx.DiGraph()
        for v in self.born:
            for p in range(self.born[v], self.end[v] + 1):
                g.add_node((p, v.name), layer=p, value=v.name)
                if p > self.born[v]:
                    g.add_edge((p - 1, v.name), (p, v.name), weight="1", identity=True)
        for i, stmt in enumerate(self.steps, start=1):
            for arg, part in self.partials[stmt].items():
                g.add_edge((i - 1, arg.name), (i, stmt.target.name), weight=part, identity=False)
        return g


def build_graph(program: Program, order: list[Stmt] | None = None) -> LayeredGraph:
    """Build the layered graph of ``program``'s active steps in ``order`` (default: source)."""
    order = list(order if order is not None else program.body)
    steps = [s for s in order if s.active]
    born: dict[Value, int] = {}
    end: dict[Value, int] = {}
    parts: dict[Stmt, dict[Value, Sym]] = {}
    for p in program.params:
        if p.active:
            born[p] = 0
            end[p] = 0
    for i, stmt in enumerate(steps, start=1):
        parts[stmt] = step_partials(program, stmt)
        for arg, part in parts[stmt].items():
            end[arg] = max(end[arg], i - 1)
        born[stmt.target] = i
        end[stmt.target] = i
    last = len(steps)
    for out in program.outputs:
        if isinstance(out, Value) and out.active:
            end[out] = last
    diff = [0] * (last + 2)
    for v in born:
        diff[born[v]] += 1
        diff[end[v] + 1] -= 1
    widths, running = [], 0
    for p in range(last + 1):
        running += diff[p]
        widths.append(running)
    return LayeredGraph(program, order, steps, born, end, widths, parts)
