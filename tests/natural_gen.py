"""Random programs in the natural input language, invertible by construction.

Each program is one module of text, written the way users write numerical code: a vector
state (a NumPy array parameter ``u``, often copied into a list or array local), sometimes an
active scalar ``s``, a passive scalar ``lam`` and a runtime trip count ``steps``; module
constants (numbers, tuples, ``np.array`` matrices); helper functions with scalar and vector
arguments, tuple results and keyword defaults; loops over the grid points with boundary
branches (``v[i - 1] if i > 0 else 0.0``), ``if``/``elif`` on loop indices, list
comprehensions, ``append``, slices, ``np.sum``, ``W @ v``; and time loops long enough to be
kept as loops (at least 8 iterations, or ``range(steps)``) whose bodies are invertible
updates (shears, coupling layers, small Euler steps, ``x * np.exp(h(y))``).

Invertibility and conditioning hold by construction, block by block: every block maps the
state by a Jacobian that is a permutation times I + E with ||E|| well below 1 (diagonally
dominant stencils, shears with bounded slopes, scalings by exp of a bounded value), or is
triangular with its diagonal bounded away from 0; the state stays within a few units of
the start point in [-1, 1]^n. No program is checked against s2s_invad here: this module
only writes text (tests/natural_run.py runs the tool on it).

A program is described by a :class:`Spec` (the vector length, which parameters exist, the
list of blocks with a seed each), so hypothesis can draw specs and shrink them by dropping
blocks; :func:`random_spec` draws one from an integer seed for bulk runs.
"""

from __future__ import annotations

import dataclasses
import random
import sys

import numpy as np

# Blocks: each a method of _Writer named "block_<kind>".
KINDS = ("gauss_seidel", "jacobi", "branches", "comprehension", "elementwise", "matvec",
         "coupling", "scalar", "pairs", "slices", "permute", "short_loop", "time_loop")
LOOP_BODY_KINDS = ("shear", "euler", "coupling", "scale", "leapfrog")


@dataclasses.dataclass(frozen=True)
class Spec:
    n: int                              # length of the vector parameter u (>= 2)
    blocks: tuple                       # ((kind, seed), ...)
    scalar: bool = False                # an active scalar parameter s
    passive: bool = False               # a passive scalar parameter lam (not differentiated)
    runtime_steps: bool = False         # a trip count parameter steps (time loops use it)
    spelling: str = "np"                # "np", or "mixed": math.<fn> on element-level scalars
    copy: str = "array"                 # how u is first copied: "array", "list", "copy", "none"
    result: str = "auto"                # "auto", "list", "tuple" (return (*v, s) style)
    seed: int = 0                       # coefficients, constants and the point


@dataclasses.dataclass
class NaturalProgram:
    spec: Spec
    name: str
    source: str
    params: tuple                       # parameter names, in order
    wrt: tuple                          # the differentiated ones
    point: tuple                        # primals: u an array, s and lam floats, steps an int
    kept_loops: int                     # time loops written to be kept as loops
    runtime_steps: bool                 # whether a loop runs range(steps)
    math_calls: bool                    # math.<fn> on runtime values: one point at a time
    numpy_calls: bool                   # np.<fn> in the function or its helpers (else scalar only)
    n_state: int                        # differentiated scalars (= outputs)


def random_spec(seed: int) -> Spec:
    """A spec drawn from ``seed`` (bulk runs; hypothesis draws specs itself)."""
    rng = random.Random(f"natural-{seed}")
    count = rng.randint(1, 6)
    blocks = tuple((rng.choice(KINDS), rng.randrange(2 ** 16)) for _ in range(count))
    if rng.random() < 0.5 and not any(k == "time_loop" for k, _ in blocks):
        blocks += (("time_loop", rng.randrange(2 ** 16)),)
    return Spec(n=rng.randint(2, 7), blocks=blocks, scalar=rng.random() < 0.5, passive=rng.random() < 0.3,
                runtime_steps=rng.random() < 0.3, spelling=rng.choice(("np", "np", "np", "mixed")),
                copy=rng.choice(("array", "list", "copy", "none")), result=rng.choice(("auto", "auto", "list", "tuple")),
                seed=seed)


def _signs(line: str) -> str:
    """``a + -0.2 * b`` written ``a - 0.2 * b`` (a literal follows the sign: same value)."""
    return line.replace("+ -", "- ").replace("- -", "+ ")


