"""Loops kept as loops (issue 13, SPEC section 9): every mode against the oracle run on the
user's own function and against the unrolled version of the same function, with
transform-time and runtime trip counts (0, 1 and large), nested loops, loops in helpers."""

import subprocess
import sys

import numpy as np
import pytest

import s2s_invad as si

import checks
import loop_functions as lf
import oracle

Z2 = np.array([0.4, -0.3])
Z4 = np.array([0.3, -0.2, 0.5, 0.1])
ALL = checks.MODES + ("slogdet",)

# name -> (function, primals, wrt, modes)
CASES = {
    "pendulum": (lf.pendulum, (0.6, -0.2), None, ALL),
    "integrate_0": (lf.integrate, (Z2, 0), ("z",), ALL),
    "integrate_1": (lf.integrate, (Z2, 1), ("z",), ALL),
    "integrate_7": (lf.integrate, (Z2, 7), ("z",), ALL),
    "integrate_400": (lf.integrate, (Z2, 400), ("z",), ALL),
    "rk4": (lf.rk4, (Z2, 25, 0.8), ("z",), ALL),
    "rk4_passive_a": (lf.rk4, (Z2, 25, 0.8), ("z", "a"), checks.MODES[:2]),
    "coupling": (lf.coupling, (Z4,), None, ALL),
    "affine": (lf.affine, ((0.3, -0.6), 0.2), None, ALL),
    "heat": (lf.heat, (np.array([0.1, 0.4, -0.2, 0.3, 0.0]), 6), ("u",), ALL),
    "in_helper": (lf.in_helper, (Z2, 3, 4), ("z",), ALL),
    "multistep": (lf.multistep, (0.3, -0.4), None, ALL),
    "index_branch": (lf.index_branch, (0.3, -0.4), None, ALL),
    "accumulate": (lf.accumulate, (Z2, 9), ("z",), checks.MODES[:2]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_mode_against_the_oracle(name):
    f, primals, wrt, modes = CASES[name]
    checks.check_structured(si, f, primals, wrt=wrt, modes=modes)


ROLLED = ["pendulum", "integrate_7", "rk4", "coupling", "affine", "heat", "in_helper"]


@pytest.mark.parametrize("name", ROLLED)
def test_rolled_matches_unrolled(name):
    """The same numbers as the unrolled function, to rounding, in every mode."""
    f, primals, wrt, modes = CASES[name]
    kw = {} if wrt is None else {"wrt": wrt}
    if any(isinstance(p, int) and not isinstance(p, bool) for p in primals):
        pytest.skip("a runtime trip count has no unrolled form")
    rng = np.random.default_rng(1)
    v = checks.split_inputs(f, primals, rng.standard_normal(20), wrt)
    shapes = {n: len(p) for n, p in zip(oracle.parameter_names(f), primals)
              if isinstance(p, (np.ndarray, list, tuple))}
    for unroll in (None, True):
        report = si.explain(f, **kw, unroll=unroll, shapes=shapes)
        assert ("kept as a loop" in report) == (unroll is None), unroll
    rolled = si.jvp(f, primals, v, **kw)
    flat = si.jvp(f, primals, v, **kw, unroll=True)
    checks.assert_close(checks.flatten(rolled[1]), checks.flatten(flat[1]), 1e-13, "jvp")
    y, ((sign_r, log_r)) = si.slogdet(f, primals, **kw)
    _, ((sign_u, log_u)) = si.slogdet(f, primals, **kw, unroll=True)
    assert sign_r == sign_u and abs(log_r - log_u) <= 1e-12 * max(1.0, abs(log_u))


@pytest.mark.parametrize("name", ["integrate_7", "rk4", "in_helper", "heat"])
def test_runtime_trip_counts_serve_every_count(name):
    """One analysis serves every trip count: the count is an argument of the generated code."""
    f, primals, wrt, _ = CASES[name]
    kw = {"wrt": wrt}
    counts = [i for i, p in enumerate(primals) if isinstance(p, int) and not isinstance(p, bool)]
    for steps in (0, 1, 5):
        args = list(primals)
        for i in counts:
            args[i] = steps
        checks.check_structured(si, f, tuple(args), wrt=wrt, modes=("jvp", "ijvp"))
    text = si.source(f, "jvp", **kw, shapes={p: len(primals[i]) for i, p in enumerate(oracle.parameter_names(f))
                                              if isinstance(primals[i], np.ndarray)})
    assert "for " in text and "range(" in text


def test_the_trip_count_is_not_differentiated():
    f = lf.integrate
    y, y_dot = si.jvp(f, (Z2, 5), (np.array([1.0, 0.0]),))          # only z has a tangent
    assert y_dot.shape == (2,)
    with pytest.raises(si.ArgumentError, match="trip count"):
        si.jvp(f, (Z2, 5), (np.array([1.0, 0.0]), 1.0), wrt=("z", "steps"))


def test_generated_loop_reads_like_the_source():
    text = si.source(lf.pendulum, "ijvp")
    assert "for k in range(N):" in text and "for k in range(N - 1, -1, -1):" in text
    assert "# line " in text and "kept as a loop" in text
    assert "_tape_l" in text and "= [None] * N" in text
    body = text.split("for k in range(N - 1, -1, -1):")[1]
    assert "math.cos(q_1)" in body                           # the sweep reads the taped q
    assert text.count("def pendulum_ijvp") == 1 and len(text.splitlines()) < 60


def test_cli_output_for_ten_and_a_million_steps_differs_in_one_constant(tmp_path):
    outputs = []
    for steps in (10, 10 ** 6):
        src = tmp_path / "model.py"
        src.write_text(f"import math\nSTEPS = {steps}\n\n\ndef step(q, p):\n    for k in range(STEPS):\n"
                       "        p = p - 0.01 * math.sin(q)\n        q = q + 0.01 * p\n    return q, p\n")
        done = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", str(src), "-o", "-"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    diff = [(a, b) for a, b in zip(*outputs) if a != b]
    assert len(outputs[0]) == len(outputs[1]) and diff == [("STEPS = 10  # module constant of the source",
                                                          "STEPS = 1000000  # module constant of the source")]


def test_a_loop_carrying_more_than_the_state():
    """A short multistep loop is unrolled so that the inverse modes exist; a long one stays
    a loop for jvp and vjp, and the inverse modes are refused with the reason."""
    loops = si.explain(lf.multistep).split("Loops:")[1].split("\n")[1]
    assert "unrolled" in loops and "more than the active state" in loops, loops
    checks.check_structured(si, lf.long_multistep, (0.3, -0.4), modes=("jvp", "vjp"))
    with pytest.raises(si.NotInvertibleError, match="carries more than the active state"):
        si.ijvp(lf.long_multistep, (0.3, -0.4), (1.0, 0.0))
    assert "kept as a loop" in si.explain(lf.long_multistep)


def test_explain_says_what_happened_to_each_loop():
    report = si.explain(lf.index_branch)
    assert "unrolled" in report and "line " in report
    report = si.explain(lf.heat, wrt="u", shapes={"u": 4})
    assert "kept as a loop" in report and "unrolled: a short loop" in report
    assert "Regions" in report


def test_unroll_override_by_line():
    line = next(i for i, ln in enumerate(open(lf.__file__).read().splitlines(), 1)
                if "for k in range(N):" in ln)
    report = si.explain(lf.pendulum, unroll={line: True})
    assert "unroll= asks for it" in report
    assert "kept as a loop" in si.explain(lf.pendulum, unroll={line: False})
    with pytest.raises(si.ArgumentError, match="unroll"):
        si.explain(lf.pendulum, unroll="yes")


def test_vjp_store_records_only_what_the_sweep_reads():
    """The tape of a shear loop holds one value per iteration (the q the sine reads)."""
    text = si.source(lf.pendulum, "vjp")
    record = [ln.strip() for ln in text.splitlines() if "_tape_l" in ln and "[k] = " in ln]
    assert record == ["_tape_l" + record[0].split("_tape_l")[1].split("[")[0] + "[k] = (q_1,)"], record


def test_arrays_the_body_only_reads_are_invariants():
    """Weights read by every iteration but never changed are read from outside the loop,
    not carried (so the inverse modes see the state alone)."""
    report = si.explain(lf.shared_weights, wrt=("z", "w"), shapes={"z": 2, "w": 3})
    loop = next(line for line in report.splitlines() if line.strip().startswith("loop at line"))
    assert "2 carried" in loop and "w_0, w_1, w_2" in loop, loop
    primals = (Z2, np.array([0.3, -0.5, 0.2]), 20)
    checks.check_structured(si, lf.shared_weights, primals, wrt=("z",))
    checks.check_structured(si, lf.shared_weights, primals, wrt=("z", "w"), modes=checks.MODES[:2],
                            memory=("store", "recompute"))


def test_repeated_and_invariant_passive_work_is_done_once():
    """cos(w t) written twice per step is computed once; sqrt(w) moves before the loop
    (the trip count is a transform-time 12); every mode still matches the oracle."""
    text = si.source(lf.forced_twice, "jvp", wrt=("q", "p"))
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    loop = next(i for i, line in enumerate(code) if line.strip() == "for k in range(N):")
    body = "\n".join(code[loop:])
    assert body.count("math.cos(w * t)") == 1 and "math.sqrt" not in body
    assert any("= math.sqrt(w)" in line for line in code[:loop])
    checks.check_structured(si, lf.forced_twice, (0.6, -0.2, 1.7), wrt=("q", "p"),
                            memory=("store", "recompute"))


FUZZ_FOUND = '''
import math


def unchanged_in_loop(x0, x1):
    for k in range(10):
        x0 = x0 + 4.0 * math.sqrt(0.0 * x0)
        x1 = x1 + 0.1 * math.sin(x0)
    return x0 * x1, x1


def passive_loops(x0, x1):
    for k in range(10):
        x0, x1 = 0.88 * x0 - 0.66 * x1, 0.84 * x0 + 0.79 * x1
    x1 *= math.sqrt(-0.0 * x0)
    for k in range(10):
        x1 = math.tan(0.54)
    x0 = x0 * math.cosh(-3.4 * x1 + 0.97)
    for k in range(10):
        x1 += 0.4 * math.log1p(4e-11 * x1)
    return x0, x1
'''


@pytest.mark.parametrize("name", ["unchanged_in_loop", "passive_loops"])
def test_loops_the_fuzz_target_found(name):
    """Seed 5323: a name the loop assigns to its own value (x0 + 4 sqrt(0 x0) folds to x0)
    was refused after the loop as if the loop had made it; seed 5980: loops on passive
    values only left an empty reversed loop (an IndentationError in the generated module).
    Every mode (passive_loops is not invertible: jvp and vjp) and memory setting against
    the oracle."""
    f = si.from_source(FUZZ_FOUND, name)
    modes = checks.MODES if name == "unchanged_in_loop" else checks.MODES[:2]
    checks.check_structured(si, f, (0.3, -1.5), modes=modes, memory=("store", "recompute"))
