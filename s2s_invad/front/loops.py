"""Front end: keeping ``for`` loops as loops (SPEC section 9).

A loop ``for k in range(...)`` (or ``reversed(range(...))``) whose body can be evaluated
once for *every* iteration is *rolled*: the evaluator runs the body a single time with

* the loop variable as a passive runtime int (so ``t = k * dt`` is fine, but a branch or an
  index on ``k`` is not: such a body varies between iterations and is unrolled instead);
* every variable the body carries across iterations replaced by a placeholder: names the
  body assigns that were bound before the loop, and lists and arrays it may change in
  place (their elements each become a placeholder);

and the result is one :class:`~s2s_invad.ir.Loop` item whose body is analysed once.
A trip count that depends on a runtime value (``def integrate(z, steps)``) can only be
rolled; a transform-time trip count is rolled when it is at least :data:`ROLL_MIN` (or as
the ``unroll=`` policy says), otherwise the loop is unrolled as before. Why a loop was
unrolled is recorded for ``explain``. A runtime start or stop takes a step of 1 or -1
(``range(steps - 1, -1, -1)``, ``reversed(range(steps))``); where the start is a runtime
value, the IR loop counts ``k_i`` from 0 and the body begins with ``k = start - k_i`` (or
``start + k_i``), a passive statement.

The body must leave every carried variable with the same structure (a scalar stays a
scalar, a vector keeps its length); ``break``, ``continue`` and ``return`` inside it,
variables the body assigns but that are read after the loop without being carried, and
conditions on the loop variable make a loop unrollable, not wrong.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _astlib as A
from ..errors import EvaluationError, UnsupportedSyntaxError
from ..ir import Carry, Loop, Value
from .fence import assigned_names
from .values import Scalar, is_number

gast = A.gast

ROLL_MIN = 8        # transform-time trip counts below this are unrolled by default


class CannotRoll(Exception):
    """The body differs between iterations (or carries something a loop cannot)."""


@dataclasses.dataclass
class LoopNote:
    """What happened to one source loop, for explain: rolled or unrolled, and why."""
    line: int
    rolled: bool
    count: str
    reason: str


def _policy(unroll, line: int) -> bool | None:
    """True: unroll; False: roll if possible; None: decide by the trip count."""
    if isinstance(unroll, dict):
        return unroll.get(line)
    return unroll


def range_bounds(ev, stmt):
    """(start, count, step, runtime) when ``stmt`` is ``for NAME in range(...)`` or ``for
    NAME in reversed(range(...))``, else None. ``count`` is an int or a runtime Scalar; so
    is ``start`` when the range's start depends on a runtime value (its step is then 1 or
    -1). The range's arguments are evaluated once."""
    it = _range_call(ev, stmt)
    if it is None:
        return None
    reverse = it is not stmt.iter
    ev.begin()
    try:
        return _bounds(ev, it, [ev.eval(a) for a in it.args], reverse)
    finally:
        ev.finish()                 # (names the statements of a runtime count or start)


def _int_valued(ev, value) -> bool:
    """Whether a runtime value is an int in Python: a parameter (a trip count, which the
    API checks is an int) or + - * of ints."""
    from ..ir import Const
    stmt = ev.defs.get(id(value))
    if stmt is None:
        return True
    if stmt.op not in ("add", "sub", "mul", "neg"):
        return False
    return all(_int_valued(ev, a) if not isinstance(a, Const) else isinstance(a.value, int) for a in stmt.args)


def _bounds(ev, it, args, reverse):
    ev.node = it
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    else:
        start, stop = args[0], args[1]
        step = args[2] if len(args) == 3 else 1
    if isinstance(step, Scalar):
        ev.refuse_runtime("an index or count", step, "the range step depends on a runtime value "
                                                     "(its start and stop may)")
    _int(ev, step, "the range step")
    if step == 0:
        raise ev.fail(it, "range() step must not be zero")
    step = int(step)
    if not isinstance(start, Scalar) and not isinstance(stop, Scalar):
        _int(ev, start, "the range start")
        _int(ev, stop, "the range stop")
        if (start, step) == (0, 1):
            count = stop                                   # (range(N) keeps the name N)
        else:
            count = len(range(int(start), int(stop), step))
        start = int(start)
        if reverse:
            start, step = start + step * (count - 1), -step
        return start, count, step, False
    for value, what in ((start, "start"), (stop, "stop")):
        if not isinstance(value, Scalar):
            _int(ev, value, f"the range {what}")
        elif not _int_valued(ev, value.value):
            raise ev.refuse(it, f"the range {what} `{ev.text_of(it.args[0 if what == 'start' or len(it.args) == 1 else 1]) or value.value.name}` "
                                "is a runtime value computed with / or a float, so it is a float in Python "
                                "and range() would refuse it: keep trip counts to + - * of ints (steps - 1, "
                                "2 * steps), or pass the count you need as its own int argument")
    if step not in (1, -1):
        raise ev.refuse(it, f"a range whose start or stop is a runtime value needs a step of 1 or -1, "
                            f"not {step}: loop over range(count) with a step of 1 and compute the "
                            "value from the index (e.g. start + step * i)")
    # the count is a runtime value; below 0, the loop runs no iteration (as range does)
    if step == 1:
        count = stop - start
    else:
        count = start + (-stop) if not isinstance(stop, Scalar) else start - stop
    if reverse:                                            # the last value first
        start, step = (stop - 1 if step == 1 else stop + 1), -step
    return start, count, step, True


