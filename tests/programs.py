"""Deterministic random straight-line programs f: R^n -> R^n, as Python source text.

A program is a row of *moves* on n registers (the parameters at first):

- equasive steps `x = g(x, y)` whose pivot dg/dx is bounded away from zero
  (`x = x + h(y)`, `x *= exp(h(y))`, `x = 0.7 * tanh(x) + h(y)`, `x = (2.5 + h(y)) / x`
  on a positive x, ...), with h built from every supported primitive;
- lumps on k = 2..4 registers that widen then narrow through a shared temporary,
  `t = tanh(c . W) * ...; w_l = lam_l * w_s(l) + beta_l * psi_l(t)`: the k x k block is
  lam P + u g^T with |g^T (lam P)^-1 u| <= 0.85, so it is nonsingular everywhere;
- tuple assignments `a, b = c * b, a + h(b)` (a permutation times a triangular block);
- renames, augmented assignments, passive literals and module constants.

Invertibility holds by construction. Conditioning is checked as the program grows: each
candidate move is run (vectorised with NumPy, through the oracle's complex-capable shims)
on SAMPLES points of [-1, 1]^n, and rejected unless values stay bounded, the move's own
Jacobian is well conditioned and the running product J stays below GLOBAL_COND. The
generator never imports s2s_invad; it only produces text.
"""

import dataclasses
import importlib.util
import pathlib
import random
import re
import sys

import numpy as np

import oracle

REGISTER_NAMES = ("x", "y", "z", "u", "v", "w", "p", "q")
PASSIVE_NAMES = ("k0", "k1", "k2")
SAMPLES = 96
VALUE_BOUND = 8.0       # |value| of every register at every sample
LOCAL_COND = 60.0       # cond of one move's Jacobian
ENTRY_BOUND = 12.0      # |entry| of one move's Jacobian
PIVOT_MIN = 0.1         # |a| of a k = 1 move
GLOBAL_COND = 2e5       # cond of the running Jacobian
STEP = 1e-30
NUMPY_SPELLING = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}


@dataclasses.dataclass
class GeneratedProgram:
    source: str
    funcname: str
    n: int                # number of differentiated inputs (registers)
    m: int                # number of outputs
    params: tuple         # all parameters, in order
    wrt: tuple            # the differentiated ones (params minus the passive ones)
    max_cond: float       # largest cond(J) over the generator's sample points (square only)


class _Lazy:
    """Text computed on first use (so unused coefficients add no module constants)."""

    def __init__(self, make):
        self.make, self.text = make, None

    def __format__(self, spec):
        if self.text is None:
            self.text = self.make()
        return format(self.text, spec)


class _Reject(Exception):
    """A candidate move failed a check; the builder draws another."""


