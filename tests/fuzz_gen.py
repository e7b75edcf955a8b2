"""Random programs for the fuzz target, with the points where they are evaluated.

Independent of tests/programs.py and of s2s_invad (nothing here imports it): a program is
built move by move while it is *run* at a base point, so each move can aim a function's
argument where that function is interesting: tanh beyond 15 (saturated), exp near 700 and
below -700, expm1 near -40, log and sqrt near 0, log1p near -1, asin and acos within 1e-15
of +-1, atan at 1e20, tan near pi/2, powers of tiny and huge bases. An argument reaches its
target through an affine map of an existing value (``a * u + b``, with ``a = t / u`` when
the target is tiny, so no cancellation moves it). Every candidate statement is executed
with the real ``math`` or ``numpy`` functions on the current values, and dropped unless it
runs and every value stays a finite float: the base point is in the function's domain by
construction. Other points of a batch are the base point moved by 1e-12 to 1e-3 relative,
kept where the program still runs.

The language: assignments, tuple assignment, augmented assignment, ``+ - * / **``, unary
minus, the supported math/np functions, abs, module constants, ``math.pi``; and, in about a
third of the programs (:data:`STRUCTURED`), the natural language of issue 11: ``for`` loops
over ranges, kept as loops by the tool (at least 8 iterations, the same work each time) or
unrolled (fewer, sometimes with ``if`` on the loop index), vector locals (lists with item
assignment, boundary branches and comprehensions; NumPy arrays with ``W @ v``, ``[::-1]``,
``np.sum``) packed from and unpacked into the scalar registers, and module-level helper
functions (tuple results, keyword defaults). Moves are entries of :data:`MOVES` (a function
that emits statements through a :class:`Builder`); validation executes the emitted source
(helpers included), so a loop, vector or helper move is checked like any other.
"""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np

NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atanh": "arctanh", "asinh": "arcsinh",
               "acosh": "arccosh"}
HUGE = 1e250                # values beyond this are dropped (later moves would overflow)


@dataclasses.dataclass
class FuzzProgram:
    seed: int
    name: str
    source: str              # the module: imports, constants, one function
    n: int                   # inputs = outputs
    spelling: str            # "math" or "np"
    points: list             # [base point, ...]: tuples of floats where the program runs
    statements: int          # source statements in the body
    loops_kept: int = 0      # loops written to be kept as loops (>= 8 iterations, same work)
    loops_unrolled: int = 0  # loops the tool unrolls (short ones)
    vectors: int = 0         # vector locals
    helpers: int = 0         # helper functions called


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return 10.0 ** rng.uniform(lo, hi)


def _signed(rng: random.Random, value: float) -> float:
    return value if rng.random() < 0.5 else -value


