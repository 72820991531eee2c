"""UDP addresses on loopback: each type's documented behaviour and socat's messages."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat, needs_socat18,
                      run_pysocat, run_socat)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp(port=0, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(timeout)
    return s


class Bg:
    """pysocat (or socat) in the background, stderr collected."""

    def __init__(self, *args, prog=None, stdin=subprocess.DEVNULL):
        # a session of its own: forked children are ended with it
        self.p = subprocess.Popen((prog or PYSOCAT) + list(args), stdin=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)

    def _signal_all(self, sig):
        try:
            os.killpg(self.p.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=5):
        if self.p.stdin is not None and self.p.stdin.closed:
            self.p.stdin = None
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_all(signal.SIGTERM)
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_all(signal.SIGKILL)
            out, err = self.p.communicate(timeout=timeout)
        return out, log_texts(err)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._signal_all(signal.SIGKILL)
        if self.p.stdin is not None and self.p.stdin.closed:
            self.p.stdin = None
        self.p.communicate(timeout=5)


def wait_bound(port, proto=socket.SOCK_DGRAM, timeout=5.0):
    """Wait until something listens on 127.0.0.1:port (UDP: bind fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, proto)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        finally:
            s.close()
        time.sleep(0.02)
    return False


def exchange(sock, port, data, want_reply=True):
    sock.sendto(data, ("127.0.0.1", port))
    if not want_reply:
        return None
    return sock.recvfrom(1000)


# --- UDP-CONNECT ------------------------------------------------------------

def test_connect_refused():
    port = free_port()
    r = run_pysocat("-", f"UDP-CONNECT:127.0.0.1:{port}", input=b"hello\n")
    assert r.returncode == 1
    assert re.fullmatch(r"E read\(\d+, .*8192\): Connection refused", log_texts(r.stderr)[-1])


def test_connect_alias_udp_roundtrip():
    with udp() as server:
        port = server.getsockname()[1]
        with Bg("-dd", "-", f"UDP:127.0.0.1:{port}", stdin=subprocess.PIPE) as bg:
            bg.p.stdin.write(b"ping\n")
            bg.p.stdin.flush()
            data, peer = server.recvfrom(100)
            assert data == b"ping\n"
            server.sendto(b"pong\n", peer)
            time.sleep(0.2)
            # a connected socket: packets from elsewhere are not for it
            with udp() as other:
                other.sendto(b"stray\n", peer)
            time.sleep(0.2)
            bg.p.stdin.close()
            out, logs = bg.stop()
    assert out == b"pong\n"
    assert f"N opening connection to AF=2 127.0.0.1:{port}" in logs
    assert any(t.startswith("N successfully connected from local address AF=2 127.0.0.1:")
               for t in logs)


# --- UDP-LISTEN -----------------------------------------------------------------

def test_listen_locks_onto_first_peer():
    port = free_port()
    with Bg("-dd", f"UDP-LISTEN:{port},bind=127.0.0.1", "PIPE") as bg:
        assert wait_bound(port)
        with udp() as a, udp(timeout=0.5) as b:
            assert exchange(a, port, b"one")[0] == b"one"
            b.sendto(b"two", ("127.0.0.1", port))
            with pytest.raises(socket.timeout):
                b.recvfrom(100)
            assert exchange(a, port, b"three")[0] == b"three"
            peer = a.getsockname()
        _, logs = bg.stop()
    assert f"N listening on UDP AF=2 127.0.0.1:{port}" in logs
    assert f"N accepting UDP connection from AF=2 127.0.0.1:{peer[1]}" in logs


def test_listen_fork_serves_each_peer():
    port = free_port()
    with Bg("-dd", f"UDP4-LISTEN:{port},bind=127.0.0.1,fork", "PIPE") as bg:
        assert wait_bound(port)
        with udp() as a, udp() as b:
            assert exchange(a, port, b"from a")[0] == b"from a"
            time.sleep(0.1)
            assert exchange(b, port, b"from b")[0] == b"from b"
            assert exchange(a, port, b"again a")[0] == b"again a"
        _, logs = bg.stop()
    assert sum(t.startswith("N forked off child process") for t in logs) >= 2


