"""Parameter objects read as transform-time constants: dataclass instances (frozen or not),
namedtuples and typing.NamedTuples (by attribute and by index), SimpleNamespaces and plain
objects (their vars()), reached through a module global, a closure, a helper's default or
a keyword-only constant, nested (p.arm.length), their methods and properties inlined.
Every case in every mode and slogdet against the complex-step oracle (which runs the same
objects), the primal against the plain call; changing a field after a call transforms
again; what cannot be read says so at its line; the command line refuses with advice."""

import collections
import dataclasses
import functools
import importlib.util
import inspect
import os
import pathlib
import subprocess
import sys
import types
import typing

import numpy as np
import pytest

import s2s_invad as si
from s2s_invad.back import cache

import checks
import oracle


@dataclasses.dataclass
class Arm:
    length: float = 1.5
    weights: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.5, -0.25]))


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: float = 2.0
    steps: int = 3
    arm: Arm = dataclasses.field(default_factory=Arm)

    def force(self, x):
        return self.a * np.sin(x) + self.arm.length * x

    @property
    def stiffness(self):
        return self.a * self.arm.length

    @staticmethod
    def scale(x):
        return 2.0 * x


@dataclasses.dataclass
class Mutable:
    a: float = 0.7
    label: str = "spring"
    offsets: tuple = (0.1, 0.2)


Pair = collections.namedtuple("Pair", "a b")


class Coeffs(typing.NamedTuple):
    c: float
    d: float = 3.0


class Plain:
    def __init__(self, k):
        self.k = k
        self.table = [1.0, 2.0, 4.0]

    def ramp(self, x, n):
        return sum(self.table[i] * x ** (i + 1) for i in range(n))


FROZEN = Frozen()
MUTABLE = Mutable()
PAIR = Pair(1.25, -0.5)
COEFFS = Coeffs(0.5)
NS = types.SimpleNamespace(s=0.25, w=np.array([[1.0, 0.5], [-0.3, 2.0]]), inner=types.SimpleNamespace(t=1.5))
PLAIN = Plain(0.3)
LINKS_LIST = [Arm(1.0), Arm(0.5)]


def uses_dataclasses(x, y):
    for _ in range(FROZEN.steps):
        x = x + FROZEN.a * 0.1 * np.tanh(y)
        y = y + FROZEN.arm.length * 0.1 * np.sin(x)
    return x * FROZEN.arm.weights[0] + MUTABLE.a * y, y + MUTABLE.offsets[1] * x


def uses_tuples(u):
    a, b = PAIR
    return np.array([PAIR.a * u[0] + PAIR[1] * np.sin(u[1]) + a * b,
                     COEFFS.c * u[1] + COEFFS.d * u[0] ** 2 + len(COEFFS) * COEFFS[0]])


def uses_namespace(u):
    v = NS.w @ np.tanh(u) + NS.s * u
    return v + NS.inner.t * u


def uses_methods(x, y):
    return FROZEN.force(x) + FROZEN.stiffness * y, PLAIN.ramp(y, 3) + PLAIN.k * x


def uses_a_list_of_objects(x, y):
    total = 0.0
    for link in LINKS_LIST:
        total = total + link.length
    return total * x + LINKS_LIST[1].length * y ** 2, x - y


SETTINGS = {"arm": Arm(0.75), "pair": Pair(0.5, 2.0), "gain": 1.25}


def uses_a_dict_of_objects(x, y):
    return SETTINGS["arm"].length * np.sin(x) + SETTINGS["pair"].b * y, SETTINGS["gain"] * y - SETTINGS["pair"][0] * x


def helper_with_default(x, p=MUTABLE):
    return p.a * x + np.sin(x)


def calls_helper_default(x, y):
    return helper_with_default(x) + y, helper_with_default(y, FROZEN) - x


def keyword_object(x, y, *, p=Frozen(a=1.5)):
    return p.a * x + np.cos(y), y + p.stiffness * np.sin(x)


def make(p):
    def closure(x, y):
        return p.a * np.exp(0.1 * x) + y, p.arm.length * x - y ** 2
    return closure


CLOSURE = make(Frozen(a=0.9, arm=Arm(length=2.5)))

