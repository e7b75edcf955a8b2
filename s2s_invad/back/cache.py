"""Back end: the on-disk cache of generated modules, shared by the user's processes.

**Where.** ``$S2S_INVAD_CACHE`` when set: a folder, or ``off``, ``0`` or the empty string to
disable the cache (generated code is then registered with ``linecache`` only and nothing
is written). Otherwise ``$XDG_CACHE_HOME/s2s_invad`` when ``XDG_CACHE_HOME`` is an
absolute path, else ``~/.cache/s2s_invad``.

**What.** One entry per generated mode of a function, three files: the module text
``<stem>-<key>.py`` (a real file, so tracebacks, pdb and coverage show it),
``<stem>-<key>.json`` with the hash of that text and the
:class:`~s2s_invad.back.callspec.CallSpec` the API calls it with, and ``<stem>-<key>.code``,
its bytecode (as in a ``.pyc``: the interpreter's magic number, a hash of the text and of
the file name, then the marshalled code), so a large module is not compiled again either.
For backend="numba" numba adds the machine code of the entry's functions in
``__pycache__/<stem>-<key>.<function>-<line>.py3XX.nbi`` and ``.nbc``, for backend="c" the
library is ``__pycache__/<stem>-<key>.<hash>.so``: part of the entry (pruned and cleared
with it).
The key (:func:`entry_key`) hashes everything the generated text can depend on that is
known before the transform, so a process that asks for the same mode of an unchanged
function loads the entry and runs no part of the transform (:func:`fetch`). With
``S2S_INVAD_DUMP`` set the cache is bypassed, so that the stages run and print.

**Safety.** The folder is used only when it is a directory owned by the current user and
not writable by group or others (through a symlink only if the link is the user's too);
it is created with mode 0700. Otherwise, or when a write fails, the cache is not used and
one :class:`~s2s_invad.errors.CacheWarning` per process and folder says why. Files are
written atomically with mode 0600; an entry whose text does not match its recorded hash,
or whose spec does not parse, is ignored (and rewritten after the transform).

**Bound.** At most :data:`MAX_ENTRIES` entries and :data:`MAX_BYTES` bytes. The first write
of a process counts the folder; a later write that takes this process's count over either
bound counts again. Whenever a count is over, the least recently used entries (a hit
refreshes an entry's time) are removed until both are at most :data:`PRUNE_TO` of their
bound; leftovers of interrupted writes older than an hour go too. Only files named like
entries are ever removed.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib.util
import json
import linecache
import marshal
import os
import re
import stat
import sys
import time
import types
import warnings

from .. import files
from .._version import VERSION
from ..errors import CacheWarning
from .callspec import CallSpec
from .compile import compile_module, load_module

ENV = "S2S_INVAD_CACHE"
OFF = ("", "off", "0")
MAX_ENTRIES = 1000            # entries (three files each)
MAX_BYTES = 256 * 2**20       # 256 MiB
PRUNE_TO = 0.75               # pruning stops at this fraction of both bounds
FORMAT = 1                    # of the entry files; part of every key
_ENTRY = re.compile(r"(.+-[0-9a-f]{24})\.(py|json|code)")
NUMBA_FOLDER = "__pycache__"                  # where numba caches the machine code of an entry
_COMPILED = re.compile(r"(.+-[0-9a-f]{24})\.[^/]+\.(nbi|nbc|so)")
_TEMP = re.compile(r"\.s2s_invad-.+\.tmp")
_STALE_TEMP_S = 3600

_warned: set[str] = set()               # folders warned about, once each
_counts: dict[str, list[int]] = {}      # folder -> [entries, bytes], as this process counted them


# -- where, and whether it is safe ---------------------------------------------------------------

def location() -> str | None:
    """The cache folder the environment asks for; None when the cache is disabled."""
    asked = os.environ.get(ENV)
    if asked is not None:
        if asked.strip().lower() in OFF:
            return None
        return os.path.abspath(os.path.expanduser(asked))
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "s2s_invad"))


def problem(folder: str) -> str | None:
    """Why ``folder`` (which exists) must not be used, or None when it is safe."""
    try:
        st, lst = os.stat(folder), os.lstat(folder)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None:
        if stat.S_ISLNK(lst.st_mode) and lst.st_uid != uid:
            return f"it is a symlink owned by uid {lst.st_uid}, not by you (uid {uid})"
        if st.st_uid != uid:
            return f"it is owned by uid {st.st_uid}, not by you (uid {uid})"
    if st.st_mode & 0o022:
        return f"others can write to it (mode {stat.S_IMODE(st.st_mode):04o}; it should be 0700)"
    return None


def _warn_once(folder: str, why: str) -> None:
    if folder in _warned:
        return
    _warned.add(folder)
    warnings.warn(f"s2s_invad is not using the cache folder {folder}: {why}. Generated code is kept in "
                  f"memory only, so each process transforms again. Set {ENV} to a folder of your own "
                  f"(it is created with mode 0700), or to 'off' to disable the cache and this warning.",
                  CacheWarning, stacklevel=4)


def usable_folder(create: bool) -> str | None:
    """The cache folder if it is enabled and safe (made 0700 if ``create``), else None."""
    folder = location()
    if folder is None:
        return None
    if not os.path.lexists(folder):
        if not create:
            return None
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError as exc:
            _warn_once(folder, f"it cannot be created ({exc.strerror or exc})")
            return None
    why = problem(folder)
    if why is not None:
        _warn_once(folder, why)
        return None
    return folder


# -- the key ---------------------------------------------------------------------------------------

class _Unkeyable(Exception):
    """A value the key cannot capture (the function is then not cached)."""


Unkeyable = _Unkeyable


def describe(value):
    """The key's description of one value (:class:`Unkeyable` if it cannot be captured)."""
    return _value(value, 0, set())


