"""back/inline.py: folding single-use temporaries changes no result and no meaning.

Random expression trees are written one operation per statement (as the emitters write
them), folded, and both versions are run: the results must be the same bits, the folded
text must parse to the same tree of operations (so the parentheses Python needs are all
there), and what must not be folded (user names, several reads, impure calls, reads in
loop headers or other blocks, operands rebound in between) stays."""

import ast
import math
import random
import re

import pytest
from hypothesis import given, settings, strategies as st

from s2s_invad.back.inline import fold

OPS = ["+", "-", "*", "/", "**"]


def _program(rng: random.Random, n_leaves: int):
    """(lines, temps, result name, the expression as one string) of a random tree."""
    lines, temps, k = [], set(), 0
    leaves = [rng.choice(["a", "b", "c", repr(round(rng.uniform(0.5, 2.0), 3))]) for _ in range(n_leaves)]
    nodes = [(leaf, leaf) for leaf in leaves]
    while len(nodes) > 1:
        i = rng.randrange(len(nodes) - 1)
        (x, xe), (y, ye) = nodes[i], nodes[i + 1]
        kind = rng.random()
        k += 1
        name = f"t9_{k}"
        if kind < 0.15:
            text, expr = f"math.sin({x})", f"math.sin({xe})"
            nodes[i] = (name, expr)
        elif kind < 0.25:
            text, expr = f"-{x}", f"(-{xe})"
            nodes[i] = (name, expr)
        else:
            op = rng.choice(OPS)
            if op == "**":
                y, ye = "2", "2"
            text, expr = f"{x} {op} {y}", f"({xe} {op} {ye})"
            nodes[i:i + 2] = [(name, expr)]
        lines.append(f"    {name} = {text}")
        temps.add(name)
    last = nodes[0][0]
    lines.append(f"    r = {last}")
    return lines, temps, nodes[0][1]


def _run(lines, a, b, c):
    ns = {"math": math}
    exec("def f(a, b, c):\n" + "\n".join(lines) + "\n    return r\n", ns)
    try:
        return repr(ns["f"](a, b, c))
    except (ArithmeticError, ValueError, OverflowError) as exc:
        return type(exc).__name__


def _shape(text: str):
    """The tree of ``text`` with the fold's one rewrite undone: ``-c * y`` (from ``c * -y``)
    and ``a - c * y`` (from ``a + c * -y``) are the same numbers to the bit."""
    class Signs(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            l, r = node.left, node.right
            if (isinstance(node.op, ast.Mult) and isinstance(l, ast.Constant)
                    and isinstance(r, ast.UnaryOp) and isinstance(r.op, ast.USub)):
                return ast.BinOp(ast.UnaryOp(ast.USub(), l), ast.Mult(), r.operand)
            if (isinstance(node.op, (ast.Add, ast.Sub)) and isinstance(r, ast.BinOp)
                    and isinstance(r.op, ast.Mult) and isinstance(r.left, ast.UnaryOp)
                    and isinstance(r.left.op, ast.USub) and isinstance(r.left.operand, ast.Constant)):
                flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
                return ast.BinOp(l, flipped, ast.BinOp(r.left.operand, ast.Mult(), r.right))
            return node
    return ast.dump(Signs().visit(ast.parse(text, mode="eval").body))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10 ** 9), st.integers(2, 9))
def test_folding_random_trees_gives_the_same_bits_and_the_same_tree(seed, leaves):
    rng = random.Random(seed)
    lines, temps, expr = _program(rng, leaves)
    folded = fold(lines, temps)
    for point in ((0.3, -1.7, 2.5), (1.1, 0.4, -0.9)):
        assert _run(folded, *point) == _run(lines, *point)
    assigned = {}                                       # substitute the remaining temps back
    for line in folded:
        name, _, text = line.strip().partition(" = ")
        for t, e in assigned.items():
            text = ast.unparse(_replace(ast.parse(text, mode="eval"), t, e))
        assigned[name] = text
    assert _shape(assigned["r"]) == _shape(expr)
    assert len(folded) <= len(lines)


def _replace(tree, name, text):
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.parse(text, mode="eval").body if node.id == name else node
    return Sub().visit(tree)


