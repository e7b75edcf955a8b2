"""The cache of generated modules (issue 10, item 9): where it is, when it is refused, how it
is bounded, that a second process skips the transform, and what its key depends on."""

import importlib.util
import itertools
import json
import linecache
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.api import _compiled
from s2s_invad.back import cache
from s2s_invad.back.callspec import CallSpec, ParamSpec
from s2s_invad.errors import CacheWarning

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = """\
import math

import s2s_invad as si

G = 0.5


def model(x, y):
    x = x + G * math.sin(y)
    y = y * math.exp(x)
    return x, y


@si.derivatives(wrt=("y",))
def decorated(x, y):
    y = y * math.exp(G * x)
    return y
"""
X = (0.3, 0.7)
_names = itertools.count()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh cache folder for this test (not created yet), and fresh per-process state."""
    path = tmp_path / "cache"
    monkeypatch.setenv("S2S_INVAD_CACHE", str(path))
    monkeypatch.setattr(cache, "_warned", set())
    monkeypatch.setattr(cache, "_counts", {})
    return path


def load(where, source=SOURCE, modname=None):
    """Import ``source`` from a file under ``where`` as a new module (a new function object:
    this process's memo of compiled code does not know it)."""
    modname = modname or f"s2s_cache_model_{next(_names)}"
    path = pathlib.Path(where) / f"{modname}.py"
    if not path.exists():
        path.write_text(source)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entries(path) -> list[str]:
    return sorted({p.name.rsplit(".", 1)[0] for p in pathlib.Path(path).iterdir() if not p.name.startswith(".")})


def expected_jvp(g=0.5):
    x, y = X
    x1 = x + g * np.sin(y)
    y1 = y * np.exp(x1)
    dx1 = 1.0 + g * np.cos(y) * 0.5
    return (x1, y1), (dx1, np.exp(x1) * 0.5 + y * np.exp(x1) * dx1)


def assert_jvp(fn, g=0.5):
    (y, y_dot), (want, want_dot) = si.jvp(fn, X, (1.0, 0.5)), expected_jvp(g)
    np.testing.assert_allclose(y + y_dot, want + want_dot, rtol=1e-14)


# -- where -------------------------------------------------------------------------------------

def test_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("S2S_INVAD_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.location() == str(tmp_path / "home" / ".cache" / "s2s_invad")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.location() == str(tmp_path / "xdg" / "s2s_invad")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")              # the spec says: ignore it
    assert cache.location() == str(tmp_path / "home" / ".cache" / "s2s_invad")
    monkeypatch.setenv("S2S_INVAD_CACHE", "~/elsewhere")
    assert cache.location() == str(tmp_path / "home" / "elsewhere")
    for off in ("off", "OFF", "0", "", " "):
        monkeypatch.setenv("S2S_INVAD_CACHE", off)
        assert cache.location() is None


def test_entries_are_private_files_in_a_private_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("S2S_INVAD_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cache, "_counts", {})
    module = load(tmp_path)
    assert_jvp(module.model)
    folder = tmp_path / "xdg" / "s2s_invad"
    assert folder.stat().st_mode & 0o777 == 0o700
    [name] = entries(folder)
    assert name.startswith(f"{module.__name__}.model.jvp-")
    for suffix in (".py", ".json", ".code"):
        assert (folder / (name + suffix)).stat().st_mode & 0o777 == 0o600
    spec, fn, _ = _compiled(module.model, None, "jvp", (0.5, 0.25))
    assert fn.__code__.co_filename == str(folder / (name + ".py"))
    assert (folder / (name + ".py")).read_text() == si.source(module.model, "jvp")
    meta = json.loads((folder / (name + ".json")).read_text())
    assert meta["spec"] == spec.to_json()
    assert spec.signature == (ParamSpec("x", None, True), ParamSpec("y", None, True))


def test_disabled_cache_writes_nothing_and_keeps_tracebacks(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for off in ("off", "0", ""):
        monkeypatch.setenv("S2S_INVAD_CACHE", off)
        module = load(tmp_path)
        assert_jvp(module.model)
        _, fn, _ = _compiled(module.model, None, "jvp", (0.5, 0.25))
        filename = fn.__code__.co_filename
        assert filename.startswith("<s2s_invad generated: model.jvp-")
        assert "def model_jvp(x, y, x_dot, y_dot):" in linecache.getline(filename, fn.__code__.co_firstlineno)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".py")) == []


# -- refused folders ----------------------------------------------------------------------------

def _refused(folder, tmp_path, fragment):
    """Two new functions in a refused folder: right results, one warning, nothing written."""
    before = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            assert_jvp(load(tmp_path).model)
    messages = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(messages) == 1, messages
    assert fragment in messages[0] and str(folder) in messages[0] and "S2S_INVAD_CACHE" in messages[0]
    assert (sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None) == before


def test_a_folder_others_can_write_is_refused(folder, tmp_path):
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)
    _refused(folder, tmp_path, "others can write to it (mode 0777")
    folder.chmod(0o720)
    cache._warned.clear()                                               # a new process
    _refused(folder, tmp_path, "others can write to it (mode 0720")


