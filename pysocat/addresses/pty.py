"""PTY: a new pseudo terminal; socat relays on its master side (xio-pty.c).

The slave's name is logged (``N PTY is /dev/pts/N``) and, with ``link``,
published as a symbolic link that is removed again at close (unless
``unlink-close=0``). By default the pty comes from openpty(3), and socat keeps
the slave open, so a client closing the slave is no EOF; with ``ptmx`` the
master comes from /dev/ptmx and the last close of the slave reads as EIO,
which socat treats as EOF (``… (probably PTY closed)``). ``wait-slave``
waits (polling every ``pty-interval`` seconds) until a client opens the
slave. ``perm``/``user``/``group`` (and their ``-late`` forms) act on the
slave's name, never on the master (that would change /dev/ptmx). TERMIOS
options apply to the master, which on Linux shares the slave's settings.
"""
from __future__ import annotations

import errno
import os
import time

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import finish
from .registry import EXTRA_FEATURES, address

TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431

EXTRA_FEATURES.add("TERMIOS")   # the TERMIOS option group (options/termios.py)


class PtyEndpoint(Endpoint):
    """A pty master: EIO on read means the slave side was closed (socat: EOF).

    ``sitout`` (1.8's sitout-eio, seconds): EIO is tolerated that long, the
    read retried every 10 ms (a login program closes and reopens its tty);
    then the EIO is an error. Like socat, nothing else moves meanwhile.
    """
    sitout = 0.0

    def read(self, n: int) -> bytes:
        ticks = None
        while True:
            try:
                return os.read(self.rfd, n)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                if not self.sitout:
                    LOG.notice(f"read({self.rfd}, 0x{id(self):x}, {n}): {e.strerror} "
                               "(probably PTY closed)")
                    return b""
                if ticks is None:      # socat counts in 10 ms, rounded up
                    sec = int(self.sitout)
                    usec = int(round((self.sitout - sec) * 1000000))
                    ticks = 100 * sec + (usec + 9999) // 10000
                    LOG.notice(f"xioread(fd={self.rfd}): EIO, sitting out "
                               f"{ticks // 100}.{ticks % 100:02d}s for recovery")
                time.sleep(0.01)
                ticks -= 1
                if ticks <= 0:
                    raise


def set_sitout(ep, opts) -> None:
    """sitout-eio of a PTY or EXEC,pty address."""
    val = opts.get("sitout-eio")
    if val:
        ep.sitout = float(val)


def _ptmx() -> tuple[int, str] | None:
    """/dev/ptmx, unlocked; None when it cannot be opened (socat then tries openpty)."""
    import fcntl
    import struct
    try:
        fd = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    except OSError as e:
        LOG.warn(f'open("/dev/ptmx", O_RDWR|O_NOCTTY, 0620): {e.strerror}')
        return None
    try:
        fcntl.ioctl(fd, TIOCSPTLCK, struct.pack("i", 0))
    except OSError as e:
        LOG.warn(f"unlockpt({fd}): {e.strerror}")
    try:
        num = struct.unpack("I", fcntl.ioctl(fd, TIOCGPTN, b"\0" * 4))[0]
        name = f"/dev/pts/{num}"
    except OSError as e:
        LOG.warn(f"ptsname({fd}): {e.strerror}")
        name = ""
    if name:
        LOG.notice(f"PTY is {name}")
    return fd, name


def _openpty() -> tuple[int, int, str]:
    try:
        master, slave = os.openpty()
        name = os.ttyname(slave)
    except OSError as e:
        raise SocatError(f"openpty(0x1, 0x2, 0x3, NULL, NULL): {e.strerror}") from None
    LOG.info(f'openpty({{{master}}}, {{{slave}}}, {{"{name}"}},,) -> 0')
    LOG.notice(f"PTY is {name}")
    return master, slave, name


def _named_early(opts) -> None:
    """socat's applyopts_named("", opts, PH_EARLY): the name is not known yet."""
    mask = opts.get("umask")
    if mask is not None:
        os.umask(mask)
    if opts.get("unlink-early"):
        LOG.warn('unlink(""): No such file or directory')


