"""Quickstart: the four accumulation modes on a small invertible map, checked by NumPy.

Run:  python samples/quickstart.py

A Newton step for f(x) = target needs J^-1 (f(x) - target). s2s_invad gets it from the
source of f in time proportional to running f: no Jacobian is formed, no n x n solve.
Here we also build the dense Jacobian (from n jvps) to show that every mode agrees, first
on three scalars (SPEC.md example 2), then on a vector and a loop.
"""

import math
import sys

import numpy as np

import s2s_invad as si


@si.derivatives
def f(r0, r1, r2):
    """SPEC.md example 2: two equasive steps around a lump with k = 2."""
    r0 = r0 * r1
    t = r0 * r2
    r0 = r1 + t
    r1 = r1 - math.sin(t)
    r2 = r2 * math.exp(r1)
    return r0, r1, r2


def recurrence(x):
    """A loop over a vector: each entry is squashed together with the one before it."""
    y = list(x)
    for i in range(1, len(y)):
        y[i] = np.tanh(y[i] + 0.5 * y[i - 1])
    return y


def report(rows):
    """Print s2s_invad's products next to the dense ones; return the largest difference."""
    width = max(len(str(np.round(dense, 6))) for _, _, dense in rows) + 2
    print(f"{'product':<8} {'s2s_invad':<{width}} {'dense NumPy':<{width}} max error")
    worst = 0.0
    for name, ours, dense in rows:
        err = float(np.max(np.abs(np.ravel(ours) - dense)))
        worst = max(worst, err)
        ours_text, dense_text = str(np.round(np.ravel(ours), 6)), str(np.round(dense, 6))
        print(f"{name:<8} {ours_text:<{width}} {dense_text:<{width}} {err:.1e}")
    return worst


def main() -> int:
    # 1. Three scalars: f(r0, r1, r2) -> (r0, r1, r2).
    x = (0.7, 1.3, -0.4)
    v = (1.0, -2.0, 0.5)
    w = (0.3, 0.8, -1.1)
    y, jv = f.jvp(x, v)
    _, pullback = f.vjp(*x)
    _, inv_v = f.ijvp(x, v)
    _, inverse_pullback = f.ivjp(*x)
    jac = np.column_stack([f.jvp(x, tuple(e))[1] for e in np.eye(3)])     # one jvp per column
    print(f"SPEC example 2: f(x) = {np.round(y, 6)}")
    worst = report([("J v", jv, jac @ v), ("J^T w", pullback(w), jac.T @ w),
                    ("J^-1 v", inv_v, np.linalg.solve(jac, v)),
                    ("J^-T w", inverse_pullback(w), np.linalg.solve(jac.T, w))])

    # One Newton step towards a target, with ijvp instead of a dense solve.
    target = (1.0, 1.5, -2.0)
    residual = np.subtract(y, target)
    _, step = f.ijvp(x, tuple(residual))
    x_new = np.subtract(x, step)
    before = np.linalg.norm(residual)
    after = np.linalg.norm(np.subtract(f(*x_new), target))
    print(f"Newton step: |f(x) - target| {before:.3e} -> {after:.3e}")

    # 2. A vector and a loop: the length comes from the argument (here 5).
    x5 = np.array([0.5, -1.0, 0.3, 0.8, -0.2])
    v5 = np.linspace(1.0, -1.0, 5)
    _, (inv_v5,) = si.ijvp(recurrence, (x5,), v5)
    _, (sign, log_det) = si.slogdet(recurrence, (x5,))
    jac5 = np.column_stack([si.jvp(recurrence, (x5,), (e,))[1] for e in np.eye(5)])
    dense_sign, dense_log_det = np.linalg.slogdet(jac5)
    print(f"\nrecurrence on a vector of 5: log|det J| = {log_det:.12f} (si.slogdet), "
          f"{dense_log_det:.12f} (dense)")
    worst = max(worst, report([("J^-1 v", inv_v5, np.linalg.solve(jac5, v5))]),
                abs(log_det - dense_log_det), abs(sign - dense_sign))

    print("\nGenerated J^-1 v code for a vector of 3 (si.source(recurrence, 'ijvp', shapes={'x': 3})):\n")
    print(si.source(recurrence, "ijvp", shapes={"x": 3}))
    ok = worst < 1e-12 and after < before
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
