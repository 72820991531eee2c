"""Batched datagrams (pysocat/relay/batch.py): many packets per system call, and
still each one datagram, whole or truncated at -b, in order; empty ones skipped.

The sender queues a group of datagrams at once (so that one recvmmsg() takes
many), waits until the receiver has them all, then sends the next group: no
datagram can be lost to a full socket buffer, and no timing is asserted.
"""
import os
import socket
import subprocess

import pytest

from conftest import PYSOCAT


def _udp(timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    return s


def _free_port():
    s = _udp()
    port = s.getsockname()[1]
    s.close()
    return port


def _bound(port, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    hexport = f":{port:04X}"
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as f:
            if any(line.split()[1].endswith(hexport) for line in list(f)[1:]):
                return True
        time.sleep(0.01)
    return False


def _relay(*args, port_in):
    p = subprocess.Popen(PYSOCAT + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert _bound(port_in), "the relay did not bind"
    return p


def _stop(p):
    p.terminate()
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    return err


def _groups(rng, groups, per_group, maxlen):
    out = []
    for _ in range(groups):
        group = []
        for _ in range(per_group):
            n = rng.randrange(0, maxlen + 1)
            group.append(rng.randbytes(n) if rng.random() > 0.05 else b"")
        out.append(group)
    return out


@pytest.mark.parametrize("bufsize", [None, 100, 1])
def test_udp_batches_keep_datagrams_whole_in_order_truncated_at_b(bufsize):
    import random
    rng = random.Random(bufsize or 7)
    sink = _udp()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    port_in = _free_port()
    args = (["-b", str(bufsize)] if bufsize else []) + \
        ["-u", f"UDP4-RECV:{port_in},bind=127.0.0.1",
         f"UDP4-SENDTO:127.0.0.1:{sink.getsockname()[1]}"]
    p = _relay(*args, port_in=port_in)
    src = _udp()
    limit = bufsize or 8192
    try:
        for group in _groups(rng, 25, 40, 300 if bufsize != 1 else 3):
            for msg in group:
                src.sendto(msg, ("127.0.0.1", port_in))
            for msg in group:
                if not msg:
                    continue               # socat ignores empty datagrams
                got = sink.recv(65536)
                assert got == msg[:limit]
        src.sendto(b"last", ("127.0.0.1", port_in))
        assert sink.recv(65536) == b"last"[:limit]
    finally:
        err = _stop(p)
        src.close()
        sink.close()
    assert b" E " not in err, err


def test_udp_datagram_both_ways_in_batches():
    """UDP-DATAGRAM ⇄ UDP-DATAGRAM: sendmmsg to the peer, recvmmsg from it, both ways."""
    a, b = _udp(), _udp()
    pa, pb = _free_port(), _free_port()
    p = subprocess.Popen(PYSOCAT + [f"UDP4-DATAGRAM:127.0.0.1:{a.getsockname()[1]},bind=127.0.0.1:{pa}",
                                    f"UDP4-DATAGRAM:127.0.0.1:{b.getsockname()[1]},bind=127.0.0.1:{pb}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert _bound(pa) and _bound(pb)
    try:
        for round_ in range(10):
            msgs = [os.urandom(1 + (i * 37 + round_) % 1400) for i in range(30)]
            for m in msgs:
                a.sendto(m, ("127.0.0.1", pa))
            assert [b.recv(2048) for _ in msgs] == msgs
            for m in msgs:
                b.sendto(m, ("127.0.0.1", pb))
            assert [a.recv(2048) for _ in msgs] == msgs
    finally:
        err = _stop(p)
        a.close()
        b.close()
    assert b" E " not in err, err


def test_udp_to_stdout_one_write_per_datagram():
    """A stream destination gets one write per datagram through the batch."""
    port_in = _free_port()
    p = subprocess.Popen(PYSOCAT + ["-u", "-b", "5", f"UDP4-RECV:{port_in},bind=127.0.0.1", "STDOUT"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert _bound(port_in)
    src = _udp()
    try:
        msgs = [b"abcdefgh", b"", b"xy", b"0123456789", b"z"]
        for m in msgs:
            src.sendto(m, ("127.0.0.1", port_in))
        want = b"abcdexy01234z"
        got = b""
        fd = p.stdout.fileno()
        import select
        while len(got) < len(want):
            r, _, _ = select.select([fd], [], [], 10)
            assert r, got
            got += os.read(fd, 100)
        assert got == want
    finally:
        _stop(p)
        src.close()
