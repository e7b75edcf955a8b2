"""Inverse kinematics of a planar 3-link arm: Newton's method with J^-1 v from ijvp.

Run:  python samples/inverse_kinematics.py
      s2s-invad gen samples/inverse_kinematics.py:arm --shape q=3 -o -    (the same, as code)

The arm maps its joint angles q = (q0, q1, q2) to the pose of its end: position (x, y)
and heading phi. Each link turns by its joint angle and moves along its length (the
helper `link`). To reach a target pose, Newton iterates

    q <- q - J^-1 (arm(q) - target)

and s2s_invad's ijvp gives J^-1 (arm(q) - target) from the source of `arm`, with no
Jacobian and no 3 x 3 solve. Every step is also computed the dense way (J from three jvps,
numpy.linalg.solve) and the two must agree; J itself is compared with the Jacobian of the
arm written out by hand. With matplotlib installed, the arm's poses are drawn to
samples/output/inverse_kinematics.png.
"""

import pathlib
import sys

import numpy as np

import s2s_invad as si

LENGTHS = (1.0, 0.8, 0.5)       # link lengths (module-level constants are passive)


def link(x, y, heading, length):
    """The far end of a link that starts at (x, y) and points along `heading`."""
    return x + length * np.cos(heading), y + length * np.sin(heading)


def arm(q):
    """Forward kinematics: joint angles -> end position (x, y) and heading phi."""
    x, y, heading = 0.0, 0.0, 0.0
    for angle, length in zip(q, LENGTHS):
        heading = heading + angle
        x, y = link(x, y, heading, length)
    return np.array([x, y, heading])


def jacobian_by_hand(q):
    """d(x, y, phi)/dq: joint j moves every link from j on (the reference for the jvps)."""
    headings = np.cumsum(q)
    jac = np.zeros((3, 3))
    for j in range(3):
        jac[0, j] = -sum(L * np.sin(a) for L, a in zip(LENGTHS[j:], headings[j:]))
        jac[1, j] = sum(L * np.cos(a) for L, a in zip(LENGTHS[j:], headings[j:]))
        jac[2, j] = 1.0
    return jac


def joints(q):
    """The arm's joint positions (base, elbow, wrist, end), for the plot."""
    points, x, y, heading = [(0.0, 0.0)], 0.0, 0.0, 0.0
    for angle, length in zip(q, LENGTHS):
        heading += angle
        x, y = x + length * np.cos(heading), y + length * np.sin(heading)
        points.append((x, y))
    return np.array(points)


def plot(history, target, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(5, 5))
    for i, q in enumerate(history):
        pts = joints(q)
        ax.plot(pts[:, 0], pts[:, 1], "o-", alpha=0.25 + 0.75 * i / max(1, len(history) - 1),
                label=f"iteration {i}" if i in (0, len(history) - 1) else None)
    ax.plot([target[0]], [target[1]], "r*", markersize=14, label="target")
    ax.set_aspect("equal")
    ax.set_title("Newton with ijvp: 3-link arm")
    ax.legend(loc="best")
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> int:
    target = np.array([1.2, 1.1, 1.9])      # end position (x, y) and heading phi (reachable)
    q = np.array([0.3, 0.5, 0.7])           # initial joint angles

    lumps = next(line for line in si.explain(arm, shapes={"q": 3}).splitlines() if line.startswith("Lumps:"))
    print(f"arm: {lumps}")
    print(f"target pose (x, y, phi) = {target}, start q = {q}\n")
    print(f"{'iter':>4}  {'q0':>10} {'q1':>10} {'q2':>10}  {'|f - target|':>13}  {'|step - dense|':>14}")

    history, worst, jac_error, residual_norm = [q], 0.0, 0.0, np.inf
    for it in range(30):
        residual = arm(q) - target
        residual_norm = float(np.linalg.norm(residual))
        if residual_norm < 1e-13:
            print(f"{it:>4}  {q[0]:>10.6f} {q[1]:>10.6f} {q[2]:>10.6f}  {residual_norm:>13.3e}")
            break
        _, (step,) = si.ijvp(arm, (q,), residual)                 # J^-1 (f(q) - target)
        jac = np.column_stack([si.jvp(arm, (q,), (e,))[1] for e in np.eye(3)])
        jac_error = max(jac_error, float(np.max(np.abs(jac - jacobian_by_hand(q)))))
        err = float(np.max(np.abs(step - np.linalg.solve(jac, residual))))
        worst = max(worst, err)
        print(f"{it:>4}  {q[0]:>10.6f} {q[1]:>10.6f} {q[2]:>10.6f}  {residual_norm:>13.3e}  {err:>14.1e}")
        q = q - step
        history.append(q)

    iterations = len(history) - 1
    print(f"\nconverged in {iterations} Newton iterations: |f(q) - target| = {residual_norm:.1e}")
    print(f"largest difference between the ijvp step and the dense solve: {worst:.1e}")
    print(f"largest difference between J from jvps and J by hand: {jac_error:.1e}")
    png = plot(history, target, pathlib.Path(__file__).resolve().parent / "output" / "inverse_kinematics.png")
    if png:
        print(f"plot: {png}")

    ok = residual_norm < 1e-12 and worst < 1e-12 and jac_error < 1e-12 and iterations <= 10
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
