"""Run-time failure paths and argument forms found by an attack on the API.

1. A non-finite input (primal, tangent, cotangent) reaching a big structured or dense lump
   is a NonFiniteError naming the input, not "the Jacobian is singular"; a right-hand side
   near the float range is solved (scaled), a result beyond it is a NonFiniteError saying
   the solve overflows; only a block A with a zero pivot is a SingularJacobianError.
2. A NotInvertibleError is a fresh object on every call, with a traceback of its own.
3. Decorated functions: never differentiate the function a wrapper says it wraps instead
   of the wrapper's own code (a lambda renamed by functools.wraps, *args wrappers).
4. Argument forms: default values (filled in, not differentiated unless wrt names them),
   keyword-only parameters and *args (refused at the parameter), dicts (named as such).
5. NumPy code prints no RuntimeWarning on its way to a named error.

Numbers are checked against numpy.linalg.solve on a complex-step Jacobian.
"""

import functools
import math
import traceback
import warnings

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import runtime, runtime_lu
from s2s_invad.front.fence import fence
from s2s_invad.front.loader import from_file

# -- functions under test ----------------------------------------------------------------

LINKS = [1.0, 0.8, 0.6, 0.4, 0.3, 0.2]


def bratu(u, lam):
    """A tridiagonal lump of k = len(u): a generated LU, LAPACK's banded LU as fallback."""
    n = len(u)
    h = 1.0 / (n + 1)
    up = np.concatenate([u[1:], [0.0]])
    um = np.concatenate([[0.0], u[:-1]])
    return (um - 2 * u + up) / h**2 + lam * np.exp(u)


def tiny(u):
    """A regular tridiagonal block with entries near 1e-200: a right-hand side of 1e300
    has a solution beyond the float range."""
    up = np.concatenate([u[1:], [0.0]])
    um = np.concatenate([[0.0], u[:-1]])
    return um * 1e-200 + u * 4e-200 + up * 1e-200


def tiny_factor(u):
    """The same map, the factor outside: the lump's right-hand side is y_dot / 1e-200."""
    up = np.concatenate([u[1:], [0.0]])
    um = np.concatenate([[0.0], u[:-1]])
    return 1e-200 * (um + 4.0 * u + up)


def zero_diagonal(u):
    """tridiag(1, 3 u^2, 1): singular at u = 0 for an odd length."""
    up = np.concatenate([u[1:], [0.0]])
    um = np.concatenate([[0.0], u[:-1]])
    return um + up + u * u * u


def arm6(q, target):
    """A planar arm: a dense k = 4 lump (runtime.solve) among smaller ones."""
    x, y, th = 0.0, 0.0, 0.0
    xs, ys = [], []
    for i, l in enumerate(LINKS):
        th = th + q[i]
        x = x + l * np.cos(th)
        y = y + l * np.sin(th)
        xs.append(x)
        ys.append(y)
    return np.array([x - target[0], y - target[1], th - target[2],
                     xs[1] - 1.2, ys[2] - 0.8, q[5] - q[4]])


def jacobian(f, u, *rest):
    """d f / d u by the complex step (f takes a 1-D array first)."""
    u = np.asarray(u, dtype=float)
    columns = []
    for j in range(len(u)):
        z = u.astype(complex)
        z[j] += 1e-30j
        columns.append(np.imag(np.asarray(f(z, *rest))) / 1e-30)
    return np.array(columns).T


U = np.linspace(0.1, 0.5, 6)
Q = np.full(6, 0.3)
TARGET = np.array([1.5, 1.0, 1.0])


def nan_at(x, i, value=math.nan):
    x = np.array(x, dtype=float)
    x[i] = value
    return x


# -- 1. bad inputs of big lumps ----------------------------------------------------------

def _input_named(info, name, element):
    message = str(info.value)
    assert f"the input {name} of " in message, message
    assert f"at {name}[{element}]" in message, message
    assert "singular" not in message, message
    assert info.value.lineno is None


