"""OPENSSL-DTLS-CLIENT / OPENSSL-DTLS-SERVER on loopback: bytes both ways, the
log lines and errors of classic socat 1.8.1.3 and 1.7.4.4, and interplay
with both classic versions in either direction.

Certificates (a CA, a server with CN=localhost, a client, a second CA) are made
once per session with the ``openssl`` command, as tests/test_openssl.py does.
"""
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import (ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat,
                      needs_socat18)
from sockhelp import Server, free_port, norm
from pki import OPENSSL

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")

try:
    import OpenSSL  # noqa: F401
    HAVE_PYOPENSSL = True
except ImportError:
    HAVE_PYOPENSSL = False
needs_pyopenssl = pytest.mark.skipif(not HAVE_PYOPENSSL and not os.environ.get("CI"),
                                     reason="pyOpenSSL is not installed (make install)")

VERSIONS = [pytest.param("1.8", marks=needs_socat18), pytest.param("1.7", marks=needs_socat)]


def _argv(who: str, version: str):
    """(argv prefix, env) for pysocat or classic socat of a version."""
    if who == "py":
        return PYSOCAT, (ENV18 if version == "1.8" else ENV17)
    return [SOCAT18 if version == "1.8" else SOCAT], dict(os.environ)


def run(who, version, *args, input=b"", timeout=20):
    argv, env = _argv(who, version)
    return subprocess.run(argv + list(args), input=input, capture_output=True,
                          timeout=timeout, env=env)


def DTLSServer(who, version, port, *args):
    """A DTLS server (pysocat or classic of a version) once its UDP port is bound."""
    argv, env = _argv(who, version)
    srv = Server(*args, argv=argv, env=env)
    srv.wait_udp_port(port)
    return srv


def _server_addr(pki, port, extra=""):
    return (f"OPENSSL-DTLS-SERVER:{port},bind=127.0.0.1,reuseaddr,cert={pki['server']},"
            f"cafile={pki['ca']}{extra}")


def _client_addr(pki, port, extra="", name="DTLS"):
    return f"{name}:localhost:{port},cert={pki['client']},cafile={pki['ca']}{extra}"


def _notices(stderr):
    """The N/W/E lines, fd numbers and ports left out."""
    out = []
    for line in norm(log_texts(stderr)):
        if line[:1] in "NWE" and "local address" not in line and "UDP connection" not in line:
            out.append(re.sub(r":\d{2,5}\b", ":PORT", line))
    return out


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server,client", [("classic", "py"), ("py", "classic"), ("py", "py")])
def test_echo_between_pysocat_and_classic(pki, version, server, client):
    """Both directions against classic, the log lines (-dd) the same as
    classic's own pair logs."""
    port = free_port(kind=socket.SOCK_DGRAM)
    with DTLSServer(server, version, port, "-dd", _server_addr(pki, port), "PIPE") as srv:
        r = run(client, version, "-dd", "-t", "2", "-", _client_addr(pki, port),
                input=b"hello dtls\n")
        assert (r.returncode, r.stdout) == (0, b"hello dtls\n"), r.stderr
        rc, _, err = srv.finish()
        assert rc == 0, err
    port = free_port(kind=socket.SOCK_DGRAM)
    with DTLSServer("classic", version, port, "-dd", _server_addr(pki, port), "PIPE") as srv:
        ref = run("classic", version, "-dd", "-t", "2", "-", _client_addr(pki, port),
                  input=b"hello dtls\n")
        _, _, ref_err = srv.finish()
    assert _notices(r.stderr) == _notices(ref.stderr)
    assert _notices(err) == _notices(ref_err)
    texts = log_texts(r.stderr)
    assert "N trusting certificate, commonName matches" in texts
    assert "N SSL proto version used: TLSv1.2" in texts
    assert "N trusting certificate, no check of commonName" in log_texts(err)


