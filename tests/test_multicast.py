"""Broadcast and multicast over UDP, between two namespaces joined by a veth pair."""
import re

import pytest

from conftest import PYSOCAT, SOCAT, log_texts
from netns import Netns, have_netns, veth_pair, wait_for

pytestmark = pytest.mark.skipif(not have_netns(), reason="needs root and iproute2")


def _receiver(ns, tmp_path, addr, tag):
    log = tmp_path / f"{tag}.log"
    p = ns.spawn(*PYSOCAT, "-dd", "-lf", log, "-u", addr, "-")
    assert wait_for(lambda: log.exists() and "starting data transfer loop" in log.read_text()
                    or p.poll() is not None, timeout=10)
    assert p.poll() is None, log.read_text()
    return p, log


def _send(ns, addr, data):
    return ns.run(*PYSOCAT, "-u", "-", addr, input=data)


@pytest.fixture
def pair():
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, "10.80.0.1", "10.80.0.2")
        yield a, b


def test_multicast_membership_if_and_loop(pair, tmp_path):
    a, b = pair
    group = "UDP4-RECV:5000,ip-add-membership=224.1.0.1:{}"
    rb, _ = _receiver(b, tmp_path, group.format("10.80.0.2"), "b")
    ra, _ = _receiver(a, tmp_path, group.format("veth0"), "a")     # by interface name
    send = "UDP4-DATAGRAM:224.1.0.1:5000,ip-multicast-if=10.80.0.1,ip-multicast-ttl=1"
    assert _send(a, send, b"looped\n").returncode == 0
    assert _send(a, send + ",ip-multicast-loop=0", b"not looped\n").returncode == 0
    wait_for(lambda: False, timeout=0.5)
    out_b, _ = b.finish(rb)
    out_a, _ = a.finish(ra)
    assert out_b == b"looped\nnot looped\n"
    assert out_a == b"looped\n"


def test_broadcast_needs_the_option(pair, tmp_path):
    a, b = pair
    rb, log = _receiver(b, tmp_path, "UDP4-RECV:5001", "b")
    r = _send(a, "UDP4-DATAGRAM:10.80.0.255:5001", b"refused\n")
    assert r.returncode == 1
    assert re.fullmatch(r"E sendto\(\d+, 8, 0, AF=2 10\.80\.0\.255:5001, 16\): "
                        r"Permission denied", log_texts(r.stderr)[-1])
    assert _send(a, "UDP4-DATAGRAM:10.80.0.255:5001,broadcast", b"broadcast\n").returncode == 0
    wait_for(lambda: "received packet" in log.read_text())
    out, _ = b.finish(rb)
    assert out == b"broadcast\n"


def test_ipv6_join_group(tmp_path):
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, "10.80.1.1", "10.80.1.2")

        def link_local_ready():     # the sender's fe80:: address has passed DAD
            text = a.run("ip", "-6", "addr", "show", "dev", "veth0").stdout.decode()
            return "fe80::" in text and "tentative" not in text
        assert wait_for(link_local_ready, timeout=10)
        rb, log = _receiver(b, tmp_path, "UDP6-RECV:5002,ipv6-join-group=[ff02::1234]:veth0", "b")
        r = _send(a, "UDP6-DATAGRAM:[ff02::1234%veth0]:5002", b"six\n")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: "received packet" in log.read_text())
        out, _ = b.finish(rb)
    assert out == b"six\n"


def _fd_free(text):
    return re.sub(r"setsockopt\(\d+", "setsockopt(F", text)


@pytest.mark.parametrize("opt,want", [
    ("ip-add-membership=224.1.0.1", "E syntax in option 224.1.0.1: missing ':'"),
    ("ip-add-membership=224.1.0.1:127.0.0.1:nosuch0", 'E cannot resolve interface "nosuch0"'),
    ("ip-add-membership=10.1.0.1:127.0.0.1",
     "E setsockopt(F, 0, 35, {0x0100010a,0x0100007f,0}, 12): Invalid argument"),
    ("ipv6-join-group=[ff02::1]:nosuch0", 'E interface "nosuch0" not found'),
])
def test_membership_errors(opt, want):
    addr = ("UDP6-RECV:5003," if "ipv6" in opt else "UDP4-RECV:5003,") + opt
    with Netns() as ns:
        r = ns.run(*PYSOCAT, "-u", addr, "-")
        s = ns.run(SOCAT, "-u", addr, "-") if SOCAT else None
    assert r.returncode == 1
    assert _fd_free(log_texts(r.stderr)[-1]) == want
    if s is not None:
        assert s.returncode == 1
        assert _fd_free([t for t in log_texts(s.stderr) if t.startswith("E ")][-1]) == want
