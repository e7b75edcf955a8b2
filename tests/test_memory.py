"""memory="recompute": vjp and ijvp that rebuild the primal backwards (SPEC section 5).

Checked against the independent dense oracle on random programs, for drift, and for
memory that stays flat as the program gets longer.
"""

import gc
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import s2s_invad as si

import oracle
import programs
from modules import load_function


@pytest.mark.parametrize("seed", range(120))
def test_recompute_matches_oracle(seed, program_dir):
    f, program = programs.load_program(seed, program_dir)
    rng = np.random.default_rng(20_000 + seed)
    x = tuple(rng.uniform(-1.0, 1.0, program.n))
    jac = oracle.dense_jacobian(f, x)
    cond = np.linalg.cond(jac)
    if cond > 1e8:
        pytest.skip("ill-conditioned point")
    v, w = rng.normal(size=program.n), rng.normal(size=program.n)
    tol = 1e-9 * max(1.0, cond)
    _, x_dot = si.ijvp(f, x, tuple(v) if program.n > 1 else v[0], memory="recompute")
    want = np.linalg.solve(jac, v)
    assert np.allclose(np.ravel(x_dot), want, rtol=tol, atol=tol * np.abs(want).max())
    _, pullback = si.vjp(f, *x, memory="recompute")
    got = pullback(tuple(w) if program.n > 1 else w[0])
    want = jac.T @ w
    assert np.allclose(np.ravel(got), want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


_write = load_function


def coupling_network(depth: int, name: str) -> str:
    """Affine coupling layers on (a, b): every step invertible in closed form."""
    lines = [f"def {name}(a, b):"]
    for i in range(depth):
        c = 0.3 + 0.1 * (i % 5)
        if i % 2 == 0:
            lines.append(f"    b = b * np.exp({c} * np.tanh(a)) + {c} * np.sin(a)")
        else:
            lines.append(f"    a = a * np.exp(-{c} * np.tanh(b)) - {c} * np.sin(b)")
    lines.append("    return a, b")
    return "import numpy as np\n\n\n" + "\n".join(lines) + "\n"


def leapfrog(depth: int, name: str) -> str:
    """Leapfrog steps of two particles: lumps whose partials the sweep must name."""
    lines = [f"def {name}(q0, q1, p0, p1):"]
    for _ in range(depth // 4):
        lines += ["    p0 = p0 - 0.05 * (np.tanh(q0 - q1) + 0.5 * np.tanh(q0))",
                  "    p1 = p1 - 0.05 * (np.tanh(q1 - q0) + 0.5 * np.tanh(q1))",
                  "    q0 = q0 + 0.05 * p0",
                  "    q1 = q1 + 0.05 * p1"]
    lines.append("    return q0, q1, p0, p1")
    return "import numpy as np\n\n\n" + "\n".join(lines) + "\n"


def test_drift_report_is_small_on_a_well_conditioned_network(tmp_path):
    f = _write(tmp_path, "coupling50", coupling_network(50, "coupling50"))
    report = si.drift(f, (0.3, -0.2))
    assert report.max < 1e-11
    assert report.rows and all(row.line > 0 for row in report.rows)
    assert "max relative" in str(report)


def test_explain_reports_checkpointed_lumps(tmp_path):
    src = textwrap.dedent("""\
        import math


        def mixed(x, y):
            x = x + math.sin(y)
            y = math.sin(y) + x
            return x, y
        """)
    f = _write(tmp_path, "mixed", src)
    text = si.explain(f)
    assert "checkpointed" in text and "rebuilt" in text


def _peak(call):
    gc.collect()
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("family", [coupling_network, leapfrog], ids=["coupling", "leapfrog"])
@pytest.mark.parametrize("mode", ["vjp", "ijvp"])
def test_recompute_memory_is_flat_in_depth(tmp_path, mode, family):
    batch = np.linspace(0.1, 0.9, 20_000)
    peaks = {}
    for depth in (40, 160):
        name = f"{family.__name__}{mode}{depth}"
        f = _write(tmp_path, name, family(depth, name))
        x = (batch,) * f.__code__.co_argcount
        for memory in ("store", "recompute"):
            if mode == "vjp":
                si.vjp(f, *x, memory=memory)                    # compile outside the measurement
                call = lambda: si.vjp(f, *x, memory=memory)[1](x)
            else:
                si.ijvp(f, x, x, memory=memory)
                call = lambda: si.ijvp(f, x, x, memory=memory)
            peaks[depth, memory] = _peak(call)
    frames = {}
    for depth in (40, 160):
        name = f"{family.__name__}{mode}{depth}"
        text = si.source(sys.modules[name].__dict__[name], mode, memory="recompute")
        code = compile(text, name, "exec")
        frames[depth] = max(c.co_nlocals for c in code.co_consts if hasattr(c, "co_nlocals"))
    assert frames[160] <= frames[40] + 4                            # the frame does not grow
    assert peaks[160, "store"] > 1.6 * peaks[40, "store"]           # the tape grows with depth
    assert peaks[160, "recompute"] < 1.2 * peaks[40, "recompute"]   # recompute stays flat
    assert peaks[160, "recompute"] < 0.25 * peaks[160, "store"]


def test_recompute_needs_an_invertible_program(tmp_path):
    f = _write(tmp_path, "nonsquare", "def nonsquare(x, y):\n    return x * y\n")
    with pytest.raises(si.NotInvertibleError, match="recompute"):
        si.vjp(f, 1.0, 2.0, memory="recompute")
    with pytest.raises(si.ArgumentError, match="memory"):
        si.vjp(f, 1.0, 2.0, memory="tape")


def test_recompute_with_non_ascii_names_and_source(tmp_path):
    """Register renaming edits the text at the tree's offsets, which count UTF-8 bytes: a
    line whose pivot check quotes non-ASCII source (before the renamed names) must still be
    renamed exactly. Checked against the stored variant and the oracle."""
    text = textwrap.dedent('''\
        import math


        def ünicode(θ, φ):
            θ = θ * math.exp(0.3 * math.tanh(φ))   # «Drehung» in θ
            φ = φ * math.cosh(-0.2 * math.sin(θ))
            θ = θ + 0.5 * φ
            return θ, φ
        ''')
    f = _write(tmp_path, "ünicode", text)
    source = si.source(f, "ijvp", memory="recompute")
    assert "_rt.zero_pivot('ünicode.py', 6, 'φ = φ * math.cosh(-0.2 * math.sin(θ))'" in source
    assert "θ_dot" in source                   # renamed names after non-ASCII text on a line
    x, v = (0.7, -0.4), (1.0, 2.0)
    jac = oracle.dense_jacobian(f, x)
    for memory in ("recompute", "store"):
        _, x_dot = si.ijvp(f, x, v, memory=memory)
        np.testing.assert_allclose(jac @ np.array(x_dot), v, rtol=1e-13, atol=1e-14)
        _, pullback = si.vjp(f, *x, memory=memory)
        np.testing.assert_allclose(pullback(v), jac.T @ np.array(v), rtol=1e-13, atol=1e-14)
