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


def drift(z, steps, a):
    """The loop index read as a value, a runtime trip count (a C backend loop with a tape)."""
    for i in range(steps):
        x, y = z
        z = np.array([x + DT * np.sin(y + 0.01 * i), y - DT * a * np.tanh(x)])
    return z


def two_stages(z, n, m):
    """Two loops kept as loops one after the other: two tapes in one room."""
    for _ in range(n):
        x, y = z
        z = np.array([x + DT * np.sin(y), y + DT * np.exp(-x * x)])
    for _ in range(m):
        x, y = z
        z = np.array([x * (1 + DT * y), y - DT * x])
    return z


def nested(z, steps, inner):
    """A loop kept as a loop inside another: the inner tape is one per outer iteration."""
    for _ in range(steps):
        for _ in range(inner):
            x, y = z
            z = np.array([x + DT * np.cos(y), y + DT * math.atan(x)])
    return z


def cubes(x, steps):
    """x -> x**3 repeated: the pivot 3 x**2 of each step is 0 at x = 0."""
    for _ in range(steps):
        x = x * x * x + 0.0 * x
    return x
