"""Keyword-only parameters, as JAX takes them: with a default value they are constants fixed
at that default (the primals are positional); another value is bound with
``functools.partial``, which the API now takes (its keywords become default values). A
keyword-only parameter without a default, a ``wrt`` naming one and a partial that binds
positional parameters are ArgumentErrors saying what to do instead; the command line refuses
the first at the parameter.

The constants are built into the generated code, so changing them (rebinding
``__kwdefaults__``, an in-place change of that dict or of a default array, another partial)
must give new code, in this process and in the cache of generated modules.

Reference: the dense complex-step Jacobian (tests/oracle.py) of the same arithmetic written
with every parameter positional, called with the constants' values.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.errors import ArgumentError, ParameterError

import oracle
from modules import load_function
from test_gaps_defaults import check_every_mode

SOURCE = '''
import math
import numpy as np

W = np.array([1.0, 3.0])


def kwonly(x, y, *, scale=2.0, w=W):
    return x * scale + w[0] * math.sin(y), y * w[1] - x * x * scale


def positional(x, y, scale, w):
    return x * scale + w[0] * math.sin(y), y * w[1] - x * x * scale


def mixed(x, y, a=0.5, *, scale=2.0):
    return x * a * scale + math.sin(y), y * scale - x * a


def mixed_positional(x, y, a, scale):
    return x * a * scale + math.sin(y), y * scale - x * a


def nodefault(x, *, scale):
    return x * scale
'''

X = (0.3, 0.4)


def _line(text: str) -> int:
    return SOURCE.splitlines().index(text) + 1

V = np.array([0.7, -1.1])


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gaps_kwonly")
    return load_function(folder, "kwonly", SOURCE).__globals__


def _check(f, reference, constants):
    """Every mode of ``f`` at X against the oracle of ``reference(*X, *constants)``."""
    check_every_mode(f, X, reference, X + tuple(constants), calls=2)


def test_keyword_only_defaults_are_constants(mod):
    _check(mod["kwonly"], mod["positional"], (2.0, mod["W"].copy()))
    _check(mod["mixed"], mod["mixed_positional"], (0.5, 2.0))
    assert "2.0" in si.source(mod["kwonly"], "jvp")          # built in, not a parameter
    assert "def kwonly_jvp(x, y, x_dot, y_dot)" in si.source(mod["kwonly"], "jvp")


def test_partial_binds_other_values(mod):
    f = mod["kwonly"]
    _check(functools.partial(f, scale=5.0), mod["positional"], (5.0, mod["W"].copy()))
    # same source, another constant: a new entry of the cache, not the one of scale=5.0
    _check(functools.partial(f, scale=-7.0), mod["positional"], (-7.0, mod["W"].copy()))
    w = np.array([0.5, -2.0])
    _check(functools.partial(f, w=w, scale=1.5), mod["positional"], (1.5, w))
    # a keyword for a positional parameter that defaults follow: a default, passive
    _check(functools.partial(mod["mixed"], a=1.25, scale=3.0), mod["mixed_positional"], (1.25, 3.0))


def test_changed_keyword_defaults_are_seen(mod):
    f, ref = mod["kwonly"], mod["positional"]
    saved = dict(f.__kwdefaults__)
    try:
        _check(f, ref, (2.0, mod["W"].copy()))
        f.__kwdefaults__["scale"] = 4.0                    # in place
        _check(f, ref, (4.0, mod["W"].copy()))
        f.__kwdefaults__ = {"scale": -1.0, "w": np.array([2.0, 0.25])}    # rebound
        _check(f, ref, (-1.0, np.array([2.0, 0.25])))
        f.__kwdefaults__["w"][1] = 5.0                     # a default array changed in place
        _check(f, ref, (-1.0, np.array([2.0, 5.0])))
    finally:
        f.__kwdefaults__ = saved
    _check(f, ref, (2.0, mod["W"].copy()))


def test_derivatives_decorator(mod):
    d = si.derivatives(mod["kwonly"])
    assert d(0.3, 0.4, scale=3.0) == mod["positional"](0.3, 0.4, 3.0, mod["W"])
    _check(d, mod["positional"], (2.0, mod["W"].copy()))


def test_refusals(mod, tmp_path, capsys):
    for call in (lambda: si.jvp(mod["nodefault"], (0.3,), (1.0,)), lambda: si.derivatives(mod["nodefault"])):
        with pytest.raises(ParameterError, match=r"the keyword-only parameter 'scale' has no default value.*"
                                                 r"functools.partial\(nodefault, scale=\.\.\.\)") as info:
            call()
        assert isinstance(info.value, ArgumentError) and isinstance(info.value, SyntaxError)
        assert info.value.filename.endswith("kwonly.py")
        assert (info.value.lineno, info.value.offset) == (_line("def nodefault(x, *, scale):"), 21)
    nodefault = mod["nodefault"]
    bare = type(nodefault)(nodefault.__code__, {}, "nodefault")        # its source cannot be read
    bare.__code__ = bare.__code__.replace(co_filename="<nowhere>")
    with pytest.raises(ArgumentError, match=r"keyword-only parameter\(s\) 'scale' without a default value.*"
                                            r"functools.partial\(nodefault, scale=\.\.\.\)"):
        si.jvp(bare, (0.3,), (1.0,))
    with pytest.raises(ArgumentError, match=r"wrt names 'scale', keyword-only in def kwonly \(.*kwonly.py:8\).*"
                                            "make it a positional parameter"):
        si.jvp(mod["kwonly"], X, (1.0,), wrt=("x", "scale"))
    with pytest.raises(ArgumentError, match=r"binds positional parameter\(s\) \(x\).*def g\(y\)"):
        si.jvp(functools.partial(mod["kwonly"], 0.3), (0.4,), (1.0,))
    with pytest.raises(ArgumentError, match="binds 'x' by keyword, but 'y' after it has no default"):
        si.jvp(functools.partial(mod["mixed"], x=0.3), (0.4,), (1.0,))
    with pytest.raises(ArgumentError, match="binds 'zz', which is not a parameter of kwonly"):
        si.jvp(functools.partial(mod["kwonly"], zz=0.3), X, (1.0, 0.0))
    with pytest.raises(ArgumentError, match="shapes names 'w', a keyword-only parameter"):
        si.source(mod["kwonly"], "jvp", shapes={"w": 2})
    path = tmp_path / "cli_kwonly.py"
    path.write_text(SOURCE, encoding="utf-8")
    assert cli.main(["gen", f"{path}:nodefault", "-o", "-", "--no-progress"]) != 0
    line = _line("def nodefault(x, *, scale):")
    err = capsys.readouterr().err
    assert f"cli_kwonly.py:{line}:21: error: in def nodefault: the keyword-only parameter 'scale' has no " \
           "default value" in err and "give it one (scale=...)" in err


def test_command_line_takes_keyword_only_defaults(tmp_path, capsys, mod):
    path = tmp_path / "cli_kwonly.py"
    path.write_text(SOURCE, encoding="utf-8")
    assert cli.main(["gen", f"{path}:kwonly", "--modes", "jvp", "-o", str(tmp_path / "out.py"),
                     "--no-progress"]) == 0
    namespace: dict = {}
    exec(compile((tmp_path / "out.py").read_text(), str(tmp_path / "out.py"), "exec"), namespace)
    y, y_dot = namespace["kwonly_jvp"](*X, *V)
    J = oracle.dense_jacobian(mod["positional"], X + (2.0, mod["W"].copy()), ("x", "y"))
    np.testing.assert_allclose(y_dot, J @ V, rtol=1e-12)


def test_derivatives_of_a_partial(mod):
    d = si.derivatives(functools.partial(mod["kwonly"], scale=0.5))
    assert d(0.3, 0.4) == mod["positional"](0.3, 0.4, 0.5, mod["W"])
    _check(d, mod["positional"], (0.5, mod["W"].copy()))