POINT = (0.3, -0.4)
VECTOR = (np.array([0.4, 0.9]),)


@pytest.mark.parametrize("f, primals", [
    (uses_dataclasses, POINT), (uses_tuples, VECTOR), (uses_namespace, VECTOR), (uses_methods, POINT),
    (uses_a_list_of_objects, POINT), (uses_a_dict_of_objects, POINT), (calls_helper_default, POINT), (keyword_object, POINT), (CLOSURE, POINT),
], ids=lambda v: getattr(v, "__name__", None) if callable(v) else None)
def test_every_mode_against_the_oracle(f, primals):
    checks.check_structured(si, f, primals)
    y, _ = si.jvp(f, primals, tuple(np.ones_like(np.asarray(p, dtype=float)) for p in primals))
    want = f(*primals)
    for got, ref in zip(checks.flatten(y), checks.flatten(want)):
        assert got == pytest.approx(ref, rel=1e-15, abs=1e-15)


def test_values_read_are_constants_of_the_generated_code():
    text = si.source(uses_dataclasses, "jvp")
    assert "FROZEN" not in text.split("def ", 1)[1].split("# line")[0]     # no object at run time
    assert "0.2 * " in text or "* 0.2" in text                            # FROZEN.a * 0.1, folded
    assert "np.sin" in text


def test_a_dataclass_in_source_text():
    """si.from_source compiles the text on its own (not with s2s_invad's __future__ flags,
    under which dataclasses would look up string annotations in a module that is not there)."""
    f = si.from_source("import numpy as np\nfrom dataclasses import dataclass\n\n@dataclass\nclass P:\n"
                       "    a: float = 2.0\n\nP0 = P()\n\ndef f(x):\n    return P0.a * np.sin(x)\n", "f")
    assert si.jvp(f, (0.5,), (1.0,)) == pytest.approx((2.0 * np.sin(0.5), 2.0 * np.cos(0.5)), rel=1e-15)


# -- stale values --------------------------------------------------------------------------------

def stale_global(x, y):
    return MUTABLE.a * x + y, x - MUTABLE.offsets[0] * y


def test_changing_a_field_after_a_call_transforms_again():
    saved = MUTABLE.a
    try:
        _, y_dot = si.jvp(stale_global, POINT, (1.0, 0.0))
        assert y_dot == pytest.approx((saved, 1.0))
        key = cache.entry_key(stale_global, mode="jvp")
        MUTABLE.a = 3.0
        assert cache.entry_key(stale_global, mode="jvp") != key            # the disk cache: another entry
        y, y_dot = si.jvp(stale_global, POINT, (1.0, 0.0))
        assert y_dot == pytest.approx((3.0, 1.0)) and y == pytest.approx(stale_global(*POINT))
        _, x_dot = si.ijvp(stale_global, POINT, (1.0, 0.0))
        J = oracle.dense_jacobian(stale_global, POINT)
        np.testing.assert_allclose(x_dot, np.linalg.solve(J, [1.0, 0.0]), rtol=1e-12)
    finally:
        MUTABLE.a = saved
    assert si.jvp(stale_global, POINT, (1.0, 0.0))[1] == pytest.approx((saved, 1.0))


def test_replacing_the_object_or_changing_a_nested_array_transforms_again():
    global MUTABLE
    saved = MUTABLE
    try:
        si.jvp(stale_global, POINT, (1.0, 0.0))
        MUTABLE = Mutable(a=-2.0, offsets=(0.5, 0.0))
        assert si.jvp(stale_global, POINT, (0.0, 1.0))[1] == pytest.approx((1.0, -0.5))
    finally:
        MUTABLE = saved
    weights = FROZEN.arm.weights.copy()
    try:
        before = si.jvp(uses_dataclasses, POINT, (1.0, 0.0))[1]
        FROZEN.arm.weights[0] = 5.0                             # in place, inside a frozen object
        after = si.jvp(uses_dataclasses, POINT, (1.0, 0.0))[1]
        J = oracle.dense_jacobian(uses_dataclasses, POINT)
        np.testing.assert_allclose(after, J[:, 0], rtol=1e-12)
        assert after[0] != pytest.approx(before[0])
    finally:
        FROZEN.arm.weights[:] = weights


