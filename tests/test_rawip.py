"""Raw IP (IP-SENDTO/-DATAGRAM/-RECV/-RECVFROM) and INTERFACE, each in a namespace of its own."""
import re
import socket
import struct
import sys

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_socat
from netns import Netns, have_netns, veth_pair, wait_for

pytestmark = pytest.mark.skipif(not have_netns(), reason="needs root and iproute2")

PROTO = 254     # "experimentation and testing" (RFC 3692)


def _bg(ns, tmp_path, *args, tag="r", ready="starting data transfer loop"):
    log = tmp_path / f"{tag}.log"
    p = ns.spawn(*PYSOCAT, "-ddd", "-lf", log, *args)
    assert wait_for(lambda: log.exists() and ready in log.read_text()
                    or p.poll() is not None, timeout=10)
    assert p.poll() is None, log.read_text()
    return p, log


def test_ip4_sendto_to_ip4_recv(tmp_path):
    with Netns() as ns:
        p, log = _bg(ns, tmp_path, "-u", f"IP4-RECV:{PROTO}", "-")
        s = ns.run(*PYSOCAT, "-u", "-", f"IP4-SENDTO:127.0.0.1:{PROTO}", input=b"hello raw\n")
        assert s.returncode == 0, s.stderr
        wait_for(lambda: "received packet" in log.read_text())
        out, _ = ns.finish(p)
    assert out == b"hello raw\n"          # the IPv4 header was stripped
    logs = log_texts(log.read_bytes())
    assert "I permitting packet from AF=2 127.0.0.1:0" in logs
    assert "N received packet with 30 bytes from AF=2 127.0.0.1:0" in logs


def test_ip_recvfrom_answers_sender(tmp_path):
    """IP-RECVFROM echoes one packet to its sender; IP-SENDTO accepts it as the reply."""
    with Netns() as ns:
        p, log = _bg(ns, tmp_path, f"IP4-RECVFROM:{PROTO}", "PIPE",
                     ready="receiving IP protocol")
        s = ns.run(*PYSOCAT, "-t", "1", "-", f"IP4-SENDTO:127.0.0.1:{PROTO}",
                   input=b"ping\n", timeout=10)
        assert p.wait(timeout=5) == 0
        ns.finish(p)
    # the sender sees its own packet (loopback) and the echo: both from 127.0.0.1
    assert s.stdout.startswith(b"ping\n"), s.stderr
    assert "N receiving IP protocol 254" in log_texts(log.read_bytes())


def test_ip_datagram_range(tmp_path):
    with Netns() as ns:
        ns.run("ip", "addr", "add", "10.78.0.1/24", "dev", "lo", check=True)
        p, log = _bg(ns, tmp_path, "-u", f"IP-DATAGRAM:127.0.0.1:{PROTO},range=127.0.0.0/8", "-")
        for src in ("10.78.0.1", "127.0.0.1"):
            ns.run(*PYSOCAT, "-u", "-", f"IP4-SENDTO:127.0.0.1:{PROTO},bind={src}",
                   input=f"from {src}\n".encode())
        wait_for(lambda: "received packet" in log.read_text())
        out, _ = ns.finish(p)
    assert out == b"from 127.0.0.1\n"
    logs = log_texts(log.read_bytes())
    assert "W refusing connection from AF=2 10.78.0.1:0 due to range option" in logs


@pytest.mark.parametrize("args,want", [
    (["IP4-SENDTO:127.0.0.1:300", "-"],
     'E xioopen_rawip_sendto("127.0.0.1:300",,): protocol number exceeds 255 (300)'),
    (["IP-RECV:256", "-"], 'E xioopen_rawip_recv("256",,): protocol number exceeds 255 (256)'),
    (["IP-RECVFROM:999", "-"],
     'E xioopen_rawip_recvfrom("999",,): protocol number exceeds 255 (999)'),
    (["INTERFACE:nosuch0", "-"], 'E unknown interface "nosuch0"'),
])
def test_errors(args, want):
    with Netns() as ns:
        r = ns.run(*PYSOCAT, *args)
    assert r.returncode == 1
    assert log_texts(r.stderr)[-1] == want


_CAPTURE = """
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("veth0", 0)); s.settimeout(5)
print("ready", flush=True)
while True:
    f = s.recv(2000)
    if b"pysocat frame" in f:
        sys.stdout.buffer.write(f); break
"""


def _frame(payload):
    dst, src = b"\xff" * 6, b"\x02\x00\x00\x00\x00\x01"
    return dst + src + struct.pack("!H", 0x88B5) + payload   # local experimental ethertype


def test_interface_frames_both_ways(tmp_path):
    """Frames written to INTERFACE leave the interface; frames arriving are read."""
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, "10.79.0.1", "10.79.0.2")
        cap = b.spawn(sys.executable, "-c", _CAPTURE)
        assert cap.stdout.readline() == b"ready\n"
        frame = _frame(b"pysocat frame out")
        (tmp_path / "frame").write_bytes(frame)
        r = a.run(*PYSOCAT, "-u", f"OPEN:{tmp_path / 'frame'}", "INTERFACE:veth0")
        assert r.returncode == 0, r.stderr
        got, _ = cap.communicate(timeout=10)
        assert got[:len(frame)] == frame
        # and the other way: pysocat reads what arrives on a's veth0
        p, log = _bg(a, tmp_path, "-u", "INTERFACE:veth0", f"OPEN:{tmp_path / 'in'},creat")
        inframe = _frame(b"pysocat frame in")
        send = ("import socket,sys\n"
                "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
                "s.bind(('veth0',0)); s.send(sys.stdin.buffer.read())\n")
        b.run(sys.executable, "-c", send, input=inframe, check=True)
        wait_for(lambda: (tmp_path / "in").exists() and
                 b"pysocat frame in" in (tmp_path / "in").read_bytes())
        a.finish(p)
    assert inframe in (tmp_path / "in").read_bytes()
    logs = log_texts(log.read_bytes())
    assert any(re.fullmatch(r"N received packet with \d+ bytes from AF=17 AF=17 0x88b5.*", t)
               for t in logs), logs


def _no_fds(t):
    return re.sub(r"(-> |\((?=\d+[,)]))\d+", r"\1F", t)


@needs_socat
def test_interface_log_as_socat(tmp_path):
    """INTERFACE:lo logs the same lines as socat for the same ping."""
    seen = {}
    for name, prog in (("socat", [SOCAT]), ("pysocat", PYSOCAT)):
        with Netns() as ns:
            log = tmp_path / f"{name}.log"
            p = ns.spawn(*prog, "-ddd", "-lf", log, "-u", "INTERFACE:lo", "/dev/null")
            assert wait_for(lambda: log.exists() and
                            "starting data transfer loop" in log.read_text())
            ns.run("ping", "-c", "1", "-W", "1", "127.0.0.1")
            # request and reply, each seen going out and coming in
            wait_for(lambda: log.read_text().count("received packet") >= 4)
            ns.finish(p)
        lines = [_no_fds(t) for t in log_texts(log.read_bytes())
                 if re.match(r"[IN] (socket|close|ioctl|successfully|permitting|received)", t)]
        seen[name] = list(dict.fromkeys(lines))
    assert seen["pysocat"] == seen["socat"]