# Where each function is evaluated: a sampler of target arguments (saturated ends included).
TARGETS = {
    "tanh": lambda r: _signed(r, r.choice([r.uniform(0, 3), r.uniform(10, 30), r.uniform(15, 22)])),
    "exp": lambda r: r.choice([r.uniform(-5, 5), r.uniform(600, 709.7), r.uniform(-744, -650)]),
    "expm1": lambda r: r.choice([r.uniform(-3, 3), r.uniform(-60, -20), _signed(r, _log_uniform(r, -20, -5)),
                                 r.uniform(650, 709)]),
    "log": lambda r: r.choice([_log_uniform(r, -3, 3), _log_uniform(r, -307, -100), _log_uniform(r, 100, 300)]),
    "log1p": lambda r: r.choice([r.uniform(-0.9, 3), -1 + _log_uniform(r, -15, -3), _log_uniform(r, -20, -5),
                                 _log_uniform(r, 50, 300)]),
    "sqrt": lambda r: r.choice([_log_uniform(r, -3, 3), _log_uniform(r, -300, -100), _log_uniform(r, 100, 300)]),
    "asin": lambda r: _signed(r, r.choice([r.uniform(0, 0.95), 1 - _log_uniform(r, -15.5, -3), _log_uniform(r, -30, -5)])),
    "acos": lambda r: _signed(r, r.choice([r.uniform(0, 0.95), 1 - _log_uniform(r, -15.5, -3)])),
    "atan": lambda r: _signed(r, r.choice([r.uniform(0, 5), _log_uniform(r, 5, 20), _log_uniform(r, 100, 150)])),
    "sinh": lambda r: _signed(r, r.choice([r.uniform(0.01, 3), r.uniform(100, 709)])),
    "cosh": lambda r: _signed(r, r.choice([r.uniform(0.1, 3), r.uniform(100, 709)])),
    "tan": lambda r: _signed(r, r.choice([r.uniform(0, 1.4), math.pi / 2 - _log_uniform(r, -12, -2)])),
    "sin": lambda r: r.uniform(-6, 6),
    "cos": lambda r: r.uniform(-6, 6),
    "atanh": lambda r: _signed(r, r.choice([r.uniform(0, 0.95), 1 - _log_uniform(r, -15, -3)])),
    "asinh": lambda r: _signed(r, r.choice([r.uniform(0, 5), _log_uniform(r, 5, 300)])),
    "acosh": lambda r: r.choice([1 + _log_uniform(r, -14, 0), r.uniform(1.5, 10), _log_uniform(r, 5, 300)]),
    "cbrt": lambda r: _signed(r, r.choice([r.uniform(0.01, 5), _log_uniform(r, -300, 300)])),
}
INVERTIBLE = ("tanh", "exp", "expm1", "log", "log1p", "sqrt", "asin", "acos", "atan", "sinh", "tan", "atanh",
              "asinh", "acosh", "cbrt")
ANY = tuple(TARGETS)


class Builder:
    """The program being built, and its values at the base point."""

    def __init__(self, rng: random.Random, n: int, spelling: str):
        self.rng, self.n, self.spelling = rng, n, spelling
        self.names = [f"x{i}" for i in range(n)]
        self.values = {name: self._start() for name in self.names}
        self.point = tuple(self.values[name] for name in self.names)
        self.lines: list[str] = []
        self.constants: dict[str, float] = {}
        self.arrays: dict[str, str] = {}       # module constant matrices: name -> text
        self.helpers: list[str] = []           # module-level defs, as text
        self.temps = 0
        self.module = math if spelling == "math" else np
        self.counts = {"loops_kept": 0, "loops_unrolled": 0, "vectors": 0, "helpers": 0}
        self.pending: dict = {}                # what the move being tried adds if it is kept

    def _start(self) -> float:
        r = self.rng
        return _signed(r, r.choice([r.uniform(0.1, 3.0), _log_uniform(r, -3, 3)]))

    # text ------------------------------------------------------------------------------
    def fn(self, name: str) -> str:
        return f"math.{name}" if self.spelling == "math" else f"np.{NUMPY_NAMES.get(name, name)}"

    def number(self, value: float) -> str:
        """A literal, or now and then a module constant holding it."""
        if self.rng.random() < 0.15:
            name = f"C{len(self.constants)}"
            self.constants[name] = value
            return name
        return repr(value) if value >= 0 else f"({value!r})"

    def aimed(self, u: str, target: float, value: float | None = None) -> str:
        """An expression of the value ``u`` (whose value is ``value``, by default the
        register's) close to ``target``."""
        value = self.values[u] if value is None else value
        if value == 0 or not math.isfinite(target / value):
            return self.number(target)                          # (a constant: passive)
        if abs(target) < 1e-3 or abs(target) > 1e3 or abs(abs(target) - 1) < 1e-3 or self.rng.random() < 0.5:
            return f"{self.number(target / value)} * {u}"       # no cancellation near the target
        a = _signed(self.rng, _log_uniform(self.rng, -1, 1))
        return f"({self.number(a)} * {u} + {self.number(target - a * value)})"

    def call(self, name: str, u: str) -> str:
        return f"{self.fn(name)}({self.aimed(u, TARGETS[name](self.rng))})"

    def coefficient(self) -> str:
        if self.rng.random() < 0.05:
            return f"{'math' if self.spelling == 'math' else 'np'}.pi"
        return self.number(_signed(self.rng, _log_uniform(self.rng, -1.5, 1.5)))

    def other(self, r: str) -> str:
        choices = [v for v in self.names if v != r]
        return self.rng.choice(choices) if choices else r

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    # running ---------------------------------------------------------------------------
    def try_lines(self, lines: list[str]) -> bool:
        """Run ``lines`` (and the helpers and matrices the move adds) on the current values;
        keep them if every value stays finite."""
        env = dict(self.values)
        env.update(self.constants, math=math, np=np, abs=abs)
        pending, self.pending = self.pending, {}
        try:
            with np.errstate(all="raise"):              # no inf or NaN on the way either
                for name, text in {**self.arrays, **pending.get("arrays", {})}.items():
                    env[name] = eval(text, {"np": np})
                for text in self.helpers + pending.get("helpers", []):
                    exec(text, env)
                for line in lines:
                    exec(line, env)
        except (ArithmeticError, ValueError, TypeError):
            return False
        new = {k: v for k, v in env.items() if k in self.values or k.startswith("t")}
        for k, v in new.items():
            if isinstance(v, (np.floating, np.ndarray)):
                v = float(v)
            if not isinstance(v, float) or not math.isfinite(v) or abs(v) > HUGE:
                return False
            new[k] = v
        self.values.update(new)
        self.lines += lines
        self.arrays.update(pending.get("arrays", {}))
        self.helpers += pending.get("helpers", [])
        for key, count in pending.get("counts", {}).items():
            self.counts[key] += count
        return True

    def propose(self, **what) -> None:
        """What the move being built adds besides its lines (kept only if they run)."""
        for key, value in what.items():
            if key == "counts":
                for k, c in value.items():
                    self.pending.setdefault("counts", {})[k] = self.pending.get("counts", {}).get(k, 0) + c
            elif isinstance(value, dict):
                self.pending.setdefault(key, {}).update(value)
            else:
                self.pending.setdefault(key, []).extend(value)


