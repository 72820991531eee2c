"""The bidirectional relay: socat's transfer loop, generic over endpoints.

Theory of operation (socat 1.7.4.4, socat.c ``_socat``):
- Each direction copies one read (at most ``-b`` bytes, one datagram on
  datagram endpoints) into one complete write, so packet boundaries survive.
- EOF on a direction's source logs "socket N (fd F) is at EOF", half-closes
  the destination and starts the closing timer (``-t``, default 0.5 s); the
  loop ends when both directions are at EOF or the timer expires. With
  ``-u``/``-U`` only one direction exists and its EOF ends the loop.
- ``-T`` ends the loop after that many seconds without any transfer.
- ``ignoreeof`` re-reads a source at EOF once per second instead of ending.
A byte once read is never dropped: writes complete before the source is read
again. Into a socket, pipe or terminal of its own (not stdio) the loop writes
without blocking and keeps what the peer cannot take yet, selecting for
writability meanwhile, so the other direction keeps moving: a peer that echoes
while we send (EXEC:cat, an echo server) never deadlocks the relay however
large a step is. What is held when the loop ends is written out then.

Speed (issue 7): a stream-to-stream direction that neither converts, dumps,
sniffs nor looks for an escape character moves its bytes with ``splice(2)``
(directly when one side is a pipe, else through a pipe of its own), so they
never enter Python; a step still moves at most ``-b`` bytes when ``-b`` is
given. Without ``-b`` a stream step may move up to STREAM_BUFSIZE bytes
(socat: 8192) unless ``-d -d -d`` shows the per-step "transferred" lines;
datagrams keep socat's truncation at ``-b``. A splice direction whose
steps are small (request/response traffic) moves them by read/write, which
costs less than two splices, until a read fills a whole SMALL_READ again. A
packet source that can read
without waiting (UDP and other datagram sockets, TUN) moves up to BURST queued
packets per wake-up, each still one read and one write, instead of one
select() per packet as socat does; where nothing is checked or logged per
packet, queued datagrams move in batches (batch.py: recvmmsg/sendmmsg), each
still one datagram, in order, truncated at ``-b``.

Latency (issue 17): while every direction only copies bytes (no -v/-x/-r/-R,
conversion, escape, readbytes, -ddd) and none is at EOF, held up
or moving bulk by splice, the loop is ``Relay._fast``: one epoll registered
once, and per wake-up one read and one write per ready source. Anything else
returns to the general loop above, which handles it as before.

Kernel forwarding (issue 17, measured and left out): a BPF sockmap that
redirects each TCP socket's skbs to the other's send side (SK_SKB verdict
programs loaded through bpf(2)) halves the round trip (64 B tcp-rr 38 µs
against 69 through this loop and 61 through classic socat; CPU per round trip,
relay plus kworkers, 15 µs against 43 and 31-40), but it cannot keep the
relay's semantics on Linux 6.x:
- no back-pressure: a redirected skb leaves the source's receive queue (and
  its memory accounting) at once and waits, unbounded, in the destination's
  psock queue (52 of 64 MiB sent to a slow reader were held there);
- stopping it to fall back loses data: removing a socket from its verdict map
  clears the program before data_ready is restored, and an skb being read at
  that moment gets SK_DROP (sk_psock_verdict_recv) after TCP acknowledged it;
- SK_PASS (keep the bytes on the source for the loop) leaves copied_seq
  behind the receive queue once the socket leaves the map ("TCP recvmsg seq #
  bug", bytes lost), so a hand-over without dropping cannot be done either.
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import select
import _signal as signal  # the C module: signal.py imports enum (~5 ms of start-up)
import time
from .._struct import dataclass

from ..errors import ReadInError, SocatError
from ..log import LOG
from .convert import convert_lineterm
from .dump import Dumper

POLL_INTERVAL = 1.0   # socat's pollintv for ignoreeof
STREAM_BUFSIZE = 1 << 17   # a stream step without -b (splice or read/write)
SMALL_SPLICE = 4096  # a splice step smaller than this: read/write for the next ones
SMALL_READ = 1 << 16  # their read size; a full one goes back to splice
BURST = 64         # packets one wake-up may move from a read_nowait() source
SPLICE_PIPE_SIZE = 1 << 20  # asked for with F_SETPIPE_SZ; the kernel may give less
IN_ERROR = -2      # transfer(): the write failed, cool-write made it a notice
                   # (or, 1.7.4.4, a read failed with EPIPE/ECONNRESET: a W)
_COOL = frozenset({errno.EPIPE, errno.ECONNRESET})
_NO_SPLICE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE,
                        errno.EBADF})


@dataclass
class RelayConfig:
    """The CLI flags that steer the loop (``-b -t -T -u -U -v -x -r -R``)."""
    bufsize: int = 8192
    closing_timeout: float = 0.5
    total_timeout: float | None = None
    direction: str = "both"        # "both" | "lr" (-u) | "rl" (-U)
    verbose: bool = False
    verbhex: bool = False
    sniff_left: int | None = None  # -r fd: data left to right
    sniff_right: int | None = None  # -R fd
    stop_fd: int | None = None     # library stop: readable → the loop ends
    bufsize_given: bool = False    # -b given: no stream step moves more than bufsize
    statistics: bool = False       # --statistics: socat's step size, so its packet count


SIZE_MAX = (1 << 64) - 1
MAX_STEP = 1 << 26    # what one read may ask for, whatever -b says (no Python
                      # buffer of -b bytes: the kernel returns less anyway)


def total_timeout(value: float | None) -> float | None:
    """-T as the profile reads it: seconds of inactivity, or None for none.
    1.8: 0 is a timeout of 0 s and a negative value means none; 1.7: 0 means none."""
    if value is None:
        return None
    from ..versions import ACTIVE
    if ACTIVE.timeout_zero_is_zero:
        return None if value < 0 else value
    return None if value == 0 else value


def check_bufsize(bufsize: int) -> int:
    """socat's checks of ``-b`` before its transfer loop; returns the size to use
    (None: the buffer cannot be had and -s made that error non-fatal).

    socat allocates 2*bufsize+1 bytes (room for CR LF conversion); a size whose
    double overflows is refused, and a buffer the kernel cannot provide fails
    posix_memalign(). pysocat needs no such buffer, but asks the kernel for the
    same address space (mapped, never touched) to fail where socat fails.
    """
    limit = (SIZE_MAX - 1) // 2
    if bufsize > limit:
        _error(f"buffer size option (-b) to big - {bufsize} (max is {limit})")
        bufsize = limit
    if bufsize > MAX_STEP:
        import mmap
        try:
            mmap.mmap(-1, 2 * bufsize + 1, flags=mmap.MAP_PRIVATE).close()
        except (OSError, OverflowError):
            _error("posix_memalign(): Cannot allocate memory")
            return None                # only with -s: socat's _socat() returns -1
    return bufsize


def _write_error(fd: int, n: int, exc: OSError, consumed: bool = True) -> SocatError:
    """socat's E write(...) failure, carrying the errno for cool-write.

    ``consumed`` False: the failed splice took nothing from the source."""
    err = SocatError(f"write({fd}, {n}): {exc.strerror}")
    err.errno = exc.errno
    err.strerror = exc.strerror
    err.wfd, err.count, err.consumed = fd, n, consumed
    return err


def _read_error(fd: int, exc: OSError) -> SocatError:
    """A failed read in a splice: the direction names it as socat's read()."""
    err = SocatError(f"read({fd}): {exc.strerror}")
    err.read_errno, err.strerror, err.rfd = exc.errno, exc.strerror, fd
    return err


