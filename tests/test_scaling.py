"""The transform grows linearly with the program (issue 14): counted in function calls, not
timed (tests never assert on timings; a call count is the same on every run).

An unrolled leapfrog of 20 and of 80 steps, all four modes: four times the statements must
cost about four times the calls of the whole transform (front end, analyses, generation).
A pass that rescans the program once per statement (as ``Program.default_ns`` did, asked
by the graph builder for every statement) makes it sixteen.
"""

from __future__ import annotations

import cProfile
import pstats

import s2s_invad as si

LEAPFROG = """
import numpy as np

STEPS = {steps}
DT = 0.01


def force(q):
    return -np.sin(q) + 0.5 * (q[::-1] - q)


def leapfrog(z):
    q, p = z[:2], z[2:]
    for _ in range(STEPS):
        p = p + 0.5 * DT * force(q)
        q = q + DT * p
        p = p + 0.5 * DT * force(q)
    return np.concatenate([q, p])
"""


def calls_to_transform(steps: int) -> int:
    f = si.from_source(LEAPFROG.format(steps=steps), "leapfrog")
    profile = cProfile.Profile()
    profile.enable()
    for mode in ("jvp", "vjp", "ijvp", "ivjp", "slogdet"):
        si.source(f, mode, shapes={"z": 4}, unroll=True)
    profile.disable()
    return pstats.Stats(profile).total_calls


def test_transform_calls_grow_linearly_with_the_program():
    small, large = calls_to_transform(20), calls_to_transform(80)
    assert large <= 4 * 1.25 * small, (small, large, large / small)
