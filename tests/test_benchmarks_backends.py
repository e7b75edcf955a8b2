"""benchmarks/backends.py at tiny sizes: its workers build every family, run every route and
agree on the products (never a time: tests do not assert on timings).

Each family is run through the benchmark's own ``run_case`` (one round, no minimum sample),
with the Python and C backends, JAX and CasADi; numba on the smallest family only (its
compile is the slow part). The report's tables must render. Skipped without numba, JAX,
CasADi or a C compiler (all optional).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

pytest.importorskip("numba")
pytest.importorskip("jax")
pytest.importorskip("casadi")
if shutil.which("cc") is None and shutil.which("gcc") is None:
    pytest.skip("no C compiler", allow_module_level=True)

from benchmarks import backends  # noqa: E402

TOL = 1e-8


def run(family, n, backend_list, tmp_path, monkeypatch):
    import s2s_invad as si
    monkeypatch.setenv("S2S_INVAD_CACHE", str(tmp_path / "cache"))
    args = backends.parse_args(["--backends", backend_list, "--repeats", "1", "--min-sample", "0",
                                "--scaling", "", "--reuse", ""])
    peers = backends.Peers(args)
    case = backends.build(family, n, str(tmp_path))
    result = backends.run_case(si, case, peers, args)
    return result, peers, args


def check(result, backend_list, peers_expected):
    backend_list = backend_list.split(",")
    for backend in backend_list:
        for mode in backends.MODES:
            assert result["errors"][(backend, mode)] < TOL, (backend, mode, result["errors"])
    for peer in peers_expected:
        for mode in backends.MODES:
            assert result["peer_errors"][(peer, mode)] < TOL, (peer, mode, result["peer_errors"])
    for backend in backend_list:
        for mode in backends.MODES:
            assert result["times"][(backend, mode)] > 0.0


@pytest.mark.parametrize("family,n,peers", [("chain", 2, ("CasADi",)), ("euler", 4, ("JAX", "CasADi")),
                                            ("bratu", 4, ("JAX", "CasADi")), ("rk4", 4, ("JAX", "CasADi"))])
def test_every_route_agrees_with_the_python_backend(family, n, peers, tmp_path, monkeypatch):
    result, peer_set, args = run(family, n, "python,c", tmp_path, monkeypatch)
    check(result, "python,c", peers)
    if family == "rk4":          # the loop is kept as a loop, and the C backend compiles it
        assert not result["one_time"]["c"]["kept"]["jvp"]
    text = backends.report([result], [], [], peer_set, args, 0.0)
    assert "## Per call" in text and "## One-time costs" in text


def test_numba_route_agrees_and_the_targets_render(tmp_path, monkeypatch):
    result, peer_set, args = run("bratu", 4, "python,numba", tmp_path, monkeypatch)
    check(result, "python,numba", ("JAX", "CasADi"))
    assert not result["one_time"]["numba"]["kept"]["ijvp"]
    text = backends.report([result], [], [], peer_set, args, 0.0)
    assert "repays after" in text or "(Python)" in text or "numba" in text