@pytest.mark.parametrize("case", ["ijvp u", "ijvp y_dot", "ivjp u", "ivjp x_bar", "slogdet u"])
def test_nan_input_of_a_structured_lump_is_named_not_called_singular(case):
    mode, which = case.split()
    calls = {
        ("ijvp", "u"): lambda: si.ijvp(bratu, (nan_at(U, 0), 1.0), np.ones(6), wrt="u"),
        ("ijvp", "y_dot"): lambda: si.ijvp(bratu, (U, 1.0), nan_at(np.ones(6), 3), wrt="u"),
        ("ivjp", "u"): lambda: si.ivjp(bratu, nan_at(U, 0), 1.0, wrt="u"),
        ("ivjp", "x_bar"): lambda: si.ivjp(bratu, U, 1.0, wrt="u")[1](nan_at(np.ones(6), 3)),
        ("slogdet", "u"): lambda: si.slogdet(bratu, (nan_at(U, 0), 1.0), wrt="u"),
    }
    with pytest.raises(si.NonFiniteError) as info:
        calls[mode, which]()
    name = {"u": "u", "y_dot": "out_dot", "x_bar": "u_bar"}[which]
    _input_named(info, name, 0 if which == "u" else 3)
    assert math.isnan(info.value.value) and info.value.index is None


def test_nan_passive_input_of_a_structured_lump_is_named():
    for call in (lambda: si.ijvp(bratu, (U, math.nan), np.ones(6), wrt="u"),
                 lambda: si.slogdet(bratu, (U, math.inf), wrt="u")):
        with pytest.raises(si.NonFiniteError, match="the input lam of "):
            call()


def test_nan_input_in_a_batch_names_the_element_and_the_batch_index():
    u = np.stack([U, U, U], axis=1)
    u[2, 1] = np.nan
    for call in (lambda: si.ijvp(bratu, (u, 1.0), np.ones((6, 3)), wrt="u"),
                 lambda: si.slogdet(bratu, (u, 1.0), wrt="u")):
        with pytest.raises(si.NonFiniteError) as info:
            call()
        assert info.value.index == 1
        assert "at u[2] (first at batch index 1)" in str(info.value)
    v = np.ones((6, 3))
    v[4, 2] = np.inf
    with pytest.raises(si.NonFiniteError) as info:
        si.ijvp(bratu, (np.stack([U] * 3, axis=1), 1.0), v, wrt="u")
    assert info.value.index == 2 and "at out_dot[4] (first at batch index 2)" in str(info.value)


def test_huge_right_hand_side_of_a_structured_lump_is_solved():
    """y_dot = 1e308: the generated LU overflows on the way (inf - inf), the banded
    fallback too; the solution (about 1.4e307) is a float: solved scaled by a power of 2."""
    J = jacobian(bratu, U, 1.0)
    for big in (1e308, 1.7e308):
        _, (x_dot,) = si.ijvp(bratu, (U, 1.0), np.full(6, big), wrt="u")
        np.testing.assert_allclose(x_dot, np.linalg.solve(J, np.ones(6)) * big, rtol=1e-12)
        y_bar = si.ivjp(bratu, U, 1.0, wrt="u")[1](np.full(6, big))
        np.testing.assert_allclose(y_bar, np.linalg.solve(J.T, np.ones(6)) * big, rtol=1e-12)


def test_a_solution_beyond_the_float_range_is_an_overflow_not_a_singular_jacobian():
    u = np.full(6, 0.5)
    J = jacobian(tiny, u)
    assert np.all(np.isfinite(np.linalg.solve(J, np.ones(6))))      # A is regular
    _, (x_dot,) = si.ijvp(tiny, (u,), np.ones(6))                   # small v: fine
    np.testing.assert_allclose(x_dot, np.linalg.solve(J, np.ones(6)), rtol=1e-12)
    for call in (lambda: si.ijvp(tiny, (u,), np.full(6, 1e300)),
                 lambda: si.ivjp(tiny, u)[1](np.full(6, 1e300))):
        with pytest.raises(si.NonFiniteError) as info:
            call()
        message = str(info.value)
        assert "overflows" in message and "regular" in message and "singular" not in message.split("nearly")[0]
        assert info.value.lineno == tiny.__code__.co_firstlineno + 5
    with pytest.raises(si.NonFiniteError) as info:          # y_dot / 1e-200 is inf already
        si.ijvp(tiny_factor, (u,), np.full(6, 1e300))
    assert "the right-hand side of the solve of the lump" in str(info.value)
    assert "singular" not in str(info.value)


