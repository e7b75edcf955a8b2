"""Small functions for tests/test_numba.py: each compiles in about a second per mode.
Nothing here imports s2s_invad; the oracle rebuilds these defs from this file's text."""

import math

import numpy as np

DT = 0.1


def equasive(x, y):
    """The README's ten lines: two k = 1 lumps."""
    x = x + math.sin(y)
    y = y * math.exp(x)
    return x, y


def rotate(z, steps, a):
    """A loop kept as a loop over a vector, with a runtime trip count and a passive a."""
    for _ in range(steps):
        x, y = z
        z = np.array([x + DT * np.sin(y), y - DT * a * np.tanh(x)])
    return z


def dense4(u):
    """One lump with k = 4 whose block is dense: solved by LAPACK."""
    a, b, c, d = u
    a, b, c, d = (a + 0.3 * math.sin(b + c + d), b + 0.2 * math.cos(a + c + d),
                  c + 0.1 * math.tanh(a + b + d), d + 0.4 * math.sin(a + b + c))
    return [a, b, c, d]


def square(x, y):
    """d x_1 / d x = 2 x: a zero pivot at x = 0."""
    x = x * x
    y = y + x
    return x, y


def cross(x, y):
    """A k = 2 lump with det A = y - x: singular where x = y."""
    x, y = x * y, x + y
    return x, y


def masked(x):
    """exp overflows at x > 709; the result 1 / inf = 0 would hide it."""
    y = 1.0 / math.exp(x)
    return y


def root(x):
    """d sqrt(x) = 0.5 / sqrt(x): infinite at 0, in jvp and in vjp's sweep."""
    return math.sqrt(x)


def squares(x, y):
    """NumPy: runs on batches; a zero pivot where an element of x is 0."""
    x = x * x
    y = y + np.sin(x)
    return x, y


def chain(x, y):
    """memory="recompute" rebuilds x and y backwards through tanh's inverse, keeping the
    values it cannot rebuild exactly in dicts: numba does not take those."""
    x = x + 0.5 * math.tanh(y)
    y = y + 0.5 * math.tanh(x)
    x = x + 0.5 * math.tanh(y)
    y = y + 0.5 * math.tanh(x)
    return x, y
