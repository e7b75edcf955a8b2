"""What tests/test_numba.py and tests/test_backend_c.py share: calling s2s_invad with a
compiled backend, finding the entry points it built, comparing its outcome (numbers, or
the named error with its message, line and batch index) with the Python backend's."""

import functools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import s2s_invad as si
from s2s_invad import api

import checks
import natural_functions
import numba_functions as nf

ALL = checks.MODES + ("slogdet",)


class Backend:
    """s2s_invad with ``backend=name`` on every call (what checks.check_structured calls)."""

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr):
        return functools.partial(getattr(si, attr), backend=self.name)


def entries(f, backend: str | None = None):
    """The compiled entry points (each with its Python fallback) the API built for f so far
    (for ``backend``, or any), sweeps included."""
    found = []
    for fn in {id(fn): fn for _, fn in api._records[f].compiled.values()}.values():
        if hasattr(fn, "fallbacks") and backend in (None, fn.compiler):
            found.append(fn)
            sweep = fn.sweep[1] if isinstance(fn.sweep, tuple) else fn.sweep
            if sweep is not None:
                found.append(sweep)
    return found


def ran_compiled(f, backend: str) -> bool:
    """Every call of f's entry points so far ran the compiled code (no Python fallback)."""
    found = entries(f, backend)
    return bool(found) and all(e.backend == backend and e.fallbacks == 0 and e.calls > 0 for e in found)


def describe(f) -> list:
    return [(e.__name__, e.backend, e.reason, e.calls, e.fallbacks) for e in entries(f)]


def outcome(call):
    """("ok", value) or (error type, message, lineno, index)."""
    try:
        return ("ok", call())
    except si.S2SError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "lineno", None), getattr(exc, "index", None))


def same_outcome(call, backend: str):
    """The Python backend's outcome and ``backend``'s: identical errors, equal values."""
    want = outcome(lambda: call("python"))
    got = outcome(lambda: call(backend))
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        checks.assert_close(checks.flatten(got[1]), checks.flatten(want[1]), 1e-14, f"{backend} against python")
    else:
        assert got == want
    return got


Z2 = np.array([0.4, -0.3])
U6 = 0.1 * np.sin(np.pi * np.arange(1, 7) / 7)
CASES = {
    "scalar": (nf.equasive, (0.5, 1.0), None),
    "rolled loop": (nf.rotate, (Z2, 30, 0.8), ("z",)),
    "structured lump": (natural_functions.bratu, (U6, 1.0), ("u",)),
    "dense lump": (nf.dense4, (np.array([0.3, -0.2, 0.5, 0.1]),), None),
}


def check_case(name: str, backend: str) -> None:
    """The modes of CASES[name] against the oracle, run compiled, and equal to the Python
    backend's numbers: all five where the loop or the scalar code is the point, the inverse
    modes where the lump is (each mode costs a second or two of numba's compile time)."""
    import oracle
    f, primals, wrt = CASES[name]
    modes = ALL if name in ("scalar", "rolled loop") else ("ijvp", "ivjp", "slogdet")
    checks.check_structured(Backend(backend), f, primals, wrt=wrt, modes=modes)
    assert ran_compiled(f, backend), describe(f)
    kw = {} if wrt is None else {"wrt": wrt}
    rng = np.random.default_rng(3)
    template = oracle.evaluate(f, primals)
    w = checks.shaped_like(rng.standard_normal(checks.flatten(template).size), template)
    for got, want in [(si.ijvp(f, primals, w, **kw, backend=backend), si.ijvp(f, primals, w, **kw)),
                      (si.slogdet(f, primals, **kw, backend=backend), si.slogdet(f, primals, **kw))]:
        checks.assert_close(checks.flatten(got), checks.flatten(want), 1e-14, name)


X3 = np.array([1.0, 0.0, 2.0])
ERRORS = {
    "zero pivot": lambda b: si.ijvp(nf.square, (0.0, 1.0), (1.0, 0.0), backend=b),
    "singular lump": lambda b: si.ijvp(nf.cross, (0.7, 0.7), (1.0, 0.0), backend=b),
    "overflow hidden by 1/inf": lambda b: si.jvp(nf.masked, (800.0,), (1.0,), backend=b),
    "sqrt at 0": lambda b: si.jvp(nf.root, (0.0,), (1.0,), backend=b),
    "sqrt at 0 in the sweep": lambda b: si.vjp(nf.root, 0.0, backend=b)[1](1.0),
    "infinite input": lambda b: si.jvp(nf.masked, (float("-inf"),), (1.0,), backend=b),
    "batch zero pivot": lambda b: si.ijvp(nf.squares, (X3, X3 + 1.0), (1.0, 0.0), backend=b),
}


def check_error(case: str, backend: str) -> None:
    got = same_outcome(ERRORS[case], backend)
    assert got[0] in ("SingularJacobianError", "NonFiniteError"), got
    if case == "batch zero pivot":
        assert got[3] == 1                                      # the batch index of x = 0
    if case != "infinite input":
        assert got[2] is not None and f"numba_functions.py:{got[2]}:" in got[1], got


def check_regular_points(backend: str) -> None:
    """The error cases do not mean the compiled code never runs: at a regular point of the
    same functions it does, and it returns the Python backend's numbers."""
    for f, primals in ((nf.square, (0.5, 1.0)), (nf.cross, (0.7, 0.2)), (nf.masked, (3.0,))):
        same_outcome(lambda b: si.jvp(f, primals, tuple(1.0 for _ in primals), backend=b), backend)
        assert any(e.calls > e.fallbacks for e in entries(f, backend)), describe(f)


def check_failed_static_pivot(backend: str) -> None:
    """At lam where the first pivot of Bratu's generated LU is 0 the compiled code cannot
    finish; the Python function's pivoting solve (SuperLU/LAPACK) gives the answer."""
    bratu = natural_functions.bratu
    u = np.zeros(6)
    lam = 2.0 / natural_functions.H ** 2     # -2 / h^2 + lam e^0 = 0: the static pivot vanishes
    got = same_outcome(lambda b: si.ijvp(bratu, (u, lam), np.ones(6), wrt="u", backend=b), backend)
    assert got[0] == "ok"
    e = next(e for e in entries(bratu, backend) if e.__name__ == "bratu_ijvp")
    assert e.fallbacks >= 1


HERE = os.path.dirname(os.path.abspath(__file__))


def check_cli(tmp_path, backend: str, entry_line: str) -> None:
    """``s2s-invad gen --backend B`` writes a module whose entry point runs compiled, in a
    process that imports the module from its file."""
    out = tmp_path / "equasive_derivs.py"
    cmd = [sys.executable, "-m", "s2s_invad", "gen", f"{HERE}/numba_functions.py:equasive", "--modes", "jvp",
           "--backend", backend, "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(HERE))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert f"# -- backend {backend}" in text and entry_line in text
    script = textwrap.dedent(f"""
        import importlib.util, json
        spec = importlib.util.spec_from_file_location("equasive_derivs", {str(out)!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        y, y_dot = m.equasive_jvp(0.5, 1.0, 1.0, 0.0)
        print(json.dumps([list(y), list(y_dot), m.equasive_jvp.calls, m.equasive_jvp.fallbacks]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=os.path.dirname(HERE))
    assert done.returncode == 0, done.stderr
    y, y_dot, calls, fallbacks = json.loads(done.stdout)
    want = si.jvp(nf.equasive, (0.5, 1.0), (1.0, 0.0))
    assert np.allclose(y, want[0], rtol=1e-15) and np.allclose(y_dot, want[1], rtol=1e-15)
    assert (calls, fallbacks) == (1, 0)
