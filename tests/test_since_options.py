"""Options new in socat 1.8 (rows with since="1.8") are unknown under 1.7.4.4."""
import pytest

from pysocat import versions
from pysocat.errors import OptionError
from pysocat.options import table
from pysocat.parse import parse


def _parse(text, groups):
    return table.Options.parse(parse(text).options, frozenset(groups))


def test_new_option_known_in_18_unknown_in_17():
    table.load_all()
    saved = versions.ACTIVE
    try:
        versions.ACTIVE = versions.Profile("1.8.1.3")
        opts = _parse("X,udplite-send-cscov=8", {"UDPLITE"})
        assert opts.items[0].value == 8
        assert table.OPTIONS["udplite-send-cscov"] in table.rows()
        versions.ACTIVE = versions.Profile("1.7.4.4")
        with pytest.raises(OptionError) as e:
            _parse("X,udplite-send-cscov=8", {"UDPLITE"})
        assert str(e.value.text) == 'parseopts_table(): unknown option "udplite-send-cscov"'
        assert table.OPTIONS["udplite-send-cscov"] not in table.rows()
    finally:
        versions.ACTIVE = saved


def test_since_must_name_a_behaviour():
    with pytest.raises(AssertionError):
        table.opt("since-bad", "INT", "FD", "FD", since="1.9")
    assert "since-bad" not in table.OPTIONS


def test_since_maps_to_a_versions_row():
    for since, name in table.SINCE.items():
        b = versions.behaviour(name)
        assert b.values["1.8.1.3"] and not b.values["1.7.4.4"]
