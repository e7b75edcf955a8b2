"""backend="c" (issue 14, part 3, the alternative it asks to measure): generated functions,
loops kept as loops included, compiled by the system C compiler.

The same checks as tests/test_numba.py where they apply (every mode against the oracle and
the Python backend; the named errors with their line at singular and non-finite points), and
what is particular to it: loops kept as loops run compiled, their tapes in a room the entry
point grows on demand, and a sweep that falls back to Python gets the tape as Python records
it; batches run as Python, visibly and with the same results; the library is built once and
a second process loads it. Skipped where no C compiler is on PATH, except the test of what
happens then.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.back import c_backend

import backend_checks as bc
import checks
import numba_functions as nf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
needs_cc = pytest.mark.skipif(not any(shutil.which(c) for c in ("cc", "gcc", "clang")),
                              reason="no C compiler on PATH")


@needs_cc
@pytest.mark.parametrize("name", list(bc.CASES))
def test_every_mode_against_the_oracle_compiled(name):
    bc.check_case(name, "c")


@needs_cc
@pytest.mark.parametrize("case", [c for c in bc.ERRORS if c != "batch zero pivot"])
def test_singular_and_non_finite_points_raise_as_in_python(case):
    bc.check_error(case, "c")


@needs_cc
def test_the_same_functions_at_regular_points_stay_compiled():
    bc.check_regular_points("c")


@needs_cc
def test_a_failed_static_pivot_reruns_python_with_its_pivoting_solve():
    bc.check_failed_static_pivot("c")


@needs_cc
def test_batches_run_as_python_with_the_same_results_and_errors():
    """The C code takes one point: a batch runs the Python function (its errors included)."""
    bc.check_error("batch zero pivot", "c")
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.2, 0.3])
    got = si.jvp(nf.squares, (x, y), (1.0, 0.5), backend="c")
    want = si.jvp(nf.squares, (x, y), (1.0, 0.5))
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    point = si.jvp(nf.squares, (0.5, 0.1), (1.0, 0.5), backend="c")
    assert np.allclose(np.array(point).ravel(), np.array(want)[:, :, 0].ravel(), rtol=1e-15)
    (e,) = [e for e in bc.entries(nf.squares, "c") if e.__name__ == "squares_jvp"]
    assert e.calls >= 1 and e.fallbacks >= 1           # the point compiled, the batch Python


Z2 = np.array([0.4, -0.3])
LOOPS = {
    "index as a value, 30 steps": (nf.drift, (Z2, 30, 0.8)),
    "no iteration": (nf.drift, (Z2, 0, 0.8)),
    "two loops, two tapes": (nf.two_stages, (Z2, 5, 9)),
}


@needs_cc
@pytest.mark.parametrize("name", list(LOOPS))
def test_loops_kept_as_loops_run_compiled_in_every_mode(name):
    f, primals = LOOPS[name]
    checks.check_structured(bc.Backend("c"), f, primals, wrt="z")
    assert bc.ran_compiled(f, "c"), bc.describe(f)
    for mode in ("jvp", "vjp", "ijvp", "ivjp"):
        bc.same_outcome(lambda b: _call(mode, f, primals, b), "c")


def _call(mode, f, primals, backend):
    w = np.array([0.3, -0.7])
    if mode == "jvp":
        return si.jvp(f, primals, (w,), wrt="z", backend=backend)
    if mode == "ijvp":
        return si.ijvp(f, primals, w, wrt="z", backend=backend)
    y, back = getattr(si, mode)(f, *primals, wrt="z", backend=backend)
    return y, back(w)


@needs_cc
def test_the_room_for_loop_tapes_grows_with_the_trip_count():
    """The first call sizes the room for 3 steps; 400 steps need more: the C function says
    so and runs again; the numbers stay the Python backend's."""
    for steps in (3, 400, 50):
        for mode in ("vjp", "ijvp"):
            bc.same_outcome(lambda b: _call(mode, nf.two_stages, (Z2, steps, 9), b), "c")
    assert bc.ran_compiled(nf.two_stages, "c"), bc.describe(nf.two_stages)
    (e,) = [e for e in bc.entries(nf.two_stages, "c") if e.__name__ == "two_stages_vjp"]
    assert e.room >= 400 * 2                          # 400 rows of two values at least


