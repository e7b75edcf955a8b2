"""backend="numba" (issue 14, part 3): the generated functions compiled in nopython mode.

Every mode of a few small functions against the oracle and against the Python backend;
singular and non-finite points raise the same named errors, citing the same line and batch
index, as the Python backend; what the backend does not compile (too big, a construct it
does not take, float32 batches) runs as Python, visibly and with the same results; a second
process loads the compiled code from the cache instead of compiling it. Skipped without
numba (an optional extra), except the tests of what happens without it.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import api
from s2s_invad.back import numba_backend

import backend_checks as bc
import checks
import numba_functions as nf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
try:
    import numba
except ImportError:                          # an optional extra: the tests that need it skip
    numba = None
needs_numba = pytest.mark.skipif(numba is None, reason="numba is not installed")

# -- every mode against the oracle ---------------------------------------------------------------

@needs_numba
@pytest.mark.parametrize("name", sorted(bc.CASES))
def test_every_mode_against_the_oracle_compiled(name):
    bc.check_case(name, "numba")


@needs_numba
def test_batches_of_float64_compile_and_float32_runs_as_python():
    x = np.array([0.5, -1.0, 2.0])
    y = np.array([[0.1, 0.2, 0.3], [1.0, -2.0, 0.5]])            # batch shape (2, 3)
    v = (np.ones(3), np.array([0.5, 0.0, -1.0]))
    for mode in ("jvp", "ijvp"):
        call = getattr(si, mode)
        got = call(nf.squares, (x, y), v, backend="numba")
        want = call(nf.squares, (x, y), v)
        assert checks.flatten(got).shape == checks.flatten(want).shape
        checks.assert_close(checks.flatten(got), checks.flatten(want), 1e-14, f"{mode} batch")
    assert bc.ran_compiled(nf.squares, "numba")
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got = si.jvp(nf.squares, (x32, y32), v, backend="numba")
    want = si.jvp(nf.squares, (x32, y32), v)
    assert got[0][0].dtype == np.float32 == want[0][0].dtype
    assert all(np.array_equal(a, b) for a, b in zip(checks.flatten(got), checks.flatten(want)))
    assert any(e.fallbacks for e in bc.entries(nf.squares, "numba"))      # float32 ran the Python function


# -- the error paths -----------------------------------------------------------------------------------

@needs_numba
@pytest.mark.parametrize("case", list(bc.ERRORS))
def test_singular_and_non_finite_points_raise_as_in_python(case):
    bc.check_error(case, "numba")


@needs_numba
def test_the_same_functions_at_regular_points_stay_compiled():
    bc.check_regular_points("numba")


@needs_numba
def test_a_failed_static_pivot_reruns_python_with_its_pivoting_solve():
    bc.check_failed_static_pivot("numba")


# -- what stays Python, and saying so ------------------------------------------------------------------

def test_the_size_bound_keeps_big_functions_in_python(monkeypatch):
    """The text pass needs no numba: a function over the bound is Python, and says why."""
    monkeypatch.setenv(numba_backend.ENV, "10")
    text = si.source(nf.rotate, "vjp", wrt="z", shapes={"z": 2}, backend="numba")
    assert "rotate_vjp: Python (" in text and f"> 10 ({numba_backend.ENV})" in text
    assert "rotate_vjp_bwd: Python (" in text and "@_nbrt.jit" not in text
    monkeypatch.setenv(numba_backend.ENV, "1000")
    text = si.source(nf.rotate, "vjp", wrt="z", shapes={"z": 2}, backend="numba")
    assert "rotate_vjp: compiled by numba" in text and "rotate_vjp_bwd: compiled by numba" in text
    report = si.explain(nf.rotate, wrt="z", shapes={"z": 2}, backend="numba")
    assert "backend numba" in report and "ijvp: rotate_ijvp: compiled by numba" in report


def test_constructs_numba_does_not_take_stay_python():
    """memory="recompute" keeps values in dicts and tests its rebuilds in a try: Python."""
    text = si.source(nf.chain, "vjp", memory="recompute", backend="numba")
    section = text.split("# -- backend numba")[1]
    assert "# chain_vjp: Python (a dict (memory='recompute'" in section
    assert "# chain_vjp_bwd: Python (" in section and "def " not in section


@needs_numba
def test_over_the_bound_runs_python_with_the_same_results(monkeypatch):
    monkeypatch.setenv(numba_backend.ENV, "3")
    f, primals = nf.equasive, (0.25, -0.5)
    got = si.ijvp(f, primals, (1.0, 2.0), backend="numba")
    want = si.ijvp(f, primals, (1.0, 2.0))
    assert got == want
    _, fn, _ = api._compiled(f, None, "ijvp", primals, backend="numba")
    assert fn.__name__ == "equasive_ijvp" and not hasattr(fn, "compiled")     # the Python function itself


def test_unknown_backend_is_an_argument_error():
    with pytest.raises(si.ArgumentError, match="unknown backend"):
        si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0), backend="cuda")
    with pytest.raises(si.ArgumentError, match="unknown backend"):
        si.derivatives(nf.equasive, backend="llvm")


NO_NUMBA_SCRIPT = """
import sys
sys.modules["numba"] = None                     # import numba -> ImportError
sys.path.insert(0, {tests!r})
import s2s_invad as si
import numba_functions as nf
try:
    si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0), backend="numba")