def test_what_is_folded_and_what_stays():
    lines = [
        "    # line 3: y = a * b + math.sin(c)",
        "    t3_1 = a * b",
        "    t3_2 = math.sin(c)",
        "    y = t3_1 + t3_2",
        "    # line 4: z = y * (y - 1)",
        "    t4_1 = y - 1",
        "    z = y * t4_1",
    ]
    assert fold(lines, {"t3_1", "t3_2", "t4_1"}) == [
        "    # line 3: y = a * b + math.sin(c)",
        "    y = a * b + math.sin(c)",
        "    # line 4: z = y * (y - 1)",
        "    z = y * (y - 1)",
    ]
    assert fold(lines, set()) == lines                  # user names stay named


@pytest.mark.parametrize("lines", [
    ["    t1_1 = a * b", "    y = t1_1 + t1_1"],                          # read twice
    ["    t1_1 = _rt.bounded(a)", "    y = t1_1 + 1"],                    # not a pure call
    ["    t1_1 = kept[a]", "    y = t1_1 + 1"],                           # a subscript
    ["    t1_1 = a * b", "    a = 2.0", "    y = t1_1 + 1"],              # operand rebound
    ["    t1_1 = a * b", "    del a", "    y = t1_1 + 1"],                # operand deleted
    ["    t1_1 = a * b", "    while t1_1 > 0:", "        a = a - 1"],     # a loop header
    ["    t1_1 = a * b", "    if a:", "        y = t1_1"],                # another block
    ["    t1_1 = a * b", "    y = f(t1_1,", "        c)"],                # a wrapped statement
    ["    t1_1 = a * b", "    y = g('t1_1', t1_1)"],                      # a reader quoting text
    ["    t1_1 = a * b", "    return y, t1_1"],                           # a result (checked finite)
])
def test_what_must_not_be_folded(lines):
    assert fold(lines, {"t1_1"}) == lines


def test_parentheses_only_where_python_needs_them():
    cases = {
        ("a - b", "c - t"): "c - (a - b)",
        ("a - b", "t - c"): "a - b - c",
        ("a * b", "c / t"): "c / (a * b)",
        ("a / b", "t * c"): "a / b * c",
        ("a + b", "t * c"): "(a + b) * c",
        ("-a", "t ** 2"): "(-a) ** 2",
        ("a * b", "-t"): "-(a * b)",
        ("a + b", "abs(t)"): "abs(a + b)",
        ("a ** 2", "c * t"): "c * a ** 2",
        ("a + b", "0.0 < t < 1.0"): "0.0 < a + b < 1.0",
        ("math.sin(a)", "t * c"): "math.sin(a) * c",
    }
    for (expr, reader), want in cases.items():
        got = fold([f"    t1_1 = {expr}", "    y = " + reader.replace("t", "t1_1", 1)], {"t1_1"})
        assert got == [f"    y = {want}"], (expr, reader)
        assert eval(want, {"a": 0.7, "b": 1.3, "c": 2.9, "math": math}) == eval(
            reader.replace("t", f"({expr})", 1), {"a": 0.7, "b": 1.3, "c": 2.9, "math": math})


def test_a_comment_left_without_code_is_dropped_and_a_repeat_merged():
    lines = [
        "    # line 5: y = a * b",
        "    t5_1 = a * b",
        "    # line 6: z = c + 1",
        "    z = c + 1",
        "    # line 5: y = a * b",
        "    y = t5_1 + 0.0",
    ]
    assert fold(lines, {"t5_1"}) == [
        "    # line 6: z = c + 1",
        "    z = c + 1",
        "    # line 5: y = a * b",
        "    y = a * b + 0.0",
    ]


FUZZ_1603 = '''
import numpy as np


def overflowing_tangent(x0):
    x0 = x0 - 3.1158940010454685 * np.cosh(9.792755646791948 * x0)
    x0 = 0.059021455061053225 * np.sqrt((0.15874583418231797 * x0 + 3.782295771044424e+103)) + 0.1653922743724949
    return x0
'''


@pytest.mark.filterwarnings("ignore::RuntimeWarning")        # NumPy's, as the user's own function gives
def test_a_result_is_never_folded_out_of_the_finiteness_check(tmp_path):
    """Fuzz seed 1603: the tangent of the result is a temporary's tangent read once, by
    the return; folded there, the check that every result is finite lost it and J v came
    back inf without an error."""
    import s2s_invad as si
    from programs import load_source
    f = load_source(FUZZ_1603, "overflowing_tangent", str(tmp_path))
    assert re.search(r"return x0_2, t\d+_4_dot\n", si.source(f, "jvp"))
    with pytest.raises(si.NonFiniteError):
        si.jvp(f, (72.0,), (1.0,))
