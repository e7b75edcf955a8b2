"""backend="numba" (issue 14, part 3): the generated functions compiled in nopython mode.

Every mode of a few small functions against the oracle and against the Python backend;
singular and non-finite points raise the same named errors, citing the same line and batch
index, as the Python backend; what the backend does not compile (too big, a construct it
does not take, float32 batches) runs as Python, visibly and with the same results; a second
process loads the compiled code from the cache instead of compiling it. Skipped without
numba (an optional extra), except the tests of what happens without it.
"""

import functools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import api
from s2s_invad.back import numba_backend

import checks
import natural_functions
import numba_functions as nf
import oracle

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
try:
    import numba
except ImportError:                          # an optional extra: the tests that need it skip
    numba = None
needs_numba = pytest.mark.skipif(numba is None, reason="numba is not installed")

ALL = checks.MODES + ("slogdet",)


class Numba:
    """s2s_invad with backend="numba" on every call (what checks.check_structured calls)."""

    def __getattr__(self, name):
        return functools.partial(getattr(si, name), backend="numba")


NB = Numba()


def entries(f):
    """The entry points (compiled with a Python fallback) the API built for f so far."""
    from s2s_invad import runtime_numba
    found = []
    for fn in {id(fn): fn for _, fn in api._records[f].compiled.values()}.values():
        if isinstance(fn, runtime_numba.Entry):
            found.append(fn)
            if fn.sweep:
                found.append(fn.sweep[1])
    return found


def ran_compiled(f) -> bool:
    """Every call of f's entry points so far ran the compiled code (no Python fallback)."""
    found = entries(f)
    return bool(found) and all(e.backend == "numba" and e.fallbacks == 0 and e.calls > 0 for e in found)


def outcome(call):
    """("ok", value) or (error type, message, lineno, index)."""
    try:
        return ("ok", call())
    except si.S2SError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "lineno", None), getattr(exc, "index", None))


def same_outcome(call):
    """The Python backend's outcome and the numba backend's: identical errors, equal values."""
    want = outcome(lambda: call("python"))
    got = outcome(lambda: call("numba"))
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        checks.assert_close(checks.flatten(got[1]), checks.flatten(want[1]), 1e-14, "numba against python")
    else:
        assert got == want
    return got


# -- every mode against the oracle ---------------------------------------------------------------

Z2 = np.array([0.4, -0.3])
U6 = 0.1 * np.sin(np.pi * np.arange(1, 7) / 7)
CASES = {
    "scalar": (nf.equasive, (0.5, 1.0), None),
    "rolled loop": (nf.rotate, (Z2, 30, 0.8), ("z",)),
    "structured lump": (natural_functions.bratu, (U6, 1.0), ("u",)),
    "dense lump": (nf.dense4, (np.array([0.3, -0.2, 0.5, 0.1]),), None),
}


@needs_numba
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_mode_against_the_oracle_compiled(name):
    """All five modes where the loop or the scalar code is the point; the inverse modes
    where the lump is (each mode costs a second or two of numba's compile time)."""
    f, primals, wrt = CASES[name]
    modes = ALL if name in ("scalar", "rolled loop") else ("ijvp", "ivjp", "slogdet")
    checks.check_structured(NB, f, primals, wrt=wrt, modes=modes)
    assert ran_compiled(f), [(e.__name__, e.backend, e.reason, e.calls, e.fallbacks) for e in entries(f)]
    # and the same numbers as the Python backend, to rounding
    kw = {} if wrt is None else {"wrt": wrt}
    rng = np.random.default_rng(3)
    template = oracle.evaluate(f, primals)
    w = checks.shaped_like(rng.standard_normal(checks.flatten(template).size), template)
    for backend_result, python_result in [
            (si.ijvp(f, primals, w, **kw, backend="numba"), si.ijvp(f, primals, w, **kw)),
            (si.slogdet(f, primals, **kw, backend="numba"), si.slogdet(f, primals, **kw))]:
        checks.assert_close(checks.flatten(backend_result), checks.flatten(python_result), 1e-14, name)


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
    assert ran_compiled(nf.squares)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got = si.jvp(nf.squares, (x32, y32), v, backend="numba")
    want = si.jvp(nf.squares, (x32, y32), v)
    assert got[0][0].dtype == np.float32 == want[0][0].dtype
    assert all(np.array_equal(a, b) for a, b in zip(checks.flatten(got), checks.flatten(want)))
    assert any(e.fallbacks for e in entries(nf.squares))      # float32 ran the Python function


