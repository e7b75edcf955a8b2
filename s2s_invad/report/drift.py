"""The drift report: how far values rebuilt backwards (memory="recompute") are from the
values the forward pass computed, per source line (SPEC section 5: measured, not hidden)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Loop


@dataclass(frozen=True)
class DriftRow:
    line: int
    text: str
    max_relative: float           # max |rebuilt - forward| / max(|forward|, tiny) on the line
    values: int                   # how many rebuilt values the line has


@dataclass(frozen=True)
class DriftReport:
    function: str
    rows: tuple[DriftRow, ...]    # source order

    @property
    def max(self) -> float:
        return max((r.max_relative for r in self.rows), default=0.0)

    def __str__(self) -> str:
        out = [f"drift of values rebuilt backwards in {self.function}: max relative difference "
               f"{self.max:.2e}", f"{'line':>6}  {'max relative':>12}  {'values':>6}  statement"]
        out += [f"{r.line:>6}  {r.max_relative:>12.2e}  {r.values:>6}  {r.text}" for r in self.rows]
        return "\n".join(out)


def _lines(items) -> dict:
    """SSA name -> source line, loop bodies included (a loop's carried values: its line)."""
    out = {}
    for item in items:
        if isinstance(item, Loop):
            out.update({c.var.name: item.line for c in item.carried})
            out.update(_lines(item.body))
        else:
            out[item.target.name] = item.line
    return out


def drift_report(program, forward: dict, rebuilt: dict) -> DriftReport:
    """Compare the two dicts the generated ``<f>_drift`` function returns."""
    lines = {p.name: p.line for p in program.params}
    lines.update(_lines(program.body))
    per_line: dict[int, list[float]] = {}
    for name, value in rebuilt.items():
        want = np.asarray(forward[name], dtype=float)
        scale = np.maximum(np.abs(want), np.finfo(float).tiny)
        with np.errstate(all="ignore"):                 # tiny scales overflow to inf: reported
            diff = np.abs(np.asarray(value, dtype=float) - want) / scale
        rel = float(np.max(np.where(np.isnan(diff), np.inf, diff))) if want.size else 0.0   # NaN: inf
        per_line.setdefault(lines[name], []).append(rel)
    rows = tuple(DriftRow(line, program.source_line(line), max(rels), len(rels))
                 for line, rels in sorted(per_line.items()))
    return DriftReport(program.name, rows)
