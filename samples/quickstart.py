"""Quickstart: the four accumulation modes on a small invertible map, checked by NumPy.

Run:  python samples/quickstart.py

A Newton step for f(x) = target needs J^-1 (f(x) - target). s2s_invad gets it from the
source of f in time proportional to running f: no Jacobian is formed, no n x n solve.
Here we also build the dense Jacobian (from n jvps) to show that every mode agrees.
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


def main() -> int:
    x = (0.7, 1.3, -0.4)
    v = (1.0, -2.0, 0.5)
    w = (0.3, 0.8, -1.1)

    y, jv = f.jvp(x, v)
    _, pullback = f.vjp(*x)
    _, inv_v = f.ijvp(x, v)
    _, inverse_pullback = f.ivjp(*x)
    jtw, inv_t_w = pullback(w), inverse_pullback(w)

    jac = np.column_stack([f.jvp(x, tuple(e))[1] for e in np.eye(3)])
    rows = [("J v", jv, jac @ v), ("J^T w", jtw, jac.T @ w),
            ("J^-1 v", inv_v, np.linalg.solve(jac, v)), ("J^-T w", inv_t_w, np.linalg.solve(jac.T, w))]
    print(f"f(x) = {np.round(y, 6)}")
    print(f"{'product':<8} {'s2s_invad':<40} {'dense NumPy':<40} max error")
    worst = 0.0
    for name, ours, dense in rows:
        err = float(np.max(np.abs(np.asarray(ours) - dense)))
        worst = max(worst, err)
        print(f"{name:<8} {str(np.round(ours, 6)):<40} {str(np.round(dense, 6)):<40} {err:.1e}")

    # One Newton step towards a target, with ijvp instead of a dense solve.
    target = (1.0, 1.5, -2.0)
    residual = tuple(a - b for a, b in zip(y, target))
    _, step = f.ijvp(x, residual)
    x_new = tuple(a - s for a, s in zip(x, step))
    before = np.linalg.norm(residual)
    after = np.linalg.norm(np.subtract(f(*x_new), target))
    print(f"\nNewton step: |f(x) - target| {before:.3e} -> {after:.3e}")

    print("\nGenerated J^-1 v code (si.source(f, 'ijvp')):\n")
    print(f.source("ijvp"))
    ok = worst < 1e-12 and after < before
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
