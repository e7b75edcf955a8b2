"""Non-finite constants, partials and pivots (issue 10, item 7): one behaviour everywhere.

A generated function returns finite numbers or raises an error of s2s_invad.errors citing
the source line (and the first bad batch element): SingularJacobianError for a zero pivot
(J singular), NonFiniteError for an infinite or NaN value, partial or pivot, and for a
float division by zero, an overflow or a domain error in scalar code. Never a bare
ZeroDivisionError, never a silent inf. slogdet sums logs of pivots taken symbolically, so
a pivot that is not a float (1/y at y = 1e-320) still gives the finite log|det J|.
"""

from __future__ import annotations

import ast
import math
import sys
import textwrap
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2s_invad as si
from s2s_invad import cli
from modules import load_function, run_mode

MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nonfinite")
    return lambda name, body, header="import math\nimport numpy as np\n": load_function(
        folder, name, header + "\n\n" + textwrap.dedent(body))


def run(f, mode, x, v=None, memory="store"):
    """The derivative result of ``mode`` at ``x`` (v: the vector, ones by default)."""
    v = tuple(np.ones_like(np.asarray(xi, dtype=float)) for xi in x) if v is None else v
    return run_mode(f, mode, x, v, memory)


def test_infinite_module_constant_is_a_number(make, tmp_path):
    f = make("big", """\
        BIG = 1e400


        def big(x):
            return x + x / BIG
        """, header="import math\nBIG = 1e400\n")
    text = si.source(f, "jvp")
    assert "BIG = 1e1000" in text
    assert "inf" not in {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
    assert si.jvp(f, (2.0,), (1.0,)) == (2.0, 1.0)
    path = tmp_path / "bigmod.py"
    path.write_text("BIG = 1e400\nNEG = -1e400\n\n\ndef g(x):\n    return x * 2.0 + x / BIG - x / NEG\n")
    out = tmp_path / "bigmod_derivs.py"
    assert cli.main(["gen", str(path), "-o", str(out)]) == 0
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)      # no NameError: inf
    assert namespace["g_jvp"](1.0, 1.0) == (2.0, 2.0)


@pytest.mark.parametrize("mode", MODES)
def test_sqrt_at_zero_is_a_named_error_with_the_line(make, mode):
    f = make("sqrt0", """\
        def sqrt0(x, y):
            x = math.sqrt(x) + y
            return x, y
        """)
    with pytest.raises(si.NonFiniteError) as info:
        run(f, mode, (0.0, 1.0))
    assert info.value.lineno == 6 and info.value.filename == "sqrt0.py"
    assert "sqrt0.py:6" in str(info.value) and "math.sqrt(x)" in str(info.value)
    if mode != "slogdet":                 # slogdet takes log|pivot| = -log 2 - log|sqrt x| = inf
        assert isinstance(info.value.__cause__, ZeroDivisionError)    # chained, never bare