# Moves: each returns the statements of one step (text) for register r.

def move_update(b: Builder, r: str) -> list[str]:
    """r = r +- c * g(u), as an assignment or an augmented assignment."""
    u = b.other(r) if b.rng.random() < 0.85 else r
    term = f"{b.coefficient()} * {b.call(b.rng.choice(ANY), u)}"
    if b.rng.random() < 0.4:
        return [f"{r} {b.rng.choice(['+=', '-='])} {term}"]
    return [f"{r} = {r} {b.rng.choice(['+', '-'])} {term}"]


def move_scale(b: Builder, r: str) -> list[str]:
    """r = r * factor or r / factor, the factor bounded away from 0."""
    u = b.other(r)
    factor = b.rng.choice([
        lambda: f"{b.fn('exp')}({b.aimed(u, b.rng.uniform(-3, 3))})",
        lambda: f"({b.number(b.rng.uniform(1.5, 3.0))} + {b.fn('tanh')}({b.aimed(u, TARGETS['tanh'](b.rng))}))",
        lambda: f"{b.fn('cosh')}({b.aimed(u, b.rng.uniform(-5, 5))})",
        lambda: f"(abs({b.aimed(u, b.rng.uniform(-4, 4))}) + {b.number(b.rng.uniform(0.5, 2))})",
        lambda: f"{b.fn('sqrt')}({b.aimed(u, TARGETS['sqrt'](b.rng))})",
        lambda: f"({b.number(b.rng.uniform(0.5, 2))} + {u} * {u})",
    ])()
    op = b.rng.choice(["*", "/"])
    if b.rng.random() < 0.3:
        return [f"{r} {op}= {factor}"]
    return [f"{r} = {r} {op} {factor}"]


def move_unary(b: Builder, r: str) -> list[str]:
    """r = c * g(a r + b) + d: an invertible function aimed at its interesting region."""
    name = b.rng.choice(INVERTIBLE)
    out = f"{b.fn(name)}({b.aimed(r, TARGETS[name](b.rng))})"
    if b.rng.random() < 0.5:
        out = f"{b.coefficient()} * {out} + {b.coefficient()}"
    return [f"{r} = {out}"]


