"""Address types new in socat 1.8 (rows with since="1.8") are unknown under 1.7.4.4."""
import pytest

from pysocat import versions
from pysocat.addresses import registry
from pysocat.errors import SocatError
from pysocat.parse import parse


@pytest.fixture
def new_row():
    registry.load_all()
    row = registry.address("sincetest", "", "FD", lambda *a: None, "SINCETEST",
                           "test-only row new in 1.8", aliases=("sincetest2",),
                           since="1.8")
    saved = versions.ACTIVE
    try:
        yield row
    finally:
        versions.ACTIVE = saved
        for n in row.names:
            registry.ADDRESSES.pop(n, None)
        registry.ROWS.remove(row)


def _lookup(text):
    return registry.lookup(parse(text))


def test_new_type_known_in_18(new_row):
    versions.ACTIVE = versions.Profile("1.8.1.3")
    assert _lookup("SINCETEST")[0] is new_row
    assert _lookup("sincetest2")[0] is new_row
    assert new_row in registry.rows()


def test_new_type_unknown_in_17(new_row):
    versions.ACTIVE = versions.Profile("1.7.4.4")
    with pytest.raises(SocatError) as e:
        _lookup("SINCETEST")
    assert str(e.value) == 'unknown device/address "SINCETEST"'
    assert new_row not in registry.rows()


def test_since_must_name_a_behaviour():
    with pytest.raises(AssertionError):
        registry.address("sincebad", "", "FD", None, "X", since="1.9")
    assert "sincebad" not in registry.ADDRESSES


def test_since_maps_to_a_versions_row():
    for since, name in registry.SINCE.items():
        b = versions.behaviour(name)
        assert b.values["1.8.1.3"] and not b.values["1.7.4.4"]
