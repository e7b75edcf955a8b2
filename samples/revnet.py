"""A reversible residual network trained with a gradient in memory constant in depth.

Run:  python samples/revnet.py

The network (a RevNet: additive coupling, seed 000's setting) maps a state x = (a, b) of
2 M numbers through ``depth`` residual blocks with shared weights theta,

    b = b + h tanh(theta_0 a + theta_1 reverse(a) + theta_2)
    a = a + h tanh(theta_3 b + theta_4 reverse(b) + theta_5)

and the loss is 1/2 |x_out - target|^2. The blocks are a loop over ``depth`` (an argument,
so the loop is kept as a loop and one generated module serves every depth). Every block
is a shear, invertible in closed form, so ``si.vjp(..., memory="recompute")`` walks the
layers backwards rebuilding each block's input from its output (seed 000's algorithm)
instead of storing activations. The sample checks:

* the gradient w.r.t. x and theta against the complex-step derivative of the loss (the
  user's own function run on complex numbers, one run per parameter) and against
  memory="store" backprop, at depth 50;
* memory="recompute" against memory="store" at depth 5,000 (a long rebuild);
* the peak memory of the generated pullback (tracemalloc, forward + backward sweep) for
  depths 50 to 800: flat for recompute, growing with depth for store (benchmarks/loops.py
  measures 10^3 to 10^6 steps);

then fits theta by gradient descent from a perturbed start, the recompute gradient
driving every step.
"""

import gc
import sys
import time
import tracemalloc

import numpy as np

import s2s_invad as si

M = 4                        # half the width: the state has 2 M numbers
H = 0.1                      # the residual step
DEPTHS = (50, 200, 800)      # for the memory table (tracemalloc slows the run 40 times)


def revnet_loss(x, theta, target, depth):
    """1/2 |f(x) - target|^2 for a RevNet f of ``depth`` additive coupling blocks."""
    a, b = x[:M], x[M:]
    for _ in range(depth):
        b = b + H * np.tanh(theta[0] * a + theta[1] * a[::-1] + theta[2])
        a = a + H * np.tanh(theta[3] * b + theta[4] * b[::-1] + theta[5])
    r = np.concatenate([a, b]) - target
    return 0.5 * np.sum(r * r)


WRT = ("x", "theta")


def gradient(x, theta, target, depth, memory):
    loss, pullback = si.vjp(revnet_loss, x, theta, target, depth, wrt=WRT, memory=memory)
    return loss, pullback(1.0)


def complex_step(x, theta, target, depth):
    """d loss / d (x, theta) by the complex step: exact to rounding, independent of s2s_invad."""
    params = np.concatenate([x, theta])
    out = np.empty_like(params)
    for j in range(len(params)):
        z = params.astype(complex)
        z[j] += 1e-30j
        out[j] = revnet_loss(z[:2 * M], z[2 * M:], target, depth).imag / 1e-30
    return out[:2 * M], out[2 * M:]


def relative(got, want) -> float:
    got, want = np.concatenate([np.ravel(g) for g in got]), np.concatenate([np.ravel(w) for w in want])
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def peak_bytes(x, theta, target, depth, memory) -> int:
    """tracemalloc's peak over one forward + backward sweep of the generated code."""
    gradient(x, theta, target, depth, memory)               # transform and compile first
    gc.collect()
    tracemalloc.start()
    try:
        gradient(x, theta, target, depth, memory)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 2 * M)
    theta_true = np.array([0.9, -0.4, 0.1, -0.7, 0.5, -0.2])
    ok = True

    depth = 50
    target = rng.uniform(-1, 1, 2 * M)
    theta = theta_true + 0.3
    _, (gx, gt) = gradient(x, theta, target, depth, "recompute")
    _, stored = gradient(x, theta, target, depth, "store")
    cs = complex_step(x, theta, target, depth)
    e_cs, e_store = relative((gx, gt), cs), relative((gx, gt), stored)
    print(f"RevNet, width {2 * M}, shared weights theta (6), depth {depth}")
    print(f"  gradient (memory='recompute') vs complex step: {e_cs:.1e}; vs memory='store': {e_store:.1e}")
    ok &= e_cs < 1e-12 and e_store < 1e-13

    depth = 5_000
    _, long_r = gradient(x, theta, target, depth, "recompute")
    _, long_s = gradient(x, theta, target, depth, "store")
    e_long = relative(long_r, long_s)
    drift = si.drift(revnet_loss, (x, theta, target, depth), wrt=WRT).max
    print(f"  depth {depth:,}: recompute vs store {e_long:.1e}; states rebuilt backwards drift by at most "
          f"{drift:.1e} (si.drift)")
    ok &= e_long < 1e-10

    print(f"\n{'depth':>7} {'peak store':>12} {'peak recompute':>15}   (forward + backward sweep, tracemalloc)")
    peaks = {}
    for depth in DEPTHS:
        peaks[depth] = tuple(peak_bytes(x, theta, target, depth, mem) for mem in ("store", "recompute"))
        print(f"{depth:>7,} {peaks[depth][0] / 1024:>10.0f} KB {peaks[depth][1] / 1024:>13.1f} KB")
    grows = peaks[DEPTHS[-1]][0] > 10 * peaks[DEPTHS[0]][0]
    flat = peaks[DEPTHS[-1]][1] < 1.5 * peaks[DEPTHS[0]][1] + 4096
    print(f"  store grows with depth: {grows}; recompute flat: {flat}")
    ok &= grows and flat

    depth, theta = 40, theta_true + 0.15 * np.array([1, -1, 1, 1, -1, 1])
    target = revnet_loss_target(x, theta_true, depth)
    loss, (_, g) = gradient(x, theta, target, depth, "recompute")
    first, rate, t0 = loss, 1.0, time.perf_counter()
    for _ in range(60):                     # gradient descent, step halved until the loss drops
        while True:
            trial = theta - rate * g
            new_loss, (_, new_g) = gradient(x, trial, target, depth, "recompute")
            if new_loss < loss or rate < 1e-12:
                break
            rate /= 2
        theta, loss, g, rate = trial, new_loss, new_g, rate * 2
    elapsed = time.perf_counter() - t0
    print(f"\nfit theta at depth {depth} by gradient descent (60 steps, {elapsed:.1f} s): loss "
          f"{first:.2e} -> {loss:.2e}; |theta - theta_true| = {np.max(np.abs(theta - theta_true)):.1e}")
    ok &= loss < 1e-2 * first
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


def revnet_loss_target(x, theta, depth):
    """The network's output at the true weights (the loss is 0 there)."""
    a, b = x[:M], x[M:]
    for _ in range(depth):
        b = b + H * np.tanh(theta[0] * a + theta[1] * a[::-1] + theta[2])
        a = a + H * np.tanh(theta[3] * b + theta[4] * b[::-1] + theta[5])
    return np.concatenate([a, b])


if __name__ == "__main__":
    sys.exit(main())
