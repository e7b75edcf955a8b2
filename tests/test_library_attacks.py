"""NumPy calls an attacker found computed differently from NumPy, or refused with an internal
message: ``np.eye``'s M and k, ``order="F"`` of the array methods, ``np.vdot`` and the
conjugate of a real value, ``dtype=`` spelled as NumPy spells it, index arrays and
``np.shape(x)[0]``, ``reversed(range(steps))`` with a runtime trip count, ``--shape``
without a bound, and float32 module constants on the command line.

Every number is checked against NumPy running the function itself and against an
independent Jacobian (the oracle's complex step; central differences where the complex
step cannot pass, as through np.vdot and np.conj); every refusal by its class, line and
message.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.errors import EvaluationError, ShapeError, UnsupportedSyntaxError
from s2s_invad.front.evaluate import MAX_LENGTH

import checks
import oracle

X3 = np.array([0.3, 0.5, 0.7])
X4 = np.array([1.0, 2.0, 3.0, 4.0])
X6 = np.array([0.6, -0.2, 0.9, 0.4, -0.7, 1.1])
W32 = np.array([0.1, 0.2, 0.3], dtype=np.float32)


def central_jacobian(f, x, h=1e-6):
    """The Jacobian of f at the vector x by central differences (f run by NumPy)."""
    cols = [(np.ravel(f(x + h * e)) - np.ravel(f(x - h * e))) / (2 * h) for e in np.eye(len(x))]
    return np.array(cols).T


def assert_matches_numpy(f, x, modes=("jvp", "vjp")):
    """The value as NumPy computes it, J v and J^T w against central differences."""
    J = central_jacobian(f, x)
    rng = np.random.default_rng(1)
    v, w = rng.standard_normal(J.shape[1]), rng.standard_normal(J.shape[0])
    y, y_dot = si.jvp(f, (x,), (v,))
    assert np.allclose(y, f(x), rtol=1e-15, atol=1e-15)
    assert np.allclose(np.ravel(y_dot), J @ v, rtol=1e-7, atol=1e-8)
    if "vjp" in modes:
        _, back = si.vjp(f, x)
        (x_bar,) = back(w if J.shape[0] > 1 else w[0])
        assert np.allclose(x_bar, J.T @ w, rtol=1e-7, atol=1e-8)
    if "ijvp" in modes:
        _, (x_dot,) = si.ijvp(f, (x,), v)
        assert np.allclose(x_dot, np.linalg.solve(J, v), rtol=1e-6, atol=1e-8)


def numpy_and_oracle(f, primals, modes=("jvp", "vjp", "ijvp", "ivjp", "slogdet"), wrt=None):
    """Every mode against the complex-step oracle, and the value against NumPy itself."""
    y, _ = si.jvp(f, primals, checks.split_inputs(f, primals, np.ones(oracle.dense_jacobian(
        f, primals, wrt).shape[1]), wrt), **({} if wrt is None else {"wrt": wrt}))
    assert np.allclose(checks.flatten(y), checks.flatten(f(*primals)), rtol=1e-15, atol=1e-15)
    checks.check_structured(si, f, primals, wrt=wrt, modes=modes)


def refused(cls, f, primals, *pieces, line_offset=1):
    """The call is refused with ``cls`` at f's line ``line_offset`` and says each piece."""
    with pytest.raises(cls) as info:
        si.jvp(f, primals, tuple(np.ones_like(p) for p in primals))
    assert info.value.lineno == f.__code__.co_firstlineno + line_offset, str(info.value)
    text = str(info.value)
    for piece in pieces:
        assert piece in text, text
    assert "Known(" not in text and "dtype=object" not in text
    return text


# -- 1. np.eye: N, M, k and dtype, positional and by keyword ---------------------------------

def eye_below(x):
    return np.eye(4, k=-1) @ x + x ** 3


def eye_above(x):
    return np.eye(4, 4, 1) @ x + x ** 3