def test_listen_range_forbids():
    port = free_port()
    with Bg("-dd", f"UDP4-LISTEN:{port},bind=127.0.0.1,range=127.0.0.2/32", "PIPE") as bg:
        assert wait_bound(port)
        with udp(timeout=0.5) as a:
            a.sendto(b"x", ("127.0.0.1", port))
            with pytest.raises(socket.timeout):
                a.recvfrom(100)
            me = a.getsockname()[1]
        _, logs = bg.stop()
    assert f"W refusing connection from AF=2 127.0.0.1:{me} due to range option" in logs
    assert f"N forbidding UDP connection from AF=2 127.0.0.1:{me}" in logs


# --- UDP-SENDTO -------------------------------------------------------------------

def test_sendto_accepts_only_its_peer():
    lport = free_port()
    with udp() as server, udp() as other:
        port = server.getsockname()[1]
        with Bg("-ddd", "-", f"UDP-SENDTO:127.0.0.1:{port},bind=127.0.0.1:{lport}",
                stdin=subprocess.PIPE) as bg:
            bg.p.stdin.write(b"hi\n")
            bg.p.stdin.flush()
            data, peer = server.recvfrom(100)
            assert data == b"hi\n" and peer == ("127.0.0.1", lport)
            other.sendto(b"not for you\n", peer)
            time.sleep(0.2)
            server.sendto(b"reply\n", peer)
            time.sleep(0.3)
            bg.p.stdin.close()
            out, logs = bg.stop()
    assert out == b"reply\n"
    assert "I recvfrom(): wrong peer address, ignoring packet" in logs
    assert f"N successfully prepared local socket AF=2 127.0.0.1:{lport}" in logs
    assert f"N local address: AF=2 127.0.0.1:{lport}" in logs


# --- UDP-RECV -------------------------------------------------------------------------

def test_recv_from_anyone_with_range():
    port = free_port()
    with Bg("-ddd", "-u", f"UDP4-RECV:{port},bind=127.0.0.1,range=127.0.0.0/8", "-") as bg:
        assert wait_bound(port)
        with udp() as a, udp() as b:
            a.sendto(b"A\n", ("127.0.0.1", port))
            time.sleep(0.1)
            b.sendto(b"B\n", ("127.0.0.1", port))
            time.sleep(0.3)
            pa, pb = a.getsockname()[1], b.getsockname()[1]
        out, logs = bg.stop()
    assert out == b"A\nB\n"
    for p in (pa, pb):
        assert f"I permitting connection from AF=2 127.0.0.1:{p} due to range option" in logs
        assert f"I permitting packet from AF=2 127.0.0.1:{p}" in logs
        assert f"N received packet with 2 bytes from AF=2 127.0.0.1:{p}" in logs


def test_recv_range_refuses():
    port = free_port()
    with Bg("-dd", "-u", f"UDP4-RECV:{port},bind=127.0.0.1,range=10.0.0.0/8", "-") as bg:
        assert wait_bound(port)
        with udp() as a:
            a.sendto(b"A\n", ("127.0.0.1", port))
            time.sleep(0.3)
            pa = a.getsockname()[1]
        out, logs = bg.stop()
    assert out == b""
    assert f"W refusing connection from AF=2 127.0.0.1:{pa} due to range option" in logs


# --- UDP-RECVFROM ------------------------------------------------------------------------

def test_recvfrom_answers_sender_then_ends():
    port = free_port()
    with Bg("-dd", f"UDP-RECVFROM:{port},bind=127.0.0.1", "PIPE") as bg:
        assert wait_bound(port)
        with udp() as a:
            data, peer = exchange(a, port, b"echo me")
            me = a.getsockname()[1]
        assert (data, peer) == (b"echo me", ("127.0.0.1", port))
        bg.p.wait(timeout=5)
        _, logs = bg.stop()
    assert bg.p.returncode == 0
    assert f"N receiving packet from AF=2 127.0.0.1:{me}" in logs
    assert f"N received packet with 7 bytes from AF=2 127.0.0.1:{me}" in logs
    assert any(re.fullmatch(r"N socket 1 \(fd \d+\) is at EOF", t) for t in logs)


