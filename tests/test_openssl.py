"""OPENSSL / OPENSSL-LISTEN on loopback: bytes, verification, names, versions, env.

Certificates (a CA, a server with CN=localhost, a client, a second CA) are made
once per session with the ``openssl`` command in a temporary directory.

Known differences to socat (Python's ssl keeps only one entry of OpenSSL's
error queue, socat prints every entry): where OpenSSL queues several errors,
pysocat prints only the last one. The texts compared here have one entry.
"""
import os
import re
import socket
import time
import subprocess

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_socat, run_pysocat, run_socat
from sockhelp import Server, free_port, has_ipv6, norm
from pki import OPENSSL, openssl_cmd

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


def _server(pki, port, extra="", target="SYSTEM:cat; echo done", classic=False, pre=()):
    return Server(*pre, "-dd", f"OPENSSL-LISTEN:{port},reuseaddr,bind=127.0.0.1,"
                  f"cert={pki['server']},cafile={pki['ca']}{extra}", target, classic=classic)


def _client_addr(pki, port, extra="", host="localhost"):
    return f"OPENSSL:{host}:{port},cert={pki['client']},cafile={pki['ca']}{extra}"


def test_both_ways_and_half_close(pki):
    port = free_port()
    with _server(pki, port) as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-t", "5", "-", _client_addr(pki, port), input=b"hello\n")
        assert r.returncode == 0, r.stderr
        # our close_notify reached cat as EOF, and "done" came back after it
        assert r.stdout == b"hello\ndone\n"
        texts = log_texts(r.stderr)
        i = texts.index("N trusting certificate, commonName matches")
        assert texts[i + 1] == "N SSL proto version used: TLSv1.3"
        assert texts[i + 2].startswith("N SSL connection using TLS_")
        assert texts[i + 3:i + 5] == ['N SSL connection compression "none"',
                                      'N SSL connection expansion "none"']
        rc, _, err = srv.finish()
        assert rc == 0
        assert "N trusting certificate, no check of commonName" in log_texts(err)


def test_large_transfer_both_directions(pki, tmp_path):
    port = free_port()
    up, down = os.urandom(1 << 20), os.urandom(700000)
    (tmp_path / "down").write_bytes(down)
    got_up = tmp_path / "up"
    with _server(pki, port, target=f"SYSTEM:cat {tmp_path}/down & cat > {got_up}; wait") as srv:
        srv.wait_port(port)
        r = run_pysocat("-t", "5", "-", _client_addr(pki, port), input=up)
        assert r.returncode == 0, r.stderr
        assert r.stdout == down
        assert srv.finish()[0] == 0
    assert got_up.read_bytes() == up


def test_verify_failure_with_wrong_ca(pki):
    port = free_port()
    with _server(pki, port) as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-", f"OPENSSL:localhost:{port},cert={pki['client']},"
                        f"cafile={pki['ca2']}")
        assert r.returncode == 1
        assert log_texts(r.stderr)[-2:] == [
            "E SSL_connect(): error:0A000086:SSL routines::certificate verify failed",
            "N exit(1)"]
        rc, _, err = srv.finish()
        assert rc == 1
        assert "E SSL_accept(): error:0A000418:SSL routines::tlsv1 alert unknown ca" \
            in log_texts(err)


def test_commonname_mismatch_and_override(pki):
    port = free_port()
    with _server(pki, port, extra=",fork") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-", _client_addr(pki, port, host="127.0.0.1"))
        assert r.returncode == 1
        assert 'E certificate is valid but its commonName does not match hostname ' \
            '"127.0.0.1"' in log_texts(r.stderr)
        r = run_pysocat("-dd", "-", _client_addr(pki, port, ",commonname=localhost",
                                                 host="127.0.0.1"), input=b"x")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"xdone\n"
        assert "N trusting certificate, commonName matches" in log_texts(r.stderr)
        r = run_pysocat("-dd", "-", _client_addr(pki, port, ",cn=,snihost=localhost",
                                                 host="127.0.0.1"),
                        input=b"y")
        assert r.returncode == 0, r.stderr
        assert "N trusting certificate, no check of commonName" in log_texts(r.stderr)


