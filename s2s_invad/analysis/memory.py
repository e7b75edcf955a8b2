"""Planning: how a backward sweep gets each lump's inputs without a tape (SPEC section 5).

Reverse mode and forward-inverse mode walk the lumps last to first and need the values
each lump overwrote. With ``memory="recompute"`` they are rebuilt from the lump's outputs:
a k = 1 lump whose overwritten value reaches its new value through a chain of steps, each
invertible in that operand (``x + h(y)``, ``x * exp(h(y))``, ``tanh(x)``...), is undone step
by step with the inverse rules of :data:`primitives.INVERSES`. Other lumps are
*checkpointed*: the forward pass keeps the values they overwrite. Memory is then the n live
values plus the checkpoints, instead of every intermediate value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import LayeredGraph
from ..ir import Stmt, Value
from .lumps import Lump
from ..primitives import inverse


@dataclass
class Reconstruction:
    """How to rebuild a lump's overwritten value: replay ``side`` forward, undo ``chain``."""
    side: list[Stmt]             # steps that do not depend on the old value (from R, constants)
    chain: list[tuple[Stmt, int]]  # (step, position of the chain operand), last step first


@dataclass
class MemoryPlan:
    recipes: dict[int, Reconstruction | None]   # lump index -> recipe, None = checkpointed
    inputs: frozenset = frozenset()             # parameters: never rebuilt, the caller holds them

    def checkpointed(self, lumps: list[Lump]) -> list[Lump]:
        return [lump for i, lump in enumerate(lumps) if self.recipes[i] is None]

    def stored_values(self, lumps: list[Lump]) -> list[Value]:
        """The values checkpoints keep (inputs are the caller's: not counted)."""
        return [v for lump in self.checkpointed(lumps) for v in lump.killed if v not in self.inputs]


def _recipe(graph: LayeredGraph, lump: Lump, held: frozenset) -> Reconstruction | None:
    if lump.k != 1:
        return None
    old, new = lump.killed[0], lump.new[0]
    if old in held:
        return None                                   # an input: the caller holds it
    depends = {old}
    side, chain_steps = [], []
    for stmt in lump.steps:
        if any(a in depends for a in stmt.args if isinstance(a, Value)):
            depends.add(stmt.target)
            chain_steps.append(stmt)
        else:
            side.append(stmt)
    chain: list[tuple[Stmt, int]] = []
    current = new
    for stmt in reversed(chain_steps):
        if stmt.target is not current:
            return None                               # the dependence branches: no chain
        positions = [i for i, a in enumerate(stmt.args) if a in depends]
        if len(positions) != 1:
            return None                               # x * x, x + f(x): not a chain
        operands = [a.sym() for a in stmt.args]
        if inverse(stmt.op, positions[0], stmt.target.sym(), operands) is None:
            return None
        chain.append((stmt, positions[0]))
        current = stmt.args[positions[0]]
    if current is not old:
        return None
    return Reconstruction(side, chain)


def plan_memory(graph: LayeredGraph, lumps: list[Lump], held=None) -> MemoryPlan:
    """Choose, for every lump, reconstruction by inverse rules or a checkpoint.

    ``held``: values the caller holds, which are read instead of rebuilt (default: the
    program's parameters; none for a loop's body, whose inputs change every iteration).
    """
    held = frozenset(graph.program.params) if held is None else frozenset(held)
    return MemoryPlan({i: _recipe(graph, lump, held) for i, lump in enumerate(lumps)}, held)


def describe(plan: MemoryPlan, lumps: list[Lump]) -> list[str]:
    """Lines for the explain report: which lumps are rebuilt and which checkpointed."""
    rebuilt = [l for i, l in enumerate(lumps) if plan.recipes[i] is not None]
    stored = plan.stored_values(lumps)
    killed = sum(l.k for l in lumps)
    lines = [f"memory='recompute': {len(rebuilt)} of {len(lumps)} lumps rebuilt by inverse steps, "
             f"{len(lumps) - len(rebuilt)} checkpointed; {killed - len(stored)} of {killed} "
             f"overwritten values recomputed ({100 * (killed - len(stored)) / max(killed, 1):.0f}%), "
             f"{len(stored)} stored",
             "  the forward pass checks every rebuilt lump and keeps its input where rebuilding "
             "it would be inexact (beyond 2**-40 relative from an output off by one ulp)"]
    for i, lump in enumerate(lumps):
        if plan.recipes[i] is None:
            inputs = lump.k == 1 and lump.killed[0] in plan.inputs
            why = "k >= 2" if lump.k > 1 else "an input, which the caller holds" if inputs else "no closed-form inverse"
            lines.append(f"  checkpointed ({why}): lines {lump.lines[0]}-{lump.lines[-1]}, "
                         f"{'reads' if inputs else 'stores'} {', '.join(v.name for v in lump.killed)}")
    return lines
