"""Which pass of the transform is running: for the progress display and for timings.

The passes announce themselves with :func:`stage` (``with progress.stage("schedule"):``).
Nothing is recorded or shown unless a listener is installed with :func:`listening`:

- :class:`Timings` adds up the seconds of each stage (the transform benchmark uses it);
- :class:`Display` shows the running stage and the time so far on stderr once a transform
  has taken longer than ``delay`` seconds (the CLI installs it when stderr is a terminal,
  or when asked with ``--progress`` or ``S2S_INVAD_PROGRESS=1``).

Stages nest (``"gen f" > "jvp"``); a listener sees every start and end. None of this
touches what the transform produces.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

ENV = "S2S_INVAD_PROGRESS"          # 1/on: show the display; 0/off: never; unset: when a tty
DELAY = 1.0                         # seconds of transform before the display shows anything

_listeners: list = []


@contextlib.contextmanager
def stage(name: str):
    """Announce that the pass ``name`` runs inside the ``with`` block."""
    if not _listeners:
        yield
        return
    for listener in _listeners:
        listener.start(name)
    try:
        yield
    finally:
        for listener in _listeners:
            listener.end(name)


def each_stage(items, name=str):
    """Iterate over ``items``, each iteration the stage named ``name(item)``."""
    for item in items:
        with stage(name(item)):
            yield item


def clear() -> None:
    """Erase a status line from the terminal before other text goes to stderr."""
    for listener in _listeners:
        erase = getattr(listener, "erase", None)
        if erase is not None:
            erase()


@contextlib.contextmanager
def listening(listener):
    """Install ``listener`` (an object with ``start(name)`` and ``end(name)``) for the block."""
    _listeners.append(listener)
    try:
        yield listener
    finally:
        _listeners.remove(listener)
        close = getattr(listener, "close", None)
        if close is not None:
            close()


class Timings:
    """Seconds spent in each stage (summed over repeats; nested stages count in both)."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.seconds: dict[str, float] = {}
        self._open: list[tuple[str, float]] = []

    def start(self, name: str) -> None:
        self._open.append((name, self.clock()))

    def end(self, name: str) -> None:
        while self._open:
            opened, t0 = self._open.pop()
            if opened == name:
                self.seconds[name] = self.seconds.get(name, 0.0) + self.clock() - t0
                return


def wanted(stream=None, flag: bool | None = None) -> bool:
    """Whether to show the display: ``flag`` (the CLI's --progress / --no-progress) if
    given, else the environment variable ``S2S_INVAD_PROGRESS``, else whether ``stream``
    (default stderr) is a terminal."""
    if flag is not None:
        return flag
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("1", "on", "yes", "true"):
        return True
    if value in ("0", "off", "no", "false"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Display:
    """The running stage and the seconds so far, on ``stream`` (default stderr).

    Nothing is written for a transform done within ``delay`` seconds. On a terminal one
    status line is redrawn in place (``prefix: gen f > jvp  3.2 s``) every ``interval``
    seconds by a background thread and erased at the end; elsewhere (a log file, a pipe)
    one line is written per stage that ends after ``delay``, and a total at the end.
    """

    def __init__(self, stream=None, prefix: str = "s2s-invad", delay: float | None = None,
                 interval: float = 0.25, tty: bool | None = None, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.prefix, self.interval, self.clock = prefix, interval, clock
        self.delay = DELAY if delay is None else delay
        if tty is None:
            try:
                tty = self.stream.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.t0 = clock()
        self._stack: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._shown = False                     # a status line is on the terminal
        self._wrote = False                     # a plain line was written
        self._done = threading.Event()
        self._thread = None
        if self.tty:
            self._thread = threading.Thread(target=self._run, name="s2s_invad-progress", daemon=True)
            self._thread.start()

    # listener protocol ------------------------------------------------------------
    def start(self, name: str) -> None:
        with self._lock:
            self._stack.append((name, self.clock()))

    def end(self, name: str) -> None:
        with self._lock:
            while self._stack:
                opened, t0 = self._stack.pop()
                if opened == name:
                    break
            else:
                return
            now = self.clock()
            if not self.tty and now - self.t0 >= self.delay:
                path = " > ".join([n for n, _ in self._stack] + [name])
                self._write(f"{self.prefix}: {path}: {now - t0:.1f} s (total {now - self.t0:.1f} s)\n")
                self._wrote = True

    def close(self) -> None:
        """Stop the display: erase the status line, or (not a terminal) write the total."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._shown:
                self._write("\r\x1b[K")
                self._shown = False
            if self._wrote:
                self._write(f"{self.prefix}: done in {self.clock() - self.t0:.1f} s\n")
                self._wrote = False

    def erase(self) -> None:
        """Take the status line off the terminal (the next tick redraws it)."""
        with self._lock:
            if self._shown:
                self._write("\r\x1b[K")
                self._shown = False

    # terminal ---------------------------------------------------------------------
    def status(self) -> str | None:
        """The status line now, or None while within the delay or outside every stage."""
        now = self.clock()
        if now - self.t0 < self.delay or not self._stack:
            return None
        path = " > ".join(n for n, _ in self._stack)
        return f"{self.prefix}: {path}  {now - self.t0:.1f} s"

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            with self._lock:
                text = self.status()
                if text is not None:
                    self._write("\r\x1b[K" + text)
                    self._shown = True

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):           # stderr closed or gone: stay quiet
            pass