def move_power(b: Builder, r: str) -> list[str]:
    """Powers: constant exponents of tiny or huge bases, variable exponents of positive bases."""
    kind = b.rng.random()
    if kind < 0.4:
        c = b.rng.choice([2, 3, 0.5, -1, -2.5, 0.3, 1 / 3, 1.7, -0.7])
        base = b.aimed(r, _log_uniform(b.rng, -50, 50) if b.rng.random() < 0.5 else b.rng.uniform(0.2, 3))
        return [f"{r} = ({base}) ** {b.number(c)}"]
    if kind < 0.7:
        u = b.other(r)
        base = f"({b.number(b.rng.uniform(1.2, 3))} + {b.fn('tanh')}({b.aimed(u, b.rng.uniform(-3, 3))}))"
        return [f"{r} = {r} * {base} ** ({b.aimed(u, b.rng.uniform(-4, 4))})"]
    return [f"{r} = {b.number(b.rng.uniform(1.1, 4))} ** ({b.aimed(r, b.rng.uniform(-20, 20))})"]


def move_tuple(b: Builder, r: str) -> list[str]:
    """Tuple assignments: a swap with an update, or a 2 x 2 linear map (a lump)."""
    s = b.other(r)
    if s == r:
        return move_unary(b, r)
    if b.rng.random() < 0.5:
        return [f"{r}, {s} = {s}, {r} + {b.coefficient()} * {b.call(b.rng.choice(ANY), s)}"]
    a, c = b.rng.uniform(0.5, 2), b.rng.uniform(-1, 1)
    d, e = b.rng.uniform(-1, 1), b.rng.uniform(0.5, 2)
    return [f"{r}, {s} = {b.number(a)} * {r} + {b.number(c)} * {s}, {b.number(d)} * {r} + {b.number(e)} * {s}"]


def move_lump(b: Builder, r: str) -> list[str]:
    """A temporary read by two updates: the live width grows, then shrinks (k = 2 lumps)."""
    s = b.other(r)
    if s == r:
        return move_update(b, r)
    t = b.temp()
    g = b.rng.choice(["tanh", "sin", "atan", "exp"])
    arg = f"{b.aimed(r, b.rng.uniform(-2, 2))} + {b.aimed(s, b.rng.uniform(-2, 2))}"
    return [f"{t} = {b.fn(g)}({arg})",
            f"{r} = {r} + {b.coefficient()} * {t}",
            f"{s} = {s} - {b.coefficient()} * {b.fn(b.rng.choice(['sin', 'tanh', 'cos']))}({t})"]


def move_abs(b: Builder, r: str) -> list[str]:
    u = b.other(r)
    return [f"{r} = {r} + {b.coefficient()} * abs({b.aimed(u, _signed(b.rng, b.rng.uniform(0.1, 5)))})"]


# -- the natural language: loops, vectors, helpers ----------------------------------------

def _indented(lines: list[str]) -> list[str]:
    return ["    " + ln for line in lines for ln in line.split("\n")]


def move_loop(b: Builder, r: str) -> list[str]:
    """A loop over range(C) of one or two moves: C >= 8 (kept as a loop: the same work every
    iteration) or C < 8 (unrolled, sometimes with a branch on the loop index)."""
    kept = b.rng.random() < 0.6
    count = b.rng.randint(8, 10) if kept else b.rng.randint(2, 5)
    inner: list[str] = []
    for _ in range(b.rng.randint(1, 2)):
        sub = b.rng.choices([move_update, move_scale, move_unary, move_lump, move_tuple], [5, 3, 2, 1, 1])[0]
        inner += sub(b, b.rng.choice(b.names))
    if not kept and b.rng.random() < 0.5:
        other = f"{r} = {r} * {b.number(b.rng.uniform(0.8, 1.25))}"
        inner = ["if k % 2 == 0:"] + _indented(inner) + ["else:", "    " + other]
    body = _indented(inner)
    b.propose(counts={"loops_kept" if kept else "loops_unrolled": 1})
    return ["\n".join([f"for k in range({count}):"] + body)]


