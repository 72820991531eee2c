"""-h, -hh, -hhh: socat's exact layout, listing only the rows pysocat has."""
import pytest

from conftest import (ENV17, ENV18, needs_socat, needs_socat18, run_pysocat, run_pysocat18,
                      run_socat, run_socat18, socat18_help, socat_help)

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


# ---------------------------------------------------------------- socat 1.8.1.3
# Under the default profile -h/-hh/-hhh and -V have socat 1.8.1.3's layout. Each
# line pysocat prints is compared with classic 1.8.1.3's line of the same name;
# the rows 1.8 has and pysocat lacks are computed here (and must be unknown to
# pysocat), never assumed away.

# Lines where pysocat's row still behaves as 1.7.4.4 under the 1.8 profile: the
# help shows what pysocat does, so it differs from 1.8 until the behaviour does.
KNOWN_18 = {}


def _named(lines):
    """{(section, name): line} of the address-head and opt sections."""
    out, section = {}, None
    for line in lines:
        if line == "   address-head:":
            section = "address"
        elif line == "   opt:":
            section = "option"
        elif line == "   opts:":
            section = None
        elif section and not line.strip().startswith("<"):
            head = line.strip().split("\t")[0]
            name = head.split(":")[0].split("[")[0] if section == "address" else head
            out[(section, name)] = line
    return out


def _lines18(args, env=None):
    r = run_pysocat18(*args, env=env)
    assert r.returncode == 0 and r.stderr == b""
    return r.stdout.decode().splitlines()


@needs_socat18
@pytest.mark.parametrize("flag", list(LEVELS))
def test_18_usage_block_is_socats(flag):
    """The usage text is 1.8's, less the lines of flags pysocat refuses (computed)."""
    bi = "   bi-address:  /* is an address that may act both as data sync and source */"
    ours = _lines18([flag])
    ours = ours[1:ours.index(bi)]
    theirs = run_socat18(flag).stdout.decode().splitlines()
    theirs = [t.replace("socat [options]", "pysocat [options]")
              for t in theirs[1:theirs.index(bi)]]
    lacking = []
    for line in theirs:
        if line not in ours:
            flag18 = line.split()[0].split("|")[0].split("<")[0]
            r = run_pysocat18(flag18)
            assert b"unknown option" in r.stderr, f"pysocat accepts {flag18} but does not list it"
            lacking.append(line)
    assert ours == [t for t in theirs if t not in lacking]


@needs_socat18
@pytest.mark.parametrize("flag", list(LEVELS))
def test_18_every_line_is_socats_line_in_socats_order(flag):
    ours = _named(_lines18([flag]))
    theirs = _named(socat18_help(flag))
    extra = [line for key, line in ours.items() if key not in theirs]
    assert not extra, "lines socat 1.8.1.3 has no row for:\n" + "\n".join(extra)
    wrong = [f"{ours[k]!r}\n  1.8: {theirs[k]!r}" for k in ours
             if ours[k] != theirs[k] and k not in KNOWN_18]
    assert not wrong, "lines that differ from socat 1.8.1.3's:\n" + "\n".join(wrong)
    stale = [k for k in KNOWN_18 if k in ours and ours[k] == theirs[k]
             and "is an alias" not in ours[k]]
    assert not stale, f"now as in 1.8: remove {stale} from KNOWN_18"
    order = list(theirs)
    pos = [order.index(k) for k in ours]
    assert pos == sorted(pos)


@needs_socat18
@pytest.mark.parametrize("flag", list(LEVELS))
def test_18_rows_pysocat_lacks_are_unknown_to_it(flag):
    """What 1.8 lists and pysocat does not is a type or option pysocat does not have."""
    registry.load_all()
    table.load_all()
    ours = _named(_lines18([flag]))
    theirs = _named(socat18_help(flag))
    lacking = sorted(k for k in theirs if k not in ours)
    known = [k for k in lacking if (registry.ADDRESSES if k[0] == "address"
                                    else table.OPTIONS).get(k[1].lower())]
    assert not known, f"pysocat has these but does not list them: {known}"


@needs_socat18
def test_18_version_lists_socats_features():
    ours = _lines18(["-V"])
    theirs = run_socat18("-V").stdout.decode().splitlines()
    assert ours[1].startswith("socat version 1.8.1.3 on ")
    assert ours[2:4] == theirs[2:4]
    assert [x.split()[1] for x in ours[4:]] == [x.split()[1] for x in theirs[4:]]
    assert ours[-2:] == theirs[-2:]          # WITH_MSGLEVEL, WITH_DEFAULT_IPV
    registry.load_all()
    provided = {row.feature for row in registry.ROWS} | registry.EXTRA_FEATURES | {"HELP"}
    if b"unknown option" not in run_pysocat18("--statistics").stderr:
        provided.add("STATS")
    if b"unknown option" in run_pysocat18("-T", "0", "-", "STDIO,netns=x").stderr:
        provided.discard("NAMESPACES")      # claimed only while netns= is known
    for o, t in zip(ours[4:-2], theirs[4:-2]):
        feature = o.split()[1][len("WITH_"):]
        if o.startswith("  #define"):
            assert o == f"  #define WITH_{feature} 1"
            assert feature in provided
        else:
            assert o == f"  #undef WITH_{feature}" and feature not in provided


def test_first_line_names_the_profile_and_how_to_select_the_other():
    import re
    for env, this, other in ((ENV18, "1.8.1.3", "1.7.4.4"), (ENV17, "1.7.4.4", "1.8.1.3")):
        for flag in ("-V", "-h"):
            first = run_pysocat(flag, env=env).stdout.decode().splitlines()[0]
            assert re.findall(r"\d+\.\d+\.\d+\.\d+", first)[-1] == this
            assert f"PYSOCAT_COMPAT={other}" in first and f"--compat={other}" in first


@pytest.mark.parametrize("env", [ENV18, ENV17], ids=["1.8.1.3", "1.7.4.4"])
def test_test_sh_finds_addresses_and_options_sorted(env):
    """socat's test.sh consistency checks, as its sed/awk pipelines read -hhh."""
    import re
    out = run_pysocat("-hhh", env=env).stdout.decode().splitlines()
    heads = out[out.index("   address-head:") + 1:out.index("   opts:")]
    names = [re.sub(r"[: ].*", "", line.lstrip()) for line in heads]
    names = [n for n in names if not n.startswith("<")]
    assert len(names) > 50 and names == sorted(names, key=lambda n: n.encode())
    opts = out[next(i for i, line in enumerate(out) if "opt:" in line) + 1:]
    first = [line.split()[0] for line in opts]
    assert len(first) > 300 and first == sorted(first, key=lambda n: n.encode())
    version = run_pysocat("-V", env=env).stdout.decode().splitlines()
    assert re.sub(r".* ([0-9][1-9]*\.[0-9][0-9]*\.[0-9][^\s]*).*", r"\1", version[1]) \
        == env["PYSOCAT_COMPAT"]
    assert "  #define WITH_TCP 1" in version
