"""Every refusal: unsupported syntax, non-invertible functions, singular Jacobians."""

import math
import pathlib
import re

import numpy as np
import pytest

import s2s_invad as si

import checks
import error_cases as ec
import oracle

CASES_FILE = pathlib.Path(ec.__file__).resolve()
MARKERS = {}
for number, line in enumerate(CASES_FILE.read_text().splitlines(), start=1):
    for case in re.findall(r"# ERR: (\w+)", line):
        MARKERS[case] = (number, line.split("# ERR:")[0].strip())


def marker_line(case):
    return MARKERS[case][0]


# case -> (function, words of which the message must contain at least one, lowercase)
UNSUPPORTED = {
    "for": (ec.uses_for, ("for", "loop")),
    "while": (ec.uses_while, ("while", "loop")),
    "if": (ec.uses_if, ("if", "branch", "conditional")),
    "ifexp": (ec.uses_ternary, ("conditional", "ternary", "if")),
    "comprehension": (ec.uses_comprehension, ("comprehension",)),
    "subscript": (ec.uses_subscript, ("subscript", "index", "[")),
    "method": (ec.uses_method, ("method", "hex", "attribute")),
    "unknown_math": (ec.uses_unknown_math, ("gamma",)),
    "unknown_numpy": (ec.uses_unknown_numpy, ("floor",)),
    "unknown_function": (ec.uses_unknown_function, ("hash",)),
    "lambda": (ec.uses_lambda, ("in lambda: *args and **kwargs are not supported",)),
    "keyword": (ec.uses_keyword, ("keyword",)),
    "global_list": (ec.uses_global_list, ("global_list",)),
    "global_text": (ec.uses_global_text, ("global_text",)),
    "undefined": (ec.uses_undefined, ("undefined_name",)),
    "floordiv": (ec.uses_floordiv, ("//", "floor")),
    "mod": (ec.uses_mod, ("%", "modulo")),
    "compare": (ec.uses_compare, ("compar", "==")),
    "star_args": (ec.uses_star_args, ("*rest", "*args", "variadic", "star")),
    "kwargs": (ec.uses_kwargs, ("**options", "**kwargs", "keyword")),
    "late": (ec.late_error, ("%", "modulo")),
}


def test_vector_parameter_without_a_length():
    """A parameter used as a vector needs a length: from shapes=, or from its argument."""
    line = marker_line("vector")
    with pytest.raises(si.ShapeError) as info:
        si.source(ec.uses_a_vector, "jvp")
    assert info.value.parameter == "u" and info.value.lineno == line
    assert "shapes={'u'" in str(info.value) and f":{line}:" in str(info.value)
    with pytest.raises(si.ShapeError, match="1-D array or a list for 'u'"):
        si.jvp(ec.uses_a_vector, (0.5, 2.0), (1.0, 0.0))
    text = si.source(ec.uses_a_vector, "jvp", shapes={"u": 3})
    assert "u_0, u_1, u_2 = u" in text
    y, y_dot = si.jvp(ec.uses_a_vector, ([0.5, 0.1, 0.2], 2.0), ([1.0, 0.0, 0.0], 0.0))
    assert y == (1.0, 2.0) and y_dot == (2.0, 0.0)


def test_exception_hierarchy():
    assert issubclass(si.UnsupportedSyntaxError, SyntaxError)
    for cls in (si.NotInvertibleError, si.SingularJacobianError):
        assert issubclass(cls, si.S2SError)
    assert issubclass(si.S2SError, Exception)


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_syntax(case):
    f, words = UNSUPPORTED[case]
    line, code = MARKERS[case]
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.source(f, "jvp")
    err = info.value
    assert err.lineno == line, f"{case}: lineno {err.lineno}, expected {line} ({code!r})"
    assert err.filename and pathlib.Path(err.filename).resolve() == CASES_FILE
    assert isinstance(err.offset, int) and err.offset >= 1
    assert err.text is not None and code in err.text
    message = str(err.msg).lower()
    assert any(word in message for word in words), f"{case}: {err.msg!r} names none of {words}"


@pytest.mark.parametrize("mode", checks.MODES)
def test_unsupported_syntax_every_entry_point(mode):
    """The fence runs before anything else, whatever the mode or entry point."""
    f, line = ec.late_error, marker_line("late")
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.source(f, mode)
    assert info.value.lineno == line
    calls = {
        "jvp": lambda: si.jvp(f, (0.1, 0.2), (1.0, 0.0)),
        "vjp": lambda: si.vjp(f, 0.1, 0.2)[1]((1.0, 0.0)),
        "ijvp": lambda: si.ijvp(f, (0.1, 0.2), (1.0, 0.0)),
        "ivjp": lambda: si.ivjp(f, 0.1, 0.2)[1]((1.0, 0.0)),
    }
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        calls[mode]()
    assert info.value.lineno == line


def test_unsupported_syntax_with_decorator():
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        decorated = si.derivatives(ec.late_error)
        decorated.jvp((0.1, 0.2), (1.0, 0.0))
    assert info.value.lineno == marker_line("late")


