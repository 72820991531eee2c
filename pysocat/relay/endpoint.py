"""Endpoints: what the relay engine sees of an opened address.

The relay knows nothing of families. An endpoint has a read fd and a write fd
(either may be -1), says whether it carries datagrams, and offers read, write,
half-close (``shutdown_write``) and close. Families subclass only where the
plain fd calls do not fit (sockets with a peer, TUN packets, …).
"""
from __future__ import annotations

import errno
import os

from ..errors import SocatError
from ..log import LOG

# line terminator conventions (socat's LINETERM_*)
LT_RAW, LT_CR, LT_CRNL = 0, 1, 2


class Endpoint:
    """A pair of file descriptors with socat's per-address transfer settings."""

    datagram = False
    is_socket = False
    # socket families set these after connect/accept (getsockname/getpeername
    # form); the library API reports them
    local_address: object = None
    peer_address: object = None

    def __init__(self, rfd: int, wfd: int | None = None, name: str = "") -> None:
        self.rfd = rfd
        self.wfd = rfd if wfd is None else wfd
        self.name = name
        # APPL options the relay honours on this side
        self.ignoreeof = False
        self.readbytes = 0
        self.lineterm = LT_RAW
        self.escape = -1
        self.null_eof = False
        self.cool_write = False  # EPIPE/ECONNRESET on write: notice, direction in error
        self.end_close = False   # close instead of shutdown at end
        self.shut = None         # None (default) | "none" | "down" | "close" | "null"
        self.children: list = []  # pids to reap on close
        self.on_close: list = []  # callables run after close (unlink-close, …)
        self._closed = False
        self.shut_closed = -1    # fd shut-close closed (socat keeps the number)

    # data -----------------------------------------------------------------
    def read(self, n: int) -> bytes:
        return os.read(self.rfd, n)

    # a packet endpoint that can read without waiting (raising BlockingIOError
    # when nothing is queued) sets this to such a method: the relay then moves
    # a burst of packets per wake-up instead of one select() per packet
    read_nowait = None

    def write(self, data) -> int:
        """Write all of ``data`` (blocking fd); returns the byte count."""
        view = memoryview(data)
        total = len(view)
        fd = self.wfd
        if not total:       # shut-null: one write of 0 bytes (an empty datagram)
            try:
                os.write(fd, b"")
            except (InterruptedError, BlockingIOError):
                pass
            return 0
        while view:
            try:
                n = os.write(fd, view)
            except InterruptedError:
                continue
            except BlockingIOError:
                import select
                select.select([], [fd], [], 1.0)
                continue
            view = view[n:]
        return total

    def pending(self) -> bool:
        """True when more data is buffered inside the endpoint (TLS, …)."""
        return False

    # end of stream ------------------------------------------------------------
    def shutdown_write(self) -> None:
        """Half-close: tell the peer no more data comes (socat's xioshutdown)."""
        if self.shut == "none":
            return
        if self.shut is None and self.end_close and self.is_socket:
            return                # END_CLOSE: a socket is only closed at the end
        if self.shut == "null":
            # socat's XIOSHUT_NULL: an empty write through the address's own
            # write (sendto for UDP-SENDTO and friends)
            try:
                self.write(b"")
            except (OSError, SocatError):
                pass
            return
        if self.shut == "close" and (self.is_socket or self.wfd == self.rfd):
            # socat's XIOSHUT_CLOSE: Close() the descriptor but keep its number;
            # the next poll() of the still open direction fails (EBADF)
            fd = self.wfd
            LOG.info(f"close({fd})")
            try:
                os.close(fd)
            except OSError as e:
                LOG.info(f"close({fd}): {e.strerror}")
            self.shut_closed = fd
            detach = getattr(self, "sock", None)
            if detach is not None:
                detach.detach()     # the socket object must not close it again
            return
        if self.is_socket and self.shut != "close":
            LOG.info(f"shutdown({self.wfd}, 1)")
            try:
                import socket
                s = socket.socket(fileno=self.wfd)
                try:
                    s.shutdown(socket.SHUT_WR)
                finally:
                    s.detach()
            except OSError as e:
                if e.errno not in (errno.ENOTCONN, errno.EBADF):
                    shutdown_failed(self.wfd, 1, e)
            return
        if self.wfd != self.rfd and self.wfd > 2:
            # socat's xioshutdown() of a PIPE / 2PIPE: Close() of the write end
            LOG.info(f"close({self.wfd})")
            _close_quiet(self.wfd)
            self.wfd = -1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # reap first: closing a pty master would hang up a child still exiting
        for child in self.children:
            child.reap()
        for fd in {self.rfd, self.wfd}:
            if fd is not None and fd > 2 and fd != self.shut_closed:
                _close_quiet(fd)
        for func in self.on_close:
            func()


class DualEndpoint(Endpoint):
    """``read-address!!write-address``: reads one endpoint, writes the other."""

    def __init__(self, reader: Endpoint, writer: Endpoint) -> None:
        super().__init__(reader.rfd, writer.wfd, f"{reader.name}!!{writer.name}")
        self.reader, self.writer = reader, writer
        self.datagram = reader.datagram or writer.datagram
        for attr in ("ignoreeof", "readbytes", "escape", "null_eof"):
            setattr(self, attr, getattr(reader, attr))
        self.cool_write = writer.cool_write
        self.lineterm = reader.lineterm
        self.wlineterm = writer.lineterm

    def read(self, n):
        return self.reader.read(n)

    def write(self, data):
        return self.writer.write(data)

    def shutdown_write(self):
        self.writer.shutdown_write()

    def close(self):
        self.reader.close()
        self.writer.close()


def shutdown_failed(fd: int, how: int, exc: OSError) -> None:
    """socat's xioshutdown() failure: an I (1.7.4.4), an E that ends the run
    for EPIPE/ECONNRESET under 1.8.1.3 (xioshutdown.c:56-72)."""
    text = f"shutdown({fd}, {how}): {exc.strerror}"
    if exc.errno in (errno.EPIPE, errno.ECONNRESET):
        from ..versions import ACTIVE
        if ACTIVE.read_reset_is_error:
            raise SocatError(text)
    LOG.info(text)


def _close_quiet(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def raise_os(call: str, exc: OSError) -> None:
    """Turn an OSError into socat's ``call: strerror`` error."""
    raise SocatError(f"{call}: {exc.strerror}") from None
