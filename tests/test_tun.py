"""TUN/TAP: the interface as the kernel reports it, packets both ways, socat's errors.

Each test works inside a network namespace of its own (tests/netns.py), so the
interfaces it makes never meet the host's or a parallel run's.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_socat
from netns import Netns, have_netns, wait_for

pytestmark = pytest.mark.skipif(not have_netns(),
                                reason="needs root, iproute2 and /dev/net/tun")


def _start(ns, tmp_path, prog, addr1, addr2="PIPE", tag="a", debug="-dd"):
    log = tmp_path / f"{tag}.log"
    p = ns.spawn(*prog, debug, "-lf", log, addr1, addr2)
    ok = wait_for(lambda: log.exists() and "starting data transfer loop" in log.read_text()
                  or p.poll() is not None, timeout=10)
    assert ok and p.poll() is None, (log.read_text() if log.exists() else "no log",
                                     ns.finish(p))
    return p, log


def _normal(text):
    """ip output without what differs between two creations (index, MAC)."""
    text = re.sub(r"^\d+: ", "", text, flags=re.M)
    text = re.sub(r"link/ether \S+", "link/ether X", text)
    return text


READBACK = [
    ("TUN:10.66.0.1/24,tun-type=tap,tun-name=ptap0,iff-up", "ptap0",
     ["tun type tap pi on", "mtu 1500", "<BROADCAST,MULTICAST,UP,LOWER_UP>", "link/ether"],
     "inet 10.66.0.1/24 brd 10.66.0.255 scope global ptap0"),
    ("TUN:10.66.1.1/16,tun-name=ptun0,iff-no-pi,up", "ptun0",
     ["tun type tun pi off", "mtu 1500", "<POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP>",
      "link/none"],
     "inet 10.66.1.1/16 scope global ptun0"),
    ("TUN,tun-name=ptun1,iff-noarp=0,iff-promisc,tun-no-pi", "ptun1",
     ["tun type tun pi off", "<POINTOPOINT,MULTICAST,PROMISC>", "promiscuity 1"], None),
    ("TUN:'10.66.2.1:255.255.255.0',tun-name=ptun2,iff-up,iff-multicast=0", "ptun2",
     ["<POINTOPOINT,NOARP,UP,LOWER_UP>"], "inet 10.66.2.1/24 scope global ptun2"),
]


@pytest.mark.parametrize("addr,ifname,link_has,addr_line", READBACK)
def test_interface_read_back(tmp_path, addr, ifname, link_has, addr_line):
    with Netns() as ns:
        p, log = _start(ns, tmp_path, PYSOCAT, addr)
        link = ns.link(ifname)
        for want in link_has:
            assert want in link, link
        addrs = ns.addrs(ifname)
        if addr_line:
            assert addr_line in addrs
        else:
            assert "inet " not in addrs
        ns.finish(p)
        # the interface lives as long as the address is open
        assert wait_for(lambda: ns.link(ifname) == "", timeout=5)


@needs_socat
@pytest.mark.parametrize("addr,ifname", [(a, n) for a, n, _, _ in READBACK])
def test_interface_same_as_socat(tmp_path, addr, ifname):
    """The kernel sees the same interface whichever program made it."""
    seen = []
    for tag, prog in (("s", [SOCAT]), ("p", PYSOCAT)):
        with Netns() as ns:
            p, log = _start(ns, tmp_path, prog, addr, tag=tag)
            seen.append((_normal(ns.link(ifname)), ns.addrs(ifname)))
            ns.finish(p)
            logs = [t for t in log_texts(log.read_bytes()) if t.startswith("N ")]
            seen.append(logs[:1])
    assert seen[0] == seen[2]
    assert seen[1] == seen[3] == ["N creating tunnel network interface"]


def test_one_read_is_one_packet(tmp_path):
    """Datagrams routed into the TUN arrive as IP packets, one read each."""
    out = tmp_path / "packets"
    with Netns() as ns:
        p, log = _start(ns, tmp_path, PYSOCAT,
                        "TUN:10.66.3.1/24,iff-up,iff-no-pi", f"OPEN:{out},creat,append",
                        debug="-ddd")
        sender = ("import socket,time\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for m in (b'first',b'second packet'):\n"
                  "  s.sendto(m,('10.66.3.2',4000)); time.sleep(0.05)\n")
        ns.run(sys.executable, "-c", sender, check=True)
        wait_for(lambda: out.exists() and b"second packet" in out.read_bytes())
        ns.finish(p)
    data = out.read_bytes()
    packets = []
    while data:
        n = int.from_bytes(data[2:4]) if data[0] >> 4 == 4 else 40 + int.from_bytes(data[4:6])
        packets.append(data[:n])
        data = data[n:]
    # each read was one packet: one "transferred" line per packet, of its length
    moved = [int(m.group(1)) for t in log_texts(log.read_bytes())
             if (m := re.match(r"I transferred (\d+) bytes", t))]
    assert moved == [len(pk) for pk in packets]
    udp = [pk for pk in packets if pk[0] >> 4 == 4 and pk[9] == 17]
    assert [pk[28:] for pk in udp] == [b"first", b"second packet"]
    assert all(pk[16:20] == bytes([10, 66, 3, 2]) for pk in udp)


def _udp_packet(src, dst, sport, dport, payload):
    import struct
    ip = lambda a: bytes(int(x) for x in a.split("."))
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      ip(src), ip(dst))
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:] + udp


def test_one_write_is_one_packet(tmp_path):
    """A packet written to the TUN is delivered by the kernel to a local socket."""
    pkt = tmp_path / "pkt"
    pkt.write_bytes(_udp_packet("10.66.4.2", "10.66.4.1", 5555, 4001, b"hello tun"))
    got = tmp_path / "got"
    receiver = ("import socket,sys\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "s.bind(('0.0.0.0',4001)); s.settimeout(8)\n"
                "sys.stdout.buffer.write(b'ready\\n'); sys.stdout.flush()\n"
                "d,a=s.recvfrom(100)\n"
                f"open({str(got)!r},'wb').write(d+repr(a).encode())\n")
    with Netns() as ns:
        r = ns.spawn(sys.executable, "-c", receiver)
        assert r.stdout.readline() == b"ready\n"
        # the address opens first and is written to after the TUN exists
        p = ns.spawn(*PYSOCAT, "-U", "TUN:10.66.4.1/24,iff-up,iff-no-pi",
                     f"SYSTEM:sleep 0.3; cat {pkt}; sleep 5")
        wait_for(lambda: got.exists() and got.stat().st_size > 0, timeout=8)
        ns.finish(p)
        ns.finish(r)
    assert got.read_bytes() == b"hello tun('10.66.4.2', 5555)"


ERRORS = [
    ("TUN,tun-device=/nonexistent/tun",
     'E open("/nonexistent/tun", 02, 0666): No such file or directory'),
    ("TUN,tun-type=foo", 'E unknown tun-type "foo"'),
    ("TUN:10.66.5.1", 'E xioparsenetwork_ip4("10.66.5.1",,): missing netmask delimiter'),
    ("TUN:10.66.5.1/33", 'E netmask "10.66.5.1/33" is too large'),
    ("TUN:10.66.5.1/x", 'E not a valid netmask in "10.66.5.1/x"'),
    ("TUN:[10.66.5.1]/24", 'E getaddrinfo("10.66.5.1", "NULL", {5,10,0,0}, {}): '
                           'Address family for hostname not supported'),
    ("TUN:'10.66.5.1:255.0.255.0'", None),
    ("TUN:fe80::1/64", "E TUN: wrong number of parameters (3 instead of 0 or 1)"),
    ("TUN,tun-name=lo", None),
]


def _no_fd(text):
    return re.sub(r"ioctl\(\d+,", "ioctl(N,", text)


@pytest.mark.parametrize("addr,want", ERRORS)
def test_errors(addr, want):
    with Netns() as ns:
        r = ns.run(*PYSOCAT, addr, "PIPE")
        assert r.returncode == 1
        errs = [t for t in log_texts(r.stderr) if t.startswith("E ")]
        assert len(errs) == 1, r.stderr
        if want is None and SOCAT:
            s = ns.run(SOCAT, addr, "PIPE")
            want = [t for t in log_texts(s.stderr) if t.startswith("E ")][0]
        if want is not None:
            assert _no_fd(errs[0]) == _no_fd(want)
        assert b"Traceback" not in r.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_without_cap_net_admin():
    with Netns() as ns:
        r = ns.run("setpriv", "--inh-caps", "-net_admin", "--bounding-set", "-net_admin",
                   *PYSOCAT, "TUN:10.66.6.1/24", "PIPE")
    assert r.returncode == 1
    assert _no_fd(log_texts(r.stderr)[-1]) == \
        'E ioctl(N, TUNSETIFF, {""}: Operation not permitted'


def test_pyroute2_not_imported_at_start():
    code = ("import sys\n"
            "from pysocat.addresses import registry\n"
            "from pysocat.options.table import load_all\n"
            "registry.load_all(); load_all()\n"
            "from pysocat import core\n"
            "core.resolve(core.parse_address('TUN:10.0.0.1/8,iff-up'))\n"
            "assert 'pyroute2' not in sys.modules, 'pyroute2 imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert r.returncode == 0, r.stderr
