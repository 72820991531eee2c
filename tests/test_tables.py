"""The tables agree with socat 1.7.4.4: names, aliases, groups, phases, types."""

import pytest

from conftest import needs_socat, socat_help
from pysocat.addresses import registry
from pysocat.help import _type, group_list
from pysocat.options import table


def _socat_options():
    # with the rows of features this socat was built without (conftest.UNBUILT_HELP)
    rows, aliases, in_opts = {}, {}, False
    for line in socat_help("-hhh"):
        if line.startswith("   opt:"):
            in_opts = True
            continue
        s = line.strip()
        if not in_opts or not s:
            continue
        if " is an alias for " in s:
            a, b = s.split(" is an alias for ")
            aliases[a] = b
        else:
            name, groups, phase, vtype = s.split("\t")
            rows[name] = (frozenset(groups[7:].split(",")), phase[6:], vtype[5:])
    return rows, aliases


@needs_socat
def test_every_option_row_is_named_like_socat():
    rows, aliases = _socat_options()
    for row in table.rows():     # the 1.7.4.4 profile's rows
        assert row.name in rows, f"{row.name} is not a canonical socat option name"
        for a in row.aliases:
            assert aliases.get(a) == row.name, f"{a} is not socat's alias of {row.name}"
        groups, phase, vtype = rows[row.name]
        assert frozenset(group_list(row.groups)) == groups, row.name   # 1.7.4.4's groups
        assert row.phase == phase, row.name
        assert _type(row.type) == vtype, row.name


@needs_socat
def test_every_alias_socat_lists_for_our_option_rows():
    """socat accepts each alias it lists (o-creat, o_rdwr, ndelay, …); so do we."""
    rows, aliases = _socat_options()
    table.load_all()
    ours = {row.name: set(row.aliases) for row in table.rows()}
    missing = sorted(f"{a} -> {b}" for a, b in aliases.items()
                     if b in ours and a not in ours[b])
    assert missing == []


def test_option_and_address_names_are_unique_and_lower_case():
    table.load_all()
    registry.load_all()
    for name in list(table.OPTIONS) + list(registry.ADDRESSES):
        assert name == name.lower()