@pytest.mark.parametrize("mode", MODES)
def test_numpy_sqrt_at_zero_is_not_a_silent_inf(make, mode):
    f = make("npsqrt0", """\
        def npsqrt0(x, y):
            x = np.sqrt(x) + y
            return x, y
        """)
    x = (np.array([4.0, 1.0, 0.0, 9.0]), np.ones(4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(si.NonFiniteError) as info:
            run(f, mode, x)
    assert info.value.lineno == 6 and info.value.index == 2


@pytest.mark.parametrize("memory", ["store", "recompute"])
@pytest.mark.parametrize("mode", ["vjp", "ijvp"])
def test_the_error_cites_where_the_value_stopped_being_finite(make, mode, memory):
    """exp overflows at line 7; the NaN it causes shows only in line 9's results: the
    diagnostic rerun cites line 7, in store mode and in constant memory alike."""
    f = make("overflow", """\
        def overflow(x, y):
            x = x + 1.0
            y = y * np.exp(x)
            x = x - np.tanh(y)
            y = y * 0.5 + x
            return x, y
        """)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(si.NonFiniteError) as info:
            run(f, mode, (np.array([1.0, 800.0]), np.ones(2)), (np.ones(2), np.ones(2)), memory)
    assert info.value.lineno == 7 and info.value.index == 1, str(info.value)
    assert "np.exp(x)" in str(info.value)


def test_nan_and_tiny_pivots(make):
    f = make("scale", """\
        def scale(x, y):
            x = x * y
            return x, y
        """)
    for y in (math.nan, math.inf):                       # the input is named, not the pivot
        with pytest.raises(si.NonFiniteError) as info:
            si.ijvp(f, (1.0, y), (1.0, 1.0))
        assert info.value.lineno is None and "the input y of scale_ijvp" in str(info.value)
    with pytest.raises(si.NonFiniteError) as info:        # 1 / 5e-324 overflows: was inf
        si.ijvp(f, (1.0, 5e-324), (1.0, 0.0))
    assert info.value.lineno == 6 and "x_dot" in str(info.value)
    with pytest.raises(si.SingularJacobianError):          # zero stays "singular"
        si.ijvp(f, (1.0, 0.0), (1.0, 0.0))
    with pytest.raises(si.NonFiniteError) as info:
        si.jvp(f, (1.0, math.nan), (1.0, 0.0))
    assert "input y" in str(info.value)
    g = make("scalenp", """\
        def scalenp(x, y):
            x = x * np.exp(y)
            return x, y
        """)
    batch = (np.ones(3), np.array([1.0, np.nan, 2.0]))
    with pytest.raises(si.NonFiniteError) as info:
        si.ijvp(g, batch, batch)
    assert info.value.index == 1 and info.value.lineno is None and "the input y of" in str(info.value)


def test_slogdet_sums_logs_without_overflow(make):
    f = make("logstep", """\
        def logstep(y):
            y = math.log(y)
            return y
        """)
    g = make("expstep", """\
        def expstep(y, x):
            y = y * np.exp(x)
            x = np.exp(x)
            return y, x
        """)
    for y in (1e-320, 1e-300, 3.0, 1e300):
        _, (sign, logabsdet) = si.slogdet(f, (y,))
        assert sign == 1.0 and logabsdet == pytest.approx(-float(mp.log(mp.mpf(y))), rel=1e-15)
    x = np.array([-800.0, -1.0, 0.5])                       # exp(x) underflows at -800
    _, (sign, logabsdet) = si.slogdet(g, (np.ones(3), x))
    np.testing.assert_allclose(logabsdet, 2 * x, rtol=1e-15)
    np.testing.assert_array_equal(sign, np.ones(3))


def test_math_overflow_in_a_partial_is_named(make):
    f = make("powneg", """\
        def powneg(x):
            x = x ** -1.5
            return x
        """)
    with pytest.raises(si.NonFiniteError) as info:          # d = -1.5 x**-2.5 = -1.5e500
        si.jvp(f, (1e-200,), (1.0,))
    assert info.value.lineno == 6 and isinstance(info.value.__cause__, OverflowError)


# Points at the edges of each function's domain, and where values overflow.
EDGES = {"sqrt": [0.0, 5e-324, 1e-310], "log": [5e-324, 1e-310], "log1p": [-1 + 2 ** -52, -0.9999999999],
         "asin": [1.0, -1.0, 1 - 2 ** -53], "acos": [1.0, -1.0, -1 + 2 ** -53], "tanh": [20.0, 400.0, -800.0],
         "exp": [709.7, -745.0, -800.0], "expm1": [-40.0, -800.0, 709.7], "atan": [1e20, 1e300],
         "sinh": [710.0, 1e-320], "cosh": [710.0, 0.0], "tan": [1.5707963267948966]}
NUMPY = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}


@settings(max_examples=120, deadline=None)
@given(fn=st.sampled_from(sorted(EDGES)), pick=st.integers(0, 2), spelling=st.sampled_from(["math", "np"]),
       mode=st.sampled_from(MODES), scale=st.sampled_from([1.0, 1e-300, 1e300, -1.0]))
def test_edges_give_finite_numbers_or_named_errors(fn, pick, spelling, mode, scale, tmp_path_factory):
    """At domain edges every mode either returns finite numbers or raises an S2SError."""
    x = EDGES[fn][pick % len(EDGES[fn])]
    name = f"edge_{fn}_{spelling}"
    call = f"math.{fn}(x)" if spelling == "math" else f"np.{NUMPY.get(fn, fn)}(x)"
    if name not in sys.modules:
        load_function(tmp_path_factory.mktemp(name), name, f"import math\nimport numpy as np\n\n\n"
                      f"def {name}(x, y):\n    y = y * {call}\n    x = x + y\n    return x, y\n")
    f = getattr(sys.modules[name], name)
    try:
        primal = getattr(math, fn)(x) if spelling == "math" else getattr(np, NUMPY.get(fn, fn))(x)
    except (ValueError, OverflowError):
        primal = math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = run(f, mode, (x, scale), (1.0, scale))
        except si.S2SError:
            return
    values = np.concatenate([np.ravel(np.asarray(r, dtype=float)) for r in np.atleast_1d(result)]) \
        if not isinstance(result, tuple) else np.array([float(r) for r in np.ravel(np.asarray(result, dtype=float))])
    assert np.all(np.isfinite(values)), (fn, x, mode, result)
    assert math.isfinite(primal)