def eye_keywords(x):
    return np.eye(N=4, M=4, k=1) @ x + x ** 3


def eye_far(x):
    return np.eye(4, k=-2, dtype=float) @ x + np.eye(4, dtype=int) @ x ** 3


def eye_rect(x):
    return np.eye(4, 6, 2) @ np.concatenate([x, x[:2] ** 2]) + x ** 3


def eye_identity(x):
    return np.identity(n=4) @ x * 0.5 + np.eye(4, order="F") @ x ** 3


@pytest.mark.parametrize("f", [eye_below, eye_above, eye_keywords, eye_far, eye_rect, eye_identity],
                         ids=lambda f: f.__name__)
def test_np_eye_honours_m_k_and_dtype(f):
    numpy_and_oracle(f, (X4,))


def eye_wide(x):
    return (np.eye(3, 6) @ x).sum() * x


def test_np_eye_m_makes_a_wide_matrix():
    assert_matches_numpy(eye_wide, X6)


def eye_like(x):
    return np.eye(4, like=x) @ x + x


def eye_float(x):
    return np.eye(4.0) @ x + x


def eye_runtime(x):
    return np.eye(3, k=x[0]) @ x + x


def test_np_eye_refuses_what_it_cannot_take_at_the_line():
    refused(UnsupportedSyntaxError, eye_like, (X4,), "keyword argument 'like' of np.eye()", "N, M, k")
    refused(EvaluationError, eye_float, (X4,), "N of np.eye", "got the float 4.0", "int(")
    refused(UnsupportedSyntaxError, eye_runtime, (X3,), "k of np.eye", "runtime value")


# -- 2. order= of reshape, flatten and ravel, functions and methods -------------------------

def reshape_method_f(x):
    X = x.reshape(2, 3, order="F")
    return np.concatenate([X[0] * x[:3] + X[1], X[1] + x[3:] ** 3])


def reshape_tuple_f(x):
    Y = x.reshape((3, 2), order="F")
    return np.concatenate([Y[:, 1] * x[3:] + x[:3] ** 3, Y[:, 0] + x[3:] ** 3])


def flatten_f(x):
    return x.reshape(2, 3).flatten("F") * x + x     # (+ x: without it J is singular everywhere)


def flatten_keyword_f(x):
    return x.reshape(2, 3).flatten(order="F") * x + x.reshape(3, 2).ravel(order="F")


def ravel_f(x):
    return x.reshape(2, 3).ravel("F") * x + x


def np_functions_f(x):
    return np.ravel(np.reshape(x, (3, 2), order="F"), order="C") * x + np.ravel(x.reshape(2, 3), "F")


def transposed_f(x):
    return x.reshape(2, 3).T.ravel("F") * x + x.reshape(3, 2).T.flatten("C")


def one_d_a_k(x):
    return np.reshape(x, (2, 3), order="A").ravel() * x + x.flatten("K") * x[0] + x.ravel("A")


@pytest.mark.parametrize("f", [reshape_method_f, reshape_tuple_f, flatten_f, flatten_keyword_f, ravel_f,
                               np_functions_f, transposed_f, one_d_a_k], ids=lambda f: f.__name__)
def test_order_f_is_honoured_by_every_reshape_flatten_and_ravel(f):
    numpy_and_oracle(f, (X6,))


def layout_a(x):
    return x.reshape(2, 3).T.ravel("A") * x


def reshape_k(x):
    return x.reshape(2, 3, order="K").ravel() * x


def order_typo(x):
    return x.reshape(2, 3).flatten("X") * x


def test_layout_orders_are_refused_where_they_depend_on_memory():
    refused(UnsupportedSyntaxError, layout_a, (X6,), "order=\"A\" in .ravel", "order='C'", "order='F'")
    refused(EvaluationError, reshape_k, (X6,), "order='K' is not permitted for .reshape")
    refused(EvaluationError, order_typo, (X6,), "order=\"X\" in .flatten", "'C', 'F'")


