"""Every sample in samples/ runs as `python samples/NAME.py` and passes its own check."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.py"))


def test_samples_exist():
    names = {p.stem for p in SAMPLES}
    assert {"quickstart", "inverse_kinematics", "bratu", "coupling_flow", "leapfrog", "ode_adjoint"} <= names


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_runs_and_checks_itself(sample):
    result = subprocess.run([sys.executable, str(sample.relative_to(ROOT))], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (f"{sample.name} exited with {result.returncode}\n"
                                    f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")
