"""Shared pytest configuration: import paths, the golden-file flag, a program directory."""

import pathlib
import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # oracle, programs, checks, example_functions
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the package, unless an installed one comes first


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
