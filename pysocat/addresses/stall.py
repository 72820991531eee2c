"""STALL (new in socat 1.8): an address that never yields data nor EOF, and
never takes any.

Reading: a pipe whose write end stays open and unused. Writing: a pipe filled
to the brim that nobody drains, so it never becomes writable; what the relay
would write stays in it ("writing to nothing"). Only -T (or the other side's
EOF with -t) ends a transfer with STALL.
"""
from __future__ import annotations

import fcntl
import os

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import RDWR, READ, WRITE, finish
from .registry import address

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
GUESS_PIPESZ = 65536


class StallEndpoint(Endpoint):
    zero_copy = True          # plain fds: the relay writes without blocking, and waits

    def __init__(self, rfd: int, wfd: int, keep: list) -> None:
        super().__init__(rfd, wfd, "stall")
        self._keep = keep     # the far ends, open for as long as the endpoint

    def write(self, data) -> int:
        # only the relay's final flush gets here (the loop's own writes wait
        # for writability, which never comes): that data goes to nothing
        return len(data)

    def close(self) -> None:
        for fd in self._keep:
            try:
                os.close(fd)
            except OSError:
                pass
        self._keep = []
        super().close()


def _pipe():
    try:
        return os.pipe()
    except OSError as e:
        raise SocatError(f"pipe(): {e.strerror}") from None


def open_stall(ctx, row, spec, opts, params):
    rfd = wfd = -1
    keep = []
    if ctx.mode in (RDWR, READ):
        LOG.info("creating pipe for stalled reading")
        rfd, other = _pipe()
        keep.append(other)            # kept open: reading never sees EOF
    if ctx.mode in (RDWR, WRITE):
        LOG.info("creating pipe for stalled writing")
        other, wfd = _pipe()
        keep.append(other)            # never read
        _fill(wfd)
    ep = StallEndpoint(rfd, wfd, keep)
    finish(ep, opts)
    LOG.notice(("reading from stall pipe, writing to nothing", "reading from stall pipe",
                "writing to nothing")[(RDWR, READ, WRITE).index(ctx.mode)])
    return ep


def _fill(fd: int) -> None:
    """Fill the dead end pipe so that it is never writable."""
    try:
        size = fcntl.fcntl(fd, F_GETPIPE_SZ)
    except OSError:
        size = 0
    if size <= 0:
        LOG.info(f"could not determine pipe size, guessing: {GUESS_PIPESZ}")
        size = GUESS_PIPESZ
    os.set_blocking(fd, False)
    zeros = bytes(size)
    while True:
        try:
            n = os.write(fd, zeros)
        except BlockingIOError as e:
            LOG.info(f"write({fd}, zeros, {size}): {e.strerror}")
            break
        except OSError as e:
            raise SocatError(f"write({fd}, , {size}): {e.strerror}") from None
        if n < size:
            break
    os.set_blocking(fd, True)


def _steps(ctx):
    out = []
    if ctx.mode in (RDWR, READ):
        out.append(("OPEN", "pipe() for reading: its write end stays open and unused, so "
                            "reading never yields data nor EOF"))
    if ctx.mode in (RDWR, WRITE):
        out.append(("OPEN", "pipe() for writing, filled until full (F_GETPIPE_SZ bytes of "
                            "zeros): it never becomes writable"))
    if ctx.config is None or ctx.config.total_timeout is None:
        ctx.advise("stall-never-ends", "STALL never ends the transfer by itself: use "
                   "-T <seconds>, or let the other side's EOF end it (with -t)")
    return out


address("stall", "", "FD,FIFO", open_stall, "STALL",
        "never yields data or EOF, and never becomes writable", count_text="1",
        steps=_steps, transport="stream", since="1.8")
