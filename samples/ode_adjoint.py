"""Euler steps of an ODE as a loop: ijvp and ivjp converge to the continuous tangent and adjoint.

Run:  python samples/ode_adjoint.py

Lotka-Volterra predator-prey, z' = F(z) with z = (x, y):

    x' = A x - B x y,        y' = C x y - D y,        z(0) = (1.0, 0.5),  T = 2.

`euler(z, steps)` takes `steps` explicit Euler steps of size h = T / steps. The number of
steps is an argument, so the loop is kept as a loop (SPEC section 9): one generated module
serves every N, from 10 steps to 100,000, each call running the body's code N times. Each
step
`z = z + h * rhs(z)` is a lump with k = 2 and Jacobian I + h J_F, so for the flow
Jacobian M = dz(T)/dz(0) (SPEC.md section 6):

* ijvp gives M_N^-1 v, which converges to M^-1 v: the tangent equation u' = J_F u
  integrated BACKWARDS in time from u(T) = v, read at t = 0;
* ivjp gives M_N^-T w, which converges to M^-T w: the adjoint equation l' = -J_F^T l
  integrated FORWARDS in time from l(0) = w, read at t = T.

The continuous references use a fine RK4 (written here; no SciPy needed). The discrete
products are exact for the discrete map (checked against a dense solve), and their
distance to the continuous ones shrinks like h: first order, the order of Euler.
"""

import pathlib
import re
import sys

import numpy as np

import s2s_invad as si

A, B, C, D = 1.0, 0.6, 0.8, 1.2
T = 2.0
X0 = np.array([1.0, 0.5])
STEP_COUNTS = (10, 20, 40, 80, 160, 320, 100_000)   # N: one loop kept as a loop serves them all
OUTPUT = pathlib.Path(__file__).resolve().parent / "output"


def rhs(z):
    """F(z) for Lotka-Volterra."""
    x, y = z
    return np.array([A * x - B * x * y, C * x * y - D * y])


def euler(z, steps):
    """``steps`` explicit Euler steps over [0, T] (steps, a trip count, is never differentiated)."""
    h = T / steps
    for _ in range(steps):
        z = z + h * rhs(z)
    return z


def JF(z):
    """The Jacobian of F, by hand (for the continuous references)."""
    x, y = z
    return np.array([[A - B * y, -B * x], [C * y, C * x - D]])


def rk4(field, z, t_span, steps):
    """Classical RK4 for z' = field(z) over a signed time span (the references)."""
    dt = t_span / steps
    for _ in range(steps):
        k1 = field(z)
        k2 = field(z + 0.5 * dt * k1)
        k3 = field(z + 0.5 * dt * k2)
        k4 = field(z + dt * k3)
        z = z + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def tangent_rhs(z):
    """(z, u)' = (F(z), J_F(z) u)."""
    return np.concatenate([rhs(z[:2]), JF(z[:2]) @ z[2:]])


def adjoint_rhs(z):
    """(z, l)' = (F(z), -J_F(z)^T l)."""
    return np.concatenate([rhs(z[:2]), -JF(z[:2]).T @ z[2:]])


def continuous_references(v, w, steps=4000):
    x_T = rk4(rhs, X0, T, steps)
    inv_v = rk4(tangent_rhs, np.concatenate([x_T, v]), -T, steps)        # backwards from u(T) = v
    inv_t_w = rk4(adjoint_rhs, np.concatenate([X0, w]), T, steps)        # forwards from l(0) = w
    return x_T, inv_v[2:], inv_t_w[2:]


def lump_counts(report):
    """"count (largest k)" from the "Lumps" line of an si.explain report (of one iteration
    for a loop kept as a loop)."""
    found = re.search(r"^Lumps[^:]*: (\d+).*largest k = (\d+)", report, re.MULTILINE)
    return f"{found.group(1)} ({found.group(2)})" if found else "?"