@functools.lru_cache(maxsize=None)
def package_fingerprint() -> str:
    """The version, the Python and AST library versions, and a hash of the package's source,
    so that an edited s2s_invad never reuses what an older one generated."""
    from .. import _astlib as A
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256(repr((VERSION, FORMAT, sys.version_info[:2], sys.implementation.name,
                                  getattr(A.gast, "__version__", None),
                                  getattr(A.astor, "__version__", None))).encode())
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        for name in sorted(n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(handle.read() + b"\0")
    return digest.hexdigest()


def _source_hash(filename: str, module_globals) -> str | None:
    """Hash of the text the transform reads for code from ``filename`` (None: no text)."""
    lines = linecache.getlines(filename, module_globals)
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogatepass")).hexdigest() if lines else None


def _names_read(code: types.CodeType) -> set[str]:
    """Every global, attribute and free name ``code`` and its nested code objects mention."""
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_read(const)
    return names


UNBOUND = object()       # a name bound to nothing in a closure or the globals


def bindings(fn: types.FunctionType):
    """``(name, cell, value)`` for each name ``fn``'s code mentions, in sorted order: ``cell``
    is its closure cell (None for a global), ``value`` what it is bound to there, or
    :data:`UNBOUND` (an empty cell; a builtin or nothing in the globals)."""
    closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    for name in sorted(_names_read(fn.__code__)):
        cell = closure.get(name)
        if cell is None:
            yield name, None, fn.__globals__.get(name, UNBOUND)
            continue
        try:
            yield name, cell, cell.cell_contents
        except ValueError:
            yield name, cell, UNBOUND


def _reads(fn: types.FunctionType, depth: int, seen: set) -> list:
    """What ``fn``'s closure, globals or builtins bind to each name its code mentions."""
    table = []
    for name, cell, value in bindings(fn):
        if value is not UNBOUND:
            table.append([name, _value(value, depth, seen)])
        elif cell is not None:
            table.append([name, "empty cell"])
        else:
            table.append([name, "builtin" if hasattr(builtins, name) else "unbound"])
    return table


def _function(fn: types.FunctionType, depth: int, seen: set) -> list:
    code = fn.__code__
    head = ["function", fn.__module__, fn.__qualname__, code.co_filename, code.co_firstlineno,
            _source_hash(code.co_filename, fn.__globals__)]
    if code.co_name == "<lambda>":                       # lambdas on one line share all of the above
        head.append([[p for p in code.co_positions() if p[2] is not None and p[3] is not None and p[3] > p[2]][:1],
                     hashlib.sha256(code.co_code).hexdigest(), repr(code.co_consts)])
    if id(fn) in seen:                                   # recursion: described once already
        return head
    seen.add(id(fn))
    return head + [_reads(fn, depth + 1, seen)]


def _value(value, depth: int, seen: set):
    """A JSON-able description of a value the transform may read, exact for numbers and
    arrays; :class:`_Unkeyable` for anything it cannot capture."""
    if depth > 12:
        raise _Unkeyable("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return [type(value).__name__, repr(value)]
    if isinstance(value, (tuple, list)):
        return [type(value).__name__, [_value(v, depth + 1, seen) for v in value]]
    if isinstance(value, dict):
        items = [[_value(k, depth + 1, seen), _value(v, depth + 1, seen)] for k, v in value.items()]
        return ["dict", sorted(items, key=repr)]
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        if value.dtype.hasobject:
            raise _Unkeyable("an object array")
        data = hashlib.sha256(numpy.ascontiguousarray(value).tobytes()).hexdigest()
        return ["ndarray", value.dtype.str, list(value.shape), data]
    if numpy is not None and isinstance(value, numpy.generic):
        return ["numpy", value.dtype.str, repr(value.item())]
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__]
    if isinstance(value, types.FunctionType):
        return _function(value, depth, seen)
    from ..api import Derivatives                     # imported on use: the API imports this module
    if isinstance(value, Derivatives):
        return ["derivatives", _function(value.__wrapped__, depth, seen), _value(value.wrt, depth + 1, seen),
                value.memory, value.schedule]
    if isinstance(value, types.BuiltinFunctionType):
        return ["builtin", getattr(value, "__module__", None), value.__qualname__]
    if isinstance(value, type) and value.__module__ == "builtins":
        return ["type", value.__qualname__]
    from ..front.objects import is_param_object, state
    if is_param_object(value):                      # a parameter object: what the transform reads of it
        cls, fields, extra = state(value)
        return ["object", cls.__module__, cls.__qualname__,
                [[k, _value(v, depth + 1, seen)] for k, v in fields.items()],
                [[k, _value(getattr(v, "fget", v), depth + 1, seen)] for k, v in extra.items()]]
    raise _Unkeyable(type(value).__name__)


def entry_key(fn, **options) -> str | None:
    """The cache key of ``fn``'s generated code under ``options`` (mode, memory, schedule,
    wrt, shapes...: anything JSON-able the generated code depends on), or None when ``fn``
    cannot be keyed safely (not a def, no source text, reads a value the key cannot capture).

    Hashed: the package (:func:`package_fingerprint`), the options, the function's module,
    qualified name, file and first line, the whole text of its source file (or of the
    exec'd string, as linecache holds it), and what every name its code mentions is bound to
    (numbers, strings, tuples, lists, dicts and arrays by value; modules by name; Python
    functions by the same description, recursively; parameter objects by their fields and
    their class's attributes). Conservative: a value it cannot
    capture disables the cache for ``fn`` rather than risk a stale entry.
    """
    if not isinstance(fn, types.FunctionType) or options.get("uncacheable"):
        return None
    try:
        described = _function(fn, 0, set())
    except _Unkeyable:
        return None
    if described[5] is None:                            # no source text: the transform will say so
        return None
    payload = json.dumps([package_fingerprint(), FORMAT, options, described], sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def stem(fn, mode: str, memory: str = "store", schedule: bool = True, backend: str = "python", **_) -> str:
    """A readable file name stem: ``<file>.<function>.<mode>[.<memory>][.source-order][.<backend>]``."""
    base = os.path.splitext(os.path.basename(fn.__code__.co_filename))[0]
    parts = [base, fn.__name__, mode] + ([memory] if memory != "store" else []) + \
            ([] if schedule else ["source-order"]) + ([backend] if backend != "python" else [])
    return re.sub(r"[^A-Za-z0-9_.]", "_", ".".join(parts))[:80]


# -- entries ----------------------------------------------------------------------------------------

def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def fetch(fn, options: dict, make) -> tuple[CallSpec, dict]:
    """(spec, module namespace) of ``fn``'s generated code under ``options`` (``mode``,
    ``memory``, ``schedule``, ``wrt``...): loaded from the cache when an intact entry is
    there, without calling ``make``; else ``make()`` gives (text, spec), which is stored."""
    key = None if os.environ.get("S2S_INVAD_DUMP") else entry_key(fn, **options)
    name = stem(fn, **options) if key else None
    found = _load(key, name) if key else None
    if found is not None:
        text, spec, path, code = found
    else:
        text, spec = make()
        path = _store(key, name, text, spec) if key else None
        code = None
    filename = path or memory_name(f"{spec.name}.{options.get('mode')}", text)
    if code is None:
        code = compile_module(text, filename)
        if path is not None:
            _store_code(path, text, code)
    return spec, load_module(text, filename, code)


def _load(key: str, name: str) -> tuple[str, CallSpec, str, types.CodeType | None] | None:
    """(text, spec, file, code or None) of the entry ``key`` when it is intact, else None."""
    folder = usable_folder(create=False)
    if folder is None:
        return None
    base = os.path.join(folder, f"{name}-{key[:24]}")
    try:
        with open(base + ".json", encoding="utf-8") as handle:
            meta = json.load(handle)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        with open(base + ".py", encoding="utf-8", newline="") as handle:
            text = handle.read()
        if meta.get("sha256") != _text_hash(text):
            return None
        spec = CallSpec.from_json(meta.get("spec"))
    except (OSError, ValueError):
        return None
    try:
        os.utime(base + ".json")                        # recently used: pruned last
    except OSError:
        pass
    return text, spec, base + ".py", _load_code(base + ".py", text)


def _code_header(path: str, text: str) -> bytes:
    return importlib.util.MAGIC_NUMBER + hashlib.sha256(
        path.encode("utf-8", "surrogatepass") + b"\0" + text.encode("utf-8", "surrogatepass")).digest()


def _load_code(path: str, text: str) -> types.CodeType | None:
    """The stored bytecode of ``path`` if it was compiled from ``text`` by this interpreter."""
    header = _code_header(path, text)
    try:
        with open(path[:-3] + ".code", "rb") as handle:
            data = handle.read()
        if not data.startswith(header):
            return None
        code = marshal.loads(data[len(header):])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _store_code(path: str, text: str, code: types.CodeType) -> None:
    data = _code_header(path, text) + marshal.dumps(code)
    try:
        files.write_atomic(path[:-3] + ".code", data, mode=0o600)
    except OSError:
        return                                           # the text alone is enough
    _count(os.path.dirname(path), len(data), new_entry=False)


def _store(key: str, name: str, text: str, spec: CallSpec) -> str | None:
    """Write the entry ``key``; return the module's file, None when the cache is not used."""
    folder = usable_folder(create=True)
    if folder is None:
        return None
    base = os.path.join(folder, f"{name}-{key[:24]}")
    meta = json.dumps({"format": FORMAT, "key": key, "sha256": _text_hash(text), "version": VERSION,
                       "spec": spec.to_json()}, sort_keys=True, indent=1) + "\n"
    try:
        files.write_atomic(base + ".py", text, mode=0o600)
        files.write_atomic(base + ".json", meta, mode=0o600)
    except OSError as exc:
        _warn_once(folder, f"writing to it failed ({exc.strerror or exc})")
        return None
    _count(folder, len(text.encode("utf-8", "surrogatepass")) + len(meta.encode()))
    return base + ".py"


def memory_name(name: str, text: str) -> str:
    """The linecache-only file name of generated code when the cache is not used."""
    return f"<s2s_invad generated: {name}-{_text_hash(text)[:12]}.py>"


# -- the bound --------------------------------------------------------------------------------------

def _count(folder: str, added_bytes: int, new_entry: bool = True) -> None:
    counted = _counts.get(folder)
    if counted is not None:
        counted[0] += new_entry
        counted[1] += added_bytes
        if counted[0] <= MAX_ENTRIES and counted[1] <= MAX_BYTES:
            return
    _counts[folder] = prune(folder)


def _entries(folder: str) -> dict[str, list]:
    """Entry name -> [last use, bytes, files]; removes stale temporary files on the way.

    An entry of a compiled backend also owns its machine code in ``__pycache__``: numba's
    ``<entry>.<function>-<line>.py3XX.nbi`` and ``.nbc``, the C library ``<entry>.<hash>.so``."""
    entries: dict[str, list] = {}
    now = time.time()
    compiled = os.path.join(folder, NUMBA_FOLDER)
    for where, pattern in ((folder, _ENTRY), (compiled, _COMPILED)):
        if where is compiled and not (os.path.isdir(compiled) and not os.path.islink(compiled)):
            continue
        with os.scandir(where) as listing:
            for item in listing:
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                match = pattern.fullmatch(item.name)
                if match is None:
                    if _TEMP.fullmatch(item.name) and now - info.st_mtime > _STALE_TEMP_S:
                        _unlink(item.path)
                    continue
                entry = entries.setdefault(match.group(1), [0.0, 0, []])
                entry[0] = max(entry[0], info.st_mtime)
                entry[1] += info.st_size
                entry[2].append(item.path)
    return entries


def prune(folder: str, max_entries: int | None = None, max_bytes: int | None = None) -> list[int]:
    """Bring ``folder`` within the bound, least recently used first; return [entries, bytes]."""
    max_entries = MAX_ENTRIES if max_entries is None else max_entries
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    try:
        entries = _entries(folder)
    except OSError:
        return [0, 0]
    count, total = len(entries), sum(e[1] for e in entries.values())
    if count <= max_entries and total <= max_bytes:
        return [count, total]
    for _, size, paths in sorted(entries.values(), key=lambda e: (e[0], e[2])):
        if count <= PRUNE_TO * max_entries and total <= PRUNE_TO * max_bytes:
            break
        for path in sorted(paths, key=lambda p: not p.endswith(".json")):   # the spec first
            _unlink(path)
        count, total = count - 1, total - size
    return [count, total]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def summary() -> dict:
    """Where the cache is, whether it is used (and why not), and what it holds."""
    folder = location()
    info = {"folder": folder, "enabled": folder is not None, "problem": None, "entries": 0, "bytes": 0,
            "max_entries": MAX_ENTRIES, "max_bytes": MAX_BYTES}
    if folder is not None and os.path.lexists(folder):
        info["problem"] = problem(folder)
        if info["problem"] is None:
            entries = _entries(folder)
            info["entries"], info["bytes"] = len(entries), sum(e[1] for e in entries.values())
    return info


def clear() -> int:
    """Remove every entry of the cache folder (when it is safe to use); return how many."""
    folder = location()
    if folder is None or not os.path.isdir(folder) or problem(folder) is not None:
        return 0
    entries = _entries(folder)
    for _, _, paths in entries.values():
        for path in paths:
            _unlink(path)
    _counts.pop(folder, None)
    return len(entries)
