"""memory="recompute" for loops kept as loops (issue 13, SPEC sections 5 and 9): loops
whose body inverts in closed form are reversed by rebuilding each iteration's state from
its end (constant memory); the others by binomial checkpointing (O(log N) states). Every
result is checked against the oracle's dense Jacobian of the user's own function and
against memory="store"; memory is measured on the generated code itself."""

import gc
import tracemalloc

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.errors import ArgumentError

import checks
import loop_functions as lf
import oracle

Z2 = np.array([0.4, -0.3])
Z4 = np.array([0.3, -0.2, 0.5, 0.1])
VJP_IJVP = ("vjp", "ijvp")

# name -> (function, primals, wrt, modes, how the loops are reversed)
CASES = {
    "pendulum": (lf.pendulum, (0.6, -0.2), None, VJP_IJVP, "rebuilt"),
    "forced_0": (lf.forced, (0.6, -0.2, 0), ("q", "p"), VJP_IJVP, "rebuilt"),
    "forced_1": (lf.forced, (0.6, -0.2, 1), ("q", "p"), VJP_IJVP, "rebuilt"),
    "forced_300": (lf.forced, (0.6, -0.2, 300), ("q", "p"), VJP_IJVP, "rebuilt"),
    "integrate": (lf.integrate, (Z2, 40), ("z",), VJP_IJVP, "revolve"),   # explicit Euler: k = 2
    "coupling": (lf.coupling, (Z4,), None, VJP_IJVP, "rebuilt"),
    "affine": (lf.affine, ((0.3, -0.6), 0.2), None, VJP_IJVP, "rebuilt"),
    "heat": (lf.heat, (np.array([0.1, 0.4, -0.2, 0.3, 0.0]), 9), ("u",), VJP_IJVP, "revolve"),
    "rk4": (lf.rk4, (Z2, 25, 0.8), ("z",), VJP_IJVP, "revolve"),
    "rk4_1": (lf.rk4, (Z2, 1, 0.8), ("z",), VJP_IJVP, "revolve"),
    "rk4_0": (lf.rk4, (Z2, 0, 0.8), ("z",), VJP_IJVP, "revolve"),
    "rk4_passive_a": (lf.rk4, (Z2, 25, 0.8), ("z", "a"), ("vjp",), "revolve"),
    "in_helper": (lf.in_helper, (Z2, 3, 4), ("z",), VJP_IJVP, "revolve"),
    "two_phases": (lf.two_phases, (Z2, 30), ("x",), VJP_IJVP, "both"),
    "accumulate": (lf.accumulate, (Z2, 9), ("z",), ("vjp",), "revolve"),
    "long_multistep": (lf.long_multistep, (0.3, -0.4), None, ("vjp",), "rebuilt"),   # pivot 0.001: snapshots
}


def _kw(wrt):
    return {} if wrt is None else {"wrt": wrt}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recompute_against_the_oracle(name):
    f, primals, wrt, modes, _ = CASES[name]
    checks.check_structured(si, f, primals, wrt=wrt, modes=modes, memory=("recompute",))


def _shapes(f, primals):
    names = f.__code__.co_varnames[:f.__code__.co_argcount]
    return {n: len(p) for n, p in zip(names, primals) if isinstance(p, (np.ndarray, list, tuple))}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_source_says_how_each_loop_is_reversed(name):
    f, primals, wrt, modes, how = CASES[name]
    text = si.source(f, "vjp", memory="recompute", shapes=_shapes(f, primals), **_kw(wrt))
    rebuilt = "rebuilding each iteration's state from its end" in text
    revolved = "_rt.revolve(" in text
    assert (rebuilt, revolved) == {"rebuilt": (True, False), "revolve": (False, True),
                                   "both": (True, True)}[how]
    assert "memory recompute" in text.splitlines()[2]


