"""Fixtures for the differential tests: real socat vs pysocat (issue 5).

Not a conftest.py: tests/conftest.py is imported by name ("from conftest import"),
and a second conftest module would shadow it.  Test modules import these fixtures.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from differential import classic_binary, pysocat_binary  # noqa: E402


@pytest.fixture(scope="session")
def classic():
    binary, why = classic_binary()
    if binary is None:
        pytest.skip(why)
    return binary


@pytest.fixture(scope="session")
def pysocat():
    binary, why = pysocat_binary()
    if binary is None:
        pytest.skip(why)
    return binary