def move_vector(b: Builder, r: str) -> list[str]:
    """Registers packed into a vector local, a vector operation, unpacked again (maybe
    permuted): a list swept with a boundary branch or mapped by a comprehension, or a NumPy
    array through a constant matrix, a reversed shear or a scale aimed at a function's
    interesting region."""
    if b.n < 2:
        return move_update(b, r)
    regs = b.rng.sample(b.names, b.rng.randint(2, b.n))
    rest = [x for x in b.names if x not in regs]
    v = f"v{b.counts['vectors'] + len(b.pending.get('vectors', [])) + 1}"
    b.propose(counts={"vectors": 1}, vectors=[v])
    c = b.coefficient
    kinds = ["sweep", "comprehension", "scale"] + (["matrix", "shear", "sum"] * 2 if b.spelling == "np" else [])
    kind = b.rng.choice(kinds)
    if b.spelling == "np":
        lines = [f"{v} = np.array([{', '.join(regs)}])"]
    else:
        lines = [f"{v} = [{', '.join(regs)}]"]
    boundary = b.rng.choice(rest) if rest and b.rng.random() < 0.7 else b.number(b.rng.uniform(-1, 1))
    if kind == "sweep":
        g = b.rng.choice(["tanh", "sin", "atan"])
        lines.append(f"for i in range(len({v})):\n    {v}[i] = {v}[i] + {c()} * {b.fn(g)}({v}[i - 1] if i > 0 "
                     f"else {boundary})")
    elif kind == "comprehension":
        if b.rng.random() < 0.5:
            g = b.rng.choice(["sin", "tanh"])
            lines.append(f"{v} = [{v}[i] + {b.number(_signed(b.rng, b.rng.uniform(0.1, 0.9)))} * "
                         f"{b.fn(g)}({v}[(i + 1) % len({v})]) for i in range(len({v}))]")
        else:
            u = b.rng.choice(b.names)
            factor = f"{b.fn('exp')}({b.aimed(u, b.rng.uniform(-3, 3))})"
            lines.append(f"{v} = [e * {factor} for e in {v}]")
    elif kind == "scale":
        u = b.rng.choice(b.names)
        g = b.rng.choice(ANY)
        term = f"{c()} * {b.call(g, u)}"
        if b.spelling == "np":
            lines.append(f"{v} = {v} + {term}")
        else:
            lines.append(f"{v} = [e + {term} for e in {v}]")
    elif kind == "matrix":
        m = len(regs)
        e = np.array([[b.rng.uniform(-1, 1) for _ in range(m)] for _ in range(m)])
        e *= b.rng.uniform(0.1, 0.6) / max(np.linalg.norm(e, 2), 1e-12)
        a = np.eye(m) * b.rng.choice([1.0, -1.0, 2.0, 0.5]) + e
        name = f"W{len(b.arrays) + len(b.pending.get('arrays', {})) + 1}"
        b.propose(arrays={name: "np.array([" + ", ".join("[" + ", ".join(repr(round(float(x), 3)) for x in row) + "]"
                                                        for row in a) + "])"})
        lines.append(f"{v} = {name} @ {v}" if b.rng.random() < 0.5 else
                     f"{v} = {v} + {c()} * np.tanh({name} @ {v})")
    elif kind == "shear":
        g = b.rng.choice(["sin", "tanh", "arctan"])
        lines.append(f"{v} = {v} + {b.number(_signed(b.rng, b.rng.uniform(0.1, 0.9)))} * np.{g}({v}[::-1])")
    else:                                     # a register outside the vector reads its sum
        if not rest:
            lines.append(f"{v} = {v} * np.exp({b.number(b.rng.uniform(-0.5, 0.5))} * np.tanh({v}))")
        else:
            s = b.rng.choice(rest)
            lines.append(f"{s} = {s} + {c()} * np.sum(np.tanh({v}))")
    order = list(regs)
    if b.rng.random() < 0.3:
        b.rng.shuffle(order)
    lines.append(f"{', '.join(order)} = {v}")
    return lines