class _Builder:
    def __init__(self, seed, n, m, passive):
        self.rng = random.Random(seed)
        rng = self.rng
        self.seed, self.n, self.m = seed, n, m
        self.ns = rng.choice(("math", "math", "np", "np", "numpy"))
        self.regs = list(REGISTER_NAMES[:n])
        self.passive = list(PASSIVE_NAMES[:passive])
        self.positive = [False] * n
        self.versions = {name: 0 for name in self.regs}
        self.temps = 0
        self.consts = {}  # module constants: name -> value
        self.lines = []
        points = np.random.default_rng(seed).uniform(-1.0, 1.0, (SAMPLES, n + passive))
        self.env = {name: points[:, i] for i, name in enumerate(self.regs + self.passive)}
        self.J = np.broadcast_to(np.eye(n), (SAMPLES, n, n)).copy()

    # ---- small pieces of text -------------------------------------------------
    def fn(self, name):
        if self.ns == "math":
            return f"math.{name}"
        return f"{self.ns}.{NUMPY_SPELLING.get(name, name)}"

    def number(self, lo, hi, signed=False):
        """A coefficient as text: a literal, an int, or a module constant."""
        rng = self.rng
        value = round(rng.uniform(lo, hi), 2)
        if signed and rng.random() < 0.5:
            value = -value
        roll = rng.random()
        if roll < 0.15 and float(value).is_integer():
            return str(int(value))
        if roll < 0.3:
            name = f"C{len(self.consts)}"
            self.consts[name] = value
            return name
        return repr(value)

    def fresh_temp(self):
        self.temps += 1
        return f"t{self.temps}"

    def target(self, i):
        """The name a new value of register i is stored under: same name or a new one."""
        old = self.regs[i]
        if self.rng.random() < 0.25:
            base = REGISTER_NAMES[i]
            self.versions[base] += 1
            return f"{base}{self.versions[base]}"
        return old

    def h(self, j, bounded=False):
        """A smooth term of register j: (text, bound on |value| or None)."""
        F, Y = self.fn, self.regs[j]
        choices = [
            lambda: (f"{F('sin')}({Y})", 1.0), lambda: (f"{F('cos')}({Y})", 1.0),
            lambda: (f"{F('tanh')}({Y})", 1.0), lambda: (f"{F('atan')}({Y})", 1.6),
            lambda: (f"{F('exp')}(-{Y} * {Y})", 1.0),
            lambda: (f"{F('asin')}(0.5 * {F('tanh')}({Y}))", 0.53),
            lambda: (f"{F('acos')}(0.5 * {F('tanh')}({Y}))", 2.1),
            lambda: (f"{F('expm1')}(0.5 * {F('sin')}({Y}))", 0.65),
            lambda: (f"{F('log')}(2.0 + {F('cos')}({Y}))", 1.1),
            lambda: (f"{F('sinh')}(0.5 * {F('tanh')}({Y}))", 0.53),
            lambda: (f"{F('cosh')}(0.5 * {F('sin')}({Y}))", 1.13),
            lambda: (f"{F('tan')}(0.5 * {F('tanh')}({Y}))", 0.55),
            lambda: (f"abs(2.0 + {F('sin')}({Y}))", 3.0),
            lambda: (f"abs({F('tanh')}({Y}) - 2.0)", 3.0),
            lambda: (f"-{F('sin')}({Y})", 1.0),
            lambda: (f"2.0 ** {F('sin')}({Y})", 2.0),
            lambda: (f"(2.0 + {F('sin')}({Y})) ** {F('cos')}({Y})", 3.0),
        ]
        if not bounded:
            choices += [
                lambda: (f"{F('log1p')}({Y} * {Y})", None),
                lambda: (f"{F('sqrt')}(1.0 + {Y} * {Y})", None),
                lambda: (f"{self.number(0.2, 1.0, signed=True)} * {Y}", None),
                lambda: (f"{Y} * {Y} * {self.number(0.1, 0.4)}", None),
                lambda: (f"{Y} ** 2", None), lambda: (f"0.1 * {Y} ** 3", None),
                lambda: (f"(1.0 + {Y} * {Y}) ** 0.5", None), lambda: (f"+{Y}", None),
            ]
            others = [r for r in range(self.n) if r != j]
            if others:
                Z = self.regs[self.rng.choice(others)]
                choices += [
                    lambda: (f"{F('sin')}({Y}) * {Z} * 0.3", None),
                    lambda: (f"{Y} * {F('cos')}({Z})", None),
                    lambda: (f"{Y} / (2.0 + {F('cos')}({Z}))", None),
                ]
            if self.ns == "math":
                choices += [lambda: (f"math.pi * {F('sin')}({Y}) * 0.2", 0.63),
                            lambda: (f"math.e ** (-{Y} * {Y})", 1.0)]
        return self.rng.choice(choices)()

    def read_term(self, i, bounded=False):
        """h(y) for some register y != i, or a passive constant term when n = 1."""
        others = [j for j in range(self.n) if j != i]
        if not others:
            return (self.number(0.1, 1.0, signed=True), 1.0)
        return self.h(self.rng.choice(others), bounded)

    # ---- moves ------------------------------------------------------------------
    def equasive(self):
        rng, F = self.rng, self.fn
        i = rng.randrange(self.n)
        X, pos = self.regs[i], self.positive[i]
        H, _ = self.read_term(i)
        Hb, hb = self.read_term(i, bounded=True)
        N = self.target(i)
        aug = N == X and rng.random() < 0.5
        keeps_sign = False
        options = ["add", "sub", "affine", "scale", "div", "tanh", "atan", "sinh", "sin", "expm1",
                   "cubic", "asin", "acos", "tan", "sqrt1", "xexp", "mix", "exp_pos", "exp_pos", "neg"]
        if pos:
            options += ["recip", "power", "log", "sqrt", "square", "cosh"] * 4
        kind = rng.choice(options)
        if self.passive and kind in ("add", "sub", "affine") and rng.random() < 0.7:
            unused = [k for k in self.passive
                      if not any(re.search(rf"\b{k}\b", line) for line in self.lines)]
            H = f"{rng.choice(unused or self.passive)} * {H}"
        c = _Lazy(lambda: self.number(0.5, 1.5, signed=True))  # drawn only if used
        c0 = repr(round(hb + 0.5 + rng.uniform(0.0, 1.0), 2))
        if kind == "add":
            stmt = f"{X} += {H}" if aug else f"{N} = {X} + {H}"
        elif kind == "sub":
            stmt = f"{X} -= {H}" if aug else f"{N} = {X} - {H}"
        elif kind == "affine":
            stmt = f"{N} = {c} * {X} + {H}"
        elif kind == "scale":
            e = f"{F('exp')}({self.number(0.2, 0.8, signed=True)} * {Hb})"
            stmt = f"{X} *= {e}" if aug else f"{N} = {X} * {e}"
            keeps_sign = True
        elif kind == "div":
            d = f"({c0} + {Hb})"
            stmt = f"{X} /= {d}" if aug else f"{N} = {X} / {d}"
            keeps_sign = True
        elif kind == "tanh":
            stmt = f"{N} = {c} * {F('tanh')}({X}) + {H}"
        elif kind == "atan":
            stmt = f"{N} = {c} * {F('atan')}({X}) + {H}"
        elif kind == "sinh":
            stmt = f"{N} = {F('sinh')}({X}) + {H}"
        elif kind == "sin":
            stmt = f"{N} = {X} + {self.number(0.1, 0.6)} * {F('sin')}({X}) + {H}"
        elif kind == "expm1":
            stmt = f"{N} = {F('expm1')}({X}) - {H}"
        elif kind == "cubic":
            stmt = f"{N} = {X} ** 3 + {X} + {H}"
        elif kind == "asin":
            stmt = f"{N} = {F('asin')}(0.5 * {F('tanh')}({X})) + {H}"
        elif kind == "acos":
            stmt = f"{N} = {F('acos')}(0.5 * {F('tanh')}({X})) + {H}"
        elif kind == "tan":
            stmt = f"{N} = {F('tan')}(0.5 * {F('tanh')}({X})) + {H}"
        elif kind == "sqrt1":
            stmt = f"{N} = {F('sqrt')}(1.0 + {X} * {X}) + {X} + {H}"
        elif kind == "xexp":
            stmt = f"{N} = {X} * {F('exp')}(0.1 * {X}) + {H}"
        elif kind == "mix":  # pivot c + 0.3 * Hb with |0.3 Hb| < 0.5 <= |c|
            stmt = f"{N} = {X} * ({c} + 0.3 * {Hb} / {round(hb + 0.01, 2)!r}) + {H}"
        elif kind == "exp_pos":
            stmt = f"{N} = {F('exp')}({self.number(0.3, 0.8, signed=True)} * {X}) * ({c0} + {Hb})"
            return [stmt], [i], {i: N}, {i: True}
        elif kind == "neg":
            stmt = f"{N} = -{X}" if N == X or rng.random() < 0.5 else f"{N} = {X}"
        elif kind == "recip":
            stmt = f"{N} = ({c0} + {Hb}) / {X}"
            keeps_sign = True
        elif kind == "power":
            stmt = f"{N} = {X} ** (1.5 + 0.5 * {F('tanh')}({self.regs[rng.randrange(self.n)]}))"
            keeps_sign = True
        elif kind == "log":
            stmt = f"{N} = {F('log')}({X}) + {H}"
        elif kind == "sqrt":
            stmt = f"{N} = {F('sqrt')}({X}) * {F('exp')}(0.5 * {Hb})"
            keeps_sign = True
        elif kind == "square":
            stmt = f"{X} **= {rng.choice(('2', '2.0', '3', '1.5'))}" if N == X else f"{N} = {X} ** 2"
            keeps_sign = True
        else:  # cosh
            stmt = f"{N} = {F('cosh')}({X}) + {H}"
        return [stmt], [i], {i: N}, {i: pos and keeps_sign}

    def lump(self):
        """k registers mixed through one shared temporary t: W_new = lam P W + beta psi(t)."""
        rng, F = self.rng, self.fn
        k = rng.randint(2, min(4, self.n))
        W = rng.sample(range(self.n), k)
        rest = [r for r in range(self.n) if r not in W]
        coeffs = [round(rng.uniform(0.3, 1.0) * rng.choice((-1, 1)), 2) for _ in W]
        inner = " + ".join(f"{a} * {self.regs[r]}" for a, r in zip(coeffs, W)).replace("+ -", "- ")
        squash, factor_bound = rng.choice((("tanh", 1.0), ("sin", 1.0), ("atan", 1.0)))
        t = self.fresh_temp()
        t_text = f"{F(squash)}({inner})"
        if rest and rng.random() < 0.5:
            t_text += f" * (1.0 + 0.5 * {F('sin')}({self.regs[rng.choice(rest)]}))"
            factor_bound = 1.5
        # |dt/dW_m| <= factor_bound * |coeffs[m]|, and |t| <= 1.5 * pi / 2 < 2.4;
        # psi's second entry bounds |psi'(t)| there
        psis = [("{t}", 1.0), (f"{F('sin')}({{t}})", 1.0), (f"{{t}} * {{t}} * 0.5", 2.4),
                (f"{F('exp')}(0.5 * {{t}})", 1.7), (f"{F('tanh')}({{t}})", 1.0)]
        perm = list(range(k))
        if rng.random() < 0.5:
            rng.shuffle(perm)
        lams = [round(rng.uniform(0.5, 1.5) * rng.choice((-1, 1)), 2) for _ in W]
        betas = [rng.uniform(0.3, 1.0) * rng.choice((-1, 1)) for _ in W]
        chosen = [rng.choice(psis) for _ in W]
        # A = lam P + u g^T with u_l = beta_l psi_l'(t), g = grad t; det A = det(lam P) (1 + s)
        # with s = sum_l g[perm[l]] u_l / lam_l; keep |s| <= 0.85 so A is never singular
        total = sum(abs(betas[l]) * chosen[l][1] * factor_bound * abs(coeffs[perm[l]]) / abs(lams[l])
                    for l in range(k))
        shrink = min(1.0, 0.85 / total)
        betas = [round(b * shrink * 0.98, 3) for b in betas]
        news = []
        for l in range(k):
            own = self.regs[W[perm[l]]]
            psi = chosen[l][0].format(t=t)
            news.append(f"{lams[l]} * {own} + {betas[l]} * {psi}".replace("+ -", "- "))
        stmts = [f"{t} = {t_text}"]
        if perm == list(range(k)) and rng.random() < 0.6:
            names = {}
            for l in range(k):
                names[W[l]] = self.target(W[l])
                stmts.append(f"{names[W[l]]} = {news[l]}")
        else:
            names = {W[l]: self.target(W[l]) for l in range(k)}
            stmts.append(f"{', '.join(names[r] for r in W)} = {', '.join(news)}")
        return stmts, W, names, {r: False for r in W}

    def tuple_swap(self):
        """a, b(, c) = c1 * W_s1, c2 * W_s2 + h(W_s1), ...: permutation times triangle."""
        rng = self.rng
        k = rng.randint(2, min(3, self.n))
        W = rng.sample(range(self.n), k)
        perm = W[:]
        while perm == W:
            rng.shuffle(perm)
        news = []
        for l, src in enumerate(perm):
            c = self.number(0.5, 1.5, signed=True)
            text = self.regs[src] if rng.random() < 0.4 else f"{c} * {self.regs[src]}"
            if l > 0:
                text += f" + {self.h(rng.choice(perm[:l]))[0]}"
            news.append(text)
        names = {r: self.target(r) for r in W}
        if len(set(names.values())) < k:
            raise _Reject
        stmt = f"{', '.join(names[r] for r in W)} = {', '.join(news)}"
        return [stmt], W, names, {r: False for r in W}

    # ---- checking and bookkeeping -----------------------------------------------
    def run(self, code, env):
        namespace = dict(self.consts, math=oracle.SHIM, np=oracle.SHIM, numpy=oracle.SHIM,
                         abs=oracle._abs)
        namespace.update(env)
        with np.errstate(all="ignore"):
            exec(code, namespace)
        return namespace

    def try_move(self, stmts, changed, names):
        code = compile("\n".join(stmts), "<candidate>", "exec")
        out = self.run(code, self.env)
        new_names = [names.get(r, self.regs[r]) for r in range(self.n)]
        values = [np.asarray(out[name], dtype=float) for name in new_names]
        for v in values:
            if v.shape != (SAMPLES,) or not np.all(np.isfinite(v)) or np.max(np.abs(v)) > VALUE_BOUND:
                raise _Reject
        M = np.empty((SAMPLES, self.n, self.n))
        for col in range(self.n):
            env = {name: np.asarray(val, dtype=complex) for name, val in self.env.items()}
            env[self.regs[col]] = env[self.regs[col]] + 1j * STEP
            out_c = self.run(code, env)
            for row, name in enumerate(new_names):
                M[:, row, col] = np.imag(np.asarray(out_c[name], dtype=complex)) / STEP
        if not np.all(np.isfinite(M)) or np.max(np.abs(M)) > ENTRY_BOUND:
            raise _Reject
        if len(changed) == 1 and np.min(np.abs(M[:, changed[0], changed[0]])) < PIVOT_MIN:
            raise _Reject
        if np.max(np.linalg.cond(M)) > LOCAL_COND:
            raise _Reject
        J = M @ self.J
        if np.max(np.linalg.cond(J)) > GLOBAL_COND:
            raise _Reject
        return out, new_names, J

    def step(self):
        rng = self.rng
        for _ in range(60):
            state = (dict(self.versions), self.temps, dict(self.consts))
            roll = rng.random()
            try:
                if self.n >= 2 and roll < 0.22:
                    stmts, changed, names, positive = self.lump()
                elif self.n >= 2 and roll < 0.32:
                    stmts, changed, names, positive = self.tuple_swap()
                else:
                    stmts, changed, names, positive = self.equasive()
                out, new_names, J = self.try_move(stmts, changed, names)
            except _Reject:
                self.versions, self.temps, self.consts = state
                continue
            self.lines += stmts
            keep = set(new_names) | set(self.passive)
            self.env = {name: np.asarray(out[name], dtype=float) for name in keep}
            self.regs = new_names
            for r, flag in positive.items():
                self.positive[r] = flag
            self.J = J
            return True
        return False

    def use_passive(self):
        """Make sure every passive parameter is read (an additive step, pivot 1)."""
        for k in self.passive:
            if not any(re.search(rf"\b{k}\b", line) for line in self.lines):
                X = self.regs[0]
                self.lines.append(f"{X} = {X} + 0.1 * {k} * {self.fn('sin')}({self.regs[-1]})")

    def finish(self):
        rng = self.rng
        self.use_passive()
        order = list(range(self.n))
        if self.m == self.n and rng.random() < 0.3:
            rng.shuffle(order)
        outputs = [self.regs[r] for r in order]
        if self.m < self.n:
            outputs = [self.regs[r] for r in sorted(rng.sample(range(self.n), self.m))]
        for e in range(self.m - self.n):
            a, b = rng.sample(range(self.n), 2) if self.n >= 2 else (0, 0)
            name = f"out{e}"
            self.lines.append(f"{name} = {self.regs[a]} * {self.fn('sin')}({self.regs[b]}) + {self.regs[b]}")
            outputs.append(name)
        ret = outputs[0] if self.m == 1 else ", ".join(outputs)
        funcname = f"prog_{self.seed}_{self.n}"
        params = self.regs_at_entry()
        for name in self.passive:
            params.insert(rng.randint(0, len(params)), name)
        imports = "import math" if self.ns == "math" else "import numpy as np" if self.ns == "np" \
            else "import numpy"
        header = [f'"""Random program {funcname} (tests/programs.py, seed {self.seed})."""', "",
                  imports, ""]
        header += [f"{name} = {value!r}" for name, value in self.consts.items()]
        body = []
        if rng.random() < 0.3:
            body.append(f'"""A generated straight-line program on {self.n} registers."""')
        body += self.lines + [f"return {ret}"]
        source = "\n".join(header + ["", "", f"def {funcname}({', '.join(params)}):"]
                           + ["    " + line for line in body]) + "\n"
        max_cond = float(np.max(np.linalg.cond(self.J)))
        return GeneratedProgram(source, funcname, self.n, self.m, tuple(params),
                                tuple(self.regs_at_entry()), max_cond)

    def regs_at_entry(self):
        return list(REGISTER_NAMES[: self.n])


