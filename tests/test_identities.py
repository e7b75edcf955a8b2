"""Identities between the modes, non-square functions, and wrt= (passive parameters)."""

import numpy as np
import pytest

import s2s_invad as si

import checks
import example_functions as ef
import oracle
import programs

IDENTITY_SEEDS = range(500, 560)


def products(f, x, v, w, wrt=None):
    """The four products at x as arrays: J v, J^T w, J^-1 v, J^-T w (+ the result template)."""
    kw = {} if wrt is None else {"wrt": wrt}
    y, jv = si.jvp(f, tuple(x), tuple(v), **kw)
    _, pullback = si.vjp(f, *x, **kw)
    _, ijv = si.ijvp(f, tuple(x), checks.like(v, y), **kw)
    _, pushback = si.ivjp(f, *x, **kw)
    return y, checks.vec(jv), checks.vec(pullback(checks.like(w, y))), checks.vec(ijv), \
        checks.vec(pushback(tuple(w)))


def check_identities(f, x, wrt=None, seed=0):
    x = tuple(float(c) for c in x)
    J = oracle.dense_jacobian(f, x, wrt)  # only to scale the tolerances
    c = oracle.cond(J)
    if c > checks.MAX_COND:
        pytest.skip(f"cond(J) = {c:.2e}")
    tol = checks.RTOL * max(1.0, c)
    kw = {} if wrt is None else {"wrt": wrt}
    rng = np.random.default_rng(seed)
    n = len(wrt) if wrt is not None else len(oracle.parameter_names(f))
    v, w = rng.standard_normal(n), rng.standard_normal(n)
    y, jv, jtw, ijv, ijtw = products(f, x, v, w, wrt)

    # J^-1 (J v) = v and J (J^-1 v) = v
    _, back = si.ijvp(f, x, checks.like(jv, y), **kw)
    checks.assert_close(back, v, tol, "ijvp(jvp(v))")
    _, forth = si.jvp(f, x, tuple(ijv), **kw)
    checks.assert_close(forth, v, tol, "jvp(ijvp(v))")
    # J^-T (J^T w) = w and J^T (J^-T w) = w
    _, pushback = si.ivjp(f, *x, **kw)
    checks.assert_close(pushback(tuple(jtw)), w, tol, "ivjp(vjp(w))")
    _, pullback = si.vjp(f, *x, **kw)
    checks.assert_close(pullback(checks.like(ijtw, y)), w, tol, "vjp(ivjp(w))")
    # w . (J v) = (J^T w) . v and w . (J^-1 v) = (J^-T w) . v
    vw = np.linalg.norm(v) * np.linalg.norm(w)
    assert abs(w @ jv - jtw @ v) <= checks.RTOL * np.linalg.norm(J, 2) * vw
    assert abs(w @ ijv - ijtw @ v) <= tol * np.linalg.norm(np.linalg.inv(J), 2) * vw


@pytest.mark.parametrize("name", sorted(ef.EXAMPLES))
def test_identities_examples(name):
    f, x = ef.EXAMPLES[name]
    check_identities(f, x)


@pytest.mark.parametrize("seed", IDENTITY_SEEDS)
def test_identities_random(seed, program_dir):
    f, program = programs.load_program(seed, program_dir)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, program.n)
    check_identities(f, x, seed=seed)


@pytest.mark.parametrize("name", sorted(ef.EXAMPLES))
def test_examples_against_oracle(name):
    f, x = ef.EXAMPLES[name]
    checks.check_modes(si, f, x)


# ---- m != n: jvp and vjp only ---------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ef.NONSQUARE))
def test_nonsquare_examples(name):
    f, x = ef.NONSQUARE[name]
    checks.check_modes(si, f, x, modes=("jvp", "vjp"))


@pytest.mark.parametrize("seed, n, m", [(s, 1 + s % 6, 1 + (s * 7) % 5) for s in range(700, 740)])
def test_nonsquare_random(seed, n, m, program_dir):
    f, program = programs.load_program(seed, program_dir, n=n, m=m)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    checks.check_modes(si, f, x, modes=("jvp", "vjp"), seed=seed)