@needs_pyopenssl
@pytest.mark.parametrize("direction", ["to-server", "to-client"])
def test_file_transfer_both_directions(pki, tmp_path, direction):
    """test.sh's OPENSSL_DTLS_TO_SERVER/_TO_CLIENT: 16 KiB one way (-u/-U),
    more than one DTLS record per relay step (UDP has no flow control: as
    with socat, a much larger burst may overrun the receiver's buffer)."""
    data = b"".join(b"%9u %9u %9u\n" % (i, i, i) for i in range(0, 65536, 100))
    src, dst = tmp_path / "in", tmp_path / "out"
    src.write_bytes(data)
    port = free_port(kind=socket.SOCK_DGRAM)
    if direction == "to-server":
        server = ["-u", _server_addr(pki, port, ",verify=0"), f"CREAT:{dst}"]
        client = ["-u", f"OPEN:{src}", f"DTLS-CONNECT:localhost:{port},cafile={pki['ca']}"]
    else:
        server = ["-U", "-t", "10", _server_addr(pki, port, ",verify=0"), f"OPEN:{src}"]
        client = ["-u", f"DTLS-CONNECT:localhost:{port},cafile={pki['ca']}", f"CREAT:{dst}"]
    with DTLSServer("py", "1.8", port, *server) as srv:
        r = run("py", "1.8", *client, timeout=30)
        assert r.returncode == 0, r.stderr
        if direction == "to-server":
            assert srv.finish()[0] == 0
    assert dst.read_bytes() == data


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
def test_verify_failure_is_socats(pki, version):
    """A server certificate from another CA: classic's lines and exit status
    (1.8: W and "exiting with status -1"; 1.7.4.4: E and exit 1)."""
    results = []
    for who in ("py", "classic"):
        port = free_port(kind=socket.SOCK_DGRAM)
        with DTLSServer("classic", version, port, _server_addr(pki, port, ",verify=0"),
                        "PIPE") as srv:
            r = run(who, version, "-dd", "-", f"DTLS:localhost:{port},cafile={pki['ca2']}")
            srv.finish()
        results.append((r.returncode, _notices(r.stderr)))
    assert results[0] == results[1]
    level = "W" if version == "1.8" else "E"
    assert f"{level} SSL_connect(): error:0A000086:SSL routines::certificate verify failed" \
        in results[0][1]
    assert results[0][0] == (255 if version == "1.8" else 1)


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
def test_client_without_certificate_is_refused_by_server(pki, version):
    """The server requires a client certificate (verify=1): its error is socat's."""
    errs = []
    for who in ("py", "classic"):
        port = free_port(kind=socket.SOCK_DGRAM)
        with DTLSServer(who, version, port, "-dd", _server_addr(pki, port), "PIPE") as srv:
            run("classic", version, "-", f"DTLS:localhost:{port},cafile={pki['ca']}")
            rc, _, err = srv.finish()
        errs.append((rc, [t for t in _notices(err) if t.startswith("E")]))
    assert errs[0] == errs[1] == (1, [
        "E SSL_accept(): error:0A0000C7:SSL routines::peer did not return a certificate"])


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
def test_connection_refused_is_socats(version):
    """Nobody on the port: the ICMP error ends the handshake as in classic."""
    port = free_port(kind=socket.SOCK_DGRAM)
    ours = run("py", version, "-dd", "-", f"OPENSSL-DTLS-CLIENT:localhost:{port},verify=0")
    theirs = run("classic", version, "-dd", "-", f"OPENSSL-DTLS-CLIENT:localhost:{port},verify=0")
    assert ours.returncode == theirs.returncode
    assert _notices(ours.stderr) == _notices(theirs.stderr)
    assert any("SSL_connect(): Connection refused" in t for t in _notices(ours.stderr))


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("extra", [",cert=/nonexistent", ",cafile=/nonexistent",
                                   ",ciphers=FOO", ",min-version=TLS9", ",compress=zlib"])
def test_option_errors_are_socats(version, extra):
    port = free_port(kind=socket.SOCK_DGRAM)
    for addr in (f"DTLS:localhost:{port}{extra}", f"DTLS-L:{port}{extra}"):
        ours, theirs = run("py", version, "-dd", "-", addr), run("classic", version, "-dd", "-", addr)
        assert ours.returncode == theirs.returncode == 1
        assert norm(log_texts(ours.stderr)) == norm(log_texts(theirs.stderr))


