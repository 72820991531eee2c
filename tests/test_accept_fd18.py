"""ACCEPT-FD:<fd> / ACCEPT (new in socat 1.8) against classic 1.8.1.3: a listening
socket made here is passed to the program as an inherited descriptor, the way
systemd's socket activation does it."""
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import (ENV18, PYSOCAT, SOCAT18, log_texts, needs_socat18, run_pysocat18)
from same18 import comparable


def _listener(family=socket.AF_INET):
    if family == socket.AF_UNIX:
        a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        a.bind("\0pysocat-accept-fd-%d-%d" % (os.getpid(), time.monotonic_ns()))
    else:
        a = socket.socket(family)
        a.bind(("127.0.0.1", 0))
    a.listen(5)
    return a


def _session(prog, args, clients=1, family=socket.AF_INET, kill=False, fd=3):
    """Run prog with the listener as ``fd``; each client sends a line, half-closes
    and collects the answer. Returns (answers, stdout, exit code, log lines)."""
    ls = _listener(family)
    addr = ls.getsockname()
    # the listener becomes the child's fd 3 (dup2 leaves it inheritable; pass_fds
    # would close it again after preexec_fn)
    child_fd = ls.fileno()

    def move():
        os.dup2(child_fd, fd)
    p = subprocess.Popen(prog + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, close_fds=False, preexec_fn=move,
                         env=ENV18)
    answers = []
    try:
        for i in range(clients):
            c = socket.socket(family)
            c.settimeout(5)
            c.connect(addr)
            try:
                c.sendall(b"hello %d\n" % i)
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            data = b""
            while True:
                try:
                    chunk = c.recv(1000)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            c.close()
            answers.append(data)
        if kill:
            time.sleep(0.3)
            p.terminate()
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        ls.close()
    return answers, out, p.returncode, err


def _both(args, **kw):
    mine = _session(PYSOCAT, args, **kw)
    theirs = _session([SOCAT18], args, **kw)
    return mine, theirs


_PORT = re.compile(r"127\.0\.0\.1:\d+")
_NEWFD = re.compile(r"\) -> \d+$")          # accept()'s new descriptor
_NAME = re.compile(r'"\\0pysocat-accept-fd-[^"]*"')


_OURS = ("accept", "listening", "using file descriptor", "refusing", "exit")


def _no_forks(stderr):
    """The E/W lines and this address's own; the program's lines (1.8's EXEC logs
    its fork twice, ...) are the EXEC family's business. Ports and socket names
    differ from run to run."""
    return [_NEWFD.sub(") -> #", _NAME.sub('"#"', _PORT.sub("127.0.0.1:#", t)))
            for t in comparable(stderr)
            if t[:1] in "EWF" or any(w in t for w in _OURS)]


CASES = {
    "stdio": (["-dd", "ACCEPT-FD:3", "-"], {}),
    "info-lines": (["-ddd", "ACCEPT-FD:3", "PIPE"], {}),
    "mixed-log": (["-ddd", "-lm", "ACCEPT-FD:3", "PIPE"], {}),
    "alias-accept": (["-dd", "ACCEPT:3", "-"], {}),
    "echo-exec": (["-dd", "ACCEPT-FD:3", "EXEC:cat"], {}),
    "environment": (["ACCEPT-FD:3", "SYSTEM:cat >/dev/null; echo $SOCAT_PEERADDR "
                     "$SOCAT_SOCKADDR x$SOCAT_PEERPORT"], {}),
    "fork": (["ACCEPT-FD:3,fork", "EXEC:cat"], {"clients": 3, "kill": True}),
    "unix": (["-dd", "ACCEPT-FD:3", "EXEC:cat"], {"family": socket.AF_UNIX}),
    "bad-number": (["-dd", "ACCEPT-FD:3x", "-"], {"clients": 0}),
    "max-children-without-fork": (["ACCEPT-FD:3,max-children=1", "-"], {"clients": 0}),
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_classic_18(name):
    args, kw = CASES[name]
    mine, theirs = _both(args, **kw)
    assert mine[0] == theirs[0]             # what the clients got
    assert mine[1] == theirs[1]             # stdout
    assert mine[2] == theirs[2]             # exit code
    assert _no_forks(mine[3]) == _no_forks(theirs[3])


@needs_socat18
def test_range_refuses():
    args = ["-dd", "ACCEPT-FD:3,range=10.0.0.0/8", "-"]
    mine, theirs = _both(args, kill=True)
    assert mine[0] == theirs[0] == [b""]
    want = "W refusing connection from AF=2 127.0.0.1:# due to range option"
    for side in (mine, theirs):
        texts = [t.rsplit(":", 1)[0] + ":# due to range option" if "refusing" in t else t
                 for t in log_texts(side[3])]
        assert want in texts


def test_environment_has_no_ports():
    answers, _, rc, _ = _session(PYSOCAT, ["ACCEPT-FD:3", "SYSTEM:cat >/dev/null; env"])
    env = dict(line.split("=", 1) for line in answers[0].decode().splitlines() if "=" in line)
    assert env["SOCAT_PEERADDR"] == env["SOCAT_SOCKADDR"] == "127.0.0.1"
    assert "SOCAT_PEERPORT" not in env and rc == 0


def test_explain():
    r = run_pysocat18("--explain", "ACCEPT-FD:3,fork", "-")
    assert r.returncode == 0, r.stderr
    assert b"accept(3)" in r.stdout and b"systemd-socket-activate" in r.stdout
    r = run_pysocat18("--explain", "ACCEPT-FD:x", "-")
    assert r.returncode == 1 and b'error in FD number "x"' in r.stderr
