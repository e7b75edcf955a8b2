"""Binomial checkpointing (s2s_invad.revolve) on its own: the reversal is exact, memory is
the budget, and the recomputation matches beta(s, r) = C(s + r + 1, s + 1)."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from s2s_invad import revolve as rv


def reversal(count, snaps):
    """Run revolve on a recurrence whose states are the iteration numbers: back() checks
    it receives the true state of iteration k and records the order; the number of states
    alive at once is tracked."""
    seen, live, peak = [], set(), [0]

    def step(k, state):
        assert state == k
        return k + 1

    def back(k, state, bars):
        assert state == k, (k, state)
        seen.append(k)
        return bars + [k]
    bars = rv.revolve(count, snaps, 0, step, back, [])
    return seen, bars


@given(st.integers(0, 300), st.integers(0, 12))
@settings(max_examples=200, deadline=None)
def test_every_iteration_is_reversed_once_from_its_true_state(count, snaps):
    seen, bars = reversal(count, snaps)
    assert seen == list(range(count - 1, -1, -1)) == bars


@pytest.mark.parametrize("count, snaps", [(10, 1), (100, 3), (1000, 5), (10 ** 5, 17)])
def test_recomputation_is_within_the_binomial_bound(count, snaps):
    plan = rv.plan(count, snaps)
    reps = rv._repetitions(count, snaps)
    assert rv.beta(snaps, reps) >= count > (rv.beta(snaps, reps - 1) if reps else 0)
    assert plan.advances <= reps * count           # each iteration advanced at most r times


def test_the_stack_holds_at_most_the_budget():
    """The states alive at once: the entry state and at most ``snaps`` snapshots."""
    count, snaps = 5000, 6
    alive, peak = set(), 0

    class State:
        def __init__(self, k):
            self.k = k
            alive.add(id(self))

        def __del__(self):
            alive.discard(id(self))

    def step(k, s):
        return State(k + 1)

    def back(k, s, bars):
        nonlocal peak
        assert s.k == k
        peak = max(peak, len(alive))
        return bars
    rv.revolve(count, snaps, State(0), step, back, None)
    assert peak <= snaps + 2                        # + the state back() just received


def test_default_budget_is_logarithmic():
    """ceil(log2(N + 1)) snapshots: each iteration is advanced at most 7 times up to N = 10^6."""
    for count, reps in ((10, 2), (10 ** 3, 4), (10 ** 6, 7)):
        snaps = rv.default_snapshots(count)
        assert snaps == math.ceil(math.log2(count + 1))
        assert rv._repetitions(count, snaps) == reps
        assert rv.plan(count).advances <= reps * count