@needs_pyopenssl
@pytest.mark.parametrize("version", VERSIONS)
def test_so_rcvtimeo_ends_a_handshake_with_a_silent_peer(version):
    """test.sh's RCVTIMEO_DTLS on loopback: a UDP socket that never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        addr = f"DTLS:127.0.0.1:{port},verify=0,so-rcvtimeo=0.3"
        t0 = time.monotonic()
        ours = run("py", version, "-dd", "-", addr, timeout=10)
        assert time.monotonic() - t0 < 5
        theirs = run("classic", version, "-dd", "-", addr, timeout=10)
    assert ours.returncode == theirs.returncode != 0
    assert _notices(ours.stderr) == _notices(theirs.stderr)


@needs_pyopenssl
def test_server_fork_serves_clients_in_turn(pki):
    port = free_port(kind=socket.SOCK_DGRAM)
    with DTLSServer("py", "1.8", port, _server_addr(pki, port, ",fork"), "PIPE"):
        for n in range(2):
            r = run("py", "1.8", "-t", "1", "-", _client_addr(pki, port), input=b"no %d\n" % n)
            assert (r.returncode, r.stdout) == (0, b"no %d\n" % n), r.stderr
            time.sleep(0.2)     # the parent binds anew for the next peer


@needs_pyopenssl
def test_aliases_open_the_same_addresses(pki):
    for server_name, client_name in (("DTLS-L", "DTLS-C"), ("DTLS-LISTEN", "DTLS-CLIENT"),
                                     ("OPENSSL-DTLS-LISTEN", "OPENSSL-DTLS-CONNECT"),
                                     ("DTLS-SERVER", "OPENSSL-DTLS-CLIENT")):
        port = free_port(kind=socket.SOCK_DGRAM)
        addr = _server_addr(pki, port).replace("OPENSSL-DTLS-SERVER", server_name, 1)
        with DTLSServer("py", "1.8", port, addr, "PIPE"):
            r = run("py", "1.8", "-", _client_addr(pki, port, name=client_name), input=b"x")
            assert (r.returncode, r.stdout) == (0, b"x"), r.stderr


def test_explain_shows_the_handshake_and_the_version_rows():
    r = subprocess.run(PYSOCAT + ["--explain", "-", "DTLS:127.0.0.1:4433,verify=0"],
                       capture_output=True, timeout=20, env=ENV18)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "SOCK_DGRAM, IPPROTO_UDP" in out and "connect(fd, 127.0.0.1:4433)" in out
    assert "SSL_connect(): the DTLS handshake" in out
    assert "UDP carries no end of file" not in out        # close_notify is DTLS's EOF
    assert "A failed OPENSSL/DTLS client handshake" in out
    assert "refusing to set empty SNI host name" in out
    r = subprocess.run(PYSOCAT + ["--explain", "DTLS-L:4433,fork", "-"],
                       capture_output=True, timeout=20, env=ENV18)
    out = r.stdout.decode()
    assert "recvfrom(): wait for the first packet" in out
    assert "SSL_accept(): the DTLS handshake" in out
    assert "SO_REUSEADDR implicitly" not in out


class _UdpTap:
    """A loopback UDP forwarder between one client and a server port that keeps
    the size of every datagram the client sent (a thread, bounded in time)."""

    def __init__(self, server_port: int, seconds: float = 20.0):
        import threading
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", server_port))
        self.sizes, self.stop = [], time.monotonic() + seconds
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import select
        client = None
        while time.monotonic() < self.stop:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for s in ready:
                if s is self.front:
                    data, client = self.front.recvfrom(65536)
                    self.sizes.append(len(data))
                    self.back.send(data)
                else:
                    try:
                        data = self.back.recv(65536)
                    except ConnectionRefusedError:
                        continue
                    if client:
                        self.front.sendto(data, client)

    def close(self):
        self.stop = 0
        self.thread.join(timeout=5)
        self.front.close()
        self.back.close()


@needs_pyopenssl
@pytest.mark.parametrize("maxsendfrag", [None, 512])
def test_maxsendfrag_bounds_the_records_sent(pki, tmp_path, maxsendfrag):
    """maxsendfrag=512: no datagram of the client's data carries more than 512
    bytes of it (plus DTLS's header, nonce and tag); without it they do."""
    data = bytes(range(256)) * 64
    src, dst = tmp_path / "in", tmp_path / "out"
    src.write_bytes(data)
    port = free_port(kind=socket.SOCK_DGRAM)
    extra = f",maxsendfrag={maxsendfrag}" if maxsendfrag else ""
    with DTLSServer("py", "1.8", port, "-u", _server_addr(pki, port, ",verify=0"),
                    f"CREAT:{dst}") as srv:
        tap = _UdpTap(port)
        try:
            r = run("py", "1.8", "-u", f"OPEN:{src}",
                    f"DTLS-CONNECT:localhost:{tap.port},cafile={pki['ca']}{extra}", timeout=30)
            assert r.returncode == 0, r.stderr
            assert srv.finish()[0] == 0
        finally:
            tap.close()
    assert dst.read_bytes() == data
    largest = max(tap.sizes)
    if maxsendfrag:
        assert largest <= maxsendfrag + 64
    else:
        assert largest > 1000
