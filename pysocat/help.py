"""``-V``, ``-h``, ``-hh``, ``-hhh``: generated from the address and option tables.

Only what has a row is listed, so the help never promises an unhonoured option.
No parser is built here: help and version stay fast.
"""
from __future__ import annotations

import os

from . import __version__

RELEASE_DATE = "01 Dec 2026 00:00:00"   # when this pysocat version was cut

# Features pysocat provides outside the address rows (help.py itself)
OWN_FEATURES = {"HELP"}

# The usage text, per help layout (versions.py help_layout). A line that names a
# flag the command line may lack carries the arguments to ask cli.parse_args with:
# it is printed only when the flag is known, so the usage never offers a flag that
# is refused (test.sh decides what to test from these lines).
_USAGE_TOP = """Usage:
{prog} [options] <bi-address> <bi-address>
"""
USAGE = {
    "plain": [(line, None) for line in """\
   options:
      -V     print version and feature information to stdout, and exit
      -h|-?  print a help text describing command line options and addresses
      -hh    like -h, plus a list of all common address option names
      -hhh   like -hh, plus a list of all available address option names
      -d[ddd]         increase verbosity (use up to 4 times; 2 are recommended)
      -D     analyze file descriptors before loop
      -ly[facility]  log to syslog, using facility (default is daemon)
      -lf<logfile>   log to file
      -ls            log to stderr (default if no other log)
      -lm[facility]  mixed log mode (stderr during initialization, then syslog)
      -lp<progname>  set the program name used for logging
      -lu            use microseconds for logging timestamps
      -lh            add hostname to log messages
      -v     verbose text dump of data traffic
      -x     verbose hexadecimal dump of data traffic
      -r <file>      raw dump of data flowing from left to right
      -R <file>      raw dump of data flowing from right to left
      -b<size_t>     set data buffer size (8192)
      -s     sloppy (continue on error)
      -t<timeout>    wait seconds before closing second channel
      -T<timeout>    total inactivity timeout in seconds
      -u     unidirectional mode (left to right)
      -U     unidirectional mode (right to left)
      -g     do not check option groups
      -L <lockfile>  try to obtain lock, or fail
      -W <lockfile>  try to obtain lock, or wait
      -4     prefer IPv4 if version is not explicitly specified
      -6     prefer IPv6 if version is not explicitly specified""".splitlines()],
    "tabbed": [
        ("   options (general command line options):", None),
        ("      -V     print version and feature information to stdout, and exit", None),
        ("      -h|-?  print a help text describing command line options and addresses", None),
        ("      -hh    like -h, plus a list of all common address option names", None),
        ("      -hhh   like -hh, plus a list of all available address option names", None),
        ("      -d[ddd]        increase verbosity (use up to 4 times; 2 are recommended)", None),
        ("      -d0|1|2|3|4    set verbosity level (0: Errors; 4 all including Debug)", ("-d0",)),
        ("      -D     analyze file descriptors before loop", None),
        ("      --experimental enable experimental features", ("--experimental",)),
        ("      --statistics   output transfer statistics on exit", ("--statistics",)),
        ("      -ly[facility]  log to syslog, using facility (default is daemon)", None),
        ("      -lf<logfile>   log to file", None),
        ("      -ls            log to stderr (default if no other log)", None),
        ("      -lm[facility]  mixed log mode (stderr during initialization, then syslog)", None),
        ("      -lp<progname>  set the program name used for logging and vars", None),
        ("      -lu            use microseconds for logging timestamps", None),
        ("      -lh            add hostname to log messages", None),
        ("      -v     verbose text dump of data traffic", None),
        ("      -x     verbose hexadecimal dump of data traffic", None),
        ("      -r <file>      raw dump of data flowing from left to right", None),
        ("      -R <file>      raw dump of data flowing from right to left", None),
        ("      -b<size_t>     set data buffer size (8192)", None),
        ("      -s     sloppy (continue on error)", None),
        ("      -S<sigmask>    log these signals, override default", ("-S", "0")),
        ("      -t<timeout>    wait seconds before closing second channel", None),
        ("      -T<timeout>    total inactivity timeout in seconds", None),
        ("      -u     unidirectional mode (left to right)", None),
        ("      -U     unidirectional mode (right to left)", None),
        ("      -g     do not check option groups", None),
        ("      -L <lockfile>  try to obtain lock, or fail", None),
        ("      -W <lockfile>  try to obtain lock, or wait", None),
        ("      -0     do not prefer an IP version", ("-0",)),
        ("      -4     prefer IPv4 if version is not explicitly specified", None),
        ("      -6     prefer IPv6 if version is not explicitly specified", None),
    ],
}


