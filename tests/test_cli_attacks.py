"""Inputs an attacker tried on ``s2s-invad gen`` and ``Derivatives.write``: a function defined
twice, an empty path, a mode given as one string, file names with control characters, and
``--backend numba`` where numba is missing. Run in-process (:func:`s2s_invad.cli.main`)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.back import numba_backend
from s2s_invad.errors import ArgumentError, BackendError

TWICE = """\
def f(x, y):
    return x * y, x - y
def f(x, y):
    return x + y, x - y
"""


def gen(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["gen", *map(str, argv), "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def test_file_colon_func_takes_the_definition_python_binds(tmp_path, capsys):
    (tmp_path / "twice.py").write_text(TWICE)
    code, out, _ = gen(capsys, f"{tmp_path / 'twice.py'}:f", "--modes", "jvp", "-o", "-")
    assert code == 0
    assert "line 3" in out and "return x + y, x - y" in out
    assert "x * y" not in out


def test_whole_file_gen_emits_only_the_last_definition(tmp_path, capsys):
    (tmp_path / "twice.py").write_text(TWICE + "def g(x):\n    return 2.0 * x\n")
    code, out, _ = gen(capsys, tmp_path / "twice.py", "--modes", "jvp", "-o", "-")
    assert code == 0
    assert out.count("def f_jvp(") == 1 and "def g_jvp(" in out
    assert "x * y" not in out
    namespace: dict = {}
    exec(compile(out, "twice_derivs.py", "exec"), namespace)
    y, y_dot = namespace["f_jvp"](0.5, 2.0, 1.0, 0.0)
    assert tuple(y) == (2.5, -1.5) and tuple(y_dot) == (1.0, 1.0)      # d(x + y), d(x - y)


def test_the_api_agrees_on_the_last_definition(tmp_path):
    f = si.from_source(TWICE, "f")
    y, y_dot = si.jvp(f, (0.5, 2.0), (1.0, 0.0))
    assert tuple(y) == (2.5, -1.5) and tuple(y_dot) == (1.0, 1.0)


@pytest.fixture
def decorated():
    return si.derivatives(si.from_source("def h(x, y):\n    return x + y, x * y\n", "h"))


@pytest.mark.parametrize("path", ["", None, 3])
def test_write_refuses_an_empty_or_non_path(decorated, path):
    with pytest.raises(ArgumentError, match="path"):
        decorated.write(path)


def test_write_takes_one_mode_as_a_string(decorated, tmp_path):
    text = decorated.write(str(tmp_path / "h_derivs.py"), modes="jvp")
    assert "def h_jvp(" in text and "def h_vjp(" not in text
    assert decorated.write(tmp_path / "h2_derivs.py", modes=("vjp",)).count("def h_vjp(") == 1
    with pytest.raises(ArgumentError, match="unknown mode 'nope'"):
        decorated.write(str(tmp_path / "h3.py"), modes="nope")


@pytest.mark.parametrize("name", ["we\nird.py", "evil\u202eyp.py", "tab\x1bname.py"])
def test_skipped_notes_escape_the_file_name(tmp_path, capsys, name):
    source = tmp_path / name
    source.write_text("def f(x, y):\n    return x * y, x - y\n"
                      "def g(x):\n    while x:\n        x = x - 1\n    return x\n")
    code, out, err = gen(capsys, source, "-o", "-")
    assert code == 0 and "def f_jvp(" in out
    notes = [line for line in err.splitlines() if "skipped g" in line]
    assert len(notes) == 1, err
    assert notes[0].isprintable()
    assert repr(name)[1:-1] in notes[0]                        # as the generated header shows it
    assert all(line.startswith("s2s-invad: ") for line in err.splitlines())


@pytest.fixture
def no_numba(monkeypatch):
    """numba missing: ``import numba`` fails, and the cached verdict of the check is reset."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(numba_backend, "_checked", None)


def test_gen_backend_numba_without_numba_is_refused(tmp_path, capsys, no_numba):
    (tmp_path / "m.py").write_text("def f(x, y):\n    return x + y, x * y\n")
    with pytest.raises(BackendError, match=r"s2s_invad\[numba\]"):
        si.jvp(si.from_source("def k(x):\n    return 2.0 * x\n", "k"), (1.0,), (1.0,), backend="numba")
    for output in ("-", tmp_path / "m_derivs.py"):
        code, out, err = gen(capsys, tmp_path / "m.py", "--backend", "numba", "-o", output)
        assert code == 2 and out == ""
        assert "error: --backend numba" in err and 'pip install "s2s_invad[numba]"' in err
    assert not (tmp_path / "m_derivs.py").exists()


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")
def test_gen_backend_numba_with_numba_still_works(tmp_path, capsys):
    (tmp_path / "m.py").write_text("def f(x, y):\n    return x + y, x * y\n")
    code, out, _ = gen(capsys, tmp_path / "m.py", "--backend", "numba", "--modes", "jvp", "-o", "-")
    assert code == 0 and "_nbrt" in out


def test_an_empty_output_name_is_refused(tmp_path, capsys):
    (tmp_path / "one.py").write_text("def f(x):\n    return 2.0 * x\n")
    code, _, err = gen(capsys, tmp_path / "one.py", "--modes", "jvp", "-o", "")
    assert code != 0 and "the file name is empty" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.py"]       # nothing written