def test_proto_version_limits(pki):
    port = free_port()
    with _server(pki, port, extra=",fork,max-version=TLS1.2",
                 target="SYSTEM:echo $SOCAT_OPENSSL_PROTO_VERSION") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-", _client_addr(pki, port))
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"TLSv1.2\n"
        assert "N SSL proto version used: TLSv1.2" in log_texts(r.stderr)
        r = run_pysocat("-dd", "-", _client_addr(pki, port, ",min-version=TLS1.3"))
        assert r.returncode == 1
        assert log_texts(r.stderr)[-2] == \
            "E SSL_connect(): error:0A00042E:SSL routines::tlsv1 alert protocol version"


def test_server_rejects_too_old_client(pki):
    port = free_port()
    with _server(pki, port, extra=",min-version=tls1.3") as srv:
        srv.wait_port(port)
        r = run_pysocat("-", _client_addr(pki, port, ",max-version=TLSv1.2"))
        assert r.returncode == 1
        rc, _, err = srv.finish()
        assert rc == 1
        assert "E SSL_accept(): error:0A000102:SSL routines::unsupported protocol" \
            in log_texts(err)


def test_server_requires_client_certificate(pki):
    port = free_port()
    with _server(pki, port, extra=",max-version=TLS1.2") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-", f"OPENSSL:localhost:{port},cafile={pki['ca']}")
        assert r.returncode == 1
        rc, _, err = srv.finish()
        assert rc == 1
        assert "E SSL_accept(): error:0A0000C7:SSL routines::peer did not return a " \
            "certificate" in log_texts(err)


def test_server_without_certificate(pki):
    port = free_port()
    with Server("-dd", f"OPENSSL-LISTEN:{port},reuseaddr,bind=127.0.0.1,verify=0",
                "SYSTEM:cat") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-", f"OPENSSL:localhost:{port},cafile={pki['ca']}")
        assert r.returncode == 1
        assert log_texts(r.stderr)[-2] == \
            "E SSL_connect(): error:0A000410:SSL routines::sslv3 alert handshake failure"
        rc, _, err = srv.finish()
        texts = log_texts(err)
        assert texts[0] == 'W no certificate given; consider option "cert"'
        assert "E SSL_accept(): error:0A0000C1:SSL routines::no shared cipher" in texts


def test_verify_0_and_env_for_exec(pki, tmp_path):
    port = free_port()
    srv_env, cli_env = tmp_path / "srv.env", tmp_path / "cli.env"
    with _server(pki, port, target=f"SYSTEM:env | grep ^PROG_OPENSSL_ | sort > {srv_env}",
                 pre=("-lp", "prog")) as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", _client_addr(pki, port, ",verify=0"),
                        f"SYSTEM:env | grep ^SOCAT_OPENSSL_ | sort > {cli_env}; cat")
        assert r.returncode == 0, r.stderr
        texts = log_texts(r.stderr)
        assert "N option openssl-verify disabled, no check of certificate" in texts
        rc, out, err = srv.finish()
        assert rc == 0, err
    lines = cli_env.read_text().splitlines()
    assert "SOCAT_OPENSSL_X509_SUBJECT=C = XY, O = pysocat test, CN = localhost" in lines
    assert "SOCAT_OPENSSL_X509_COMMONNAME=localhost" in lines
    assert "SOCAT_OPENSSL_X509_ISSUER=CN = Test ca" in lines
    lines = srv_env.read_text().splitlines()
    assert "PROG_OPENSSL_X509_COMMONNAME=client" in lines
    assert "PROG_OPENSSL_X509_ORGANIZATIONNAME=pysocat test" in lines
    assert "PROG_OPENSSL_PROTO_VERSION=TLSv1.3" in lines
    assert any(x.startswith("PROG_OPENSSL_CIPHER=TLS_") for x in lines)


def test_version_and_unsupported_names():
    r = run_pysocat("-V")
    assert "  #define WITH_OPENSSL 1" in r.stdout.decode().splitlines()
    # DTLS (OPENSSL-DTLS-CLIENT/-SERVER): tests/test_dtls.py
    # fips cannot be honoured with Python's ssl: no row (egd: tests/test_options16.py)
    for opt in ("fips",):
        r = run_pysocat("-", f"OPENSSL:localhost:1,{opt}")
        assert log_texts(r.stderr) == [f'E parseopts_table(): unknown option "{opt.split("=")[0]}"']