def cli_knows(flag_args) -> bool:
    """Whether the command line (active profile) accepts ``flag_args``.

    Asks the parser itself, so a flag shows in the usage exactly when it works.
    """
    from .cli import Usage, parse_args
    from .errors import SocatError
    from .log import LOG
    level, exitlevel = LOG.level, LOG.exitlevel
    try:
        parse_args(list(flag_args) + ["-", "-"])
    except SocatError as e:
        return not e.text.startswith("unknown option")
    except Usage:
        return False
    finally:
        LOG.level, LOG.exitlevel = level, exitlevel
    return True


def _profile():
    from .versions import ACTIVE
    return ACTIVE


def group_names() -> tuple:
    """The group names of the active version, in the order of socat's group bits."""
    return _profile().help_group_names


# the same group bit under another name in the other version (GROUP_SOCKS)
_SAME_GROUP = {"SOCKS4": "SOCKS", "SOCKS": "SOCKS4"}


def _all_group_names() -> frozenset:
    """Every group name of any version."""
    from .versions import behaviour
    return frozenset(n for v in behaviour("help_group_names").values.values() for n in v)


def group_list(gs) -> list[str]:
    """Groups as the active version names them, in its bit order.

    A group only another version has (DCCP under 1.7.4.4) is not shown; a
    name no version has comes last, alphabetically (a typo stays visible).
    """
    order = {g: i for i, g in enumerate(group_names())}
    known = _all_group_names()
    out = []
    for g in gs:
        if g not in order and _SAME_GROUP.get(g) in order:
            g = _SAME_GROUP[g]
        if g in order or g not in known:
            out.append(g)
    return sorted(out, key=lambda g: (order.get(g, len(order)), g))


def _groups(gs) -> str:
    if (not gs or set(gs) == {"ADDR"}) and _profile().help_layout == "tabbed":
        return "(all)"             # 1.8: an option of every address (umask, chdir)
    return ",".join(group_list(gs))


def implemented_features() -> set[str]:
    from .addresses import registry
    feats = set(registry.features())   # from the family index: no family imported
    feats |= OWN_FEATURES
    if "STATS" in _profile().version_features and cli_knows(["--statistics"]):
        feats.add("STATS")
    return feats


def banner() -> str:
    """pysocat's own first line: the profile in use and how to select the other.

    The selected socat version is the last x.y.z on the line (scripts pick it).
    """
    others = ", ".join(f"PYSOCAT_COMPAT={v} or --compat={v} selects socat {v}"
                       for v in _other_versions())
    return (f"pysocat {__version__} - a socat compatible relay written in Python "
            f"({others}) - profile: socat {_profile().socat_version}")


def _other_versions():
    from .versions import other_versions
    return other_versions()


def version() -> str:
    u = os.uname()
    P = _profile()
    feats = implemented_features()
    lines = [banner(),
             # scripts (socat's own test.sh) take the last x.y.z of this line
             f"socat version {P.socat_version} on {RELEASE_DATE}",
             f"   running on {u.sysname} version {u.version}, release {u.release}, machine {u.machine}",
             "features:"]
    for f in P.version_features:
        if f == "MSGLEVEL":
            lines.append("  #define WITH_MSGLEVEL 0 /*debug*/")
        elif f == "DEFAULT_IPV":
            lines.append("  #define WITH_DEFAULT_IPV 4")
        else:
            lines.append(f"  #define WITH_{f} 1" if f in feats else f"  #undef WITH_{f}")
    return "\n".join(lines) + "\n"


def __socat__() -> str:
    return _profile().socat_version


def usage(prog: str = "pysocat") -> str:
    lines = [line for line, probe in USAGE[_profile().help_layout]
             if probe is None or cli_knows(probe)]
    return banner() + "\n" + _USAGE_TOP.format(prog=prog) + "\n".join(lines) + "\n"


def shown(row, attr: str):
    """``row.attr`` as the active version's help shows it (a row's help18=)."""
    if _profile().help_rows_18:
        for key, value in getattr(row, "help18", None) or ():
            if key == attr:
                return value
    return getattr(row, attr)


