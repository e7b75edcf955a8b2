"""Loops the way users write them, for tests/test_loops.py: integrators over time steps,
coupling networks over layers, runtime trip counts, loops in helpers, nested loops.
Nothing here imports s2s_invad; the oracle rebuilds these defs from this file's text.
"""

import math

import numpy as np

N = 12
DT = 0.05
LAYERS = 9


def pendulum(q, p):
    """Leapfrog-like shears: every step has pivot 1."""
    for k in range(N):
        p = p - DT * math.sin(q)
        q = q + DT * p
    return q, p


def integrate(z, steps):
    """A runtime trip count; the loop index enters the body as time."""
    for k in range(steps):
        t = k * DT
        x, y = z
        z = np.array([x + DT * y, y - DT * (math.sin(x) + 0.1 * y * math.cos(t))])
    return z


def rhs(z, a):
    x, y = z
    return np.array([y, -a * math.sin(x) - 0.2 * y])


def rk4(z, steps, a):
    """RK4 with a helper; the passive parameter a is read in every iteration."""
    h = 0.1
    for _ in range(steps):
        k1 = rhs(z, a)
        k2 = rhs(z + 0.5 * h * k1, a)
        k3 = rhs(z + 0.5 * h * k2, a)
        k4 = rhs(z + h * k3, a)
        z = z + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return z


def coupling(x):
    """Additive coupling layers on arrays, halves swapped each layer."""
    a, b = x[:2], x[2:]
    for layer in range(LAYERS):
        b = b + 0.5 * np.tanh(a + 0.1 * layer)
        a, b = b, a
    return np.concatenate([a, b])


def affine(x, c):
    """Affine coupling: log|det J| accumulates over the layers; an active invariant c."""
    a, b = x
    for layer in range(LAYERS):
        b = b * np.exp(0.3 * np.tanh(a) + 0.1 * c) + 0.2 * np.sin(a)
        a = a + 0.4 * np.tanh(b)
    return a, b, c


def heat(u, steps):
    """An outer time loop kept as a loop around an inner loop over grid points (unrolled)."""
    n = len(u)
    for _ in range(steps):
        new = [0.0] * n
        for i in range(n):
            left = u[i - 1] if i > 0 else 0.0
            right = u[i + 1] if i < n - 1 else 0.0
            new[i] = u[i] + 0.1 * (left - 2.0 * u[i] + right) + 0.05 * math.tanh(u[i])
        u = new
    return u


def _advance(z, count):
    for _ in range(count):
        z = z + 0.1 * np.sin(z[::-1])
    return z


def in_helper(z, outer, inner):
    """A loop inside a helper, called from a loop: nested loops, both kept."""
    for _ in range(outer):
        z = _advance(z, inner)
        z = z * 1.01
    return z


def multistep(x, y):
    """Carries the previous state too (two-step recurrence): no invertible iteration map."""
    x_prev, y_prev = x, y
    for k in range(N):
        x_new = x + 0.1 * math.sin(y) + 0.05 * x_prev
        y_new = y + 0.1 * math.cos(x_new) + 0.05 * y_prev
        x_prev, y_prev = x, y
        x, y = x_new, y_new
    return x, y


def long_multistep(x, y):
    x_prev = x
    for k in range(300):
        x_new = x + 0.01 * math.sin(y) + 0.001 * x_prev
        x_prev = x
        x = x_new
        y = y + 0.01 * x
    return x, y


def index_branch(x, y):
    """Branches on the loop index: the loop is unrolled (its iterations differ)."""
    for k in range(10):
        if k % 2 == 0:
            x = x + 0.1 * math.sin(y)
        else:
            y = y + 0.1 * math.cos(x)
    return x, y


def accumulate(z, steps):
    """A sum carried across iterations (jvp and vjp only: it is not square)."""
    total = 0.0
    for k in range(steps):
        z = z * 0.99 + 0.01 * np.sin(z)
        total = total + np.sum(z * z)
    return total


def forced(q, p, steps):
    """A forced oscillator: the time t is carried (not differentiated) and runs back as t -= DT."""
    t = 0.0
    for _ in range(steps):
        p = p - DT * (math.sin(q) + 0.3 * math.cos(t))
        q = q + DT * p
        t = t + DT
    return q, p


def two_phases(x, steps):
    """Two loops with a straight stretch between them: one reversed by inverse steps, one
    (k = 2 lumps) by checkpointing."""
    a, b = x
    for _ in range(steps):
        b = b + 0.2 * math.tanh(a)
        a = a + 0.3 * math.sin(b)
    a, b = a + b * b, b * 1.5
    for _ in range(steps):
        a, b = a + 0.1 * math.sin(a + b), b + 0.1 * math.cos(a - b)
    return a, b


def shared_weights(z, w, steps):
    """Weights w read by every iteration and never changed."""
    for _ in range(steps):
        z = z + 0.1 * np.tanh(w[0] * z[::-1] + w[1] * z + w[2])
    return z


def forced_twice(q, p, w):
    """The same passive value twice per step (cos(w t)) and a loop invariant (sqrt(w))."""
    for k in range(N):
        t = k * DT
        p = p - DT * (math.sin(q) + 0.3 * math.cos(w * t)) * math.sqrt(w)
        q = q + DT * p + 0.01 * math.cos(w * t)
    return q, p
