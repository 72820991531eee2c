"""Standard streams and inherited descriptors: STDIO (``-``), STDIN, STDOUT, STDERR, FD."""
from __future__ import annotations

import os
import stat

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import DIRECTION, RDWR, READ, WRITE, finish
from .registry import address

# DCCP, UDPLITE: groups of socat 1.8 only (not shown, and no option, under 1.7.4.4)
FD_GROUPS = "FD,FIFO,CHR,BLK,REG,SOCKET,TERMIOS,UNIX,IP4,IP6,UDP,TCP,SCTP,DCCP,UDPLITE"


def _endpoint(rfd: int, wfd: int, opts) -> Endpoint:
    ep = Endpoint(rfd, wfd)
    try:
        ep.is_socket = stat.S_ISSOCK(os.fstat(wfd if wfd >= 0 else rfd).st_mode)
    except OSError:
        pass
    if ep.is_socket:
        import socket
        s = socket.socket(fileno=rfd)
        try:
            ep.datagram = s.type == socket.SOCK_DGRAM
        finally:
            s.detach()
    from .ttysave import finish_tty
    return finish_tty(ep, opts, finish)   # a terminal gets its settings back at close


def open_stdio(ctx, row, spec, opts, params):
    if ctx.mode == RDWR:
        LOG.notice("reading from and writing to stdio")
        return _endpoint(0, 1, opts)
    name, fd = ("stdin", 0) if ctx.mode == READ else ("stdout", 1)
    LOG.notice(f"using {name} for {DIRECTION[ctx.mode]}")
    return _endpoint(fd, fd, opts)


def _open_std(fd):
    def opener(ctx, row, spec, opts, params):
        LOG.notice(f"using {('stdin', 'stdout', 'stderr')[fd]} for {DIRECTION[ctx.mode]}")
        return _endpoint(fd, fd, opts)
    return opener


def open_fd(ctx, row, spec, opts, params):
    text = params[0]
    try:
        fd = int(text, 0) if text.strip() else None
    except ValueError:
        fd = None
    if fd is None:
        raise SocatError(f'error in FD number "{text}"')
    try:
        os.fstat(fd)
    except OSError:
        pass  # socat only notices at the first read or write
    LOG.notice(f"using file descriptor {fd} for {DIRECTION[ctx.mode]}")
    return _endpoint(fd, fd, opts)


def _stdio_steps(ctx):
    """--explain: which inherited descriptors are used (nothing is opened)."""
    if ctx.mode == RDWR:
        return [("FD", "use fd 0 (stdin) for reading and fd 1 (stdout) for writing")]
    return [("FD", f"use fd {0 if ctx.mode == READ else 1} "
                   f"({'stdin' if ctx.mode == READ else 'stdout'}) for {DIRECTION[ctx.mode]}")]


def _std_steps(fd):
    return (("FD", f"use fd {fd} ({('stdin', 'stdout', 'stderr')[fd]}) for {{mode}}"),)


def _fd_steps(ctx):
    text = ctx.params[0]
    try:
        int(text, 0)
    except ValueError:
        raise SocatError(f'error in FD number "{text}"') from None
    return [("FD", "use file descriptor {num} as it is, for {mode} (it is not opened)")]


address("stdio", "", FD_GROUPS, open_stdio, "STDIO", "standard input and output", aliases=("-",),
        steps=_stdio_steps, transport="inherited")
address("stdin", "", FD_GROUPS, _open_std(0), "STDIO", "standard input", steps=_std_steps(0))
address("stdout", "", FD_GROUPS, _open_std(1), "STDIO", "standard output", steps=_std_steps(1))
address("stderr", "", FD_GROUPS, _open_std(2), "STDIO", "standard error", steps=_std_steps(2))
address("fd", ":<num>", FD_GROUPS, open_fd, "FDNUM", "an already open file descriptor",
        steps=_fd_steps, help18={"syntax": ":<fdnum>"})