# -- the error paths -----------------------------------------------------------------------------------

@needs_numba
@pytest.mark.parametrize("case", ["zero pivot", "singular lump", "overflow hidden by 1/inf", "sqrt at 0",
                                  "sqrt at 0 in the sweep", "infinite input", "batch zero pivot"])
def test_singular_and_non_finite_points_raise_as_in_python(case):
    x = np.array([1.0, 0.0, 2.0])
    calls = {
        "zero pivot": lambda b: si.ijvp(nf.square, (0.0, 1.0), (1.0, 0.0), backend=b),
        "singular lump": lambda b: si.ijvp(nf.cross, (0.7, 0.7), (1.0, 0.0), backend=b),
        "overflow hidden by 1/inf": lambda b: si.jvp(nf.masked, (800.0,), (1.0,), backend=b),
        "sqrt at 0": lambda b: si.jvp(nf.root, (0.0,), (1.0,), backend=b),
        "sqrt at 0 in the sweep": lambda b: si.vjp(nf.root, 0.0, backend=b)[1](1.0),
        "infinite input": lambda b: si.jvp(nf.masked, (float("-inf"),), (1.0,), backend=b),
        "batch zero pivot": lambda b: si.ijvp(nf.squares, (x, x + 1.0), (1.0, 0.0), backend=b),
    }
    got = same_outcome(calls[case])
    assert got[0] in ("SingularJacobianError", "NonFiniteError"), got
    if case == "batch zero pivot":
        assert got[3] == 1                                      # the batch index of x = 0
    if case != "infinite input":
        assert got[2] is not None and f"numba_functions.py:{got[2]}:" in got[1], got


@needs_numba
def test_the_same_functions_at_regular_points_stay_compiled():
    """The error cases above do not mean the compiled code never runs: at a regular point of
    the same functions it does, and it returns the Python backend's numbers."""
    for f, primals in ((nf.square, (0.5, 1.0)), (nf.cross, (0.7, 0.2)), (nf.masked, (3.0,))):
        same_outcome(lambda b: si.jvp(f, primals, tuple(1.0 for _ in primals), backend=b))
        assert any(e.calls > e.fallbacks for e in entries(f))


@needs_numba
def test_a_failed_static_pivot_reruns_python_with_its_pivoting_solve():
    """At lam where the first pivot of Bratu's generated LU is 0 the compiled code cannot
    finish; the Python function's pivoting solve (SuperLU/LAPACK) gives the answer."""
    bratu = natural_functions.bratu
    u = np.zeros(6)
    lam = 2.0 / natural_functions.H ** 2     # -2 / h^2 + lam e^0 = 0: the static pivot vanishes
    got = same_outcome(lambda b: si.ijvp(bratu, (u, lam), np.ones(6), wrt="u", backend=b))
    assert got[0] == "ok"
    e = next(e for e in entries(bratu) if e.__name__ == "bratu_ijvp")
    assert e.fallbacks >= 1


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
import oracle
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
    out = tmp_path / "equasive_derivs.py"
    cmd = [sys.executable, "-m", "s2s_invad", "gen", f"{HERE}/numba_functions.py:equasive", "--modes", "jvp",
           "--backend", "numba", "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "# -- backend numba" in text and "equasive_jvp = _nbrt.entry(" in text
    script = textwrap.dedent(f"""
        import importlib.util, json
        spec = importlib.util.spec_from_file_location("equasive_derivs", {str(out)!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        y, y_dot = m.equasive_jvp(0.5, 1.0, 1.0, 0.0)
        print(json.dumps([list(y), list(y_dot), m.equasive_jvp.calls, m.equasive_jvp.fallbacks]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    y, y_dot, calls, fallbacks = json.loads(done.stdout)
    want = si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0))
    assert np.allclose(y, want[0], rtol=1e-15) and np.allclose(y_dot, want[1], rtol=1e-15)
    assert (calls, fallbacks) == (1, 0)


# -- the cache: a second process loads the compiled code --------------------------------------------

CACHE_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
import s2s_invad as si
from s2s_invad import api, runtime_numba
import numba_functions as nf
import oracle
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
