"""socat 1.8's -r/-R files: names with variables, opened after the addresses.

1.8 (socat.c _socat(), sysutils.c expandenv() and xio_opensnifffile()) opens
the sniff files when the transfer is about to start, so with ``fork`` each
child opens its own, and expands in their names ``$VAR`` (environment),
``$$`` (the pid), ``$PROGNAME``, ``$TIMESTAMP`` (%Y%m%dT%H%M%S) and
``$MICROS``; both names share one time. 1.7.4.4 opens them, names as given,
while reading the flags (cli._open_sniff).
"""
from __future__ import annotations

import os
import time

from ..errors import SocatError
from ..log import LOG

PATH_MAX = 4096


def expand(src: str, now: list) -> str | None:
    """expandenv(): the name with its variables replaced; None on overflow.

    ``now`` is a one-item list: the time both names share, taken on first use.
    Kept as socat does it: ``\\$`` is a literal ``$``, another backslash pair
    stays, a trailing backslash disappears; ``$`` before a character that
    cannot start a name stays with that character; ``${`` does not start a
    braced name in 1.8.1.3 (it stays, and the next character is dropped);
    unknown variables expand to nothing."""
    out = []
    n = len(src)
    s = 0
    esc = False
    while s < n:
        c = src[s]
        s += 1
        if esc:
            if c != "$":
                out.append("\\")
            out.append(c)
            esc = False
            continue
        if c == "\\":
            esc = True
            continue
        if c != "$":
            out.append(c)
            continue
        if s >= n:
            out.append("$")
            break
        c = src[s]
        if c == "$":
            s += 1
            out.append(str(os.getpid()))
            continue
        if c == "{":
            s += 1
        if not (c.isascii() and c.isalpha()) and c != "_":
            s += 1
            out.append("$" + c)
            continue
        start = s
        while s < n and ((src[s].isascii() and src[s].isalnum()) or src[s] == "_"):
            s += 1
        name = src[start:s]
        if name == "PROGNAME":
            value = LOG.progname
        elif name in ("TIMESTAMP", "MICROS"):
            if not now:
                now.append(time.time_ns())
            if name == "TIMESTAMP":
                value = time.strftime("%Y%m%dT%H%M%S", time.localtime(now[0] // 10**9))
            else:
                value = "%06d" % (now[0] // 1000 % 1000000)
        else:
            value = os.environ.get(name)
        if value is not None:
            out.append(value)
    text = "".join(out)
    if len(text.encode()) + 1 > PATH_MAX:
        return None
    return text


def _error(text: str) -> None:
    """An E: the end of the run, unless -s made errors non-fatal."""
    if LOG.exitlevel <= 4:
        raise SocatError(text)
    LOG.error(text)


def open_file(name: str, c: str, now: list) -> int | None:
    path = expand(name, now)
    if path is None:
        _error(f'expandenv(source="{name}", n={PATH_MAX}): Out of memory')
        _error(f'option -{c} "{name}": {os.strerror(12)}')
        return None
    flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o664)
    except OSError:
        # socat goes on to set FD_CLOEXEC on -1: that error is the one it reports
        LOG.warn("fcntl(-1, F_SETFD, FD_CLOEXEC): Bad file descriptor")
        _error(f'option -{c} "{name}": {os.strerror(9)}')
        return None


def open_sniff_files(cfg) -> None:
    """Open -r then -R (one shared time for both names)."""
    now: list = []
    if cfg.sniff_left_name is not None:
        cfg.sniff_left = open_file(cfg.sniff_left_name, "r", now)
    if cfg.sniff_right_name is not None:
        cfg.sniff_right = open_file(cfg.sniff_right_name, "R", now)