class WithClassConstant:
    gain = 2.0

    def __init__(self):
        self.bias = 0.5

    def response(self, x):
        return self.gain * np.tanh(x) + self.bias


CLASSY = WithClassConstant()


def reads_a_class_constant(x, y):
    return CLASSY.response(x) + y, CLASSY.gain * y - x


def test_a_changed_class_attribute_or_method_transforms_again():
    point = (0.2, 0.7)
    try:
        checks.check_structured(si, reads_a_class_constant, point)
        WithClassConstant.gain = -1.5
        checks.check_structured(si, reads_a_class_constant, point)
        assert si.jvp(reads_a_class_constant, point, (0.0, 1.0))[1] == pytest.approx((1.0, -1.5))
        WithClassConstant.response = lambda self, x: self.bias * x      # noqa: E731 (a method rebound)
        y, _ = si.jvp(reads_a_class_constant, point, (1.0, 0.0))
        assert y == pytest.approx(reads_a_class_constant(*point), rel=1e-15)
    finally:
        WithClassConstant.gain = 2.0
        del WithClassConstant.response
        WithClassConstant.response = _RESPONSE


_RESPONSE = WithClassConstant.response


def test_a_changed_keyword_constant_or_partial_transforms_again():
    p = Mutable(a=1.0)

    def g(x, *, p=p):
        return p.a * x ** 2
    assert si.jvp(g, (0.5,), (1.0,)) == pytest.approx((0.25, 1.0))
    p.a = 4.0
    assert si.jvp(g, (0.5,), (1.0,)) == pytest.approx((1.0, 4.0))
    bound = functools.partial(keyword_object, p=Frozen(a=-1.0))
    y, y_dot = si.jvp(bound, POINT, (1.0, 0.0))
    assert y == pytest.approx(keyword_object(*POINT, p=Frozen(a=-1.0)))
    assert y_dot[0] == pytest.approx(-1.0)


# -- refusals ------------------------------------------------------------------------------------

def reads_a_str(x):
    return x * MUTABLE.label


def reads_a_static_method(x):
    return FROZEN.scale(x)


def reads_a_missing_field(x):
    return x * FROZEN.b


def reads_a_namedtuple_method(x):
    return x * PAIR._asdict()


def takes_an_object(x, p):
    return p.a * x


def _line(f, text):
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("f, words", [
    (reads_a_str, "MUTABLE.label is a str ('spring'), not a number"),
    (reads_a_static_method, "FROZEN.scale is a static method of Frozen"),
    (reads_a_missing_field, "FROZEN (Frozen dataclass) has no attribute 'b' (its fields: a, steps, arm)"),
    (reads_a_namedtuple_method, "attribute ._asdict of a Pair (a namedtuple with the fields a, b)"),
])
def test_what_cannot_be_read_is_refused_at_its_line(f, words):
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(f, (0.5,), (1.0,))
    assert words in str(info.value)
    assert info.value.filename.endswith("test_params.py")
    assert info.value.lineno == _line(f, "return")


def test_an_object_passed_as_an_argument_cannot_be_differentiated_or_compiled():
    with pytest.raises(si.ArgumentError, match=r"wrt names 'p' of takes_an_object \(.*test_params.py:\d+\), but "
                                               r"the call gives it a Frozen \(a parameter object\)"):
        si.jvp(takes_an_object, (0.5, FROZEN), (1.0, 0.0), wrt=("x", "p"))
    with pytest.raises(si.ArgumentError, match=r"argument 'p' of takes_an_object .* is a parameter object, "
                                               r"which backend='c' cannot pass"):
        si.jvp(takes_an_object, (0.5, FROZEN), (1.0,), backend="c")


def test_source_without_the_object_says_how_to_give_it():
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.source(takes_an_object, "jvp")
    assert "if the parameter 'p' is a parameter object" in str(info.value)
    assert "pass the object with the primals" in str(info.value)
    assert info.value.lineno == _line(takes_an_object, "return")


def passed_objects(x, p, y, q):
    return p.force(x) + q.a * y, y * p.arm.length - np.sin(q.offsets[0] * x)


