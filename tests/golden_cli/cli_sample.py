"""Source of the CLI's golden files: s2s-invad reads it as text and never imports it.

Edits here change tests/golden_cli/*; regenerate them with pytest --regen-golden
(or S2S_INVAD_REGEN=1).
"""

import math

GAIN = 0.5


def ex2(r0, r1, r2):
    """SPEC example 2: one equasive step, a k = 2 lump, one equasive step."""
    r0 = r0 * r1
    t = r0 * r2
    r0 = r1 + t
    r1 = r1 - math.sin(t)
    r2 = r2 * math.exp(r1)
    return r0, r1, r2


def polar(r, theta):
    """Widens to 3 before narrowing back to 2 (det J = GAIN * r)."""
    x = r * math.cos(theta)
    y = GAIN * r * math.sin(theta)
    return x, y


def norm2(x, y):
    """R^2 -> R: jvp and vjp only."""
    return x * x + y * y


def looped(x):
    """Outside the supported subset: gen skips it with a note."""
    while x > 1.0:
        x = math.sin(x)
    return x