@pytest.mark.parametrize("f, want", [(ec.square_lambda, 1.0), (lambda x: x * 2.0, 2.0)])
def test_a_lambda_is_differentiated(f, want):
    """Lambdas are read from their source (tests/test_lambdas.py): d/dx at 0.5."""
    assert si.jvp(f, (0.5,), (1.0,))[1] == pytest.approx(want, rel=1e-15)


def test_function_without_source_is_refused():
    namespace = {}
    exec(compile("def no_source(x):\n    return 2.0 * x\n", "<string>", "exec"), namespace)
    f = namespace["no_source"]
    with pytest.raises((si.S2SError, si.UnsupportedSyntaxError)) as info:
        si.jvp(f, (1.0,), (1.0,))
    assert "source" in str(info.value).lower()
    assert "no_source" in str(info.value)


# ---- NotInvertibleError -------------------------------------------------------------

@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
def test_contractive_statement(mode):
    line = marker_line("contractive")
    with pytest.raises(si.NotInvertibleError) as info:
        si.source(ec.contractive, mode)
    assert str(line) in str(info.value), f"message should cite line {line}: {info.value}"
    with pytest.raises(si.NotInvertibleError):
        if mode == "ijvp":
            si.ijvp(ec.contractive, (0.3, 0.4), (1.0, 1.0))
        else:
            si.ivjp(ec.contractive, 0.3, 0.4)[1]((1.0, 1.0))


@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
def test_output_count_differs_from_input_count(mode):
    with pytest.raises(si.NotInvertibleError) as info:
        si.source(ec.two_to_one, mode)
    assert str(info.value)
    with pytest.raises(si.NotInvertibleError):
        if mode == "ijvp":
            si.ijvp(ec.two_to_one, (0.3, 0.4), 1.0)
        else:
            si.ivjp(ec.two_to_one, 0.3, 0.4)[1]((1.0, 1.0))


@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
def test_input_reaching_no_output(mode):
    with pytest.raises(si.NotInvertibleError) as info:
        si.source(ec.ignores_input, mode)
    assert "ignored_b" in str(info.value)


@pytest.mark.parametrize("f, x", [
    (ec.contractive, (0.3, 0.4)), (ec.two_to_one, (0.3, 0.4)), (ec.ignores_input, (0.3, 0.4)),
    (ec.zero_pivot, (0.5, 0.0)), (ec.cube_pivot, (0.0, 0.7)),
    (ec.singular_lump, (math.pi, 0.3, 1.0)),
])
def test_plain_modes_accept_what_inverse_modes_refuse(f, x):
    for mode in ("jvp", "vjp"):
        assert isinstance(si.source(f, mode), str)
    checks.check_modes(si, f, x, modes=("jvp", "vjp"), tol=1e-12)


# ---- SingularJacobianError (run time) -----------------------------------------------

SINGULAR = {  # case -> (function, point, lines the error may cite)
    "zero_pivot": (ec.zero_pivot, (0.5, 0.0), {marker_line("zero_pivot")}),
    "cube_pivot": (ec.cube_pivot, (0.0, 0.7), {marker_line("cube_pivot")}),
    "lump": (ec.singular_lump, (math.pi, 0.3, 1.0),
             set(range(marker_line("lump_first"), marker_line("lump_last") + 1))),
}


@pytest.mark.parametrize("case", sorted(SINGULAR))
def test_cases_really_are_singular(case):
    """The test data, checked by the oracle: det J = 0 at the point."""
    f, x, _ = SINGULAR[case]
    assert abs(np.linalg.det(oracle.dense_jacobian(f, x))) < 1e-14


@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
@pytest.mark.parametrize("case", sorted(SINGULAR))
def test_singular_jacobian(case, mode):
    f, x, lines = SINGULAR[case]
    assert isinstance(si.source(f, mode), str)  # fine at transform time
    ones = tuple(1.0 for _ in x)
    with pytest.raises(si.SingularJacobianError) as info:
        if mode == "ijvp":
            si.ijvp(f, x, ones)
        else:
            si.ivjp(f, *x)[1](ones)
    err = info.value
    assert err.lineno in lines, f"lineno {err.lineno}, expected one of {sorted(lines)}"
    assert f"{CASES_FILE.name}:{err.lineno}" in str(err), str(err)


@pytest.mark.parametrize("mode", ["ijvp", "ivjp"])
def test_nearby_regular_point_gives_finite_results(mode):
    """Just off the singular point the inverse modes work and agree with the oracle."""
    checks.check_modes(si, ec.zero_pivot, (0.5, 1e-3), modes=(mode,))


def _logs_in_unrolled_loop(x):
    for k in range(3):
        x = x + math.log(x - k)
    return x


def test_a_runtime_error_in_an_unrolled_loop_cites_its_source_line():
    """The generated comments of unrolled iterations read "# line N (k = 2): ..."."""
    with pytest.raises(si.NonFiniteError) as info:
        si.jvp(_logs_in_unrolled_loop, (1.5,), (1.0,))       # log of a negative number at k = 2
    line = _logs_in_unrolled_loop.__code__.co_firstlineno + 2
    assert f"test_errors.py:{line}:" in str(info.value)
    assert "`x = x + math.log(x - k)`" in str(info.value)
