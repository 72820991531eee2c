"""socat 1.8's openssl-maxsendfrag and openssl-maxfraglen: the TLS records on the
wire and the negotiated length, against classic 1.8.1.3; unknown under 1.7.4.4."""
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (ENV18, PYSOCAT, SOCAT18, log_texts, needs_socat, needs_socat18,
                      run_pysocat, run_socat)
from same18 import same18
from sockhelp import _listening, free_port
from pki import OPENSSL

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")

DATA = bytes(range(256)) * 20     # 5120 bytes


def _server(cmd, env, port, pki, extra, target):
    return subprocess.Popen(cmd + ["-ddd", f"OPENSSL-LISTEN:{port},reuseaddr,bind=127.0.0.1,"
                                   f"cert={pki['server']},verify=0{extra}", target],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        if _listening(port, socket.AF_INET):
            return
        time.sleep(0.05)
    raise AssertionError("server did not listen")


def _records(port):
    """TLS client on memory BIOs: (lengths of the records after the handshake, the data)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inb, outb)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw = data = b""
    with sock:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outb.read())
                chunk = sock.recv(65536)
                assert chunk, "server closed during the handshake"
                inb.write(chunk)
        sock.sendall(outb.read())
        # the records that follow the handshake, raw and decrypted, until all the
        # data came (classic waits for our close before it closes)
        deadline = time.monotonic() + 10
        while len(data) < len(DATA) and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
            inb.write(chunk)
            for _ in range(1000):
                try:
                    got = tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
                if not got:
                    break
                data += got
    lengths, pos = [], 0
    while pos + 5 <= len(raw):
        n = int.from_bytes(raw[pos + 3:pos + 5], "big")
        lengths.append(n)
        pos += 5 + n
    return lengths, data


def _serve_records(cmd, env, pki, extra, tmp_path):
    src = tmp_path / "data"
    src.write_bytes(DATA)
    port = free_port()
    p = _server(cmd, env, port, pki, extra, f"OPEN:{src},rdonly")
    try:
        _wait_port(port, p)
        lengths, data = _records(port)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return lengths, data


@needs_socat18
@pytest.mark.parametrize("size", [512, 1000])
def test_maxsendfrag_bounds_the_records_sent(pki, tmp_path, size):
    """Each TLS 1.3 record carries at most ``size`` bytes (+1 type byte, +16 tag)."""
    ours = _serve_records(PYSOCAT, ENV18, pki, f",maxsendfrag={size}", tmp_path)
    theirs = _serve_records([SOCAT18], os.environ, pki, f",maxsendfrag={size}", tmp_path)
    assert ours[1] == theirs[1] == DATA
    assert max(ours[0]) <= size + 17
    assert max(ours[0]) == max(theirs[0])
    plain = _serve_records(PYSOCAT, ENV18, pki, "", tmp_path)
    assert plain[1] == DATA and max(plain[0]) > size + 17


def _fraglen_logs(client, server, pki, extra):
    """-ddd client (with ``extra``) against a -ddd server: both logs' fragment lines."""
    port = free_port()
    scmd, senv = server
    p = _server(scmd, senv, port, pki, "", "PIPE")
    try:
        _wait_port(port, p)
        ccmd, cenv = client
        r = subprocess.run(ccmd + ["-ddd", "-", f"OPENSSL:localhost:{port},verify=0{extra}"],
                           env=cenv, input=b"x" * 3000, capture_output=True, timeout=20)
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    pick = [t for t in log_texts(r.stderr) if "fragment" in t], \
        [t for t in log_texts(err) if "fragment" in t]
    return r, pick


@needs_socat18
@pytest.mark.parametrize("pair", ["pysocat-client", "pysocat-server"])
def test_maxfraglen_negotiated_and_logged(pki, pair):
    """A client's maxfraglen=512 is agreed: both sides say so at -ddd, as classic's."""
    ours = (PYSOCAT, ENV18)
    theirs = ([SOCAT18], os.environ)
    client, server = (ours, theirs) if pair == "pysocat-client" else (theirs, ours)
    r, lines = _fraglen_logs(client, server, pki, ",maxfraglen=512")
    assert r.returncode == 0 and r.stdout == b"x" * 3000, r.stderr
    assert lines == (["I OpenSSL: max fragment length is 512"],
                     ["I OpenSSL: max fragment length is 512"])
    _, lines = _fraglen_logs(client, server, pki, "")
    assert lines == ([], [])


@needs_socat18
@pytest.mark.parametrize("args", [
    ["-", "OPENSSL:127.0.0.1:1,verify=0,maxfraglen=100"],
    ["-", "OPENSSL:127.0.0.1:1,verify=0,maxsendfrag=100"],
    ["-", "OPENSSL:127.0.0.1:1,verify=0,maxsendfrag=16385"],
    ["-", "OPENSSL-LISTEN:0,verify=0,maxfraglen=512"],
])
def test_bad_values_as_classic(args):
    same18("-dd", *args)


@needs_socat
@pytest.mark.parametrize("opt", ["maxfraglen=512", "openssl-maxsendfrag=512"])
def test_unknown_under_17(opt):
    args = ["-", f"OPENSSL:127.0.0.1:1,verify=0,{opt}"]
    mine, theirs = run_pysocat(*args), run_socat(*args)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)
