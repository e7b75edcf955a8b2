"""Deterministic random programs for the scheduler tests, as Python source text.

* :func:`equasive_program`: n registers updated by steps ``x_i = g(x_i, x_j, ...)`` whose
  pivot dg/dx_i stays away from zero. Written in generation order, every step is
  equasive (it kills the register it overwrites), so some order has k = 1 everywhere.
  Each value gets its own name (``x2_5`` is version 5 of register 2), so any topological
  order of the lines is valid Python; ``shuffle=True`` writes the lines in a random
  topological order, which usually needs lumps with k >= 2.
* :func:`lumpy_program`: the same with lumps of 2 or 3 registers mixed through a shared
  temporary, so the optimum has k = 2 or 3 somewhere but no more.
* :func:`blocks_program`: blocks separated by barriers that every order passes at width n.
* :func:`random_dag`: a small random straight-line program over a pool of values (each
  statement reads one or two earlier values); it may or may not be invertible.

Nothing here imports s2s_invad; loading goes through programs.load_source (a real file).
"""

import hashlib
import random
import re

import programs

NAME = re.compile(r"\b([a-z]\w*)\b")


def _topological_shuffle(lines, rng, keep=()):
    """The lines in a random order that still defines every name before its use."""
    defined = {line.split(" = ")[0]: k for k, line in enumerate(lines)}
    deps = []
    for line in lines:
        rhs = line.split(" = ", 1)[1]
        deps.append({defined[w] for w in NAME.findall(rhs) if w in defined})
    users = [[] for _ in lines]
    for k, ds in enumerate(deps):
        for d in ds:
            users[d].append(k)
    waiting = [len(ds) for ds in deps]
    ready = [k for k in range(len(lines)) if not waiting[k]]
    out = []
    while ready:
        k = ready.pop(rng.randrange(len(ready)))
        out.append(lines[k])
        for u in users[k]:
            waiting[u] -= 1
            if not waiting[u]:
                ready.append(u)
    assert len(out) == len(lines)
    return out


def _coef(rng, lo, hi):
    c = round(rng.uniform(lo, hi), 3)
    return c if rng.random() < 0.5 else -c


def equasive_program(seed, n=None, steps=None, shuffle=True, passive=None):
    """(source, funcname, wrt): a program on n registers that is equasive step by step in
    generation order; with ``passive`` a passive parameter ``c`` also enters some steps."""
    rng = random.Random(f"equasive-{seed}")
    n = n or rng.randint(2, 5)
    steps = steps or rng.randint(n, 4 * n + 4)
    passive = rng.random() < 0.3 if passive is None else passive
    cur = [f"x{i}" for i in range(n)]
    version = [0] * n
    lines = []
    if passive:
        lines.append(f"a = c * {_coef(rng, 0.2, 0.5)!r}")
    for _ in range(steps):
        i = rng.randrange(n)
        others = [cur[j] for j in range(n) if j != i] or ["0.5"]
        X, Y, Z = cur[i], rng.choice(others), rng.choice(others)
        scale = "a * " if passive and rng.random() < 0.4 else ""
        kind = rng.randrange(7)
        if kind == 0:
            rhs = f"{X} + {scale}{_coef(rng, 0.2, 0.6)!r} * math.sin({Y})"
        elif kind == 1:
            rhs = f"{X} * math.exp({_coef(rng, 0.1, 0.3)!r} * math.tanh({Y}))"
        elif kind == 2:
            rhs = f"{X} + {_coef(rng, 0.2, 0.4)!r} * math.sin({Y}) * math.cos({Z})"
        elif kind == 3:
            rhs = f"{round(rng.uniform(0.7, 1.3), 3)!r} * {X} + {scale}{_coef(rng, 0.1, 0.4)!r} * {Y}"
        elif kind == 4:
            rhs = f"{X} / (2.0 + math.sin({Y}))"
        elif kind == 5:
            rhs = f"0.8 * math.tanh({X}) + {X} + {_coef(rng, 0.1, 0.3)!r} * math.atan({Y})"
        else:
            rhs = f"-{X}" if rng.random() < 0.5 else f"{X} - {_coef(rng, 0.1, 0.3)!r} * {Y} * {Y}"
        version[i] += 1
        cur[i] = f"x{i}_{version[i]}"
        lines.append(f"{cur[i]} = {rhs}")
    if shuffle:
        lines = _topological_shuffle(lines, rng)
    name = f"eq_{seed}"
    params = [f"x{i}" for i in range(n)] + (["c"] if passive else [])
    wrt = tuple(f"x{i}" for i in range(n))
    source = "\n".join(["import math", "", "", f"def {name}({', '.join(params)}):"]
                       + [f"    {line}" for line in lines]
                       + [f"    return {', '.join(cur)}{',' if n == 1 else ''}", ""])
    return source, name, wrt


