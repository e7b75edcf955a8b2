"""Random programs in the natural input language (issue 11, "Tests"): loops kept as loops
and unrolled, lists, arrays, helpers, transform-time branches, written by
tests/natural_gen.py and checked by tests/natural_run.py against the oracle run on the
user's own function, in every mode, slogdet, memory="recompute", batches and unroll=True.

CI runs a bounded, derandomized hypothesis search over program specs plus the seeds that
found bugs; ``python benchmarks/natural_fuzz.py --programs 2000`` runs many more.
"""

import collections

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import natural_gen
import natural_run

SPECS = st.builds(
    natural_gen.Spec,
    n=st.integers(2, 6),
    blocks=st.lists(st.tuples(st.sampled_from(natural_gen.KINDS), st.integers(0, 2 ** 16)),
                    min_size=1, max_size=6).map(tuple),
    scalar=st.booleans(), passive=st.booleans(), runtime_steps=st.booleans(),
    spelling=st.sampled_from(("np", "mixed")), copy=st.sampled_from(("array", "list", "copy", "none")),
    result=st.sampled_from(("auto", "list", "tuple")), seed=st.integers(0, 2 ** 20))


@settings(max_examples=100, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=SPECS)
def test_random_natural_programs(spec):
    program = natural_gen.generate(spec)
    done = natural_run.check(program)
    for what in sorted(done):
        event(what)


# Seeds of natural_gen.random_spec whose programs found bugs (each is also a unit test
# elsewhere): 26 (a constant k = 4 lump block with batched right-hand sides), 73 (a structured
# lump with A = I in batched slogdet), 139 (slogdet of a batch where det J is constant).
@pytest.mark.parametrize("seed", [26, 73, 139])
def test_programs_that_found_bugs(seed):
    natural_run.check(natural_gen.generate(natural_gen.random_spec(seed)))


def test_the_generator_covers_the_language():
    """Over 200 seeds: every block kind, loops kept as loops (constant and runtime trip
    counts), helpers, both spellings, list and array states, tuple and list results."""
    seen = collections.Counter()
    for seed in range(200):
        program = natural_gen.generate(natural_gen.random_spec(seed))
        text = program.source
        seen.update(kind for kind, _ in program.spec.blocks)
        seen["kept"] += bool(program.kept_loops)
        seen["runtime"] += program.runtime_steps
        seen["helper"] += "\ndef " in text.split(f"def {program.name}")[0]
        seen["keyword call"] += "scale=" in text or ", c=" in text
        seen["math"] += program.math_calls
        for construct in (".append(", "[::-1]", "if i > 0 else", "elif ", "np.sum(", " @ ", "list(", "% len(",
                          "np.array([[", "COEF", "lam"):
            seen[construct] += construct in text
        compile(text, program.name, "exec")
    assert all(seen[kind] >= 10 for kind in natural_gen.KINDS), seen
    assert seen["kept"] >= 80 and seen["runtime"] >= 30 and seen["math"] >= 20, seen
    assert all(seen[c] >= 10 for c in ("helper", "keyword call", ".append(", "[::-1]", "if i > 0 else",
                                       "elif ", "np.sum(", " @ ", "list(", "% len(", "np.array([[",
                                       "COEF", "lam")), seen


def test_the_generator_is_deterministic():
    spec = natural_gen.random_spec(5)
    a, b = natural_gen.generate(spec), natural_gen.generate(spec)
    assert a.source == b.source and repr(a.point) == repr(b.point)
