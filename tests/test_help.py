"""-h, -hh, -hhh: socat's exact layout, listing only the rows pysocat has."""
import pytest

from conftest import needs_socat, run_pysocat, run_socat, socat_help

from pysocat.addresses import registry
from pysocat.options import table

LEVELS = {"-h": 0, "-hh": 1, "-hhh": 2}


def _lines(args):
    r = run_pysocat(*args)
    assert r.returncode == 0 and r.stderr == b""
    return r.stdout.decode().splitlines()


def _after_usage(lines):
    return lines[lines.index("   bi-address:"):]


@needs_socat
@pytest.mark.parametrize("flag", list(LEVELS))
def test_usage_block_is_socats(flag):
    ours = _lines([flag])
    theirs = run_socat(flag).stdout.decode().splitlines()
    cut = ours.index("   bi-address:")
    assert ours[1:cut] == [t.replace("socat [options]", "pysocat [options]")
                           for t in theirs[1:theirs.index("   bi-address:")]]


@needs_socat
@pytest.mark.parametrize("flag", list(LEVELS))
def test_every_line_is_socats_line_in_socats_order(flag):
    """Each address/option line pysocat prints is one socat prints, same order.

    Rows of features the reference socat was built without (READLINE) are
    compared with the lines socat prints when built with them (conftest)."""
    ours = _after_usage(_lines([flag]))
    theirs = _after_usage(socat_help(flag))
    pos = {line: i for i, line in enumerate(theirs)}
    missing = [line for line in ours if line not in pos]
    assert not missing, ("lines socat does not print (wrong groups/phase/type, or a "
                         "missing nick= on the option row?):\n" + "\n".join(missing))
    order = [pos[line] for line in ours]
    assert order == sorted(order)


def test_hh_lists_each_option_once_under_its_nickname():
    table.load_all()
    opt_lines = _lines(["-hh"])
    opt_lines = opt_lines[opt_lines.index("   opt:") + 1:]
    names = [line.split("\t")[0].strip() for line in opt_lines]
    assert sorted(names) == sorted(r.nick or r.name for r in table.rows()
                                   if r.nick is None or r.nick in r.names)
    assert "rdonly" in names and "o-rdonly" not in names


def test_hhh_lists_every_name():
    table.load_all()
    registry.load_all()
    lines = _lines(["-hhh"])
    opt_lines = lines[lines.index("   opt:") + 1:]
    assert len(opt_lines) == sum(len(r.names) for r in table.rows())
    assert "      rdonly is an alias for o-rdonly" in opt_lines
    heads = lines[lines.index("   address-head:") + 1:lines.index("   opts:")]
    for row in registry.rows():
        for alias in row.aliases:
            assert f"         {alias} is an alias name for {row.name}" in heads


@needs_socat
def test_every_alias_socat_lists_for_our_rows():
    """socat's -hhh alias lines for the address types we have are all ours too."""
    registry.load_all()
    ours = {row.name for row in registry.rows()}
    theirs = [line for line in run_socat("-hhh").stdout.decode().splitlines()
              if " is an alias name for " in line]
    mine = set(_lines(["-hhh"]))
    missing = [line for line in theirs if line.rsplit(" ", 1)[1] in ours and line not in mine]
    assert missing == []


def test_h_lists_addresses_only():
    lines = _lines(["-h"])
    assert "   opt:" not in lines
    assert "      pipe[,<opts>]\tgroups=FD,FIFO" in lines
    assert not any("is an alias" in line for line in lines)
