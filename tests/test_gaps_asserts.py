"""assert statements on transform-time values (shapes, lengths, constants), with any message:
an f-string or another expression is evaluated only when the condition fails while the
function is transformed, and quoted in the error at the assert's line. An assert whose
condition depends on a runtime value is refused at its line (the generated code has no
branches to check it with); the same source read as text by the command line behaves alike.

Reference: NumPy running the user's function (primal), the complex-step oracle (derivatives).
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.errors import EvaluationError, UnsupportedSyntaxError

import checks
from modules import load_function

SOURCE = '''
import numpy as np

N = 4


def checked(x):
    assert x.shape == (N,), f"bad shape {x.shape}, expected ({N},)"
    assert len(x) > 1 and x.ndim == 1, "x must be a vector of several values " + "of length %d" % N
    for i in range(len(x)):
        assert 0 <= i < N, f"index {i!r:>4} out of range"
    return np.sin(x) * 2.0 + x[::-1] ** 2


def fails(x):
    assert x.shape == (3,), f"bad shape {x.shape}: first element {x[0]}, all {x}"
    return x


def fails_plain(x):
    assert len(x) == 3
    return x


def fails_unreadable(x):
    assert len(x) == 3, {"n": 3}[x]
    return x


def runtime(x):
    y = x * 2.0
    assert y[0] > 0, f"y must be positive, got {y[0]}"
    return y
'''


def _line(text: str) -> int:
    return SOURCE.splitlines().index(text) + 1


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return load_function(tmp_path_factory.mktemp("gaps_asserts"), "asserts_model",
                         SOURCE + "\nasserts_model = checked\n").__globals__


X = np.array([0.3, -0.4, 0.8, 1.1])


def test_asserts_that_hold_with_f_string_messages(mod):
    f = mod["checked"]
    y, _ = si.jvp(f, (X,), (np.ones(4),))
    np.testing.assert_allclose(y, f(X), rtol=1e-14)          # NumPy running the function
    checks.check_structured(si, f, (X,))


@pytest.mark.parametrize("name, line, message", [
    ("fails", '    assert x.shape == (3,), f"bad shape {x.shape}: first element {x[0]}, all {x}"',
     "assertion failed at transform time: bad shape (4,): first element <runtime value x_0>, all "
     "[<runtime value x_0> <runtime value x_1> <runtime value x_2> <runtime value x_3>]"),
    ("fails_plain", "    assert len(x) == 3", "assertion failed at transform time"),
    ("fails_unreadable", '    assert len(x) == 3, {"n": 3}[x]',
     'assertion failed at transform time (its message `{"n": 3}[x]` could not be evaluated)'),
])
def test_a_failed_assert_cites_its_line_and_message(mod, name, line, message):
    with pytest.raises(EvaluationError) as info:
        si.jvp(mod[name], (X,), (np.ones(4),))
    assert info.value.msg == message
    assert info.value.lineno == _line(line)
    assert info.value.filename.endswith("asserts_model.py")


def test_an_assert_on_a_runtime_value_is_refused(mod):
    with pytest.raises(UnsupportedSyntaxError) as info:
        si.jvp(mod["runtime"], (X,), (np.ones(4),))
    assert info.value.lineno == _line('    assert y[0] > 0, f"y must be positive, got {y[0]}"')
    assert "the condition of this assert depends on a runtime value (`y_0`)" in info.value.msg
    assert "check them before the call" in info.value.msg


def test_command_line(tmp_path, capsys, mod):
    path = tmp_path / "asserts_cli.py"
    path.write_text(SOURCE, encoding="utf-8")
    out = tmp_path / "out.py"
    assert cli.main(["gen", f"{path}:checked", "--shape", "x=4", "--modes", "jvp", "-o", str(out),
                     "--no-progress"]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    y, _ = namespace["checked_jvp"](X, np.ones(4))
    np.testing.assert_allclose(y, mod["checked"](X), rtol=1e-14)
    for name, line, words in (
            ("fails", '    assert x.shape == (3,), f"bad shape {x.shape}: first element {x[0]}, all {x}"',
             "bad shape (4,)"),
            ("runtime", '    assert y[0] > 0, f"y must be positive, got {y[0]}"', "runtime value")):
        assert cli.main(["gen", f"{path}:{name}", "--shape", "x=4", "-o", "-", "--no-progress"]) != 0
        err = capsys.readouterr().err
        assert f"asserts_cli.py:{_line(line)}:" in err and words in err
