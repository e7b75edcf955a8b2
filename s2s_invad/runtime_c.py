"""What the C section of a generated module imports (as ``_crt``): backend="c".

:class:`Library` compiles the section's C source with the system C compiler on first use
(``$S2S_INVAD_CC``, else ``cc``, ``gcc`` or ``clang`` on PATH; flags ``-O1 -std=c11 -fPIC
-shared``, ``$S2S_INVAD_CFLAGS`` replacing ``-O1``) and loads it with ctypes. The library is
kept in ``__pycache__`` next to the module, named by a hash of the source, the compiler and
its flags, so a second process (and every later one) loads it instead of compiling; the
API's modules live in its cache folder (:mod:`s2s_invad.back.cache`), whose pruning and
clearing include these files. A module that is not a file compiles into a temporary
folder, once per process.

:class:`Entry` (and :class:`Sweep`, vjp's and ivjp's second half) packs the arguments into
one array of doubles, calls the C function and unpacks the results; when the C function
returns 1 (a check failed, a floating-point exception flag was set), when the arguments are
not one point (a batch, float32, objects), or when the library could not be built, it runs
the Python function on the same arguments, which returns its numbers or raises the named
error. A library that does not build is reported once per module with a
:class:`~s2s_invad.errors.BackendWarning`.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from .errors import BackendError, BackendWarning
from .files import write_atomic

_F64 = np.dtype(np.float64)
COUNT = ("count",)          # a tape element that is a trip count: an int for the Python sweep
ROOM_MAX = 2 ** 31          # doubles of loop tapes (16 GB) beyond which the Python function runs
FLAGS = ["-std=c11", "-fPIC", "-shared"]
DEFAULT_OPT = "-O1"
_compiler: list | None = None


def compiler() -> list[str]:
    """The compiler command: ``$S2S_INVAD_CC`` or the first of cc, gcc, clang on PATH."""
    global _compiler
    if _compiler is None:
        if os.name != "posix":
            raise BackendError("backend='c' builds shared libraries with a POSIX C compiler (Linux, macOS); "
                               "use backend='numba' or the default backend here")
        asked = os.environ.get("S2S_INVAD_CC", "").split()
        found = asked if asked and shutil.which(asked[0]) else \
            next(([c] for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
        if not found:
            raise BackendError("backend='c' needs a C compiler: none of cc, gcc, clang is on PATH (set "
                               "S2S_INVAD_CC to one), or use backend='numba' or the default backend")
        _compiler = found
    return _compiler


OPTIMIZE_SECONDS_ENV = "S2S_INVAD_C_OPTIMIZE_SECONDS"
DEFAULT_OPTIMIZE_SECONDS = 30.0


def flags() -> list[str]:
    return (os.environ.get("S2S_INVAD_CFLAGS", "").split() or [DEFAULT_OPT]) + FLAGS


def optimize_seconds() -> float | None:
    """How long the compiler may optimise a library before it is compiled unoptimised
    instead (``$S2S_INVAD_C_OPTIMIZE_SECONDS``, default 30; 0: no limit). The optimiser's
    time depends on the shape of the code more than on its size: the 7,400 statements of a
    16 x 16 grid's ijvp (LU with fill, about 4,000 values live at once) took gcc -O1 90-130 s
    here, against 2 s at -O0, while Bratu's 14,000 (as many live) took 11 s. None when the
    user chose the flags (``$S2S_INVAD_CFLAGS``)."""
    if os.environ.get("S2S_INVAD_CFLAGS", "").split():
        return None
    text = os.environ.get(OPTIMIZE_SECONDS_ENV, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_OPTIMIZE_SECONDS
    except ValueError:
        raise BackendError(f"{OPTIMIZE_SECONDS_ENV}={text!r} is not a number of seconds") from None
    return seconds if seconds > 0 else None


_temporary: str | None = None


def _temporary_folder() -> str:
    global _temporary
    if _temporary is None:
        _temporary = tempfile.mkdtemp(prefix="s2s_invad-c-")
        atexit.register(shutil.rmtree, _temporary, True)
    return _temporary


class Library:
    """The compiled C section of one generated module, built on first use."""

    def __init__(self, source: str, namespace: dict, digest: str):
        self.source, self.digest = source, digest
        self.file = namespace.get("__file__")
        self._lib = None
        self.problem: str | None = None
        self.compile_seconds = 0.0
        self.loaded_from_disk = False
        self.unoptimized = False                 # the optimiser ran out of time (optimize_seconds)

    def path(self) -> str:
        command = compiler() + flags()
        tag = hashlib.sha256((self.source + "\0" + " ".join(command)).encode()).hexdigest()[:16]
        if self.file and os.path.isfile(self.file):
            folder = os.path.join(os.path.dirname(os.path.abspath(self.file)), "__pycache__")
            stem = os.path.splitext(os.path.basename(self.file))[0]
        else:
            folder, stem = _temporary_folder(), "module"
        return os.path.join(folder, f"{stem}.{tag}.so")

    def function(self, symbol: str):
        """The ctypes function ``symbol``, or None when the library cannot be built."""
        if self._lib is None and self.problem is None:
            try:
                self._lib = self._load()
            except (BackendError, OSError) as exc:
                self.problem = str(exc)
                warnings.warn(f"s2s_invad backend c: the functions of {self.file or 'a generated module'} run "
                              f"as Python: {self.problem}", BackendWarning, stacklevel=4)
        if self._lib is None:
            return None
        fn = getattr(self._lib, symbol)
        fn.restype = ctypes.c_int
        return fn

    def _load(self):
        path = self.path()
        if os.path.isfile(path):
            self.loaded_from_disk = True
            return ctypes.CDLL(path)
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        work = tempfile.mkdtemp(prefix=".s2s_invad-", dir=folder)
        try:
            c_file, so_file = os.path.join(work, "module.c"), os.path.join(work, "module.so")
            with open(c_file, "w", encoding="utf-8") as handle:
                handle.write(self.source)
            command = compiler() + flags() + ["-o", so_file, c_file, "-lm"]
            import time
            t0 = time.perf_counter()
            limit = optimize_seconds()
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired:
                command = compiler() + ["-O0"] + FLAGS + ["-o", so_file, c_file, "-lm"]
                done = subprocess.run(command, capture_output=True, text=True)
                self.unoptimized = True
                warnings.warn(f"s2s_invad backend c: the C compiler took over {limit:g} s optimising the "
                              f"functions of {self.file or 'a generated module'}; they are compiled unoptimised "
                              f"(about 1.6x slower to run; {OPTIMIZE_SECONDS_ENV} sets the limit)",
                              BackendWarning, stacklevel=5)
            self.compile_seconds = time.perf_counter() - t0
            if done.returncode != 0:
                first = "\n".join(done.stderr.strip().splitlines()[:3])
                raise BackendError(f"{' '.join(command[:1])} failed ({first})")
            with open(so_file, "rb") as handle:
                write_atomic(path, handle.read(), mode=0o600)
        finally:
            shutil.rmtree(work, True)
        return ctypes.CDLL(path)


def tape_slots(size) -> int:
    """Doubles a tape element takes in a vjp/ivjp result: a float or a trip count (None,
    COUNT) 1, a vector its length, a loop's tape (("loop", width)) 2: where its rows start
    in the room and how many there are."""
    return 1 if size is None or size == COUNT else 2 if isinstance(size, tuple) else size


def _point(x, size):
    """``x`` as this parameter's doubles (a float, or ``size`` of them), None for a batch."""
    kind = type(x)
    if size is None:
        if kind is float or kind is int or kind is bool:
            return x
        if isinstance(x, (np.floating, np.integer)) and x.dtype.itemsize == 8 or isinstance(x, float):
            return float(x)
        return None
    if kind is np.ndarray:
        return x if x.shape == (size,) and (x.dtype == _F64 or x.dtype.kind in "iu") else None
    if (kind is list or kind is tuple) and len(x) == size and all(type(e) is float or type(e) is int for e in x):
        return x
    return None