def test_a_singular_structured_lump_is_still_singular():
    u = np.zeros(7)
    for call in (lambda: si.ijvp(zero_diagonal, (u,), np.ones(7)),
                 lambda: si.ivjp(zero_diagonal, u)[1](np.ones(7)),
                 lambda: si.slogdet(zero_diagonal, (u,))):
        with pytest.raises(si.SingularJacobianError, match="singular block A"):
            call()
    batch = np.stack([np.full(7, 0.3), np.zeros(7), np.full(7, 0.2)], axis=1)
    with pytest.raises(si.SingularJacobianError) as info:
        si.ijvp(zero_diagonal, (batch,), np.ones((7, 3)))
    assert info.value.index == 1
    with pytest.raises(si.NonFiniteError, match="the input u of "):     # nan beats singular
        si.ijvp(zero_diagonal, (nan_at(u, 3),), np.ones(7))


def test_dense_lump_with_a_bad_cotangent_or_input_names_the_input():
    sweep = si.ivjp(arm6, Q, TARGET, wrt="q")[1]
    with pytest.raises(si.NonFiniteError) as info:
        sweep(nan_at(np.ones(6), 0))
    _input_named(info, "q_bar", 0)
    assert "det A" not in str(info.value)
    with pytest.raises(si.NonFiniteError) as info:
        si.ijvp(arm6, (nan_at(Q, 1), TARGET), np.ones(6), wrt="q")
    _input_named(info, "q", 1)
    with pytest.raises(si.NonFiniteError) as info:
        si.slogdet(arm6, (nan_at(Q, 1), TARGET), wrt="q")
    _input_named(info, "q", 1)
    with pytest.raises(si.NonFiniteError) as info:
        si.ijvp(arm6, (Q, nan_at(TARGET, 1)), np.ones(6), wrt="q")
    _input_named(info, "target", 1)


def test_dense_lump_with_a_huge_cotangent_matches_the_oracle():
    J = jacobian(arm6, Q, TARGET)
    w = np.full(6, 1e308)
    y_bar = si.ivjp(arm6, Q, TARGET, wrt="q")[1](w)
    want = np.linalg.solve(J.T, np.ones(6)) * 1e308
    np.testing.assert_allclose(y_bar, want, rtol=1e-9, atol=1e-12 * 1e308)


# the runtime helpers themselves (no generated function calling: A and b are blamed)

def _tridiagonal(k, diagonal, off=1.0):
    rows = [[j for j in (i - 1, i, i + 1) if 0 <= j < k] for i in range(k)]
    starts = np.cumsum([0] + [len(r) for r in rows])
    cols = [j for r in rows for j in r]
    entries = [diagonal if i == j else off for i, r in enumerate(rows) for j in r]
    dense = np.zeros((k, k))
    for (i, r) in enumerate(rows):
        for j in r:
            dense[i, j] = diagonal if i == j else off
    return starts, cols, entries, dense


@pytest.mark.parametrize("path", ["band", "dense", "superlu"])
def test_pattern_solve_names_the_cause(path):
    k = 80 if path == "superlu" else 9
    starts, cols, entries, dense = _tridiagonal(k, 4.0)
    pat = runtime_lu.Pattern(k, starts, cols, band=(1, 1, None) if path == "band" else None)
    site = ("f.py", 3, "r0 = ...")
    b = np.full(k, 1.7e308)
    x = runtime_lu.pattern_solve(pat, tuple(entries), tuple(b), *site)
    np.testing.assert_allclose(x, np.linalg.solve(dense, np.ones(k)) * 1.7e308, rtol=1e-12)
    with pytest.raises(si.NonFiniteError, match="right-hand side") as info:
        runtime_lu.pattern_solve(pat, tuple(entries), tuple(nan_at(np.ones(k), 2)), *site)
    assert info.value.lineno == 3
    bad = list(entries)
    bad[4] = math.inf
    with pytest.raises(si.NonFiniteError, match="an entry of block A"):
        runtime_lu.pattern_solve(pat, tuple(bad), (1.0,) * k, *site)
    with pytest.raises(si.NonFiniteError, match="an entry of block A"):
        runtime_lu.pattern_slogdet(pat, tuple(nan_at(entries, 0)), *site)
    small = tuple(1e-300 * e for e in entries)
    with pytest.raises(si.NonFiniteError, match="overflows"):
        runtime_lu.pattern_solve(pat, small, (1e300,) * k, *site)
    if k % 2:                                                # tridiag(1, 0, 1), odd k: singular
        singular = tuple(_tridiagonal(k, 0.0)[2])
        with pytest.raises(si.SingularJacobianError):
            runtime_lu.pattern_solve(pat, singular, (1.0,) * k, *site)


