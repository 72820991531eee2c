"""``-D``: describe the relay's file descriptors before the loop (socat's filan_fd).

The columns and their formats follow socat's filan.c; family-specific detail
lines (socket options, termios) that filan appends are not reproduced.
"""
from __future__ import annotations

import fcntl
import os
import select
import stat
import sys
import time

_TYPES = ((stat.S_ISFIFO, "pipe"), (stat.S_ISCHR, "chrdev"), (stat.S_ISDIR, "dir"),
          (stat.S_ISBLK, "blkdev"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
          (stat.S_ISSOCK, "socket"))
_HEADER = ("  FD  type\tdevice\tinode\tmode\tlinks\tuid\tgid\trdev\tsize\tblksize\tblocks"
           "\tatime\t\t\t\tmtime\t\t\t\tctime\t\t\t\tcloexec\tflags\tsigown\tsigio\n")
_header_done = False
F_GETSIG = 11


def _type(mode: int) -> str:
    for test, name in _TYPES:
        if test(mode):
            return name
    return "undef"


def _devpair(dev: int) -> str:
    return f"{(dev >> 8) & 0xFFFF},{dev & 0xFF}"


def describe(fd: int, out=None) -> None:
    """Print one fd's line (and the header once per process) like filan_fd."""
    global _header_done
    out = out or sys.stderr
    try:
        st = os.fstat(fd)
    except OSError:
        return
    parts = []
    if not _header_done:
        parts.append(_HEADER)
        _header_done = True
    t = lambda s: time.asctime(time.localtime(s))  # noqa: E731
    parts.append(f"{fd:4d}: {_type(st.st_mode)}\t{_devpair(st.st_dev)}\t{st.st_ino}\t"
                 f"{st.st_mode:06o}\t{st.st_nlink}\t{st.st_uid}\t{st.st_gid}\t"
                 f"{_devpair(st.st_rdev)}\t{st.st_size}\t{st.st_blksize}\t{st.st_blocks}\t"
                 f"{t(st.st_atime)}\t{t(st.st_mtime)}\t{t(st.st_ctime)}")
    cloexec = fcntl.fcntl(fd, fcntl.F_GETFD)
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    own = fcntl.fcntl(fd, fcntl.F_GETOWN)
    sig = fcntl.fcntl(fd, F_GETSIG)
    parts.append(f"\t{cloexec}\tx{flags:06x}\t{own}\t{sig}")
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLPRI | select.POLLOUT)
    ev = dict(p.poll(0)).get(fd, 0)
    names = [n for bit, n in ((select.POLLIN, "IN,"), (select.POLLPRI, "PRI,"),
                              (select.POLLOUT, "OUT,"), (select.POLLERR, "ERR,"),
                              (select.POLLNVAL, "NVAL,")) if ev & bit]
    parts.append("poll: " + "".join(names))
    if ev & select.POLLIN:
        import array
        import termios
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(fd, termios.FIONREAD, buf)
            parts.append(f"; FIONREAD={buf[0]}")
        except OSError:
            pass
    parts.append("\n")
    out.write("".join(parts))
    out.flush()


def describe_endpoints(*endpoints) -> None:
    for ep in endpoints:
        describe(ep.rfd)
        if ep.wfd != ep.rfd:
            describe(ep.wfd)
