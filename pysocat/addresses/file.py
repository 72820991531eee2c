"""File system addresses: OPEN, CREATE, GOPEN (and a bare path with '/').

GOPEN connects to a UNIX socket when the path names one, else open()s it.
"""
from __future__ import annotations

import os
import stat

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import (DIRECTION, RDWR, READ, WRITE, apply_named_early,
                   apply_named_late, filetype, finish)
from .registry import address

_ACC = {READ: os.O_RDONLY, WRITE: os.O_WRONLY, RDWR: os.O_RDWR}


def _access(ctx, opts) -> int:
    """Access mode from the relay direction, narrowed by rdonly/wronly/rdwr."""
    mode = ctx.mode
    if opts.get("o-rdonly"):
        mode = READ
    if opts.get("o-wronly"):
        mode = WRITE
    if opts.get("o-rdwr"):
        mode = RDWR
    return mode


def open_path(path: str, mode: int, opts, extra_flags: int = 0) -> int:
    """socat's _xioopen_open: flags from the OPEN options, perm for creation.

    append, nonblock, async and trunc go into open(2) itself, as in socat.
    """
    flags = _ACC[mode] | opts.openflags() | extra_flags
    for name, flag in (("append", os.O_APPEND), ("o-nonblock", os.O_NONBLOCK),
                       ("async", os.O_ASYNC), ("o-trunc", os.O_TRUNC)):
        if opts.get(name):
            flags |= flag
    perm = opts.get("perm")
    if perm is None:
        perm = 0o666
    try:
        fd = os.open(path, flags, perm)
    except OSError as e:
        LOG.info(f'open("{path}", 0{flags:o}, 0{perm:03o}) -> -1')
        raise SocatError(f'open("{path}", 0{flags:o}, 0{perm:03o}): {e.strerror}') from None
    LOG.info(f'open("{path}", 0{flags:o}, 0{perm:03o}) -> {fd}')
    return fd


def _file_endpoint(fd: int, path: str, opts, tty: bool = False) -> Endpoint:
    ep = Endpoint(fd, fd, path)
    apply_named_late(ep, path, opts)
    if tty:   # OPEN and GOPEN restore a terminal's settings at close, like socat
        from .ttysave import finish_tty
        return finish_tty(ep, opts, finish)
    return finish(ep, opts)


def open_open(ctx, row, spec, opts, params):
    path = params[0]
    apply_named_early(path, opts)
    mode = _access(ctx, opts)
    try:
        st_mode = os.stat(path).st_mode
    except OSError:
        st_mode = 0
    LOG.notice(f'opening {filetype(st_mode)} "{path}" for {DIRECTION[mode]}')
    return _file_endpoint(open_path(path, mode, opts), path, opts, tty=True)


def open_create(ctx, row, spec, opts, params):
    path = params[0]
    apply_named_early(path, opts)
    if ctx.mode == READ:
        from ..versions import ACTIVE
        if ACTIVE.mode_warning:
            raise SocatError(f'CREAT:"{path}": read-only mode, refusing to truncate or '
                             "create file")
    perm = opts.get("perm")
    perm = 0o666 if perm is None else perm
    mode = WRITE if ctx.mode != READ else READ
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, perm)
    except OSError as e:
        raise SocatError(f'creat("{path}", 0{perm:03o}): {e.strerror}') from None
    LOG.notice(f'creating regular file "{path}" for {DIRECTION[mode]}')
    LOG.info(f'creat("{path}", 0{perm:03o}) -> {fd}')
    ep = _file_endpoint(fd, path, opts)
    if ctx.mode == READ:
        ep.wfd = -1
    return ep


def open_gopen(ctx, row, spec, opts, params):
    path = params[0]
    exists = apply_named_early(path, opts)
    st_mode = 0
    if exists:
        try:
            st_mode = os.stat(path).st_mode
        except OSError:
            pass
    if exists and stat.S_ISSOCK(st_mode):
        LOG.info(f'"{path}" is a socket, connecting to it')
        return _connect_unix(path, ctx, opts)
    LOG.info(f'"{path}" is not a socket, open()\'ing it')
    mode = _access(ctx, opts)
    # an existing file is appended to, a missing one created (socat's gopen)
    extra = (os.O_APPEND if mode != READ else 0) if exists else os.O_CREAT
    LOG.notice(f'opening {filetype(st_mode)} "{path}" for {DIRECTION[mode]}')
    fd = open_path(path, mode, opts, extra)
    return _file_endpoint(fd, path, opts, tty=True)


def _connect_unix(path, ctx, opts):
    import socket
    last = None
    for stype in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
        s = socket.socket(socket.AF_UNIX, stype)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            last = e
            if e.errno == 91:   # EPROTOTYPE: try the next socket type
                continue
            break
        LOG.notice(f"successfully connected via {path}")
        ep = Endpoint(s.detach(), None, path)
        ep.is_socket = True
        ep.datagram = stype == socket.SOCK_DGRAM
        return finish(ep, opts)
    raise SocatError(f'connect(, AF=1 "{path}", {len(path) + 2}): {last.strerror}')


# --explain: the calls each open makes (templates, see pysocat/explain.py)
_NAMED_STEPS = (("EARLY", 'unlink("{filename}") if it exists', "unlink-early"),
                ("EARLY", "umask(0{opt[umask]:o})", "umask"))
_LATE_STEPS = (("PASTOPEN", 'unlink("{filename}")', "unlink-late"),
               ("LATE", 'unlink("{filename}") when the address is closed', "unlink-close"))
_OPEN_STEPS = _NAMED_STEPS + (("OPEN", 'open("{filename}", {flags}, {perm})'),) + _LATE_STEPS
_CREATE_STEPS = _NAMED_STEPS + (("OPEN", 'creat("{filename}", {perm}): O_CREAT|O_WRONLY|O_TRUNC'),) + _LATE_STEPS
_GOPEN_STEPS = _NAMED_STEPS + (
    ("PREOPEN", 'stat("{filename}"): a UNIX socket is connected to, anything else is open()ed'),
    ("OPEN", 'open("{filename}", {flags}, {perm}), or for a socket: socket(AF_UNIX, '
             'SOCK_STREAM, then SOCK_DGRAM, then SOCK_SEQPACKET) and connect()'),
) + _LATE_STEPS

_FILE_GROUPS = "FD,FIFO,CHR,BLK,REG,NAMED,OPEN,TERMIOS"
address("open", ":<filename>", _FILE_GROUPS, open_open, "FILE", "open an existing file (or create it with creat)", aliases=("file",),
        steps=_OPEN_STEPS)
address("create", ":<filename>", "FD,REG,NAMED", open_create, "CREAT", "create a file and write to it", aliases=("creat",),
        steps=_CREATE_STEPS)
address("gopen", ":<filename>", "FD,FIFO,CHR,BLK,REG,SOCKET,NAMED,OPEN,TERMIOS,UNIX", open_gopen, "GOPEN",
        "open a file, or connect if it is a UNIX socket", steps=_GOPEN_STEPS)
