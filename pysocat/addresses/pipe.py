"""Pipes: PIPE without a name (an echo through the kernel) and PIPE:<name> (a FIFO)."""
from __future__ import annotations

import os
import stat

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import DIRECTION, READ, WRITE, _unlink_quiet, apply_named_early, filetype, finish
from .file import open_path
from .registry import address


def open_pipe(ctx, row, spec, opts, params):
    if not params:
        try:
            r, w = os.pipe()
        except OSError as e:
            raise SocatError(f"pipe(): {e.strerror}") from None
        LOG.info(f"pipe({{{r},{w}}}) -> 0")
        LOG.notice("writing to and reading from unnamed pipe")
        return finish(Endpoint(r, w, "pipe"), opts)
    path = params[0]
    exists = apply_named_early(path, opts)
    # A FIFO this address made goes when the address closes unless unlink-close=0,
    # also when the run ends while open() still waits for the other side (socat
    # xio-pipe.c: unlink_close is set before the open).
    unlink_close = not exists and opts.get("unlink-close", True)
    me = os.getpid()
    made = False
    try:
        if not exists:
            perm = opts.get("perm")
            perm = 0o666 if perm is None else perm
            try:
                os.mkfifo(path, perm)
            except OSError as e:
                raise SocatError(f"mkfifo({path}, {perm}): {e.strerror}") from None
            made = True
            LOG.notice(f'created named pipe "{path}" for {DIRECTION[ctx.mode]}')
            _named_owner(path, opts)
        else:
            st = os.stat(path)
            LOG.notice(f'opening {filetype(st.st_mode)} "{path}" for {DIRECTION[ctx.mode]}')
        opts.get("perm")
        fd = open_path(path, ctx.mode, opts)
    except BaseException:
        if made and unlink_close and os.getpid() == me:
            _unlink_quiet(path)
        raise
    ep = Endpoint(fd, fd, path)
    if opts.get("unlink-late"):
        _unlink_quiet(path)
    if unlink_close:        # (unlink-close on a FIFO that existed does nothing, as in socat)
        ep.on_close.append(lambda: _unlink_quiet(path))
    return finish(ep, opts)


def _named_owner(path, opts):
    """socat's applyopts_named(PH_ALL) on a FIFO it just made: user and group
    change the path's owner before the (maybe long blocking) open()."""
    for it in opts.take(lambda row: row.name in ("user", "group")).items:
        uid, gid = (it.value, -1) if it.row.name == "user" else (-1, it.value)
        try:
            os.chown(path, uid, gid)
        except OSError as e:
            raise SocatError(f'chown("{path}", {uid}, {gid}): {e.strerror}') from None


def _pipe_steps(ctx):
    """--explain: pipe() for the echo, or mkfifo()+open() for a named pipe."""
    if not ctx.params:
        return [("OPEN", "pipe(): what is written comes back to be read (an echo)")]
    return [("EARLY", 'unlink("{filename}") if it exists', "unlink-early"),
            ("OPEN", 'mkfifo("{filename}", {perm}) unless it exists'),
            ("OPEN", 'open("{filename}", {flags}): blocks until the other end is opened'),
            ("PASTOPEN", 'unlink("{filename}")', "unlink-late")]


address("pipe", "[:<filename>]", "FD,FIFO,NAMED,OPEN", open_pipe, "PIPE",
        "unnamed pipe (echo), or the named pipe <filename>", aliases=("fifo", "echo"),
        params=("filename",), nparams=(0, 1), steps=_pipe_steps)
