"""An invertible coupling flow (RealNVP-style) on arrays: log|det J|, ijvp and ivjp.

Run:  python samples/coupling_flow.py

Six affine coupling layers act on x in R^8, alternating which half they keep. A layer
keeps one half a and updates the other half b:

    h = tanh(W_in a + b_in)            a small hidden layer
    s = W_s h,  t = W_t h              scale and shift
    b = b * exp(s) + t

Its Jacobian is triangular with diagonal (1, ..., 1, exp(s)), so log|det J| is the sum of
every s over the layers. s2s_invad sees each layer as a lump with W = b:
A = d(new b)/d(old b) = diag(exp(s)), and det J is the product of det A over the lumps.

The sample computes log|det J| three ways and checks that they agree: si.slogdet (from
the lumps, no Jacobian formed), the sum of s over the layers (plain NumPy), and
numpy.linalg.slogdet of the dense Jacobian (eight jvps). It also checks ivjp (J^-T w) and
ijvp (J^-1 v) against numpy.linalg.solve, and evaluates log|det J| for a batch of points
in one call (a vector parameter of shape (n, B) is B points).

The weights are drawn from a seeded RNG when the module is imported, which suits the API
(it reads the live values). The command line never runs the file, so it cannot evaluate
them and refuses `flow`; to use s2s-invad gen, write the weights as literal arrays.
"""

import sys

import numpy as np

import s2s_invad as si

DIM, HIDDEN, LAYERS = 8, 6, 6
HALF = DIM // 2

_rng = np.random.default_rng(5)
W_IN = 0.8 * _rng.normal(size=(LAYERS, HIDDEN, HALF))
B_IN = 0.5 * _rng.normal(size=(LAYERS, HIDDEN))
W_SCALE = 0.3 * _rng.normal(size=(LAYERS, HALF, HIDDEN))
W_SHIFT = 0.5 * _rng.normal(size=(LAYERS, HALF, HIDDEN))


def scale_and_shift(a, layer):
    """The conditioner of one layer: s and t from the half that is kept."""
    h = np.tanh(W_IN[layer] @ a + B_IN[layer])
    return W_SCALE[layer] @ h, W_SHIFT[layer] @ h


def coupling(x, layer):
    """One affine coupling layer; even layers update the second half, odd ones the first."""
    if layer % 2 == 0:
        a, b = x[:HALF], x[HALF:]
    else:
        b, a = x[:HALF], x[HALF:]
    s, t = scale_and_shift(a, layer)
    b = b * np.exp(s) + t
    if layer % 2 == 0:
        return np.concatenate([a, b])
    return np.concatenate([b, a])


def flow(x):
    for layer in range(LAYERS):
        x = coupling(x, layer)
    return x


def log_det_from_layers(x):
    """log|det J| from the structure: the sum of s over the layers (plain NumPy)."""
    total = 0.0
    for layer in range(LAYERS):
        a = x[:HALF] if layer % 2 == 0 else x[HALF:]
        s, _ = scale_and_shift(a, layer)
        total += np.sum(s)
        x = coupling(x, layer)
    return total


def dense_jacobian(x):
    return np.column_stack([si.jvp(flow, (x,), (e,))[1] for e in np.eye(DIM)])


def main() -> int:
    lumps = next(line for line in si.explain(flow, shapes={"x": DIM}).splitlines() if line.startswith("Lumps:"))
    print(f"{LAYERS} affine coupling layers on x in R^{DIM} (hidden width {HIDDEN})")
    print(f"si.explain: {lumps}\n")

    points = np.random.default_rng(1).normal(size=(4, DIM))
    print(f"{'point':>5} {'si.slogdet':>16} {'sum of s':>16} {'slogdet(dense J)':>17} {'sign':>5} "
          f"{'max difference':>15}")
    worst_det, signs = 0.0, []
    for i, x in enumerate(points):
        _, (sign, ours) = si.slogdet(flow, (x,))
        dense_sign, dense = np.linalg.slogdet(dense_jacobian(x))
        layers = log_det_from_layers(x)
        diff = max(abs(ours - dense), abs(ours - layers))
        worst_det = max(worst_det, diff)
        signs += [sign, dense_sign]
        print(f"{i:>5} {ours:>16.12f} {layers:>16.12f} {dense:>17.12f} {sign:>+5.0f} {diff:>15.1e}")

    # The same log-dets for all points in one call: x of shape (DIM, batch).
    _, (batch_signs, batched) = si.slogdet(flow, (points.T,))
    signs += list(np.ravel(batch_signs))
    batch_error = float(np.max(np.abs(batched - [log_det_from_layers(x) for x in points])))
    print(f"batched si.slogdet over the {len(points)} points (x of shape {points.T.shape}): "
          f"max difference {batch_error:.1e}")

    x = points[0]
    w = np.linspace(-1.0, 1.0, DIM)
    v = np.cos(np.arange(DIM))
    jac = dense_jacobian(x)
    _, inverse_pullback = si.ivjp(flow, x)
    _, (inv_v,) = si.ijvp(flow, (x,), v)
    products = [("J^-T w (ivjp)", inverse_pullback(w), np.linalg.solve(jac.T, w)),
                ("J^-1 v (ijvp)", inv_v, np.linalg.solve(jac, v))]
    print(f"\nat point 0, cond(J) = {np.linalg.cond(jac):.1f}:")
    print(f"{'product':<14} {'first entries (s2s_invad)':<36} {'numpy.linalg.solve':<36} max rel. error")
    worst_product = 0.0
    for name, ours, dense in products:
        err = float(np.max(np.abs(ours - dense)) / np.max(np.abs(dense)))
        worst_product = max(worst_product, err)
        print(f"{name:<14} {str(np.round(ours[:3], 6)):<36} {str(np.round(dense[:3], 6)):<36} {err:.1e}")

    ok = worst_det < 1e-12 and batch_error < 1e-12 and worst_product < 1e-12 and all(s == 1 for s in signs)
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
