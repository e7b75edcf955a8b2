"""SPEC.md examples 1 and 2: all four modes against the oracle and the printed numbers."""

import numpy as np
import pytest

import s2s_invad as si

import checks
import example_functions as ef
import oracle

# ex1_np and ex2_aug compute the same functions as ex1 and ex2, spelled differently.
CASES = [("ex1", "ex1"), ("ex1_np", "ex1"), ("ex2", "ex2"), ("ex2_aug", "ex2")]
X, V, W = ef.SPEC_POINT, ef.SPEC_V, ef.SPEC_W


def run_mode(f, mode):
    """The mode's product at SPEC's point and vectors, as an array, plus the primal value."""
    if mode == "jvp":
        y, out = si.jvp(f, X, V)
    elif mode == "vjp":
        y, pullback = si.vjp(f, *X)
        out = pullback(W)
    elif mode == "ijvp":
        y, out = si.ijvp(f, X, V)
    else:
        y, pushback = si.ivjp(f, *X)
        out = pushback(W)
    return checks.vec(y), checks.vec(out)


def oracle_product(f, mode):
    J = oracle.dense_jacobian(f, X)
    v, w = np.array(V), np.array(W)
    return {"jvp": J @ v, "vjp": J.T @ w,
            "ijvp": np.linalg.solve(J, v), "ivjp": np.linalg.solve(J.T, w)}[mode]


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name, spec", CASES)
def test_against_oracle(name, spec, mode):
    f = getattr(ef, name)
    y, got = run_mode(f, mode)
    checks.assert_close(y, checks.vec(oracle.evaluate(f, X)), 1e-12, f"{name} value")
    checks.assert_close(got, oracle_product(f, mode), 1e-12, f"{name} {mode}")


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name, spec", CASES)
def test_against_spec_numbers(name, spec, mode):
    y, got = run_mode(getattr(ef, name), mode)
    printed = ef.SPEC_NUMBERS[spec]
    for value, want in ((y, printed["f"]), (got, printed[mode])):
        want = np.array(want)
        assert np.all(np.abs(value - want) <= 1e-6 * np.maximum(1.0, np.abs(want))), (value, want)


@pytest.mark.parametrize("name", ["ex1", "ex2"])
def test_result_types(name):
    f = getattr(ef, name)
    y, y_dot = si.jvp(f, X, V)
    assert isinstance(y, tuple) and isinstance(y_dot, tuple) and len(y_dot) == 3
    y, x_dot = si.ijvp(f, X, V)
    assert isinstance(x_dot, tuple) and len(x_dot) == 3
    assert all(isinstance(float(c), float) for c in x_dot)
