"""The programs and workers of benchmarks/loops.py at tiny sizes: the functions it times compute
what its tables say they do. No timing is looked at (tests never assert on timings); the
full script is run by hand (``python benchmarks/loops.py --quick``).
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_invad as si
from benchmarks import families
from benchmarks import loops

STEPS = 7
NAMES = tuple(loops.PROGRAMS)


def products(program, steps=STEPS):
    return {call: np.asarray(fn(), dtype=float) for call, fn in loops.api_calls(si, program, steps).items()}


def complex_step_jacobian(program, steps=STEPS, h=1e-30):
    """The dense Jacobian of the user's own function by complex step (exact to rounding)."""
    return np.column_stack([np.imag(program.fn(loops.START + 1j * h * e, steps)) / h for e in np.eye(4)])


@pytest.mark.parametrize("name", NAMES)
def test_products_satisfy_the_identities_the_benchmark_reports(name):
    gaps = loops.identities(products(loops.PROGRAMS[name]))
    assert set(gaps) == set(loops.CALLS) - {"primal", "slogdet"}
    for call, gap in gaps.items():
        assert gap < 1e-12, (call, gap)


@pytest.mark.parametrize("name", NAMES)
def test_products_against_the_complex_step_jacobian(name):
    program = loops.PROGRAMS[name]
    jac = complex_step_jacobian(program)
    got = products(program)
    v, w = loops.V, loops.W
    expected = {"primal": program.fn(loops.START, STEPS), "jvp": jac @ v, "vjp store": jac.T @ w,
                "ijvp store": np.linalg.solve(jac, v), "ivjp": np.linalg.solve(jac.T, w)}
    for call, want in expected.items():
        assert np.allclose(got[call], want, rtol=1e-11, atol=1e-13), call
    sign, logdet = np.linalg.slogdet(jac)
    assert got["slogdet"][0] == sign and abs(got["slogdet"][1] - logdet) < 1e-12


def test_how_recompute_reverses_each_loop_is_as_labelled():
    for program in loops.PROGRAMS.values():
        report = si.explain(program.fn, wrt=program.wrt, shapes={program.wrt: 4})
        line = next(line for line in report.splitlines() if line.startswith("memory='recompute'"))
        assert ("revolve" in line) == (program.recompute == "revolve"), line


def test_fixed_source_is_the_same_leapfrog_with_a_constant_trip_count(tmp_path):
    text = loops.fixed_source(12)          # >= 8 iterations: kept as a loop unless unroll=True
    module = families.Program(family="loops", title="fixed", func_name="leapfrog", module_name="loops_fixed_12",
                              n=4, statements=0, source=text)
    fixed = families.load(module, str(tmp_path))
    assert np.array_equal(fixed(loops.START), loops.leapfrog(loops.START, 12))
    out = loops.transform_worker({"path": str(tmp_path / "loops_fixed_12.py"), "module": "loops_fixed_12",
                                  "unroll": False})
    assert set(out["modes"]) == set(loops.MODES)
    unrolled = loops.transform_worker({"path": str(tmp_path / "loops_fixed_12.py"), "module": "loops_fixed_12",
                                       "unroll": True})
    for mode in loops.MODES:                      # twelve iterations written out are longer than one
        assert unrolled["modes"][mode]["lines"] > out["modes"][mode]["lines"], mode


def test_memory_worker_store_and_recompute_agree(tmp_path):
    program = loops.PROGRAMS["rk4"]
    results = {memory: loops.memory_worker(dict(loops.write_generated(si, program, memory, str(tmp_path)),
                                                 steps=20, traced=True, repeats=1))
               for memory in ("store", "recompute")}
    assert np.allclose(results["store"]["result"], results["recompute"]["result"], rtol=1e-13)
    for result in results.values():
        assert result["traced"] > 0 and result["seconds"] > 0


def test_jax_twins_compute_the_same_products():
    jax = loops.jax_module()
    if jax is None:
        pytest.skip("jax is not installed")
    pairs = {"primal": "primal", "jvp": "jvp", "vjp": "vjp store", "ijvp": "ijvp store", "ivjp": "ivjp",
             "slogdet": "slogdet"}
    # Each jitted call compiles (about 0.5 s): the dense-Jacobian stand-ins for the inverse modes
    # on one program, jax.checkpoint on the vjp only (the only call it changes).
    cases = [(name, call, False) for name in ("leapfrog", "rk4") for call in ("primal", "jvp", "vjp")]
    cases += [("leapfrog", call, False) for call in ("ijvp", "ivjp", "slogdet")]
    cases += [(name, "vjp", True) for name in ("leapfrog", "rk4")]
    ours = {name: products(loops.PROGRAMS[name]) for name in ("leapfrog", "rk4")}
    for name, call, checkpoint in cases:
        fn, args = loops.jax_jitted(jax, loops.jax_twins(jax, checkpoint)[name], STEPS)[call]
        assert np.allclose(np.asarray(fn(*args)), ours[name][pairs[call]], rtol=1e-12, atol=1e-14), \
            (name, call, checkpoint)
