"""Every sample in samples/ runs as `python samples/NAME.py` and passes its own check."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.py"))


def test_samples_exist():
    names = {p.stem for p in SAMPLES}
    assert {"quickstart", "inverse_kinematics", "bratu", "coupling_flow", "leapfrog", "ode_adjoint", "revnet"} <= names


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_runs_and_checks_itself(sample):
    result = subprocess.run([sys.executable, str(sample.relative_to(ROOT))], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (f"{sample.name} exited with {result.returncode}\n"
                                    f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")


def test_inverse_kinematics_through_the_command_line(tmp_path):
    """`s2s-invad gen samples/inverse_kinematics.py --shape q=3` reads LENGTHS from the text
    (it never imports the file) and writes an arm_ijvp that solves J x = v."""
    result = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", "samples/inverse_kinematics.py",
                             "--shape", "q=3", "--output-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not (ROOT / "samples" / "inverse_kinematics_derivs.py").exists()
    path = tmp_path / "inverse_kinematics_derivs.py"
    derivs = _load(path, "inverse_kinematics_derivs")
    sample = _load(ROOT / "samples" / "inverse_kinematics.py", "inverse_kinematics_sample")

    q = np.array([0.3, -0.5, 1.1])
    v = np.array([0.2, -1.0, 0.4])
    pose, (q_dot,) = derivs.arm_ijvp(q, v)
    headings = np.cumsum(q)
    lengths = np.array([1.0, 0.8, 0.5])                       # the sample's link lengths
    expected_pose = [np.sum(lengths * np.cos(headings)), np.sum(lengths * np.sin(headings)), headings[-1]]
    np.testing.assert_allclose(pose, expected_pose, rtol=0, atol=1e-14)
    np.testing.assert_allclose(q_dot, np.linalg.solve(sample.jacobian_by_hand(q), v), rtol=1e-13, atol=1e-14)
    _, sweep = derivs.arm_ivjp(q)
    np.testing.assert_allclose(sweep(v), np.linalg.solve(sample.jacobian_by_hand(q).T, v), rtol=1e-13,
                               atol=1e-14)


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
