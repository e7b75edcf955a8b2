"""Functions s2s_invad must refuse, for tests/test_errors.py.

Each offending line carries a marker comment `# ERR: <case>`; the tests find the
expected absolute line numbers by searching this file's text for the markers, so lines
can move freely. Each marked line holds exactly one unsupported construct.
Nothing here imports s2s_invad.
"""

import math

import numpy as np

GLOBAL_LIST = [1.0, 2.0]
GLOBAL_TEXT = "not a number"


def helper(t):
    return 2.0 * t


# ---- UnsupportedSyntaxError ---------------------------------------------------------

def uses_for(x, y):
    for t in range(y):  # ERR: for
        x = x + t * x if t > 2 else x
    return x, y


def uses_while(x, y):
    while x:  # ERR: while
        x = x - 1.0
    return x, y


def uses_if(x, y):
    y = y + 1.0
    if y:  # ERR: if
        x = x * 2.0
    return x, y


def uses_ternary(x, y):
    x = x + 1.0
    z = x if y else y  # ERR: ifexp
    return z, y


def uses_comprehension(x, y):
    s = [t for t in (x, y) if t]  # ERR: comprehension
    return s, y


def uses_subscript(x, y):
    z = (x, y)[x]  # ERR: subscript
    return z, y


def uses_method(x, y):
    z = x.hex()  # ERR: method
    return z, y


def uses_unknown_math(x, y):
    z = math.gamma(x)  # ERR: unknown_math
    return z, y


def uses_unknown_numpy(x, y):
    z = np.floor(x)  # ERR: unknown_numpy
    return z, y


def uses_unknown_function(x, y):
    z = hash(x)  # ERR: unknown_function
    return z, y


def uses_a_vector(u, y):
    z = u[0] * y  # ERR: vector
    return z, y


def uses_lambda(x, y):
    g = lambda *t: t[0] * t[0]  # ERR: lambda  # noqa: E731
    return x, y


def uses_keyword(x, y):
    z = math.exp(x=x)  # ERR: keyword
    return z, y


def uses_global_list(x, y):
    z = x * 2.0
    z = z + GLOBAL_LIST  # ERR: global_list
    return z, y


def uses_global_text(x, y):
    z = x * GLOBAL_TEXT  # ERR: global_text
    return z, y


def uses_undefined(x, y):
    z = x * UNDEFINED_NAME  # ERR: undefined  # noqa: F821
    return z, y


def uses_floordiv(x, y):
    z = x // y  # ERR: floordiv
    return z, y


def uses_mod(x, y):
    z = x % y  # ERR: mod
    return z, y


def uses_compare(x, y):
    z = x == y  # ERR: compare (x < y is a runtime condition now; == stays refused)
    return z, y


def uses_default(x, y=1.0):  # ERR: default
    return x, y


def uses_star_args(x, *rest):  # ERR: star_args
    return x, x


def uses_kwargs(x, **options):  # ERR: kwargs
    return x, x


def late_error(x, y):
    """A docstring, some fine statements, then one bad line far from the def."""
    x = x + math.sin(y)
    y = y * math.exp(x)
    x, y = y, x + y
    x += 1.0

    y = y % 2.0  # ERR: late
    return x, y


square_lambda = lambda x: x * x  # noqa: E731


# ---- NotInvertibleError (transform time, inverse modes only) ------------------------

def contractive(x, y):
    z = x * y  # ERR: contractive
    return z, z + 1.0


def two_to_one(x, y):
    x = x * y
    return x


def ignores_input(a, ignored_b):
    c = a * 3.0
    d = math.sin(a) + 2.0 * a
    return c, d


# ---- SingularJacobianError (run time) ------------------------------------------------

def zero_pivot(x, y):
    x = x * y  # ERR: zero_pivot
    return x, y


def cube_pivot(x, y):
    y = y + math.sin(x)
    x = x ** 3  # ERR: cube_pivot
    return x, y


def singular_lump(a, b, c):
    t = a * c  # ERR: lump_first
    a = b + t
    b = b - math.sin(t)  # ERR: lump_last
    return a, b, c