@pytest.mark.parametrize("checkpoints", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("steps", [0, 1, 2, 5, 33])
def test_every_budget_gives_the_store_results(steps, checkpoints):
    """revolve with any snapshot budget reverses the loop exactly (the same operations as
    memory="store", so the same numbers to the last bit)."""
    primals, w = (Z2, steps, 0.8), np.array([0.7, -1.1])
    _, store = si.vjp(lf.rk4, *primals, wrt=("z", "a"))
    _, revolved = si.vjp(lf.rk4, *primals, wrt=("z", "a"), memory="recompute", checkpoints=checkpoints)
    want, got = store(w), revolved(w)
    assert np.array_equal(want[0], got[0]) and want[1] == got[1]
    _, x_dot = si.ijvp(lf.rk4, primals, w, wrt="z", memory="recompute", checkpoints=checkpoints)
    _, x_ref = si.ijvp(lf.rk4, primals, w, wrt="z")
    assert np.array_equal(x_dot, x_ref)


def test_a_rebuilt_loop_matches_store_to_rounding_over_many_steps():
    """100,000 leapfrog-like steps rebuilt backwards: the same pullback as memory="store"."""
    primals, w = (0.6, -0.2, 100_000), (0.3, 0.8)
    _, store = si.vjp(lf.forced, *primals, wrt=("q", "p"))
    _, rebuilt = si.vjp(lf.forced, *primals, wrt=("q", "p"), memory="recompute")
    want, got = np.array(store(w)), np.array(rebuilt(w))
    assert np.max(np.abs(got - want)) <= 1e-9 * np.max(np.abs(want))
    _, x_dot = si.ijvp(lf.forced, primals, w, wrt=("q", "p"), memory="recompute")
    _, x_ref = si.ijvp(lf.forced, primals, w, wrt=("q", "p"))
    assert np.max(np.abs(np.array(x_dot) - np.array(x_ref))) <= 1e-9 * np.max(np.abs(x_ref))


def _peak(run) -> int:
    """Peak bytes Python allocates while ``run()`` runs (tracemalloc: counts, not timings)."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _pullback_peak(f, primals, wrt, memory, w, **kw):
    def run():
        _, pullback = si.vjp(f, *primals, wrt=wrt, memory=memory, **kw)
        pullback(w)
    run()                                   # transform and compile outside the measurement
    return _peak(run)


def test_rebuilt_loops_run_in_constant_memory():
    """Peak memory of forward + reverse sweep for 10^3 and 10^5 steps: memory="store"
    grows with the steps, memory="recompute" does not."""
    w = (0.3, 0.8)
    peaks = {(mem, n): _pullback_peak(lf.forced, (0.6, -0.2, n), ("q", "p"), mem, w)
             for mem in ("store", "recompute") for n in (1_000, 100_000)}
    assert peaks["store", 100_000] > 50 * peaks["store", 1_000] / 2
    assert peaks["recompute", 100_000] < 2 * peaks["recompute", 1_000] + 10_000, peaks


def test_checkpointed_loops_keep_a_logarithmic_number_of_states():
    """rk4 without a closed-form inverse: 100 times the steps, not 100 times the memory."""
    w = np.array([0.3, 0.8])
    small = _pullback_peak(lf.rk4, (Z2, 100, 0.8), "z", "recompute", w)
    large = _pullback_peak(lf.rk4, (Z2, 10_000, 0.8), "z", "recompute", w)
    store = _pullback_peak(lf.rk4, (Z2, 10_000, 0.8), "z", "store", w)
    assert large < 3 * small + 20_000, (small, large)
    assert store > 10 * large, (store, large)


def test_drift_of_rebuilt_loops():
    report = si.drift(lf.forced, (0.6, -0.2, 2_000), wrt=("q", "p"))
    lines = {row.line for row in report.rows}
    body = lf.forced.__code__.co_firstlineno
    assert {body + 4, body + 5} <= lines           # the two statements rebuilt backwards
    assert 0 <= report.max < 1e-10, str(report)
    assert "p = p - DT" in str(report)


def test_explain_states_how_each_loop_is_reversed():
    report = si.explain(lf.two_phases, wrt="x", shapes={"x": 2}, checkpoints=4)
    lines = [l for l in report.splitlines() if l.startswith("memory='recompute'")]
    assert len(lines) == 2
    assert "rebuilt backwards by inverse steps" in lines[0]
    assert "binomial checkpointing" in lines[1] and "4 snapshots" in lines[1]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_bad_budgets_are_refused(bad):
    with pytest.raises(ArgumentError, match="checkpoints"):
        si.vjp(lf.rk4, Z2, 5, 0.8, wrt="z", memory="recompute", checkpoints=bad)


def test_a_budget_without_recompute_is_refused():
    with pytest.raises(ArgumentError, match="memory='recompute'"):
        si.vjp(lf.rk4, Z2, 5, 0.8, wrt="z", checkpoints=3)


def test_decorator_keeps_the_budget():
    g = si.derivatives(lf.rk4, wrt="z", memory="recompute", checkpoints=2)
    _, pullback = g.vjp(Z2, 17, 0.8)
    _, store = si.vjp(lf.rk4, Z2, 17, 0.8, wrt="z")
    w = np.array([1.0, -2.0])
    assert np.array_equal(pullback(w)[0], store(w)[0])
    assert "_rt.revolve(steps, 2," in g.source("vjp", shapes={"z": 2})


def test_cli_checkpoints(tmp_path):
    """`gen --memory recompute --checkpoints S` writes the budget into the revolve call;
    without --memory recompute the flag is refused, before anything is written."""
    import subprocess
    import sys
    base = [sys.executable, "-m", "s2s_invad", "gen", "tests/loop_functions.py:rk4", "--wrt", "z",
            "--shape", "z=2", "--modes", "vjp", "-o", "-"]
    done = subprocess.run(base + ["--memory", "recompute", "--checkpoints", "3"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "_rt.revolve(steps, 3," in done.stdout and "with 3 checkpoints" in done.stdout
    refused = subprocess.run(base + ["--checkpoints", "3"], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "--memory recompute" in refused.stderr
    assert "Traceback" not in refused.stderr


TWO_LOOPS = '''
import math


def two_loops(x0, x1):
    for k in range(9):
        x0 = x0 * (1.68 + math.tanh(21.1 * x1))
    for k in range(8):
        x1 = -0.032 * math.expm1(2.49 * x1 - 21.6) - 9.18
        x0 *= math.exp(0.145 * x1 - 0.22)
    return x0, x1


def negative_power(x0, x1):
    for k in range(8):
        x0 = (-4.25182349564063) * math.tanh((-0.12426194195126204) * x0) + (-5.909746997125525)
    x0 = ((-5.161515310623734e+18) * x0) ** (-2.5)
    for k in range(8):
        x0 = x0 - (-0.2890103577831275) * math.sin(5.3150801180480345 * x1)
    return x0, x1
'''


@pytest.mark.parametrize("unroll", [None, True])
def test_two_loops_keep_their_own_snapshots(unroll):
    """Found by the fuzz target (seed 1351): both loops snapshot their states and keep
    inputs under iteration numbers that count from 0, so their keys in the one dict of
    kept values collided (a bare ValueError unpacking the other loop's snapshot). Each
    loop's keys now start with the loop's ordinal."""
    f = si.from_source(TWO_LOOPS, "two_loops")
    x, w = (0.3, 0.2), (1.0, 0.5)
    store = si.vjp(f, *x, unroll=unroll)[1](w)
    recompute = si.vjp(f, *x, memory="recompute", unroll=unroll)[1](w)
    np.testing.assert_allclose(recompute, store, rtol=1e-10)
    np.testing.assert_allclose(store, oracle.dense_jacobian(f, x).T @ np.array(w), rtol=1e-8)
    x_dot = si.ijvp(f, x, w, memory="recompute", unroll=unroll)[1]
    np.testing.assert_allclose(x_dot, si.ijvp(f, x, w, unroll=unroll)[1], rtol=1e-10)


def test_a_rebuild_through_a_negative_power_is_kept_not_raised():
    """Found by the fuzz target (seed 3758): the forward check of rebuilding x from
    (-5.2e18 x) ** -2.5 raised to a complex number, which math.sin refused with a bare
    TypeError; that rebuild is inexact, so the input is kept."""
    f = si.from_source(TWO_LOOPS, "negative_power")
    x, w = (-191.3, 1.3), (1.0, 0.5)
    store = si.vjp(f, *x, unroll=True)[1](w)
    recompute = si.vjp(f, *x, memory="recompute", unroll=True)[1](w)
    np.testing.assert_allclose(recompute, store, rtol=1e-10)
