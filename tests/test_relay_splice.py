"""The relay's zero-copy path (splice) and large stream steps (issue 7).

Whatever path the engine takes, the bytes must arrive identical, EOF must
half-close the other side exactly as before, and ``-b`` bounds every step.
"""
import hashlib
import os
import socket
import subprocess
import threading

import pytest

from conftest import PYSOCAT, log_texts, run_pysocat

MiB = 1 << 20


def _payload(size):
    return os.urandom(size)


def _transfers(stderr):
    return [int(t.split()[2]) for t in log_texts(stderr) if t.startswith("I transferred ")]


def test_file_to_file_identical(tmp_path):
    # regular file → regular file: splice through a private pipe (or, when the
    # destination cannot splice, e.g. O_APPEND, the fallback copies)
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = _payload(3 * MiB + 12345)
    src.write_bytes(data)
    r = run_pysocat("-u", f"OPEN:{src},rdonly", f"OPEN:{dst},creat,trunc,wronly")
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == data


def test_append_destination_falls_back(tmp_path):
    # splice(2) refuses O_APPEND files: the bytes already in the pipe must not be lost
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = _payload(2 * MiB + 7)
    src.write_bytes(data)
    dst.write_bytes(b"head:")
    r = run_pysocat("-u", f"OPEN:{src},rdonly", f"OPEN:{dst},append,wronly")
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == b"head:" + data


def test_pipe_to_pipe_identical():
    data = _payload(4 * MiB + 1)
    r = run_pysocat("-u", "-", "-", input=data, timeout=30)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()


def _socket_relay(extra=(), size=8 * MiB):
    """pysocat FD:a FD:b between two socketpairs; returns (data, received, proc, back)."""
    a1, b1 = socket.socketpair()
    a2, b2 = socket.socketpair()
    p = subprocess.Popen(PYSOCAT + list(extra) + [f"FD:{b1.fileno()}", f"FD:{b2.fileno()}"],
                         pass_fds=(b1.fileno(), b2.fileno()), stderr=subprocess.PIPE)
    b1.close()
    b2.close()
    data = _payload(size)
    a1.settimeout(20)
    a2.settimeout(20)

    def send():
        a1.sendall(data)
        a1.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    got = bytearray()
    try:
        while True:
            x = a2.recv(MiB)
            if not x:
                break                        # the half-close arrived
            got += x
        t.join(20)
        # the other direction still works after the first one's EOF
        a2.sendall(b"reply")
        a2.shutdown(socket.SHUT_WR)
        back = b""
        while True:
            x = a1.recv(100)
            if not x:
                break
            back += x
        err = p.communicate(timeout=20)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        a1.close()
        a2.close()
    return data, bytes(got), p.returncode, back, err


def test_socket_to_socket_identical_and_half_close():
    data, got, rc, back, err = _socket_relay()
    assert rc == 0, err
    assert got == data
    assert back == b"reply"


def test_socket_relay_with_b_moves_at_most_b():
    data, got, rc, back, err = _socket_relay(["-d", "-d", "-d", "-b", "1000"], size=200000)
    assert rc == 0
    assert got == data and back == b"reply"
    sizes = _transfers(err)
    assert sizes and max(sizes) <= 1000
    assert sum(sizes) == len(data) + len(b"reply")


def test_without_b_info_log_keeps_socats_step():
    # with the per-step lines visible, steps are socat's 8192 bytes
    data, got, rc, back, err = _socket_relay(["-d", "-d", "-d"], size=100000)
    assert rc == 0 and got == data
    sizes = _transfers(err)
    assert max(sizes) == 8192


def test_b_honoured_with_conversion_path(tmp_path):
    # -v forces the read/write path: every step still at most -b bytes
    src = tmp_path / "src"
    src.write_bytes(b"x" * 5000)
    r = run_pysocat("-d", "-d", "-d", "-b", "700", "-u", f"OPEN:{src},rdonly",
                    f"OPEN:{tmp_path / 'dst'},creat,wronly")
    assert r.returncode == 0
    sizes = _transfers(r.stderr)
    assert max(sizes) == 700 and sum(sizes) == 5000
    assert (tmp_path / "dst").read_bytes() == b"x" * 5000


