"""Run s2s_invad on the random natural programs of tests/natural_gen.py and check it.

For one program, against the oracle run on the user's own function (tests/oracle.py: the
module's defs rebuilt from their text with complex-capable shims, dense Jacobians by
complex steps):

* every mode (jvp, vjp, ijvp, ivjp) and slogdet at the program's point, results shaped
  as the API promises (tests/checks.py::check_structured);
* whether each time loop the generator wrote to be kept as a loop is kept (explain says
  "kept as a loop"), and only those;
* memory="recompute": the same numbers as the oracle, loops kept as loops or not;
* batches: u of shape (n, B), s and lam of shape (B,), every mode and slogdet, each
  column against the oracle at that point; a source that calls math.<fn> on runtime
  values, or no np.<fn> at all, refuses arrays with ArgumentError (README, "Batches");
* unroll=True gives the same numbers in every mode (transform-time trip counts).

:func:`check` raises AssertionError (with the program's source) on the first failure and
returns what it checked, for the counts the bulk runner prints.
"""

from __future__ import annotations

import collections

import numpy as np

import s2s_invad as si

import checks
import natural_gen
import oracle

BATCH = 3
ALL = checks.MODES + ("slogdet",)


def load(program: natural_gen.NaturalProgram):
    return si.from_source(program.source, program.name)


def _perturbed(program, rng):
    """B points near the program's point, stacked: u (n, B), s and lam (B,), steps as is."""
    points = [program.point]
    for _ in range(BATCH - 1):
        moved = []
        for name, x in zip(program.params, program.point):
            if name == "steps":
                moved.append(x)
            elif isinstance(x, np.ndarray):
                moved.append(x + rng.uniform(-0.05, 0.05, x.shape))
            else:
                moved.append(x + rng.uniform(-0.05, 0.05))
        points.append(tuple(moved))
    stacked = []
    for j, name in enumerate(program.params):
        if name == "steps":
            stacked.append(program.point[j])
        elif isinstance(program.point[j], np.ndarray):
            stacked.append(np.stack([p[j] for p in points], axis=1))
        else:
            stacked.append(np.array([p[j] for p in points]))
    return points, tuple(stacked)


def _column(value, b):
    """Point b of a batched result (arrays (n, B) or (B,), tuples of them)."""
    if isinstance(value, tuple):
        return tuple(_column(v, b) for v in value)
    value = np.asarray(value)
    return value[..., b] if value.ndim else value


def _stack_like(flat_per_point, template_of):
    """Per-point flat values, stacked into the batched structure of ``template_of(p)``."""
    shaped = [template_of(p, flat) for p, flat in enumerate(flat_per_point)]

    def stack(items):
        if isinstance(items[0], tuple):
            return tuple(stack([it[k] for it in items]) for k in range(len(items[0])))
        return np.stack([np.asarray(it, dtype=float) for it in items], axis=-1)
    return stack(shaped)


def check_batch(program, f):
    """Every mode on B points at once, each point against the oracle."""
    rng = np.random.default_rng(program.spec.seed)
    points, stacked = _perturbed(program, rng)
    wrt = program.wrt
    if program.math_calls or not program.numpy_calls:
        try:
            si.jvp(f, stacked, checks.split_inputs(f, program.point, np.ones(program.n_state), wrt), wrt=wrt)
        except si.ArgumentError as exc:
            assert ("math.<fn>" if program.math_calls else "no numpy function") in str(exc), exc
            return "refused"
        raise AssertionError("a source that calls math.<fn>, or no np.<fn>, accepted arrays")
    refs = []
    for x in points:
        y = oracle.evaluate(f, x)
        J = oracle.dense_jacobian(f, x, wrt)
        refs.append((y, J, oracle.cond(J)))
    m = refs[0][1].shape[0]
    vs = [rng.standard_normal(m) for _ in points]
    ws = [rng.standard_normal(m) for _ in points]
    inputs = _stack_like(vs, lambda p, flat: checks.split_inputs(f, points[p], flat, wrt))
    outputs = _stack_like(ws, lambda p, flat: checks.shaped_like(flat, refs[p][0]))
    in_w = _stack_like(ws, lambda p, flat: checks.split_inputs(f, points[p], flat, wrt))
    out_v = _stack_like(vs, lambda p, flat: checks.shaped_like(flat, refs[p][0]))
    if len(wrt) == 1:
        inputs, in_w = inputs[0], in_w[0]
    kw = {"wrt": wrt}
    y, y_dot = si.jvp(f, stacked, inputs, **kw)
    _, pullback = si.vjp(f, *stacked, **kw)
    x_bar = pullback(outputs)
    _, x_dot = si.ijvp(f, stacked, out_v, **kw)
    _, pushback = si.ivjp(f, *stacked, **kw)
    y_bar = pushback(in_w)
    _, (sign, logdet) = si.slogdet(f, stacked, **kw)
    for b, (y_ref, J, c) in enumerate(refs):
        tol = checks.RTOL * max(1.0, c)
        norm = max(np.linalg.norm(J, 2), 1e-300)
        what = f"batch point {b}"
        checks.assert_close(checks.flatten(_column(y, b)), checks.flatten(y_ref), 1e-12, f"{what}: y")
        checks.assert_close(checks.flatten(_column(y_dot, b)), J @ vs[b], checks.RTOL, f"{what}: jvp",
                            scale=norm * np.linalg.norm(vs[b]))
        checks.assert_close(checks.flatten(_column(x_bar, b)), J.T @ ws[b], checks.RTOL, f"{what}: vjp",
                            scale=norm * np.linalg.norm(ws[b]))
        checks.assert_close(checks.flatten(_column(x_dot, b)), np.linalg.solve(J, vs[b]), tol, f"{what}: ijvp")
        checks.assert_close(checks.flatten(_column(y_bar, b)), np.linalg.solve(J.T, ws[b]), tol, f"{what}: ivjp")
        want_sign, want_log = np.linalg.slogdet(J)
        assert np.ravel(sign)[b] == want_sign, f"{what}: slogdet sign {sign} != {want_sign}"
        assert abs(np.ravel(logdet)[b] - want_log) <= 1e-9 * max(1.0, abs(want_log)) * max(1.0, c), \
            f"{what}: slogdet {logdet} != {want_log}"
    return "checked"