def test_scalar_result_shapes():
    f, x = ef.NONSQUARE["scalar_of_three"]
    y, y_dot = si.jvp(f, x, (1.0, 0.0, 0.0))
    checks.assert_shaped_like(y, 0.0, "y")
    checks.assert_shaped_like(y_dot, 0.0, "y_dot")
    _, pullback = si.vjp(f, *x)
    x_bar = pullback(1.0)
    assert isinstance(x_bar, tuple) and len(x_bar) == 3
    checks.assert_close(x_bar, oracle.dense_jacobian(f, x)[0], 1e-12, "gradient")


def test_one_by_one_shapes():
    f, x = ef.EXAMPLES["one_var"]
    d = oracle.dense_jacobian(f, x)[0, 0]
    y, x_dot = si.ijvp(f, x, 2.0)
    assert isinstance(x_dot, tuple) and len(x_dot) == 1
    assert float(x_dot[0]) == pytest.approx(2.0 / d, rel=1e-12)
    _, pushback = si.ivjp(f, *x)
    y_bar = pushback((2.0,))
    checks.assert_shaped_like(y_bar, 0.0, "ivjp y_bar for a scalar result")
    assert float(y_bar) == pytest.approx(2.0 / d, rel=1e-12)


def test_contractive_function_is_fine_for_jvp_and_vjp():
    """Not invertible (width drops to 1), but jvp and vjp must work."""
    def contract(x, y):
        z = x * y
        return z, z + 1.0
    # defined inside the test, so the source comes from this file
    checks.check_modes(si, contract, (0.3, -1.2), modes=("jvp", "vjp"), tol=1e-12)


# ---- wrt= -----------------------------------------------------------------------------

def test_wrt_subset_example():
    f, x, wrt = ef.with_passive, (0.3, 0.7, -0.2), ("x", "y")
    checks.check_modes(si, f, x, wrt=wrt, tol=1e-12)
    # the passive value is a real input of the computation: changing it changes J
    J1 = oracle.dense_jacobian(f, (0.3, 1.4, -0.2), wrt)
    _, y_dot = si.jvp(f, (0.3, 1.4, -0.2), (1.0, 0.0), wrt=wrt)
    checks.assert_close(y_dot, J1[:, 0], 1e-12, "J e_x with c = 1.4")
    assert not np.allclose(J1, oracle.dense_jacobian(f, x, wrt))


def test_wrt_all_equals_default():
    f, x = ef.with_passive, (0.3, 0.7, -0.2)
    _, a = si.jvp(f, x, (1.0, 2.0, 3.0))
    _, b = si.jvp(f, x, (1.0, 2.0, 3.0), wrt=("x", "c", "y"))
    checks.assert_close(a, checks.vec(b), 1e-15, "wrt=None vs all names")
    checks.assert_close(a, oracle.dense_jacobian(f, x) @ [1.0, 2.0, 3.0], 1e-12, "J v")


def test_wrt_makes_nonsquare_square():
    """three_to_two has 3 inputs and 2 outputs; with wrt=('a', 'b') it is square."""
    f, x = ef.NONSQUARE["three_to_two"]
    checks.check_modes(si, f, x, wrt=("a", "b"), tol=1e-10)


@pytest.mark.parametrize("seed", range(800, 830))
def test_wrt_random(seed, program_dir):
    f, program = programs.load_program(seed, program_dir, passive=1 + seed % 3)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, len(program.params))
    checks.check_modes(si, f, x, wrt=program.wrt, seed=seed)
    check_identities(f, x, wrt=program.wrt, seed=seed)


@pytest.mark.parametrize("mode", checks.MODES)
def test_wrt_unknown_name_is_an_error(mode):
    with pytest.raises((si.S2SError, ValueError, TypeError)) as info:
        si.source(ef.with_passive, mode, wrt=("x", "nonexistent"))
    assert "nonexistent" in str(info.value)
