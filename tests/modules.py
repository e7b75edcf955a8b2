"""Shared test helpers: functions defined in module files, and one call per mode."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import s2s_invad as si


def load_function(folder: pathlib.Path, name: str, source: str):
    """The function ``name`` of a module ``<folder>/<name>.py`` holding ``source`` (imported,
    so that inspect and the transform read its source from the file)."""
    path = pathlib.Path(folder) / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


def run_mode(f, mode: str, x: tuple, v, memory: str = "store"):
    """The derivative part of ``mode`` at ``x``: J v, J^T v, J^-1 v, J^-T v or (sign, log|det J|).

    ``v`` is shaped like f's inputs (jvp, ivjp) or outputs (vjp, ijvp): a tuple, or a single
    value for functions of one variable that return one value.
    """
    if mode == "jvp":
        return si.jvp(f, x, v if isinstance(v, tuple) else (v,))[1]
    if mode == "vjp":
        return si.vjp(f, *x, memory=memory)[1](v)
    if mode == "ijvp":
        return si.ijvp(f, x, v, memory=memory)[1]
    if mode == "ivjp":
        return si.ivjp(f, *x)[1](v)
    return si.slogdet(f, x)[1]