def _tabs(chars: int, width: int) -> str:
    """socat 1.8's padding: (width - chars + 7) / 8 tabs (C division), none if <= 0."""
    n = width - chars + 7
    return "\t" * (n // 8 if n > 0 else 0)


def address_line(row) -> str:
    """``name<syntax>…groups=…`` as socat's -h prints an address row."""
    syntax = shown(row, "syntax")
    groups = _groups(row.groups)
    if _profile().help_layout == "tabbed":
        head = f"      {row.name.upper()}{syntax}"
        return f"{head}{_tabs(len(head), 40)}\tgroups={groups}"
    if _is_pipe(row):
        syntax = ":<filename>"     # 1.7 lists the unnamed pipe as a bi-address
    return f"      {row.name}{syntax}\tgroups={groups}"


def address_alias_line(name: str, row) -> str:
    if _profile().help_layout == "tabbed":
        head = f"      {name.upper()}"
        return f"{head}{_tabs(len(head), 40)}\tis an alias name for {row.name.upper()}"
    return f"         {name} is an alias name for {row.name}"


def option_line(row, name=None) -> str:
    """``name…groups=…phase=…type=…`` as socat's -hh prints an option."""
    name = name or shown(row, "name")
    groups = _groups(shown(row, "groups"))
    phase = shown(row, "phase")
    vtype = type_name(shown(row, "type"))
    if _profile().help_layout == "tabbed":
        head = f"      {name}"
        g = f"groups={groups}"
        # socat pads after the group names it printed: none for "(all)"
        glen = len("groups=") if groups == "(all)" else len(g)
        p = f"phase={phase}"
        return (f"{head}{_tabs(len(head), 16)}\t{g}{_tabs(glen, 24)}"
                f"{p}{_tabs(len(p), 24)}type={vtype}")
    return f"      {name}\tgroups={groups}\tphase={phase}\ttype={vtype}"


def option_alias_line(name: str, canonical: str) -> str:
    if _profile().help_layout == "tabbed":
        head = f"      {name}"
        return f"{head}{_tabs(len(head), 16)}\tis an alias for {canonical}"
    return f"      {name} is an alias for {canonical}"


def _is_pipe(row) -> bool:
    return row.name == "pipe" and row.nparams[0] == 0


def help_text(level: int) -> str:
    """socat's -h (level 0), -hh (1) and -hhh (2), from the rows that exist.

    Like xioopenhelp(): address names in one sorted list (aliases in place at
    level 2); at level 1 an option with a short name (``nick``) is listed
    under it, at level 2 every name is listed and the canonical one carries
    the details.
    """
    from .addresses import registry
    from .options import table
    registry.load_all()
    table.load_all()
    tabbed = _profile().help_layout == "tabbed"
    out = [usage()]
    rows = registry.rows()
    pipe = registry.ADDRESSES.get("pipe")
    if tabbed:
        out.append("   bi-address:  /* is an address that may act both as data sync and source */\n"
                   "      <single-address>\n"
                   "      <single-address>!!<single-address>\n")
    else:
        out.append("   bi-address:\n")
        if pipe is not None and _is_pipe(pipe) and pipe in rows:
            out.append("      pipe[,<opts>]\tgroups=FD,FIFO\n")
            if level >= 2:
                out += [f"      {a} is an alias for pipe\n" for a in sorted(pipe.aliases)]
        out.append("      <single-address>!!<single-address>\n"
                   "      <single-address>\n")
    out.append("   single-address:\n"
               "      <address-head>[,<opts>]\n"
               "   address-head:\n")
    names = sorted(((n.upper() if tabbed else n), n, row) for row in rows for n in row.names)
    for _, name, row in names:
        if name == row.name:
            out.append(address_line(row) + "\n")
        elif level >= 2:
            out.append(address_alias_line(name, row) + "\n")
    if level >= 2:
        if "fd" in registry.ADDRESSES:
            out.append("         <num> is a short form for fd:<num>\n")
        if "gopen" in registry.ADDRESSES:
            out.append("         <filename> is a short form for gopen:<filename>\n")
    if level >= 1:
        out.append("   opts:\n"
                   "      <opt>{,<opts>}:\n"
                   "   opt:\n")
        entries = []
        for row in table.rows():
            nick = shown(row, "nick")
            canonical = shown(row, "name")
            for n in row.names:
                if level >= 2:
                    if n == canonical:
                        entries.append((n, option_line(row) + "\n"))
                    else:
                        entries.append((n, option_alias_line(n, canonical) + "\n"))
                elif n == (nick or canonical):    # nick not a name: not listed
                    entries.append((n, option_line(row, n) + "\n"))
        out += [line for _, line in sorted(entries)]
    return "".join(out)


_TYPE_NAMES = {"INT3": "INT[3]", "UINT": "UNSIGNED-INT", "USHORT": "UNSIGNED-SHORT", "ULONG": "UNSIGNED-LONG",
               "TIMEVAL": "STRUCT-TIMEVAL", "TIMESPEC": "STRUCT-TIMESPEC",
               "LINGER": "STRUCT-LINGER", "STRING_NULL": "STRING-NULL"}


def type_name(t: str) -> str:
    """socat's optiontypenames[] spelling of a value type."""
    if t == "INT_NULL":
        from .versions import ACTIVE
        return "INT/NULL" if ACTIVE.reuseaddr_int_null else "INT"
    return _TYPE_NAMES.get(t, t)


_type = type_name   # older name, used by tests/test_tables.py
