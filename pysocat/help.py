"""``-V``, ``-h``, ``-hh``, ``-hhh``: generated from the address and option tables.

Only what has a row is listed, so the help never promises an unhonoured option.
No parser is built here: help and version stay fast.
"""
from __future__ import annotations

import os

from . import __version__

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

_GROUP_ORDER = ("FD", "FIFO", "CHR", "BLK", "REG", "SOCKET", "NAMED", "OPEN", "EXEC",
                "FORK", "LISTEN", "DEVICE", "CHILD", "RETRY", "TERMIOS", "RANGE",
                "PTY", "PARENT", "UNIX", "IP4", "IP6", "INTERFACE", "UDP", "TCP",
                "SOCKS4", "OPENSSL", "PROCESS", "APPL", "HTTP", "SCTP", "VSOCK", "TUN")


def _groups(gs) -> str:
    order = {g: i for i, g in enumerate(_GROUP_ORDER)}
    return ",".join(sorted(gs, key=lambda g: (order.get(g, 99), g)))


def implemented_features() -> set[str]:
    from .addresses import registry
    registry.load_all()
    feats = {row.feature for row in registry.ROWS}
    feats |= registry.EXTRA_FEATURES
    return feats


def version() -> str:
    u = os.uname()
    feats = implemented_features()
    lines = [f"pysocat {__version__} - a socat {__socat__()} compatible relay written in Python",
             f"socat version {__socat__()} on pysocat {__version__}",
             f"   running on {u.sysname} version {u.version}, release {u.release}, machine {u.machine}",
             "features:"]
    for f in FEATURE_ORDER:
        lines.append(f"  #define WITH_{f} 1" if f in feats else f"  #undef WITH_{f}")
    lines.append("  #define WITH_MSGLEVEL 0 /*debug*/")
    return "\n".join(lines) + "\n"


def __socat__() -> str:
    from .cli import VERSION
    return VERSION


def usage(prog: str = "pysocat") -> str:
    return f"pysocat {__version__} - a socat {__socat__()} compatible relay\n" + USAGE.format(prog=prog)


def help_text(level: int) -> str:
    from .addresses import registry
    from .options import table
    registry.load_all()
    table.load_all()
    out = [usage()]
    out.append("   bi-address:\n"
               "      <single-address>!!<single-address>\n"
               "      <single-address>\n"
               "   single-address:\n"
               "      <address-head>[,<opts>]\n"
               "   address-head:\n")
    for row in sorted(registry.ROWS, key=lambda r: r.name):
        if level >= 2:
            for alias in sorted(row.aliases):
                out.append(f"         {alias} is an alias name for {row.name}\n")
        out.append(f"      {row.name}{row.syntax}\tgroups={_groups(row.groups)}\n")
    if level >= 1:
        out.append("   opt:\n")
        entries = []
        for row in table.ROWS:
            entries.append((row.name, f"      {row.name}\tgroups={_groups(row.groups)}"
                                      f"\tphase={row.phase}\ttype={_type(row.type)}\n"))
            if level >= 2:
                for alias in row.aliases:
                    entries.append((alias, f"      {alias} is an alias for {row.name}\n"))
        for _, line in sorted(entries):
            out.append(line)
    return "".join(out)


_TYPE_NAMES = {"UINT": "UNSIGNED-INT", "USHORT": "UNSIGNED-SHORT", "ULONG": "UNSIGNED-LONG",
               "TIMEVAL": "STRUCT-TIMEVAL", "TIMESPEC": "STRUCT-TIMESPEC"}


def _type(t: str) -> str:
    return _TYPE_NAMES.get(t, t)