def lumpy_program(seed, n=None, moves=None, shuffle=True):
    """(source, funcname, wrt, kmax): equasive steps mixed with lumps on k = 2 or 3 registers
    through a shared temporary, ``t = tanh(a . x_W); x_l = x_l + c_l t`` (block I + s c a^T,
    det = 1 + s a.c with |a.c| <= 0.54 and 0 < s <= 1, so never singular). In generation order
    the largest lump has k = kmax, so the optimum is at most kmax."""
    rng = random.Random(f"lumpy-{seed}")
    n = n or rng.randint(2, 5)
    moves = moves or rng.randint(n, 3 * n + 3)
    regs = [f"x{i}" for i in range(n)]
    version = [0] * n
    lines, temps, kmax = [], 0, 1

    def new(i):
        version[i] += 1
        regs[i] = f"x{i}_{version[i]}"
        return regs[i]

    for _ in range(moves):
        if n >= 2 and rng.random() < 0.4:
            k = rng.choice((2, 3)) if n >= 3 else 2
            kmax = max(kmax, k)
            W = rng.sample(range(n), k)
            temps += 1
            t = f"t{temps}"
            inner = " + ".join(f"{_coef(rng, 0.2, 0.6)!r} * {regs[r]}" for r in W)
            lines.append(f"{t} = math.tanh({inner})")
            for r in W:
                x = regs[r]
                lines.append(f"{new(r)} = {x} + {_coef(rng, 0.1, 0.3)!r} * {t}")
        else:
            i = rng.randrange(n)
            y = regs[rng.choice([j for j in range(n) if j != i])] if n > 1 else "0.3"
            x = regs[i]
            lines.append(f"{new(i)} = {x} + {_coef(rng, 0.2, 0.5)!r} * math.sin({y})")
    if shuffle:
        lines = _topological_shuffle(lines, rng)
    name = f"lumpy_{seed}"
    params = [f"x{i}" for i in range(n)]
    source = "\n".join(["import math", "", "", f"def {name}({', '.join(params)}):"]
                       + [f"    {line}" for line in lines]
                       + [f"    return {', '.join(regs)}{',' if n == 1 else ''}", ""])
    return source, name, tuple(params), kmax


def blocks_program(seed, blocks=4):
    """(source, funcname, wrt): blocks of 2-3 shuffled moves on two registers, each followed
    by a barrier ``m = x0 * x1; x0 = x0 + 0.3 tanh(m); x1 = x1 - 0.2 sin(m)``. Everything
    after ``m`` descends from everything before it, so every order passes the point before
    each ``m`` at width 2: the program splits into independent regions."""
    rng = random.Random(f"blocks-{seed}")
    regs, version, lines = ["x0", "x1"], [0, 0], []

    def new(i):
        version[i] += 1
        regs[i] = f"x{i}_{version[i]}"
        return regs[i]

    for b in range(blocks):
        block = []
        for _ in range(rng.randint(1, 2)):
            if rng.random() < 0.5:
                t = f"t{b}_{len(block)}"
                x0, x1 = regs
                a, b_ = _coef(rng, 0.2, 0.6), _coef(rng, 0.2, 0.6)
                block.append(f"{t} = math.tanh({a!r} * {x0} + {b_!r} * {x1})")
                block.append(f"{new(0)} = {x0} + {_coef(rng, 0.1, 0.3)!r} * {t}")
                block.append(f"{new(1)} = {x1} + {_coef(rng, 0.1, 0.3)!r} * {t}")
            else:
                i = rng.randrange(2)
                x, y = regs[i], regs[1 - i]
                block.append(f"{new(i)} = {x} + {_coef(rng, 0.2, 0.5)!r} * math.sin({y})")
        lines += _topological_shuffle(block, rng)
        x0, x1 = regs
        lines += [f"m{b} = {x0} * {x1}", f"{new(0)} = {x0} + 0.3 * math.tanh(m{b})",
                  f"{new(1)} = {x1} - 0.2 * math.sin(m{b})"]
    name = f"blocks_{seed}_{blocks}"
    source = "\n".join(["import math", "", "", f"def {name}(x0, x1):"]
                       + [f"    {line}" for line in lines] + [f"    return {regs[0]}, {regs[1]}", ""])
    return source, name, ("x0", "x1")


OPS = ("{a} + {b}", "{a} * {b}", "{a} - {b}", "math.sin({a})", "{a} * 2.0", "math.tanh({a})",
       "math.exp({a})", "{a} / {b}", "-{a}")


def random_dag(seed, n=None, statements=None):
    """(source, funcname, wrt): a random straight-line program, one primitive per line (so
    one SSA statement per line, at most ``statements``); the returns are n distinct values,
    the unused ones first, so that few statements are dead."""
    rng = random.Random(f"dag-{seed}")
    n = n or rng.randint(1, 4)
    statements = statements or rng.randint(max(n, 4), 10)
    pool = [f"p{i}" for i in range(n)]
    used = set()
    lines = []

    def emit(text, reads):
        used.update(reads)
        name = f"v{len(lines)}"
        lines.append(f"{name} = {text}")
        pool.append(name)

    def sinks():
        return [v for v in pool[n:] if v not in used]

    while len(lines) < statements:
        if len(sinks()) > n and len(lines) >= statements - 2:
            a, b = rng.sample(sinks(), 2)
        else:
            a = rng.choice(pool[-n - 1:]) if rng.random() < 0.5 else rng.choice(pool)
            b = rng.choice(pool)
        op = rng.choice(OPS)
        emit(op.format(a=a, b=b), {a, b} if "{b}" in op else {a})
    outs = sinks()[:n]
    outs += [v for v in reversed(pool) if v not in outs][:n - len(outs)]
    rng.shuffle(outs)
    name = f"dag_{seed}"
    params = [f"p{i}" for i in range(n)]
    source = "\n".join(["import math", "", "", f"def {name}({', '.join(params)}):"]
                       + [f"    {line}" for line in lines]
                       + [f"    return {', '.join(outs)}{',' if n == 1 else ''}", ""])
    return source, name, tuple(params)


def load(source, funcname, directory):
    """Import the program from a real file under directory (see programs.load_source); the
    module name carries a digest of the text, so two programs never share one."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    return programs.load_source(source, funcname, directory, modname=f"s2s_sched_{funcname}_{digest}")