def test_dense_solve_helper_names_the_cause():
    rows = [[4.0 if i == j else 1.0 for j in range(5)] for i in range(5)]
    site = ("f.py", 7, "a = ...")
    x = runtime.solve(rows, [1e308] * 5, *site)
    np.testing.assert_allclose(x, np.linalg.solve(np.array(rows), np.ones(5)) * 1e308, rtol=1e-12)
    with pytest.raises(si.NonFiniteError, match="right-hand side"):
        runtime.solve(rows, [1.0, math.nan, 1.0, 1.0, 1.0], *site)
    bad = [list(r) for r in rows]
    bad[2][3] = math.nan
    with pytest.raises(si.NonFiniteError, match="an entry of block A"):
        runtime.solve(bad, [1.0] * 5, *site)
    with pytest.raises(si.NonFiniteError, match="an entry of block A"):
        runtime.slogdet(bad, *site)
    with pytest.raises(si.NonFiniteError, match="overflows"):
        runtime.solve([[1e-300 * e for e in r] for r in rows], [1e300] * 5, *site)
    ones = [[1.0] * 5 for _ in range(5)]
    with pytest.raises(si.SingularJacobianError, match="singular block A"):
        runtime.solve(ones, [1.0] * 5, *site)
    with pytest.raises(si.SingularJacobianError, match="singular block A"):
        runtime.slogdet(ones, *site)
    # a batch: element 1 singular, element 2 a huge right-hand side (solved)
    batch = [[np.array([x, 1.0, x]) for x in r] for r in rows]
    rhs = [np.array([1.0, 1.0, 1e308])] * 5
    with pytest.raises(si.SingularJacobianError) as info:
        runtime.solve(batch, rhs, *site)
    assert info.value.index == 1
    batch = [[np.array([x, x, x]) for x in r] for r in rows]
    got = np.array(runtime.solve(batch, rhs, *site))
    np.testing.assert_allclose(got[:, 2], np.linalg.solve(np.array(rows), np.ones(5)) * 1e308, rtol=1e-12)


# -- 2. a NotInvertibleError of its own on every call --------------------------------------

def not_square(x, y):
    return np.sin(x) * y, x + y, y


def test_not_invertible_error_is_fresh_on_every_call():
    errors = []
    for _ in range(4):
        for call in (lambda: si.ijvp(not_square, (1.0, 2.0), (1.0, 1.0, 1.0)),
                     lambda: si.ivjp(not_square, 1.0, 2.0)):
            with pytest.raises(si.NotInvertibleError) as info:
                call()
            errors.append(info.value)
    assert len({id(e) for e in errors}) == len(errors)                   # kept alive: distinct
    depths = {len(traceback.extract_tb(e.__traceback__)) for e in errors}
    assert len(depths) <= 2 and max(depths) < 20, depths                 # ijvp and ivjp differ by a frame
    assert len({len(traceback.extract_tb(e.__traceback__)) for e in errors[0::2]}) == 1
    stored = si.api.analysis_of(not_square).not_invertible
    assert stored.__traceback__ is None and "3" in str(stored)


# -- 3. decorated functions ----------------------------------------------------------------

def plain(x):
    return np.sin(x) + x ** 3


renamed_lambda = functools.wraps(plain)(lambda x: plain(x) * 10.0)


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


