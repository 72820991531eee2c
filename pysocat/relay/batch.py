"""Batched datagrams: many packets per system call, each still one packet.

A datagram direction whose source is a plain datagram socket reads with
``recvmmsg(2)`` (or, a TUN device, one non-blocking ``readv`` per packet, as
one read is one packet there) into slots of ``-b`` bytes each, so every packet
is truncated at ``-b`` exactly as one ``recv(fd, buf, -b)`` truncates it; the
destination, a datagram socket, takes all of them with ``sendmmsg(2)``, one
message per packet, in order; any other destination gets one ``write`` per
packet through its own ``write``. Empty datagrams are skipped as the relay
skips them (or end the direction with ``null-eof``).

glibc only (ctypes); where the calls are missing the relay keeps its one
read / one write per packet.
"""
from __future__ import annotations

import ctypes
import errno
import mmap
import os
import socket
import struct
import time

from ..errors import ReadInError
from .engine import BURST, IN_ERROR

MSG_DONTWAIT = socket.MSG_DONTWAIT
MAX_BATCH = 64
MAX_BYTES = 4 << 20      # slots of -b bytes each: at most this much address space
# A packet that comes within this of the one before is looked for a follower at
# once; a ping or request/response comes one round trip apart (far more).
QUEUED_GAP = 200e-6


class _iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(_iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class _mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _msghdr), ("msg_len", ctypes.c_uint)]


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            recv, send = libc.recvmmsg, libc.sendmmsg
        except (OSError, AttributeError):
            _LIBC = False
            return False
        recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                         ctypes.c_void_p]
        recv.restype = ctypes.c_int
        send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        send.restype = ctypes.c_int
        _LIBC = (recv, send)
    return _LIBC


def sockaddr_bytes(family, addr) -> bytes | None:
    """The C sockaddr of a Python INET/INET6 address tuple (None: not one of those)."""
    try:
        if family == socket.AF_INET:
            return struct.pack("=H", family) + struct.pack("!H", addr[1]) + \
                socket.inet_pton(family, addr[0]) + bytes(8)
        if family == socket.AF_INET6:
            flow = addr[2] if len(addr) > 2 else 0
            scope = addr[3] if len(addr) > 3 else 0
            return struct.pack("=H", family) + struct.pack("!HI", addr[1], flow) + \
                socket.inet_pton(family, addr[0]) + struct.pack("=I", scope)
    except (OSError, TypeError, ValueError, IndexError, struct.error):
        pass
    return None


