"""Small hand-written functions shared by the tests (plain Python, no s2s_invad).

ex1 and ex2 are the verified examples of SPEC.md sections 2 and 3; their expected
numbers live in SPEC_NUMBERS below, copied from SPEC.md (6 printed decimals).
Golden files for generated code are made from ex1, ex2 and coupling, so edits to
those three change the golden files (regenerate with pytest --regen-golden).
"""

import math

import numpy as np

SCALE = 0.5  # a passive module-level constant


def ex1(r0, r1, r2):
    """SPEC example 1: six equasive steps on three registers."""
    r0 = r0 * r1
    r1 = math.sin(r1) + r2
    r2 = r2 * math.exp(r0)
    r1 = r2 / r1
    r0 = r0 - r1**2
    r2 = math.exp(r2)
    return r0, r1, r2


def ex2(r0, r1, r2):
    """SPEC example 2: one equasive step, a k = 2 lump, one equasive step."""
    r0 = r0 * r1
    t = r0 * r2
    r0 = r1 + t
    r1 = r1 - math.sin(t)
    r2 = r2 * math.exp(r1)
    return r0, r1, r2


def coupling(x1, x2):
    """An affine coupling layer followed by an additive one (as in invertible nets)."""
    x2 = x2 * math.exp(math.tanh(x1)) + math.sin(x1)
    x1 = x1 + math.tanh(x2)
    return x1, x2


def ex1_np(r0, r1, r2):
    r0 = r0 * r1
    r1 = np.sin(r1) + r2
    r2 = r2 * np.exp(r0)
    r1 = r2 / r1
    r0 = r0 - r1**2
    r2 = np.exp(r2)
    return r0, r1, r2


def ex2_aug(r0, r1, r2):
    """ex2 written with augmented assignment and tuple unpacking."""
    r0 *= r1
    t = r0 * r2
    r0, r1 = r1 + t, r1 - math.sin(t)
    r2 *= math.exp(r1)
    return r0, r1, r2


def ex2_lump(r0, r1, r2):
    """The lump of ex2 alone: its Jacobian is [A | B]."""
    t = r0 * r2
    r0 = r1 + t
    r1 = r1 - math.sin(t)
    return r0, r1


def polar(r, theta):
    """x = r cos(theta), y = r sin(theta): widens to 3 before narrowing (det J = r)."""
    x = r * math.cos(theta)
    y = r * math.sin(theta)
    return x, y


def fib_mix(a, b):
    """Tuple unpacking: (a, b) -> (b, a + g(b)), twice."""
    a, b = b, a + math.sin(b)
    a, b = SCALE * b, a + b * b
    return a, b


def augmented(a, b):
    """Every augmented assignment, on registers that stay away from zero pivots."""
    a += math.sin(b)
    b *= math.exp(0.3 * a)
    a -= 0.5 * b * b
    b /= 2.0 + math.cos(a)
    a = math.exp(a)
    a **= 2
    b -= a
    return a, b


def one_var(x):
    """n = m = 1: a scalar result."""
    x = x + math.sin(x) * 0.5
    x = x * math.exp(SCALE * math.tanh(x))
    return x


def primitives(p, q):
    """Every supported primitive once, arguments kept inside their domains."""
    p = p + math.tan(0.5 * math.tanh(q)) + math.log1p(q * q)
    q = q * math.exp(math.expm1(0.3 * math.sin(p)))
    p = p + math.sqrt(1.0 + q * q) + math.log(2.0 + math.cos(q))
    q = q + math.sinh(0.5 * p) - math.cosh(0.2 * p)
    p = p + math.asin(0.5 * math.tanh(q)) + math.acos(0.5 * math.tanh(q))
    q = 2.0 * q + math.atan(p) + abs(p - 3.0) + abs(2.0 + math.sin(p))
    p = p + (2.0 + math.sin(q)) ** math.cos(q) + math.pi * math.e ** (-q * q)
    q = q + -p / 3.0 + +p**3 * 0.01
    return p, q


def primitives_np(p, q):
    p = p + np.tan(0.5 * np.tanh(q)) + np.log1p(q * q)
    q = q * np.exp(np.expm1(0.3 * np.sin(p)))
    p = p + np.sqrt(1.0 + q * q) + np.log(2.0 + np.cos(q))
    q = q + np.sinh(0.5 * p) - np.cosh(0.2 * p)
    p = p + np.arcsin(0.5 * np.tanh(q)) + np.arccos(0.5 * np.tanh(q))
    q = 2.0 * q + np.arctan(p) + abs(p - 3.0) + abs(2.0 + np.sin(p))
    q = q + -p / 3.0 + +p**3 * 0.01
    return p, q


def with_passive(x, c, y):
    """Square in (x, y) when c is passive."""
    x = x + c * math.sin(y)
    y = y * math.exp(c * x)
    return x, y


# Functions with m != n: only jvp and vjp apply.
def scalar_of_three(a, b, c):
    s = a * b + math.sin(c)
    s = s * math.exp(0.1 * a)
    return s


def two_to_three(u, v):
    w = u * v
    u = u + math.cos(v)
    return u, v, w


def three_to_two(a, b, c):
    a = a + b * c
    b = b * math.exp(a)
    return a, b


def one_to_two(t):
    return math.cos(t), math.sin(t)


EXAMPLES = {  # name -> (function, point); all square and invertible at the point
    "ex1": (ex1, (0.7, 1.3, -0.4)),
    "ex2": (ex2, (0.7, 1.3, -0.4)),
    "ex1_np": (ex1_np, (0.7, 1.3, -0.4)),
    "ex2_aug": (ex2_aug, (0.7, 1.3, -0.4)),
    "coupling": (coupling, (0.3, -0.8)),
    "polar": (polar, (1.7, 0.4)),
    "fib_mix": (fib_mix, (0.4, -0.9)),
    "augmented": (augmented, (0.2, 0.9)),
    "one_var": (one_var, (0.6,)),
    "primitives": (primitives, (0.3, -0.6)),
    "primitives_np": (primitives_np, (0.3, -0.6)),
}

NONSQUARE = {  # name -> (function, point)
    "scalar_of_three": (scalar_of_three, (0.2, -0.5, 0.9)),
    "two_to_three": (two_to_three, (0.3, 0.8)),
    "three_to_two": (three_to_two, (0.5, -0.2, 0.7)),
    "one_to_two": (one_to_two, (0.4,)),
}

# Copied from SPEC.md.
SPEC_POINT = (0.7, 1.3, -0.4)
SPEC_V = (1.0, -2.0, 0.5)
SPEC_W = (0.3, 0.8, -1.1)
SPEC_NUMBERS = {
    "ex1": {
        "f": (-2.199270, -1.763312, 0.370194),
        "det": 1.000674,
        "jvp": (7.908850, 2.270968, 0.496627),
        "vjp": (-3.343018, -0.244998, 12.992321),
        "ijvp": (16.602037, -19.327714, 3.764967),
        "ivjp": (-1.163944, 4.867613, -7.447706),
    },
    "ex2": {
        "f": (0.936000, 1.656015, -2.095358),
        "det": -5.269456,
        "jvp": (-1.505000, -2.462568, 7.779157),
        "vjp": (1.352760, 4.133303, -8.129564),
        "ijvp": (-3.918693, -0.550804, -0.704551),
        "ivjp": (0.010187, 0.398275, -0.109766),
        "A": ((-0.4, 1.0), (0.373792, 1.0)),
        "B": ((0.91,), (-0.850377,)),
    },
}
