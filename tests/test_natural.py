"""The natural input language (issue 11, SPEC section 7): each construct on its own, every
mode against the oracle run on the user's own function, plus slogdet and batches."""

import numpy as np
import pytest

import s2s_invad as si

import checks
import natural_functions as nf
import oracle

RNG = np.random.default_rng(7)
U6 = tuple(np.round(RNG.uniform(-0.5, 0.5, 6), 3))

# name -> (function, primals, wrt or None, modes)
ALL = checks.MODES + ("slogdet",)
FORWARD = ("jvp", "vjp")
CASES = {
    "repeated_steps": (nf.repeated_steps, (0.3, -0.7), None, ALL),
    "nested_loops": (nf.nested_loops, (0.3, -0.7), None, ALL),
    "range_with_step": (nf.range_with_step, (0.3, 0.9), None, ALL),
    "while_and_break": (nf.while_and_break, (0.3, -0.7), None, ALL),
    "early_return": (nf.early_return, (0.3, -0.7), None, ALL),
    "bratu": (nf.bratu, (np.array(U6), 1.5), ("u",), ALL),
    "bratu_list": (nf.bratu, (list(U6), 1.5), ("u",), ALL),
    "gauss_seidel_list": (nf.gauss_seidel_list, (np.array(U6),), None, ALL),
    "iterate_enumerate_zip": (nf.iterate_enumerate_zip, (np.array(U6[:4]), np.array(U6[2:])), ("u",), ALL),
    "iterate_both": (nf.iterate_enumerate_zip, (np.array(U6[:4]), np.array(U6[2:])), None, FORWARD),
    "slices_and_concat": (nf.slices_and_concat, (np.array(U6[:5]),), None, ALL),
    "comprehension_and_repeat": (nf.comprehension_and_repeat, (np.array(U6[:4]),), None, ALL),
    "unpacking": (nf.unpacking, ([0.4, -0.2],), None, ALL),
    "starred_unpack": (nf.starred_unpack, (np.array(U6[:3]),), None, ALL),
    "numpy_forms": (nf.numpy_forms, (np.array(U6[:4]),), None, ALL),
    "matrix_vector": (nf.matrix_vector, (np.array(U6[:3]),), None, ALL),
    "ones_full_and_copy": (nf.ones_full_and_copy, (np.array(U6[:4]),), None, ALL),
    "constant_containers": (nf.constant_containers, (0.3, 0.6), None, ALL),
    "tuple_of_vector_and_scalar": (nf.tuple_of_vector_and_scalar, (np.array(U6[:3]), 0.4), None, ALL),
    "arm": (nf.arm, (np.array([0.3, -0.4, 0.9]),), None, ALL),
    "rk4": (nf.rk4, (np.array([0.5, -0.2]),), None, ALL),
    "flow": (nf.flow, (np.array(U6[:4]),), None, ALL),
    "mutating_helper": (nf.mutating_helper, (np.array(U6[:3]),), None, ALL),
    "branches": (nf.branches, (np.array(U6[:5]),), None, ALL),
    "periodic_stencil": (nf.periodic_stencil, (np.array(U6),), None, ALL),
    "single_vector_output": (nf.single_vector_output, (np.array([0.7, -0.4]),), None, ALL),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_mode_against_the_oracle(name):
    f, primals, wrt, modes = CASES[name]
    checks.check_structured(si, f, primals, wrt=wrt, modes=modes)


@pytest.mark.parametrize("name", ["repeated_steps", "bratu", "arm", "flow", "gauss_seidel_list"])
def test_memory_recompute_matches(name):
    f, primals, wrt, modes = CASES[name]
    checks.check_structured(si, f, primals, wrt=wrt, modes=("vjp", "ijvp"), memory=("recompute",))


def test_vector_parameter_unpacked_once_and_named_after_the_source():
    text = si.source(nf.bratu, "jvp", wrt=("u",), shapes={"u": 4})
    assert text.count("u_0, u_1, u_2, u_3 = u\n") == 1
    assert "u_0_dot, u_1_dot, u_2_dot, u_3_dot = u_dot" in text
    assert "# line " in text and "(i = 3): F[i] = " in text          # loop indices in comments
    assert "F_3 = " in text and "F_3_dot = " in text                 # F[3] is F_3
    assert "return _rt.vector(F_0, F_1, F_2, F_3), _rt.vector(" in text


def test_helper_lines_and_call_sites_in_comments():
    text = si.source(nf.arm, "ijvp", shapes={"q": 3})
    line = next(i for i, ln in enumerate(open(nf.__file__).read().splitlines(), 1)
                if ln.strip().startswith("return length * math.cos(angle)"))
    assert f"# line {line} (i = 1, in link from line " in text


def test_long_vectors_stay_reviewable():
    text = si.source(nf.bratu, "ijvp", wrt=("u",), shapes={"u": 60})
    assert max(len(ln) for ln in text.splitlines()) <= 300
    compile(text, "<bratu>", "exec")


@pytest.mark.parametrize("mode", ["jvp", "vjp", "ijvp", "ivjp", "slogdet"])
def test_batches_of_vector_points(mode):
    """A vector parameter of shape (n, B) evaluates B points; results are (n, B)."""
    f = nf.bratu
    B = 5
    u = RNG.uniform(-0.5, 0.5, (6, B))
    lam = 1.5
    v = RNG.standard_normal((6, B))
    if mode == "jvp":
        y, got = si.jvp(f, (u, lam), (v,), wrt="u")
    elif mode == "vjp":
        y, pb = si.vjp(f, u, lam, wrt="u")
        (got,) = pb(v)
    elif mode == "ijvp":
        y, (got,) = si.ijvp(f, (u, lam), v, wrt="u")
    elif mode == "ivjp":
        y, push = si.ivjp(f, u, lam, wrt="u")
        got = push((v,))
    else:
        y, (sign, got) = si.slogdet(f, (u, lam), wrt="u")
    assert y.shape == (6, B)
    for b in range(B):
        J = oracle.dense_jacobian(f, (u[:, b], lam), ("u",))
        want = {"jvp": lambda: J @ v[:, b], "vjp": lambda: J.T @ v[:, b],
                "ijvp": lambda: np.linalg.solve(J, v[:, b]), "ivjp": lambda: np.linalg.solve(J.T, v[:, b]),
                "slogdet": lambda: np.linalg.slogdet(J)[1]}[mode]()
        have = got[..., b] if mode != "slogdet" else got[b]
        checks.assert_close(have, np.atleast_1d(want), 1e-9, f"{mode} point {b}")
        checks.assert_close(y[:, b], oracle.evaluate(f, (u[:, b], lam)), 1e-12, "value")


def test_conventions_are_the_same_in_every_mode():
    """Output-side values are shaped like f's result in every mode; input side one per
    differentiated parameter; vectors come back as 1-D arrays."""
    f = nf.single_vector_output
    u = np.array([0.7, -0.4])
    y, y_dot = si.jvp(f, (u,), (np.array([1.0, 0.0]),))
    assert isinstance(y, np.ndarray) and y.shape == (2,) and isinstance(y_dot, np.ndarray)
    y, y_dot2 = si.jvp(f, (u,), np.array([1.0, 0.0]))          # one parameter: bare is fine
    assert np.array_equal(y_dot, y_dot2)
    y, (x_dot,) = si.ijvp(f, (u,), y_dot)                         # y_dot shaped like the result
    checks.assert_close(x_dot, [1.0, 0.0], 1e-12, "ijvp undoes jvp")
    y, pb = si.vjp(f, [0.7, -0.4])                                 # a list is a vector too
    (x_bar,) = pb([1.0, 2.0])
    assert isinstance(x_bar, np.ndarray) and x_bar.shape == (2,)
    with pytest.raises(si.ArgumentError, match="length 3, expected 2"):
        si.jvp(f, (u,), ([1.0, 0.0, 0.0],))
    with pytest.raises(si.ArgumentError, match="vector of length 2"):
        si.jvp(f, (0.5,), (1.0,)) if False else si.ijvp(f, (u,), 1.0)


def test_scalar_results_and_tuples_keep_their_shape():
    f = nf.repeated_steps
    y, (x_dot, y_dot) = si.ijvp(f, (0.3, -0.7), (1.0, 0.0))
    assert isinstance(y, tuple) and all(np.ndim(e) == 0 for e in y)


def test_module_constants_of_every_kind_read_by_the_cli(tmp_path):
    """The CLI reads constants from the text (never running it) like the API reads them."""
    import subprocess
    import sys
    src = tmp_path / "model.py"
    src.write_text(
        "import math\nimport numpy as np\nN = 3\nH = 1 / N\nTWO_PI = 2 * math.pi\nA, B = 1.0, 2.0\n"
        "T = (1.0, 2.0)\nL = [[1.0, 0.5], [0.0, 2.0]]\nW = np.array([[2.0, 0.1], [0.0, 1.0]])\n"
        "def f(u):\n    v = W @ u\n    v[0] = v[0] * A + H * TWO_PI * T[1] + L[0][1] * u[1]\n"
        "    return v * B\n")
    out = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", str(src), "--shape", "u=2", "-o", "-"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    namespace = {}
    exec(compile(out.stdout, "model_derivs", "exec"), namespace)
    u = np.array([0.3, -0.2])
    y, y_dot = namespace["f_jvp"](u, np.array([1.0, 0.0]))
    W = np.array([[2.0, 0.1], [0.0, 1.0]])
    want = W @ u
    want[0] = want[0] * 1.0 + (1 / 3) * 2 * np.pi * 2.0 + 0.5 * u[1]
    checks.assert_close(y, want * 2.0, 1e-14, "value")
    checks.assert_close(y_dot, [4.0, 0.0], 1e-14, "J e_0")


def test_exec_and_source_text():
    """A function defined from source text, and one built with exec from registered text."""
    text = "import math\n\ndef g(x, y):\n    for k in range(3):\n        x = x + 0.1 * math.sin(y)\n    return x, y * 2.0\n"
    g = si.from_source(text, "g")
    checks.check_structured(si, g, (0.3, 0.4))
    import linecache
    namespace = {}
    code = compile(text, "<my generated model>", "exec")
    linecache.cache["<my generated model>"] = (len(text), None, text.splitlines(True), "<my generated model>")
    exec(code, namespace)
    checks.check_structured(si, namespace["g"], (0.3, 0.4))


def test_explain_names_the_iterations():
    report = si.explain(nf.bratu, wrt=("u",), shapes={"u": 3})
    assert "(i = 2)" in report and "F_2" in report


# ---- refusals ---------------------------------------------------------------------------------

U3 = (np.array([0.1, 0.2, 0.3]),)
XY = (0.5, 2.0)
REFUSED = {       # case -> (source, arguments, line of the refusal, words of the message)
    "runtime_condition": ("def f(x, y):\n    if x > 0:\n        x = x * 2.0\n    return x, y\n",
                          XY, 2, "comparison on a runtime value"),
    "runtime_ifexp": ("def f(x, y):\n    z = x if y else 1.0\n    return z, y\n", XY, 2,
                      "conditional expression"),
    "runtime_while": ("def f(x, y):\n    while x:\n        x = x - 1.0\n    return x, y\n", XY, 2,
                      "while loop"),
    "runtime_trip_count": ("def f(x, n):\n    for i in range(n):\n        if i == 0:\n            x = x * 2.0\n"
                           "    return x\n", (0.5, 3), 2, "must stay a loop"),
    "runtime_index": ("def f(u, k):\n    return u[k]\n", U3 + (1,), 2, "index depends on a runtime value"),
    "index_out_of_range": ("def f(u):\n    return u[3] + u[0]\n", U3, 2, "index 3 is out of range"),
    "recursion": ("def g(x):\n    return g(x * 0.5)\n\ndef f(x):\n    return g(x)\n", (0.5,), 2,
                  "recursive call"),
    "break_runtime": ("def f(x, y):\n    for i in range(3):\n        if x > y:\n            break\n"
                      "        x = x * 2.0\n    return x, y\n", XY, 3, "comparison"),
    "nested_recursion": ("def f(x):\n    def g(t):\n        return g(t * 0.5)\n    return g(x)\n", (0.5,), 3,
                         "recursive call of the nested function 'g'"),
    "too_many_to_unpack": ("def f(u):\n    a, b = u\n    return a, b\n", U3, 2, "cannot unpack 3 values"),
    "division_by_zero": ("def f(x):\n    return x / (1 - 1)\n", (0.5,), 2, "division"),
    "float_range": ("def f(x):\n    for i in range(2.0):\n        x = x * 2\n    return x\n", (0.5,), 2,
                    "must be an int"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_the_line(case):
    text, args, line, words = REFUSED[case]
    fn = si.from_source("import math\n" + text, "f")
    tangents = tuple(np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args)
    with pytest.raises(si.UnsupportedSyntaxError) as info:
        si.jvp(fn, args, tangents)
    assert info.value.lineno == line + 1, (info.value.lineno, str(info.value))
    assert words in str(info.value.msg), str(info.value.msg)


def test_refusals_in_the_cli_write_nothing(tmp_path):
    import subprocess
    import sys
    src = tmp_path / "bad.py"
    src.write_text("import numpy as np\n\ndef f(u):\n    if u[0] > 0:\n        u = u * 2\n    return u\n")
    out = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", f"{src}:f", "--shape", "u=2"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "bad.py:4:" in out.stderr and "comparison on a runtime value" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py"]
    out = subprocess.run([sys.executable, "-m", "s2s_invad", "gen", f"{src}:f"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "--shape u=LEN" in out.stderr


def test_an_array_combined_with_an_unbatched_vector_is_a_vector():
    """``0.5 * sum((f(x) - target)**2)`` with x and target 1-D arrays: target is a vector
    (as NumPy runs the user's function), not a batch of 8 scalar targets."""
    src = ("import numpy as np\n"
           "def misfit(x, target):\n"
           "    r = np.tanh(x[::-1]) * x - target\n"
           "    return 0.5 * np.sum(r * r)\n")
    f = si.from_source(src, "misfit", {"np": np})
    x, target = np.linspace(-1, 1, 8), np.cos(np.arange(8.0))
    loss, pullback = si.vjp(f, x, target, wrt="x")
    assert np.ndim(loss) == 0 and abs(loss - f(x, target)) <= 1e-14 * abs(loss)
    (x_bar,) = pullback(1.0)
    J = oracle.dense_jacobian(f, (x, target), ("x",))
    checks.assert_close(x_bar, J[0], 1e-12, "gradient")
    # with the vector parameter batched (shape (n, B)), a 1-D array is a batch as before
    xb = np.stack([x, x[::-1]], axis=1)
    loss_b, _ = si.vjp(f, xb, np.array([0.5, -0.5]), wrt="x")
    assert np.shape(loss_b) == (2,)
    assert abs(loss_b[1] - f(x[::-1], -0.5)) <= 1e-14 * abs(loss_b[1])