def _error(text: str) -> None:
    """An E message: fatal unless -s lowered the exit level."""
    if LOG.exitlevel <= 4:
        raise SocatError(text)
    LOG.error(text)


class _Direction:
    """One way of the relay: source endpoint → destination endpoint."""

    def __init__(self, index, src, dst, cfg, righttoleft):
        self.index = index          # socat's "socket 1"/"socket 2" of the source
        self.src, self.dst = src, dst
        self.eof = False
        self.polling = False        # at EOF but ignoreeof: re-read periodically
        self.left = src.readbytes or None
        self.bufsize = min(cfg.bufsize, MAX_STEP)
        self.cfg_bufsize = cfg.bufsize     # socat's read size, as its messages name it
        self.righttoleft = righttoleft
        dst_lt = getattr(dst, "wlineterm", dst.lineterm)
        self.convert = src.lineterm != dst_lt
        self.lt = (src.lineterm, dst_lt)
        self.sniff = cfg.sniff_right if righttoleft else cfg.sniff_left
        self.dumper = Dumper(cfg.verbose, cfg.verbhex, righttoleft) \
            if (cfg.verbose or cfg.verbhex) else None
        self.escape = src.escape
        self.escaped = False
        self.moved = 0
        self.blocks = 0             # writes done (--statistics "packets")
        stream = not (src.datagram or dst.datagram)
        if stream and not cfg.bufsize_given and LOG.level > 1 and not self.dumper \
                and not cfg.statistics:
            self.bufsize = max(self.bufsize, STREAM_BUFSIZE)
        self.burst = BURST if src.datagram and src.read_nowait is not None else 0
        self.splicer = None
        self.small = False          # a splice direction moving small steps by read/write
        self.wait_write = False     # select for the destination's writability first
        if stream and not self.convert and not self.dumper and self.sniff is None \
                and self.escape < 0 and hasattr(os, "splice") \
                and _raw_fd(src, "read") and _raw_fd(dst, "write"):
            self.splicer = _Splicer(src, dst)
            if self.bufsize == STREAM_BUFSIZE:
                self.bufsize = SPLICE_PIPE_SIZE    # bytes that never enter Python
        elif self.bufsize == STREAM_BUFSIZE and _is_pipe(dst.wfd):
            # a blocking write larger than a pipe can hold would wait for a reader
            # that may be this very loop (PIPE echo): keep socat's step size
            self.bufsize = min(cfg.bufsize, MAX_STEP)
        # A socket or pty of our own is written without blocking: a large step
        # into a peer that is itself blocked writing to us (EXEC:cat, an echo
        # server) would otherwise deadlock both. What it cannot take now waits
        # in ``backlog`` (or in the splice pipe) and the loop selects for
        # writability before this direction reads again.
        self.backlog = None
        self.nb_flags = None
        self.nb_fd = -1
        if stream and _raw_fd(dst, "write") and _peer_blocks(dst.wfd):
            try:
                flags = fcntl.fcntl(dst.wfd, fcntl.F_GETFL)
                if not flags & os.O_NONBLOCK:
                    fcntl.fcntl(dst.wfd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
                self.nb_flags = flags
                self.nb_fd = dst.wfd
            except OSError:
                pass
        if self.splicer is not None:
            self.splicer.nonblocking = self.nb_flags is not None
        # a direction that only copies: the fast loop may move its small steps
        self.plain = stream and not self.convert and not self.dumper and self.sniff is None \
            and self.escape < 0 and self.left is None and _raw_fd(src, "read") \
            and not getattr(src, "oneshot", False)
        # datagrams: many packets per system call where that changes nothing
        self.batch = None
        if self.burst and not stream and LOG.level > 1 and hasattr(src, "batch_reader") \
                and not (self.convert or self.dumper or self.escape >= 0) \
                and self.sniff is None and self.left is None and not dst.cool_write \
                and not getattr(src, "notify_parent", None) \
                and src.batch_reader() is not None:
            from .batch import plan     # ctypes: only when it will be used
            self.batch = plan(self, LOG.level)
            if self.batch is not None:
                self.burst = 0
                self.step = self.batch.step
                self.plain = True
        self.step_size = min(self.bufsize, SMALL_READ) if self.splicer is not None \
            else self.bufsize

    def fast_ready(self) -> bool:
        """The fast loop may move this direction's next step."""
        return self.backlog is None and not self.wait_write and not self.polling \
            and (self.splicer is None or self.small) \
            and not getattr(self.src, "notify_parent", None)

    def step(self) -> int:
        """transfer() of a plain direction in its steady state (see Relay._fast):
        one read of at most step_size bytes, one write of all of them; the same
        results, the same messages."""
        try:
            data = os.read(self.src.rfd, self.step_size)
        except (BlockingIOError, InterruptedError):
            return -1
        except OSError as e:
            return self._read_failed(self.src.rfd, e.errno, e.strerror, self.step_size)
        n = len(data)
        if not n:
            return 0
        if n >= SMALL_READ and self.splicer is not None:
            self.small = False             # bulk again: back to splice
        try:
            if self.nb_flags is not None:
                try:
                    k = os.write(self.dst.wfd, data)
                except (BlockingIOError, InterruptedError):
                    k = 0
                if k < n:
                    k += _write_some(self.dst.wfd, memoryview(data)[k:])
                    if k < n:
                        self.backlog = memoryview(data)[k:]
                        self.wait_write = True
            else:
                self.dst.write(data)
        except OSError as e:
            return self._write_failed(e, data)
        self.moved += n
        self.blocks += 1
        return n

    def close(self, flush: bool = True, own_fds=()) -> None:
        """Write out what is still held (blocking, as socat's writes), then restore.

        Not after an error, nor into a pipe this relay itself reads (PIPE):
        nobody would ever take it."""
        if self.nb_flags is not None and (not flush or _same_pipe(self.nb_fd, own_fds)):
            self.backlog = None
            if self.splicer is not None:
                self.splicer.held = 0
        if self.nb_flags is not None:
            if self.dst.wfd != self.nb_fd:
                self.nb_flags = None        # half-closed already: nothing held
                return self._close_splicer()
            try:
                fcntl.fcntl(self.nb_fd, fcntl.F_SETFL, self.nb_flags)
            except OSError:
                pass
            self.nb_flags = None
            try:
                if self.backlog is not None:
                    data, self.backlog = self.backlog, None
                    self.dst.write(data)
                if self.splicer is not None:
                    self.splicer.flush()
            except (OSError, SocatError) as e:
                LOG.error(f"write({self.dst.wfd}): {getattr(e, 'strerror', None) or e}")
        self._close_splicer()

    def _close_splicer(self) -> None:
        if self.splicer is not None:
            self.splicer.close()
        if self.batch is not None:
            self.batch.close()
            self.batch = None

    def _flush_backlog(self) -> int:
        """Move what the destination could not take before; -1 when it still cannot."""
        view = self.backlog
        try:
            n = _write_some(self.dst.wfd, view)
        except OSError as e:
            if e.errno in _COOL and self.dst.cool_write:
                self.backlog = None
                self.wait_write = False
                LOG.notice(f"write({self.dst.wfd}, 0x{id(view):x}, {len(view)}): {e.strerror}")
                return IN_ERROR
            raise SocatError(f"write({self.dst.wfd}, {len(view)}): {e.strerror}") from None
        if n < len(view):
            self.backlog = view[n:]
            self.wait_write = True
        else:
            self.backlog = None
        return n or -1

    def _read_failed(self, fd: int, err: int, strerror: str, n: int) -> int:
        """socat's xioread() failure: E read(fd, buffer, bufsiz) and the end of
        the run; EPIPE/ECONNRESET under 1.7.4.4 only a W and the direction in
        error (xioread.c:63-68)."""
        size = self.cfg_bufsize if self.left is None else min(self.cfg_bufsize, self.left)
        text = f"read({fd}, 0x{id(self):x}, {size}): {strerror}"
        if err in _COOL:
            from ..versions import ACTIVE
            if not ACTIVE.read_reset_is_error:
                LOG.warn(text)
                return IN_ERROR
        raise SocatError(text)

    def transfer(self, closing: bool, nowait: bool = False) -> int:
        """Move one block; 0 means EOF (or nothing), -1 error handled.

        ``nowait``: a further packet of a burst, read only if already queued."""
        if self.backlog is not None:
            return self._flush_backlog()
        if self.batch is not None:
            return self.batch.step()
        return self.read_write(nowait)

    def read_write(self, nowait: bool = False) -> int:
        """One read, one complete write (transfer() without a batch)."""
        n = self.bufsize if self.left is None else min(self.bufsize, self.left)
        if self.splicer is not None and self.small:
            n = min(n, SMALL_READ)
        elif self.splicer is not None:
            try:
                moved = self.splicer.move(n)
            except SocatError as e:
                if hasattr(e, "read_errno"):
                    return self._read_failed(e.rfd, e.read_errno, e.strerror, n)
                if not hasattr(e, "consumed"):
                    raise
                count = e.count
                if not e.consumed:
                    # nothing was taken from the source: take what the splice
                    # would have moved, as socat's read() before its write()
                    # did, so the failure names that byte count (and the data
                    # is not offered again)
                    self.splicer.close()
                    self.splicer = None
                    try:
                        count = len(self.src.read(n) or b"")
                    except OSError:
                        pass
                    else:
                        if not count:
                            # the source was at its end: socat's read() sees the
                            # EOF before any write (splice reports EPIPE first)
                            return 0
                if e.errno in _COOL and self.dst.cool_write:
                    LOG.notice(f"write({e.wfd}, 0x{id(self):x}, {count}): {e.strerror}")
                    return IN_ERROR
                raise SocatError(f"write({e.wfd}, {count}): {e.strerror}") from None
            if moved is not None:
                if self.splicer.blocked:
                    self.splicer.blocked = False
                    self.wait_write = True
                elif 0 < moved < SMALL_SPLICE and not self.splicer.held:
                    # small messages (request/response): two splices through a
                    # pipe cost more than one read and one write
                    self.small = True
                return self._moved(moved)
            self.splicer = None            # not for these fds: read/write from now on
        try:
            data = self.src.read_nowait(n) if nowait else self.src.read(n)
        except BlockingIOError:
            return -1
        except InterruptedError:
            return -1
        except ReadInError:
            return IN_ERROR
        except OSError as e:
            return self._read_failed(self.src.rfd, e.errno, e.strerror, n)
        if self.small and data and len(data) >= SMALL_READ:
            self.small = False             # bulk again: back to splice
        if not data:
            if self.src.datagram and not self.src.null_eof and data is not None:
                return -1           # socat ignores empty datagrams
            return 0
        if self.left is not None:
            self.left -= len(data)
        if self.escape >= 0:
            pos = data.find(bytes([self.escape]))
            if pos >= 0:
                LOG.info("escape char found in input")
                data = data[:pos]
                self.escaped = True
        if self.convert and data:
            data = convert_lineterm(data, *self.lt)
        if data:
            if self.sniff is not None:
                try:
                    os.write(self.sniff, data)
                except OSError:
                    pass
            if self.dumper:
                self.dumper.dump(data)
            try:
                if self.nb_flags is not None:
                    k = _write_some(self.dst.wfd, data)
                    if k < len(data):
                        self.backlog = memoryview(data)[k:]
                        self.wait_write = True
                else:
                    self.dst.write(data)
            except OSError as e:
                return self._write_failed(e, data)
            self.moved += len(data)
            self.blocks += 1
            if LOG.level <= 1:
                LOG.info(f"transferred {len(data)} bytes from {self.src.rfd} to {self.dst.wfd}")
        if self.escaped or (self.left is not None and self.left <= 0):
            return 0
        return len(data) or -1

    def _write_failed(self, e: OSError, data) -> int:
        """socat's xiowrite() failure: with cool-write EPIPE/ECONNRESET is a
        notice and the direction is then "in error", else an E."""
        if e.errno in _COOL and self.dst.cool_write:
            LOG.notice(f"write({self.dst.wfd}, 0x{id(data):x}, {len(data)}): "
                       f"{e.strerror}")
            return IN_ERROR
        raise SocatError(f"write({self.dst.wfd}, {len(data)}): {e.strerror}") from None

    def _moved(self, n: int) -> int:
        """Book-keeping of a splice step (the read/write path's, without the data)."""
        if n <= 0:
            return n                      # 0 EOF, -1 nothing this time
        if self.left is not None:
            self.left -= n
        self.moved += n
        self.blocks += 1
        if LOG.level <= 1:
            LOG.info(f"transferred {n} bytes from {self.src.rfd} to {self.dst.wfd}")
        if self.left is not None and self.left <= 0:
            return 0
        return n


def _poller(dirs, *extra):
    """An epoll with the sources (and the wake-up/stop fds) registered once;
    None when one of them cannot be polled that way (a regular file, /dev/null)."""
    try:
        poller = select.epoll()
    except (OSError, AttributeError):
        return None
    try:
        for fd in [d.src.rfd for d in dirs] + [fd for fd in extra if fd is not None]:
            poller.register(fd, select.EPOLLIN)
    except (OSError, ValueError):
        poller.close()
        return None
    return poller


def _is_pipe(fd) -> bool:
    try:
        return fd is not None and fd >= 0 and stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _peer_blocks(fd) -> bool:
    """A socket, pipe or terminal this process opened (not one of stdio, which
    is shared with others and keeps its flags): its writes may wait for a peer."""
    if fd is None or fd <= 2:
        return False
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and os.isatty(fd))


