"""The fast path of repeated calls: entries keyed by the function, never outliving it, and
never handed to another function that takes its id."""

import gc

import pytest

import s2s_invad as si
from s2s_invad import api


def make(c):
    def f(x, y):
        return c * x * y, x - c * y
    return f


def test_a_collected_function_leaves_no_fast_entry():
    gc.collect()
    before = len(api._fast_tables)
    for i in range(50):
        f = make(1.0 + i)
        assert si.jvp(f, (0.5, 2.0), (1.0, 0.0))[1][0] == pytest.approx((1.0 + i) * 2.0, rel=1e-15)
        assert si.jvp(f, (0.5, 2.0), (1.0, 0.0))[1][0] == pytest.approx((1.0 + i) * 2.0, rel=1e-15)  # fast
        del f
    gc.collect()
    assert len(api._fast_tables) <= before + 1


def test_a_function_taking_a_collected_functions_id_gets_its_own_code():
    seen = {}
    for i in range(200):                 # ids of collected closures are reused by CPython
        f = make(float(i))
        y, y_dot = si.jvp(f, (0.5, 2.0), (0.0, 1.0))
        assert y_dot == pytest.approx((0.5 * i, -float(i)), rel=1e-15)
        y, y_dot = si.jvp(f, (0.5, 2.0), (0.0, 1.0))
        assert y_dot == pytest.approx((0.5 * i, -float(i)), rel=1e-15)
        seen[id(f)] = seen.get(id(f), 0) + 1
        del f
    assert max(seen.values()) > 1        # the case under test happened



def test_a_function_collected_after_the_modules_globals_are_gone_is_forgotten_quietly(monkeypatch):
    """At interpreter exit the weak references' callbacks can run after api's globals are
    set to None (seen at the end of the test suite): the callback has its table bound."""
    f = make(3.0)
    si.jvp(f, (0.5, 2.0), (1.0, 0.0))
    si.jvp(f, (0.5, 2.0), (1.0, 0.0))
    tables = api._fast_tables
    assert id(f) in tables
    monkeypatch.setattr(api, "_fast_tables", None)
    del f
    gc.collect()
    monkeypatch.undo()
    assert all(entry[0]() is not None for entry in tables.values())