# -- 3. np.vdot and the conjugate of a real value --------------------------------------------

def vdot_self(x):
    return np.vdot(x, x) + x


def vdot_flattened(x):
    return np.vdot(x.reshape(2, 3), x[::-1].reshape(3, 2)) * x + np.vdot([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], x)


def conjugates(x):
    return np.conj(x) * x[0] + np.conjugate(x[1]) + x.conj() * x[2] + x[0].conjugate() * x.real + np.imag(x)


def real_parts(x):
    return np.real(x) * x[0].real + x[1].conj() * x + x.imag * x[2] + x[2].imag


@pytest.mark.parametrize("f,x", [(vdot_self, X3), (vdot_flattened, X6), (conjugates, X3), (real_parts, X3)],
                         ids=["vdot_self", "vdot_flattened", "conjugates", "real_parts"])
def test_vdot_and_conjugates_of_real_values(f, x):
    assert_matches_numpy(f, x, modes=("jvp", "vjp", "ijvp"))


def vdot_mismatch(x):
    return np.vdot(x, x[:2]) + x


def test_vdot_of_different_sizes_is_refused_at_the_line():
    refused(EvaluationError, vdot_mismatch, (X3,), "np.vdot of arrays of 3 and 2 elements")


# -- 4. dtype= as NumPy spells it ------------------------------------------------------------

def full_float(x):
    return np.full(3, 2.0, dtype=float) * x + x[0]


def zeros_int(x):
    F = np.zeros(3, dtype=int)
    return F + x * np.ones(3, dtype=np.float64) + x[1]


def linspace_float(x):
    return np.linspace(0.0, 1.0, 3, dtype=float) * x + np.arange(3, dtype=float) * x[0] + x[2]


def float32_constants(x):
    return np.full(3, 0.1, dtype=np.float32) * x + W32 * x[0] + np.float32(0.3) * x + np.array(
        [0.7, 0.2, 0.1], dtype="float32") * x[1]


def typed_arrays(x):
    idx = np.array([2.0, 0.0, 1.0], dtype=int)
    return x[idx] * np.asarray([1, 2, 3], dtype=np.float64) + np.array([1.7, 2.2, 3.9]).astype(int) * x[0]


def reductions(x):
    return np.sum(x, dtype=float) * x + x.sum(dtype=np.float64) + np.float64(x[0])


@pytest.mark.parametrize("f", [full_float, zeros_int, linspace_float], ids=lambda f: f.__name__)
def test_float_dtypes_as_numpy(f):
    numpy_and_oracle(f, (X3,))


@pytest.mark.parametrize("f", [float32_constants, typed_arrays, reductions], ids=lambda f: f.__name__)
def test_constant_dtypes_round_as_numpy(f):
    # (the oracle's complex arrays cannot be float32, int or summed as floats: differences)
    assert_matches_numpy(f, X3, modes=("jvp", "vjp", "ijvp"))


def complex_dtype(x):
    return np.zeros(3, dtype="complex") + x[0] * x


def bool_dtype(x):
    return np.zeros(3, dtype=bool) + x[0] * x


def float32_runtime(x):
    return np.array([x[0], 1.0, 2.0], dtype=np.float32) * x


def int_runtime(x):
    return x.astype(int) * x[0]


def float32_cast(x):
    return np.float32(x[0]) * x


def store_in_int(x):
    F = np.zeros(3, dtype=int)
    F[0] = x[0]
    return F + x


def test_other_dtypes_are_refused_as_written():
    refused(UnsupportedSyntaxError, complex_dtype, (X3,), 'dtype="complex" in np.zeros()', "dtype=float")
    refused(UnsupportedSyntaxError, bool_dtype, (X3,), "dtype=bool in np.zeros()")
    refused(UnsupportedSyntaxError, float32_runtime, (X3,), "dtype=np.float32", "runtime value", "float64")
    refused(UnsupportedSyntaxError, int_runtime, (X3,), ".astype() with dtype=int", "int64")
    refused(UnsupportedSyntaxError, float32_cast, (X3,), "np.float32() of a runtime value")
    refused(EvaluationError, store_in_int, (X3,), "dtype int64", "without dtype=", line_offset=2)