def plot(hs, errors_ijvp, errors_ivjp, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(hs, errors_ijvp, "o-", label="ijvp vs backward tangent")
    ax.loglog(hs, errors_ivjp, "s-", label="ivjp vs forward adjoint")
    ax.loglog(hs, [errors_ijvp[0] * h / hs[0] for h in hs], "k--", label="slope 1")
    ax.set_xlabel("Euler step h")
    ax.set_ylabel("distance to the continuous product")
    ax.legend()
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> int:
    v = np.array([1.0, -0.5])
    w = np.array([0.3, 0.8])
    x_T, ref_inv_v, ref_inv_t_w = continuous_references(v, w)
    print(f"Lotka-Volterra, z(0) = {X0}, T = {T}; continuous z(T) = {np.round(x_T, 6)}")
    print(f"M^-1 v  (tangent backwards, RK4) = {np.round(ref_inv_v, 8)}")
    print(f"M^-T w  (adjoint forwards, RK4)  = {np.round(ref_inv_t_w, 8)}\n")
    print(f"{'N':>7} {'h':>8} {'lumps (max k)':>13} {'|ijvp - M^-1 v|':>16} {'ratio':>6} "
          f"{'|ivjp - M^-T w|':>16} {'ratio':>6} {'vs dense solve':>15}")

    hs, errors_ijvp, errors_ivjp, ratios, worst_dense = [], [], [], [], 0.0
    report = si.explain(euler, wrt="z", shapes={"z": 2})
    lumps = lump_counts(report)
    for n_steps in STEP_COUNTS:
        _, (inv_v,) = si.ijvp(euler, (X0, n_steps), v, wrt="z")            # M_N^-1 v
        _, inverse_pullback = si.ivjp(euler, X0, n_steps, wrt="z")
        inv_t_w = inverse_pullback(w)                                       # M_N^-T w
        jac = np.column_stack([si.jvp(euler, (X0, n_steps), (e,), wrt="z")[1] for e in np.eye(2)])
        dense = max(np.max(np.abs(inv_v - np.linalg.solve(jac, v))),
                    np.max(np.abs(inv_t_w - np.linalg.solve(jac.T, w))))
        worst_dense = max(worst_dense, float(dense))
        e1 = float(np.max(np.abs(inv_v - ref_inv_v)))
        e2 = float(np.max(np.abs(inv_t_w - ref_inv_t_w)))
        r1_text, r2_text = "-", "-"
        if errors_ijvp:
            r1, r2 = errors_ijvp[-1] / e1, errors_ivjp[-1] / e2
            ratios += [r1, r2]
            r1_text, r2_text = f"{r1:.2f}", f"{r2:.2f}"
        hs.append(T / n_steps)
        errors_ijvp.append(e1)
        errors_ivjp.append(e2)
        print(f"{n_steps:>7,} {T / n_steps:>8.2g} {lumps:>13} {e1:>16.3e} {r1_text:>6} {e2:>16.3e} {r2_text:>6} "
              f"{dense:>15.1e}")

    order_ijvp = float(np.polyfit(np.log(hs[-5:-1]), np.log(errors_ijvp[-5:-1]), 1)[0])
    order_ivjp = float(np.polyfit(np.log(hs[-5:-1]), np.log(errors_ivjp[-5:-1]), 1)[0])
    far = errors_ijvp[-1] * hs[-2] / (errors_ijvp[-2] * hs[-1])      # first order out to N = 100,000
    print(f"\nobserved order over N = 40..320: ijvp {order_ijvp:.2f}, ivjp {order_ivjp:.2f} "
          f"(first order: halving h halves the distance); from N = 320 to {STEP_COUNTS[-1]:,} the "
          f"distance shrinks by h to within a factor {far:.2f}")
    print(f"si.explain: {next(line.strip() for line in report.splitlines() if 'kept as a loop' in line)}")
    print(f"the discrete products match a dense solve of the discrete Jacobian to {worst_dense:.1e}")
    png = plot(hs, errors_ijvp, errors_ivjp, OUTPUT / "ode_adjoint.png")
    if png:
        print(f"plot: {png}")

    ok = (worst_dense < 1e-10 and abs(order_ijvp - 1) < 0.1 and abs(order_ivjp - 1) < 0.1
          and all(r > 1.4 for r in ratios[:-2]) and 0.8 < far < 1.25)
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