def _on_name(name: str, opts) -> None:
    """NAMED options of phases PASTOPEN/FD, and the -late owner/mode, on the slave's name."""
    if opts.get("unlink-late"):
        try:
            os.unlink(name)
        except OSError as e:
            text = f'unlink("{name}"): {e.strerror}'
            if e.errno == errno.ENOENT:
                LOG.warn(text)
            else:
                raise SocatError(text) from None
    group = opts.get("group")
    if group is not None:
        _chown(name, -1, group, f'chown("{name}", -1, {group})')
    user = opts.get("user")
    if user is not None:
        _chown(name, user, -1, f'chown("{name}", {user}, -1)')
    perm = opts.get("perm")
    if perm is not None:
        _chmod(name, perm, f'chmod("{name}", 0{perm:03o})')


def _on_name_late(name: str, opts) -> None:
    uid, gid = opts.get("user-late"), opts.get("group-late")
    if uid is not None or gid is not None:
        uid = -1 if uid is None else uid
        gid = -1 if gid is None else gid
        _chown(name, uid, gid, f'chown("{name}", {uid}, {gid})')
    perm = opts.get("perm-late")
    if perm is not None:
        _chmod(name, perm, f'chmod("{name}", {perm:03o})')


def _chown(name, uid, gid, call):
    try:
        os.chown(name, uid, gid)
    except OSError as e:
        raise SocatError(f"{call}: {e.strerror}") from None


def _chmod(name, perm, call):
    try:
        os.chmod(name, perm)
    except OSError as e:
        raise SocatError(f"{call}: {e.strerror}") from None


_ON_NAME = ("perm", "user", "group", "perm-late", "user-late", "group-late")


def _wait_slave(fd: int, interval: float) -> None:
    """Poll until the HUP condition of the master vanishes: a client opened the slave."""
    import select
    import time
    p = select.poll()
    p.register(fd, select.POLLHUP)
    while True:
        try:
            events = p.poll(0)
        except OSError as e:
            raise SocatError(f"poll({{{fd}, 0x0010,}}, 1, 0): {e.strerror}") from None
        if not any(ev & select.POLLHUP for _, ev in events):
            return
        time.sleep(interval)


def open_pty(ctx, row, spec, opts, params):
    unlink_close = opts.get("unlink-close", 1)
    _named_early(opts)
    useptmx = bool(opts.get("ptmx"))
    opts.get("openpty")            # the default where ptmx is not asked for
    wait_slave = bool(opts.get("pty-wait-slave"))
    interval = opts.get("pty-interval")
    interval = 1.0 if interval is None else max(0.0, interval)   # nanosleep: EINVAL
    opts.get("unlink")             # socat's PTY never reaches phase PREOPEN

    master = slave = -1
    name = ""
    if useptmx:
        got = _ptmx()
        if got is not None:
            master, name = got
    if master < 0:
        master, slave, name = _openpty()
    ep = PtyEndpoint(master, master, spec.raw)
    set_sitout(ep, opts)
    if slave >= 0:
        # socat keeps openpty's slave open (until wait-slave closes it)
        ep.on_close.append(lambda: _close_quiet(slave))
    try:
        link = opts.get("symbolic-link")
        if link is not None:
            try:
                os.unlink(link)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise SocatError(f'unlink("{link}"): {e.strerror}') from None
            try:
                os.symlink(name, link)
            except OSError as e:
                raise SocatError(f'symlink("{name}", "{link}"): {e.strerror}') from None
            if unlink_close:
                ep.on_close.append(lambda: _unlink_info(link))
        # these act on the slave's name: keep them away from finish()'s
        # fchmod/fchown of the master (socat 1.7.1 changed /dev/ptmx that way)
        named = opts.take(lambda r: r.name in _ON_NAME)
        _on_name(name, named)
        _on_name_late(name, named)
        finish(ep, opts)
        if wait_slave:
            if useptmx and name and slave < 0:
                try:
                    _close_quiet(os.open(name, os.O_RDWR | os.O_NOCTTY))
                except OSError:
                    pass
            if slave >= 0:
                ep.on_close.pop(0)
                _close_quiet(slave)
            _wait_slave(master, interval)
    except BaseException:
        ep.close()
        raise
    return ep


def _close_quiet(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _unlink_info(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as e:
        LOG.info(f'unlink("{path}"): {e.strerror}')


address("pty", "", "FD,NAMED,TERMIOS,PTY", open_pty, "PTY",
        "a new pseudo terminal; its slave is the other end (see link)")
