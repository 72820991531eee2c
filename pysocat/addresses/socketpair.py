"""SOCKETPAIR (new in socat 1.8): an echo through an unnamed socket pair.

socketpair(AF_UNIX, SOCK_DGRAM) by default, so every write comes back as one
packet (boundaries survive); ``socktype=`` (so-type) chooses another type,
``pf=`` and ``so-prototype`` the rest of the triple. Data written to one end
is read from the other.
"""
from __future__ import annotations

import errno
import os

from ..errors import SocatError
from ..log import LOG, NOTICE
from ..relay.endpoint import Endpoint
from .base import finish
from .registry import address

AF_UNIX, SOCK_STREAM, SOCK_DGRAM = 1, 1, 2


class SocketpairEndpoint(Endpoint):
    """Reads one end, writes the other. A datagram pair reads with recv()."""

    def __init__(self, rfd: int, wfd: int, datagram: bool) -> None:
        super().__init__(rfd, wfd, "socketpair")
        self.datagram = datagram
        self.sock = None

    @property
    def zero_copy(self) -> bool:
        return not self.datagram

    def read(self, n: int):
        if not self.datagram:
            return os.read(self.rfd, n)
        import socket
        if self.sock is None:
            self.sock = socket.socket(fileno=os.dup(self.rfd))
        data = self.sock.recv(n)
        if LOG.level <= NOTICE:
            LOG.notice(f"received packet with {len(data)} bytes")
        if not data and not self.null_eof:
            raise BlockingIOError(errno.EAGAIN, "empty packet")
        return data

    def shutdown_write(self) -> None:
        # socat's xioshutdown(): a stream pair closes its write end (XIODATA_PIPE);
        # a datagram pair has no half-close, its end comes with -t
        if self.datagram and self.shut is None:
            return
        super().shutdown_write()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        super().close()


def _pf(opts) -> int:
    if opts.get("protocol-family") is None:
        return AF_UNIX
    from .sockets import socket_pf
    return socket_pf(opts, AF_UNIX)


def open_socketpair(ctx, row, spec, opts, params):
    import socket
    pf = _pf(opts)
    stype = opts.get("so-type")
    stype = SOCK_DGRAM if stype is None else stype
    proto = opts.get("so-protocol") or 0
    try:
        a, b = socket.socketpair(pf, stype, proto)
    except OSError as e:
        # socat prints the address of its int[2] here
        raise SocatError(f"socketpair({pf}, {stype}, {proto}, 0x{id(e) & 0xffffffffffff:x}): "
                         f"{e.strerror}") from None
    r, w = a.detach(), b.detach()
    LOG.info(f"socketpair({pf}, {stype}, {proto}, {{{r},{w}}}) -> 0")
    LOG.info(f"socketpair({{{r},{w}}})")
    ep = SocketpairEndpoint(r, w, stype != SOCK_STREAM)
    finish(ep, opts)
    LOG.notice("writing to and reading from unnamed socketpair")
    return ep


def _steps(ctx):
    stype = ctx.get("so-type", SOCK_DGRAM)
    name = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 5: "SOCK_SEQPACKET"}.get(stype, str(stype))
    if stype == SOCK_STREAM:
        ctx.advise("socketpair-stream", "with socktype=1 the echo is a byte stream: at the "
                   "end of input the write end is closed and the echo ends too")
    else:
        ctx.advise("socketpair-dgram", "each write comes back as one packet (boundaries "
                   "survive); a datagram pair has no end of file, so after the other side's "
                   "EOF the transfer ends with the -t timeout (0.5 s)")
    return [("SOCKET", f"socketpair(AF_UNIX, {name}, 0): "
                       "what is written to one end is read from the other (an echo)"),
            ("LATE", "read from the first end, write to the second")]


address("socketpair", ":<filename>", "FD,SOCKET", open_socketpair, "SOCKETPAIR",
        "an internal echo over socketpair(); SOCK_DGRAM unless socktype= says otherwise",
        params=(), nparams=(0, 0), count_text="1", steps=_steps, transport="packet",
        since="1.8")