def test_a_folder_of_another_user_is_refused(folder, tmp_path, monkeypatch):
    folder.mkdir(mode=0o700)
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    _refused(folder, tmp_path, f"owned by uid {me}, not by you (uid {me + 1})")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_folder_really_owned_by_another_uid_is_refused(folder, tmp_path):
    folder.mkdir(mode=0o700)
    os.chown(folder, 54321, 54321)
    _refused(folder, tmp_path, "owned by uid 54321")


def test_symlinks_to_someone_elses_folder_are_refused_and_to_your_own_used(folder, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    folder.symlink_to(shared)
    _refused(folder, tmp_path, "others can write to it")
    folder.unlink()
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    folder.symlink_to(mine)
    assert_jvp(load(tmp_path).model)
    assert len(entries(mine)) == 1
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    cache._warned.clear()                                               # a new process
    _refused(folder, tmp_path, f"a symlink owned by uid {me}")


def test_a_file_in_the_way_is_refused(folder, tmp_path, monkeypatch):
    folder.write_text("not a folder")
    _refused(folder, tmp_path, "it is not a directory")
    assert folder.read_text() == "not a folder"
    monkeypatch.setenv("S2S_INVAD_CACHE", str(folder / "below"))
    _refused(folder / "below", tmp_path, "it cannot be created")


# -- the bound ----------------------------------------------------------------------------------

def test_pruning_removes_the_least_recently_used_down_to_the_bound(tmp_path):
    for i in range(10):
        base = tmp_path / f"m.f{i}.jvp-{i:024x}"
        for suffix, size in ((".py", 1000), (".json", 100), (".code", 900)):
            (base.parent / (base.name + suffix)).write_bytes(b"x" * size)
            os.utime(base.parent / (base.name + suffix), (1000 + i, 1000 + i))
    os.utime(tmp_path / f"m.f0.jvp-{0:024x}.json", (5000, 5000))        # f0 was used last
    (tmp_path / "notes.txt").write_text("mine")                          # not an entry: kept
    (tmp_path / ".s2s_invad-old.tmp").write_text("")                     # an interrupted write
    os.utime(tmp_path / ".s2s_invad-old.tmp", (0, 0))
    (tmp_path / ".s2s_invad-new.tmp").write_text("")                     # maybe being written now
    assert cache.prune(str(tmp_path), max_entries=10, max_bytes=10**6) == [10, 20000]
    assert cache.prune(str(tmp_path), max_entries=4, max_bytes=10**6) == [3, 6000]
    assert entries(tmp_path) == ["m.f0.jvp-" + "0" * 24, f"m.f8.jvp-{8:024x}", f"m.f9.jvp-{9:024x}", "notes"]
    assert (tmp_path / ".s2s_invad-new.tmp").exists() and not (tmp_path / ".s2s_invad-old.tmp").exists()
    assert cache.prune(str(tmp_path), max_entries=100, max_bytes=5000) == [1, 2000]   # bytes bound
    assert entries(tmp_path) == ["m.f0.jvp-" + "0" * 24, "notes"]


def test_the_bound_holds_while_the_api_writes(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 4)
    source = "\n\n".join(f"def f{i}(x):\n    return x * {i + 2}.0\n" for i in range(9))
    module = load(tmp_path, source)
    for i in range(9):
        assert si.jvp(getattr(module, f"f{i}"), (1.5,), (1.0,)) == (1.5 * (i + 2), float(i + 2))
        assert len(entries(folder)) <= 4
    names = entries(folder)
    assert any(".f8.jvp-" in n for n in names) and not any(".f0.jvp-" in n for n in names)


def test_a_hit_makes_the_entry_recent_and_makes_nothing(folder, tmp_path):
    first = load(tmp_path)
    assert_jvp(first.model)
    [name] = entries(folder)
    os.utime(folder / (name + ".json"), (1000, 1000))
    again = load(tmp_path, modname=first.__name__)                      # same file, a new function

    def make():
        raise AssertionError("transformed although the entry is there")
    spec, namespace = cache.fetch(again.model, {"mode": "jvp", "memory": "store", "schedule": True,
                                                "unroll": None, "wrt": None, "lengths": [], "arrays": ()}, make)
    assert spec.entry == "model_jvp" and namespace["model_jvp"].__code__.co_filename.endswith(name + ".py")
    assert (folder / (name + ".json")).stat().st_mtime > 1000


def test_dumping_the_stages_bypasses_the_cache(folder, tmp_path, monkeypatch, capsys):
    first = load(tmp_path)
    assert_jvp(first.model)
    monkeypatch.setenv("S2S_INVAD_DUMP", "evaluate")
    assert_jvp(load(tmp_path, modname=first.__name__).model)
    assert "== after evaluate ==" in capsys.readouterr().err


def test_a_damaged_entry_is_ignored_and_rewritten(folder, tmp_path):
    first = load(tmp_path)
    assert_jvp(first.model)
    [name] = entries(folder)
    good = (folder / (name + ".py")).read_text()
    (folder / (name + ".py")).write_text(good.replace("math.cos(y)", "2.0 * math.cos(y)"))
    assert_jvp(load(tmp_path, modname=first.__name__).model)
    assert (folder / (name + ".py")).read_text() == good
    (folder / (name + ".json")).write_text("{not json")
    assert_jvp(load(tmp_path, modname=first.__name__).model)
    assert json.loads((folder / (name + ".json")).read_text())["spec"]["entry"] == "model_jvp"
    (folder / (name + ".code")).write_bytes(b"junk")
    assert_jvp(load(tmp_path, modname=first.__name__).model)


# -- across processes ---------------------------------------------------------------------------

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import s2s_invad as si
from s2s_invad import _astlib, pipeline
from s2s_invad.api import _compiled
from s2s_invad.back import cache

if sys.argv[2] == "warm":                   # any step of the transform, or a compile, is a failure
    def transformed(*args, **kwargs):
        raise AssertionError("the transform ran in the second process")
    pipeline._analyse = pipeline.render_module = transformed
    _astlib.parse = _astlib.parse_function_at = cache.compile_module = transformed

import model
x, w = (0.3, 0.7), (1.0, 0.5)
out = {"jvp": si.jvp(model.model, x, w), "ijvp": si.ijvp(model.model, x, w),
       "slogdet": si.slogdet(model.model, x), "decorated": model.decorated.jvp(x, (1.0,))}
for mode, memory in (("vjp", "store"), ("vjp", "recompute"), ("ivjp", "store")):
    y, back = getattr(si, mode)(model.model, *x, **({"memory": memory} if mode == "vjp" else {}))
    out[mode + memory] = [y, back(w)]
try:
    si.jvp(model.model, (1.0,), w)
except si.ArgumentError as exc:
    out["error"] = str(exc)
out["file"] = _compiled(model.model, None, "jvp", (0.5, 0.25))[1].__code__.co_filename
print(json.dumps(out))
"""


def test_a_second_process_skips_the_transform(tmp_path):
    (tmp_path / "model.py").write_text(SOURCE)
    env = dict(os.environ, S2S_INVAD_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    runs = {}
    for which, seed in (("cold", "0"), ("warm", "12345")):        # the key does not hang on hashing
        proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), which], capture_output=True,
                              text=True, env=dict(env, PYTHONHASHSEED=seed), timeout=120)
        assert proc.returncode == 0, proc.stderr
        runs[which] = json.loads(proc.stdout)
    assert runs["warm"] == runs["cold"]
    assert "expected 2 value(s) (x, y), got 1" in runs["warm"]["error"]
    assert runs["warm"]["file"].startswith(str(tmp_path / "cache" / "model.model.jvp-"))
    assert len(entries(tmp_path / "cache")) == 7


# -- the key ----------------------------------------------------------------------------------------

OPTIONS = {"mode": "jvp", "memory": "store", "schedule": True, "wrt": None}


def key(fn, **changes):
    return cache.entry_key(fn, **{**OPTIONS, **changes})


def test_the_key_changes_with_what_the_code_depends_on(tmp_path, monkeypatch):
    module = load(tmp_path)
    base = key(module.model)
    assert base == key(module.model) and len(base) == 64
    variants = [key(module.model, mode="ijvp"), key(module.model, memory="recompute"),
                key(module.model, schedule=False), key(module.model, wrt=("x",)), key(module.decorated.__wrapped__)]
    module.G = 0.75                                                     # a constant's value
    variants.append(key(module.model))
    module.G = 0.5
    assert key(module.model) == base
    edited = load(tmp_path, SOURCE + "# an edit elsewhere in the file\n")  # the file's text
    variants.append(key(edited.model))
    with monkeypatch.context() as patched:
        patched.setattr(cache, "package_fingerprint", lambda: "another s2s_invad")
        variants.append(key(module.model))
    assert len(set(variants + [base])) == len(variants) + 1


def test_the_key_sees_tuples_arrays_and_helpers(tmp_path):
    module = load(tmp_path, "import numpy as np\nT = (1.0, 2.0)\nA = np.ones(3)\nH = 2.0\n\n\n"
                            "def helper(x):\n    return H * x\n\n\n"
                            "def f(x):\n    return helper(x) + T[0] * A[1] * x\n")
    seen = {key(module.f)}
    for change in (lambda: setattr(module, "T", (1.0, 3.0)), lambda: module.A.__setitem__(2, 5.0),
                   lambda: setattr(module, "A", module.A.astype(np.float32)), lambda: setattr(module, "H", 3.0)):
        change()
        seen.add(key(module.f))
    assert len(seen) == 5
    module.H = object()                                                 # nothing to hash it by
    assert key(module.f) is None


def test_a_function_without_source_text_is_not_cached(folder):
    namespace = {}
    exec("def f(x):\n    return 2.0 * x\n", namespace)
    assert key(namespace["f"]) is None
    with pytest.raises(si.SourceUnavailableError):
        si.jvp(namespace["f"], (1.0,), (1.0,))
    assert not folder.exists()


# -- the call spec and the command ----------------------------------------------------------------

def test_the_call_spec_is_plain_json_and_checked():
    spec = CallSpec("f", "f_jvp", (ParamSpec("x", None, True), ParamSpec("u", 3, True),
                                   ParamSpec("c", None, False)), (None, 3, (2, None)), {"np": "numpy"})
    assert CallSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    for bad in ({**spec.to_json(), "entry": "f_jvp; import os"}, {**spec.to_json(), "signature": "x"},
                {**spec.to_json(), "signature": [["x", -1, True]]}, {**spec.to_json(), "out_spec": "x"},
                {**spec.to_json(), "modules": {"np": "os"}}, {**spec.to_json(), "format": 0}, ["f"]):
        with pytest.raises(ValueError):
            CallSpec.from_json(bad)


def test_the_cache_command_shows_and_clears(folder, tmp_path, capsys):
    assert cli.main(["cache"]) == 0
    assert f"cache: {folder} (not created yet" in capsys.readouterr().out
    assert_jvp(load(tmp_path).model)
    assert cli.main(["cache"]) == 0
    assert "(1 entries, " in capsys.readouterr().out
    assert cli.main(["cache", "--clear"]) == 0
    assert f"removed 1 entries from {folder}" in capsys.readouterr().err
    assert entries(folder) == []
    folder.chmod(0o777)
    assert cli.main(["cache", "--clear"]) == 2
    assert "not clearing" in capsys.readouterr().err
