"""shut-close on a socket and the order of socat's exit-time closes, against real socat.

socat's XIOSHUT_CLOSE close()s the socket at the half-close but keeps its
number: the next poll() of the direction still open fails (EBADF), socat
exits 1 and its xioexit() then shuts the (closed) socket down. On every error
exit socat prints "exit(1)" first and only then closes the addresses still open.
"""
import re
import socket
import threading

import pytest

from conftest import log_texts, needs_socat, run_pysocat, run_socat

_BANNER = ("This product", "socat by", "This is", "OpenSSL", "see ")


def _norm(stderr: bytes) -> list[str]:
    """Log lines without banner; fd numbers and poll() remainders normalized."""
    out = []
    for line in log_texts(stderr):
        if line.startswith("I ") and line[2:].startswith(_BANNER):
            continue
        line = re.sub(r"\{\d\.\d{6}\}", "{T}", line)
        line = re.sub(r"\b(socket\(\d+, \d+, \d+\) -> |connect\(|shutdown\(|close\()\d+",
                      r"\1FD", line)
        line = re.sub(r"\{\d+,", "{FD,", line)
        line = re.sub(r"\) -> \d+$", ") -> FD", line)
        line = re.sub(r"FDs \[(\d+),(\d+)\] and \[\d+,\d+\]", r"FDs [\1,\2] and [FD]", line)
        line = re.sub(r"\(fd \d+\)", "(fd N)", line)
        line = re.sub(r"from \d+ to \d+", "from A to B", line)
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:P", line)
        out.append(line)
    return out


def _eof_server():
    """Accepts one connection, reads to EOF, answers (socat is gone by then)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(15)
    got = []

    def serve():
        try:
            c, _ = ls.accept()
            with c:
                c.settimeout(15)
                data = b""
                while True:
                    chunk = c.recv(100)
                    if not chunk:
                        break
                    data += chunk
                got.append(data)
                try:
                    c.sendall(b"reply")
                except OSError:
                    pass
        except OSError:
            pass
        finally:
            ls.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], got, t


@needs_socat
def test_shut_close_socket_like_socat():
    results = []
    for run in (run_socat, run_pysocat):
        port, got, t = _eof_server()
        r = run("-d", "-d", "-d", "-", f"TCP:127.0.0.1:{port},shut-close", input=b"req")
        t.join(15)
        results.append((r.returncode, r.stdout, got, _norm(r.stderr)))
    assert results[1] == results[0]
    rc, out, got, lines = results[1]
    assert rc == 1 and got == [b"req"]          # the close() delivered EOF
    assert "I close(FD)" in lines
    i = lines.index("N exit(1)")
    assert lines[i - 1] == "E xiopoll({-1,1}{-1,4}{FD,1}{-1,4}, 4, {T}): Bad file descriptor"
    assert lines[i + 1:] == ["I shutdown(FD, 2)", "I shutdown(FD, 2): Bad file descriptor"]
    assert "Traceback" not in "\n".join(lines)


@needs_socat
@pytest.mark.parametrize("shut", ["shut-down", "shut-none", "shut-null"])
def test_other_shut_options_like_socat(shut):
    results = []
    for run in (run_socat, run_pysocat):
        port, got, t = _eof_server()
        r = run("-T", "1", "-", f"TCP:127.0.0.1:{port},{shut}", input=b"req")
        t.join(15)
        results.append((r.returncode, r.stdout, got))
    assert results[1] == results[0]


@needs_socat
@pytest.mark.parametrize("addrs", [
    ("TCP4:127.0.0.1:1", "-"),
    ("-", "TCP4:127.0.0.1:1"),
    ("-", "TCP4:127.0.0.1:1,retry=1,interval=0.05"),
    ("-", "OPEN:/nonexistent-dir/x"),
    ("OPEN:/etc/hostname", "OPEN:/nonexistent-dir/x"),
])
def test_error_exit_order_like_socat(addrs):
    a = run_socat("-d", "-d", "-d", *addrs)
    b = run_pysocat("-d", "-d", "-d", *addrs)
    assert b.returncode == a.returncode == 1
    assert _norm(b.stderr) == _norm(a.stderr)


@needs_socat
def test_error_exit_closes_connected_first_address_after_exit():
    """A connected TCP first address is shut down only after "exit(1)"."""
    results = []
    for run in (run_socat, run_pysocat):
        port, got, t = _eof_server()
        r = run("-d", "-d", "-d", f"TCP:127.0.0.1:{port}", "OPEN:/nonexistent-dir/x")
        t.join(15)
        results.append((r.returncode, _norm(r.stderr)))
    assert results[1] == results[0]
    lines = results[1][1]
    assert lines[lines.index("N exit(1)") + 1:] == ["I shutdown(FD, 2)"]
