"""Input validation (issue 10, item 8): every wrong call of the API gets an ArgumentError
(or the right named error) saying what was expected, never a bare exception from the
generated code. Each mode's input side (primals, tangents, ivjp's x_bar) and output side
(vjp's y_bar, ijvp's y_dot) is tried with wrong types, lengths, nestings and batch shapes.
"""

import functools

import numpy as np
import pytest

import s2s_invad as si

import oracle

SOURCE = '''
import math
import numpy as np


def field(u, s):
    """A vector and a scalar in, a vector and a scalar out (k = 4 lump: dense solve)."""
    total = np.sum(np.tanh(u))
    v = u + 0.2 * np.sin(total) + 0.1 * np.tanh(s)
    s = s * np.exp(0.1 * np.cos(total))
    return v, s


def pair(x, y):
    x = x + np.sin(y)
    y = y * np.exp(0.1 * x)
    return x, y


def scalar_pair(x, y):
    x = x + math.sin(y)
    y = y * math.exp(0.1 * x)
    return x, y


def lump5(a, b, c, d, e):
    s = a + b + c + d + e
    return a + s, b * (1.5 + np.tanh(s)), c - 0.3 * s * s, d + np.sin(s), e + s / 3
'''
field = si.from_source(SOURCE, "field")
pair = si.from_source(SOURCE, "pair")
scalar_pair = si.from_source(SOURCE, "scalar_pair")
lump5 = si.from_source(SOURCE, "lump5")

U = np.array([0.3, -0.2, 0.5])
S = 0.4
POINT = (U, S)


def calls(f, primals, tangent, cotangent):
    """Every mode, called with these primals and an input-side and output-side value."""
    return {
        "jvp": lambda: si.jvp(f, primals, tangent),
        "vjp": lambda: si.vjp(f, *primals)[1](cotangent),
        "ijvp": lambda: si.ijvp(f, primals, cotangent),
        "ivjp": lambda: si.ivjp(f, *primals)[1](tangent),
        "slogdet": lambda: si.slogdet(f, primals),
    }