def doubled_varargs(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return wrapper


def passed_through(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        """Logs nothing; returns what fn returns."""
        return fn(*args, **kwargs)
    return wrapper


def swapped_inner(fn):
    other = plain

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return other(*args, **kwargs)
    return wrapper


@doubled
def f_doubled(x):
    return np.sin(x) + x ** 3


@doubled_varargs
def f_varargs(x):
    return np.sin(x) + x ** 3


@passed_through
def f_passed(x, y):
    return np.sin(x) * y, x + y


@swapped_inner
def f_swapped(x):
    return 3.0 * x


@functools.lru_cache(maxsize=None)
def f_cached(x):
    return x * 3.0 + x ** 3


def test_lambda_renamed_by_wraps_is_refused_not_differentiated_as_the_inner_function():
    assert renamed_lambda(0.5) == pytest.approx(10 * plain(0.5))
    with pytest.raises(si.SourceUnavailableError) as info:
        si.jvp(renamed_lambda, (0.5,), (1.0,))
    message = str(info.value)
    assert "lambda" in message and "functools.wraps" in message and "__wrapped__" in message
    assert "test_runtime_attacks.py:" in message


def test_a_wrapper_def_is_differentiated_as_its_own_code():
    y, y_dot = si.jvp(f_doubled, (0.5,), (1.0,))
    assert y == pytest.approx(f_doubled(0.5), rel=1e-15)
    assert y_dot == pytest.approx(2.0 * (math.cos(0.5) + 3 * 0.25), rel=1e-14)


def test_varargs_wrapper_is_refused_with_what_to_do():
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(f_varargs, (0.5,), (1.0,))
    message = str(info.value.msg)
    assert "*args" in message and "f_varargs.__wrapped__" in message and "expected 0" not in message
    assert info.value.lineno == doubled_varargs.__code__.co_firstlineno + 2
    with pytest.raises(si.UnsupportedSyntaxError, match="__wrapped__"):
        si.jvp(f_swapped, (0.5,), (1.0,))            # passes its arguments to another function


def test_a_pure_pass_through_wrapper_is_unwrapped():
    for mode_call in (lambda f: si.jvp(f, (0.5, 2.0), (1.0, 0.0)),
                      lambda f: si.ijvp(f, (0.5, 2.0), (1.0, 0.0))):
        got = mode_call(f_passed)
        want = mode_call(f_passed.__wrapped__)
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float), rtol=1e-15)
    x_dot = si.ijvp(f_passed, (0.5, 2.0), (1.0, 0.0))[1]
    J = np.array([[math.cos(0.5) * 2.0, math.sin(0.5)], [1.0, 1.0]])
    np.testing.assert_allclose(x_dot, np.linalg.solve(J, [1.0, 0.0]), rtol=1e-13)


def test_a_caching_decorator_says_to_pass_the_function_itself():
    with pytest.raises(si.ArgumentError, match="__wrapped__"):
        si.jvp(f_cached, (0.5,), (1.0,))
    y, y_dot = si.jvp(f_cached.__wrapped__, (0.5,), (1.0,))
    assert y_dot == pytest.approx(3.0 + 3 * 0.25)


# -- 4. argument forms -----------------------------------------------------------------------

def with_default(x, a=2.0):
    return np.sin(x) * a, x + a * x ** 2


def scalar_default(x, a=2.0):
    return math.sin(x) * a


def all_defaults(x=1.0, a=2.0):
    return x * a


def keyword_only(x, *, a):
    return np.sin(x) * a


def star_args(*xs):
    return xs[0] * xs[1]


def indexes(u):
    return u * u[0]


def _fd_jacobian(f, x, a):
    """Central differences of with_default in (x, a)."""
    h = 1e-6
    cols = [(np.array(f(x + h, a)) - np.array(f(x - h, a))) / (2 * h),
            (np.array(f(x, a + h)) - np.array(f(x, a - h))) / (2 * h)]
    return np.array(cols).T


def test_a_left_out_default_is_filled_in_and_not_differentiated():
    J = _fd_jacobian(with_default, 0.7, 2.0)
    y, y_dot = si.jvp(with_default, (0.7,), (1.0,))
    np.testing.assert_allclose(y, with_default(0.7), rtol=1e-15)
    np.testing.assert_allclose(y_dot, J[:, 0], rtol=1e-8)
    y, y_dot = si.jvp(with_default, (0.7, 3.0), (1.0,))              # passed, still passive
    np.testing.assert_allclose(y_dot, _fd_jacobian(with_default, 0.7, 3.0)[:, 0], rtol=1e-8)
    y, y_dot = si.jvp(with_default, (0.7,), (1.0, 1.0), wrt=("x", "a"))   # differentiated: named
    np.testing.assert_allclose(y_dot, J @ [1.0, 1.0], rtol=1e-8)
    _, pullback = si.vjp(with_default, 0.7)
    np.testing.assert_allclose(pullback((1.0, 0.5))[0], J[:, 0] @ [1.0, 0.5], rtol=1e-8)
    _, (x_dot,) = si.ijvp(scalar_default, (0.7,), 1.0)
    assert x_dot == pytest.approx(1.0 / (2.0 * math.cos(0.7)), rel=1e-14)
    _, (sign, logdet) = si.slogdet(scalar_default, (0.7, 3.0))
    assert sign == 1.0 and logdet == pytest.approx(math.log(3.0 * math.cos(0.7)), rel=1e-14)
    assert si.ivjp(scalar_default, 0.7)[1](1.0) == pytest.approx(1.0 / (2.0 * math.cos(0.7)), rel=1e-14)