def check_unrolled(program, f):
    """unroll=True gives the same numbers as the loops kept as loops, in every mode."""
    kw = {"wrt": program.wrt}
    x = program.point
    rng = np.random.default_rng(program.spec.seed + 1)
    y_ref = oracle.evaluate(f, x)
    m = len(checks.flatten(y_ref))
    v, w = rng.standard_normal(m), rng.standard_normal(m)
    ins = checks.split_inputs(f, x, v, program.wrt)
    outs = checks.shaped_like(w, y_ref)
    outs_v, ins_w = checks.shaped_like(v, y_ref), checks.split_inputs(f, x, w, program.wrt)
    results = []
    for unroll in (None, True):
        opt = dict(kw, unroll=unroll)
        results.append([
            si.jvp(f, x, ins, **opt)[1],
            si.vjp(f, *x, **opt)[1](outs),
            si.ijvp(f, x, outs_v, **opt)[1],
            si.ivjp(f, *x, **opt)[1](ins_w),
            si.slogdet(f, x, **opt)[1],
        ])
    for name, kept, flat in zip(("jvp", "vjp", "ijvp", "ivjp", "slogdet"), *results):
        checks.assert_close(checks.flatten(kept), checks.flatten(flat), 1e-12, f"{name}: kept loops against unroll=True")


def check(program: natural_gen.NaturalProgram, batches: bool = True, unrolled: bool = True) -> collections.Counter:
    """Every check of the module docstring on ``program``; the counts of what ran."""
    done = collections.Counter()
    try:
        f = load(program)
        _check(program, f, done, batches, unrolled)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- program (natural_gen spec {program.spec}) at {program.point}\n"
                             f"{program.source}") from None
    return done


def _check(program, f, done, batches, unrolled):
    x, wrt = program.point, program.wrt
    shapes = {"u": program.spec.n}
    report = si.explain(f, wrt=wrt, shapes=shapes)
    kept = report.count("kept as a loop")
    assert kept == program.kept_loops, (f"the generator wrote {program.kept_loops} loop(s) to be kept as "
                                       f"loops, explain says {kept}:\n{report.split('Loops:')[-1]}")
    c = checks.check_structured(si, f, x, wrt=wrt, modes=ALL)
    assert c < 1e8, f"cond(J) = {c:.2e}: the generator should keep programs well conditioned"
    done["modes"] += 1
    checks.check_structured(si, f, x, wrt=wrt, modes=("vjp", "ijvp"), memory=("recompute",))
    done["recompute checked"] += 1
    if batches:
        done[f"batch {check_batch(program, f)}"] += 1
    if unrolled and program.kept_loops and not program.runtime_steps:
        check_unrolled(program, f)
        done["unroll=True compared"] += 1


def run(seeds, batches=True, unrolled=True):
    """Check the programs of ``seeds`` (random_spec); (counts, failures)."""
    counts: collections.Counter = collections.Counter()
    failures = []
    for seed in seeds:
        program = natural_gen.generate(natural_gen.random_spec(seed))
        counts["programs"] += 1
        counts["with loops kept as loops"] += bool(program.kept_loops)
        try:
            counts.update(check(program, batches, unrolled))
        except Exception as exc:                      # noqa: BLE001 - the bulk runner counts them
            counts["failed"] += 1
            failures.append((seed, f"{type(exc).__name__}: {exc}"))
    return counts, failures
