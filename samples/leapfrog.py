"""Leapfrog (Stormer-Verlet) steps of coupled pendulums: a volume-preserving, reversible map.

Run:  python samples/leapfrog.py

Three pendulums joined by springs, H = sum p_i^2 / 2 - cos(q_i) + K/2 sum (q_{i+1} - q_i)^2,
integrated by `steps` leapfrog steps written as a loop over steps, with the force as a
helper and the state z = (q, p) as one vector. The number of steps is an argument, so the
loop is kept as a loop (its body analysed once, SPEC section 9) and one generated module
serves every number of steps. Every update is a shear (p += c force(q), q += dt p): it
changes p given q or q given p, so det J = 1. The sample checks, at 20 steps against the
dense Jacobian (2n jvps):

* det J = 1, and log|det J| = 0 from si.slogdet;
* J^-1 v from ijvp equals the tangent propagated backwards in time: the jvp of the same
  integrator run with step -dt from the end state (leapfrog is time-reversible, so that
  integrator is the inverse map, and its Jacobian there is J^-1); and numpy.linalg.solve;
* J^-T w from ivjp equals Omega J Omega^-1 w (the map is symplectic: J^T Omega J = Omega);

and at 100,000 steps, where no dense Jacobian is formed, ijvp against the backward
tangent, slogdet = 0, and ivjp against ijvp through w . J^-1 v = (J^-T w) . v.
"""

import sys
import time

import numpy as np

import s2s_invad as si

PENDULUMS = 3
STEPS = 20              # for the checks against the dense Jacobian
LONG = 100_000          # the same loop, kept as a loop
SPRING = 0.5            # K


def force(q):
    """-dV/dq: gravity on each pendulum plus the springs between neighbours."""
    f = -np.sin(q)
    for i in range(len(q) - 1):
        pull = SPRING * (q[i + 1] - q[i])
        f[i] += pull
        f[i + 1] -= pull
    return f


def leapfrog(z, dt, steps):
    """``steps`` Stormer-Verlet steps of size dt (dt is passive: wrt="z"; steps, a trip count,
    is never differentiated)."""
    q, p = z[:PENDULUMS], z[PENDULUMS:]
    for _ in range(steps):
        p = p + 0.5 * dt * force(q)
        q = q + dt * p
        p = p + 0.5 * dt * force(q)
    return np.concatenate([q, p])


def energy(z):
    q, p = z[:PENDULUMS], z[PENDULUMS:]
    return 0.5 * np.sum(p ** 2) - np.sum(np.cos(q)) + 0.5 * SPRING * np.sum(np.diff(q) ** 2)


N = 2 * PENDULUMS
OMEGA = np.block([[np.zeros((PENDULUMS, PENDULUMS)), np.eye(PENDULUMS)],
                  [-np.eye(PENDULUMS), np.zeros((PENDULUMS, PENDULUMS))]])


def main() -> int:
    dt = 0.1
    v = np.linspace(1.0, -0.5, N)
    w = np.cos(np.arange(N))
    report = si.explain(leapfrog, wrt="z", shapes={"z": N})
    lumps = next(line for line in report.splitlines() if line.startswith("Lumps"))
    loop = next(line.strip() for line in report.splitlines() if "kept as a loop" in line)
    print(f"{PENDULUMS} coupled pendulums, {STEPS} leapfrog steps of dt = {dt}")
    print(f"si.explain: {loop}")
    print(f"            {lumps}\n")
    print(f"{'start':>5} {'energy drift':>12} {'det J - 1':>10} {'log|det J|':>10} {'reversal':>9} "
          f"{'ijvp vs backward jvp':>21} {'ijvp vs solve':>14} {'ivjp vs Omega J Omega^-1':>25}")

    worst = {"det": 0.0, "slogdet": 0.0, "rev": 0.0, "back": 0.0, "solve": 0.0, "sympl": 0.0}
    starts = np.random.default_rng(3).uniform(-1.5, 1.5, size=(4, N))
    for i, z in enumerate(starts):
        end = leapfrog(z, dt, STEPS)
        jac = np.column_stack([si.jvp(leapfrog, (z, dt, STEPS), (e,), wrt="z")[1] for e in np.eye(N)])
        det_err = abs(np.linalg.det(jac) - 1.0)
        _, (_, log_det) = si.slogdet(leapfrog, (z, dt, STEPS), wrt="z")

        rev = float(np.max(np.abs(leapfrog(end, -dt, STEPS) - z)))                # run backwards in time
        _, (inv_v,) = si.ijvp(leapfrog, (z, dt, STEPS), v, wrt="z")                 # J^-1 v
        _, backward = si.jvp(leapfrog, (end, -dt, STEPS), (v,), wrt="z")            # tangent propagated backwards
        back = float(np.max(np.abs(inv_v - backward)))
        solve = float(np.max(np.abs(inv_v - np.linalg.solve(jac, v))))

        _, inverse_pullback = si.ivjp(leapfrog, z, dt, STEPS, wrt="z")
        inv_t_w = inverse_pullback(w)                                        # J^-T w
        sympl = float(np.max(np.abs(inv_t_w - OMEGA @ jac @ np.linalg.solve(OMEGA, w))))

        for key, val in zip(worst, (det_err, abs(log_det), rev, back, solve, sympl)):
            worst[key] = max(worst[key], val)
        print(f"{i:>5} {energy(end) - energy(z):>12.2e} {det_err:>10.1e} {log_det:>10.1e} {rev:>9.1e} "
              f"{back:>21.1e} {solve:>14.1e} {sympl:>25.1e}")

    print(f"\nworst |det J - 1| = {worst['det']:.1e}; "
          f"worst |J^-1 v (ijvp) - backward tangent| = {worst['back']:.1e}")
    ok = all(val < 1e-12 for val in worst.values())
    ok = long_run(starts[0], v, w) and ok
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


def long_run(z, v, w) -> bool:
    """The same loop for LONG steps: nothing dense, only the modes and their identities."""
    dt = 0.001
    t0 = time.perf_counter()
    end, (inv_v,) = si.ijvp(leapfrog, (z, dt, LONG), v, wrt="z")
    t_ijvp = time.perf_counter() - t0
    _, backward = si.jvp(leapfrog, (end, -dt, LONG), (v,), wrt="z")
    back = float(np.max(np.abs(inv_v - backward)))
    _, (_, log_det) = si.slogdet(leapfrog, (z, dt, LONG), wrt="z")
    _, inverse_pullback = si.ivjp(leapfrog, z, dt, LONG, wrt="z")
    inv_t_w = inverse_pullback(w)
    identity = abs(float(w @ inv_v) - float(inv_t_w @ v)) / (np.linalg.norm(w) * np.linalg.norm(inv_v))
    scale = float(np.max(np.abs(inv_v)))
    print(f"\n{LONG:,} steps of dt = {dt} (one call each, the loop kept as a loop; ijvp took "
          f"{t_ijvp:.2f} s): |J^-1 v - backward tangent| / |J^-1 v| = {back / scale:.1e}, "
          f"log|det J| = {log_det:.1e}, |w.J^-1 v - (J^-T w).v| (relative) = {identity:.1e}")
    return back / scale < 1e-9 and abs(log_det) < 1e-9 and identity < 1e-9


if __name__ == "__main__":
    sys.exit(main())