def test_default_argument_counts_are_explained():
    with pytest.raises(si.ArgumentError, match=r"expected 1 to 2 value\(s\) \(x, then optionally a=2.0\), got 3"):
        si.jvp(with_default, (0.7, 2.0, 1.0), (1.0,))
    with pytest.raises(si.ArgumentError) as info:
        si.jvp(with_default, (0.7, 2.0), (1.0, 0.0))                   # a tangent for a
    assert "a is not differentiated" in str(info.value) and "default" in str(info.value)
    with pytest.raises(si.ArgumentError, match="every parameter of all_defaults has a default"):
        si.jvp(all_defaults, (1.0, 2.0), (1.0, 1.0))
    y, y_dot = si.jvp(all_defaults, (), (1.0,), wrt="x")
    assert (y, y_dot) == (2.0, 2.0)


def test_defaults_from_a_file_stay_refused_at_the_parameter(tmp_path):
    text = "def f(x, a=2.0):\n    return x * a\n"
    (sf,) = from_file(str(tmp_path / "m.py"), text)
    with pytest.raises(si.UnsupportedSyntaxError, match="default") as info:
        fence(sf)
    assert info.value.lineno == 1


def test_keyword_only_and_star_args_are_refused_at_the_parameter_before_counting():
    for primals in ((0.5,), (0.5, 2.0)):
        with pytest.raises(si.UnsupportedSyntaxError, match="keyword-only") as info:
            si.jvp(keyword_only, primals, (1.0,) * len(primals))
        assert info.value.lineno == keyword_only.__code__.co_firstlineno
    with pytest.raises(si.UnsupportedSyntaxError, match=r"\*args") as info:
        si.jvp(star_args, (1.0, 2.0), (1.0, 0.0))
    assert "expected 0" not in str(info.value)
    with pytest.raises(si.UnsupportedSyntaxError, match=r"\*args"):
        si.derivatives(star_args).jvp((1.0, 2.0), (1.0, 0.0))


def test_a_dict_argument_is_named_as_a_dict():
    with pytest.raises(si.ShapeError, match="got a dict"):
        si.jvp(indexes, ({"a": 1.0, "b": 2.0},), (np.ones(2),))
    with pytest.raises(si.ArgumentError, match="must be a number or a NumPy array, got dict"):
        si.jvp(with_default, ({"a": 1.0},), (1.0,))


# -- 5. no RuntimeWarning before a named error -------------------------------------------------

def np_pair(x, y):
    return np.sin(x) * y, x + y


def np_cosh(x):
    return np.cosh(x)


def np_exp(x):
    return np.exp(x)


def np_log(x, y):
    return np.log(x) + y, x * y


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("batch", [False, True])
def test_numpy_code_raises_named_errors_without_runtime_warnings(batch):
    def point(*xs):
        return tuple(np.array([x, 0.5]) for x in xs) if batch else xs

    bad = (np.array([np.inf, 1.0]), np.ones(2)) if batch else (math.inf, 1.0)
    for call in (lambda: si.vjp(np_pair, *point(1.0, 2.0))[1](bad),
                 lambda: si.ivjp(np_pair, *point(1.0, 2.0))[1](bad),
                 lambda: si.ijvp(np_pair, point(1.0, 2.0), bad),
                 lambda: si.jvp(np_pair, point(1.0, 2.0), bad)):
        with pytest.raises(si.NonFiniteError, match="the input .* is inf"):
            call()
    with pytest.raises(si.SingularJacobianError, match="zero pivot"):
        si.slogdet(np_cosh, point(0.0))
    with pytest.raises(si.NonFiniteError, match="np.exp"):
        si.jvp(np_exp, point(800.0), point(1.0))
    with pytest.raises(si.NonFiniteError):
        si.jvp(np_log, point(0.0, 1.0), point(1.0, 1.0))
    with pytest.raises(si.NonFiniteError, match="the input u of "):
        si.ijvp(bratu, (nan_at(U, 0), 1.0), np.ones(6), wrt="u")
    y, (sign, logdet) = si.slogdet(np_cosh, point(1.0))                # and a good point is quiet
    assert np.all(sign == 1.0) and np.allclose(logdet, np.log(np.sinh(point(1.0)[0])))


def test_numpy_code_checks_its_results_without_arithmetic():
    text = si.source(np_pair, "vjp")
    assert "with np.errstate(all='ignore'):" in text
    assert "if not _rt.finite(out_0, out_1):" in text and "np.any(" not in text
    assert "np.errstate" not in si.source(scalar_default, "jvp")       # math code: Python floats