# -- 5. indices: np.shape, index arrays, indices of 2-D arrays -------------------------------

def shape_count(x):
    return np.shape(x)[0] * x + np.size(x) * x[0] + np.ndim(x)


def index_arrays(x):
    return x[np.array([2, 0, 1])] * x + x[np.array([True, False, True])].sum() + x[[1, 1, 0]]


def matrix_index(x):
    A = np.vstack([x, x ** 2])
    return A[1, 2] * x[:3] + A[np.array([1, 0]), 2].sum() + A[:, np.arange(3)[::-1]][0] * x[3:]


def store_by_index_array(x):
    F = np.zeros(3)
    F[np.array([0, 2])] = x[:2]
    return F + x


def test_np_shape_is_the_shape_of_an_array_argument():
    numpy_and_oracle(shape_count, (X3,))


@pytest.mark.parametrize("f,x", [(index_arrays, X3), (matrix_index, X6), (store_by_index_array, X3)],
                         ids=["index_arrays", "matrix_index", "store_by_index_array"])
def test_index_arrays_as_numpy(f, x):
    # (the oracle's shim makes np.array([2, 0, 1]) complex, which cannot index: differences)
    assert_matches_numpy(f, x, modes=("jvp", "vjp") if f is matrix_index else ("jvp", "vjp", "ijvp"))


def float_index(x):
    return x[np.array([2.0])] * x


def runtime_index(x):
    return x[np.array([0, x[0]])] * x[:2]


def outside(x):
    return x[np.array([5])] * x


def outside_matrix(x):
    return np.vstack([x, x])[2, 1] * x


def test_bad_indices_say_why():
    refused(EvaluationError, float_index, (X3,), "an index array must hold ints", "the number 2.0")
    refused(UnsupportedSyntaxError, runtime_index, (X3,), "an index array holds a runtime value")
    refused(EvaluationError, outside, (X3,), "index [5] is out of range for a sequence of length 3")
    refused(EvaluationError, outside_matrix, (X3,), "an array of shape (2, 3)", "index 2 is out of bounds for axis 0")


# -- 6. reversed(range(...)) and runtime starts, kept as loops ------------------------------

def backwards(y, h, steps):
    for k in reversed(range(steps)):
        y = y + h * np.array([y[1], -np.sin(y[0])]) * (k + 1)
    return y


def counting_down(y, h, steps):
    for k in range(steps - 1, -1, -1):
        y = y + h * np.array([y[1], -np.sin(y[0])]) * (k + 1)
    return y


def from_steps(y, h, steps):
    for k in range(steps, 0, -1):
        y = y + h * np.array([y[1], -np.sin(y[0])]) * k
    return y


def from_one(y, h, steps):
    for k in range(1, steps):
        y = y + h * k * np.array([y[1], -np.sin(y[0])])
    return y


def backwards_from_one(y, h, steps):
    for k in reversed(range(1, steps)):
        y = y + h * k * np.array([y[1], -np.sin(y[0])])
    return y


Y0 = np.array([1.0, 0.2])