def _range_call(ev, stmt):
    """The ``range(...)`` call of ``for NAME in range(...)`` or ``reversed(range(...))``."""
    from .evaluate import Known

    def call_of(node, name):
        return node if (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                        and not node.keywords and not any(isinstance(a, gast.Starred) for a in node.args)
                        and ev.lookup_quiet(node.func.id) == Known("builtins", name, None)) else None
    if not isinstance(stmt.target, gast.Name):
        return None
    it = stmt.iter
    outer = call_of(it, "reversed")
    if outer is not None and len(outer.args) == 1:
        it = outer.args[0]
    it = call_of(it, "range")
    return it if it is not None and 1 <= len(it.args) <= 3 else None


def _int(ev, value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        from .evaluate import _kind
        raise ev.fail(ev.node, f"{what} must be an int, got {_kind(value)}")


def try_roll(ev, stmt, bounds) -> bool:
    """Roll ``stmt`` if the policy and the body allow; True when it was rolled."""
    start, count, step, runtime = bounds
    policy = _policy(ev.unroll, stmt.lineno)
    count_text = count.value.name if isinstance(count, Scalar) else str(count)
    if not runtime:
        if policy is True:
            ev.notes.append(LoopNote(stmt.lineno, False, count_text, "unroll= asks for it"))
            return False
        if policy is None and count < ROLL_MIN:
            ev.notes.append(LoopNote(stmt.lineno, False, count_text,
                                     f"a short loop ({count} < {ROLL_MIN} iterations)"))
            return False
    reason = ev.roll_failures.get(id(stmt))
    if reason is None:
        try:
            _roll(ev, stmt, start, count, step)
            ev.notes.append(LoopNote(stmt.lineno, True, count_text, "its iterations do the same work"))
            return True
        except CannotRoll as why:
            reason = str(why)
            ev.roll_failures[id(stmt)] = reason
    if runtime:
        raise ev.refuse(stmt, f"this loop's trip count `{count_text}` is a runtime value, so it must stay "
                              f"a loop, but its body cannot be kept as one: {reason}")
    ev.notes.append(LoopNote(stmt.lineno, False, count_text, reason))
    return False


def _names_loaded(body) -> list[str]:
    seen, out = set(), []
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and node.id not in seen:
                seen.add(node.id)
                out.append(node.id)
    return out


class _Reshaped(CannotRoll):
    """A carried list comes back as an array, or an array as a list (of the same size)."""

    def __init__(self, message, changed: dict):
        super().__init__(message)
        self.changed = changed            # name -> the value the body left


def _roll(ev, stmt, start, count, step):
    runtime = isinstance(count, Scalar) or isinstance(start, Scalar)    # it cannot be unrolled instead
    env = ev.frames[-1].env
    target = stmt.target.id
    assigned = assigned_names(stmt.body)
    order = _names_loaded(stmt.body)
    carried = [n for n in order if n != target and n in env
               and (n in assigned or isinstance(env[n], (list, np.ndarray)))]
    entries = {name: env[name] for name in carried}
    offset = (start, step) if isinstance(start, Scalar) else None
    try:
        attempt = _attempt(ev, stmt, carried, entries, offset, runtime)
    except _Reshaped as first:
        # ``u = np.array(...)`` then ``u = [...]`` in the body: the first iteration starts
        # from an array, the others from a list. Evaluate the body from a list too and keep
        # the loop only if both evaluations are the same statements.
        body1 = first.body
        converted = dict(entries)
        for name, value in first.changed.items():
            converted[name] = _like(entries[name], value)
        second = _attempt(ev, stmt, carried, converted, offset, runtime)
        if not _same_body(body1, second.body, first.placeholders + [first.index],
                          second.placeholders + [second.index]):
            ev.discard(second)
            raise CannotRoll(str(first)) from None
        attempt = second
    unchanged = [name for name in carried if _unchanged(attempt, name)]
    if unchanged:
        # Arrays the body reads but leaves as they were (weights, coefficients): read
        # from outside, invariants of the loop instead of values it carries.
        ev.discard(attempt)
        carried = [name for name in carried if name not in unchanged]
        attempt = _attempt(ev, stmt, carried, {name: entries[name] for name in carried}, offset, runtime)
    if offset is not None:                 # the index counts from 0; the body computes the value
        start, step = 0, 1
    loop = Loop(index=attempt.index, start=start, step=step, count=ev.operand(count), carried=[],
                body=attempt.body, line=stmt.lineno, where=ev.where)
    for (entry, var), result in zip(attempt.carries, attempt.results):
        loop.carried.append(Carry(entry, var, result))
    ev.body.append(loop)
    site = f"{ev.frames[-1].sf.filename}:{stmt.lineno}"
    for name in sorted(ev.params_of(count)):          # the first loop each one counts
        ev.count_params.setdefault(name, site)
    for name in carried:                               # after the loop: the carried values
        env[name] = attempt.templates[name]
    for name in assigned - set(carried):
        if name in unchanged:                          # assigned, but to what it was: x = x + 0 * y
            env[name] = entries[name]
            continue
        env.pop(name, None)
        ev.rolled_locals[name] = stmt.lineno
    if isinstance(count, int) and count > 0:
        env[target] = start + step * (count - 1)
    else:
        env.pop(target, None)
        ev.rolled_locals[target] = stmt.lineno


@dataclasses.dataclass
class _Attempt:
    body: list
    index: Value
    carries: list                 # (entry operand, placeholder Value)
    results: list                 # operands, one per carry
    templates: dict               # name -> the placeholder structure
    placeholders: list            # the placeholder Values, in order
    state: tuple                  # the evaluator's state before the attempt (to undo it)
    env: dict
    spans: dict = dataclasses.field(default_factory=dict)   # name -> (first, end) in carries


def _attempt(ev, stmt, carried, entries, offset=None, runtime=False) -> _Attempt:
    """Evaluate the body once from placeholders of ``entries``; undone on failure (a
    reshaped carry raises _Reshaped, with the body it evaluated). ``offset``: (start, step)
    of a range whose start is a runtime value: the loop counts i from 0 and the body first
    computes the loop variable, start + i or start - i."""
    env = ev.frames[-1].env
    target = stmt.target.id
    state, saved_env = ev.snapshot(), dict(env)
    outer_body, outer_where = ev.body, ev.where
    loop_body: list = []
    carries, templates, spans = [], {}, {}

    def undo():
        ev.body, ev.where = outer_body, outer_where
        env.clear()
        env.update(saved_env)
        ev.restore(state)
    try:
        for name in carried:
            placeholder, leaves = _placeholder(ev, entries[name], name, stmt)
            templates[name] = placeholder
            env[name] = placeholder
            spans[name] = (len(carries), len(carries) + len(leaves))
            carries += leaves
        ev.body = loop_body
        ev.where = outer_where + (("rolled", target, None),)
        if offset is None:
            index = Value(ev.var_name(target), target, stmt.lineno)
            env[target] = Scalar(index)
        else:
            index = Value(ev.derived_name(f"{target}_i"), target, stmt.lineno)
            ev.line, ev.node = stmt.lineno, stmt
            ev.begin()
            start, step = offset
            value = start + Scalar(index) if step == 1 else start - Scalar(index)
            ev.finish([(target, True, value)])
            ev.rolled_indices[id(value.value)] = runtime
            env[target] = value
        ev.rolled_indices[id(index)] = runtime
        try:
            ev.block(stmt.body)
        except (_flow_errors()) as exc:
            raise CannotRoll(f"'{type(exc).__name__.strip('_').lower()}' inside the loop body") from None
        except (UnsupportedSyntaxError, EvaluationError) as exc:
            raise CannotRoll(f"line {exc.lineno}: {exc.msg}") from None
        results, changed = [], {}
        for name in carried:
            if name not in env:
                raise CannotRoll(f"'{name}' is deleted inside the loop")
            if _reshaped(templates[name], env[name]):
                changed[name] = env[name]
                continue
            results += _match(ev, templates[name], env[name], name)
        if changed:
            name = next(iter(changed))
            error = _Reshaped(f"'{name}' starts as a {type(templates[name]).__name__} and becomes a "
                              f"{type(changed[name]).__name__} in the loop", changed)
            error.body, error.placeholders, error.index = loop_body, [v for _, v in carries], index
            raise error
    except CannotRoll:
        undo()
        raise
    ev.body, ev.where = outer_body, outer_where
    return _Attempt(loop_body, index, carries, results, templates, [v for _, v in carries], state, saved_env,
                    spans)


def _unchanged(attempt: _Attempt, name: str) -> bool:
    """True when every element of a carried variable comes back as its own placeholder."""
    start, end = attempt.spans[name]
    return end > start and all(attempt.results[i] is attempt.carries[i][1] for i in range(start, end))


def _reshaped(template, value) -> bool:
    """A 1-D array became a list or tuple of the same length, or the other way round."""
    arrays = (isinstance(template, np.ndarray), isinstance(value, np.ndarray))
    if arrays[0] == arrays[1]:
        return False
    seq = value if arrays[0] else template
    arr = template if arrays[0] else value
    return isinstance(seq, (list, tuple)) and arr.ndim == 1 and len(seq) == len(arr)


def _like(entry, shape_of):
    """``entry``'s elements in the container kind of ``shape_of`` (list, tuple or array)."""
    items = list(entry)
    if isinstance(shape_of, np.ndarray):
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            out[i] = item
        return out
    return type(shape_of)(items)


def _same_body(a: list, b: list, pa: list, pb: list) -> bool:
    """The two evaluations of a body built the same statements (up to the names of the
    placeholders and of the values they define)."""
    if len(a) != len(b):
        return False
    mapping = {id(x): y for x, y in zip(pa, pb)}
    for s, t in zip(a, b):
        if isinstance(s, Loop) or isinstance(t, Loop):
            return False
        if s.op != t.op or s.ns != t.ns or len(s.args) != len(t.args):
            return False
        for x, y in zip(s.args, t.args):
            if isinstance(x, Value):
                if mapping.get(id(x), x) is not y:
                    return False
            elif isinstance(y, Value) or x != y:
                return False
        mapping[id(s.target)] = t.target
    return True


def _flow_errors():
    from .evaluate import _Break, _Continue, _Return
    return (_Break, _Continue, _Return)


def _placeholder(ev, value, name, stmt):
    """A copy of ``value`` with every scalar replaced by a fresh runtime value; the
    (entry operand, placeholder Value) of each, in order."""
    leaves = []

    def make(v, path):
        if isinstance(v, Scalar) or (is_number(v) and not isinstance(v, (bool, np.bool_))):
            entry = v.value if isinstance(v, Scalar) else ev.operand(v)
            new = Value(ev.var_name(name) if path == name else ev.derived_name(path), path, stmt.lineno)
            leaves.append((entry, new))
            return Scalar(new, v.param if isinstance(v, Scalar) else None)   # (a vector use asks for it)
        if isinstance(v, list):
            return [make(e, f"{path}_{i}") for i, e in enumerate(v)]
        if isinstance(v, tuple):
            return tuple(make(e, f"{path}_{i}") for i, e in enumerate(v))
        if isinstance(v, np.ndarray):
            out = np.empty(v.shape, dtype=object)
            for idx in np.ndindex(v.shape):
                out[idx] = make(v[idx], path + "".join(f"_{i}" for i in idx))
            return out
        raise CannotRoll(f"'{name}' holds {type(v).__name__} values, which a loop cannot carry")
    return make(value, name), leaves


def _match(ev, template, value, name) -> list:
    """The operands of ``value`` leaf by leaf, checking it has the template's structure."""
    out = []

    def walk(t, v):
        if isinstance(t, Scalar):
            if isinstance(v, Scalar):
                out.append(v.value)
            elif is_number(v) and not isinstance(v, (bool, np.bool_)):
                out.append(ev.operand(v))
            else:
                raise CannotRoll(f"'{name}' changes from a number to {type(v).__name__} in the loop")
        elif isinstance(t, (list, tuple)):
            if type(v) is not type(t) or len(v) != len(t):
                raise CannotRoll(f"'{name}' changes its structure in the loop (a {type(t).__name__} of "
                                 f"{len(t)} becomes {type(v).__name__})")
            for a, b in zip(t, v):
                walk(a, b)
        elif isinstance(t, np.ndarray):
            if not isinstance(v, np.ndarray) or v.shape != t.shape:
                raise CannotRoll(f"'{name}' changes its shape in the loop")
            for idx in np.ndindex(t.shape):
                walk(t[idx], v[idx])
    walk(template, value)
    return out
