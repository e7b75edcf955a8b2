"""Run the tool on fuzz programs and sort every run into one class.

For each program (:mod:`fuzz_gen`) and its base point: jvp, vjp, ijvp, ivjp and slogdet in
store mode, vjp and ijvp with memory="recompute"; for programs with loops kept as loops
also vjp and ijvp in both memory settings with ``unroll=True``; for NumPy programs the same
seven on the whole batch of points at once. Each run is one of

* ``correct``: finite numbers that agree with the oracle, or a refusal (a named error)
  that the oracle justifies: J singular or ill-conditioned (cond > 1e12), a partial, tangent
  or adjoint that is not a float, an exact answer beyond 1e300;
* ``wrong answer``: finite numbers off by more than the rounding a chain rule can make;
* ``false singular``: SingularJacobianError where J is well-conditioned;
* ``false refusal``: another error of s2s_invad.errors where nothing justifies it;
* ``bare exception``: anything that is not an error of s2s_invad.errors;
* ``silent non-finite``: inf or NaN returned without an error;
* ``drift unflagged``: recompute differs from store mode but si.drift reports 0;
* ``recompute drift beyond 2**-40 (flagged)``: a recompute answer off by more than its
  tolerance, where si.drift does report rebuilt values off by more than 2**-40. The forward
  check bounds each rebuild's amplification of one ulp, not the product along a chain of
  rebuilds (ten steps ``x = exp(0.03 * x)`` each turn an error into 33 times as much when
  undone: tests/test_recompute.py, the xfail reproducer); a known defect, kept apart from
  the wrong answers nothing reports.

Agreement: the complex-step Jacobian first (cheap; relative 1e-11); where the tool and
it disagree, or the tool refused, the 50-digit tape decides, with the tolerance of a chain
rule in floating point: |error_i| <= K eps (ops + 2) S_i, where S is |J|abs |v| (jvp),
|J|abs^T |w| (vjp), |J^-1| |J|abs |x| (ijvp, Skeel's bound), |J^-T| |J|abs^T |y| (ivjp).
A batch runs NumPy's array loops, whose results can differ from the scalar functions the
oracle follows by an ulp or two: batch answers may move by sigma_i at 2**-50 as well, and a
NonFiniteError at a batch index is fair where the user's own function, run on the same
arrays, is not finite there.
memory="recompute" evaluates the partials at rebuilt values, which the tool lets differ from
the forward ones by up to 2**-40 at each step (it keeps a value whose rebuild would be
worse; SPEC section 5: drift is measured, not hidden). So its answers may also move by
what moving those values does: the tolerance adds (ops + 2) times sigma_i, the largest
change of the exact answer when one float of the program (an input or an intermediate)
moves by 2**-40 relative (infinite, so anything named is fair, where such a move leaves
the function's domain). A chain rule through tan near
its pole then sin of 1e8 can change by 30 % that way, in store mode's float path as in
recompute's; the check that recompute really is store mode where nothing drifts is
``drift unflagged``.
"""

from __future__ import annotations

import collections
import linecache
import warnings

import mpmath as mp
import numpy as np

import fuzz_gen
import fuzz_oracle

import s2s_invad as si

FLAGGED = "recompute drift beyond 2**-40 (flagged)"
MIXED = "batch runs that are vectors in NumPy, not judged"
WHOLE = "batches that are vectors in NumPy (judged whole)"
LOOSE = 1e-4                # a whole-batch answer this far from the complex step is wrong
CLASSES = ("correct", "wrong answer", "false singular", "false refusal", "bare exception",
           "silent non-finite", "drift unflagged", FLAGGED)
RUNS = (("jvp", "store"), ("vjp", "store"), ("ijvp", "store"), ("ivjp", "store"), ("slogdet", "store"),
        ("vjp", "recompute"), ("ijvp", "recompute"))
