"""SOCKET-* (generic sockets, socat's data notation), SCTP and VSOCK (errors only)."""
import os
import socket
import struct
import time

import pytest

from conftest import (log_texts, needs_socat, needs_socat18, run_pysocat, run_pysocat18, run_socat,
                      run_socat18)
from sockhelp import Server, free_port, norm


def _in4(port, host="7f000001"):
    """socat data notation of a sockaddr_in's sa_data (port, address, zero)."""
    return f"x{port:04x}x{host}x0000000000000000"


def _has_sctp():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        return True
    except OSError:
        return False


def test_socket_listen_and_connect_tcp():
    port = free_port()
    with Server("-dd", f"SOCKET-LISTEN:2:6:{_in4(port)},so-reuseaddr", "SYSTEM:cat; echo end") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-t", "5", "-", f"SOCKET-CONNECT:2:6:{_in4(port)}", input=b"gen\n")
        assert r.stdout == b"gen\nend\n", r.stderr
        assert f"N opening connection to AF=2 127.0.0.1:{port}" in log_texts(r.stderr)
        _, _, err = srv.finish()
        assert f"N listening on AF=2 127.0.0.1:{port}" in log_texts(err)


def test_socket_listen_range_refuses():
    port = free_port()
    with Server("-dd", f"SOCKET-LISTEN:2:6:{_in4(port)},range=x0000x0a000000:x0000xff000000,fork",
                "SYSTEM:echo no") as srv:
        srv.wait_port(port)
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.settimeout(10)
            assert c.recv(10) == b""
        _, _, err = srv.stop()
        assert any(t.startswith("W refusing connection from AF=2 127.0.0.1:") for t in log_texts(err))


def test_socket_sendto_and_recv_udp():
    port = free_port(kind=socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", port))
        rx.settimeout(10)
        r = run_pysocat("-u", "-", f"SOCKET-SENDTO:2:2:17:{_in4(port)}", input=b"packet")
        assert r.returncode == 0, r.stderr
        assert rx.recv(100) == b"packet"
    port = free_port(kind=socket.SOCK_DGRAM)
    with Server("-u", f"SOCKET-RECV:2:2:17:{_in4(port)}", "-") as srv:
        time.sleep(0.5)
        deadline = time.monotonic() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(b"one\n", ("127.0.0.1", port))
            time.sleep(0.3)
        _, out, _ = srv.stop()
        assert out == b"one\n"
        assert time.monotonic() < deadline


def test_socket_datagram_and_recvfrom_reply():
    port = free_port(kind=socket.SOCK_DGRAM)
    with Server(f"SOCKET-RECVFROM:2:2:17:{_in4(port)},fork", "SYSTEM:read x; echo re $x") as srv:
        time.sleep(0.5)
        for i in (1, 2):
            r = run_pysocat("-t", "3", "-", f"SOCKET-DATAGRAM:2:2:17:{_in4(port)}", input=b"d%d\n" % i)
            assert r.stdout == b"re d%d\n" % i, r.stderr
        srv.stop()


def test_socket_connect_unix_path(tmp_path):
    path = str(tmp_path / "u")
    hexpath = "x" + path.encode().hex() + "00"
    with Server(f"UNIX-LISTEN:{path}", "SYSTEM:echo via-generic") as srv:
        srv.wait_path(path)
        r = run_pysocat("-", f"SOCKET-CONNECT:1:0:{hexpath}")
        assert r.stdout == b"via-generic\n", r.stderr
        srv.finish()


@pytest.mark.skipif(not _has_sctp(), reason="the kernel has no SCTP")
def test_sctp_listen_connect():
    port = free_port()
    with Server(f"SCTP4-LISTEN:{port},reuseaddr", "PIPE") as srv:
        time.sleep(1)
        r = run_pysocat("-t", "5", "-", f"SCTP4:127.0.0.1:{port}", input=b"sctp")
        assert r.stdout == b"sctp"
        srv.finish()


ERRORS = [
    "SOCKET-CONNECT:2:6:x00017f000001",
    "SOCKET-CONNECT:2x:6:" + _in4(1),
    "SOCKET-CONNECT:2:6:{closed4},bind=x0000x7f000001",
    "SOCKET-LISTEN:2:6:x0000x00000000,accept-timeout=0.1",
    "SOCKET-LISTEN:2:6:x0000x00000000,range=x0000x7f000000,accept-timeout=0.1",
    "SOCKET-CONNECT:2:6:x1",
    "SOCKET-CONNECT:2:6",
    "SOCKET-SENDTO:2:2:17",
    "SOCKET-RECV:2:2:17:x0000x7f000001",
    "VSOCK-CONNECT:x:1",
    "VSOCK-CONNECT:1:2y",
    "VSOCK-CONNECT:1",
    "VSOCK-LISTEN:1x",
    "VSOCK-LISTEN:1:2",
    "VSOCK-CONNECT:1:2,bind=zz",
    "SCTP:127.0.0.1",
    "SCTP-L:1:2",
    "SCTP6-LISTEN:1,range=1.2.3.4/8",
]


@needs_socat
@pytest.mark.parametrize("addr", ERRORS)
def test_errors_match_socat(addr):
    addr = addr.replace("{closed4}", _in4(free_port()))
    want = run_socat("-dd", "-", addr, timeout=10)
    got = run_pysocat("-dd", "-", addr, timeout=10)
    assert norm(log_texts(got.stderr)) == norm(log_texts(want.stderr))
    assert got.returncode == want.returncode


@needs_socat
def test_sctp_connect_matches_socat():
    closed = free_port()
    want = run_socat("-dd", "-", f"SCTP:127.0.0.1:{closed}", timeout=10)
    got = run_pysocat("-dd", "-", f"SCTP:127.0.0.1:{closed}", timeout=10)
    assert norm(log_texts(got.stderr)) == norm(log_texts(want.stderr))
    assert got.returncode == want.returncode


@needs_socat18
def test_dalan_that_parses_nothing_is_a_syntax_error():
    """test.sh 464 DALAN_NO_SIGSEGV: socat 1.8 reports a syntax error (1.7.4.4 crashes;
    pysocat must not loop under either profile)."""
    want = run_socat18("/dev/null", "SOCKET-LISTEN:1:1:'/tmp/sock'", timeout=10)
    got = run_pysocat18("/dev/null", "SOCKET-LISTEN:1:1:'/tmp/sock'", timeout=10)
    assert log_texts(got.stderr) == log_texts(want.stderr) == ['E syntax error in "/tmp/sock"']
    assert got.returncode == want.returncode == 1
    old = run_pysocat("/dev/null", "SOCKET-LISTEN:1:1:/tmp/sock", timeout=10)
    assert old.returncode == 1 and 'E syntax error in "/tmp/sock"' in log_texts(old.stderr)