def test_recvfrom_fork_one_child_per_packet():
    port = free_port()
    with Bg("-dd", f"UDP4-RECVFROM:{port},bind=127.0.0.1,fork", "SYSTEM:tr a-z A-Z") as bg:
        assert wait_bound(port)
        with udp() as a, udp() as b:
            assert exchange(a, port, b"first")[0] == b"FIRST"
            assert exchange(b, port, b"second")[0] == b"SECOND"
            assert exchange(a, port, b"third")[0] == b"THIRD"
        time.sleep(0.2)
        assert bg.p.poll() is None     # the parent keeps receiving
        _, logs = bg.stop()
    assert sum(t.startswith("N forked off child process") for t in logs) >= 3


def _children(pid):
    """(pid, state) of the processes whose parent is ``pid``."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(rest[1]) == pid:
                out.append((int(d), rest[0]))
    return out


def test_recvfrom_fork_child_does_not_stay_zombie():
    # socat's test UDP4RECVFROM_SIGCHLD: the parent, waiting for the next packet,
    # reaps a child that ended (-T) instead of leaving it <defunct>
    port = free_port()
    with Bg("-dd", "-T", "0.3", f"UDP4-RECVFROM:{port},bind=127.0.0.1,fork", "PIPE") as bg:
        assert wait_bound(port)
        with udp() as a:
            assert exchange(a, port, b"once")[0] == b"once"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _children(bg.p.pid):
            time.sleep(0.1)
        left = _children(bg.p.pid)
        assert bg.p.poll() is None
        _, logs = bg.stop()
    assert left == []
    assert logs.count(f"N receiving on AF=2 127.0.0.1:{port}") == 3
    assert logs[-1] == "N exit(143)"


# --- UDP-DATAGRAM --------------------------------------------------------------------------

def test_datagram_from_anyone_logs():
    with udp() as target, udp() as other:
        port = target.getsockname()[1]
        lport = free_port()
        with Bg("-ddd", "-", f"UDP-DATAGRAM:127.0.0.1:{port},bind=127.0.0.1:{lport}",
                stdin=subprocess.PIPE) as bg:
            bg.p.stdin.write(b"out\n")
            bg.p.stdin.flush()
            assert target.recvfrom(100) == (b"out\n", ("127.0.0.1", lport))
            other.sendto(b"from other\n", ("127.0.0.1", lport))
            time.sleep(0.3)
            bg.p.stdin.close()
            out, logs = bg.stop()
        op = other.getsockname()[1]
    assert out == b"from other\n"
    assert f"I permitting packet from AF=2 127.0.0.1:{op}" in logs
    assert f"N received packet with 11 bytes from AF=2 127.0.0.1:{op}" in logs
    assert f"N local address: AF=2 127.0.0.1:{lport}" in logs


def test_datagram_bind_trailing_data_warning():
    with udp() as target:
        port = target.getsockname()[1]
        lport = free_port()
        r = run_pysocat("-d", "-d", "-u", "-",
                        f"UDP-DATAGRAM:127.0.0.1:{port},bind=127.0.0.1:{lport}:{lport}",
                        input=b"x")
        assert target.recvfrom(10) == (b"x", ("127.0.0.1", lport))
    assert r.returncode == 0
    assert f'W xiogetaddrinfo(, "{lport}:{lport}", ...): extra trailing data ":{lport}"' \
        in log_texts(r.stderr)


@needs_socat
def test_datagram_sourceport_as_socat():
    """socat 1.7.4.4 reads sourceport before it knows the peer: only port 0 passes."""
    lport = free_port()
    got = {}
    for name, prog in (("socat", [SOCAT]), ("pysocat", PYSOCAT)):
        with Bg("-dd", "-u", f"UDP4-DATAGRAM:127.0.0.1:9,bind=127.0.0.1:{lport},sp={lport}",
                "-", prog=prog) as bg:
            assert wait_bound(lport)
            with udp(lport + 1 if lport < 65535 else 0) as a:
                a.sendto(b"x\n", ("127.0.0.1", lport))
                time.sleep(0.3)
                src = a.getsockname()[1]
            out, logs = bg.stop()
        got[name] = (out, [t for t in logs if "sourceport" in t])
    assert got["pysocat"] == got["socat"]
    assert got["socat"][1] == [
        f"W refusing connection from AF=2 127.0.0.1:{src} due to wrong sourceport"]


# --- errors, compared with socat ---------------------------------------------------------

def _errors(r):
    return [re.sub(r"\((\d+), ", "(N, ", t) for t in log_texts(r.stderr) if t.startswith("E ")]


ERRORS = [
    ["UDP-SENDTO:127.0.0.1", "-"],
    ["UDP-RECV", "-"],
    ["UDP-DATAGRAM:127.0.0.1:9,range=127.0.0.0/8", "-"],
    ["UDP4-DATAGRAM:127.0.0.1:9,range=127.0.0.1", "-"],
    ["UDP4-RECV:9,range=127.0.0.0/33", "-"],
    ["UDP-LISTEN:9,max-children=2", "-"],
    ["UDP-LISTEN:9x", "-"],
    ["UDP-RECVFROM:9,bind=127.0.0.1:9", "-"],
    ["UDP-CONNECT:127.0.0.1:9,fork", "-"],
    ["UDP-SENDTO:[::1]:9,pf=ip4", "-"],
]


@needs_socat
@pytest.mark.parametrize("args", ERRORS, ids=lambda a: a[0])
def test_errors_as_socat(args):
    r = run_pysocat(*args)
    s = run_socat(*args)
    assert (r.returncode, _errors(r)) == (s.returncode, _errors(s))
    assert b"Traceback" not in r.stderr


@needs_socat
def test_port_in_use_as_socat():
    with udp() as busy:
        port = busy.getsockname()[1]
        for t in (f"UDP-RECVFROM:{port},bind=127.0.0.1", f"UDP-RECV:{port},bind=127.0.0.1",
                  f"UDP-LISTEN:{port},bind=127.0.0.1"):
            r = run_pysocat(t, "-")
            s = run_socat(t, "-")
            assert (r.returncode, _errors(r)) == (s.returncode, _errors(s)), t
            assert "Address already in use" in _errors(r)[0]


# --- ancillary messages ----------------------------------------------------------------

@needs_socat
def test_ancillary_messages_as_socat():
    opts = "ip-pktinfo,ip-recvttl,ip-recvtos"
    got = {}
    for name, prog in (("socat", [SOCAT]), ("pysocat", PYSOCAT)):
        port = free_port()
        with Bg("-ddd", "-u", f"UDP4-RECV:{port},bind=127.0.0.1,{opts}", "-", prog=prog) as bg:
            assert wait_bound(port)
            with udp() as a:
                a.sendto(b"x", ("127.0.0.1", port))
                time.sleep(0.3)
            out, logs = bg.stop()
        got[name] = (out, [t for t in logs if "ncillary message" in t])
    assert got["pysocat"] == got["socat"]
    assert 'N Ancillary message: interface "lo", locaddr=127.0.0.1, dstaddr=127.0.0.1' \
        in got["socat"][1]


def test_recvfrom_ancillary_environment():
    port = free_port()
    cmd = "SYSTEM:read x; echo $SOCAT_IP_DSTADDR $SOCAT_IP_IF $SOCAT_PEERADDR"
    with Bg(f"UDP4-RECVFROM:{port},bind=127.0.0.1,ip-pktinfo", cmd) as bg:
        assert wait_bound(port)
        with udp() as a:
            assert exchange(a, port, b"x\n")[0] == b"127.0.0.1 lo 127.0.0.1\n"
        bg.stop()


# --- IPv6, and writing where there is no peer ---------------------------------------------

def test_udp6_sendto():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    s.settimeout(3)
    port = s.getsockname()[1]
    with s:
        r = run_pysocat("-d", "-d", "-u", "-", f"UDP6-SENDTO:[::1]:{port}", input=b"six\n")
        data, peer = s.recvfrom(100)
    assert r.returncode == 0 and data == b"six\n"
    assert f"N local address: AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:{peer[1]}" \
        in log_texts(r.stderr)


def test_recv_cannot_answer():
    port = free_port()
    r = run_pysocat("-d", "-d", f"UDP4-RECV:{port},bind=127.0.0.1", "-", input=b"hi\n")
    assert r.returncode == 1
    errors = [t for t in log_texts(r.stderr) if t.startswith("E ")]
    assert len(errors) == 1
    assert re.fullmatch(r'E sendto\(\d+, 3, 0, AF=0 "<anon>", 0\): Invalid argument', errors[0])


@pytest.mark.parametrize("opt,refused", [("lowport", "lowport option"),
                                         ("sourceport=9", "wrong sourceport")])
def test_recv_lowport_and_sourceport_refuse(opt, refused):
    port = free_port()
    with Bg("-dd", "-u", f"UDP4-RECV:{port},bind=127.0.0.1,{opt}", "-") as bg:
        assert wait_bound(port)
        with udp() as a:
            a.sendto(b"A\n", ("127.0.0.1", port))
            time.sleep(0.3)
            pa = a.getsockname()[1]
        out, logs = bg.stop()
    assert out == b""
    assert f"W refusing connection from AF=2 127.0.0.1:{pa} due to {refused}" in logs


# --- bursts: datagrams queued while the relay sleeps -------------------------------------

@pytest.mark.parametrize("bufsize", [None, 100])
def test_queued_datagrams_all_relayed_in_order_whole(bufsize):
    """The relay moves several queued datagrams per wake-up (issue 7): each still
    leaves as one datagram, in order, truncated only at -b."""
    port = free_port()
    count = 150
    with udp() as sink:
        sink_port = sink.getsockname()[1]
        flags = ["-b", str(bufsize)] if bufsize else []
        with Bg(*flags, "-u", f"UDP4-RECV:{port},bind=127.0.0.1",
                f"UDP4-SENDTO:127.0.0.1:{sink_port}") as bg:
            assert wait_bound(port)
            os.kill(bg.p.pid, signal.SIGSTOP)        # let them queue up
            try:
                with udp() as src:
                    for i in range(1, count + 1):
                        src.sendto(bytes([i % 256]) * i, ("127.0.0.1", port))
            finally:
                os.kill(bg.p.pid, signal.SIGCONT)
            got = [sink.recv(1000) for _ in range(count)]
            bg.stop()
    want = [bytes([i % 256]) * min(i, bufsize or i) for i in range(1, count + 1)]
    assert got == want


def _udp_drops(port):
    """The kernel's drop counter of the UDP socket bound to 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want:
                return int(parts[-1])
    raise AssertionError(f"no UDP socket on 127.0.0.1:{port}")


