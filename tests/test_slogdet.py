"""si.slogdet: sign and log|det J| from pivots and lump determinants, against the oracle."""

import numpy as np
import pytest

import s2s_invad as si

import oracle
import programs
from example_functions import ex1, ex2


@pytest.mark.parametrize("seed", range(80))
def test_slogdet_matches_dense_slogdet(seed, program_dir):
    f, program = programs.load_program(seed, program_dir)
    x = tuple(np.random.default_rng(30_000 + seed).uniform(-1.0, 1.0, program.n))
    jac = oracle.dense_jacobian(f, x)
    sign, logabsdet = np.linalg.slogdet(jac)
    _, (got_sign, got_log) = si.slogdet(f, x)
    assert got_sign == sign
    assert got_log == pytest.approx(logabsdet, abs=1e-10 * max(1.0, np.linalg.cond(jac)))


def test_slogdet_of_the_spec_examples():
    x = (0.7, 1.3, -0.4)
    for f, det in ((ex1, 1.000674), (ex2, -5.269456)):        # SPEC.md
        _, (sign, logabsdet) = si.slogdet(f, x)
        assert sign * np.exp(logabsdet) == pytest.approx(det, abs=1e-6)
