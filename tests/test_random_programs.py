"""Random invertible programs (tests/programs.py): all four modes against the oracle."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2s_invad as si

import checks
import programs

SEEDS = range(300)


def check_seed(seed, directory, point_seed, passive=0):
    """All four modes on program `seed` at a random point; returns False if skipped."""
    f, program = programs.load_program(seed, directory, passive=passive)
    x = np.random.default_rng(point_seed).uniform(-1.0, 1.0, len(program.params))
    wrt = program.wrt if passive else None
    try:
        c = checks.check_modes(si, f, x, wrt=wrt, seed=point_seed, max_cond=checks.MAX_COND)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- program (seed {seed}, passive {passive}) "
                             f"at x = {x.tolist()}\n{program.source}") from None
    return c <= checks.MAX_COND


def passive_count(seed):
    """One program in five also has passive parameters (differentiated with wrt=)."""
    return 0 if seed % 5 else 1 + seed % 2


@pytest.mark.parametrize("seed", SEEDS)
def test_four_modes(seed, program_dir):
    if not check_seed(seed, program_dir, point_seed=10_000 + seed, passive=passive_count(seed)):
        pytest.skip("cond(J) above checks.MAX_COND at this point")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1_000, 10**9), point_seed=st.integers(0, 2**32 - 1),
       passive=st.integers(0, 2))
def test_four_modes_hypothesis(program_dir, seed, point_seed, passive):
    check_seed(seed, program_dir, point_seed, passive)
