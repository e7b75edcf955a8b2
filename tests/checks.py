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


# ---- structured functions: vector parameters, array and tuple results -------------------

def split_inputs(f, primals, values, wrt=None):
    """Flat ``values`` (one per differentiated scalar) as the input-side tuple: a float per
    scalar parameter, a 1-D array per vector parameter (in parameter order)."""
    names = oracle.parameter_names(f)
    chosen = names if wrt is None else [n for n in names if n in wrt]
    out, k = [], 0
    for name in chosen:
        x = primals[names.index(name)]
        if isinstance(x, (list, tuple, np.ndarray)):
            n = len(x)
            out.append(np.asarray(values[k:k + n], dtype=float))
            k += n
        else:
            out.append(float(values[k]))
            k += 1
    return tuple(out)


def shaped_like(values, template):
    """Flat ``values`` shaped like the result ``template`` (oracle.evaluate's shape)."""
    flat = iter(np.ravel(values))

    def build(t):
        if isinstance(t, tuple):
            return tuple(build(e) for e in t)
        if isinstance(t, np.ndarray):
            return np.array([next(flat) for _ in range(t.size)], dtype=float)
        return float(next(flat))
    return build(template)


def flatten(value):
    if isinstance(value, (tuple, list)):
        parts = [flatten(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.ravel(np.asarray(value, dtype=float))


def assert_same_structure(got, want, what):
    """Tuples stay tuples of the same length, arrays are 1-D NumPy arrays of the same
    length, scalars are scalars."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{what}: {got!r} is not shaped like {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_structure(g, w, f"{what}[{i}]")
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape, \
            f"{what}: expected an array of shape {want.shape}, got {got!r}"
    else:
        assert np.ndim(got) == 0 and not isinstance(got, (tuple, list)), f"{what}: expected a scalar, got {got!r}"


def check_structured(si, f, primals, wrt=None, modes=MODES + ("slogdet",), seed=0, tol=None,
                     memory=("store",)):
    """Every mode of s2s_invad on a function with vector parameters and structured results,
    against the oracle's dense Jacobian; results must be shaped as the API promises."""
    y_ref = oracle.evaluate(f, primals)
    J = oracle.dense_jacobian(f, primals, wrt)
    m, n = J.shape
    rng = np.random.default_rng(seed)
    v, w = rng.standard_normal(n), rng.standard_normal(m)
    norm_J = max(float(np.linalg.norm(J, 2)), 1e-300) if J.size else 1.0
    c = oracle.cond(J) if m == n and n else 1.0
    fwd_tol = RTOL if tol is None else tol
    inv_tol = RTOL * max(1.0, c) if tol is None else tol
    kw = {} if wrt is None else {"wrt": wrt}
    inputs_like = lambda values: split_inputs(f, primals, values, wrt)

    def check_value(y, mode):
        assert_same_structure(y, y_ref, f"{mode} result")
        assert_close(flatten(y), flatten(y_ref), 1e-12, f"{mode} result")

    if "jvp" in modes:
        y, y_dot = si.jvp(f, primals, inputs_like(v), **kw)
        check_value(y, "jvp")
        assert_same_structure(y_dot, y_ref, "jvp y_dot")
        assert_close(flatten(y_dot), J @ v, fwd_tol, "jvp: J v", scale=norm_J * np.linalg.norm(v))
    for mem in memory:
        mkw = dict(kw) if mem == "store" else dict(kw, memory=mem)
        if "vjp" in modes:
            y, pullback = si.vjp(f, *primals, **mkw)
            check_value(y, "vjp")
            x_bar = pullback(shaped_like(w, y_ref))
            assert_same_structure(x_bar, inputs_like(np.zeros(n)), "vjp x_bar")
            assert_close(flatten(x_bar), J.T @ w, fwd_tol, f"vjp ({mem}): J^T w",
                         scale=norm_J * np.linalg.norm(w))
        if "ijvp" in modes:
            y, x_dot = si.ijvp(f, primals, shaped_like(v, y_ref), **mkw)
            check_value(y, "ijvp")
            assert_same_structure(x_dot, inputs_like(np.zeros(n)), "ijvp x_dot")
            assert_close(flatten(x_dot), np.linalg.solve(J, v), inv_tol, f"ijvp ({mem}): J^-1 v")
    if "ivjp" in modes:
        y, pushback = si.ivjp(f, *primals, **kw)
        check_value(y, "ivjp")
        y_bar = pushback(inputs_like(w))
        assert_same_structure(y_bar, y_ref, "ivjp y_bar")
        assert_close(flatten(y_bar), np.linalg.solve(J.T, w), inv_tol, "ivjp: J^-T w")
    if "slogdet" in modes:
        y, (sign, logdet) = si.slogdet(f, primals, **kw)
        check_value(y, "slogdet")
        want_sign, want_log = np.linalg.slogdet(J)
        assert sign == want_sign, f"slogdet sign {sign} != {want_sign}"
        assert abs(logdet - want_log) <= 1e-9 * max(1.0, abs(want_log)) * max(1.0, c), \
            f"slogdet {logdet} != {want_log}"
    return c



def run_mode(f, mode, primals, v, w, backend="python"):
    """One call of ``mode`` (jvp, ijvp, slogdet, or vjp / ivjp with the cotangent or tangent
    applied): tangent ``v`` of the inputs, ``w`` shaped like the outputs."""
    import s2s_invad as si
    if mode == "jvp":
        return si.jvp(f, primals, v, backend=backend)
    if mode == "ijvp":
        return si.ijvp(f, primals, w, backend=backend)
    if mode == "slogdet":
        return si.slogdet(f, primals, backend=backend)
    y, back = getattr(si, mode)(f, *primals, backend=backend)
    return y, back(w if mode == "vjp" else v)