UNROLLED = (("vjp", "store"), ("ijvp", "store"), ("vjp", "recompute"), ("ijvp", "recompute"))
EPS = 2.0 ** -53
K = 256
DRIFT = 2.0 ** -40          # how far the tool lets one rebuilt value move
ULPS = 2.0 ** -50           # NumPy's array loops and scalar functions differ by an ulp or two
ILL = 1e12                  # cond(J) beyond which a refusal of the inverse modes is fair


def load(program: fuzz_gen.FuzzProgram):
    """The program's function, compiled from a linecache-registered file name (so the tool
    reads its source as it reads any file)."""
    filename = f"/fuzz/{program.name}.py"
    linecache.cache[filename] = (len(program.source), None, program.source.splitlines(True), filename)
    env: dict = {"__name__": program.name}
    exec(compile(program.source, filename, "exec"), env)
    return env[program.name], filename


def _vector(rng: np.random.Generator, n: int, batch: int | None):
    shape = () if batch is None else (batch,)
    return tuple(rng.normal(size=shape) if shape else float(rng.normal()) for _ in range(n))


def _pack(values: tuple, n: int):
    return values if n > 1 else values[0]


def _call(f, mode: str, memory: str, x: tuple, v: tuple, n: int, unroll=None):
    if mode == "jvp":
        return si.jvp(f, x, v, unroll=unroll)[1]
    if mode == "vjp":
        return si.vjp(f, *x, memory=memory, unroll=unroll)[1](_pack(v, n))
    if mode == "ijvp":
        return si.ijvp(f, x, _pack(v, n), memory=memory, unroll=unroll)[1]
    if mode == "ivjp":
        return si.ivjp(f, *x, unroll=unroll)[1](v)
    return si.slogdet(f, x, unroll=unroll)[1]