OPTION_ERRORS = [
    "OPENSSL:localhost", "OPENSSL::{port}", "OPENSSL:localhost:{port},cafile=/nonexistent",
    "OPENSSL:localhost:{port},cert=/nonexistent", "OPENSSL:localhost:{port},ciphers=FOO",
    "OPENSSL:localhost:{port},compress=zlib", "OPENSSL:localhost:{port},min-version=TLS9",
    "OPENSSL:localhost:{port},min-version=SSL2", "OPENSSL:localhost:{port},method=TLS1.2",
    "OPENSSL:localhost:{port},fips", "OPENSSL:localhost:{port},cn=",
    "OPENSSL-LISTEN:{port},cert=/nonexistent",
]


@needs_socat
@pytest.mark.parametrize("addr", OPTION_ERRORS)
def test_option_errors_are_socats(addr):
    addr = addr.format(port=free_port())
    ours, theirs = run_pysocat("-dd", "-", addr), run_socat("-dd", "-", addr)
    assert ours.returncode == theirs.returncode == 1
    assert norm(log_texts(ours.stderr)) == norm(log_texts(theirs.stderr))


def test_plain_tcp_peer_closing_during_handshake(pki):
    port = free_port()
    with _server(pki, port) as srv:
        srv.wait_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        rc, _, err = srv.finish()
        assert rc == 1
        assert log_texts(err)[-2] == \
            "E SSL_accept(): error:0A000126:SSL routines::unexpected eof while reading"


@needs_socat
@pytest.mark.parametrize("classic_server", [True, False])
def test_interop_with_socat(pki, classic_server):
    port = free_port()
    with _server(pki, port, classic=classic_server) as srv:
        srv.wait_port(port)
        run = run_pysocat if classic_server else run_socat
        r = run("-dd", "-t", "5", "-", _client_addr(pki, port), input=b"abc" * 10000)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"abc" * 10000 + b"done\n"
        assert "N trusting certificate, commonName matches" in log_texts(r.stderr)
        rc, _, err = srv.finish()
        assert rc == 0, err


def test_retry_after_failed_handshake(pki):
    port = free_port()
    with _server(pki, port, extra=",fork") as srv:
        srv.wait_port(port)
        r = run_pysocat("-ddd", "-", f"OPENSSL:localhost:{port},cert={pki['client']},"
                        f"cafile={pki['ca2']},retry=1,interval=0.1")
        assert r.returncode == 1
        texts = [t for t in log_texts(r.stderr) if "SSL_connect" in t or "peer cert" in t
                 or t.startswith("I close(")]
        err = "SSL_connect(): error:0A000086:SSL routines::certificate verify failed"
        assert texts[0] == "I " + err
        assert texts[1] == "I no peer certificate"
        assert texts[2].startswith("I close(")
        assert texts[-1] == "E " + err


def test_client_fork_forks_after_the_handshake(pki, tmp_path):
    port = free_port()
    seen = tmp_path / "seen"
    with _server(pki, port, extra=",fork", target=f"SYSTEM:echo x >> {seen}") as srv:
        srv.wait_port(port)
        with Server("-dd", "-u", _client_addr(pki, port, ",fork,interval=0.2"),
                    "/dev/null") as cli:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (
                    not seen.exists() or len(seen.read_text().split()) < 2):
                time.sleep(0.05)
            _, _, err = cli.stop()
        texts = log_texts(err)
        assert len(seen.read_text().split()) >= 2
        first_fork = next(i for i, t in enumerate(texts) if t.startswith("N forked off child"))
        assert texts.index("N trusting certificate, commonName matches") < first_fork