@needs_cc
def test_a_sweep_falling_back_to_python_reads_the_loop_tape_as_python_records_it():
    """The C forward wrote the tape; a batch of cotangents runs the Python sweep on it."""
    W = np.array([[0.3, 1.0, -2.0], [0.7, 2.0, 0.5]])
    for mode in ("vjp", "ivjp"):
        want = getattr(si, mode)(nf.drift, Z2, 40, 0.8, wrt="z")[1](W)
        got = getattr(si, mode)(nf.drift, Z2, 40, 0.8, wrt="z", backend="c")[1](W)
        assert np.allclose(got, want, rtol=1e-14, atol=0)
    sweeps = [e for e in bc.entries(nf.drift, "c") if e.__name__ in ("drift_vjp_bwd", "drift_ivjp_sweep")]
    assert sweeps and all(e.fallbacks >= 1 for e in sweeps)


@needs_cc
def test_a_singular_step_inside_a_compiled_loop_raises_the_named_error_at_its_line():
    got = bc.same_outcome(lambda b: si.ijvp(nf.cubes, (0.0, 4), 1.0, backend=b), "c")
    assert got[0] == "SingularJacobianError" and "numba_functions.py:" in got[1], got
    bc.same_outcome(lambda b: si.ijvp(nf.cubes, (0.9, 4), 1.0, backend=b), "c")
    (e,) = [e for e in bc.entries(nf.cubes, "c") if e.__name__ == "cubes_ijvp"]
    assert e.calls >= 2 and e.fallbacks >= 1


@needs_cc
def test_a_float_trip_count_runs_python_which_refuses_it_as_python_does():
    got = bc.same_outcome(lambda b: si.jvp(nf.drift, (Z2, 3.5, 0.8), (np.ones(2),), wrt="z", backend=b), "c")
    assert got[0] != "ok"


def test_nested_loop_tapes_stay_python_and_say_so():
    text = si.source(nf.nested, "ijvp", wrt="z", shapes={"z": 2}, backend="c")
    assert "# nested_ijvp: Python (the tape of a loop nested in a loop kept as a loop)" in text
    report = si.explain(nf.nested, wrt="z", shapes={"z": 2}, backend="c")
    assert "jvp: nested_jvp: compiled by the C compiler" in report
    assert "vjp: nested_vjp: Python (the tape of a loop nested" in report


def test_the_size_bound_keeps_big_functions_in_python(monkeypatch):
    monkeypatch.setenv(c_backend.ENV, "3")
    text = si.source(nf.equasive, "vjp", backend="c")
    assert "equasive_vjp: Python (" in text and f"({c_backend.ENV})" in text
    assert "equasive_vjp_bwd: Python (" in text
    monkeypatch.setenv(c_backend.ENV, "1000")
    text = si.source(nf.equasive, "vjp", backend="c")
    assert "equasive_vjp: compiled by the C compiler" in text and "int s2s_" in text


