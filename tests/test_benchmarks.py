"""Smoke runs of the benchmark scripts at tiny sizes, so they do not rot between releases.

Nothing here looks at a time or a ratio (tests never assert on timings): each script must
run to the end, exit 0, check its own results against its reference and print its tables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str, timeout: float = 300) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_modes_benchmark_runs_and_checks_its_results():
    out = run("benchmarks/modes.py", "--size", "120", "--repeats", "1", "--min-sample", "0.001")
    assert "## Targets" in out
    for family in ("(a)", "(b)"):
        row = next(line for line in out.splitlines()
                   if line.startswith("| results match reference") and family in line)
        assert row.rstrip().endswith("| met |"), row


def test_memory_benchmark_runs_with_its_three_workers(tmp_path):
    out = run("benchmarks/memory.py", "--depths", "16,32", "--batch", "64", "--repeats", "1",
              "--drift-points", "16", "--out", str(tmp_path))
    text = (tmp_path / "memory.md").read_text()
    assert text.strip() == out.strip()
    for title in ("## coupling network, n=16", "## leapfrog, 4 particles in 1-D, n=8", "## Targets"):
        assert title in text
    rows = [line for line in text.splitlines() if line.startswith(("| 16 |", "| 32 |"))]
    assert len(rows) == 8                      # 2 families x 2 depths x (vjp, ijvp)
    for row in rows:
        agree = float(row.split("|")[-3])      # store and recompute agree on every row
        assert agree < 1e-12, row


def test_suite_runs_without_peers(tmp_path):
    out_file = tmp_path / "latest.md"
    run("-m", "benchmarks", "--sizes", "8", "--no-jax", "--no-big", "--no-plots", "--repeats", "1",
        "--min-sample", "0.001", "--out", str(out_file))
    text = out_file.read_text()
    assert "every direct result agrees" in text
    row = next(line for line in text.splitlines() if "every direct result agrees" in line)
    assert row.rstrip().endswith("| met |"), row


def test_cache_benchmark_runs(tmp_path):
    out = run("benchmarks/cache.py", "--statements", "20", "--runs", "1", "--out", str(tmp_path / "cache.md"))
    assert out == (tmp_path / "cache.md").read_text()
    row = next(line for line in out.splitlines() if line.startswith("| jvp |"))
    assert len(row.split("|")) == 7, row

def test_natural_benchmark_runs_and_checks_its_results(tmp_path):
    out_file = tmp_path / "natural.md"
    out = run("benchmarks/natural.py", "--bratu", "6", "--rk4-steps", "2", "--repeats", "1",
              "--transform-repeats", "1", "--min-sample", "0.001", "--out", str(out_file))
    text = out_file.read_text()
    assert text == out
    for title in ("## Bratu residual, n = 6", "## RK4, damped pendulum, 2 steps", "## Targets"):
        assert title in text
    checks = [line for line in text.splitlines() if line.startswith(("| loop |", "| flat |"))]
    assert len(checks) == 24                   # 2 programs x 2 forms x (primal, 4 modes, generated jvp)
    for row in checks:
        status = row.split("|")[-2].strip()
        assert status == "-" or status.startswith("ok ("), row
    row = next(line for line in text.splitlines() if "matches the dense reference" in line)
    assert row.rstrip().endswith("| met |"), row


def test_structured_benchmark_runs_and_checks_its_results(tmp_path):
    out_file = tmp_path / "structured.md"
    out = run("benchmarks/structured.py", "--cases", "bratu:16,grid:4,euler:12", "--no-peers",
              "--repeats", "1", "--min-sample", "0.001", "--out", str(out_file))
    text = out_file.read_text()
    assert text.strip() == out.strip()
    modes = text.split("## Peers")[0]
    rows = [line for line in modes.splitlines() if line.startswith(("| Bratu", "| 2-D", "| Euler"))]
    assert len(rows) == 3
    for row in rows:
        assert "generated" in row
        assert float(row.rstrip(" |").rsplit("|", 1)[1]) < 1e-10     # checked against complex step
    if shutil.which("cc") or shutil.which("gcc") or shutil.which("clang"):
        # the vector sources with backend="c": checked against the Python backend's products (the
        # script exits 1 beyond 1e-8), one row per case and product
        ours = [line for line in text.splitlines() if "s2s_invad backend c (vector source)" in line]
        assert len(ours) == 6, ours


def test_fuzz_benchmark_runs_and_counts(tmp_path):
    out = run("benchmarks/fuzz.py", "--programs", "12", "--seed", "90000", "--out", str(tmp_path / "fuzz.md"))
    assert (tmp_path / "fuzz.md").read_text() == out
    rows = {cells[0].strip(): int(cells[1]) for cells in
            (line.strip("| ").split("|") for line in out.splitlines() if line.startswith("| "))
            if cells[1].strip().isdigit()}
    assert rows["programs"] == 12
    for name in ("wrong answer", "false singular", "false refusal", "bare exception", "silent non-finite",
                 "drift unflagged"):
        assert rows[name] == 0, out
