"""Bratu's boundary-value problem, u'' + lambda e^u = 0, solved by Newton with ijvp.

Run:  python samples/bratu.py [n]

On n interior grid points of (0, 1) with u(0) = u(1) = 0 and h = 1 / (n + 1), the
discretised residual is

    F_i = (u_{i-1} - 2 u_i + u_{i+1}) / h^2 + lambda exp(u_i),      i = 0..n-1,

written below as a loop over the grid points of a vector u (SPEC.md section 7). Newton's
step is J^-1 F(u) from ijvp. Each step is checked against a dense solve (J built column by
column from n jvps, and compared once with the tridiagonal Jacobian written by hand), and
the converged u against the exact solution of the continuous problem.

The sample prints what si.explain reports about the lumps rather than assuming it: F_i
reads u_{i-1}, u_i and u_{i+1}, so the live width need not return to n between grid
points, and the lump structure is the tool's business. (Today: the whole residual is one
lump with k = n whose block A is tridiagonal; the data flow says so at transform time, and
ijvp solves it by an LU generated for exactly that pattern: 3n - 2 entries, no fill-in,
O(n) per Newton step; SPEC section 8.)
"""

import math
import pathlib
import re
import sys

import numpy as np

import s2s_invad as si

N = 64                  # interior grid points (default; `python samples/bratu.py 128`)
LAMBDA = 1.0
OUTPUT = pathlib.Path(__file__).resolve().parent / "output"


def bratu(u, lam):
    """The residual of the discretised problem at the interior points."""
    h = 1.0 / (len(u) + 1)
    F = np.zeros(len(u))
    for i in range(len(u)):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < len(u) - 1 else 0.0
        F[i] = (left - 2.0 * u[i] + right) / h ** 2 + lam * np.exp(u[i])
    return F


def jacobian_by_hand(u, lam):
    """tridiag(1, -2, 1) / h^2 + lambda diag(e^u): the reference for the jvp columns."""
    n = len(u)
    h = 1.0 / (n + 1)
    return (np.diag(np.full(n - 1, 1.0), -1) - 2.0 * np.eye(n) + np.diag(np.full(n - 1, 1.0), 1)) / h ** 2 \
        + lam * np.diag(np.exp(u))


def exact_solution(x, lam):
    """The lower-branch solution of the continuous problem (for a discretisation check)."""
    theta = 1.0                       # solves theta = sqrt(2 lambda) cosh(theta / 4)
    for _ in range(100):
        g = theta - math.sqrt(2 * lam) * math.cosh(theta / 4)
        theta -= g / (1 - math.sqrt(2 * lam) * math.sinh(theta / 4) / 4)
    return -2 * np.log(np.cosh((x - 0.5) * theta / 2) / math.cosh(theta / 4))


def lump_lines(report, width=100):
    """The "Lumps:" section of an si.explain report, long lines shortened."""
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Lumps:")), None)
    if start is None:
        return ["(the report has no 'Lumps:' section)"]
    section = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        section.append(line)
    return [line if len(line) <= width else line[:width - 3] + "..." for line in section]


def plot(x, u, u_exact, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, u_exact, "-", label="exact (continuous)")
    ax.plot(x, u, "o", markersize=3, label=f"Newton with ijvp, n = {len(u) - 2}")
    ax.set_xlabel("x")
    ax.set_ylabel("u")
    ax.set_title(f"Bratu, lambda = {LAMBDA}")
    ax.legend()
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(n: int = N) -> int:
    print(f"Bratu, lambda = {LAMBDA}, n = {n} interior points")
    report = si.explain(bratu, wrt="u", shapes={"u": n})
    print("si.explain(bratu, wrt='u', shapes={'u': n}) says:")
    for line in lump_lines(report):
        print(f"  {line}")
    largest = re.search(r"largest k = (\d+)", report)
    if largest and int(largest.group(1)) == n:
        print(f"  -> the whole residual is one lump: ijvp solves one {n} x {n} block A (tridiagonal here)")

    print(f"\n{'iter':>4}  {'|F(u)|':>10}  {'max |u|':>9}  {'|step - dense| / |dense|':>24}")
    u = np.zeros(n)
    worst, norm, iterations, jac_error = 0.0, math.inf, 0, None
    tolerance = 1e-12 * (n + 1) ** 2          # rounding in F grows like 1 / h^2
    for it in range(20):
        res = bratu(u, LAMBDA)
        norm = float(np.linalg.norm(res))
        if norm < tolerance:
            print(f"{it:>4}  {norm:>10.3e}  {np.max(np.abs(u)):>9.6f}")
            break
        _, (step,) = si.ijvp(bratu, (u, LAMBDA), res, wrt="u")          # solves J step = F(u)
        jac = np.column_stack([si.jvp(bratu, (u, LAMBDA), (e,), wrt="u")[1] for e in np.eye(n)])
        if jac_error is None:
            jac_error = float(np.max(np.abs(jac - jacobian_by_hand(u, LAMBDA))) * (1.0 / (n + 1)) ** 2)
        dense = np.linalg.solve(jac, res)
        err = float(np.max(np.abs(step - dense)) / np.max(np.abs(dense)))
        worst = max(worst, err)
        print(f"{it:>4}  {norm:>10.3e}  {np.max(np.abs(u)):>9.6f}  {err:>24.1e}")
        u = u - step
        iterations = it + 1

    x = np.linspace(0.0, 1.0, n + 2)
    u_full = np.concatenate([[0.0], u, [0.0]])
    u_exact = exact_solution(x, LAMBDA)
    disc = float(np.max(np.abs(u_full - u_exact)))
    print(f"\nconverged in {iterations} Newton iterations, |F(u)| = {norm:.1e}")
    print(f"J from {n} jvps vs the tridiagonal Jacobian by hand (scaled by h^2): {jac_error:.1e}")
    print(f"largest relative difference ijvp step vs dense solve: {worst:.1e}")
    print(f"max |u - u_exact| = {disc:.2e} (second-order discretisation error, h = {1 / (n + 1):.4f})")
    png = plot(x, u_full, u_exact, OUTPUT / "bratu.png")
    if png:
        print(f"plot: {png}")

    ok = (norm < tolerance and worst < 1e-10 and jac_error is not None and jac_error < 1e-12
          and iterations <= 8 and disc < 2.0 / (n + 1) ** 2)
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else N))