def refused(call, *words, error=si.ArgumentError):
    """``call()`` raises ``error`` (never anything else) whose message has ``words``."""
    try:
        call()
    except error as exc:
        for word in words:
            assert word in str(exc), f"{word!r} not in: {exc}"
        return exc
    except Exception as exc:                       # noqa: BLE001 - the defect this file catches
        raise AssertionError(f"expected {error.__name__}, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"expected {error.__name__}, nothing was raised")


GOOD_IN = (np.ones(3), 1.0)            # input side: one per differentiated parameter
GOOD_OUT = (np.ones(3), 1.0)           # output side: shaped like field's result

BAD_PRIMALS = {
    "not a tuple": (0.5, ["tuple of 2"]),
    "too few": ((U,), ["expected 2"]),
    "too many": ((U, S, 1.0), ["expected 2"]),
    "None": ((U, None), ["'s'", "number or a NumPy array", "NoneType"]),
    "string": ((U, "0.4"), ["'s'", "str"]),
    "bool": ((U, True), ["'s'", "bool"]),
    "numpy bool": ((U, np.bool_(True)), ["'s'", "bool"]),
    "complex": ((U, 0.4 + 1j), ["'s'", "complex"]),
    "complex vector": ((U + 0j, S), ["'u'", "complex"]),
    "object array": ((np.array([0.1, None, 0.2]), S), ["'u'", "dtype object"]),
    "bool array": ((np.array([True, False, True]), S), ["'u'", "dtype bool"]),
    "scalar for a vector": ((0.3, S), ["vector"]),
    "nested list": (([[0.1], [0.2], [0.3]], S), ["'u'", "list"]),
    "ragged batch in a list": (([np.ones(2), np.ones(3), 0.1], S), ["'u'", "do not broadcast"]),
    "batch shapes": ((np.ones((3, 4)), np.ones(5)), ["do not broadcast", "(4,)", "(5,)"]),
    "string vector": (("abc", S), ["'u'"]),
}


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
@pytest.mark.parametrize("case", sorted(BAD_PRIMALS))
def test_bad_primals_in_every_mode(case, mode):
    primals, words = BAD_PRIMALS[case]
    if case == "not a tuple" and mode in ("vjp", "ivjp"):
        primals, words = (0.5,), ["expected 2"]            # (vjp(f, *primals): one primal)
    refused(calls(field, primals, GOOD_IN, GOOD_OUT)[mode], *words)


def test_a_list_is_always_a_vector():
    """A list for a parameter the source uses as a number makes it a vector of that length
    (README: "a list is always a vector"): fine where the source's operations take vectors,
    the named transform-time error at the line where they do not (math.<fn> of a list)."""
    y, (v_dot, s_dot) = si.jvp(field, (U, [0.4]), (np.ones(3), np.ones(1)))
    assert np.shape(s_dot) == (1,)
    exc = refused(lambda: si.jvp(scalar_pair, ([0.1], 0.2), ([1.0], 1.0)), "math.exp", "np.exp",
                  error=si.EvaluationError)
    assert exc.lineno == SOURCE.splitlines().index("    y = y * math.exp(0.1 * x)") + 1


def test_a_list_does_not_make_later_arrays_vectors():
    """After a call with a list for s (a vector of 1), an array for s is again a batch of
    scalars, as for a function never called before (the answer used to depend on history)."""
    fresh = si.from_source(SOURCE, "field")
    x = (np.ones((3, 2)) * 0.2, np.array([0.1, 0.3]))
    want = si.jvp(fresh, x, GOOD_IN)[1]
    si.jvp(fresh, (U, [0.4]), (np.ones(3), [1.0]))
    got = si.jvp(fresh, x, GOOD_IN)[1]
    assert np.shape(got[1]) == (2,)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_a_vector_of_the_wrong_length_is_a_new_signature_not_an_error():
    """A primal vector of another length is another length signature (as jit specialises);
    its tangents and cotangents must then match that length."""
    y, (v_dot, s_dot) = si.jvp(field, (np.ones(5) * 0.1, S), (np.ones(5), 0.0))
    assert v_dot.shape == (5,)
    refused(lambda: si.jvp(field, (np.ones(5) * 0.1, S), (np.ones(3), 0.0)), "length 5")


INPUT_SIDE = {            # tangents of jvp, x_bar of ivjp
    "short vector": ((np.ones(2), 1.0), ["'u'", "length 3"]),
    "long list": (([1.0] * 4, 1.0), ["'u'", "length 4", "expected 3"]),
    "scalar for the vector": ((1.0, 1.0), ["'u'", "vector of length 3"]),
    "vector for the scalar": ((np.ones(3), np.ones(3).tolist()), ["'s'", "list", "scalar"]),
    "one value for two": (np.ones(3), ["tuple of 2"]),
    "three values": ((np.ones(3), 1.0, 1.0), ["expected 2"]),
    "None": ((np.ones(3), None), ["'s'", "NoneType"]),
    "bool": ((np.ones(3), False), ["'s'", "bool"]),
    "complex": ((np.ones(3), 1j), ["'s'", "complex"]),
    "complex vector": ((np.ones(3) * 1j, 1.0), ["'u'", "complex"]),
    "string": (("abc", 1.0), ["'u'", "str"]),
    "nested tuple": (((np.ones(3),), 1.0), ["'u'"]),
    "batch against the point's": ((np.ones((3, 2)), np.ones(3)), ["do not broadcast"]),
}
OUTPUT_SIDE = {           # y_bar of vjp, y_dot of ijvp
    "flat vector": (np.ones(4), ["tuple of 2"]),
    "short vector": ((np.ones(2), 1.0), ["[0]", "length 3"]),
    "scalar for the vector": ((1.0, 1.0), ["[0]", "vector of length 3"]),
    "tuple for the scalar": ((np.ones(3), (1.0,)), ["[1]", "single value"]),
    "swapped": ((1.0, np.ones(3)), ["[0]"]),
    "too deep": (((np.ones(3), 1.0),), ["tuple of 2"]),
    "None": ((np.ones(3), None), ["[1]", "NoneType"]),
    "bool": ((np.ones(3), True), ["[1]", "bool"]),
    "complex": ((np.ones(3), 2j), ["[1]", "complex"]),
    "complex list": (([1j, 0.0, 0.0], 1.0), ["[0][0]", "complex"]),
    "batch against the point's": ((np.ones((3, 2)), np.ones(3)), ["do not broadcast"]),
}


@pytest.mark.parametrize("mode", ["jvp", "ivjp"])
@pytest.mark.parametrize("case", sorted(INPUT_SIDE))
def test_bad_input_side(case, mode):
    value, words = INPUT_SIDE[case]
    refused(calls(field, POINT, value, GOOD_OUT)[mode], *words)


@pytest.mark.parametrize("mode", ["vjp", "ijvp"])
@pytest.mark.parametrize("case", sorted(OUTPUT_SIDE))
def test_bad_output_side(case, mode):
    value, words = OUTPUT_SIDE[case]
    refused(calls(field, POINT, GOOD_IN, value)[mode], *words)


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp"])
def test_batches_must_agree_with_the_arguments_batch(mode):
    """Tangents and cotangents of a batch of 3 points: a batch of 4 is refused; a single
    value broadcasts (the same direction at every point)."""
    x = (np.ones((3, 3)) * 0.2, np.array([0.1, 0.2, 0.3]))
    refused(calls(field, x, (np.ones((3, 4)), np.ones(4)), (np.ones((3, 4)), np.ones(4)))[mode],
            "do not broadcast", "(3,)")
    got = calls(field, x, GOOD_IN, GOOD_OUT)[mode]()
    vector_part = (got[1] if mode in ("jvp", "ijvp") else got)[0]
    assert np.shape(vector_part) == (3, 3)


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp"])
def test_arrays_into_a_scalar_only_source_on_either_side(mode):
    """A source calling math.<fn> runs one point at a time: arrays given as tangents or
    cotangents (not only as primals) are refused with the advice, not a bare ValueError."""
    refused(calls(scalar_pair, (0.1, 0.2), (np.ones(3), 1.0), (np.ones(3), 1.0))[mode], "math.<fn>", "np.<fn>")


@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
def test_complex_values_into_a_lump_with_k_above_3(mode):
    """A k = 5 lump is solved by NumPy, which would take complex values: refused before."""
    x = (0.1, 0.2, 0.3, 0.4, 0.5)
    assert "k = 5" in si.explain(lump5)
    value = (1.0, 1.0 + 1j, 1.0, 1.0, 1.0)
    refused(calls(lump5, x, value, value)[mode], "[1]" if mode == "ijvp" else "'b'", "complex")
    arrays = tuple(np.array([1.0, 2.0 + 0.5j]) if i == 2 else np.ones(2) for i in range(5))
    refused(calls(lump5, x, arrays, arrays)[mode], "complex")


class Model:
    def step(self, x, y):
        return x + y, y

    @staticmethod
    def static(x, y):
        return x + y, y

    def __call__(self, x, y):
        return x + y, y


@pytest.mark.parametrize("name", ["bound method", "builtin", "ufunc", "staticmethod object", "partial",
                                  "callable object", "class", "int"])
def test_what_is_not_a_def_function(name):
    f = {"bound method": Model().step, "builtin": max, "ufunc": np.sin, "partial": functools.partial(pair, 0.1),
         "staticmethod object": Model.__dict__["static"], "callable object": Model(), "class": Model,
         "int": 5}[name]
    for mode, call in calls(f, (0.1, 0.2), (1.0, 1.0), (1.0, 1.0)).items():
        refused(call, "function")
    refused(lambda: si.source(f, "jvp"), "function")
    refused(lambda: si.explain(f), "function")
    refused(lambda: si.derivatives(f), "function")
    refused(lambda: si.derivatives(wrt="x")(f), "function")


def test_a_lambda_is_read_from_its_source():
    assert si.jvp(lambda x: x * x, (0.1,), (1.0,)) == pytest.approx((0.01, 0.2), rel=1e-15)


@pytest.mark.parametrize("wrt, words", [(5, ["wrt", "5"]), ([5], ["strings", "5"]), ("z", ["'z'", "not parameters"]),
                                        (("x", "x"), ["'x'", "more than once"]), ({"x": 1}, ["wrt"])])
def test_bad_wrt(wrt, words):
    for mode, call in {"jvp": lambda: si.jvp(pair, (0.1, 0.2), (1.0,), wrt=wrt),
                       "vjp": lambda: si.vjp(pair, 0.1, 0.2, wrt=wrt),
                       "ijvp": lambda: si.ijvp(pair, (0.1, 0.2), (1.0, 1.0), wrt=wrt),
                       "slogdet": lambda: si.slogdet(pair, (0.1, 0.2), wrt=wrt),
                       "source": lambda: si.source(pair, "jvp", wrt=wrt)}.items():
        if isinstance(wrt, dict):
            continue                                  # (a dict iterates its keys: wrt="x")
        refused(call, *words)


def test_numpy_scalars_and_ints_are_numbers():
    """np.float32, np.float64, np.int64 and Python ints give the float answer (to the
    float32 input's rounding) in every mode."""
    J = oracle.dense_jacobian(pair, (0.25, 0.5))
    for x, y in ((np.float64(0.25), np.float32(0.5)), (0.25, np.int64(1) / 2), (np.float32(0.25), 0.5)):
        got = si.jvp(pair, (x, y), (np.float64(1.0), np.int64(0)))[1]
        np.testing.assert_allclose(got, J[:, 0], rtol=1e-7)
        got = si.ijvp(pair, (x, y), (np.float32(1.0), 0))[1]
        np.testing.assert_allclose(got, np.linalg.solve(J, [1.0, 0.0]), rtol=1e-7)
    ints = si.jvp(pair, (1, 2), (1, 0))[1]
    np.testing.assert_allclose(ints, oracle.dense_jacobian(pair, (1.0, 2.0))[:, 0], rtol=1e-14)


def test_other_options():
    refused(lambda: si.source(pair, "hessian"), "unknown mode")
    refused(lambda: si.vjp(pair, 0.1, 0.2, memory="disk"), "unknown memory")
    refused(lambda: si.jvp(pair, (0.1, 0.2), (1.0, 1.0), unroll="yes"), "unroll")
    refused(lambda: si.explain(pair, shapes=[("x", 3)]), "shapes must be a dict")
    refused(lambda: si.explain(field, shapes={"u": -1}), "non-negative")
    refused(lambda: si.from_source(5, "f"), "str", error=si.SourceUnavailableError)
