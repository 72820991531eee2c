"""docs/guide.md cannot drift: every command in it runs here, every --explain
excerpt is compared with what pysocat prints.

The guide marks its blocks with ``<!-- guide: RECIPE ROLE -->``; the roles name the
host a command runs on (A, B: one network namespace each, joined by a veth pair
10.0.0.1/24 - 10.0.0.2/24), ``server``/``client``/``setup``, or ``explain``.
Commands run under ``sh -c`` with pysocat first on PATH, in the default profile.
"""
import os
import re
import select
import shlex
import socket
import subprocess
import time

import pytest

from conftest import PYSOCAT, ROOT
from netns import Netns, have_netns, veth_pair, wait_for

GUIDE = os.path.join(ROOT, "docs", "guide.md")
BIN = os.path.dirname(PYSOCAT[0]) if os.path.isabs(PYSOCAT[0]) else None
ENV = {**os.environ, "PYSOCAT_COMPAT": "1.8.1.3",
       "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}" if BIN else os.environ["PATH"]}

needs_netns = pytest.mark.skipif(not have_netns(), reason="needs root and iproute2")


def _blocks():
    text = open(GUIDE, encoding="utf-8").read()
    found = re.findall(r"<!-- guide: (\S+)(?: (\S+))? -->\n```\w*\n(.*?)```", text, re.S)
    return [(recipe, role, body) for recipe, role, body in found]


def command(recipe, role):
    hits = [b for r, ro, b in _blocks() if (r, ro) == (recipe, role)]
    assert len(hits) == 1, f"guide block {recipe} {role}: {len(hits)} found"
    return hits[0].strip()


EXPLAINS = [b for r, _, b in _blocks() if r == "explain"]


def test_guide_has_every_recipe():
    roles = {(r, ro) for r, ro, _ in _blocks()}
    for want in [("overlay", "A"), ("overlay", "B"), ("overlay", "check-A"),
                 ("multicast", "B"), ("multicast", "send-A"), ("generic", "server"),
                 ("generic", "client"), ("openssl", "setup"), ("openssl", "server"),
                 ("openssl", "client")]:
        assert want in roles
    assert len(EXPLAINS) == 4


def excerpt_matches(excerpt: list[str], lines: list[str]) -> str | None:
    """None if ``excerpt`` (with '...' for any number of lines) is in ``lines``."""
    pos = 0
    gap = False
    first = True
    for want in excerpt:
        if want == "...":
            gap = True
            continue
        if first or gap:
            try:
                pos = lines.index(want, pos) + 1
            except ValueError:
                return f"not found (from line {pos}): {want!r}"
        else:
            if pos >= len(lines) or lines[pos] != want:
                got = lines[pos] if pos < len(lines) else "<end>"
                return f"expected next {want!r}, got {got!r}"
            pos += 1
        gap = first = False
    return None


@pytest.mark.parametrize("index", range(len(EXPLAINS)))
def test_explain_excerpt(index):
    first, *excerpt = EXPLAINS[index].rstrip("\n").split("\n")
    assert first.startswith("$ pysocat --explain ")
    args = shlex.split(first[2:])
    r = subprocess.run(PYSOCAT + args[1:], capture_output=True, timeout=30, env=ENV)
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().split("\n")
    problem = excerpt_matches(excerpt, lines)
    assert problem is None, problem


def test_excerpt_matcher_can_fail():
    lines = ["a", "b", "c"]
    assert excerpt_matches(["a", "...", "c"], lines) is None
    assert excerpt_matches(["a", "c"], lines) is not None        # not adjacent
    assert excerpt_matches(["c", "...", "a"], lines) is not None  # order
    assert excerpt_matches(["d"], lines) is not None


# --------------------------------------------------------------- the recipes
def _sh(ns, text, cwd=None):
    """A guide command, started inside ``ns`` (or on this host) as ``sh -c``."""
    argv = ["sh", "-c", f"exec {text}" if "|" not in text else text]
    if ns is not None:
        argv = ns.cmd(*argv)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV, cwd=cwd, start_new_session=True)
    if ns is not None:
        ns.procs.append(p)
    return p


def _run(ns, text, cwd=None, timeout=30):
    p = _sh(ns, text, cwd)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"{text}: no end within {timeout} s\n{err.decode()}")
    return p.returncode, out, err


def _stop(p):
    if p.poll() is None:
        p.terminate()
    try:
        return p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate(timeout=5)