def outcome(f, mode, memory, x, v, n, unroll=None):
    """("ok", values as a flat float array) | ("named", error) | ("bare", error)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _call(f, mode, memory, x, v, n, unroll)
    except (si.S2SError, si.UnsupportedSyntaxError) as exc:
        return "named", exc
    except Exception as exc:                                  # noqa: BLE001 - the class we count
        return "bare", exc
    parts = result if isinstance(result, tuple) else (result,)
    return "ok", np.array(np.broadcast_arrays(*[np.asarray(p, dtype=float) for p in parts]), dtype=float)


class Point:
    """The oracles at one point, computed when first needed."""

    def __init__(self, program, x):
        self.program, self.x = program, x
        self._cs, self._exact = False, False
        self._moved: dict = {}

    def moved(self, mode, v, rel: float = None) -> list:
        """sigma_i: the largest change of the exact answer when one value of the program (an
        input or any intermediate float) moves by ``rel`` (DRIFT by default) relative."""
        rel = DRIFT if rel is None else rel
        key = (mode, tuple(np.ravel(v)), rel)
        if key not in self._moved:
            base = _answer_exact(mode, self.exact, v)
            sigma = [mp.mpf(0)] * len(base[0]) if base else [mp.inf]
            nodes = self.exact.ops + self.program.n if self.exact else 0
            for k in range(nodes):
                for factor in (1 + rel, 1 - rel):
                    other = fuzz_oracle.exact(self.program, self.x, (k, factor))
                    answer = _answer_exact(mode, other, v) if other is not None else None
                    if base is None or answer is None:
                        sigma = [mp.inf] * len(sigma)
                        break
                    sigma = [max(s, abs(a - b)) for s, a, b in zip(sigma, answer[0], base[0])]
            self._moved[key] = sigma
        return self._moved[key]

    @property
    def cs(self):
        if self._cs is False:
            self._cs = fuzz_oracle.complex_step(self.program, self.x)
        return self._cs

    @property
    def exact(self):
        if self._exact is False:
            self._exact = fuzz_oracle.exact(self.program, self.x)
        return self._exact


def _answer_cs(mode, jac, v):
    v = np.array(v, dtype=float)
    try:
        if mode == "jvp":
            return jac @ v
        if mode == "vjp":
            return jac.T @ v
        if mode == "ijvp":
            return np.linalg.solve(jac, v)
        if mode == "ivjp":
            return np.linalg.solve(jac.T, v)
        sign, logabs = np.linalg.slogdet(jac)
        return np.array([sign, logabs])
    except np.linalg.LinAlgError:
        return None


def _answer_exact(mode, ex: fuzz_oracle.Exact, v):
    """(answer, scale) at 50 digits as mp lists; None where J is singular."""
    n = ex.n
    vm = mp.matrix([mp.mpf(float(t)) for t in v])
    absm = lambda m: mp.matrix([[abs(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])  # noqa: E731
    if mode in ("jvp", "vjp"):
        jac, jabs = (ex.jac, ex.jac_abs) if mode == "jvp" else (ex.jac.T, ex.jac_abs.T)
        return list(jac * vm), list(jabs * absm(vm))
    inv = ex.inverse()
    if inv is None:
        return None
    if mode in ("ijvp", "ivjp"):
        inv_m, jabs = (inv, ex.jac_abs) if mode == "ijvp" else (inv.T, ex.jac_abs.T)
        ans = inv_m * vm
        return list(ans), list(absm(inv_m) * (jabs * absm(ans)))
    det = mp.det(ex.jac)
    if det == 0:
        return None
    scale = n + sum(abs(inv[j, i]) * ex.jac_abs[i, j] for i in range(n) for j in range(n))
    return [mp.sign(det), mp.log(abs(det))], [mp.mpf(0), scale]


def judge(kind, value, mode, memory, point: Point, v, batch_factor: float = 1.0) -> str:
    """The class of one run at one point (value: the tool's numbers at this point)."""
    if kind == "bare":
        return "bare exception"
    if kind == "ok":
        if not np.all(np.isfinite(value)):
            return "silent non-finite"
        cs = point.cs
        if cs is not None:
            want = _answer_cs(mode, cs, v)
            if want is not None and np.all(np.isfinite(want)) and np.all(
                    np.abs(value - want) <= 1e-11 * np.maximum(np.abs(want), 1e-300)):
                return "correct"
    ex = point.exact
    if ex is None:
        return "correct"                       # the oracle cannot differentiate here (abs at 0)
    exact = _answer_exact(mode, ex, v)
    inverse_like = mode in ("ijvp", "ivjp", "slogdet") or memory == "recompute"
    cond = ex.cond() if inverse_like or isinstance(value, si.NotInvertibleError) else 1.0
    overflow = exact is not None and any(abs(a) > 1e300 for a in exact[0])
    fair = (not ex.representable(mode)) or overflow or exact is None or cond > ILL
    if kind == "named" and memory == "recompute" and not fair:
        fair = any(mp.isinf(s) for s in point.moved(mode, v))
    if kind == "named":
        if isinstance(value, si.SingularJacobianError):
            return "correct" if fair else "false singular"
        if isinstance(value, si.NonFiniteError):
            return "correct" if fair else "false refusal"
        if isinstance(value, si.NotInvertibleError):
            # (cond is NaN where J itself is not finite: sqrt(0.0 * x) is the constant 0, whose
            # float partials are 0 * inf; the transform rightly sees no dependence)
            return "correct" if exact is None or not cond <= 1e15 else "false refusal"
        return "false refusal"
    if exact is None or cond > 1e15:
        return "correct"                       # J singular in exact arithmetic: no answer to check
    answer, scale = exact
    factor = K * EPS * (ex.ops + 2) * batch_factor
    # subnormal values on the way lose absolute digits, 2**-1074 a step, scaled by what
    # multiplies them later (vjp's 1e-350 * 1e230 is 0, not 1e-120): Exact.underflow
    vmax = float(np.max(np.abs(v))) if len(v) else 1.0
    underflow = ex.underflow(mode) if mode != "slogdet" else [0.0] * len(answer)
    tiny = ex.tiny_partials(mode, answer, v)
    base = [factor * s + 2.0 ** -1070 * (ex.ops + 2) * vmax * u + 4 * t + 1e-300
            for s, u, t in zip(scale, underflow, tiny)]
    if _within(mode, value, answer, base):
        return "correct"
    if memory == "recompute" or batch_factor > 1:     # the float path may move: see the docstring
        moved = point.moved(mode, v) if memory == "recompute" else point.moved(mode, v, ULPS)
        if _within(mode, value, answer, [b + (ex.ops + 2) * m for b, m in zip(base, moved)]):
            return "correct"
    return "wrong answer"


def _within(mode, value, answer, tolerance) -> bool:
    for i, (got, want, tol) in enumerate(zip(value, answer, tolerance)):
        if mode == "slogdet" and i == 0:
            if got != want and tolerance[1] < 1:        # (log|det| off by 1: det's sign is moot)
                return False
        elif abs(mp.mpf(float(got)) - want) > tol:
            return False
    return True


def check_program(program: fuzz_gen.FuzzProgram, counts: collections.Counter, failures: list | None = None) -> None:
    """Run every mode on ``program`` and add one class per run to ``counts``."""
    f, filename = load(program)
    rng = np.random.default_rng(program.seed)
    n = program.n
    try:
        base = Point(program, program.points[0])
        store = {}
        for mode, memory in RUNS:
            v = _vector(rng, n, None)
            if memory == "recompute":
                v = store[mode][1]
            kind, value = outcome(f, mode, memory, base.x, v, n)
            if memory == "store":
                store[mode] = (kind, v, value)
            verdict = judge(kind, value, mode, memory, base, v)
            if memory == "recompute":
                verdict = _drift_verdict(f, program, base.x, store[mode], (kind, value), verdict)
            _count(counts, failures, verdict, program, mode, memory, "point", value)
        if program.loops_kept:                    # the same through the unrolled loops
            unrolled = {}
            for mode, memory in UNROLLED:
                v = store[mode][1]
                kind, value = outcome(f, mode, memory, base.x, v, n, unroll=True)
                if memory == "store":
                    unrolled[mode] = (kind, v, value)
                verdict = judge(kind, value, mode, memory, base, v)
                if memory == "recompute":
                    verdict = _drift_verdict(f, program, base.x, unrolled[mode], (kind, value), verdict, unroll=True)
                _count(counts, failures, verdict, program, mode, memory, "point, unrolled", value)
        if len(program.points) > 1:
            _check_batch(f, program, counts, failures, rng)
    finally:
        linecache.cache.pop(filename, None)


def _finite_on_arrays(f, x, k) -> bool:
    """Whether the user's function, run on the batch arrays (NumPy's array loops, which can
    differ from its scalar functions by an ulp), gives finite values at batch index ``k``:
    an ulp of sinh(720) moves exp(-4.5 x + 1.4e223) from 1 to inf."""
    try:
        with np.errstate(all="ignore"):
            out = f(*(a.copy() for a in x))
    except (ArithmeticError, ValueError, TypeError):
        return False
    out = out if isinstance(out, tuple) else (out,)
    return all(np.isfinite(np.broadcast_to(o, np.shape(x[0]))[k]) for o in out)


def _drift_max(f, x, unroll=None) -> float | None:
    """si.drift's largest relative difference (None where si.drift refuses)."""
    try:
        return si.drift(f, x, unroll=unroll).max
    except si.S2SError:
        return None


def _drift_verdict(f, program, x, store, recompute, verdict, unroll=None) -> str:
    """Recompute differs from store mode somewhere: si.drift must say so (and a wrong
    recompute answer that si.drift explains is the known defect, FLAGGED)."""
    (s_kind, _, s_value), (r_kind, r_value) = store, recompute
    if verdict not in ("correct", "wrong answer"):
        return verdict
    if s_kind != "ok" or r_kind != "ok" or np.array_equal(s_value, r_value):
        return verdict
    drift = _drift_max(f, x, unroll)
    if drift is None:
        return verdict
    if verdict == "wrong answer":
        return FLAGGED if drift > DRIFT else verdict
    return "correct" if drift > 0 else "drift unflagged"


def _read_as_vectors(f, x) -> bool:
    """Whether the tool reads the batch arrays as vectors: NumPy's run of the function mixes
    the points (np.sum over a list holding values of several inputs sums the whole batch),
    so it is a function of n x batch variables. Which oracle judges follows the tool's
    reading, and both are independent of it: per point, or the complex-step Jacobian of the
    whole function (block diagonal for a function that does not mix the points, so a wrong
    reading either way shows as a wrong answer)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec, _, _ = si.api._compiled(f, None, "jvp", x)
    except (si.S2SError, si.UnsupportedSyntaxError):
        return False
    return bool(spec.vectors)


def _whole_jacobian(program, x) -> np.ndarray | None:
    """The complex-step Jacobian of the program run by NumPy on the batch arrays, as one
    function of its n x batch inputs (flattened input by input), or None where the complex
    run fails or is not finite."""
    fn = fuzz_oracle._load(program, fuzz_oracle._ComplexShim(), lambda z: np.where(np.real(z) >= 0, z, -z))
    flat = np.concatenate(x).astype(complex)
    batch = len(x[0])
    columns = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(flat.size):
            z = flat.copy()
            h = 1e-30 * max(abs(flat[j].real), 1e-270)
            z[j] += complex(0.0, h)
            try:
                out = fn(*np.split(z, len(x)))
            except (ArithmeticError, ValueError, TypeError):
                return None
            out = out if isinstance(out, tuple) else (out,)
            column = np.concatenate([np.broadcast_to(o, (batch,)) for o in out]).imag / h
            columns.append(column)
    jac = np.array(columns).T
    return jac if np.all(np.isfinite(jac)) else None


def _check_mixed_batch(f, program, x, counts, failures, rng) -> None:
    """A batch read as vectors (:func:`_read_as_vectors`): jvp, vjp and ijvp of the whole
    function against its complex-step Jacobian: correct within 1e-8 relative (in norm,
    times cond(J) for ijvp), wrong beyond LOOSE; between the two, a refusal, or a Jacobian
    the complex step cannot give, the run is counted and not judged (the per-point judge
    has the 50-digit tape to decide; this one has only the complex step), and so is every
    run of a batch whose whole Jacobian has cond > ILL."""
    counts[WHOLE] += 1
    jac = _whole_jacobian(program, x)
    if jac is None:
        counts[MIXED] += 1
        return
    n, batch = program.n, len(x[0])
    cond = np.linalg.cond(jac)
    if not cond <= ILL:                 # a float chain rule may move far from the complex step
        counts[MIXED] += 3              # there (seed 618: cos(8e-141 * 1e140)), and only the
        return                          # per-point judge has the 50-digit tape to decide
    for mode in ("jvp", "vjp", "ijvp"):
        if mode == "ijvp" and not cond < 1e8:
            continue
        v = _vector(rng, n, batch)
        kind, value = outcome(f, mode, "store", x, v, n)
        if kind != "ok":
            counts[MIXED] += 1
            if kind == "bare":
                _count(counts, failures, "bare exception", program, mode, "store", "batch, vectors", value)
            continue
        flat_v = np.concatenate(v)
        want = {"jvp": lambda: jac @ flat_v, "vjp": lambda: jac.T @ flat_v,
                "ijvp": lambda: np.linalg.solve(jac, flat_v)}[mode]()
        got = np.broadcast_to(value.reshape(len(value), -1), (len(value), batch)).ravel()
        scale = (cond if mode == "ijvp" else 1.0) * max(np.linalg.norm(want), 1e-300)
        error = np.linalg.norm(got - want) if np.all(np.isfinite(got)) else np.inf
        if 1e-8 * scale < error <= LOOSE * scale:
            counts[MIXED] += 1              # the complex step itself is off near a singular point
            continue                        # (seed 2859: arccosh near 1, 5e-7): no exact tape here
        _count(counts, failures, "correct" if error <= 1e-8 * scale else "wrong answer", program, mode,
               "store", "batch, vectors", value)


def _check_batch(f, program, counts, failures, rng) -> None:
    points = [Point(program, x) for x in program.points]
    n, batch = program.n, len(points)
    x = tuple(np.array([p.x[j] for p in points]) for j in range(n))
    if _read_as_vectors(f, x):
        _check_mixed_batch(f, program, x, counts, failures, rng)
        return
    for mode, memory in RUNS:
        v = _vector(rng, n, batch)
        kind, value = outcome(f, mode, memory, x, v, n)
        if kind == "ok":
            value = np.broadcast_to(value.reshape(len(value), -1), (len(value), batch))
            verdicts = [judge("ok", value[:, k], mode, memory, points[k], tuple(vi[k] for vi in v), 4.0)
                        for k in range(batch)]
            verdict = next((c for c in verdicts if c != "correct"), "correct")
            if verdict == "wrong answer" and memory == "recompute":
                verdict = FLAGGED if (_drift_max(f, x) or 0.0) > DRIFT else verdict
        elif kind == "named" and getattr(value, "index", None) is not None:
            k = value.index if isinstance(value.index, int) else value.index[0]
            verdict = judge(kind, value, mode, memory, points[k], tuple(vi[k] for vi in v))
            if verdict == "false refusal" and isinstance(value, si.NonFiniteError) and not _finite_on_arrays(f, x, k):
                verdict = "correct"               # the user's own function overflows there on arrays
        elif kind == "named":                 # no index: fair if fair at some point
            verdicts = [judge(kind, value, mode, memory, p, tuple(vi[k] for vi in v))
                        for k, p in enumerate(points)]
            verdict = "correct" if "correct" in verdicts else verdicts[0]
        else:
            verdict = "bare exception"
        _count(counts, failures, verdict, program, mode, memory, "batch", value)


def _count(counts, failures, verdict, program, mode, memory, where, value) -> None:
    counts[verdict] += 1
    if verdict == "correct":
        counts["refused" if isinstance(value, BaseException) else "answered"] += 1
    if verdict != "correct" and failures is not None:
        failures.append((program.seed, mode, memory, where, verdict, repr(value)[:300]))


def run(seeds) -> tuple[collections.Counter, list]:
    counts: collections.Counter = collections.Counter()
    failures: list = []
    programs = 0
    for seed in seeds:
        program = fuzz_gen.generate(seed)
        check_program(program, counts, failures)
        programs += 1
        for what in ("loops_kept", "loops_unrolled", "vectors", "helpers"):
            counts[f"with {what}"] += bool(getattr(program, what))
    counts["programs"] = programs
    return counts, failures


def table(counts: collections.Counter) -> str:
    runs = sum(counts[c] for c in CLASSES)
    rows = [("programs", counts["programs"]),
            ("  with loops kept as loops", counts["with loops_kept"]),
            ("  with unrolled loops", counts["with loops_unrolled"]),
            ("  with vector locals", counts["with vectors"]),
            ("  with helper functions", counts["with helpers"]),
            ("runs (modes x memory x point or batch)", runs),
            ("correct: finite numbers that agree with the oracle", counts["answered"]),
            ("correct: refusals the oracle justifies", counts["refused"]),
            ("  " + WHOLE, counts[WHOLE]), ("  " + MIXED, counts[MIXED])]
    rows += [(c, counts[c]) for c in CLASSES if c != "correct"]
    width = max(len(r[0]) for r in rows)
    out = [f"| {'class':<{width}} | {'count':>8} |", f"|{'-' * (width + 2)}|{'-' * 10}|"]
    out += [f"| {name:<{width}} | {count:>8} |" for name, count in rows]
    return "\n".join(out)