@needs_cc
def test_functions_over_the_optimisation_bound_compile_unoptimised_and_agree(monkeypatch):
    """Over S2S_INVAD_C_OPTIMIZE_MAX_STATEMENTS a function is compiled as at -O0 (the
    optimiser's time grows faster than the size); its numbers are the Python backend's."""
    monkeypatch.setenv(c_backend.OPTIMIZE_ENV, "5")
    text = si.source(nf.drift, "ijvp", wrt="z", shapes={"z": 2}, backend="c")
    assert "S2S_UNOPTIMIZED int s2s_" in text and "compiled by the C compiler, unoptimised" in text
    f = si.from_source("def thrice(x, n):\n    for _ in range(n):\n        x = x * x * x - 0.75 * x\n"
                       "    return x\n", "thrice")
    for x in (0.7, 0.5):              # d/dx (x**3 - 0.75 x) = 0 at x = 0.5
        got = bc.same_outcome(lambda b: si.ijvp(f, (x, 3), 1.0, backend=b), "c")
    assert got[0] == "SingularJacobianError"
    (e,) = [e for e in bc.entries(f, "c") if e.__name__ == "thrice_ijvp"]
    assert e.calls == 2 and e.fallbacks == 1 and "S2S_UNOPTIMIZED int" in e.library.source
    monkeypatch.setenv(c_backend.OPTIMIZE_ENV, "100000")
    assert "S2S_UNOPTIMIZED int" not in si.source(nf.drift, "ijvp", wrt="z", shapes={"z": 2}, backend="c")


@needs_cc
def test_an_optimiser_over_its_time_limit_gives_way_to_an_unoptimised_build(monkeypatch, tmp_path):
    """S2S_INVAD_C_OPTIMIZE_SECONDS: gcc -O1 may take minutes on some shapes of code (a 2-D
    grid's LU); past the limit the library is built at -O0, said by a BackendWarning, with
    the same numbers."""
    from s2s_invad import runtime_c
    monkeypatch.setenv(runtime_c.OPTIMIZE_SECONDS_ENV, "0.000001")
    monkeypatch.setenv("S2S_INVAD_CACHE", str(tmp_path / "cache"))
    f = si.from_source("import math\n\n\ndef twist(x, y):\n    return x + 0.3 * math.sin(y), y - 0.2 * x * x\n",
                       "twist")
    with pytest.warns(si.BackendWarning, match="compiled unoptimised"):
        got = bc.same_outcome(lambda b: si.ijvp(f, (0.4, 0.9), (1.0, -2.0), backend=b), "c")
    (e,) = [e for e in bc.entries(f, "c") if e.__name__ == "twist_ijvp"]
    assert e.library.unoptimized and e.fallbacks == 0 and got[0] == "ok"
    monkeypatch.setenv(runtime_c.OPTIMIZE_SECONDS_ENV, "soon")
    with pytest.raises(si.BackendError, match="not a number of seconds"):
        runtime_c.optimize_seconds()
    monkeypatch.setenv(runtime_c.OPTIMIZE_SECONDS_ENV, "0")
    assert runtime_c.optimize_seconds() is None


@needs_cc
def test_cli_writes_a_module_that_runs_compiled(tmp_path):
    bc.check_cli(tmp_path, "c", "equasive_jvp = _crt.Entry(")


@needs_cc
def test_a_second_process_loads_the_library(tmp_path):
    script = f"""
import json, sys
sys.path.insert(0, {HERE!r})
import s2s_invad as si
from s2s_invad import api
import numba_functions as nf
y, x_dot = si.ijvp(nf.cross, (0.7, 0.2), (1.0, 0.5), backend="c")
(entry,) = set(fn for _, fn in api._records[nf.cross].compiled.values() if hasattr(fn, "library"))
print(json.dumps([entry.library.loaded_from_disk, entry.calls, entry.fallbacks, list(x_dot)]))
"""
    env = dict(os.environ, S2S_INVAD_CACHE=str(tmp_path / "cache"))
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[0][:3] == [False, 1, 0] and runs[1][:3] == [True, 1, 0]
    assert runs[0][3] == runs[1][3]
    assert any(name.endswith(".so") for name in os.listdir(tmp_path / "cache" / "__pycache__"))


def test_without_a_compiler_the_backend_says_so(tmp_path):
    script = f"""
import sys
sys.path.insert(0, {HERE!r})
import s2s_invad as si
import numba_functions as nf
try:
    si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0), backend="c")
except si.BackendError as exc:
    print("BackendError:", exc)
"""
    env = dict(os.environ, PATH=str(tmp_path), S2S_INVAD_CC="", S2S_INVAD_CACHE=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("BackendError: backend='c' needs a C compiler"), done.stdout
