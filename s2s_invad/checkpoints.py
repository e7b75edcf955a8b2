"""Run time, memory="recompute": the values a forward pass keeps because rebuilding them
backwards would be inexact (see :mod:`s2s_invad.back.emit_recompute`).

Scalar code stores the value itself (``_kept[3] = x``). Array code stores only the
elements whose rebuild failed the check, with their flat indices (:class:`Patch`), so a
batch in which a few points saturate costs memory for those points alone; the backward
sweep rebuilds every element and :func:`patch` puts the kept ones back.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from .runtime_lu import _dtype       # float32 batches stay float32


@dataclass(frozen=True)
class Patch:
    shape: tuple
    index: np.ndarray            # flat indices of the kept elements
    values: np.ndarray           # their forward values


def all_rebuilt(ok) -> bool:
    """Whether a forward check passed at every point: ``ok`` a bool, a NumPy bool or an
    array of them (the common answers, True and NumPy's True, without a NumPy call)."""
    if ok is True or ok is np.True_:
        return True
    return ok is not False and ok is not np.False_ and bool(np.all(ok))


def keep(kept: dict, key: int, ok, value) -> None:
    """Store in ``kept[key]`` the elements of ``value`` where ``ok`` is False."""
    ok = np.asarray(ok, dtype=bool)
    if ok.ndim == 0 or not ok.any():
        kept[key] = value
        return
    bad = np.flatnonzero(~ok)
    full = np.broadcast_to(np.asarray(value, dtype=_dtype([value])), ok.shape)
    kept[key] = Patch(ok.shape, bad, full.reshape(-1)[bad].copy())


def patch(rebuilt, record):
    """``rebuilt`` with the kept elements of ``record`` (the value itself, or a Patch) put back."""
    if not isinstance(record, Patch):
        return record
    out = np.array(np.broadcast_to(rebuilt, record.shape), dtype=_dtype([rebuilt, record.values]))
    out.reshape(-1)[record.index] = record.values
    return out


def bounded(ok, growth, limit: float):
    """``(ok, growth)`` after a forward check on a chain of rebuilds: where the bound on
    error amplification passes ``limit`` the step's input is kept too (ok False); where
    the input is kept the chain's bound starts again from 1."""
    if isinstance(growth, np.ndarray) or isinstance(ok, np.ndarray):
        reset = np.logical_or(np.logical_not(ok), growth > limit)
        if not reset.any():
            return ok, growth
        return np.logical_not(reset), np.where(reset, 1.0, growth)
    if not ok or growth > limit:
        return False, 1.0
    return ok, growth


def amplify(growth, pivot):
    """The running bound on how much rebuilding backwards has amplified errors, after a
    step with this pivot (d new / d old): times 1 / |pivot|, never below 1; inf for a zero
    pivot (the step cannot be undone)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(pivot, np.ndarray) or isinstance(growth, np.ndarray):
            out = np.maximum(np.asarray(growth, dtype=float) / np.abs(pivot), 1.0)
            return np.where(np.isnan(out), np.inf, out)
        pivot = abs(pivot)
        if pivot == 0.0 or pivot != pivot:
            return math.inf
        return max(growth / pivot, 1.0)
