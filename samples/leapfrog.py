"""Leapfrog (Stormer-Verlet) steps of a pendulum: a volume-preserving, reversible map.

Run:  python samples/leapfrog.py

Six leapfrog steps of q'' = -sin(q), unrolled in straight-line code, map (q, p) at time 0
to (q, p) at time 6 dt. Every statement is a shear (p -= c sin(q) or q += dt p): it
overwrites one variable with a pivot of exactly 1, so s2s_invad sees only k = 1 lumps and
det J = product of pivots = 1. The sample checks that:

* det J = 1 from the dense Jacobian (two jvps);
* J^-1 v from ijvp equals the tangent propagated backwards in time: the jvp of the same
  integrator run with step -dt from the end state (leapfrog is time-reversible, so that
  integrator is the inverse map, and its Jacobian there is J^-1); and numpy.linalg.solve;
* J^-T w from ivjp equals Omega J Omega^-1 w (the map is symplectic: J^T Omega J = Omega).
"""

import math
import sys

import numpy as np

import s2s_invad as si
from s2s_invad.api import analysis_of


@si.derivatives(wrt=("q", "p"))
def leapfrog(q, p, dt):
    """Six Stormer-Verlet steps of the pendulum H = p^2 / 2 - cos(q); dt is passive."""
    p = p - 0.5 * dt * math.sin(q)      # step 1
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    p = p - 0.5 * dt * math.sin(q)      # step 2
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    p = p - 0.5 * dt * math.sin(q)      # step 3
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    p = p - 0.5 * dt * math.sin(q)      # step 4
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    p = p - 0.5 * dt * math.sin(q)      # step 5
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    p = p - 0.5 * dt * math.sin(q)      # step 6
    q = q + dt * p
    p = p - 0.5 * dt * math.sin(q)
    return q, p


OMEGA = np.array([[0.0, 1.0], [-1.0, 0.0]])


def main() -> int:
    dt = 0.3
    v, w = (1.0, -0.5), (0.2, 0.7)
    ks = [lump.k for lump in analysis_of(leapfrog, wrt=leapfrog.wrt).lumps]
    print(f"s2s_invad: {len(ks)} lumps, largest k = {max(ks)} (each statement is a shear: one scalar pivot, = 1)")
    print(f"dt = {dt}, 6 steps, v = {v}, w = {w}\n")
    print(f"{'(q0, p0)':<12} {'energy drift':>12} {'det J - 1':>10} {'reversal':>9} "
          f"{'ijvp vs backward jvp':>21} {'ijvp vs solve':>14} {'ivjp vs Omega J Omega^-1':>25}")

    worst = {"det": 0.0, "rev": 0.0, "back": 0.0, "solve": 0.0, "sympl": 0.0}
    for x in [(1.0, 0.5), (-2.0, 1.0), (2.5, -0.8), (0.1, 2.1)]:
        end = leapfrog(*x, dt)
        energy = [0.5 * p * p - math.cos(q) for q, p in (x, end)]
        jac = np.column_stack([leapfrog.jvp((*x, dt), tuple(e))[1] for e in np.eye(2)])
        det_err = abs(np.linalg.det(jac) - 1.0)

        start_again = leapfrog(*end, -dt)                      # run backwards in time
        rev = max(abs(a - b) for a, b in zip(start_again, x))
        _, inv_v = leapfrog.ijvp((*x, dt), v)                   # J^-1 v
        _, backward = leapfrog.jvp((*end, -dt), v)              # tangent propagated backwards
        back = max(abs(a - b) for a, b in zip(inv_v, backward))
        solve = float(np.max(np.abs(np.subtract(inv_v, np.linalg.solve(jac, v)))))

        _, inverse_pullback = leapfrog.ivjp(*x, dt)
        inv_t_w = inverse_pullback(w)                           # J^-T w
        sympl = float(np.max(np.abs(np.subtract(inv_t_w, OMEGA @ jac @ np.linalg.solve(OMEGA, w)))))

        for key, val in zip(worst, (det_err, rev, back, solve, sympl)):
            worst[key] = max(worst[key], val)
        print(f"{str(x):<12} {energy[1] - energy[0]:>12.2e} {det_err:>10.1e} {rev:>9.1e} "
              f"{back:>21.1e} {solve:>14.1e} {sympl:>25.1e}")

    print(f"\nworst |det J - 1| = {worst['det']:.1e}; worst |J^-1 v (ijvp) - backward tangent| = {worst['back']:.1e}")
    ok = max(ks) == 1 and all(val < 1e-12 for val in worst.values())
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
