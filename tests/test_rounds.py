"""10,000 request/response rounds through the relay, every byte checked (issue 17).

A client sends a request of random size and content and reads the echo, 10,000
times, through pysocat as a TCP forwarder, a UNIX forwarder and the TUN overlay
(TUN ⇄ UDP-DATAGRAM in two namespaces this test makes, root only). The relay's
fast loop (one epoll, one read and one write per wake-up) and its datagram
batches carry all of it; nothing here is timed.
"""
import os
import socket
import subprocess
import sys

import pytest

from conftest import PYSOCAT
from netns import Netns, have_netns, veth_pair, wait_for

ROUNDS = 10_000

# echo one connection until EOF: TCP (host port) or UNIX (path)
_ECHO = """
import socket, sys
if len(sys.argv) == 2:
    s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])
else:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1); s.settimeout(60)
print(s.getsockname()[1] if len(sys.argv) > 2 else "ready", flush=True)
c, _ = s.accept(); c.settimeout(60)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.close()
"""

# ROUNDS request/response rounds, each echo compared byte for byte
_CLIENT = """
import os, random, socket, sys, time
rounds = int(sys.argv[1])
where = sys.argv[2:]
deadline = time.monotonic() + 20
while True:
    try:
        if len(where) == 1:
            c = socket.socket(socket.AF_UNIX); c.connect(where[0])
        else:
            c = socket.create_connection((where[0], int(where[1])), timeout=5)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
c.settimeout(30)
if len(where) == 2:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rng = random.Random(17)
pool = os.urandom(4096)
for i in range(rounds):
    n = rng.randrange(1, 1500)
    off = rng.randrange(0, 4096 - n)
    msg = pool[off:off + n]
    c.sendall(msg)
    got = b""
    while len(got) < n:
        d = c.recv(n - len(got))
        if not d:
            sys.exit(f"EOF in round {i}")
        got += d
    if got != msg:
        sys.exit(f"round {i}: the echo differs")
c.shutdown(socket.SHUT_WR)
if c.recv(1):
    sys.exit("data after the last round")
print("ok", rounds, flush=True)
"""


def _finish(p, timeout=10):
    if p.poll() is None:
        p.terminate()
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_10000_rounds_through_the_relay(family, tmp_path):
    if family == "tcp":
        echo = subprocess.Popen([sys.executable, "-c", _ECHO, "127.0.0.1", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        target = f"TCP4:127.0.0.1:{int(echo.stdout.readline())}"
        port = _free_port()
        listen, where = f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr", ["127.0.0.1", str(port)]
    else:
        path = str(tmp_path / "echo.sock")
        echo = subprocess.Popen([sys.executable, "-c", _ECHO, path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert echo.stdout.readline() == b"ready\n"
        target = f"UNIX-CONNECT:{path}"
        listen, where = f"UNIX-LISTEN:{tmp_path / 'relay.sock'}", [str(tmp_path / "relay.sock")]
    relay = subprocess.Popen(PYSOCAT + [listen, target], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client = subprocess.run([sys.executable, "-c", _CLIENT, str(ROUNDS)] + where,
                                capture_output=True, timeout=300)
        assert client.returncode == 0, client.stderr
        assert client.stdout == f"ok {ROUNDS}\n".encode()
        out, err = relay.communicate(timeout=30)
        assert relay.returncode == 0, err
        assert err == b""
    finally:
        _finish(relay)
        _finish(echo)


@pytest.mark.skipif(not have_netns(), reason="needs root, iproute2 and /dev/net/tun")
def test_10000_rounds_through_the_tun_overlay():
    """TCP across TUN ⇄ UDP-DATAGRAM tunnels (pysocat on both sides, no -d: the
    batched datagram path)."""
    over = ("172.31.0.1", "172.31.0.2")
    under = ("10.79.0.1", "10.79.0.2")
    with Netns("r") as a, Netns("s") as b:
        veth_pair(a, b, *under)
        sides = []
        for i, ns in enumerate((a, b)):
            sides.append(ns.spawn(*PYSOCAT, f"TUN:{over[i]}/24,iff-up",
                                  f"UDP-DATAGRAM:{under[1 - i]}:9091,bind={under[i]}:9091"))
        for ns in (a, b):
            assert wait_for(lambda: "UP" in ns.link("tun0"), timeout=10), ns.link("tun0")
        echo = b.spawn(sys.executable, "-c", _ECHO, over[1], "5001")
        assert echo.stdout.readline() == b"5001\n"
        client = a.run(sys.executable, "-c", _CLIENT, str(ROUNDS), over[1], "5001", timeout=300)
        assert client.returncode == 0, client.stderr
        assert client.stdout == f"ok {ROUNDS}\n".encode()
        for ns, p in zip((a, b), sides):
            assert p.poll() is None          # the tunnels are still up
            out, err = ns.finish(p)
            assert b" E " not in err, err