def test_objects_passed_as_arguments_are_constants_of_the_transform():
    """As JAX's static arguments: not differentiated (also without wrt), their fields built
    into the code, another object or a changed field transforms again."""
    q = Mutable(a=1.25, offsets=(0.5, 0.0))
    primals = (0.3, FROZEN, -0.4, q)
    checks.check_structured(si, passed_objects, primals, wrt=("x", "y"))
    y, y_dot = si.jvp(passed_objects, primals, (1.0, 0.0))             # wrt: the parameters given numbers
    assert y == pytest.approx(passed_objects(*primals), rel=1e-15)
    q.a = -3.0                                                         # in place: transformed again
    y, y_dot = si.jvp(passed_objects, primals, (0.0, 1.0))
    assert y == pytest.approx(passed_objects(*primals), rel=1e-15) and y_dot[0] == pytest.approx(-3.0)
    other = Mutable(a=0.5, offsets=(2.0, 0.0))                         # another object
    y, (x_dot, y_dot) = si.ijvp(passed_objects, (0.3, FROZEN, -0.4, other), (1.0, 0.0))
    assert y == pytest.approx(passed_objects(0.3, FROZEN, -0.4, other), rel=1e-15)
    J = oracle.dense_jacobian(passed_objects, (0.3, FROZEN, -0.4, other), wrt=("x", "y"))
    np.testing.assert_allclose(J @ [x_dot, y_dot], [1.0, 0.0], atol=1e-12)
    with pytest.raises(si.UnsupportedSyntaxError, match="attribute .force of a runtime scalar"):
        si.jvp(passed_objects, (0.3, 1.0, -0.4, q), (1.0, 0.0), wrt=("x", "y"))   # a number for p: p.force?


# -- realistic cases -------------------------------------------------------------------------------

@dataclasses.dataclass
class Links:
    upper: float = 1.0
    lower: float = 0.8


LINKS = Links()


def reach(q):
    """Where a planar two-link arm with joint angles q puts its hand."""
    return np.array([LINKS.upper * np.cos(q[0]) + LINKS.lower * np.cos(q[0] + q[1]),
                     LINKS.upper * np.sin(q[0]) + LINKS.lower * np.sin(q[0] + q[1])])


def test_newton_steps_on_a_two_link_arm_with_ijvp():
    checks.check_structured(si, reach, (np.array([0.3, 1.1]),))
    target = np.array([0.9, 0.9])
    q = np.array([0.3, 1.1])
    for _ in range(8):                        # q <- q - J^-1 (reach(q) - target)
        y, (step,) = si.ijvp(reach, (q,), reach(q) - target)
        q = q - step
    np.testing.assert_allclose(reach(q), target, atol=1e-12)
    saved = LINKS.lower
    try:
        LINKS.lower = 0.6                     # a shorter forearm: another arm, another answer
        y, _ = si.ijvp(reach, (q,), np.zeros(2))
        np.testing.assert_allclose(y, reach(q), rtol=1e-15)
        assert not np.allclose(y, target)
    finally:
        LINKS.lower = saved


class Tableau(typing.NamedTuple):
    a21: float = 0.5
    a32: float = 0.5
    a43: float = 1.0
    b: tuple = (1 / 6, 1 / 3, 1 / 3, 1 / 6)


RK4 = Tableau()
DAMPING = types.SimpleNamespace(mu=0.3, omega=1.7)


def oscillator(x, v):
    return v, -DAMPING.omega ** 2 * np.sin(x) - DAMPING.mu * v


def rk4(x, v):
    h = 0.05
    for _ in range(6):
        k1 = oscillator(x, v)
        k2 = oscillator(x + RK4.a21 * h * k1[0], v + RK4.a21 * h * k1[1])
        k3 = oscillator(x + RK4.a32 * h * k2[0], v + RK4.a32 * h * k2[1])
        k4 = oscillator(x + RK4.a43 * h * k3[0], v + RK4.a43 * h * k3[1])
        b1, b2, b3, b4 = RK4.b
        x = x + h * (b1 * k1[0] + b2 * k2[0] + b3 * k3[0] + b4 * k4[0])
        v = v + h * (b1 * k1[1] + b2 * k2[1] + b3 * k3[1] + b4 * k4[1])
    return x, v


