"""Helpers for socket tests: free ports, background servers, zombie checks."""
import os
import re
import socket
import subprocess
import time

from conftest import PYSOCAT, SOCAT


def free_port(family=socket.AF_INET, kind=socket.SOCK_STREAM) -> int:
    with socket.socket(family, kind) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Server:
    """A pysocat (or socat) process in the background, killed at exit."""

    def __init__(self, *args, classic=False, stdin=subprocess.DEVNULL, argv=None, env=None):
        """``argv``: the program's own prefix (e.g. classic 1.8.1.3); default
        pysocat, or socat 1.7.4.4 when ``classic``."""
        argv = list(argv or ([SOCAT] if classic else PYSOCAT)) + list(args)
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)

    def _wait(self, ready, failure, timeout):
        """Poll ``ready()`` until it holds; the server's end or the timeout
        fail the test with its stderr (a timed-out server is killed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server ended: " + self.proc.stderr.read().decode())
            if ready():
                return
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError(failure + ": " + self.proc.communicate()[1].decode())

    def wait_port(self, port, host="127.0.0.1", timeout=10.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._wait(lambda: _listening(port, fam), "server did not listen", timeout)

    def wait_udp_port(self, port, timeout=10.0):
        self._wait(lambda: udp_bound(port), "server did not bind", timeout)

    def wait_path(self, path, timeout=10.0):
        self._wait(lambda: os.path.exists(path), "server did not create " + path, timeout)

    def finish(self, timeout=10.0):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def _listening(port, family) -> bool:
    """Is a TCP socket listening on port? (reads /proc, connects nothing)."""
    names = ("/proc/net/tcp",) if family == socket.AF_INET else ("/proc/net/tcp6",)
    for name in names:
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def connect_when_listening(port, host="127.0.0.1", timeout=10.0):
    """A TCP connection to a server that may not listen yet: retried until it
    is accepted or ``timeout`` ends (then the last error is raised)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def recv_until_eof(sock) -> bytes:
    """Everything the peer sends until it shuts its side down."""
    got = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk


def udp_bound(port: int) -> bool:
    """Is a UDP socket (IPv4) bound to port? (reads /proc)."""
    with open("/proc/net/udp") as f:
        return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port
                   for line in f.readlines()[1:])


def children_of(pid: int) -> list:
    """(pid, state) of the direct children of pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == pid:
            out.append((int(d), rest[0]))
    return out


_FD = re.compile(r"\b(socket|connect|bind|listen|accept|shutdown|close|setsockopt)\((\d+)")


def norm(lines):
    """Replace fd numbers and ephemeral ports so pysocat and socat compare."""
    out = []
    for line in lines:
        line = _FD.sub(lambda m: f"{m.group(1)}(FD", line)
        line = re.sub(r"\(fd \d+\)", "(fd FD)", line)
        line = re.sub(r"FDs \[\d+,\d+\] and \[\d+,\d+\]", "FDs [..]", line)
        out.append(line)
    return out
