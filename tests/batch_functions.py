"""NumPy-namespace functions for the batched-evaluation tests (one per lump shape)."""

import math

import numpy as np


def coupling2(x, y):                      # k = 1 steps only
    y = y * np.exp(np.tanh(x)) + np.sin(x)
    x = x + np.tanh(y)
    return x, y


def lump2(r0, r1, r2):                    # SPEC example 2: a k = 2 lump, unrolled
    r0 = r0 * r1
    t = r0 * r2
    r0 = r1 + t
    r1 = r1 - np.sin(t)
    r2 = r2 * np.exp(r1)
    return r0, r1, r2


def lump5(a, b, c, d, e):                 # a k = 5 lump: NumPy solve
    s = a + b + c + d + e
    a = a + s
    b = b * (1.5 + np.tanh(s))
    c = c - 0.3 * s * s
    d = d + np.sin(s)
    e = e + s / 3
    return a, b, c, d, e


def scalar_only(x, y):                    # math namespace: scalars only
    x = x + math.sin(y)
    return x, y


def singular_at_zero(x, y):               # pivot y * exp(y): zero at y = 0
    x = x * (y * np.exp(y))
    return x, y


def lump4(a, b, c, d):                    # k = 4 lump, singular where a + b + c + d = 0
    s = a + b + c + d
    a = a * s
    b = b * s
    c = c * s
    d = d * s + np.sin(s)
    return a, b, c, d


# Found by the random natural programs (tests/natural_gen.py):

MIX = np.array([[1.0, 0.2, 0.0, 0.1], [0.0, 1.0, 0.3, 0.0], [0.1, 0.0, 1.0, 0.2], [0.2, 0.1, 0.0, 1.0]])


def constant_block(u):                    # one k = 4 lump whose block A is a constant matrix
    return np.dot(MIX, u)


def identity_block(u, s):                 # a k = n structured lump with A = I (no pivot to compute)
    s = s + 0.5 * np.sum(np.sin(u))
    u = u - 0.2 * np.tanh(s)
    return u, s


def reads_math_pi(x, y):                  # numpy functions, and math only for a constant
    x = x + math.pi * abs(y) + np.sqrt(y)
    y = y * np.exp(0.1 * np.tanh(x))
    return x, y


def calls_math_too(x, y):                 # math.sin on a runtime value: one point at a time
    x = x + math.sin(y)
    y = y * np.exp(0.1 * x)
    return x, y
