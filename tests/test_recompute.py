"""memory="recompute" where rebuilding backwards is inexact (issue 10, item 3).

Each function below has a step whose inverse loses information at the chosen points
(tanh and atan saturate, exp underflows, an addition forgets a small term, expm1 and
log1p reach their limits, tan near pi/2). The forward pass must notice and keep those
inputs, so recompute gives store mode's numbers, raises nothing store mode does not, and
never returns a non-finite value; ``si.drift`` reports what the sweep really uses. Arrays
keep only the points that need it. The reference is store mode (itself checked against
oracles elsewhere) and the independent complex-step Jacobian.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
import warnings

import numpy as np
import pytest

import s2s_invad as si
import oracle
from modules import load_function

SOURCE = """\
import math
import numpy as np


def tanh_step(x, y):
    x = {m}.tanh(x)
    x = x + 0.5 * y
    return x, y


def atan_step(x, y):
    x = {m}.{atan}(x)
    y = y + x
    return x, y


def lost_add(x, y):
    x = x + 1e20 * y
    x = x - 1e20 * y
    return x, y


def exp_under(x, y):
    x = {m}.exp(x)
    x = x + y
    return x, y


def expm1_step(x, y):
    x = {m}.expm1(x) * 3.0
    y = y * (x + 4.0)
    return x, y


def log1p_step(x, y):
    x = {m}.log1p(x)
    y = y + {m}.sin(x)
    return x, y


def tan_step(x, y):
    x = {m}.tan(x)
    x = x * y
    return x, y


def chain(x, y):
    x = {m}.tanh(3.0 * x + 1.0) * 2.0
    y = y - x
    x = x + {m}.exp(-y)
    return x, y
