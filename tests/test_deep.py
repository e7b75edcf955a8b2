"""Deep expressions (issue 10, item 5): about 300, 1,000 and 2,900 chained operators in one
statement transform in every mode and agree with the oracle, through the API and the
command line; an expression too deep for Python's own parser is refused with file:line,
never a traceback.

The chain ``x = x + 0.01 * math.sin(y) * 1.001 - 0.002 * y / 1.0005 + ...`` reads x once,
so its statement is one k = 1 step whose pivot is the product along the whole chain: the
derivative code nests as deep as the source unless it names its partials on the way, and
memory="recompute" rebuilds x through every operator of the chain.
"""

import subprocess
import sys
import threading

import numpy as np
import pytest

import s2s_invad as si

import checks
import oracle

OPS = (" + 0.01 * math.sin(y)", " * 1.001", " - 0.002 * y", " / 1.0005")
X = (0.3, 0.2)


def chain_source(n: int) -> str:
    chain = "x" + "".join(OPS[i % 4] for i in range(n))
    return f"import math\n\n\ndef deep(x, y):\n    x = {chain}\n    y = y + 0.5 * math.sin(x)\n    return x, y\n"


def with_room(fn, *args):
    """fn(*args) on a thread with a large stack and recursion limit (the oracle compiles the
    rebuilt function with Python's compiler, which recurses once per operator)."""
    out = {}
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    threading.stack_size(256 * 1024 * 1024)
    try:
        worker = threading.Thread(target=lambda: out.update(value=fn(*args)))
        worker.start()
        worker.join()
    finally:
        threading.stack_size(0)
        sys.setrecursionlimit(old)
    return out["value"]


@pytest.mark.parametrize("n, modes", [(300, "all"), (1000, "all"), (2900, ("jvp", "ijvp"))])
def test_deep_chains_through_the_api(n, modes):
    f = si.from_source(chain_source(n), "deep")
    J = with_room(oracle.dense_jacobian, f, X)
    v = np.array([1.0, -0.5])
    y_ref = with_room(oracle.evaluate, f, X)
    assert np.isfinite(np.linalg.cond(J)) and np.linalg.cond(J) < 100
    if modes == "all":
        modes = ("jvp", "vjp", "ijvp", "ivjp", "slogdet", "vjp recompute", "ijvp recompute")
    for mode in modes:
        if mode == "jvp":
            y, got = si.jvp(f, X, tuple(v))
            want = J @ v
            checks.assert_close(y, y_ref, 1e-12, "value")
        elif mode.startswith("vjp"):
            got = si.vjp(f, *X, memory=mode.split()[-1] if " " in mode else "store")[1](tuple(v))
            want = J.T @ v
        elif mode.startswith("ijvp"):
            got = si.ijvp(f, X, tuple(v), memory=mode.split()[-1] if " " in mode else "store")[1]
            want = np.linalg.solve(J, v)
        elif mode == "ivjp":
            got = si.ivjp(f, *X)[1](tuple(v))
            want = np.linalg.solve(J.T, v)
        else:
            sign, logdet = si.slogdet(f, X)[1]
            want_sign, want_log = np.linalg.slogdet(J)
            assert sign == want_sign and abs(logdet - want_log) <= 1e-12 * max(1.0, abs(want_log))
            continue
        checks.assert_close(got, want, 1e-11, f"{mode} at n = {n}")


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "s2s_invad", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("n, modes", [(300, "jvp,vjp,ijvp,ivjp"), (2900, "ijvp")])
def test_deep_chains_through_the_cli(tmp_path, n, modes):
    src = tmp_path / "model.py"
    src.write_text(chain_source(n))
    out = tmp_path / "model_derivs.py"
    done = _cli("gen", str(src), "--modes", modes, "-o", str(out))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)       # plain Python compiles it
    f = si.from_source(chain_source(n), "deep")
    J = with_room(oracle.dense_jacobian, f, X)
    _, x_dot = namespace["deep_ijvp"](*X, 1.0, -0.5)
    checks.assert_close(x_dot, np.linalg.solve(J, [1.0, -0.5]), 1e-11, f"CLI ijvp at n = {n}")


@pytest.mark.parametrize("n", [10_000])
def test_too_deep_for_python_is_refused_with_file_and_line(tmp_path, n):
    """Python itself cannot compile these: the API and the CLI say so at line 5."""
    text = chain_source(n)
    with pytest.raises(si.UnsupportedSyntaxError, match="nested too deeply") as info:
        si.from_source(text, "deep")
    assert info.value.lineno == 5
    src = tmp_path / "model.py"
    src.write_text(text)
    done = _cli("gen", str(src), "-o", str(tmp_path / "out.py"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"{src}:5:5: error:" in done.stderr and "nested too deeply" in done.stderr
    assert not (tmp_path / "out.py").exists()
    done = _cli("explain", f"{src}:deep")
    assert done.returncode == 2 and "Traceback" not in done.stderr and ":5:5: error:" in done.stderr


def test_a_deep_helper_call_chain_and_a_deep_nesting_of_parentheses():
    """Depth from parentheses (right-nested) and from a helper applied inside a long chain."""
    nested = "x"
    for i in range(150):                     # Python's parser allows 200 nested parentheses
        nested = f"({nested} * 1.001 + 0.001 * math.sin(y))"
    text = ("import math\n\n\ndef bump(a, b):\n    return a + 0.001 * math.tanh(b)\n\n\n"
            f"def paren(x, y):\n    x = {nested}\n    x = " + " + ".join(["bump(x, y)"] + ["0.0001 * y"] * 400)
            + "\n    y = y * math.exp(0.1 * math.sin(x))\n    return x, y\n")
    f = si.from_source(text, "paren")
    checks.check_structured(si, f, X, modes=("jvp", "vjp", "ijvp", "ivjp", "slogdet"))
