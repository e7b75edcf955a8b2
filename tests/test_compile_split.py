"""Long generated modules are compiled one function at a time (back/compile.by_function):
the code object must be the one compile() gives for the whole text."""

from __future__ import annotations

import pathlib

import pytest

from s2s_invad.back import compile as C

TESTS = pathlib.Path(__file__).resolve().parent
GENERATED = sorted(TESTS.glob("golden/*.py")) + sorted(TESTS.glob("golden_cli/*_derivs.py"))


def _whole(text, filename, monkeypatch):
    monkeypatch.setattr(C, "SPLIT_LINES", 10 ** 12)
    return C.compile_module(text, filename)


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.name)
def test_by_function_is_the_whole_compile(path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    split = C.by_function(text, "gen.py")
    assert split is not None
    whole = _whole(text, "gen.py", monkeypatch)
    assert split == whole
    assert list(split.co_positions()) == list(whole.co_positions())
    for a, b in zip(split.co_consts, whole.co_consts):
        if hasattr(b, "co_code"):
            assert a == b and list(a.co_positions()) == list(b.co_positions())


def test_compile_module_splits_long_modules(monkeypatch):
    text = (TESTS / "golden" / "ex1.vjp.py").read_text(encoding="utf-8")
    monkeypatch.setattr(C, "SPLIT_LINES", 0)
    namespace = C.load_module(text, "<split>")
    assert callable(namespace["ex1_vjp"]) and callable(namespace["ex1_vjp_bwd"])


def test_not_split_when_not_a_plain_module():
    assert C.by_function("x = 1\n", "m.py") is None
    text = "import math\n\n\ndef f(x):\n    return math.sin(x)\n\n\nclass A:\n    pass\n"
    assert C.by_function(text, "m.py") is None or C.by_function(text, "m.py") == compile(text, "m.py", "exec")
