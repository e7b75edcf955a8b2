"""The fuzz target (issue 10, "Tests and figures"): random programs against their own oracle.

CI runs the first PROGRAMS seeds (every mode, both memory settings, batches for NumPy
programs) and requires every run to be correct; ``python benchmarks/fuzz.py --programs
10000`` runs thousands on demand and prints the counts. The generator (fuzz_gen), the
oracles (fuzz_oracle) and the judge (fuzz_run) import nothing of s2s_invad's rules; the
tests at the bottom check that the judge does catch the defects the issue reported.
"""

from __future__ import annotations

import collections
import tempfile

import mpmath as mp
import numpy as np
import pytest

import s2s_invad as si

import fuzz_gen
import fuzz_oracle
import fuzz_run

PROGRAMS = 480
CHUNKS = 8


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Compiled modules go to a folder of this test, not the user's temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_fuzz_programs_are_all_correct(chunk, private_cache):
    size = PROGRAMS // CHUNKS
    counts, failures = fuzz_run.run(range(chunk * size, (chunk + 1) * size))
    # FLAGGED: the known defect of recompute through chains of rebuilds, which si.drift
    # reports (tests/test_recompute.py::test_rebuild_errors_compound_along_a_chain, xfail)
    bad = {c: counts[c] for c in fuzz_run.CLASSES if c not in ("correct", fuzz_run.FLAGGED) and counts[c]}
    assert not bad, (f"{bad}; reproduce one with: python benchmarks/fuzz.py --seed SEED --programs 1 "
                     f"--failures 5\n" + "\n".join(map(repr, failures[:10])))
    assert counts["correct"] >= 6 * size                 # seven runs a program, a few more in batches


def test_the_generator_is_deterministic_and_runs_its_points():
    for seed in (0, 17, 4242):
        a, b = fuzz_gen.generate(seed), fuzz_gen.generate(seed)
        assert (a.source, a.points) == (b.source, b.points)
        fn = fuzz_gen.compile_program(a)
        assert all(fuzz_gen.runs(fn, x) for x in a.points)


def test_the_generator_reaches_the_saturated_regions():
    """Over the CI seeds, every function is evaluated where it saturates or nears its edge."""
    seen = collections.Counter()
    regions = {"tanh": lambda x: abs(x) > 15, "exp": lambda x: abs(x) > 600, "expm1": lambda x: x < -20,
               "log": lambda x: 0 < x < 1e-100, "sqrt": lambda x: 0 < x < 1e-100,
               "log1p": lambda x: -1 < x < -1 + 1e-9, "asin": lambda x: 1 - abs(x) < 1e-9,
               "acos": lambda x: 1 - abs(x) < 1e-9, "atan": lambda x: abs(x) > 1e15,
               "tan": lambda x: abs(abs(x) - np.pi / 2) < 1e-4, "sinh": lambda x: abs(x) > 100}
    for seed in range(PROGRAMS):
        program = fuzz_gen.generate(seed)
        for name, x in fuzz_oracle.arguments(program, program.points[0]):
            if name in regions and regions[name](x):
                seen[name] += 1
    assert all(seen[name] >= 3 for name in regions), seen


def _tanh_program(x: float) -> fuzz_gen.FuzzProgram:
    source = "import math\n\n\ndef fzt(x0):\n    x0 = math.tanh(x0)\n    return x0\n"
    return fuzz_gen.FuzzProgram(0, "fzt", source, 1, "math", [(x,)], 2)


def test_the_judge_catches_the_reported_defects():
    """The defects of the issue, as a tool would have returned them, are not 'correct'."""
    point = fuzz_run.Point(_tanh_program(20.0), (20.0,))
    old_tanh = np.array([1 - np.tanh(20.0) ** 2])                       # 0.0: d tanh = 1 - z**2
    assert fuzz_run.judge("ok", old_tanh, "jvp", "store", point, (1.0,)) == "wrong answer"
    assert fuzz_run.judge("ok", np.array([1.6993417021166355e-17]), "jvp", "store", point, (1.0,)) == "correct"
    singular = si.SingularJacobianError("zero pivot", "fzt.py", 5)
    assert fuzz_run.judge("named", singular, "ijvp", "store", point, (1.0,)) == "false singular"
    assert fuzz_run.judge("ok", np.array([np.nan]), "vjp", "recompute", point, (1.0,)) == "silent non-finite"
    assert fuzz_run.judge("bare", ValueError("math domain error"), "vjp", "recompute", point, (1.0,)) == \
        "bare exception"
    off = np.array([float(1 / fuzz_oracle.exact(point.program, (20.0,)).jac[0, 0]) * (1 + 1e-6)])
    assert fuzz_run.judge("ok", off, "ijvp", "store", point, (1.0,)) == "wrong answer"
    refused = fuzz_run.Point(_tanh_program(400.0), (400.0,))      # sech(400)**2 = 1e-347: no float
    assert fuzz_run.judge("named", singular, "ijvp", "store", refused, (1.0,)) == "correct"