def test_readbytes_exact_on_splice_path(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = _payload(MiB)
    src.write_bytes(data)
    r = run_pysocat("-u", f"OPEN:{src},rdonly,readbytes=300001",
                    f"OPEN:{dst},creat,trunc,wronly")
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == data[:300001]


def test_large_stream_reads_without_b(tmp_path):
    """No -b: a stream step may move more than 8192 bytes (documented)."""
    data, got, rc, back, err = _socket_relay(["-d", "-d"], size=4 * MiB)
    assert rc == 0 and got == data


@pytest.mark.parametrize("opt", ["", ",crnl"])
def test_pipe_relay_conversions_still_apply(opt):
    data = b"a\nb\n" * 1000
    r = run_pysocat("-u", "-", "-" + opt, input=data)
    assert r.returncode == 0
    assert r.stdout == (data.replace(b"\n", b"\r\n") if opt else data)


def test_echo_through_own_pipe_does_not_deadlock():
    # PIPE is read by this same loop: splicing into it must never block on a
    # full pipe (the loop waits for it to become writable instead)
    data = _payload(4 * MiB)
    r = run_pysocat("-t", "2", "-", "PIPE", input=data, timeout=30)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()


def test_socket_echo_through_own_pipe():
    a, b = socket.socketpair()
    p = subprocess.Popen(PYSOCAT + [f"FD:{b.fileno()}", "PIPE"], pass_fds=(b.fileno(),),
                         stderr=subprocess.PIPE)
    b.close()
    data = _payload(3 * MiB)
    a.settimeout(20)
    t = threading.Thread(target=lambda: (a.sendall(data), a.shutdown(socket.SHUT_WR)),
                         daemon=True)
    t.start()
    got = bytearray()
    try:
        while len(got) < len(data):
            x = a.recv(MiB)
            if not x:
                break
            got += x
    finally:
        a.close()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    assert bytes(got) == data


def test_pipe_echo_with_large_blocks_does_not_deadlock():
    """Converting (no splice) into a PIPE this loop also drains: no blocking step."""
    # finishing at all is the point (a hang raises TimeoutExpired); the program
    # may end before the echo returns, which socat reports as a write error too
    r = run_pysocat("SYSTEM:head -c 300000 /dev/zero; sleep 0.5,crnl", "PIPE", timeout=30)
    assert b"Traceback" not in r.stderr


def test_small_messages_then_bulk_arrive_intact():
    """Ping-pong of small messages (read/write steps) and then bulk (splice
    again) through one socket relay: every byte, in order, both ways."""
    a1, b1 = socket.socketpair()
    a2, b2 = socket.socketpair()
    p = subprocess.Popen(PYSOCAT + [f"FD:{b1.fileno()}", f"FD:{b2.fileno()}"],
                         pass_fds=(b1.fileno(), b2.fileno()), stderr=subprocess.PIPE)
    b1.close()
    b2.close()
    a1.settimeout(20)
    a2.settimeout(20)

    def recv_exactly(s, n):
        buf = bytearray()
        while len(buf) < n:
            x = s.recv(n - len(buf))
            assert x, "early EOF"
            buf += x
        return bytes(buf)
    try:
        for i in range(200):
            msg = i.to_bytes(2, "big") * 32
            a1.sendall(msg)
            assert recv_exactly(a2, len(msg)) == msg
            a2.sendall(msg[::-1])
            assert recv_exactly(a1, len(msg)) == msg[::-1]
        data = _payload(4 * MiB)
        t = threading.Thread(target=a1.sendall, args=(data,), daemon=True)
        t.start()
        assert recv_exactly(a2, len(data)) == data
        t.join(20)
        a1.sendall(b"tail")
        assert recv_exactly(a2, 4) == b"tail"
        a1.shutdown(socket.SHUT_WR)
        a2.shutdown(socket.SHUT_WR)
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        a1.close()
        a2.close()


def test_source_at_eof_into_a_pipe_nobody_reads():
    """stdin at its end, the child gone without reading: socat's read() sees the
    EOF before any write, so the run ends with 0 (splice reports EPIPE first: that
    is not the write error socat would give). A race: tried 20 times."""
    from conftest import log_texts, run_pysocat
    for _ in range(20):
        r = run_pysocat("-dd", "-", "EXEC:printf x,pipes", input=b"")
        assert (r.returncode, r.stdout) == (0, b"x"), r.stderr
        assert not [t for t in log_texts(r.stderr) if t.startswith("E ")]
