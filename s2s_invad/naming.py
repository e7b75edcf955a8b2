"""Deterministic names for generated code, shared by the front end and the emitters.

A :class:`Namer` hands out fresh names that avoid every reserved name (the user's
identifiers) and every name it already gave. Names come from counters and source names
only, never from ids or hashes, so generating twice gives the same bytes.
"""

from __future__ import annotations


class Namer:
    """Fresh names that avoid every reserved and already used name."""

    def __init__(self, reserved: set[str]):
        self.reserved = set(reserved)
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def take(self, name: str) -> str:
        self.used.add(name)
        return name

    def free(self, name: str) -> bool:
        return name not in self.used and name not in self.reserved

    def fresh(self, base: str, first_plain: bool = True) -> str:
        """``base`` if free (and ``first_plain``), else ``base_1``, ``base_2``..."""
        if first_plain and self.free(base):
            return self.take(base)
        k = self.counters.get(base, 0)
        while True:
            k += 1
            candidate = f"{base}_{k}"
            if self.free(candidate):
                self.counters[base] = k
                return self.take(candidate)

    def temp(self, line: int | None = None) -> str:
        """A temporary: ``t<line>_<k>``, numbered per source line (``t1``, ``t2``... without
        a line), so that editing one line renames only that line's temporaries."""
        base = f"t{line}" if line is not None else "t"
        key = "#" + base
        k = self.counters.get(key, 0)
        while True:
            k += 1
            candidate = f"{base}_{k}" if line is not None else f"t{k}"
            if self.free(candidate):
                self.counters[key] = k
                return self.take(candidate)
