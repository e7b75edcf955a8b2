"""Inverse kinematics of a planar 3-link arm: Newton's method with J^-1 v from ijvp.

Run:  python samples/inverse_kinematics.py

The arm maps joint angles (t1, t2, t3) to the pose of its end: position (x, y) and
orientation phi. To reach a target pose, Newton iterates

    theta <- theta - J^-1 (arm(theta) - target)

and s2s_invad's ijvp gives J^-1 (arm(theta) - target) from the source of `arm`, with no
Jacobian and no 3 x 3 solve. Every step is also computed the dense way (J from three jvps,
numpy.linalg.solve) and the two must agree. With matplotlib installed, the arm's poses
are drawn to samples/output/inverse_kinematics.png.
"""

import math
import pathlib
import sys

import numpy as np

import s2s_invad as si
from s2s_invad.api import analysis_of

L1, L2, L3 = 1.0, 0.8, 0.5      # link lengths (module-level constants are passive)


@si.derivatives
def arm(t1, t2, t3):
    """Forward kinematics: joint angles -> end position (x, y) and orientation phi."""
    a12 = t1 + t2
    phi = a12 + t3
    x = L1 * math.cos(t1) + L2 * math.cos(a12) + L3 * math.cos(phi)
    y = L1 * math.sin(t1) + L2 * math.sin(a12) + L3 * math.sin(phi)
    return x, y, phi


def dense_jacobian(theta):
    """J column by column: one jvp per unit tangent."""
    return np.column_stack([arm.jvp(theta, tuple(e))[1] for e in np.eye(3)])


def joints(theta):
    """The arm's joint positions (base, elbow, wrist, end), for the plot."""
    t1, t2, t3 = theta
    angles = np.cumsum([t1, t2, t3])
    steps = np.array([L1, L2, L3])[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    return np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])


def plot(history, target, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(5, 5))
    for i, theta in enumerate(history):
        pts = joints(theta)
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
    target = (1.2, 1.1, 1.9)         # end position (x, y) and orientation phi (reachable)
    theta = (0.3, 0.5, 0.7)          # initial joint angles

    ks = [lump.k for lump in analysis_of(arm).lumps]
    print(f"arm: s2s_invad found {len(ks)} lumps, k = {ks}: {ks.count(1)} scalar pivots, "
          f"{len(ks) - ks.count(1)} dense block(s), largest k = {max(ks)}")
    print(f"target pose (x, y, phi) = {target}, start theta = {theta}\n")
    print(f"{'iter':>4}  {'t1':>10} {'t2':>10} {'t3':>10}  {'|f - target|':>13}  {'|step - dense|':>14}")

    history, worst, residual_norm = [theta], 0.0, math.inf
    for it in range(30):
        pose = arm(*theta)
        residual = tuple(p - t for p, t in zip(pose, target))
        residual_norm = float(np.linalg.norm(residual))
        if residual_norm < 1e-13:
            print(f"{it:>4}  {theta[0]:>10.6f} {theta[1]:>10.6f} {theta[2]:>10.6f}  {residual_norm:>13.3e}")
            break
        _, step = arm.ijvp(theta, residual)                     # J^-1 (f(theta) - target)
        dense = np.linalg.solve(dense_jacobian(theta), residual)
        err = float(np.max(np.abs(np.subtract(step, dense))))
        worst = max(worst, err)
        print(f"{it:>4}  {theta[0]:>10.6f} {theta[1]:>10.6f} {theta[2]:>10.6f}  {residual_norm:>13.3e}  {err:>14.1e}")
        theta = tuple(t - s for t, s in zip(theta, step))
        history.append(theta)

    iterations = len(history) - 1
    print(f"\nconverged in {iterations} Newton iterations: |f(theta) - target| = {residual_norm:.1e}")
    print(f"largest difference between the ijvp step and the dense solve: {worst:.1e}")
    png = plot(history, target, pathlib.Path(__file__).resolve().parent / "output" / "inverse_kinematics.png")
    if png:
        print(f"plot: {png}")

    ok = residual_norm < 1e-12 and worst < 1e-12 and iterations <= 10
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