def _read_until(p, want: bytes, timeout=10.0, stream="stdout") -> bytes:
    f = getattr(p, stream)
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got and time.monotonic() < deadline:
        r, _, _ = select.select([f], [], [], 0.1)
        if r:
            chunk = os.read(f.fileno(), 4096)
            if not chunk:
                break
            got += chunk
    return got


@pytest.fixture
def hosts():
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, "10.0.0.1", "10.0.0.2")
        yield a, b


def _tun_up(ns):
    return "172.30." in ns.run("ip", "-4", "addr", "show").stdout.decode()


@needs_netns
def test_overlay(hosts):
    a, b = hosts
    pa = _sh(a, command("overlay", "A"))
    pb = _sh(b, command("overlay", "B"))
    for p in (pa, pb):       # -d -d: both relays say when their loop runs
        assert b"starting data transfer loop" in _read_until(p, b"starting data transfer loop",
                                                            stream="stderr"), _stop(p)[1]
    assert _tun_up(a) and _tun_up(b)
    rc, out, err = _run(a, command("overlay", "check-A"))
    assert rc == 0, out.decode() + err.decode()
    assert b"3 received" in out
    # on the wire: B's relay replaced by a plain UDP socket on 10.0.0.2:9090
    _stop(pb)
    # (the first datagrams may be IPv6 router solicitations of the new interface)
    catcher = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
               "s.bind(('10.0.0.2',9090)); s.settimeout(10)\n"
               "for _ in range(50):\n"
               "    d = s.recvfrom(65536)[0]\n"
               "    if d[2:4] == b'\\x08\\x00':\n"
               "        sys.stdout.buffer.write(d); break\n")
    pc = b.spawn("python3", "-c", catcher)
    assert wait_for(lambda: "10.0.0.2:9090 " in b.run("ss", "-uln").stdout.decode(), timeout=10)
    a.run("ping", "-c", "1", "-W", "1", "172.30.0.2")
    data, err = pc.communicate(timeout=15)
    assert pa.poll() is None, _stop(pa)[1]
    assert data[:4] == b"\x00\x00\x08\x00", data[:8].hex()      # packet information
    assert data[4] == 0x45 and data[4 + 9] == 1                  # IPv4, ICMP
    assert data[4 + 16:4 + 20] == socket.inet_aton("172.30.0.2")
    _stop(pa)


@needs_netns
def test_multicast(hosts):
    a, b = hosts
    pb = _sh(b, command("multicast", "B"))
    joined = lambda: "224.1.0.1" in b.run("ip", "maddr", "show", "dev", "veth0").stdout.decode()
    assert wait_for(joined, timeout=10), _stop(pb)[1]
    rc, _, err = _run(a, command("multicast", "send-A"))
    assert rc == 0, err
    assert _read_until(pb, b"\n") == b"hello group\n"
    _stop(pb)


def _served(ns, port):
    def up():
        r = (ns.run("ss", "-ltn") if ns else
             subprocess.run(["ss", "-ltn"], capture_output=True)).stdout.decode()
        return f"127.0.0.1:{port} " in r
    return wait_for(up, timeout=10)


@pytest.fixture
def place():
    """A namespace of its own when root (ports free for sure), else this host."""
    if have_netns():
        with Netns("g") as ns:
            yield ns
    else:
        yield None


def test_generic_socket(place):
    server = _sh(place, command("generic", "server"))
    try:
        assert _served(place, 8080), _stop(server)[1]
        rc, out, err = _run(place, command("generic", "client"))
        assert (rc, out) == (0, b"as bytes\n"), err
    finally:
        _stop(server)


def test_openssl_tunnel(place, tmp_path):
    for line in command("openssl", "setup").splitlines():
        rc, _, err = _run(None, line, cwd=str(tmp_path), timeout=120)
        assert rc == 0, (line, err)
    server = _sh(place, command("openssl", "server"), cwd=str(tmp_path))
    try:
        assert _served(place, 4433), _stop(server)[1]
        rc, out, err = _run(place, command("openssl", "client"), cwd=str(tmp_path))
        assert (rc, out) == (0, b"through TLS\n"), err
        # and the guide's claim: without a client certificate the server refuses
        bare = command("openssl", "client").replace("cert=client.pem,", "")
        rc, out, _ = _run(place, bare, cwd=str(tmp_path))
        assert rc != 0 and out == b""
    finally:
        _stop(server)
