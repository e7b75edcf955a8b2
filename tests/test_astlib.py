"""The fast statement printer in _astlib agrees with astor (the reference printer).

Random expression trees over every node shape the emitters build; where astor does not
wrap a long line the text must be identical, and it must always parse to the same tree.
"""

import ast
import random

import pytest

from s2s_invad import _astlib as A


def random_expr(rng: random.Random, depth: int):
    if depth <= 0 or rng.random() < 0.2:
        choice = rng.random()
        if choice < 0.4:
            return A.name(rng.choice("xyz"))
        if choice < 0.7:
            return A.const(rng.choice([2, -2, 0.5, -1.5, 3.0, 1e-300, 0.1]))
        return A.call(A.attribute("math", "sin"), [random_expr(rng, depth - 1)])
    choice = rng.random()
    if choice < 0.75:
        return A.binop(rng.choice(list(A.BINOPS)), random_expr(rng, depth - 1), random_expr(rng, depth - 1))
    if choice < 0.9:
        return A.unary(rng.choice(list(A.UNARYOPS)), random_expr(rng, depth - 1))
    return A.call(A.name("f"), [A.tuple_([random_expr(rng, depth - 1)]), random_expr(rng, depth - 1)])


def random_stmt(rng: random.Random):
    e = random_expr(rng, rng.randint(1, 5))
    return rng.choice([
        A.assign("q", e),
        A.accumulate("q", rng.choice(list(A.BINOPS)), e),
        A.return_(A.tuple_([e, A.name("u")])),
        A.return_(A.tuple_([e])),
        A.assign(["a", "b"], A.tuple_([e, A.tuple_([e])])),
        A.if_(A.compare_eq(e, A.const(0.0)), [A.expr_stmt(A.call(A.name("g"), [e]))]),
        A.if_(A.not_(A.call(A.attribute("np", "all"), [e])), [A.assign("q", A.subscript0("t"))]),
    ])


@pytest.mark.parametrize("seed", range(5))
def test_fast_printer_matches_astor(seed):
    rng = random.Random(seed)
    for _ in range(2000):
        node = random_stmt(rng)
        mine, reference = A.to_source(node), A.astor_source(node)
        if reference.count("\n") == mine.count("\n"):          # astor did not wrap a long line
            assert mine == reference
        assert ast.dump(ast.parse(mine)) == ast.dump(ast.parse(reference))


def test_negative_constant_base_of_power_keeps_its_value():
    node = A.binop("pow", A.const(-2.0), A.name("x"))
    text = A.to_source(node)
    assert text == "(-2.0) ** x"
    assert eval(text, {"x": 2.0}) == 4.0


def test_numpy_scalars_print_as_plain_numbers():
    import numpy as np
    assert A.to_source(A.const(np.float64(0.25))) == "0.25"