except si.BackendError as exc:
    print("BackendError:", exc)
print(si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0)))
print("@_nbrt.jit" in si.source(nf.equasive, "jvp", backend="numba"))
"""


def test_without_numba_the_backend_says_what_to_install(tmp_path):
    """Importing numba fails: backend="numba" raises BackendError naming the extra; the
    default backend and the text of the numba section (which needs no numba) still work."""
    env = dict(os.environ, S2S_INVAD_CACHE=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", NO_NUMBA_SCRIPT.format(tests=HERE)], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    error, result, text = done.stdout.strip().splitlines()
    assert error.startswith("BackendError: backend='numba' needs the numba package") and 's2s_invad[numba]' in error
    want = si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0))
    assert result == str(want) and text == "True"


# -- the decorator and the command line -----------------------------------------------------------------

@needs_numba
def test_derivatives_decorator_takes_the_backend():
    g = si.derivatives(nf.equasive, backend="numba")
    y, x_dot = g.ijvp((0.5, 1.0), (1.0, 0.0))
    assert (y, x_dot) == si.ijvp(nf.equasive, (0.5, 1.0), (1.0, 0.0))
    assert "# -- backend numba" in g.source("ijvp")
    assert "equasive_ijvp: compiled by numba" in g.explain()


@needs_numba
def test_cli_writes_a_module_that_runs_compiled(tmp_path):
    bc.check_cli(tmp_path, "numba", "equasive_jvp = _nbrt.entry(")


# -- the cache: a second process loads the compiled code --------------------------------------------

CACHE_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
import s2s_invad as si
from s2s_invad import api, runtime_numba
import numba_functions as nf
y, x_dot = si.ijvp(nf.equasive, (0.5, 1.0), (1.0, 0.5), backend="numba")
(entry,) = set(fn for _, fn in api._records[nf.equasive].compiled.values() if isinstance(fn, runtime_numba.Entry))
stats = entry.compiled.stats
print(json.dumps([sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), entry.fallbacks,
                  list(x_dot)]))
"""


@needs_numba
def test_a_second_process_loads_the_compiled_code(tmp_path):
    env = dict(os.environ, S2S_INVAD_CACHE=str(tmp_path / "cache"))
    script = CACHE_SCRIPT.format(tests=HERE)
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    (hits1, misses1, fb1, x1), (hits2, misses2, fb2, x2) = runs
    assert (hits1, misses1, fb1) == (0, 1, 0)                 # compiled, and stored
    assert (hits2, misses2, fb2) == (1, 0, 0)                 # loaded: nothing compiled
    assert x1 == x2
    compiled = tmp_path / "cache" / "__pycache__"
    assert any(name.endswith(".nbc") for name in os.listdir(compiled))
    # the machine code belongs to its entry: counted, and cleared with it
    from s2s_invad.back import cache
    os.environ["S2S_INVAD_CACHE"], saved = str(tmp_path / "cache"), os.environ["S2S_INVAD_CACHE"]
    try:
        names = {name.rsplit(".", 1)[0] for name in os.listdir(tmp_path / "cache") if name != "__pycache__"}
        assert cache.summary()["entries"] == len(names)
        cache.clear()
    finally:
        os.environ["S2S_INVAD_CACHE"] = saved
    assert not [name for name in os.listdir(compiled) if name.endswith((".nbi", ".nbc"))]
