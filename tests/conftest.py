"""Shared pytest configuration: import paths, the golden-file flag, a program directory."""

import atexit
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # oracle, programs, checks, example_functions
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the package, unless an installed one comes first

# The suite (and every process it starts) caches generated modules in a folder of its own,
# never in the user's ~/.cache/s2s_invad; tests of the cache itself set their own folders.
_CACHE = tempfile.mkdtemp(prefix="s2s_invad-test-cache-")
os.environ["S2S_INVAD_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.py from the current generator instead of comparing",
    )


@pytest.fixture(scope="session")
def regen_golden(request):
    return request.config.getoption("--regen-golden")


@pytest.fixture(scope="session")
def program_dir(tmp_path_factory):
    """One directory per session for the random programs' module files."""
    return tmp_path_factory.mktemp("programs")