def move_helper(b: Builder, r: str) -> list[str]:
    """A module-level helper with a tuple result and a keyword default, called on two
    registers: a shear or a scaling whose function is aimed at its interesting region."""
    u = b.other(r)
    if u == r:
        return move_update(b, r)
    name = f"h{len(b.helpers) + len(b.pending.get('helpers', [])) + 1}"
    g = b.rng.choice(ANY)
    arg = b.aimed("q", TARGETS[g](b.rng), value=b.values[u])
    default = b.number(_signed(b.rng, _log_uniform(b.rng, -1.5, 1)))
    if b.rng.random() < 0.6:
        body = f"    return p + c * {b.fn(g)}({arg}), q"
    else:
        body = f"    p = p * {b.fn('exp')}(c * {b.fn('tanh')}({arg}))\n    return p, q"
    b.propose(helpers=[f"def {name}(p, q, c={default}):\n{body}\n"], counts={"helpers": 1})
    keyword = f", c={b.coefficient()}" if b.rng.random() < 0.4 else ""
    return [f"{r}, {u} = {name}({r}, {u}{keyword})"]


MOVES = [(move_update, 5), (move_scale, 3), (move_unary, 5), (move_power, 2), (move_tuple, 2),
         (move_lump, 2), (move_abs, 1)]
STRUCTURED = [(move_loop, 4), (move_vector, 4), (move_helper, 3)]   # in about a third of the programs


def generate(seed: int) -> FuzzProgram:
    """The program of ``seed`` (deterministic), with its base point and batch points."""
    rng = random.Random(seed)
    n = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    spelling = "math" if rng.random() < 0.6 else "np"
    b = Builder(rng, n, spelling)
    structured = rng.random() < 0.4
    moves, weights = zip(*(MOVES + STRUCTURED if structured else MOVES))
    for _ in range(rng.randint(1, 7)):
        r = rng.choice(b.names)
        for _attempt in range(12):
            b.pending = {}
            if b.try_lines(rng.choices(moves, weights)[0](b, r)):
                break
    if not b.lines:                                   # at least one active statement
        b.lines.append(f"{b.names[0]} = {b.names[0]} * 1.5")
    outputs = list(b.names)
    if n > 1 and rng.random() < 0.3:
        rng.shuffle(outputs)
    name = f"fz{seed}"
    header = "import math\n" if spelling == "math" else "import numpy as np\n"
    constants = "".join(f"{k} = {v!r}\n" for k, v in b.constants.items())
    constants += "".join(f"{k} = {v}\n" for k, v in b.arrays.items())
    helpers = "".join(f"\n\n{text}" for text in b.helpers)
    body = "".join(f"    {ln}\n" for line in b.lines for ln in line.split("\n"))
    ret = ", ".join(outputs)
    source = (f"{header}\n{constants}{helpers}\n\ndef {name}({', '.join(b.names)}):\n{body}    return {ret}\n")
    program = FuzzProgram(seed, name, source, n, spelling, [b.point], len(b.lines) + 1, **b.counts)
    if spelling == "np" and "np." in body:        # (a source without np.<fn> is scalar only)
        program.points += _neighbours(program, rng)
    return program


def _neighbours(program: FuzzProgram, rng: random.Random, count: int = 4) -> list:
    """Points near the base point where the program still runs with finite values."""
    fn = compile_program(program)
    out = []
    for _ in range(3 * count):
        point = tuple(x * (1 + _signed(rng, _log_uniform(rng, -12, -3))) for x in program.points[0])
        if runs(fn, point):
            out.append(point)
        if len(out) == count:
            break
    return out


def compile_program(program: FuzzProgram, namespace: dict | None = None):
    """The program's function, executed from its source (with ``namespace`` preloaded)."""
    env = dict(namespace or {})
    exec(compile(program.source, f"<{program.name}>", "exec"), env)
    return env[program.name]


def runs(fn, point) -> bool:
    """Whether the float program runs at ``point`` and gives finite values."""
    try:
        with np.errstate(all="ignore"):
            out = fn(*point)
    except (ArithmeticError, ValueError, TypeError):
        return False
    values = out if isinstance(out, tuple) else (out,)
    return all(isinstance(v, (float, np.floating)) and math.isfinite(v) for v in values)
