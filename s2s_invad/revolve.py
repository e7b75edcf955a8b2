"""Binomial checkpointing (Griewank and Walther's revolve) for loops kept as loops.

The backward sweep of a loop (vjp, ijvp) needs each iteration's starting state, last to
first. Storing every state costs O(N) memory; rebuilding states by inverting the body
(memory="recompute") needs a body with a closed-form inverse. Otherwise the states are
recomputed from a few stored ones: with s snapshots besides the loop's entry state and
each iteration advanced at most r times, up to

    beta(s, r) = C(s + r + 1, s + 1)

iterations can be reversed (beta(s, r) = beta(s - 1, r) + beta(s, r - 1): advance to a
point m, store the state there, reverse [m, end) with one snapshot fewer, then [start, m)
with one advance fewer). With s about log2(N) snapshots, r is a small constant, so memory
is O(log N) states and the recomputation O(N log N) in the worst case and a few primal
sweeps in practice.

:func:`revolve` drives the generated code: ``step(k, state) -> state`` runs iteration k's
primal; ``back(k, state, bars) -> bars`` runs its primal from ``state`` and then its
reverse rules on ``bars`` (cotangents for vjp, tangents for ijvp). :func:`plan` gives the
schedule's cost without running it (for ``explain``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def beta(snaps: int, reps: int) -> int:
    """How many iterations ``snaps`` snapshots and ``reps`` advances per iteration reverse."""
    return math.comb(snaps + reps + 1, snaps + 1)


def _repetitions(length: int, snaps: int) -> int:
    """The least r with beta(snaps, r) >= length."""
    reps = 0
    while beta(snaps, reps) < length:
        reps += 1
    return reps


def _split(length: int, snaps: int) -> int:
    """How many iterations to advance before storing the next snapshot (at least 1)."""
    reps = _repetitions(length, snaps)
    tail = min(beta(snaps - 1, reps) if snaps > 0 else 1, length - 1)
    return length - tail


def default_snapshots(count: int) -> int:
    """The default budget: about log2(count) states, at least 1."""
    return max(1, int(math.ceil(math.log2(count + 1))))


def revolve(count: int, snaps, state, step, back, bars):
    """Reverse ``count`` iterations from the entry ``state``, keeping at most ``snaps``
    states besides it (None: :func:`default_snapshots`); return the bars at the entry."""
    if count <= 0:
        return bars
    if snaps is None:
        snaps = default_snapshots(count)
    # An explicit stack instead of recursion: each entry reverses [first, last) from the
    # state at ``first``; its states are the snapshots held at any moment.
    stack = [(0, count, snaps, state)]          # (first, last, snapshots left, state at first)
    while stack:
        first, last, free, at_first = stack.pop()
        length = last - first
        if length == 1:
            bars = back(first, at_first, bars)
            continue
        if free == 0:                            # no room: recompute from ``first`` each time
            for i in range(last - 1, first - 1, -1):
                s = at_first
                for j in range(first, i):
                    s = step(j, s)
                bars = back(i, s, bars)
            continue
        mid = first + _split(length, free)
        s = at_first
        for j in range(first, mid):
            s = step(j, s)
        stack.append((first, mid, free, at_first))     # [first, mid) after [mid, last)
        stack.append((mid, last, free - 1, s))
    return bars


@dataclass(frozen=True)
class Plan:
    count: int
    snapshots: int
    advances: int                 # iterations run forwards by the sweep (besides the primal)

    @property
    def factor(self) -> float:
        """Forward iterations the backward sweep runs, per iteration of the loop."""
        return self.advances / self.count if self.count else 0.0


def plan(count: int, snaps=None) -> Plan:
    """The cost of :func:`revolve` for ``count`` iterations (counted, nothing is run)."""
    if snaps is None:
        snaps = default_snapshots(count)
    advances = 0

    def step(k, s):
        nonlocal advances
        advances += 1
        return s
    revolve(count, snaps, None, step, lambda k, s, b: b, None)
    return Plan(count, snaps, advances)
