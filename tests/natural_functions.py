"""Functions written the way users write them: loops, vectors, helpers, transform-time
branches, module constants. tests/test_natural.py checks every mode of each against the
oracle (which rebuilds these defs from this file's text). Nothing here imports s2s_invad.
"""

import math

import numpy as np

N = 6
H = 1.0 / (N + 1)
LAM = 1.5
TWO_PI = 2 * math.pi
A, B = 0.7, -0.3
STEPS = 5
DT = 0.1 / STEPS
COEFFS = (0.5, -0.25, 0.125)
NESTED = [[1.0, 0.5], [-0.25, 2.0]]
W = np.array([[2.0, 0.3, 0.0], [0.1, 1.5, -0.2], [0.0, 0.4, 1.8]])
LINKS = (1.0, 0.8, 0.5)


# ---- loops over ranges, with a scalar state -----------------------------------------------

def repeated_steps(x, y):
    for k in range(STEPS):
        x = x + DT * math.sin(y)
        y = y * math.exp(DT * math.tanh(x))
    return x, y


def nested_loops(x, y):
    for i in range(2):
        for j in range(i, 3):
            x = x + 0.1 * (j + 1) * math.sin(y)
        y = y - 0.2 * (i + 1) * math.tanh(x)
    return x, y


def range_with_step(x, y):
    for k in range(10, 0, -3):
        x = x * math.exp(0.01 * k * math.cos(y))
        y = y + 0.02 * k * x
    return x, y


def while_and_break(x, y):
    k = 0
    while k < 10:
        k += 1
        if k % 3 == 0:
            continue
        if k > 7:
            break
        x = x + 0.05 * k * math.sin(y)
        y = y + 0.1 * math.cos(x)
    else:
        x = x * 100.0
    return x, y


def early_return(x, y):
    for k in range(10):
        x = x + 0.1 * math.sin(y)
        if k == 2:
            return x, y * 2.0
        y = y + 0.1 * x
    return x, y


# ---- vectors -------------------------------------------------------------------------------

def bratu(u, lam):
    """The loop form of a 1-D stencil (SPEC section 7)."""
    F = np.zeros(len(u))
    for i in range(len(u)):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < len(u) - 1 else 0.0
        F[i] = (left - 2.0 * u[i] + right) / H ** 2 + lam * np.exp(u[i])
    return F


def gauss_seidel_list(u):
    """Item assignment and augmented item assignment on a list copy, negative indices."""
    v = list(u)
    for i in range(len(v)):
        v[i] += 0.3 * math.sin(v[i - 1])
    v[-1] = v[-1] * 2.0
    return v


def iterate_enumerate_zip(u, c):
    out = []
    for i, x in enumerate(u):
        out.append(x + 0.1 * i * math.tanh(c[i]))
    total = 0.0
    for a, b in zip(u, c):
        total = total + a * b
    out[0] = out[0] + 0.01 * total
    return out


def slices_and_concat(u):
    head, tail = u[:2], u[2:]
    back = u[::-1]
    odd = u[1::2]
    mix = [h * 1.5 for h in head] + [t + 0.1 * back[i] for i, t in enumerate(tail)]
    mix[1] = mix[1] + 0.05 * sum(odd)
    return np.array(mix)


def comprehension_and_repeat(u):
    squares = [x * x for x in u if True]
    base = [0.0] * len(u)
    for i in range(len(u)):
        base[i] = u[i] + 0.1 * squares[(i + 1) % len(u)]
    return base


def unpacking(state):
    q, p = state
    for _ in range(3):
        p = p - 0.1 * math.sin(q)
        q = q + 0.1 * p
    return [q, p]


def starred_unpack(u):
    first, *rest = u
    rest = [r + 0.2 * first for r in rest]
    return (first * 2.0, *rest)


def numpy_forms(u):
    v = 0.5 * u + np.sin(u) / 3.0
    w = np.tanh(v) ** 2 + 1.0
    s = np.sum(u * w) * 0.01
    z = np.concatenate([v[:1] + s, v[1:] * w[1:]])
    return z


def matrix_vector(u):
    y = W @ u + 0.1 * np.tanh(u)
    z = np.dot(W, y) * 0.5
    return z + 0.01 * np.dot(u, u)


def ones_full_and_copy(u):
    acc = np.ones(len(u))
    scale = np.full(len(u), 0.5)
    out = u.copy()
    for i in range(len(u)):
        acc[i] = acc[i] * np.exp(0.1 * u[i])
        out[i] = out[i] * scale[i] + acc[i]
    return out


def constant_containers(x, y):
    for c in COEFFS:
        x = x + c * math.sin(y)
    y = y * (NESTED[0][0] + NESTED[1][1] * 0.1) + NESTED[0][1] * x
    return x + A, y * math.exp(B * x)


def tuple_of_vector_and_scalar(u, s):
    v = [x * math.exp(0.1 * s) for x in u]
    s = s + 0.5 * math.tanh(u[0])
    return np.array(v), s


# ---- helpers -------------------------------------------------------------------------------

def link(angle, length):
    return length * math.cos(angle), length * math.sin(angle)


def arm(q):
    """A 3-link planar arm: end position and orientation, one helper per link."""
    x, y, theta = 0.0, 0.0, 0.0
    for i in range(3):
        theta = theta + q[i]
        dx, dy = link(theta, LINKS[i])
        x, y = x + dx, y + dy
    return x, y, theta


def rhs(z, a=0.5):
    x, y = z
    return np.array([y, -a * math.sin(x) - 0.1 * y])


def rk4_step(z, h):
    k1 = rhs(z)
    k2 = rhs(z + 0.5 * h * k1)
    k3 = rhs(z + 0.5 * h * k2)
    k4 = rhs(z + h * k3, a=0.5)
    return z + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rk4(z):
    for _ in range(4):
        z = rk4_step(z, 0.1)
    return z


def _coupling(x1, x2, scale):
    return x1, x2 * np.exp(scale * np.tanh(x1)) + 0.3 * np.sin(x1)


def flow(x):
    """Affine coupling layers on arrays, the halves swapped between layers."""
    a, b = x[:2], x[2:]
    for layer in range(3):
        a, b = _coupling(a, b, 0.5 + 0.1 * layer)
        a, b = b, a
    return np.concatenate([a, b])


def inplace_helper(v, i):
    v[i] = v[i] * 1.5 + 0.1
    return None


def mutating_helper(u):
    w = list(u)
    for i in range(len(w)):
        inplace_helper(w, i)
    return w


# ---- transform-time branches -----------------------------------------------------------------

def branches(u):
    out = []
    for i in range(len(u)):
        if i == 0:
            out.append(u[i] * 2.0)
        elif i % 2 == 1:
            out.append(u[i] + 0.5 * math.sin(u[i - 1]))
        else:
            out.append(u[i] - 0.25 * u[i - 1] ** 2)
    return out


def periodic_stencil(u):
    n = len(u)
    return [u[i] + 0.1 * (u[(i - 1) % n] - 2.0 * u[i] + u[(i + 1) % n]) + 0.05 * u[i] ** 3
            for i in range(n)]


def single_vector_output(u):
    return [u[0] * u[1] + 3.0, u[1] + 0.1 * u[0]]