def _alt_cert(d, name, san):
    """A self-signed certificate with CN=servername and these subjectAltNames."""
    openssl_cmd("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", "/CN=servername", "-addext", f"subjectAltName={san}", cwd=d)
    return str(d / f"{name}.key"), str(d / f"{name}.crt")


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on loopback")
def test_subjectaltname_ipv6_matches_bracketed_host(tmp_path):
    # test.sh OPENSSL_SERVERALTIP6AUTH: the peer name "[::1]" is compared with
    # the IPv6 subjectAltName as socat's xioip6_pton() reads it (brackets off)
    key, crt = _alt_cert(tmp_path, "alt", "DNS:localhost,IP:127.0.0.1,IP:::1")
    key2, crt2 = _alt_cert(tmp_path, "other", "IP:::2")
    for k, c, ok in ((key, crt, True), (key2, crt2, False)):
        port = free_port(socket.AF_INET6)
        with Server("-dd", f"OPENSSL-LISTEN:{port},pf=ip6,reuseaddr,cert={c},key={k},"
                    "verify=0", "PIPE") as srv:
            srv.wait_port(port, host="::1")
            r = run_pysocat("-ddd", "-", f"OPENSSL:[::1]:{port},verify=1,cafile={c}",
                            input=b"v6\n")
            srv.stop()
        texts = log_texts(r.stderr)
        if ok:
            assert r.returncode == 0, r.stderr
            assert r.stdout == b"v6\n"
            assert 'I subjectAltName "127.0.0.1" does not match peername "[::1]"' in texts
            assert "N trusting certificate, commonName matches" in texts
        else:
            assert r.returncode == 1
            assert 'I subjectAltName "::2" does not match peername "[::1]"' in texts
            assert 'E certificate is valid but its commonName does not match hostname ' \
                '"[::1]"' in texts


@needs_socat
def test_client_info_lines_up_to_the_transfer_are_socats(pki):
    # -ddd: option, SSL_CTX (AUTO_RETRY correction), connect and peer-check lines
    port = free_port()
    with _server(pki, port, extra=",fork", target="PIPE") as srv:
        srv.wait_port(port)
        got = []
        for run in (run_pysocat, run_socat):
            r = run("-ddd", "-", _client_addr(pki, port), input=b"x")
            assert r.returncode == 0, r.stderr
            texts = [t for t in log_texts(r.stderr) if t[0] in "IN"]
            end = next(i for i, t in enumerate(texts) if "starting data transfer" in t)
            got.append([re.sub(r":\d+$|0x[0-9a-f]+|-> \d+$", "X", t)
                        for t in norm(texts[3:end])])
        srv.stop()
    assert "I SSL_CTX mode has SSL_MODE_AUTO_RETRY set. Correcting.." in got[0]
    assert got[0] == got[1]


def _tls_server_that_drops(pki, mode):
    """A Python TLS server: handshake, send b"hi\\n", then end the TCP
    connection without close_notify (FIN for "eof", RST for "rst")."""
    import ssl
    import struct
    import threading
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server"])
    ls = socket.create_server(("127.0.0.1", 0))
    ls.settimeout(10)

    def serve():
        try:
            conn, _ = ls.accept()
            conn.settimeout(10)
            tls = ctx.wrap_socket(conn, server_side=True)
            tls.sendall(b"hi\n")
            time.sleep(0.3)
            raw = socket.socket(fileno=tls.detach())
            if mode == "rst":
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass
        finally:
            ls.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], t


@pytest.mark.parametrize("classic", [False, True])
@pytest.mark.parametrize("mode", ["eof", "rst"])
def test_peer_ends_tcp_without_close_notify(pki, mode, classic):
    # OpenSSL 3's SSL_read() returns 0 at a TCP EOF without close_notify: socat
    # takes it as EOF; a reset is SSL_ERROR_SYSCALL: "SSL_read(): <strerror>"
    if classic and SOCAT is None:
        pytest.skip("socat is not installed")
    port, t = _tls_server_that_drops(pki, mode)
    argv = ([SOCAT] if classic else PYSOCAT) + [
        "-dd", "-", f"OPENSSL:localhost:{port},verify=0"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        rc = p.wait(10)          # stdin stays open: only the peer ends the relay
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    p.stdin.close()
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    t.join(10)
    texts = log_texts(err)
    assert out == b"hi\n"
    if mode == "eof":
        assert rc == 0, err
        assert [x for x in texts if x[0] in "EW"] == []
        assert any(re.fullmatch(r"N socket 2 \(fd \d+\) is at EOF", x) for x in texts)
    else:
        assert rc == 1
        assert texts[-2:] == ["E SSL_read(): Connection reset by peer", "N exit(1)"]
