"""The generated source: deterministic, labelled, readable names, golden files."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

import s2s_invad as si

import checks
import example_functions as ef
import oracle

TESTS = pathlib.Path(__file__).resolve().parent
GOLDEN_DIR = TESTS / "golden"
GOLDEN = {"ex1": ef.ex1, "ex2": ef.ex2, "coupling": ef.coupling}
SAMPLES = {**GOLDEN, "polar": ef.polar, "primitives": ef.primitives, "fib_mix": ef.fib_mix}


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_deterministic_in_process(name, mode):
    first = si.source(SAMPLES[name], mode)
    assert isinstance(first, str) and first
    assert si.source(SAMPLES[name], mode) == first
    compile(first, f"<generated {name}.{mode}>", "exec")  # it is valid Python


SUBPROCESS_SCRIPT = """
import json, sys
sys.path[:0] = [{package_parent!r}, {tests!r}]
import s2s_invad as si
import example_functions as ef
names = {names!r}
modes = {modes!r}
print(json.dumps({{f"{{n}}.{{m}}": si.source(getattr(ef, n), m) for n in names for m in modes}}))
"""


def generate_in_subprocess(hash_seed):
    package_parent = str(pathlib.Path(si.__file__).resolve().parent.parent)  # the same package
    script = SUBPROCESS_SCRIPT.format(tests=str(TESTS), package_parent=package_parent,
                                      names=sorted(SAMPLES), modes=checks.MODES)
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=str(TESTS.parent))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_deterministic_across_processes():
    """Fresh interpreters with different hash seeds produce byte-identical output."""
    a, b = generate_in_subprocess(0), generate_in_subprocess(12345)
    assert a == b
    here = {f"{n}.{m}": si.source(SAMPLES[n], m) for n in sorted(SAMPLES) for m in checks.MODES}
    assert a == here


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_header_names_function_and_mode(name, mode):
    text = si.source(SAMPLES[name], mode)
    head = "\n".join(text.splitlines()[:15]).lower()
    assert "generated" in head
    assert name in head
    assert mode in head


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_names_derived_from_parameters(name, mode):
    text = si.source(SAMPLES[name], mode)
    suffix = "_dot" if mode in ("jvp", "ijvp") else "_bar"
    for param in oracle.parameter_names(SAMPLES[name]):
        assert f"{param}{suffix}" in text, f"{param}{suffix} missing from the {mode} source"


def test_generated_names_avoid_clashes():
    """A user variable already called x_dot must not be confused with the tangent of x."""
    def clash(x, x_dot):
        x = x + 0.5 * x_dot * x_dot
        x_dot = x_dot * 2.0 + x
        return x, x_dot
    for mode in checks.MODES:
        compile(si.source(clash, mode), "<clash>", "exec")
    checks.check_modes(si, clash, (0.3, -0.7))


@pytest.mark.parametrize("mode", checks.MODES)
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, mode, regen_golden):
    path = GOLDEN_DIR / f"{name}.{mode}.py"
    text = si.source(GOLDEN[name], mode)
    if regen_golden:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.skip(f"{path.name} missing: run pytest --regen-golden once the output is reviewed")
    assert text == path.read_text(), f"generated {mode} source of {name} differs from {path}"