_PLAIN = frozenset({float, int})


@functools.lru_cache(maxsize=256)
def _scalar_run(parts: tuple) -> tuple[int, int] | None:
    """(first, end) when ``parts`` are scalars in the consecutive slots first..end-1 (a
    tuple of hundreds of results is then one slice, not one float() call each)."""
    if not parts or any(p[0] != "s" for p in parts):
        return None
    first = parts[0][1]
    if any(p[1] != first + i for i, p in enumerate(parts)):
        return None
    return first, first + len(parts)


class Entry:
    """A generated function: its C version on one point, else the Python function.

    ``inputs``: per parameter (offset in the packed arguments, vector length or None);
    ``outputs``: the result's structure, ("s", slot), ("v", first slot, length), ("t",
    parts), ("p", first slot, length) for the tape that ``partial(sweep, tape)`` binds.
    ``backend`` is "c" while the library is in use, "python" if it could not be built.
    """

    compiler = "c"

    def __init__(self, library: Library, symbol: str, python, inputs, n_in: int, outputs, n_out: int,
                 sweep=None, statements: int = 0, room: bool = False, counts: tuple = ()):
        self.library, self.symbol, self.python = library, symbol, python
        self.inputs, self.n_in, self.outputs, self.n_out = inputs, n_in, outputs, n_out
        self.sweep, self.statements = sweep, statements
        self.room = 0 if room else None     # doubles after the results for loop tapes (grown on demand)
        self.counts = counts                # trip counts: an int or Python runs (range(3.0) raises there)
        self.scalars_only = all(size is None for _, size in inputs)
        self._fn = None
        self.calls = self.fallbacks = 0
        functools.update_wrapper(self, python)

    @property
    def backend(self) -> str:
        return "python" if self.library.problem else "c"

    @property
    def reason(self) -> str:
        return self.library.problem or ""

    def _function(self):
        if self._fn is None and self.library.problem is None:
            self._fn = self.library.function(self.symbol)
        return self._fn

    def pack(self, args) -> np.ndarray | None:
        if len(args) != len(self.inputs):
            return None
        for i in self.counts:
            if not isinstance(args[i], (int, np.integer)) or isinstance(args[i], bool):
                return None
        if self.scalars_only:
            if not _PLAIN.issuperset(map(type, args)):  # all floats and ints: checked at C speed
                for x in args:
                    if type(x) is not float and _point(x, None) is None:
                        return None
            return np.array(args, dtype=_F64) if args else np.zeros(1)
        buffer = np.empty(max(self.n_in, 1))
        for x, (offset, size) in zip(args, self.inputs):
            x = _point(x, size)
            if x is None:
                return None
            if size is None:
                buffer[offset] = x
            else:
                buffer[offset:offset + size] = x
        return buffer

    def __call__(self, *args):
        fn = self._function()
        if fn is not None:
            packed = self.pack(args)
            if packed is not None:
                self.calls += 1
                if self.room is None:
                    out = np.empty(max(self.n_out, 1))
                    done = self._call(fn, packed, out)
                else:
                    out, done = self._call_with_room(fn, packed)
                if done == 0:
                    return self.unpack(self.outputs, out)
        self.fallbacks += 1
        return self.python(*self._python_arguments(args))

    def _call(self, fn, packed, out) -> int:
        return fn(ctypes.c_void_p(packed.ctypes.data), ctypes.c_void_p(out.ctypes.data))

    def _call_with_room(self, fn, packed):
        """Call with room for the loop tapes after the results; the C function returns 2
        (the room it needs in ``out[0]``) when it is too small, and runs again with more."""
        while True:
            out = np.empty(self.n_out + self.room)
            done = fn(ctypes.c_void_p(packed.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                      ctypes.c_long(self.room))
            if done != 2:
                return out, done
            if out[0] > ROOM_MAX:                # Python then runs (and meets the same size)
                return out, 1
            self.room = max(int(out[0]), 2 * self.room)

    def _python_arguments(self, args):
        return args

    def unpack(self, spec, out):
        kind = spec[0]
        if kind == "s":
            return float(out[spec[1]])
        if kind == "v":
            return out[spec[1]:spec[1] + spec[2]]
        if kind == "t":
            run = _scalar_run(spec[1])
            if run is not None:                       # a tuple of scalars in consecutive slots
                return tuple(out[run[0]:run[1]].tolist())
            return tuple(self.unpack(part, out) for part in spec[1])
        end = None if self.room is not None else spec[1] + spec[2]     # loop tapes: the room too
        return functools.partial(self.sweep, out[spec[1]:end])


class Sweep(Entry):
    """The sweep of vjp or ivjp, ``sweep(tape, *cotangents)``, the tape as the C forward
    wrote it. Its Python fallback gets the tape as the Python code records it: a float per
    value, a vector per vector (``tape``: the size of each element, None for a float)."""

    def __init__(self, library, symbol, python, inputs, n_in, outputs, n_out, tape=(), statements=0):
        super().__init__(library, symbol, python, inputs, n_in, outputs, n_out, None, statements)
        self.tape = tape

    def pack(self, args):
        if not args or type(args[0]) is not np.ndarray:
            return None
        rest = super().pack(args[1:])
        return None if rest is None else (args[0], rest)

    def _call(self, fn, packed, out) -> int:
        tape, rest = packed
        return fn(ctypes.c_void_p(tape.ctypes.data), ctypes.c_void_p(rest.ctypes.data),
                  ctypes.c_void_p(out.ctypes.data))

    def _python_arguments(self, args):
        tape, rest = args[0], args[1:]
        if isinstance(tape, np.ndarray):
            values, at = [], 0
            room = sum(map(tape_slots, self.tape))
            for size in self.tape:
                if size is None or size == COUNT:
                    values.append(float(tape[at]) if size is None else int(tape[at]))
                elif isinstance(size, tuple):          # ("loop", width): a list of rows, as Python records it
                    first, count, width = room + int(tape[at]), int(tape[at + 1]), size[1]
                    values.append(list(map(tuple, tape[first:first + count * width].reshape(count, width).tolist())))
                else:
                    values.append(tape[at:at + size].copy())
                at += tape_slots(size)
            tape = tuple(values)
        return (tape,) + tuple(rest)


__all__ = ["Library", "Entry", "Sweep", "compiler", "flags", "sys"]