def _same_pipe(fd, fds) -> bool:
    """``fd`` writes into a pipe one of ``fds`` reads."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISFIFO(st.st_mode):
            return False
        for other in fds:
            if other is not None and other >= 0 and other != fd:
                o = os.fstat(other)
                if (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino):
                    return True
    except OSError:
        pass
    return False


def _write_some(fd: int, data) -> int:
    """Write without blocking: the byte count the destination took (maybe 0)."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        try:
            done += os.write(fd, view[done:])
        except InterruptedError:
            continue
        except BlockingIOError:
            break
    return done


def _raw_fd(ep, method: str) -> bool:
    """True when ``ep``'s read (write) is the plain fd call splice can replace."""
    from .endpoint import DualEndpoint, Endpoint
    if isinstance(ep, DualEndpoint):
        ep = ep.reader if method == "read" else ep.writer
    flag = getattr(ep, "zero_copy", None)   # an endpoint may say so itself
    if flag is not None:
        return bool(flag)
    cls = type(ep)
    return getattr(cls, method) is getattr(Endpoint, method) and cls.pending is Endpoint.pending


class _Splicer:
    """Zero-copy moves from one fd to another with splice(2).

    One side a pipe: splice straight across. Otherwise through a private pipe:
    fill it from the source (non-blocking on the pipe, so a spurious wake-up
    returns EAGAIN), then drain it completely into the destination before the
    step ends, so no byte stays behind when the loop decides on EOF, -t or -T.
    ``move`` returns None when splice does not work for these descriptors
    (nothing has been consumed then); the caller falls back to read/write.
    """

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.rfd, self.wfd = src.rfd, dst.wfd
        self.src_pipe = _is_pipe(self.rfd)
        self.dst_pipe = _is_pipe(self.wfd)
        self.direct = self.src_pipe or self.dst_pipe
        self.pipe = None
        self.blocked = False        # the destination was full: wait for it
        self.nonblocking = False    # the destination fd is O_NONBLOCK (see _Direction)
        self.held = 0               # bytes in our pipe the destination has yet to take

    def close(self) -> None:
        if self.pipe is not None:
            for fd in self.pipe:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.pipe = None

    def move(self, n: int):
        """Move up to n bytes: count, 0 at EOF, -1 for nothing now, None: no splice."""
        if self.direct:
            return self._direct(n)
        if self.held:
            self._drain(self.held)
            if self.held:
                return -1            # no new bytes from the source this step
        if self.pipe is None:
            self.pipe = os.pipe2(os.O_CLOEXEC)
            try:
                import fcntl
                fcntl.fcntl(self.pipe[1], 1031, SPLICE_PIPE_SIZE)   # F_SETPIPE_SZ
            except OSError:
                pass
        try:
            got = os.splice(self.rfd, self.pipe[1], n,
                            flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
        except (BlockingIOError, InterruptedError):
            return -1
        except OSError as e:
            if e.errno in _NO_SPLICE:
                self.close()
                return None
            raise _read_error(self.rfd, e) from None
        if got:
            self._drain(got)
        return got

    def _direct(self, n: int):
        try:
            if self.dst_pipe:
                # never block on a full pipe: its reader may be this very loop
                # (PIPE, a!!b); the loop waits for it to become writable
                return os.splice(self.rfd, self.wfd, n,
                                 flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
            return os.splice(self.rfd, self.wfd, n, flags=os.SPLICE_F_MOVE)
        except InterruptedError:
            return -1
        except BlockingIOError:
            if self.dst_pipe:
                self.blocked = True
                return -1
            if self.nonblocking:
                # source empty or destination full: the loop selects for both
                self.blocked = True
                return -1
            # source empty or destination full (either may be non-blocking):
            # wait until the destination takes data, then let select() decide
            select.select([], [self.wfd], [], 1.0)
            return -1
        except OSError as e:
            if e.errno in _NO_SPLICE:
                return None
            if e.errno == errno.EPIPE or (e.errno == errno.ECONNRESET and self.src_pipe):
                raise _write_error(self.wfd, n, e, consumed=False) from None
            raise _read_error(self.rfd, e) from None

    def flush(self) -> None:
        """At the end: what our pipe still holds goes out, waiting as long as needed."""
        self.nonblocking = False
        if self.held and self.pipe is not None:
            self._drain(self.held)

    def _drain(self, left: int) -> None:
        """Our pipe into the destination: all of it (blocking like write()), or
        with a non-blocking destination what it takes, the rest ``held``."""
        pr = self.pipe[0]
        self.held = 0
        while left:
            try:
                k = os.splice(pr, self.wfd, left, flags=os.SPLICE_F_MOVE)
            except InterruptedError:
                continue
            except BlockingIOError:
                if self.nonblocking:
                    self.held = left
                    self.blocked = True
                    return
                select.select([], [self.wfd], [], 1.0)
                continue
            except OSError as e:
                if e.errno in _NO_SPLICE:
                    self._drain_copy(left)  # the destination cannot splice
                    return
                raise _write_error(self.wfd, left, e) from None
            left -= k

    def _drain_copy(self, left: int) -> None:
        """Fallback for a destination without splice: copy out what the pipe holds."""
        pr = self.pipe[0]
        while left:
            data = os.read(pr, left)
            if not data:
                break
            try:
                self.dst.write(data)
            except OSError as e:
                raise _write_error(self.wfd, len(data), e) from None
            left -= len(data)
        # from now on this direction reads and writes: make move() report that
        self.close()
        self.direct = False
        self.move = lambda n: None


class Relay:
    """socat's transfer loop over two opened endpoints."""

    def __init__(self, ep1, ep2, cfg: RelayConfig | None = None, children=()):
        self.ep1, self.ep2 = ep1, ep2
        self.cfg = cfg or RelayConfig()
        self.children = list(children)  # ChildProcess objects to watch
        self.dirs = []
        if self.cfg.direction in ("both", "lr"):
            self.dirs.append(_Direction(1, ep1, ep2, self.cfg, False))
        if self.cfg.direction in ("both", "rl"):
            self.dirs.append(_Direction(2, ep2, ep1, self.cfg, True))
        self.stop_requested = False

    def fds(self):
        return self.ep1.rfd, self.ep1.wfd, self.ep2.rfd, self.ep2.wfd

    def run(self) -> int:
        """Run until done; returns socat's exit status (0)."""
        cfg = self.cfg
        r1, w1, r2, w2 = self.fds()
        LOG.enter_daemon_phase()     # -lm: "switching to syslog"
        LOG.notice(f"starting data transfer loop with FDs [{r1},{w1}] and [{r2},{w2}]")
        total = self.total = total_timeout(cfg.total_timeout)
        # signal handlers exist only in the main thread; a relay in another
        # thread (pysocat.api) reaps its children when it closes
        wake_r = None
        if self.children:
            wake_r = _install_sigchld()
        self.closing_deadline = None
        self.last_action = time.monotonic()
        failed = False
        # only shut-close leaves a closed number to poll: not looked for otherwise
        shut_close = any(sub is not None and sub.shut == "close"
                         for ep in (self.ep1, self.ep2)
                         for sub in (ep, getattr(ep, "reader", None), getattr(ep, "writer", None)))
        # the fast loop (see _fast): directions that only copy bytes
        fast = LOG.level > 1 and total != 0 and (total is None or total > 0) \
            and all(d.plain for d in self.dirs)
        poller = None
        after_fast = False
        try:
            while not self.stop_requested:
                active = [d for d in self.dirs if not d.eof]
                if not active:
                    break
                if fast and not after_fast and self.closing_deadline is None \
                        and len(active) == len(self.dirs) and all(d.fast_ready() for d in active):
                    if poller is None:
                        poller = _poller(self.dirs, wake_r, cfg.stop_fd)
                        if poller is None:
                            fast = False
                            continue
                    if self._fast(poller):
                        return 0
                    after_fast = True      # one pass of the general loop: it sees why
                    continue
                after_fast = False
                closing_deadline = self.closing_deadline
                timeout = None
                if closing_deadline is not None or total is not None:
                    now = time.monotonic()
                if closing_deadline is not None:
                    timeout = closing_deadline - now
                    if timeout <= 0:
                        break
                if total is not None:
                    if total < 0:   # 1.7.4.4 hands a negative -T to poll()
                        self._poll_error(OSError(errno.EINVAL, os.strerror(errno.EINVAL)),
                                         total)
                    t = self.last_action + total - now
                    if t <= 0 < total:
                        LOG.notice("inactivity timeout triggered")
                        break
                    t = max(t, 0.0)     # -T 0: one look at what is ready
                    timeout = t if timeout is None else min(timeout, t)
                polling = [d for d in active if d.polling]
                if polling:
                    timeout = POLL_INTERVAL if timeout is None else min(timeout, POLL_INTERVAL)
                ready = [d for d in active if not d.polling and d.src.pending()]
                if not ready:
                    rlist = [d.src.rfd for d in active if not d.polling and not d.wait_write]
                    wlist = [d.dst.wfd for d in active if d.wait_write]
                    if wake_r is not None:
                        rlist.append(wake_r)
                    if cfg.stop_fd is not None:
                        rlist.append(cfg.stop_fd)
                    try:
                        if shut_close and self._closed_fds() & set(rlist + wlist):
                            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
                        got, wgot, _ = select.select(rlist, wlist, [], timeout)
                    except InterruptedError:
                        got = wgot = []
                    except OSError as e:
                        self._poll_error(e, timeout)
                    unblocked = [d for d in active if d.wait_write and d.dst.wfd in wgot]
                    for d in unblocked:
                        d.wait_write = False        # its data is still waiting
                    if cfg.stop_fd is not None and cfg.stop_fd in got:
                        return 0
                    if wake_r is not None and wake_r in got:
                        _drain(wake_r)
                        if self._reap_children() and self.closing_deadline is None:
                            # socat_sigchild(): the child's end closes the run
                            self.closing_deadline = time.monotonic() + cfg.closing_timeout
                    if not got and not unblocked:
                        if total == 0 and not polling:
                            LOG.notice("inactivity timeout triggered")
                            break
                        ready = polling
                    else:
                        ready = [d for d in active if d in unblocked or
                                 (d.src.rfd in got and not d.polling and not d.wait_write)]
                        ready += polling if not ready else []
                for d in ready:
                    closing = self.closing_deadline is not None
                    res = d.transfer(closing)
                    k = d.burst
                    while res > 0 and k:
                        # whatever is already queued, before the next select()
                        k -= 1
                        res = d.transfer(closing, True)
                        if res == IN_ERROR:
                            break
                        if res < 0:
                            res = 1
                            break
                    if self._outcome(d, res):
                        return 0
            return 0
        except BaseException:
            failed = True
            raise
        finally:
            if poller is not None:
                poller.close()
            own = (self.ep1.rfd, self.ep2.rfd)
            for d in self.dirs:
                d.close(flush=not failed, own_fds=own)
            if wake_r is not None:
                _uninstall_sigchld(wake_r)

    def _outcome(self, d, res) -> bool:
        """What a step's result means for the run; True when the run ends here."""
        if res > 0:
            if self.total is not None:
                self.last_action = time.monotonic()
            d.polling = False
            return False
        if res == IN_ERROR:
            # socat: closing starts; -u/-U end here (exit 0)
            LOG.notice(f"socket {d.index} to socket {3 - d.index} is in error")
            if len(self.dirs) == 1:
                return True
            if self.closing_deadline is None:
                self.closing_deadline = time.monotonic() + self.cfg.closing_timeout
            return False
        if res < 0:
            return False
        # EOF on this direction's source
        if d.src.ignoreeof and not d.escaped and self.closing_deadline is None \
                and not (d.left is not None and d.left <= 0):
            d.polling = True
            LOG.debug(f"socket {d.index} (fd {d.src.rfd}) is at EOF, ignoring")
            return False
        LOG.notice(f"socket {d.index} (fd {d.src.rfd}) is at EOF")
        d.eof = True
        d.polling = False
        d.dst.shutdown_write()
        if len(self.dirs) == 1:
            return True
        if self.closing_deadline is None:
            self.closing_deadline = time.monotonic() + self.cfg.closing_timeout
        return False

    def _fast(self, poller) -> bool:
        """The steady state of a relay whose directions only copy bytes.

        While every direction is active, holds nothing back and moves small
        steps by read/write (bulk goes through splice in the general loop), one
        epoll registered once waits for the sources, and each wake-up costs one
        read and one write per ready source. Anything else (EOF, an error, a
        destination that is full, bulk data, a child, a stop request, -T) goes
        back to the general loop, which sees the same level-triggered readiness.
        True when the run ends."""
        by_fd = {d.src.rfd: d for d in self.dirs}
        wait = poller.poll
        total = self.total
        timeout = -1
        monotonic = time.monotonic
        while not self.stop_requested:
            if total is not None:
                timeout = self.last_action + total - monotonic()
                if timeout <= 0:
                    return False
            events = wait(timeout)
            if not events:
                return False
            for fd, _ in events:
                d = by_fd.get(fd)
                if d is None or not d.fast_ready():
                    return False          # the wake-up pipe, the stop fd, bulk data
                res = d.step()
                if res > 0:
                    if total is not None:
                        self.last_action = monotonic()
                    if d.wait_write:
                        return False
                elif res != -1:
                    return self._outcome(d, res)
        return False

    def _closed_fds(self) -> set:
        """Descriptors shut-close closed (socat keeps polling their numbers)."""
        out = set()
        for ep in (self.ep1, self.ep2):
            for sub in (ep, getattr(ep, "reader", None), getattr(ep, "writer", None)):
                if sub is not None and sub.shut_closed >= 0:
                    out.add(sub.shut_closed)
        return out

    def _poll_error(self, exc: OSError, timeout) -> None:
        """socat's "xiopoll({fd,events}x4, 4, {timeout}): error" and exit 1."""
        slots = []
        for index, ep in ((1, self.ep1), (2, self.ep2)):
            d = next((d for d in self.dirs if d.index == index), None)
            fd = d.src.rfd if d is not None and not d.eof else -1
            slots.append(f"{{{fd},1}}{{-1,4}}")
        t = timeout or 0.0
        if t > 0 or not exc.errno == errno.EINVAL:
            t = max(t, 0.0)
        secs = int(t)           # a negative -T (1.7): {-1.000000}, {-1.-500000}
        raise SocatError(f"xiopoll({''.join(slots)}, 4, "
                         f"{{{secs}.{int((t - secs) * 1e6):06d}}}): {exc.strerror}")

    def _reap_children(self) -> bool:
        """Reap ended children; True when one failed and the run goes on
        (1.8.1.3: a W) towards its end, as socat_sigchild() starts closing
        unless the child's address has ignoreeof."""
        closing = False
        for child in self.children:
            before = child.warned
            child.poll_exit(from_signal=True)
            if child.warned and not before:
                from ..core import _children
                ep = self.ep1 if child in _children(self.ep1) else self.ep2
                closing = closing or not ep.ignoreeof
        return closing


# SIGCHLD → self-pipe so select() wakes up when an EXEC child ends
_wake_w = None
_saved = (-1, signal.SIG_DFL)   # the wakeup fd and SIGCHLD handler we replaced


def _install_sigchld():
    """The SIGCHLD wake-up pipe's read end; None outside the main thread.

    Asked of signal.signal() itself, not of ``threading``: a fork server that
    never imports threading spares each child threading's at-fork hook
    (~50 page faults a connection)."""
    global _wake_w, _saved
    try:
        handler = signal.signal(signal.SIGCHLD, lambda s, f: None)
    except ValueError:
        return None
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    _wake_w = w
    _saved = (signal.set_wakeup_fd(w, warn_on_full_buffer=False), handler)
    # a child that ended before the handler existed sent its SIGCHLD to nobody:
    # one wake-up now makes the loop look at the children once
    os.write(w, b"\0")
    return r


def _uninstall_sigchld(r):
    global _wake_w
    signal.set_wakeup_fd(_saved[0])
    signal.signal(signal.SIGCHLD, _saved[1] if _saved[1] is not None else signal.SIG_DFL)
    for fd in (r, _wake_w):
        try:
            os.close(fd)
        except OSError:
            pass
    _wake_w = None


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
