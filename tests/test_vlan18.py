"""retrieve-vlan (1.8): INTERFACE puts the VLAN tag the kernel took off back into
the frames it reads (PACKET_AUXDATA), against classic socat 1.8.1.3.

A namespace of the test's with a veth pair va/vb (no IPv6, so nothing else
crosses it); raw frames with an 802.1Q tag go out of va; the kernel strips the
tag on vb and reports it as auxdata. Classic 1.8.1.3 reads the option's value
from memory it never set (TYPE_CONST through retropt_bool): with -ddd it acts,
so the comparison runs it that way.
"""
import os
import struct
import time

import pytest

from conftest import ENV17, ENV18, PYSOCAT, SOCAT18, log_texts, needs_socat, run_pysocat, run_socat
from netns import Netns, have_netns

pytestmark = pytest.mark.skipif(not have_netns(), reason="needs root and network namespaces")

PAYLOAD = b"\x88\xb5" + b"hello vlan" + b"\0" * 36
HEAD = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01"
TAGGED = HEAD + struct.pack("!HH", 0x8100, 5) + PAYLOAD
UNTAGGED = HEAD + PAYLOAD
SEND = ("import socket,sys\n"
        "s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
        "s.bind(('va', 0))\n"
        "s.send(bytes.fromhex(sys.argv[1]))\n")


def frames(argv, env, tmp_path, tag):
    """Run argv (an INTERFACE:vb reader writing to a file) in a fresh namespace,
    send tagged frames out of va until some arrive; the bytes written."""
    out = tmp_path / f"out-{tag}"
    with Netns("vl") as ns:
        ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1")
        ns.run("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb", check=True)
        ns.run("ip", "link", "set", "va", "up", check=True)
        ns.run("ip", "link", "set", "vb", "up", check=True)
        p = ns.spawn("env", *[f"{k}={v}" for k, v in env.items() if k == "PYSOCAT_COMPAT"],
                     "sh", "-c", f'exec "$@" > {out}', "sh", *argv)
        time.sleep(0.5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and p.poll() is None:
            ns.run("python3", "-c", SEND, TAGGED.hex())
            time.sleep(0.3)
            if out.exists() and out.stat().st_size:
                break
        _, err = ns.finish(p)
    return out.read_bytes() if out.exists() else b"", err


@pytest.mark.parametrize("opt,want", [(",retrieve-vlan", TAGGED), ("", UNTAGGED)])
def test_retrieve_vlan_restores_the_tag(tmp_path, opt, want):
    argv = PYSOCAT + ["-ddd", "-u", f"INTERFACE:vb{opt}", "STDOUT"]
    data, err = frames(argv, ENV18, tmp_path, "p")
    assert data[:len(want)] == want, (data[:80].hex(), err.decode()[-2000:])
    assert len(data) % len(want) == 0
    if opt:
        texts = log_texts(err)
        assert "I setsockopt(fd=3, level=SOL_PACKET, optname=PACKET_AUXDATA)" in \
            [t.replace("fd=4", "fd=3").replace("fd=5", "fd=3") for t in texts]
        assert any(t.startswith("I xiolog_ancillary_packet(): Ancillary message: "
                                "PACKET_AUXDATA: status=") and "vlan_tci=5, vlan_tpid=33024" in t
                   for t in texts), texts
        assert f"N received packet with {len(TAGGED)} bytes from" in " ".join(texts)


@pytest.mark.skipif(not os.path.exists(SOCAT18 or ""), reason="classic socat 1.8.1.3 missing")
def test_retrieve_vlan_as_classic(tmp_path):
    c, _ = frames([SOCAT18, "-ddd", "-u", "INTERFACE:vb,retrieve-vlan", "STDOUT"], os.environ,
                  tmp_path, "c")
    p, _ = frames(PYSOCAT + ["-ddd", "-u", "INTERFACE:vb,retrieve-vlan", "STDOUT"], ENV18,
                  tmp_path, "p")
    assert c[:len(TAGGED)] == p[:len(TAGGED)] == TAGGED


@needs_socat
def test_retrieve_vlan_unknown_under_17():
    c = run_socat("-u", "INTERFACE:lo,retrieve-vlan", "STDOUT", timeout=10)
    p = run_pysocat("-u", "INTERFACE:lo,retrieve-vlan", "STDOUT", timeout=10)
    assert (p.returncode, log_texts(p.stderr)) == (c.returncode, log_texts(c.stderr))
    assert c.returncode == 1