def generate(seed, n=None, m=None, passive=0):
    """The program for seed (n drawn from the seed when None; m = n unless given)."""
    if n is None:
        n = random.Random(f"n-{seed}").randint(1, 8)
    builder = _Builder(seed, n, n if m is None else m, passive)
    moves = builder.rng.randint(max(2, n), 2 * n + 6)
    for _ in range(moves):
        builder.step()
    if not builder.lines:
        raise RuntimeError(f"seed {seed}: no move passed the checks")
    return builder.finish()


def make_program(seed, n=None, m=None, passive=0):
    """(source_text, funcname, n) for seed; see generate() for the full record."""
    program = generate(seed, n, m, passive)
    return program.source, program.funcname, program.n


_LOADED = {}


def load_source(source, funcname, directory, modname=None):
    """Write source to directory/<modname>.py, import it, return the function.

    A real file (and sys.modules entry) lets inspect.getsource find the text.
    """
    modname = modname or f"s2s_generated_{funcname}"
    key = (modname, source)
    if key in _LOADED:
        return _LOADED[key]
    if modname in sys.modules:
        raise RuntimeError(f"module name {modname} already used for other source")
    path = pathlib.Path(directory) / f"{modname}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    _LOADED[key] = getattr(module, funcname)
    return _LOADED[key]


def load_program(seed, directory, n=None, m=None, passive=0):
    """(function, GeneratedProgram) for seed, imported from a file under directory."""
    program = generate(seed, n, m, passive)
    modname = f"s2s_prog_{seed}_{program.n}_{program.m}_{passive}"
    return load_source(program.source, program.funcname, directory, modname), program


if __name__ == "__main__":  # python tests/programs.py SEED [N]: print one program
    args = [int(a) for a in sys.argv[1:]] or [0]
    print(make_program(*args)[0])