class Batch:
    """The buffers and message headers of one direction (see the module doc).

    ``reader``: "mmsg" (recvmmsg on a socket) or "readv" (a packet device);
    ``writer``: "mmsg" (sendmmsg, to ``dest`` or connected), or "write"."""

    def __init__(self, d, reader: str, writer: str):
        self.d = d
        self.src, self.dst = d.src, d.dst
        self.reader, self.writer = reader, writer
        size = max(1, d.bufsize)
        self.size = size
        self.count = count = max(1, min(MAX_BATCH, MAX_BYTES // size))
        self.recv, self.send = _libc()
        # the slots: an anonymous mapping, so only the bytes packets fill are touched
        self.mem = mmap.mmap(-1, size * count)
        self.buf = (ctypes.c_char * (size * count)).from_buffer(self.mem)
        base = ctypes.addressof(self.buf)
        self.bases = [base + i * size for i in range(count)]
        self.view = memoryview(self.mem)
        self.slots = [self.view[i * size:(i + 1) * size] for i in range(count)]
        self.riov = (_iovec * count)()
        self.rmsgs = (_mmsghdr * count)()
        self.siov = (_iovec * count)()
        self.smsgs = (_mmsghdr * count)()
        for i in range(count):
            self.riov[i].iov_base = self.bases[i]
            self.riov[i].iov_len = size
            self.siov[i].iov_base = self.bases[i]
            for msgs, iov in ((self.rmsgs, self.riov), (self.smsgs, self.siov)):
                h = msgs[i].msg_hdr
                h.msg_iov = ctypes.pointer(iov[i])
                h.msg_iovlen = 1
        self.rlen = memoryview(self.rmsgs).cast("B").cast("I")   # msg_len: [16 i + 14]
        self.slen = memoryview(self.siov).cast("B").cast("Q")    # base [2 i], len [2 i + 1]
        self.msize = ctypes.sizeof(_mmsghdr)
        self.smsgs_addr = ctypes.addressof(self.smsgs)
        self.rmsgs_addr = ctypes.addressof(self.rmsgs)
        self.dest = None            # the SockAddr the names were made for
        self.single = True          # one packet per wake-up (see step)
        self.last = 0.0             # when the last single packet moved
        self.name = None

    def close(self) -> None:
        for v in self.slots:
            v.release()
        self.view.release()
        self.rlen.release()
        self.slen.release()
        del self.buf
        try:
            self.mem.close()
        except BufferError:
            pass

    # ----------------------------------------------------------------- reading
    def _read(self) -> list:
        """The lengths of the packets read now (possibly none: BlockingIOError)."""
        fd = self.src.rfd
        if self.reader == "mmsg":
            k = self.recv(fd, self.rmsgs_addr, self.count, MSG_DONTWAIT, None)
            if k < 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            rlen = self.rlen
            return [rlen[16 * i + 14] for i in range(k)]
        out = []
        readv = os.readv
        for slot in self.slots:
            try:
                n = readv(fd, [slot])
            except (BlockingIOError, InterruptedError):
                if out:
                    break
                raise
            out.append(n)
        return out

    def step(self) -> int:
        """One batch: the bytes moved (> 0), 0 at EOF, -1 nothing (or only
        skipped packets); errors as the relay's read and write report them.

        A batch costs more than one read and one write when only one packet
        waits (ping, request/response): then the direction moves single
        packets, as the relay's burst does, until a wake-up finds a second
        one queued behind the first (see _single)."""
        d = self.d
        if self.single:
            return self._single()
        if self.src.pending():
            return 0                     # a datagram socket shut down: read() says EOF
        try:
            lens = self._read()
        except (BlockingIOError, InterruptedError):
            return -1
        except OSError as e:
            return d._read_failed(self.src.rfd, e.errno, e.strerror, d.bufsize)
        if len(lens) == 1:
            self.single = True
        eof = False
        slen = self.slen
        bases = self.bases
        j = 0
        total = 0
        for i, n in enumerate(lens):
            if not n:
                if self.src.null_eof:
                    eof = True
                    break
                continue                 # socat ignores empty datagrams
            slen[2 * j] = bases[i]
            slen[2 * j + 1] = n
            total += n
            j += 1
        if j:
            res = self._write(j)
            if res < 0:
                return res
            d.moved += total
            d.blocks += j
        if eof:
            return 0
        return total or -1

    def _single(self) -> int:
        """One packet; then, if packets come close together, whatever is
        already queued behind it, as the relay's burst does (a second one
        found means batches from now on).

        A packet that comes long after the one before (a ping, request and
        response) is not followed by a read for a second one: on a round
        trip's path that read would come between the request's write and the
        reply's read, and it would find nothing."""
        d = self.d
        res = self._one()
        if res <= 0:
            return res
        now = time.monotonic()
        busy = now - self.last < QUEUED_GAP
        self.last = now
        if not busy:
            return res
        k = BURST
        while k:
            k -= 1
            more = d.read_write(True)
            if more == IN_ERROR:
                return more
            if more < 0:
                break
            self.single = False          # packets queue up: batches from now on
            if more == 0:
                return 0
        return res

    def _one(self) -> int:
        """The relay's read_write() for a direction a batch may move: the
        source's own read, the destination's own write, the same results."""
        d = self.d
        try:
            data = self.src.read(self.size)
        except (BlockingIOError, InterruptedError):
            return -1
        except ReadInError:
            return IN_ERROR
        except OSError as e:
            return d._read_failed(self.src.rfd, e.errno, e.strerror, self.size)
        if not data:
            # socat skips empty datagrams; null-eof (or a source at EOF: None) ends
            return -1 if data is not None and not self.src.null_eof else 0
        try:
            self.dst.write(data)
        except OSError as e:
            return d._write_failed(e, data)
        d.moved += len(data)
        d.blocks += 1
        return len(data)

    # ----------------------------------------------------------------- writing
    def _write(self, j: int) -> int:
        slen = self.slen
        if self.writer == "write":
            view = self.view
            write = self.dst.write
            base0 = self.bases[0]
            for i in range(j):
                off = slen[2 * i] - base0
                data = view[off:off + slen[2 * i + 1]]
                try:
                    write(data)
                except OSError as e:
                    return self.d._write_failed(e, data)
            return 0
        dst = self.dst
        fd = dst.wfd
        dest = getattr(dst, "sendto", None)
        if dest is not self.dest and not self._name(dest):
            self.writer = "write"        # an address sendmmsg cannot name: write()
            return self._write(j)
        done = 0
        addr, msize = self.smsgs_addr, self.msize
        while done < j:
            k = self.send(fd, addr + done * msize, j - done, 0)
            if k < 0:
                e = ctypes.get_errno()
                if e == errno.EINTR:
                    continue
                n = slen[2 * done + 1]
                exc = OSError(e, os.strerror(e))
                if dest is not None:
                    raise dst.send_failed(n, exc)
                off = slen[2 * done] - self.bases[0]
                return self.d._write_failed(exc, self.view[off:off + n])
            done += k
        return 0

    def _name(self, dest) -> bool:
        """msg_name of every message: the destination's sockaddr (None: connected)."""
        self.dest = dest
        if dest is None:
            ptr, length = None, 0
        else:
            raw = sockaddr_bytes(dest.family, dest.addr)
            if raw is None:
                return False
            self.name = ctypes.create_string_buffer(raw, len(raw))
            ptr, length = ctypes.addressof(self.name), len(raw)
        for i in range(self.count):
            h = self.smsgs[i].msg_hdr
            h.msg_name = ptr
            h.msg_namelen = length
        return True


def plan(d, log_level: int):
    """The Batch for direction ``d`` or None (then one read and one write per packet)."""
    from ..log import NOTICE
    src, dst = d.src, d.dst
    if log_level <= NOTICE or d.convert or d.dumper or d.sniff is not None \
            or d.escape >= 0 or d.left is not None or dst.cool_write \
            or getattr(src, "oneshot", False):
        return None
    reader = src.batch_reader() if hasattr(src, "batch_reader") else None
    # (the relay looked at the cheap conditions before importing this module)
    if reader is None:
        return None
    writer = dst.batch_writer() if hasattr(dst, "batch_writer") else None
    if writer == "mmsg" and getattr(dst, "sendto", None) is not None and \
            sockaddr_bytes(dst.sendto.family, dst.sendto.addr) is None:
        writer = None
    if writer is None:
        writer = "write"
    if not _libc():
        return None
    try:
        return Batch(d, reader, writer)
    except (OSError, ValueError, MemoryError):
        return None