"""

# function: points (x, y) where some rebuild is inexact, and a harmless one
CASES = {
    "tanh_step": [(20.0, 0.3), (-30.0, 1.5), (15.0, 2.0), (0.4, 0.7)],
    "atan_step": [(1e20, 0.5), (-3e17, 1.0), (1e8, 0.5), (0.3, 0.2)],
    "lost_add": [(1e-3, 0.7), (5.0, 1.0), (1e6, 1e-10)],
    "exp_under": [(-800.0, 0.5), (-745.0, 1.0), (-30.0, 1e-13), (0.5, 2.0)],
    "expm1_step": [(-40.0, 0.5), (-60.0, 1.0), (1e-20, 1.0), (0.3, 0.6)],
    "log1p_step": [(-1 + 2 ** -40, 0.5), (1e300, 1.0), (1e-30, 0.5), (0.3, 0.1)],
    "tan_step": [(1.5707963267948966, 0.5), (1.5707963, 1e-3), (0.3, 2.0)],
    "chain": [(7.0, 0.2), (-6.5, 0.1), (0.1, 0.2)],
}


@pytest.fixture(scope="module", params=["math", "np"])
def functions(request, tmp_path_factory):
    m = request.param
    folder = tmp_path_factory.mktemp(f"recompute_{m}")
    source = SOURCE.format(m=m, atan="atan" if m == "math" else "arctan")
    name = f"recompute_cases_{m}"
    load_function(folder, name, source + f"\n\ndef {name}():\n    pass\n")
    import sys
    return m, {fn: getattr(sys.modules[name], fn) for fn in CASES}


def _both(call):
    """call(memory) for store and recompute: (result or the error's class) for each."""
    out = []
    for memory in ("store", "recompute"):
        try:
            out.append(call(memory))
        except si.S2SError as exc:
            out.append(type(exc))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_recompute_gives_store_modes_numbers(functions, name):
    _, fns = functions
    f = fns[name]
    for x in CASES[name]:
        w = (0.7, -1.3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vjp = _both(lambda memory: si.vjp(f, *x, memory=memory)[1](w))
            ijvp = _both(lambda memory: si.ijvp(f, x, w, memory=memory)[1])
        for store, recompute in (vjp, ijvp):
            if isinstance(store, type):
                assert recompute is store, (name, x, store, recompute)
                continue
            assert np.all(np.isfinite(recompute)), (name, x, recompute)
            np.testing.assert_allclose(recompute, store, rtol=1e-12, atol=0, err_msg=f"{name} at {x}")
        if not isinstance(vjp[0], type) and name != "lost_add":    # lost_add: J = I from +-1e20
            # terms, so any float chain rule cancels to within 1e20 ulps: store == recompute is the test
            jac = oracle.dense_jacobian(f, x)
            np.testing.assert_allclose(vjp[1], jac.T @ np.array(w), rtol=1e-9, atol=1e-300)
        report = si.drift(f, x)
        assert report.max <= 1e-12, (name, x, str(report))


@pytest.mark.parametrize("name", sorted(CASES))
def test_batches_are_checked_point_by_point(functions, name):
    spelling, fns = functions
    if spelling != "np":
        pytest.skip("math sources are scalar")
    f = fns[name]
    xs = np.array([p[0] for p in CASES[name]])
    ys = np.array([p[1] for p in CASES[name]])
    w = (np.full(xs.shape, 0.7), np.full(xs.shape, -1.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            store = si.vjp(f, xs, ys)[1](w)
        except si.S2SError:
            pytest.skip("store mode refuses this batch")
        recompute = si.vjp(f, xs, ys, memory="recompute")[1](w)
    np.testing.assert_allclose(np.array(recompute), np.array(store), rtol=1e-12, atol=0)
    for i in range(len(xs)):                      # each point as a scalar call agrees
        point = si.vjp(f, xs[i], ys[i], memory="recompute")[1]((0.7, -1.3))
        np.testing.assert_allclose(np.array(point), np.array(recompute)[:, i], rtol=1e-13, atol=0)


def test_only_the_bad_points_are_kept(functions):
    """A batch of 20,000 in which one point saturates keeps that point, not an array."""
    spelling, fns = functions
    if spelling != "np":
        pytest.skip("math sources are scalar")
    f = fns["tanh_step"]
    clean = np.linspace(-2.0, 2.0, 20_000)
    dirty = clean.copy()
    dirty[1234] = 25.0
    y = np.ones_like(clean)
    peaks = {}
    for label, x in (("clean", clean), ("dirty", dirty)):
        si.vjp(f, x, y, memory="recompute")
        gc.collect()
        tracemalloc.start()
        _, pullback = si.vjp(f, x, y, memory="recompute")
        peaks[label] = tracemalloc.get_traced_memory()[0]          # what the pullback holds
        tracemalloc.stop()
        del pullback
    assert peaks["dirty"] - peaks["clean"] < 2_000              # one point, not 160 kB
    got = si.vjp(f, dirty, y, memory="recompute")[1]((np.ones_like(y), y))
    want = si.vjp(f, dirty, y)[1]((np.ones_like(y), y))
    np.testing.assert_array_equal(got[0], want[0])


def test_explain_says_that_rebuilds_are_checked(functions):
    _, fns = functions
    text = si.explain(fns["tanh_step"])
    assert "keeps its input where rebuilding it would be inexact" in text
    assert "an input, which the caller holds" in text


CHAIN = '''
import math
import numpy as np


def contract(x):
    for k in range(6):
        x = math.exp(0.03 * x)
    return x


def contract_np(x, y):
    for k in range(5):
        x = np.exp(0.03 * x)
        y = y + 0.5 * x
        x = 0.2 * x + 0.01 * np.sin(y)
    return x, y
'''


def test_rebuild_errors_compound_along_a_chain():
    """Found by the fuzz target's unrolled loops (seed 140 of tests/fuzz_gen.py). Each step
    x = exp(0.03 x) contracts by 0.03 x, so its inverse log(x) / 0.03 magnifies an error 33
    times; six such rebuilds in a row pass every per-step check but compound to 1e9. The
    forward pass bounds the product along each chain of rebuilds and keeps an input where
    it passes 2**8, so recompute gives store mode's numbers and drift stays at rounding."""
    f = si.from_source(CHAIN, "contract")
    x = 0.7
    exact, value = 1.0, x
    for _ in range(6):
        exact *= 0.03 * math.exp(0.03 * value)
        value = math.exp(0.03 * value)
    store = si.vjp(f, x)[1](1.0)[0]
    assert abs(store - exact) <= 1e-14 * abs(exact)
    recompute = si.vjp(f, x, memory="recompute")[1](1.0)[0]
    assert abs(recompute - store) <= 1e-12 * abs(store)
    assert si.drift(f, (x,)).max <= 2.0 ** -40, str(si.drift(f, (x,)))
    x_dot = si.ijvp(f, (x,), 1.0, memory="recompute")[1][0]
    assert abs(x_dot - 1.0 / exact) <= 1e-12 / abs(exact)


def test_chains_of_rebuilds_are_bounded_point_by_point():
    """Two values, each step contracting x by 0.2 * 0.03 x and shearing y by it, on a batch
    whose points contract differently: every point gets store mode's numbers (and the
    complex-step Jacobian's), arrays stay arrays. (The bound follows each chain alone: an
    error that reaches x through y, rebuilt with x, is not in it, hence drift up to 1e-10.)"""
    f = si.from_source(CHAIN, "contract_np")
    xs, ys = np.array([0.7, -2.0, 5.0]), np.array([0.1, 0.3, -0.4])
    w = (np.array([1.0, -0.5, 0.25]), np.array([0.3, 0.8, -1.0]))
    store = si.vjp(f, xs, ys)[1](w)
    recompute = si.vjp(f, xs, ys, memory="recompute")[1](w)
    for a, b in zip(recompute, store):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    for i in range(len(xs)):
        jac = oracle.dense_jacobian(f, (float(xs[i]), float(ys[i])))
        np.testing.assert_allclose([r[i] for r in recompute], jac.T @ np.array([wi[i] for wi in w]),
                                   rtol=1e-9)
        assert si.drift(f, (float(xs[i]), float(ys[i]))).max <= 1e-10


def test_float32_batches_stay_float32_through_loops_rebuilt_backwards(tmp_path):
    """A coupling loop kept as a loop, memory="recompute", a float32 batch: the kept values
    (float32 cannot rebuild to the check's 2**-40, so every step keeps its input) and the
    cotangents and tangents stay float32, and agree with float64 store mode to float32
    rounding."""
    net = load_function(tmp_path, "coupled", "import numpy as np\n\n\ndef coupled(x, depth):\n"
                        "    for _ in range(depth):\n        a, b = x[:2], x[2:]\n"
                        "        x = np.concatenate([b * np.exp(np.tanh(a)), a])\n    return x\n")
    X = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    _, back = si.vjp(net, X, 10, wrt="x", memory="recompute")
    (x_bar,) = back(X)
    _, (x_dot,) = si.ijvp(net, (X, 10), X, wrt="x", memory="recompute")
    assert x_bar.dtype == np.float32 and x_dot.dtype == np.float32
    X64 = X.astype(np.float64)
    (want_bar,) = si.vjp(net, X64, 10, wrt="x")[1](X64)
    _, (want_dot,) = si.ijvp(net, (X64, 10), X64, wrt="x")
    assert np.allclose(x_bar, want_bar, rtol=1e-4, atol=1e-5)
    assert np.allclose(x_dot, want_dot, rtol=1e-4, atol=1e-5)