def test_overload_drops_whole_datagrams_and_every_one_is_accounted():
    """More datagrams than the relay's socket holds: the kernel drops some (its
    counter says how many), every other one arrives whole and unaltered."""
    port = free_port()
    count, size = 3000, 1000
    with udp() as sink:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sink_port = sink.getsockname()[1]
        with Bg("-u", f"UDP4-RECV:{port},bind=127.0.0.1,rcvbuf=65536",
                f"UDP4-SENDTO:127.0.0.1:{sink_port}") as bg:
            assert wait_bound(port)
            os.kill(bg.p.pid, signal.SIGSTOP)       # overload: nobody reads now
            try:
                with udp() as src:
                    for i in range(count):
                        src.sendto(i.to_bytes(4, "big") * (size // 4), ("127.0.0.1", port))
                relay_drops = _udp_drops(port)
            finally:
                os.kill(bg.p.pid, signal.SIGCONT)
            got = []
            sink.settimeout(1.0)
            try:
                while len(got) < count:
                    got.append(sink.recv(2 * size))
            except socket.timeout:
                pass
            sink_drops = _udp_drops(sink_port)
            bg.stop()
    assert relay_drops > 0                              # it was overloaded
    assert len(got) + relay_drops + sink_drops == count
    seqs = []
    for d in got:
        assert len(d) == size                           # whole, never truncated
        seq = d[:4]
        assert d == seq * (size // 4)
        seqs.append(int.from_bytes(seq, "big"))
    assert seqs == sorted(seqs)                         # in order


def test_shut_null_sends_an_empty_datagram_to_the_sendto_peer():
    """shut-null at EOF: the empty packet goes through sendto (socat's xiowrite)."""
    rx = udp()
    port = rx.getsockname()[1]
    try:
        r = run_pysocat("-d", "-d", "-u", "-", f"UDP-SENDTO:127.0.0.1:{port},shut-null",
                        input=b"one\n")
        assert r.returncode == 0, r.stderr
        assert rx.recvfrom(100)[0] == b"one\n"
        assert rx.recvfrom(100)[0] == b""
    finally:
        rx.close()
    texts = log_texts(r.stderr)
    eof = texts.index("N socket 1 (fd 0) is at EOF")
    assert texts[eof + 1].startswith("N local address: AF=2 0.0.0.0:")


@pytest.mark.parametrize("debug", [[], ["-d", "-d"]])
def test_null_eof_ends_the_receiver_at_an_empty_datagram(tmp_path, debug):
    """socat test 208 SHUTNULLEOF: only what came before the empty packet is kept."""
    port = free_port()
    out = tmp_path / "out"
    with Bg(*debug, "-u", f"UDP-RECV:{port},null-eof", f"CREAT:{out}") as bg:
        assert wait_bound(port)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            tx.sendto(b"first\n", ("127.0.0.1", port))
            tx.sendto(b"", ("127.0.0.1", port))
            assert bg.p.wait(timeout=5) == 0
            tx.sendto(b"late\n", ("127.0.0.1", port))
        finally:
            tx.close()
        _, texts = bg.stop()
    assert out.read_bytes() == b"first\n"
    if debug:
        assert texts[-2:] == ["N socket 1 (fd 3) is at EOF", "N exiting with status 0"]


# --- ip-options, lowport, the D traces test.sh reads -------------------------------------

def test_ip_options_reach_the_receiver_as_ancillary_data():
    # socat's UDP4SCM_IP_OPTIONS: a NOP option set with ip-options, logged by the
    # receiver (ip-recvopts) as IP_OPTIONS
    port = free_port()
    with Bg("-d", "-d", "-d", "-u", f"UDP4-RECV:{port},bind=127.0.0.1,reuseaddr,ip-recvopts",
            "-") as bg:
        assert wait_bound(port)
        r = run_pysocat("-d", "-d", "-d", "-d", "-u", "-",
                        f"UDP4-SENDTO:127.0.0.1:{port},ip-options=x01000000", input=b"XYZ\n")
        assert r.returncode == 0, r.stderr
        time.sleep(0.3)
        out, logs = bg.stop()
    assert out == b"XYZ\n"
    assert "I ancillary message: IP_OPTIONS: options=x01000000" in logs
    sent = log_texts(r.stderr)
    assert any(re.fullmatch(r"D setsockopt\(\d+, 0, 4, \{0x1\}, 4\)", t) for t in sent)
    assert "D setsockopt() -> 0" in sent


def test_lowport_bind_is_traced_with_a_reserved_port():
    # socat's UDP_LOWPORT reads the port from the "D bind(...)" trace
    r = run_pysocat("-d", "-d", "-d", "-d", "/dev/null", "UDP4-SENDTO:127.0.0.1:9,lowport")
    assert r.returncode == 0, r.stderr
    binds = [m for t in log_texts(r.stderr)
             for m in [re.fullmatch(r"D bind\(\d+, AF=2 0\.0\.0\.0:(\d+), 112\)", t)] if m]
    assert len(binds) >= 1 and 640 <= int(binds[-1].group(1)) <= 1023
    assert "D bind() -> 0" in log_texts(r.stderr)


@needs_socat
def test_bind_and_setsockopt_traces_match_socat():
    port = free_port()
    args = ["-d", "-d", "-d", "-d", "/dev/null",
            f"UDP4-SENDTO:127.0.0.1:9,bind=127.0.0.1:{port},setsockopt-int=1:7:6000"]
    def traces(r):
        return [re.sub(r"^(D \w+)\(\d+,", r"\1(F,", t) for t in log_texts(r.stderr)
                if t.startswith(("D bind(", "D setsockopt("))]
    ours = traces(run_pysocat(*args))
    theirs = traces(run_socat(*args))
    assert ours == theirs
    assert f"D bind(F, AF=2 127.0.0.1:{port}, 16)" in ours


def _wait_udp_bound(port, host="0100007F", timeout=15.0):
    """Until a UDP socket is bound to host:port (/proc/net/udp), bounded."""
    want = f"{host}:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as f:
            if any(line.split()[1] == want for line in f.readlines()[1:]):
                return
        time.sleep(0.02)
    raise AssertionError(f"nothing bound to UDP {want}")


def _listener_ends(cmd, env, tmp_path):
    """UDP-LISTEN -> file, one client line from STDIO UDP:...: does the listener end?"""
    from sockhelp import free_port
    port = free_port()
    out = tmp_path / "out"
    lst = subprocess.Popen(cmd + ["-u", f"UDP4-LISTEN:{port}", f"CREATE:{out}"], env=env,
                           stderr=subprocess.DEVNULL)
    try:
        _wait_udp_bound(port, "00000000")
        subprocess.run(cmd + ["STDIO", f"UDP4:127.0.0.1:{port}"], input=b"line\n", env=env,
                       timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            lst.wait(3)
            ended = True
        except subprocess.TimeoutExpired:
            ended = False
        return ended, out.read_bytes()
    finally:
        if lst.poll() is None:
            lst.kill()
            lst.wait()


@needs_socat
@needs_socat18
@pytest.mark.parametrize("version", ["1.8.1.3", "1.7.4.4"])
def test_udp_client_eof_ends_the_listener_in_18(tmp_path, version):
    # test.sh 1.8 603 UDP_CONNECT_EOF: 1.8's UDP-CONNECT half-closes with an empty
    # datagram, which UDP-LISTEN (reading with read()) takes as EOF; 1.7 sends none
    env, classic = (ENV18, SOCAT18) if version == "1.8.1.3" else (ENV17, SOCAT)
    want = _listener_ends([classic], env, tmp_path)
    got = _listener_ends(PYSOCAT, env, tmp_path)
    assert got == want == (version == "1.8.1.3", b"line\n")


@needs_socat
def test_empty_datagram_is_eof_for_udp_connect():
    # both versions: a connected UDP-CONNECT reads with read(); 0 bytes is EOF
    from sockhelp import free_port
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    try:
        for cmd in (PYSOCAT, [SOCAT]):
            mine = free_port()
            p = subprocess.Popen(cmd + ["-u", f"UDP4-CONNECT:127.0.0.1:{peer.getsockname()[1]},"
                                        f"bind=127.0.0.1:{mine}", "-"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            _wait_udp_bound(mine)
            peer.sendto(b"x\n", ("127.0.0.1", mine))
            peer.sendto(b"", ("127.0.0.1", mine))
            out, _ = p.communicate(timeout=5)
            assert (out, p.returncode) == (b"x\n", 0), cmd
    finally:
        peer.close()
