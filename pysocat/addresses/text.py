"""TEXT:<string> (new in socat 1.8): the string is the input, then EOF.

The string goes into a pipe at open; reading that pipe yields it and then
EOF. Output goes to stdout (socat opens STDOUT for the writing direction; in a
write-only context the whole address degenerates to STDOUT, with a warning).
"""
from __future__ import annotations

import fcntl
import os

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import DualEndpoint, Endpoint
from .base import RDWR, READ, WRITE, finish
from .registry import address

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _stdout(ctx, opts):
    from .stdio import _open_std
    from .base import OpenContext
    sub = OpenContext(WRITE, ctx.index, ctx.prefer_ip, ctx.config, ctx.extra)
    return _open_std(1)(sub, None, None, opts, ())


def _copy(opts):
    """socat's copyopts(): the writing half gets its own copy of the options."""
    import copy
    return type(opts)([copy.copy(it) for it in opts.items])


def open_text(ctx, row, spec, opts, params):
    if ctx.mode == WRITE:
        LOG.warn("TEXT address in write-only context degenerates to STDOUT")
        return _stdout(ctx, opts)
    writer = _stdout(ctx, _copy(opts)) if ctx.mode == RDWR else None
    data = params[0].encode("utf-8", "surrogateescape")
    LOG.info("creating pipe for text reading")
    try:
        r, w = os.pipe()
    except OSError as e:
        raise SocatError(f"pipe(): {e.strerror}") from None
    if len(data) > 65536:
        try:
            fcntl.fcntl(w, F_SETPIPE_SZ, len(data))
        except OSError:
            pass                    # socat's write would block here as well
    reader = finish(Endpoint(r, r, "text"), opts)
    try:
        os.write(w, data)
    finally:
        os.close(w)
    LOG.notice("reading from data pipe")
    if writer is None:
        return reader
    return DualEndpoint(reader, writer)


def _steps(ctx):
    if ctx.mode == WRITE:
        ctx.warn("TEXT address in write-only context degenerates to STDOUT")
        return [("FD", "use fd 1 (stdout) for writing")]
    out = []
    if ctx.mode == RDWR:
        out.append(("FD", "use fd 1 (stdout) for writing"))
    out += [("OPEN", "pipe(); write the string into it and close the write end"),
            ("LATE", "read the string from the pipe, then EOF")]
    ctx.advise("text-closes", "TEXT closes after its string: its EOF ends the transfer "
               "after -t (0.5 s) unless the other side ends first; answers written to "
               "this side go to stdout")
    return out


address("text", ":<string>", "FD,FIFO", open_text, "TEXT",
        "the string is the input, output goes to stdout", steps=_steps,
        transport="stream", since="1.8")
