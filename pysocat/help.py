"""``-V``, ``-h``, ``-hh``, ``-hhh``: generated from the address and option tables.

Only what has a row is listed, so the help never promises an unhonoured option.
No parser is built here: help and version stay fast.
"""
from __future__ import annotations

import os

from . import __version__

RELEASE_DATE = "01 Dec 2026 00:00:00"   # when this pysocat version was cut

# socat's -V feature order; a feature is defined when a table row provides it
FEATURE_ORDER = ("STDIO", "FDNUM", "FILE", "CREAT", "GOPEN", "TERMIOS", "PIPE", "UNIX",
                 "ABSTRACT_UNIXSOCKET", "IP4", "IP6", "RAWIP", "GENERICSOCKET",
                 "INTERFACE", "TCP", "UDP", "SCTP", "LISTEN", "SOCKS4", "SOCKS4A",
                 "VSOCK", "PROXY", "SYSTEM", "EXEC", "READLINE", "TUN", "PTY",
                 "OPENSSL", "FIPS", "LIBWRAP", "SYCLS", "FILAN", "RETRY")

USAGE = """Usage:
{prog} [options] <bi-address> <bi-address>
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
      -6     prefer IPv6 if version is not explicitly specified
"""

# socat's addressgroupnames[]: the order of the group bits (xioopts.h GROUP_*)
GROUP_ORDER = ("FD", "FIFO", "CHR", "BLK", "REG", "SOCKET", "READLINE", "undef",
               "NAMED", "OPEN", "EXEC", "FORK", "LISTEN", "DEVICE", "CHILD", "RETRY",
               "TERMIOS", "RANGE", "PTY", "PARENT", "UNIX", "IP4", "IP6", "INTERFACE",
               "UDP", "TCP", "SOCKS4", "OPENSSL", "PROCESS", "APPL", "HTTP", "SCTP")


def group_list(gs) -> list[str]:
    """Groups in socat's bit order (unknown names last, alphabetically)."""
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    return sorted(gs, key=lambda g: (order.get(g, 99), g))


def _groups(gs) -> str:
    return ",".join(group_list(gs))


def implemented_features() -> set[str]:
    from .addresses import registry
    return set(registry.features())    # from the family index: no family imported


def version() -> str:
    u = os.uname()
    feats = implemented_features()
    lines = [f"pysocat {__version__} - a socat {__socat__()} compatible relay written in Python",
             # scripts (socat's own test.sh) take the last x.y.z of this line
             f"socat version {__socat__()} on {RELEASE_DATE}",
             f"   running on {u.sysname} version {u.version}, release {u.release}, machine {u.machine}",
             "features:"]
    for f in FEATURE_ORDER:
        lines.append(f"  #define WITH_{f} 1" if f in feats else f"  #undef WITH_{f}")
    lines.append("  #define WITH_MSGLEVEL 0 /*debug*/")
    return "\n".join(lines) + "\n"


def __socat__() -> str:
    from .versions import ACTIVE
    return ACTIVE.socat_version


def usage(prog: str = "pysocat") -> str:
    return f"pysocat {__version__} - a socat {__socat__()} compatible relay\n" + USAGE.format(prog=prog)


def address_line(row) -> str:
    """``name<syntax>\tgroups=…`` as socat's -h prints an address row."""
    syntax = row.syntax
    if _is_pipe(row):
        syntax = ":<filename>"     # socat lists the unnamed pipe as a bi-address
    return f"{row.name}{syntax}\tgroups={_groups(row.groups)}"


def option_line(row, name=None) -> str:
    """``name\tgroups=…\tphase=…\ttype=…`` as socat's -hh prints an option."""
    return (f"{name or row.name}\tgroups={_groups(row.groups)}"
            f"\tphase={row.phase}\ttype={type_name(row.type)}")


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
    out = [usage(), "   bi-address:\n"]
    pipe = registry.ADDRESSES.get("pipe")
    if pipe is not None and _is_pipe(pipe):
        out.append("      pipe[,<opts>]\tgroups=FD,FIFO\n")
        if level >= 2:
            out += [f"      {a} is an alias for pipe\n" for a in sorted(pipe.aliases)]
    out.append("      <single-address>!!<single-address>\n"
               "      <single-address>\n"
               "   single-address:\n"
               "      <address-head>[,<opts>]\n"
               "   address-head:\n")
    names = sorted((n, row) for row in registry.rows() for n in row.names)
    for name, row in names:
        if name == row.name:
            out.append(f"      {address_line(row)}\n")
        elif level >= 2:
            out.append(f"         {name} is an alias name for {row.name}\n")
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
            nick = getattr(row, "nick", None)
            for n in row.names:
                if level >= 2:
                    if n == row.name:
                        entries.append((n, f"      {option_line(row)}\n"))
                    else:
                        entries.append((n, f"      {n} is an alias for {row.name}\n"))
                elif n == (nick or row.name):    # nick not a name: not listed
                    entries.append((n, f"      {option_line(row, n)}\n"))
        out += [line for _, line in sorted(entries)]
    return "".join(out)


_TYPE_NAMES = {"UINT": "UNSIGNED-INT", "USHORT": "UNSIGNED-SHORT", "ULONG": "UNSIGNED-LONG",
               "TIMEVAL": "STRUCT-TIMEVAL", "TIMESPEC": "STRUCT-TIMESPEC",
               "LINGER": "STRUCT-LINGER", "STRING_NULL": "STRING-NULL"}


def type_name(t: str) -> str:
    """socat's optiontypenames[] spelling of a value type."""
    return _TYPE_NAMES.get(t, t)


_type = type_name   # older name, used by tests/test_tables.py
