"""The decorator, explain() and source() entry points."""

import inspect
import math
import re

import numpy as np
import pytest

import s2s_invad as si

import checks
import example_functions as ef
import oracle


def plain_coupling(x1, x2):
    x2 = x2 * math.exp(math.tanh(x1)) + math.sin(x1)
    x1 = x1 + math.tanh(x2)
    return x1, x2


@si.derivatives
def decorated_coupling(x1, x2):
    x2 = x2 * math.exp(math.tanh(x1)) + math.sin(x1)
    x1 = x1 + math.tanh(x2)
    return x1, x2


@si.derivatives(wrt=("x", "y"))
def decorated_passive(x, c, y):
    x = x + c * math.sin(y)
    y = y * math.exp(c * x)
    return x, y


POINT = (0.3, -0.8)


def test_decorated_function_stays_callable():
    assert decorated_coupling(*POINT) == plain_coupling(*POINT)
    assert decorated_passive(0.3, 0.7, -0.2) == ef.with_passive(0.3, 0.7, -0.2)


def test_decorator_methods_match_oracle():
    J = oracle.dense_jacobian(plain_coupling, POINT)
    v, w = (1.0, -2.0), (0.5, 0.25)
    _, y_dot = decorated_coupling.jvp(POINT, v)
    checks.assert_close(y_dot, J @ v, 1e-12, "f.jvp")
    _, pullback = decorated_coupling.vjp(*POINT)
    checks.assert_close(pullback(w), J.T @ w, 1e-12, "f.vjp")
    _, x_dot = decorated_coupling.ijvp(POINT, v)
    checks.assert_close(x_dot, np.linalg.solve(J, v), 1e-12, "f.ijvp")
    _, pushback = decorated_coupling.ivjp(*POINT)
    checks.assert_close(pushback(w), np.linalg.solve(J.T, w), 1e-12, "f.ivjp")


def test_decorator_with_wrt():
    x = (0.3, 0.7, -0.2)
    J = oracle.dense_jacobian(ef.with_passive, x, wrt=("x", "y"))
    _, y_dot = decorated_passive.jvp(x, (1.0, 0.5))
    checks.assert_close(y_dot, J @ (1.0, 0.5), 1e-12, "f.jvp with wrt")
    _, x_dot = decorated_passive.ijvp(x, (1.0, 0.5))
    assert len(x_dot) == 2
    checks.assert_close(x_dot, np.linalg.solve(J, (1.0, 0.5)), 1e-12, "f.ijvp")


@pytest.mark.parametrize("mode", checks.MODES)
def test_decorator_source(mode):
    text = decorated_coupling.source(mode)
    compile(text, "<generated>", "exec")
    suffix = "_dot" if mode in ("jvp", "ijvp") else "_bar"
    assert f"x1{suffix}" in text and f"x2{suffix}" in text
    assert "c_dot" not in decorated_passive.source("jvp")  # c is passive


def test_write(tmp_path):
    path = tmp_path / "coupling_derivatives.py"
    decorated_coupling.write(str(path), modes=("jvp", "ivjp"))
    text = path.read_text()
    compile(text, str(path), "exec")
    assert "x1_dot" in text and "x1_bar" in text
    assert "generated" in text.lower()


def test_explain_reports_the_lump():
    text = si.explain(ef.ex2)
    assert isinstance(text, str)
    low = text.lower()
    for word in ("width", "pivot", "lump"):
        assert word in low, f"explain() should mention {word!r}"
    assert re.search(r"k\s*=\s*2\b", text), "explain() should give the lump size k = 2"
    lines, first = inspect.getsourcelines(ef.ex2)
    t_line = first + next(i for i, s in enumerate(lines) if "t = r0 * r2" in s)
    assert str(t_line) in text, f"explain() should cite source line {t_line}"


def test_explain_on_decorated():
    assert "pivot" in decorated_coupling.explain().lower()


@pytest.mark.parametrize("mode", ["bogus", "jvp2", ""])
def test_unknown_mode(mode):
    with pytest.raises((si.S2SError, ValueError)):
        si.source(ef.ex1, mode)


def test_repeated_vector_calls_take_the_direct_path_and_stay_checked():
    """The second call with arguments like the first goes straight to the generated code;
    same numbers as the oracle, and an argument of another length or kind still gets the
    general checks (a clear error, or a batch)."""
    import natural_functions as nf
    import oracle
    u = np.linspace(-0.4, 0.4, 6)
    v = np.cos(np.arange(6.0))
    J = oracle.dense_jacobian(nf.bratu, (u, 1.5), ("u",))
    for _ in range(3):
        y, (x_dot,) = si.ijvp(nf.bratu, (u, 1.5), v, wrt="u")
        np.testing.assert_allclose(J @ x_dot, v, rtol=1e-12, atol=1e-12)
        _, pullback = si.vjp(nf.bratu, u, 1.5, wrt="u")
        np.testing.assert_allclose(pullback(v)[0], J.T @ v, rtol=1e-12, atol=1e-12)
    with pytest.raises(si.errors.ArgumentError, match="length"):
        si.ijvp(nf.bratu, (u, 1.5), v[:5], wrt="u")
    with pytest.raises(si.errors.ArgumentError, match="complex"):
        si.ijvp(nf.bratu, (u.astype(complex), 1.5), v, wrt="u")
    batch = np.stack([u, u[::-1]], axis=1)
    _, (x_dots,) = si.ijvp(nf.bratu, (batch, 1.5), np.stack([v, v], axis=1), wrt="u")
    np.testing.assert_allclose(x_dots[:, 0], x_dot, rtol=1e-13, atol=1e-14)


def test_write_keeps_the_decorators_memory_setting(tmp_path):
    """@derivatives(memory="recompute").write writes recompute's sweeps, as gen --memory
    recompute does (it wrote store mode's), and the module it writes gives the oracle's answer."""
    plain = si.derivatives(ef.ex2)
    rebuilt = si.derivatives(memory="recompute")(ef.ex2)
    texts = []
    for f in (plain, rebuilt):
        path = tmp_path / f"ex2_{f.memory}.py"
        texts.append(f.write(str(path), modes=("vjp",)))
        assert path.read_text() == texts[-1]
    assert "rebuilding it backwards" not in texts[0] and "rebuilding it backwards" in texts[1]
    namespace = {}
    exec(compile(texts[1], "ex2_recompute.py", "exec"), namespace)
    x, w = (0.7, 1.3, -0.4), (0.3, 0.8, -1.1)
    _, pullback = namespace["ex2_vjp"](*x)
    np.testing.assert_allclose(pullback(*w), oracle.dense_jacobian(ef.ex2, x).T @ np.array(w), rtol=1e-12)
