"""Fixed senders, receivers and echo servers for bench.py (stdlib only).

Each helper is a separate process so that neither contender shares a CPU
time slice or the GIL with the load generator. Run as
``python3 helpers.py NAME ARGS…``; a helper that listens prints ``ready`` on
stdout first, and every helper prints its result as one JSON line on stdout.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time

BUF = 1 << 20


def _out(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _family(kind):
    return socket.AF_UNIX if kind == "unix" else socket.AF_INET


def _addr(kind, where):
    if kind == "unix":
        return where
    host, _, port = str(where).rpartition(":")
    return (host or "127.0.0.1", int(port))


def _connect(kind, where, timeout=10.0):
    """Connect, retrying while the contender is not listening yet."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(_family(kind), socket.SOCK_STREAM)
        try:
            s.connect(_addr(kind, where))
            return s
        except (ConnectionRefusedError, FileNotFoundError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def _listen(kind, where):
    s = socket.socket(_family(kind), socket.SOCK_STREAM)
    if kind != "unix":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(_addr(kind, where))
    s.listen(4)
    return s


def _drain_count(c) -> int:
    buf = bytearray(BUF)
    view = memoryview(buf)
    total = 0
    while True:
        n = c.recv_into(view)
        if not n:
            return total
        total += n


def stream_sink(kind, where):
    """Accept one connection, count bytes until EOF; time from accept to EOF."""
    s = _listen(kind, where)
    _out("ready")
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(None)
    t0 = time.perf_counter()
    total = _drain_count(c)
    t1 = time.perf_counter()
    c.close()
    _out({"bytes": total, "seconds": t1 - t0})


def stream_source(kind, where, path):
    """Connect and send the whole file with sendfile, then half-close and wait for EOF."""
    s = _connect(kind, where)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        off = 0
        while off < size:
            n = os.sendfile(s.fileno(), f.fileno(), off, size - off)
            if n == 0:
                break
            off += n
    s.shutdown(socket.SHUT_WR)
    _drain_count(s)
    s.close()
    _out({"sent": off})


def pipe_sink():
    """Count bytes on stdin (a pipe or socket) until EOF; time from first byte."""
    fd = 0
    buf = bytearray(BUF)
    view = memoryview(buf)
    total = 0
    t0 = None
    while True:
        n = os.readv(fd, [view])
        if t0 is None:
            t0 = time.perf_counter()
        if not n:
            break
        total += n
    t1 = time.perf_counter()
    sys.stderr.write(json.dumps({"bytes": total, "seconds": t1 - (t0 or t1)}) + "\n")


def pipe_sink_file(result_path):
    """pipe_sink for EXEC: stdout belongs to the relay, so write the result to a file."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # the relay may end us at its close
    fd = 0
    buf = bytearray(BUF)
    view = memoryview(buf)
    total = 0
    t0 = None
    while True:
        try:
            n = os.readv(fd, [view])
        except ConnectionResetError:
            break
        if t0 is None:
            t0 = time.perf_counter()
        if not n:
            break
        total += n
    t1 = time.perf_counter()
    with open(result_path + ".tmp", "w") as f:
        f.write(json.dumps({"bytes": total, "seconds": t1 - (t0 or t1)}))
    os.rename(result_path + ".tmp", result_path)


def echo(kind, where):
    """Accept one connection and echo until EOF."""
    s = _listen(kind, where)
    _out("ready")
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(None)
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
    c.close()


def rr_client(kind, where, count, size, hold=""):
    """count round trips of size bytes; latency percentiles in microseconds.

    ``hold``: print the result first and wait for a line on stdin before the
    half-close (the caller reads the relay's CPU time in between)."""
    s = _connect(kind, where)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) if kind != "unix" else None
    msg = os.urandom(int(size))
    size = int(size)
    lat = []
    buf = bytearray(size)
    for _ in range(int(count)):
        t0 = time.perf_counter_ns()
        s.sendall(msg)
        got = 0
        view = memoryview(buf)
        while got < size:
            n = s.recv_into(view[got:])
            if not n:
                raise SystemExit("rr_client: early EOF")
            got += n
        lat.append(time.perf_counter_ns() - t0)
        if bytes(buf) != msg:
            raise SystemExit("rr_client: the echo differs")
    lat.sort()
    med = lat[len(lat) // 2] / 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000
    if hold:
        _out({"median_us": med, "p99_us": p99})
        sys.stdin.readline()
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    if not hold:
        _out({"median_us": med, "p99_us": p99})


def udp_sink(port, idle):
    """Count datagrams until ``idle`` seconds pass without one (after the first)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)   # SO_RCVBUFFORCE (root)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind(_addr("udp", port))
    _out("ready")
    idle = float(idle)
    s.settimeout(15)
    count = nbytes = 0
    t_first = t_last = None
    buf = bytearray(65536)
    try:
        while True:
            n = s.recv_into(buf)
            t_last = time.perf_counter()
            if t_first is None:
                t_first = t_last
                s.settimeout(idle)
            count += 1
            nbytes += n
    except socket.timeout:
        pass
    span = (t_last - t_first) if t_first is not None else 0.0
    _out({"count": count, "bytes": nbytes, "seconds": span})


def udp_source(port, count, size, rate):
    """Send count datagrams of size bytes; rate 0 = as fast as possible."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(_addr("udp", port))
    msg = os.urandom(int(size))
    count, rate = int(count), float(rate)
    send = s.send
    t0 = time.perf_counter()
    if rate <= 0:
        for _ in range(count):
            try:
                send(msg)
            except ConnectionRefusedError:
                pass
    else:
        burst = max(1, int(rate / 1000))     # one burst per millisecond
        sent = 0
        while sent < count:
            due = t0 + sent / rate
            now = time.perf_counter()
            if now < due:
                time.sleep(min(due - now, 0.001))
                continue
            for _ in range(min(burst, count - sent)):
                try:
                    send(msg)
                except ConnectionRefusedError:
                    pass
                sent += 1
    _out({"sent": count, "seconds": time.perf_counter() - t0})


def dgram_fd_source(fd, count, size):
    """Send count datagrams on an inherited (blocking, flow-controlled) socket fd."""
    s = socket.socket(fileno=int(fd))
    msg = os.urandom(int(size))
    send = s.send
    for _ in range(int(count)):
        send(msg)
    _out({"sent": int(count)})


def dgram_fd_sink(fd, count):
    """Receive datagrams on an inherited fd until count or 2 s idle; rate from first to last."""
    s = socket.socket(fileno=int(fd))
    _out("ready")
    count = int(count)
    s.settimeout(15)
    buf = bytearray(65536)
    n = 0
    t_first = t_last = None
    try:
        while n < count:
            s.recv_into(buf)
            t_last = time.perf_counter()
            if t_first is None:
                t_first = t_last
                s.settimeout(2)
            n += 1
    except socket.timeout:
        pass
    _out({"count": n, "seconds": (t_last - t_first) if t_first else 0.0})


def echo_clients(port, n, deadline, tag=b"c", gap=0.0):
    """n clients at once on 127.0.0.1:port: each connects (non-blocking), sends one
    line, half-closes and reads the echo until EOF. Returns (ok, reset, other, late):
    echoed exactly, reset, failed otherwise or echoed other bytes, unfinished at
    ``deadline``. ``gap`` > 0 spaces the connects by that many seconds.
    (tests/test_fork_load.py's waves use it too.)"""
    import errno
    import selectors
    sel = selectors.DefaultSelector()
    want, got = {}, {}
    ok = reset = other = 0
    for i in range(n):
        if gap and i:
            time.sleep(gap)
        c = socket.socket()
        c.setblocking(False)
        err = c.connect_ex(("127.0.0.1", int(port)))
        if err not in (0, errno.EINPROGRESS):
            other += 1
            c.close()
            continue
        want[c] = b"%s-%05d " % (tag, i) * 4 + b"\n"
        got[c] = b""
        sel.register(c, selectors.EVENT_WRITE)
    pending = set(want)
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
            c = key.fileobj
            try:
                if ev & selectors.EVENT_WRITE:
                    e = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if e:
                        raise OSError(e, os.strerror(e))
                    c.send(want[c])          # small: fits the send buffer
                    c.shutdown(socket.SHUT_WR)
                    sel.modify(c, selectors.EVENT_READ)
                    continue
                chunk = c.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno in (errno.ECONNRESET, errno.EPIPE):
                    reset += 1
                else:
                    other += 1
                sel.unregister(c)
                pending.discard(c)
                continue
            if chunk:
                got[c] += chunk
                continue
            sel.unregister(c)
            pending.discard(c)
            if got[c] == want[c]:
                ok += 1
            else:
                other += 1
    late = len(pending)
    for c in want:
        c.close()
    sel.close()
    return ok, reset, other, late


def burst(port, n, timeout, gap=0.0):
    """One burst of n concurrent echo clients; counts of each outcome."""
    t0 = time.perf_counter()
    ok, reset, other, late = echo_clients(port, int(n), time.monotonic() + float(timeout),
                                      gap=float(gap))
    _out({"ok": ok, "reset": reset, "other": other, "late": late,
          "seconds": time.perf_counter() - t0})


def conn_rate(port, count, conc, timeout):
    """count echo connections, conc at a time (closed loop): connections per second."""
    import errno
    import selectors
    count, conc = int(count), int(conc)
    deadline = time.monotonic() + float(timeout)
    sel = selectors.DefaultSelector()
    started = done = ok = reset = other = 0
    t0 = time.perf_counter()

    def start():
        nonlocal started
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", int(port)))
        msg = b"r-%06d\n" % started
        started += 1
        sel.register(c, selectors.EVENT_WRITE, [msg, b""])

    while started < min(conc, count):
        start()
    while done < count and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1.0):
            c, data = key.fileobj, key.data
            fin = None
            try:
                if ev & selectors.EVENT_WRITE:
                    e = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if e:
                        raise OSError(e, os.strerror(e))
                    c.send(data[0])
                    c.shutdown(socket.SHUT_WR)
                    sel.modify(c, selectors.EVENT_READ, data)
                    continue
                chunk = c.recv(65536)
                if chunk:
                    data[1] += chunk
                    continue
                fin = "ok" if data[1] == data[0] else "other"
            except BlockingIOError:
                continue
            except OSError as e:
                fin = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "other"
            sel.unregister(c)
            c.close()
            done += 1
            if fin == "ok":
                ok += 1
            elif fin == "reset":
                reset += 1
            else:
                other += 1
            if started < count:
                start()
    secs = time.perf_counter() - t0
    _out({"done": done, "ok": ok, "reset": reset, "other": other,
          "seconds": secs, "rate": done / secs if secs > 0 else 0.0})


def echo_many(kind, where):
    """An echo server for many connections (one thread each) until killed."""
    import threading
    s = _listen(kind, where)
    s.listen(1024)
    _out("ready")

    def serve(c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def accept_floor(kind, where, quiet):
    """The best a Python fork server's parent could do in a burst: a bare loop at
    socat's backlog (5) that only accept()s while peers come and, once they
    pause for ``quiet`` seconds, echoes each held connection (no fork, no
    child competing for the CPU). Runs until killed."""
    s = _listen(kind, where)
    s.listen(5)
    _out("ready")
    held = []
    while True:
        s.settimeout(float(quiet) if held else None)
        try:
            c, _ = s.accept()
            held.append(c)
            continue
        except socket.timeout:
            pass
        for c in held:
            with c:
                c.settimeout(10)
                try:
                    while True:
                        data = c.recv(65536)
                        if not data:
                            break
                        c.sendall(data)
                except OSError:
                    pass
        held = []


HELPERS = {"accept_floor": accept_floor, "dgram_fd_source": dgram_fd_source, "dgram_fd_sink": dgram_fd_sink,
           "stream_sink": stream_sink, "stream_source": stream_source,
           "pipe_sink": pipe_sink, "pipe_sink_file": pipe_sink_file, "echo": echo,
           "rr_client": rr_client, "burst": burst, "conn_rate": conn_rate,
           "echo_many": echo_many, "udp_sink": udp_sink, "udp_source": udp_source}

if __name__ == "__main__":
    HELPERS[sys.argv[1]](*sys.argv[2:])