def _num(value: float) -> str:
    return repr(round(float(value), 3))


class _Writer:
    """The program being written: lines of the main function, helpers, constants."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.n = spec.n
        self.constants: dict[str, str] = {}          # name -> text
        self.helpers: list[str] = []                 # def texts
        self.lines: list[str] = []
        self.vec = "u"                               # the name holding the vector state
        self.kind = "array"                          # "array" or "list"
        self.owned = False                           # a local (item assignment allowed)
        self.locals = 0
        self.kept_loops = 0
        self.math_calls = False
        self.used_steps = False

    # -- text pieces ---------------------------------------------------------------------
    def new_local(self, base: str) -> str:
        self.locals += 1
        return f"{base}{self.locals}"

    def constant(self, base: str, text: str) -> str:
        name = f"{base}{len(self.constants) + 1}"
        self.constants[name] = text
        return name

    def coef(self, rng: random.Random, lo: float = 0.05, hi: float = 0.3, signed: bool = True) -> str:
        """A coefficient: a literal, a module constant, an element of a tuple constant, or
        times the passive parameter (lam in [0.5, 1.5], so |c lam| <= 1.5 hi)."""
        value = rng.uniform(lo, hi) * (rng.choice((-1, 1)) if signed else 1)
        roll = rng.random()
        if roll < 0.15:
            text = self.constant("C", _num(value))
        elif roll < 0.25:
            parts = [_num(value)] + [_num(rng.uniform(-hi, hi)) for _ in range(2)]
            rng.shuffle(parts)
            name = self.constant("COEF", "(" + ", ".join(parts) + ")")
            text = f"{name}[{parts.index(_num(value))}]"
        else:
            text = _num(value)
        if self.spec.passive and roll > 0.85:
            text = f"{text} * lam / 1.5"
        return text

    def scalar_fn(self, rng: random.Random, name: str | None = None) -> str:
        """A scalar function with |f'| <= 1 (for element-level code)."""
        name = name or rng.choice(("sin", "tanh", "atan", "cos"))
        if self.spec.spelling == "mixed":
            self.math_calls = True
            return f"math.{name}"
        return "np." + ("arctan" if name == "atan" else name)

    def vector_fn(self, rng: random.Random) -> str:
        return "np." + rng.choice(("sin", "tanh", "arctan", "cos"))

    def as_array(self) -> None:
        if self.kind != "array":
            name = self.new_local("v")
            self.lines.append(f"{name} = np.array({self.vec})")
            self.vec, self.kind, self.owned = name, "array", True

    def owned_copy(self, rng: random.Random, how: str | None = None) -> None:
        """A local that may be item-assigned (a parameter is never mutated)."""
        if self.owned:
            return
        name = self.new_local("w")
        how = how or rng.choice(("list", "copy", "array"))
        if how == "list" or self.kind == "list":
            self.lines.append(f"{name} = list({self.vec})")
            self.kind = "list"
        elif how == "copy":
            self.lines.append(f"{name} = {self.vec}.copy()")
        else:
            self.lines.append(f"{name} = np.array({self.vec})")
        self.vec, self.owned = name, True

    def matrix(self, rng: random.Random, size: int, spread: float) -> str:
        """A constant size x size matrix I + E with ||E||_2 <= spread (well conditioned)."""
        e = np.array([[rng.uniform(-1, 1) for _ in range(size)] for _ in range(size)])
        e *= spread / max(np.linalg.norm(e, 2), 1e-12)
        m = np.eye(size) + e
        rows = ", ".join("[" + ", ".join(_num(x) for x in row) + "]" for row in m)
        return self.constant("W", f"np.array([{rows}])")

    def neighbour(self, v: str, i: str, offset: int, boundary: str) -> str:
        if offset < 0:
            return f"{v}[{i} - 1] if {i} > 0 else {boundary}"
        return f"{v}[{i} + 1] if {i} < len({v}) - 1 else {boundary}"

    def boundary(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.5:
            return "0.0"
        if roll < 0.7:
            return self.constant("BC", _num(rng.uniform(-1, 1)))
        if self.spec.scalar and roll < 0.9:
            return "s"
        return _num(rng.uniform(-1, 1))

    # -- blocks --------------------------------------------------------------------------
    def block_gauss_seidel(self, rng):
        """A sweep in place: each point sheared by a function of its updated left
        neighbour (lower triangular, pivots 1)."""
        self.owned_copy(rng)
        v, c, g = self.vec, self.coef(rng, hi=0.4), self.scalar_fn(rng)
        left = self.neighbour(v, "i", -1, self.boundary(rng))
        self.lines.append(f"for i in range(len({v})):")
        if rng.random() < 0.5:
            self.lines.append(f"    left = {left}")
            op = rng.choice(("+=", "-="))
            self.lines.append(f"    {v}[i] {op} {c} * {g}(left)")
        else:
            self.lines.append(f"    {v}[i] = {v}[i] + {c} * {g}({left})")

    def block_jacobi(self, rng):
        """A three-point stencil on the old values: diagonally dominant (2 |c| < 0.8)."""
        v, new = self.vec, self.new_local("F")
        c, d, g = self.coef(rng, hi=0.35), self.coef(rng, 0.0, 0.5, signed=False), self.scalar_fn(rng)
        diag = self.scalar_fn(rng, "tanh")
        bc = self.boundary(rng)
        grid = rng.choice(("n", f"len({v})")) if self.spec.copy != "list" else f"len({v})"
        kind = rng.choice(("array", "list"))
        self.lines.append(f"{new} = np.zeros(len({v}))" if kind == "array" else f"{new} = [0.0] * len({v})")
        self.lines.append(f"for i in range({grid}):")
        self.lines.append(f"    left = {self.neighbour(v, 'i', -1, bc)}")
        self.lines.append(f"    right = {self.neighbour(v, 'i', 1, bc)}")
        self.lines.append(f"    {new}[i] = {v}[i] + {d} * {diag}({v}[i]) + {c} * ({g}(left) - {g}(right)) / 2.0"
                          if rng.random() < 0.5 else
                          f"    {new}[i] = {v}[i] + {d} * {diag}({v}[i]) + {c} * 0.5 * ({g}(left) + {g}(right))")
        self.vec, self.kind, self.owned = new, kind, True

    def block_branches(self, rng):
        """if / elif / else on the grid index, built with append (n >= 2)."""
        v, out = self.vec, self.new_local("out")
        c1, c2, c3, g = self.coef(rng), self.coef(rng), self.coef(rng, hi=0.2), self.scalar_fn(rng)
        scale = _num(rng.uniform(0.6, 1.6))
        self.lines.append(f"{out} = []")
        self.lines.append(f"for i in range(len({v})):")
        self.lines.append("    if i == 0:")
        self.lines.append(f"        {out}.append({scale} * {v}[i] + {c1} * {g}({v}[i + 1]))")
        self.lines.append(f"    elif i == len({v}) - 1:")
        self.lines.append(f"        {out}.append({v}[i] + {c2} * {g}({v}[i - 1]))")
        self.lines.append("    elif i % 2 == 1:")
        self.lines.append(f"        {out}.append({v}[i] + {c3} * ({g}({v}[i - 1]) + {g}({v}[i + 1])))")
        self.lines.append("    else:")
        self.lines.append(f"        {out}.append({v}[i] * {self.scalar_fn(rng, 'cos')}({c3}) - {c3} * {v}[i + 1])")
        self.vec, self.kind, self.owned = out, "list", True

    def block_comprehension(self, rng):
        """v_i + c g(v_{i+1 mod n}): I + c P D with ||c P D|| < 1; or a scaling by the
        active scalar."""
        v = self.vec
        new = self.new_local("v")
        if self.spec.scalar and rng.random() < 0.4:
            c = self.coef(rng, hi=0.4)
            self.lines.append(f"{new} = [x * {self.scalar_fn(rng, 'exp')}({c} * {self.scalar_fn(rng, 'tanh')}(s)) "
                              f"for x in {v}]")
        else:
            c, g = self.coef(rng, hi=0.6), self.scalar_fn(rng)
            self.lines.append(f"{new} = [{v}[i] + {c} * {g}({v}[(i + 1) % len({v})]) for i in range(len({v}))]")
        self.vec, self.kind, self.owned = new, "list", True

    def block_elementwise(self, rng):
        self.as_array()
        v, g = self.vec, self.vector_fn(rng)
        roll = rng.random()
        if roll < 0.35:
            src = f"{v}[::-1]"
            self.lines.append(f"{v} = {v} + {self.coef(rng, hi=0.6)} * {g}({src})")
        elif roll < 0.6:
            self.lines.append(f"{v} = {_num(rng.uniform(0.7, 1.4))} * {v} + "
                              f"{self.coef(rng, 0.0, 0.5, signed=False)} * np.tanh({v})")
        elif roll < 0.8 and self.spec.scalar:
            self.lines.append(f"{v} = {v} * np.exp({self.coef(rng, hi=0.4)} * np.tanh(s))")
        else:
            self.lines.append(f"{v} = {v} * np.exp({self.coef(rng, hi=0.2)} * {g}({v}[::-1]))")

    def block_matvec(self, rng):
        """W @ v with W = I + E, ||E|| <= 0.4; or v + c tanh(W v), |c| ||W|| < 0.6."""
        self.as_array()
        v = self.vec
        if rng.random() < 0.5:
            w = self.matrix(rng, self.n, 0.4)
            self.lines.append(f"{v} = {w} @ {v}" if rng.random() < 0.7 else f"{v} = np.dot({w}, {v})")
        else:
            w = self.matrix(rng, self.n, 0.3)
            self.lines.append(f"{v} = {v} + {self.coef(rng, hi=0.45)} * np.tanh({w} @ {v})")

    def block_coupling(self, rng):
        """An affine coupling layer through a helper with a tuple result and a keyword
        default; the halves are swapped or concatenated back."""
        self.as_array()
        v, h = self.vec, self.n // 2
        name = f"couple{len(self.helpers) + 1}"
        default = _num(rng.uniform(0.1, 0.4))
        shift = f"np.sum(np.tanh(a)) / {max(h, 1)}"
        self.helpers.append(
            f"def {name}(a, b, scale={default}):\n"
            f"    shift = {shift}\n"
            f"    return a, b * np.exp(scale * np.tanh(shift)) + 0.2 * np.sin(shift)\n")
        a, b = self.new_local("a"), self.new_local("b")
        self.lines.append(f"{a}, {b} = {v}[:{h}], {v}[{h}:]")
        call = f"{name}({a}, {b})" if rng.random() < 0.5 else f"{name}({a}, {b}, scale={_num(rng.uniform(0.1, 0.4))})"
        self.lines.append(f"{a}, {b} = {call}")
        if rng.random() < 0.5:
            self.lines.append(f"{v} = np.concatenate([{b}, {a}])")
        else:
            self.lines.append(f"{v} = np.concatenate([{a}, {b}])")
            self.lines.append(f"{v} = {v}[::-1]")

    def block_scalar(self, rng):
        """The active scalar coupled to the vector: s += c mean(sin v); v *= exp(c tanh s)."""
        if not self.spec.scalar:
            return self.block_elementwise(rng)
        v = self.vec
        g = self.vector_fn(rng)
        source = f"np.array({v})" if self.kind == "list" else v
        self.lines.append(f"s = s + {self.coef(rng, hi=0.5)} * np.sum({g}({source})) / len({v})")
        if rng.random() < 0.5:
            self.as_array()
            self.lines.append(f"{self.vec} = {self.vec} + {self.coef(rng, hi=0.5)} * np.tanh(s)")

    def block_pairs(self, rng):
        """A scalar helper (tuple result, keyword default) applied to neighbouring pairs."""
        self.owned_copy(rng)
        v = self.vec
        name = f"shear{len(self.helpers) + 1}"
        g = self.scalar_fn(rng)
        c = _num(rng.uniform(0.1, 0.6) * rng.choice((-1, 1)))
        self.helpers.append(f"def {name}(p, q, c={c}):\n    p = p + c * {g}(q)\n    return p, q\n")
        start = rng.choice((0, 1)) if self.n > 2 else 0
        kw = "" if rng.random() < 0.6 else f", c={_num(rng.uniform(0.1, 0.6))}"
        self.lines.append(f"for i in range({start}, len({v}) - 1, 2):")
        if rng.random() < 0.5:
            self.lines.append(f"    {v}[i], {v}[i + 1] = {name}({v}[i], {v}[i + 1]{kw})")
        else:
            self.lines.append(f"    {v}[i + 1], {v}[i] = {name}({v}[i + 1], {v}[i]{kw})")

    def block_slices(self, rng):
        """A slice update on the old values: I + c times a shifted diagonal."""
        self.as_array()
        self.owned_copy(rng, "copy")
        v, c = self.vec, self.coef(rng, hi=0.6)
        g = self.vector_fn(rng)
        if rng.random() < 0.5:
            self.lines.append(f"{v}[1:] = {v}[1:] + {c} * {g}({v}[:-1])")
        else:
            self.lines.append(f"{v}[:-1] = {v}[:-1] + {c} * {g}({v}[1:])")

    def block_permute(self, rng):
        v = self.vec
        new = self.new_local("v")
        roll = rng.random()
        if self.kind == "list":
            self.lines.append(f"{new} = {v}[1:] + {v}[:1]" if roll < 0.5 else f"{new} = {v}[::-1]")
        else:
            self.lines.append(f"{new} = np.concatenate([{v}[1:], {v}[:1]])" if roll < 0.5 else f"{new} = {v}[::-1]")
        self.vec, self.owned = new, self.kind == "list"

    def block_short_loop(self, rng):
        """A short loop (unrolled) whose iterations differ: if / elif on the loop index."""
        self.as_array()
        v = self.vec
        count = rng.randint(2, 5)
        k = self.new_local("k")
        c1, c2 = self.coef(rng, hi=0.5), self.coef(rng, hi=0.3)
        self.lines.append(f"for {k} in range({count}):")
        self.lines.append(f"    if {k} % 2 == 0:")
        self.lines.append(f"        {v} = {v} + {c1} * np.tanh({v}[::-1])")
        if self.spec.scalar:
            self.lines.append(f"    elif {k} == 1:")
            self.lines.append(f"        s = s * np.exp({c2} * np.sin({v}[0]))")
        self.lines.append("    else:")
        self.lines.append(f"        {v} = {v} * np.exp({c2} * 0.1 * {k} * np.cos({v}))")

    def block_time_loop(self, rng):
        """A time loop whose iterations do the same work (kept as a loop): >= 8 steps, a
        module constant count, or the runtime parameter steps."""
        self.as_array()
        v = self.vec
        dt = self.constant("DT", _num(rng.uniform(0.02, 0.08)))
        if self.spec.runtime_steps and not self.used_steps:
            count, self.used_steps = "steps", True
        elif rng.random() < 0.5:
            count = self.constant("STEPS", str(rng.randint(8, 16)))
        else:
            count = str(rng.randint(8, 14))
        k = rng.choice(("k", "_", "step"))
        body = rng.choice(LOOP_BODY_KINDS)
        self.kept_loops += 1
        lines = []
        if body == "shear" or (body == "leapfrog" and self.n < 2):
            g = self.vector_fn(rng)
            lines.append(f"{v} = {v} + {dt} * {g}({v}[::-1])")
            if self.spec.scalar:
                lines.append(f"s = s + {dt} * np.sum(np.tanh({v}))")
        elif body == "euler":
            name = f"rhs{len(self.helpers) + 1}"
            w = self.matrix(rng, self.n, 0.5)
            time = " + t" if k == "k" else ""
            self.helpers.append(f"def {name}(z, t=0.0):\n    return np.tanh({w} @ z{time}) - 0.5 * z\n")
            if k == "k":
                lines.append(f"t = k * {dt}")
                lines.append(f"{v} = {v} + {dt} * {name}({v}, t)")
            else:
                lines.append(f"{v} = {v} + {dt} * {name}({v})")
        elif body == "coupling":
            name = f"layer{len(self.helpers) + 1}"
            h = self.n // 2
            self.helpers.append(f"def {name}(x, c=0.5):\n    a, b = x[:{h}], x[{h}:]\n"
                                f"    b = b * np.exp(c * np.tanh(np.sum(a) / {h})) + 0.1 * np.sin(np.sum(a))\n"
                                "    return np.concatenate([b, a])\n")
            lines.append(f"{v} = {name}({v}, {dt})" if rng.random() < 0.5 else f"{v} = {name}({v}, c={dt})")
        elif body == "scale":
            lines.append(f"{v} = {v} * np.exp({dt} * np.sin({v}[::-1]))")
            if self.spec.scalar:
                lines.append(f"s = s * np.exp({dt} * np.tanh(np.sum({v})))")
        else:                                           # leapfrog on the halves
            h = self.n // 2
            q, p = self.new_local("q"), self.new_local("p")
            self.lines.append(f"{q}, {p} = {v}[:{h}], {v}[{h}:{2 * h}]")
            rest = f"{v}[{2 * h}:]" if self.n % 2 else None
            lines.append(f"{p} = {p} - {dt} * np.sin({q})")
            lines.append(f"{q} = {q} + {dt} * {p}")
            self.lines.append(f"for {k} in range({count}):")
            self.lines += ["    " + ln for ln in lines]
            parts = [q, p] + ([rest] if rest else [])
            self.lines.append(f"{v} = np.concatenate([{', '.join(parts)}])")
            return
        self.lines.append(f"for {k} in range({count}):")
        self.lines += ["    " + ln for ln in lines]

    # -- the whole program ---------------------------------------------------------------
    def write(self, rng: random.Random) -> None:
        spec = self.spec
        if spec.copy != "list":          # u is a vector (an array for a parameter the source
            self.lines.append("n = len(u)")   # never uses as a vector would be a batch of scalars)
        if spec.copy == "list":
            self.lines.append("v = list(u)")
            self.vec, self.kind, self.owned = "v", "list", True
        elif spec.copy == "copy":
            self.lines.append("v = u.copy()")
            self.vec, self.owned = "v", True
        elif spec.copy == "array":
            self.lines.append("v = np.array(u)")
            self.vec, self.owned = "v", True
        for kind, seed in spec.blocks:
            getattr(self, f"block_{kind}")(random.Random(f"{spec.seed}-{kind}-{seed}"))
        if spec.runtime_steps and not self.used_steps:   # steps must be used: one more loop
            self.block_time_loop(random.Random(f"{spec.seed}-steps"))
        if spec.passive and not any("lam" in line for line in self.lines):
            self.as_array()
            self.lines.append(f"{self.vec} = {self.vec} * np.exp(0.1 * lam * np.tanh({self.vec}[::-1]))")


def generate(spec: Spec) -> NaturalProgram:
    """The program of ``spec`` (deterministic)."""
    w = _Writer(spec)
    rng = random.Random(f"point-{spec.seed}")
    w.write(rng)
    v = w.vec
    if spec.scalar:
        if spec.result == "tuple" and w.kind == "list":
            ret = f"(*{v}, s)"
        else:
            ret = f"{v}, s"
    elif spec.result == "list" and w.kind == "array":
        ret = f"list({v})"
    elif spec.result == "tuple":
        ret = f"tuple({v})" if w.kind == "list" else f"{v}"
    else:
        ret = v
    params = ["u"] + (["s"] if spec.scalar else []) + (["lam"] if spec.passive else []) \
        + (["steps"] if spec.runtime_steps else [])
    wrt = ("u", "s") if spec.scalar else ("u",)
    imports = "import math\nimport numpy as np\n" if w.math_calls else "import numpy as np\n"
    constants = "".join(f"{k} = {t}\n" for k, t in w.constants.items())
    helpers = "\n\n".join(w.helpers)
    body = "".join(f"    {_signs(ln)}\n" for ln in w.lines)
    name = f"nat{spec.seed}"
    doc = f'    """Random natural program (tests/natural_gen.py), n = {spec.n}."""\n'
    source = (f"{imports}\n{constants}\n\n" + (helpers + "\n\n" if helpers else "")
              + f"def {name}({', '.join(params)}):\n{doc}{body}    return {ret}\n")
    point = [np.array([round(rng.uniform(-1, 1), 3) for _ in range(spec.n)])]
    if spec.scalar:
        point.append(round(rng.uniform(-1, 1), 3))
    if spec.passive:
        point.append(round(rng.uniform(0.5, 1.5), 3))
    if spec.runtime_steps:
        point.append(rng.choice((0, 1, rng.randint(2, 14), rng.randint(8, 14))))
    numpy_calls = "np." in helpers + body
    return NaturalProgram(spec, name, source, tuple(params), wrt, tuple(point), w.kept_loops,
                          spec.runtime_steps, w.math_calls, numpy_calls, spec.n + (1 if spec.scalar else 0))


if __name__ == "__main__":          # python tests/natural_gen.py SEED: print one program
    print(generate(random_spec(int(sys.argv[1]) if len(sys.argv) > 1 else 0)).source)
