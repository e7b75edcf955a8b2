"""User names never break the generated code (issue 10, item 4).

Two template functions are written with names drawn from every identifier the generated
code uses (import aliases, helper functions, tape and dict names, registers, derived names)
and from the builtins, as parameters, locals and module constants. Every mode, with
memory="store" and "recompute", and the command line's module holding both functions, must
compute the same numbers as the templates with plain names.
"""

import ast
import builtins
import hashlib
import keyword
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import s2s_invad as si
from s2s_invad import cli
from s2s_invad.back.compile import load_module
from s2s_invad.back.render import render_module
from s2s_invad.pipeline import analyse

import programs

# f calls math and abs, so those two stay the module and the builtin in it; g calls nothing,
# so any name goes (a parameter `math`, a local `abs`), and its derivatives need math.log.
TEMPLATE_F = """\
def f(P0, P1, P2):
    L0 = P0 + math.sin(P1) * C0
    P1 = P1 * math.exp(C1 * math.tanh(L0))
    L1 = L0 * P2
    L0 = L0 + L1
    P2 = P2 - math.sin(L1) * 0.5
    L2 = P2 + abs(L0) ** 1.5 / (1.0 + P1 * P1)
    return L0, P1, L2
"""
TEMPLATE_G = """\
def g(P0, P1):
    L0 = P0 + P1 * P1 * C0
    P1 = P1 * C1 ** L0
    L1 = P1 ** 2.5 + L0
    return L1, L0 + P1 / 2.0
"""
SLOTS_F = ("P0", "P1", "P2", "L0", "L1", "L2", "C0", "C1")
SLOTS_G = ("P0", "P1", "L0", "L1", "C0", "C1")
PLAIN_F = ("a", "b", "c", "u", "v", "w", "k0", "k1")
PLAIN_G = ("a", "b", "u", "v", "q0", "q1")
CONSTANTS = (0.75, 1.25)
POINT = {"f": (0.4, 0.9, -0.3), "g": (0.4, 0.9)}
MODES = ("jvp", "vjp", "ijvp", "ivjp", "slogdet")


def fill(template: str, slots, names) -> str:
    table = dict(zip(slots, names))
    return re.sub(r"\b(?:P|L|C)\d\b", lambda m: table[m.group(0)], template)


def module_source(templates) -> str:
    """``import math``, the module constants, then the functions: [(template, slots, names)]."""
    lines = ["import math", ""]
    for _, slots, names in templates:
        lines += [f"{name} = {value!r}" for name, value in zip(names[-2:], CONSTANTS)]
    for template, slots, names in templates:
        lines += ["", "", fill(template, slots, names)]
    return "\n".join(lines)


def _identifiers(text: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name)
    return found


def _generated_names() -> list[str]:
    """Every identifier of the generated code of both templates, in every mode."""
    text = module_source([(TEMPLATE_F, SLOTS_F, PLAIN_F), (TEMPLATE_G, SLOTS_G, PLAIN_G)])
    analyses = [analyse(sf) for sf in cli.load_functions("templates.py", text)]
    found = set()
    for memory, modes in (("store", MODES + ("drift",)), ("recompute", ("vjp", "ijvp"))):
        found |= _identifiers(render_module([(a, modes) for a in analyses], memory))
    found |= {"_partial", "_rt", "_tape", "_forward", "_rebuilt", "math", "np", "numpy", "abs",
              "partial", "functools", "runtime", "builtins", "s2s_invad"}
    return sorted(found - set(PLAIN_F) - set(PLAIN_G) - {"f", "g"})


GENERATED = _generated_names()
BUILTINS = sorted(n for n in dir(builtins) if n.isidentifier() and not keyword.iskeyword(n)
                  and not n.startswith("__"))
NAME = st.one_of(st.sampled_from(GENERATED), st.sampled_from(BUILTINS))


def names_for(slots, exclude):
    return st.lists(NAME.filter(lambda n: n not in exclude), min_size=len(slots), max_size=len(slots),
                    unique=True)


# -- running every mode --------------------------------------------------------------------

def api_results(fn, x) -> list[float]:
    """Every mode through the API, flattened."""
    n = len(x)
    v = tuple(0.5 + 0.25 * i for i in range(n))
    out = []
    out += si.jvp(fn, x, v)
    y, pullback = si.vjp(fn, *x)
    out += [y, pullback(v)]
    out += si.ijvp(fn, x, v)
    y, sweep = si.ivjp(fn, *x)
    out += [y, sweep(v)]
    out += si.slogdet(fn, x)
    y, pullback = si.vjp(fn, *x, memory="recompute")
    out += [y, pullback(v)]
    out += si.ijvp(fn, x, v, memory="recompute")
    out += [si.drift(fn, x).max]
    return np.hstack([np.ravel(np.asarray(o, dtype=float)) for o in out]).tolist()


def module_results(namespace, name, x) -> list[float]:
    """Every generated function of ``name`` in a loaded module, called directly, flattened."""
    v = tuple(0.5 + 0.25 * i for i in range(len(x)))
    out = list(namespace[f"{name}_jvp"](*x, *v)) + list(namespace[f"{name}_ijvp"](*x, *v))
    for mode in ("vjp", "ivjp"):
        y, back = namespace[f"{name}_{mode}"](*x)
        out += [y, back(*v)]
    if f"{name}_slogdet" in namespace:
        out += namespace[f"{name}_slogdet"](*x)
    return np.hstack([np.ravel(np.asarray(o, dtype=float)) for o in out]).tolist()


