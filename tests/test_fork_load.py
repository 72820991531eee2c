"""A fork server under load: no lost byte, no zombie, no descriptor leak (issue 9)."""
import os
import selectors
import signal
import socket
import time

from conftest import log_texts
from sockhelp import Server, children_of, free_port


def _fds(pid):
    return sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd"))


def _wave(port, n, tag):
    """n clients at once: each sends, half-closes, must get its bytes back."""
    sel = selectors.DefaultSelector()
    want, got = {}, {}
    for i in range(n):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        want[c] = (b"%s-%04d|" % (tag, i)) * 20
        got[c] = b""
        sel.register(c, selectors.EVENT_WRITE)
    pending = set(want)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1):
            c = key.fileobj
            if ev & selectors.EVENT_WRITE:
                c.setblocking(True)
                c.sendall(want[c])
                c.shutdown(socket.SHUT_WR)
                c.setblocking(False)
                sel.modify(c, selectors.EVENT_READ)
            else:
                try:
                    chunk = c.recv(65536)
                except BlockingIOError:
                    continue
                if chunk:
                    got[c] += chunk
                else:
                    sel.unregister(c)
                    pending.discard(c)
    for c in want:
        c.close()
    assert not pending, f"{len(pending)} of {n} clients did not finish"
    return [c for c in want if got[c] != want[c]]


def _wait_no_children(pid, timeout=15):
    deadline = time.monotonic() + timeout
    while children_of(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return children_of(pid)


# make test runs 3 waves of 100; make soak (PYSOCAT_SOAK=1) the full 1000
WAVES = 10 if os.environ.get("PYSOCAT_SOAK") else 3


def test_connections_100_at_a_time_no_leak():
    port = free_port()
    # -t 10: under load cat may answer later than the default 0.5 s closing time
    with Server("-t", "10", f"TCP4-LISTEN:{port},fork,reuseaddr,backlog=128", "EXEC:cat") as srv:
        srv.wait_port(port)
        assert _wave(port, 5, b"warm") == []
        assert _wait_no_children(srv.proc.pid) == []
        before = _fds(srv.proc.pid)
        for w in range(WAVES):
            assert _wave(port, 100, b"w%d" % w) == [], f"wave {w} lost bytes"
        assert _wait_no_children(srv.proc.pid) == []
        assert _fds(srv.proc.pid) == before
        assert srv.proc.poll() is None


def test_max_children_holds_under_a_storm():
    port = free_port()
    with Server("-t", "5", f"TCP4-LISTEN:{port},fork,reuseaddr,max-children=3,backlog=20",
                "SYSTEM:cat; sleep 0.2") as srv:
        srv.wait_port(port)
        peak = 0
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            kids = [k for k in children_of(srv.proc.pid)]
            peak = max(peak, len(kids))
            time.sleep(0.02)
        for s in socks:
            s.sendall(b"x")
            s.shutdown(socket.SHUT_WR)
        for s in socks:
            s.settimeout(20)
            assert s.recv(10) == b"x"
            s.close()
        assert 1 <= peak <= 3
        assert _wait_no_children(srv.proc.pid) == []


def test_sigterm_ends_fork_server_children_finish_their_connections():
    """As socat: the listener exits 143 at once, its children serve on and end."""
    port = free_port()
    srv = Server("-d", f"TCP4-LISTEN:{port},fork,reuseaddr", "EXEC:cat")
    clients = []
    try:
        srv.wait_port(port)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        deadline = time.monotonic() + 10
        while len(children_of(srv.proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        kids = [pid for pid, _ in children_of(srv.proc.pid)]
        assert len(kids) == 3
        srv.proc.send_signal(signal.SIGTERM)
        # the children still hold the server's stderr: wait, read it at the end
        assert srv.proc.wait(timeout=10) == 143
        for i, c in enumerate(clients):
            c.settimeout(10)
            c.sendall(b"still %d" % i)
            c.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = c.recv(100)
                if not chunk:
                    break
                got += chunk
            assert got == b"still %d" % i
        deadline = time.monotonic() + 10
        while any(_state(k) not in ("gone", "Z") for k in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_state(k) in ("gone", "Z") for k in kids)
        _, err = srv.proc.communicate(timeout=10)
        assert "W exiting on signal 15" in log_texts(err)
    finally:
        for c in clients:
            c.close()
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.communicate()


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
