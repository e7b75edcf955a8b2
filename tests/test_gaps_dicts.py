"""Module-level dicts of constants (``PARAMS = {"k": 0.5}``) read inside the function as
``PARAMS["k"]``: evaluated at transform time like other module constants, with
transform-time keys (``[key]``, ``.get``, ``in``, ``len``, ``.keys()``, ``.values()``,
``.items()``, iteration, nested dicts, tuple keys). Changing one in the function, a missing
key, a key that depends on the inputs and a value that is not a number are refused at their
line, saying what to write instead.

Two ways in: a file read as text (the command line: ``module_names`` evaluates the dict
display), and a live function, whose module values ``loader.classify`` describes.

Reference: the user's function itself, rebuilt by tests/oracle.py with its dicts put back
into its globals, differentiated by the complex step.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.errors import UnsupportedSyntaxError
from s2s_invad.front import loader

import oracle
from modules import load_function

SOURCE = '''
import math
import numpy as np

PARAMS = {"k": 0.5, "c": 2.0, "method": "rk4", "w": [1.0, -2.0], "nested": {"a": 3.0},
          "arr": np.array([0.25, 4.0])}
TABLE = {(0, 1): 0.25, 2: 4.0}


def model(x, y):
    k = PARAMS["k"] * PARAMS["nested"]["a"]
    if "c" in PARAMS and len(PARAMS) == 6:
        y = y * PARAMS.get("c", 1.0) + PARAMS.get("missing", 0.0)
    total = 0.0
    for key in PARAMS:
        if key in ("k", "c"):
            total = total + PARAMS[key]
    for key, value in TABLE.items():
        total = total + value * len(TABLE.keys())
    return k * math.sin(x) + PARAMS["w"][1] * y + TABLE[(0, 1)] * total, y * PARAMS["arr"][1] - x * x


def changes(x):
    PARAMS["k"] = 3.0
    return x


def changes_by_method(x):
    PARAMS.update(k=3.0)
    return x


def reads_a_string(x):
    return x * PARAMS["method"]


def misses(x):
    return x * PARAMS["kk"]


def runtime_key(x):
    return x * PARAMS.get(x)
'''

X = (0.3, 0.4)
V, W = np.array([0.7, -1.1]), np.array([-0.4, 0.9])


def _line(text: str) -> int:
    return SOURCE.splitlines().index(text) + 1


def _reference(f, dicts):
    """(y, J) of the user's function at X by the complex step, its dicts put back."""
    g = oracle.rebuild(f)
    g.__globals__.update(dicts)
    y = tuple(float(np.real(v)) for v in g(*map(complex, X)))
    columns = []
    for j in range(2):
        point = [complex(v) for v in X]
        point[j] += complex(0.0, oracle.STEP)
        columns.append([np.imag(v) / oracle.STEP for v in g(*point)])
    return y, np.array(columns).T


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return load_function(tmp_path_factory.mktemp("gaps_dicts"), "dicts_model", SOURCE + "\ndicts_model = model\n"
                         ).__globals__


def _dicts(mod):
    return {"PARAMS": mod["PARAMS"], "TABLE": mod["TABLE"]}


def test_live_function_every_mode(mod):
    f = mod["model"]
    y_ref, J = _reference(f, _dicts(mod))
    for _ in range(2):
        y, y_dot = si.jvp(f, X, tuple(V))
        np.testing.assert_allclose(y, y_ref, rtol=1e-13)
        np.testing.assert_allclose(y_dot, J @ V, rtol=1e-12)
        np.testing.assert_allclose(si.vjp(f, *X)[1](tuple(W)), J.T @ W, rtol=1e-12)
        np.testing.assert_allclose(si.ijvp(f, X, tuple(V))[1], np.linalg.solve(J, V), rtol=1e-11)
        np.testing.assert_allclose(si.ivjp(f, *X)[1](tuple(W)), np.linalg.solve(J.T, W), rtol=1e-11)
        assert si.slogdet(f, X)[1] == pytest.approx(tuple(np.linalg.slogdet(J)), rel=1e-12)


def test_a_dict_changed_from_outside_is_seen(mod):
    f, params = mod["model"], mod["PARAMS"]
    si.jvp(f, X, tuple(V))
    saved = params["k"]
    try:
        params["k"] = -1.75                            # in place, between calls
        y_ref, J = _reference(f, _dicts(mod))
        y, y_dot = si.jvp(f, X, tuple(V))
        np.testing.assert_allclose(y_dot, J @ V, rtol=1e-12)
        np.testing.assert_allclose(y, y_ref, rtol=1e-13)
    finally:
        params["k"] = saved


@pytest.mark.parametrize("name, line, words", [
    ("changes", '    PARAMS["k"] = 3.0', ("'PARAMS' is a module-level dict", "cannot change it", "local variable")),
    ("changes_by_method", "    PARAMS.update(k=3.0)", (".update() of the module dict PARAMS", "cannot change it")),
    ("reads_a_string", '    return x * PARAMS["method"]', ("PARAMS['method'] is a str ('rk4'), not a number",)),
    ("misses", '    return x * PARAMS["kk"]', ("has no key 'kk' (its keys: 'k', 'c', 'method'",)),
    ("runtime_key", "    return x * PARAMS.get(x)", ("depends on a runtime value (`x`)", "transform-time")),
])
def test_refusals_live(mod, name, line, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(mod[name], (0.3,), (1.0,))
    assert info.value.lineno == _line(line)
    for word in words:
        assert word in info.value.msg


def test_command_line(tmp_path, capsys, mod):
    path = tmp_path / "dicts_cli.py"
    path.write_text(SOURCE, encoding="utf-8")
    out = tmp_path / "out.py"
    assert cli.main(["gen", f"{path}:model", "--modes", "jvp,vjp,ijvp", "-o", str(out), "--no-progress"]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    y_ref, J = _reference(mod["model"], _dicts(mod))
    y, y_dot = namespace["model_jvp"](*X, *V)
    np.testing.assert_allclose(y, y_ref, rtol=1e-13)
    np.testing.assert_allclose(y_dot, J @ V, rtol=1e-12)
    _, pullback = namespace["model_vjp"](*X)
    np.testing.assert_allclose(pullback(*W), J.T @ W, rtol=1e-12)
    _, x_dot = namespace["model_ijvp"](*X, *V)
    np.testing.assert_allclose(x_dot, np.linalg.solve(J, V), rtol=1e-11)
    for name, line in (("changes", '    PARAMS["k"] = 3.0'), ("misses", '    return x * PARAMS["kk"]')):
        assert cli.main(["gen", f"{path}:{name}", "-o", "-", "--no-progress"]) != 0
        assert f"dicts_cli.py:{_line(line)}:" in capsys.readouterr().err