@pytest.mark.parametrize("f", [backwards, counting_down, from_steps, from_one, backwards_from_one],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("steps", [0, 1, 6])
def test_runtime_reversed_and_shifted_ranges_stay_loops(f, steps):
    numpy_and_oracle(f, (Y0, 0.1, steps), wrt="y")
    checks.check_structured(si, f, (Y0, 0.1, steps), wrt="y", modes=("vjp", "ijvp"), memory=("recompute",))
    assert "for k_i in range(" in si.source(f, "jvp", wrt="y", shapes={"y": 2})


def backwards_ten(y, h):
    for k in reversed(range(10)):
        y = y + h * np.array([y[1], -np.sin(y[0])]) * (k + 1)
    return y


def test_reversed_range_of_a_constant_is_kept_as_a_loop():
    numpy_and_oracle(backwards_ten, (Y0, 0.1), wrt="y")
    report = si.explain(backwards_ten, wrt="y", shapes={"y": 2})
    assert "reversed(range(10))" in report and "kept as a loop" in report
    assert "range(9, 10 times, step -1)" in report


def every_other(y, h, steps):
    for k in range(steps, 0, -2):
        y = y + h * k * y
    return y


def test_a_runtime_range_with_a_longer_step_is_refused_saying_what_to_write():
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(every_other, (1.0, 0.1, 6), (1.0, 0.0))
    assert info.value.lineno == every_other.__code__.co_firstlineno + 1
    assert "a step of 1 or -1, not -2" in str(info.value) and "range(count)" in str(info.value)


# -- 7. --shape and shapes= have a bound; --shape of a scalar parameter ---------------------

PLAIN = "import math\ndef f(x, y):\n    return x + math.sin(y), y * math.exp(x)\n"


def test_cli_refuses_an_absurd_shape_before_building_anything(tmp_path, capsys):
    (tmp_path / "plain.py").write_text(PLAIN)
    for length in ("99999999999999999999", str(MAX_LENGTH + 1)):
        with pytest.raises(SystemExit) as info:
            cli.main(["gen", f"{tmp_path / 'plain.py'}:f", "--shape", f"x={length}", "-o", "-", "--no-progress"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert f"--shape x={length}" in err and f"at most {MAX_LENGTH:,} elements" in err


def test_cli_says_a_shaped_parameter_is_used_as_a_scalar(tmp_path, capsys):
    (tmp_path / "plain.py").write_text(PLAIN)
    code = cli.main(["gen", f"{tmp_path / 'plain.py'}:f", "--shape", "x=5", "-o", "-", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--shape x=5: f uses 'x' as a scalar" in err and "plain.py:3" in err and "leave --shape out" in err
    assert cli.main(["gen", f"{tmp_path / 'plain.py'}:f", "-o", "-", "--no-progress"]) == 0


def test_api_shapes_have_the_same_bound():
    with pytest.raises(ShapeError) as info:
        si.source(vdot_self, "jvp", shapes={"x": 10 ** 20})
    text = str(info.value)
    assert f"test_library_attacks.py:{vdot_self.__code__.co_firstlineno}" in text
    assert f"more than the {MAX_LENGTH:,} elements" in text and info.value.parameter == "x"


# -- 8. float32 module constants on the command line -----------------------------------------

CONSTANTS = """\
import numpy as np
A32 = np.float32(0.1)
I64 = np.int64(3)
W = np.array([0.1, 0.2, 0.3], dtype=np.float32)
def g(x):
    return x * A32 + W * x ** I64 + np.float32(0.7) * x[0]
"""


def test_cli_reads_float32_constants_as_python_does(tmp_path, capsys):
    path = tmp_path / "consts.py"
    path.write_text(CONSTANTS)
    code = cli.main(["gen", f"{path}:g", "--shape", "x=3", "--modes", "jvp", "-o", "-", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    namespace: dict = {}
    exec(compile(CONSTANTS, str(path), "exec"), namespace)
    exec(compile(out, "consts_derivs.py", "exec"), namespace)
    v = np.array([1.0, -0.5, 2.0])
    y, y_dot = namespace["g_jvp"](X3, v)
    assert np.allclose(y, namespace["g"](X3), rtol=1e-15, atol=0)
    J = np.diag(float(np.float32(0.1)) + 3 * W32.astype(float) * X3 ** 2)
    J[:, 0] += float(np.float32(0.7))
    assert np.allclose(y_dot, J @ v, rtol=1e-14)