def test_the_tape_is_the_derivative_of_the_float_program():
    """The 50-digit tape against mpmath's own numerical derivative on a smooth program."""
    source = ("import math\n\n\ndef fzs(x0, x1):\n    x0 = x0 * math.exp(0.3 * x1)\n"
              "    x1 = x1 + math.sin(x0) ** 2\n    return x0, x1\n")
    program = fuzz_gen.FuzzProgram(0, "fzs", source, 2, "math", [(0.7, -0.4)], 3)
    ex = fuzz_oracle.exact(program, (0.7, -0.4))

    def f(a, b):
        a = a * mp.exp(0.3 * b)
        return [a, b + mp.sin(a) ** 2]
    for j in range(2):
        for i in range(2):
            d = mp.diff(lambda t: f(*[t if k == j else (0.7, -0.4)[k] for k in range(2)])[i], (0.7, -0.4)[j])
            assert abs(ex.jac[i, j] - d) < 1e-14
    cs = fuzz_oracle.complex_step(program, (0.7, -0.4))
    np.testing.assert_allclose(cs, np.array(ex.jac.tolist(), dtype=float), rtol=1e-14)


def test_some_programs_use_loops_vectors_and_helpers():
    """Over the CI seeds: loops kept as loops (and the tool keeps them), unrolled loops,
    vector locals and helpers, in both spellings."""
    seen = collections.Counter()
    kept_checked = 0
    for seed in range(PROGRAMS):
        program = fuzz_gen.generate(seed)
        for what in ("loops_kept", "loops_unrolled", "vectors", "helpers"):
            seen[what, program.spelling] += bool(getattr(program, what))
        if program.loops_kept and kept_checked < 8:
            f, filename = fuzz_run.load(program)
            try:
                report = si.explain(f)
            finally:
                fuzz_run.linecache.cache.pop(filename, None)
            assert report.count("kept as a loop") == program.loops_kept, (program.source, report)
            kept_checked += 1
    assert kept_checked == 8
    for what in ("loops_kept", "loops_unrolled", "vectors", "helpers"):
        assert seen[what, "math"] >= 5 and seen[what, "np"] >= 5, seen


def test_the_judge_on_loops_kept_as_loops():
    """memory="recompute" reverses loops kept as loops, so a NotInvertibleError there is a
    false refusal like anywhere else, and an AttributeError a bare exception."""
    looped = fuzz_gen.FuzzProgram(0, "fzl", "import math\n\n\ndef fzl(x0):\n    for k in range(9):\n"
                                  "        x0 = x0 + 0.1 * math.sin(x0)\n    return x0\n", 1, "math", [(0.3,)], 2,
                                  loops_kept=1)
    refusal = si.NotInvertibleError("line 5: memory='recompute' does not rebuild values through a loop kept "
                                    "as a loop", 5)
    point = fuzz_run.Point(looped, looped.points[0])
    for memory in ("recompute", "store"):
        assert fuzz_run.judge("named", refusal, "vjp", memory, point, (1.0,)) == "false refusal"
    assert fuzz_run.judge("bare", AttributeError("'NoneType' object has no attribute 'program'"), "vjp",
                          "recompute", point, (1.0,)) == "bare exception"


def test_a_batch_that_numpy_reads_as_vectors_is_judged_whole(monkeypatch):
    """Seed 742 sums np.tanh(np.array([x2, x0])) over the batch, as NumPy does: its batch is
    judged against the complex-step Jacobian of the whole function, and an answer off by
    1e-3 there is a wrong answer (between 1e-8 and 1e-4 it is not judged: fuzz_run.LOOSE)."""
    program = fuzz_gen.generate(742)
    counts, failures = collections.Counter(), []
    fuzz_run.check_program(program, counts, failures)
    assert counts[fuzz_run.WHOLE] == 1 and counts["wrong answer"] == 0 and counts["correct"] > 0
    real = fuzz_run.outcome

    def off(f, mode, memory, x, v, n, unroll=None):
        kind, value = real(f, mode, memory, x, v, n, unroll)
        batch = np.ndim(x[0]) > 0
        return (kind, value * (1 + 1e-3)) if kind == "ok" and batch else (kind, value)
    monkeypatch.setattr(fuzz_run, "outcome", off)
    counts = collections.Counter()
    fuzz_run.check_program(program, counts, [])
    assert counts["wrong answer"] == 3                       # jvp, vjp and ijvp of the whole batch