def test_an_rk4_integrator_with_a_namedtuple_tableau():
    checks.check_structured(si, rk4, (0.4, -0.2))
    assert si.jvp(rk4, (0.4, -0.2), (1.0, 0.0))[0] == pytest.approx(rk4(0.4, -0.2), rel=1e-15)


WEIGHTS = types.SimpleNamespace(W=np.array([[0.5, -0.2], [0.3, 0.8]]), b=np.array([0.1, -0.1]), scale=0.7)


def coupling(x1, x2, z1, z2):
    """An additive/affine coupling layer: (x1, x2) pass through, (z1, z2) are shifted and
    scaled by a small network of them (invertible: the log-determinant is the sum of the
    log-scales)."""
    h = np.tanh(WEIGHTS.W @ np.array([x1, x2]) + WEIGHTS.b)
    return x1, x2, z1 * np.exp(WEIGHTS.scale * h[0]) + h[1], z2 * np.exp(WEIGHTS.scale * h[1]) - h[0]


def test_an_invertible_coupling_layer_with_namespace_weights():
    point = (0.2, -0.5, 0.8, 0.3)
    checks.check_structured(si, coupling, point)
    _, (sign, logabs) = si.slogdet(coupling, point)
    h = np.tanh(WEIGHTS.W @ np.array(point[:2]) + WEIGHTS.b)
    assert sign == 1.0 and logabs == pytest.approx(WEIGHTS.scale * (h[0] + h[1]), rel=1e-13)


# -- the command line ------------------------------------------------------------------------------

CLI_MODULE = '''import math
import typing
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np


@dataclass(frozen=True)
class Links:
    """Link lengths."""
    upper: float = 1.0
    lower: float = 0.8
    weights: np.ndarray = None

    def reach_x(self, a, b):
        return self.upper * math.cos(a) + self.lower * math.cos(a + b)

    @property
    def total(self):
        return self.upper + self.lower


class Step(typing.NamedTuple):
    h: float
    k: float = 2.0


class Plain:
    def __init__(self):
        self.a = 1.0


LINKS = Links(lower=0.6, weights=np.array([1.0, 2.0]))
STEP = Step(0.1)
NS = SimpleNamespace(g=9.81, arm=LINKS)
PLAIN = Plain()


def reach(a, b):
    x = LINKS.reach_x(a, b) * STEP.h + NS.arm.weights[1]
    return x, LINKS.upper * math.sin(a) + LINKS.lower * math.sin(a + b) + LINKS.total * STEP[1] * NS.g * b


def plain(a, b):
    return PLAIN.a * a, b
'''


def test_the_command_line_reads_dataclasses_namedtuples_and_namespaces(tmp_path):
    source = tmp_path / "arm.py"
    source.write_text(CLI_MODULE)
    done = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", "arm.py", "-o", "arm_ad.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert "skipped plain: arm.py:46:12: 'PLAIN' is an object of the class Plain (line 37: `PLAIN = Plain()`), " \
           "a class defined at line 29: the command line reads the module as text and never runs it, so it " \
           "builds objects only of dataclasses and typing.NamedTuple classes" in done.stderr
    assert "or transform the function with the API" in done.stderr
    spec = importlib.util.spec_from_file_location("params_cli_arm", source)
    module = sys.modules["params_cli_arm"] = importlib.util.module_from_spec(spec)    # dataclasses look it up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["params_cli_arm"]
    live = module.reach
    generated = {}
    exec(compile((tmp_path / "arm_ad.py").read_text(), str(tmp_path / "arm_ad.py"), "exec"), generated)
    assert "plain_jvp" not in generated
    for mode, args in (("jvp", (0.3, 0.5, 1.0, -0.5)), ("ijvp", (0.3, 0.5, 1.0, -0.5))):
        got = generated[f"reach_{mode}"](*args)
        want = getattr(si, mode)(live, args[:2], args[2:])
        np.testing.assert_allclose(checks.flatten(got), checks.flatten(want), rtol=1e-14)
    assert "# line 17 (in reach_x from line 41): return self.upper * math.cos(a)" in \
        (tmp_path / "arm_ad.py").read_text()