def load(program_dir, text: str, name: str):
    modname = "s2s_names_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return programs.load_source(text, name, program_dir, modname)


def cli_module(text: str, memory: str) -> dict:
    """The module ``s2s-invad gen`` makes of ``text`` (all five modes), loaded."""
    functions = cli.load_functions("names_model.py", text)
    items = cli.plan("names_model.py", functions, None, cli.parse_modes(",".join(MODES)))
    generated = render_module(items, memory)
    return load_module(generated, f"<names {hashlib.sha256(generated.encode()).hexdigest()[:12]}>")


_PLAIN = {}


def plain(key, compute):
    if key not in _PLAIN:
        _PLAIN[key] = compute()
    return _PLAIN[key]


def assert_same(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=what)


# -- the property ----------------------------------------------------------------------------

ISSUE_F = ["_partial", "_rt", "_tape", "_forward", "f_vjp_bwd", "f_ivjp_sweep", "f_jvp", "_rebuilt"]
ISSUE_G = ["math", "abs", "_rt", "np", "_partial", "g_vjp"]
HINT_G = ["t1", "out1_1", "t2", "out", "out1", "g_vjp"]     # a constant named like g's output hint


@settings(max_examples=25, deadline=None, derandomize=True)
@example(names_f=ISSUE_F, names_g=ISSUE_G)
@example(names_f=ISSUE_F, names_g=HINT_G)
@example(names_f=["f_ivjp_sweep", "f_vjp_bwd", "t1", "x_dot", "det", "sign", "f_drift", "_rt"],
         names_g=["abs", "math", "g_ivjp_sweep", "g_vjp_bwd", "g_jvp", "_tape"])
@given(names_f=names_for(SLOTS_F, {"math", "abs", "f"}), names_g=names_for(SLOTS_G, {"g"}))
def test_api_modes_do_not_depend_on_user_names(program_dir, names_f, names_g):
    for template, slots, names, plain_names, fname in ((TEMPLATE_F, SLOTS_F, names_f, PLAIN_F, "f"),
                                                      (TEMPLATE_G, SLOTS_G, names_g, PLAIN_G, "g")):
        def results(names):
            return api_results(load(program_dir, module_source([(template, slots, names)]), fname),
                               POINT[fname])
        want = plain(fname, lambda: results(plain_names))
        assert_same(results(names), want, f"{fname} with names {names}")


@settings(max_examples=15, deadline=None, derandomize=True)
@example(names_f=ISSUE_F, names_g=["math", "abs", "_tape", "f_jvp_1", "_partial", "g_jvp"])
@example(names_f=ISSUE_F[::-1], names_g=HINT_G)
@given(names_f=names_for(SLOTS_F, {"math", "abs", "f", "g"}),
       names_g=names_for(SLOTS_G, {"f", "g"}))
def test_cli_module_of_two_functions_does_not_depend_on_user_names(names_f, names_g):
    if set(names_f[-2:]) & set(names_g[-2:]) or "math" in names_g[-2:]:
        names_g = names_g[:-2] + ["q0_", "q1_"]          # one module: constants and math stay apart
    templates = [(TEMPLATE_F, SLOTS_F, names_f), (TEMPLATE_G, SLOTS_G, names_g)]
    plain_templates = [(TEMPLATE_F, SLOTS_F, PLAIN_F), (TEMPLATE_G, SLOTS_G, PLAIN_G)]
    for memory in ("store", "recompute"):
        got = cli_module(module_source(templates), memory)
        want = plain(("cli", memory), lambda: cli_module(module_source(plain_templates), memory))
        for fname in ("f", "g"):
            assert_same(module_results(got, fname, POINT[fname]),
                        plain(("cli", memory, fname), lambda: module_results(want, fname, POINT[fname])),
                        f"{fname} in the CLI module ({memory}) with names {names_f} / {names_g}")


# -- the documented choices ------------------------------------------------------------------------

def test_a_module_constant_named_like_a_public_function_is_copied_under_another_name(program_dir):
    text = module_source([(TEMPLATE_F, SLOTS_F, PLAIN_F[:6] + ("f_jvp", "_rt"))])
    generated = render_module([(analyse(sf), ("jvp", "ijvp")) for sf in cli.load_functions("m.py", text)])
    assert "f_jvp_1 = 0.75  # module constant f_jvp of the source" in generated
    assert "_rt = 1.25  # module constant of the source" in generated       # the user's _rt stays
    assert "from s2s_invad import runtime as _rt_1" in generated            # ours moves
    assert re.search(r"^def f_jvp\(", generated, re.M)                     # the public name is kept
    namespace = load_module(generated, "<constant named f_jvp>")
    plain_f = load(program_dir, module_source([(TEMPLATE_F, SLOTS_F, PLAIN_F)]), "f")
    assert_same(np.hstack(namespace["f_jvp"](*POINT["f"], 1.0, 0.0, 0.0)),
                np.hstack(si.jvp(plain_f, POINT["f"], (1.0, 0.0, 0.0))), "f_jvp")


def test_plain_names_are_kept_when_nothing_clashes():
    text = module_source([(TEMPLATE_G, SLOTS_G, PLAIN_G)])
    generated = render_module([(analyse(sf), ("vjp", "slogdet"))
                               for sf in cli.load_functions("m.py", text)])
    for line in ("from functools import partial as _partial", "import math",
                 "def g_vjp_bwd(_tape, v_bar, out_1_bar):", "return (v, out_1), _partial(g_vjp_bwd, "):
        assert line in generated
    assert "abs(" in generated and "builtins" not in generated
