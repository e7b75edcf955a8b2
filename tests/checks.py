"""Helpers shared by the tests that exercise s2s_invad against the oracle.

Expected values always come from oracle.py (dense complex-step Jacobians, NumPy solves)
or from identities between modes, never from s2s_invad's own output.
"""

import numpy as np

import oracle

MODES = ("jvp", "vjp", "ijvp", "ivjp")
RTOL = 1e-9        # relative error allowed per unit of cond(J)
MAX_COND = 1e8     # points with a worse-conditioned J are skipped


def vec(value):
    """A scalar, a tuple of scalars or an array as a 1-D float array."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=float).ravel()
    if isinstance(value, (tuple, list)):
        return np.array([float(v) for v in value], dtype=float)
    return np.array([float(value)], dtype=float)


def like(values, template):
    """values (1-D) shaped like template: a tuple of floats, or one float."""
    values = [float(v) for v in np.ravel(values)]
    if isinstance(template, tuple):
        return tuple(values)
    assert len(values) == 1
    return values[0]


def assert_shaped_like(got, template, what):
    if isinstance(template, tuple):
        assert isinstance(got, tuple), f"{what}: expected a tuple, got {type(got).__name__}"
        assert len(got) == len(template), f"{what}: expected {len(template)} values, got {len(got)}"
    else:
        assert not isinstance(got, (tuple, list)), f"{what}: expected a scalar, got {got!r}"
        assert np.ndim(got) == 0, f"{what}: expected a scalar, got {got!r}"


def rel_err(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(float(np.linalg.norm(want)), 1e-300)
    return float(np.linalg.norm(got - want)) / scale


def assert_close(got, want, tol, what, scale=None):
    """||got - want|| <= tol * scale, with scale = ||want|| unless given."""
    got = vec(got)
    assert np.all(np.isfinite(got)), f"{what}: non-finite result {got!r}"
    want = np.asarray(want, float)
    err = rel_err(got, want) if scale is None else float(np.linalg.norm(got - want)) / scale
    assert err <= tol, f"{what}: relative error {err:.3e} > {tol:.1e}\n got  {got}\n want {want}"


def reference(f, primals, wrt=None, seed=0):
    """Oracle data at primals: value, J, cond and random v (input side), w (output side)."""
    y = oracle.evaluate(f, primals)
    J = oracle.dense_jacobian(f, primals, wrt)
    rng = np.random.default_rng(seed)
    m, n = J.shape
    v, w = rng.standard_normal(n), rng.standard_normal(m)
    c = oracle.cond(J) if m == n else float(np.linalg.cond(J)) if min(m, n) > 0 else 1.0
    return y, J, c, v, w


def check_modes(si, f, primals, wrt=None, modes=MODES, seed=0, tol=None, max_cond=None):
    """Run the requested modes of s2s_invad on f at primals and compare with the oracle.

    Returns the oracle's cond(J). Errors are measured against ||J|| ||v|| for jvp / vjp
    and against ||J^-1 v|| for ijvp / ivjp, with tolerances RTOL and RTOL * max(1, cond(J))
    unless tol is given. When cond(J) > max_cond nothing is checked (the caller sees the
    returned cond).
    """
    primals = tuple(float(p) for p in primals)
    y_ref, J, c, v, w = reference(f, primals, wrt, seed)
    if max_cond is not None and c > max_cond:
        return c
    fwd_tol = RTOL if tol is None else tol
    inv_tol = RTOL * max(1.0, c) if tol is None else tol
    norm_J = max(float(np.linalg.norm(J, 2)), 1e-300) if J.size else 1.0
    n = J.shape[1]
    kw = {} if wrt is None else {"wrt": wrt}

    def check_value(y, mode):
        assert_shaped_like(y, y_ref, f"{mode} primal result")
        assert_close(y, vec(y_ref), 1e-12, f"{mode} primal result")

    if "jvp" in modes:
        y, y_dot = si.jvp(f, primals, tuple(v), **kw)
        check_value(y, "jvp")
        assert_shaped_like(y_dot, y_ref, "jvp y_dot")
        assert_close(y_dot, J @ v, fwd_tol, "jvp: J v", scale=norm_J * np.linalg.norm(v))
    if "vjp" in modes:
        y, pullback = si.vjp(f, *primals, **kw)
        check_value(y, "vjp")
        x_bar = pullback(like(w, y_ref))
        assert isinstance(x_bar, tuple) and len(x_bar) == n, f"vjp x_bar: {x_bar!r}"
        assert_close(x_bar, J.T @ w, fwd_tol, "vjp: J^T w", scale=norm_J * np.linalg.norm(w))
    if "ijvp" in modes:
        y, x_dot = si.ijvp(f, primals, like(v, y_ref), **kw)
        check_value(y, "ijvp")
        assert isinstance(x_dot, tuple) and len(x_dot) == n, f"ijvp x_dot: {x_dot!r}"
        assert_close(x_dot, np.linalg.solve(J, v), inv_tol, "ijvp: J^-1 v")
    if "ivjp" in modes:
        y, pushback = si.ivjp(f, *primals, **kw)
        check_value(y, "ivjp")
        y_bar = pushback(tuple(w))
        assert_shaped_like(y_bar, y_ref, "ivjp y_bar")
        assert_close(y_bar, np.linalg.solve(J.T, w), inv_tol, "ivjp: J^-T w")
    return c
