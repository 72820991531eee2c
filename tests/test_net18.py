"""socat 1.8's changes to the IP, UNIX and socket addresses, against both classics.

Each test runs the same command with classic socat 1.8.1.3 and pysocat under
the 1.8.1.3 profile, and (where the versions differ) with classic 1.7.4.4 and
pysocat under the 1.7.4.4 profile: same exit code, bytes and log lines.

Name resolution runs in a private network and mount namespace (``isolated``):
only loopback, an /etc/hosts of our own (``dual`` is ::1 and 127.0.0.1) and an
empty resolv.conf, so no lookup can leave the machine. ``a..b`` fails in the
C library itself (empty label); ``nosuch.invalid`` fails "temporarily" because
the only name server (127.0.0.1, the default) refuses.
"""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import (ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_root,
                      needs_socat, needs_socat18)
from sockhelp import free_port

HOSTS = "127.0.0.1 localhost\n::1 dual\n127.0.0.1 dual\n"

needs_unshare = pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                                   reason="needs root and unshare(1) for a private namespace")


def norm(stderr: bytes) -> list:
    """log_texts with fd numbers and ephemeral ports made comparable."""
    out = []
    for line in log_texts(stderr):
        line = re.sub(r"\((\d+), ", "(FD, ", line)
        line = re.sub(r"FDs \[[\d,]+\] and \[[\d,]+\]", "FDs [..]", line)
        line = re.sub(r"\(fd \d+\)", "(fd N)", line)
        line = re.sub(r":\d{4,5}\b", ":PORT", line)
        out.append(line)
    return out


def _binaries(version):
    if version == "1.8.1.3":
        return [SOCAT18], PYSOCAT, ENV18
    return [SOCAT], PYSOCAT, ENV17


_NS_SCRIPT = ('ip link set lo up && mount --bind "$0" /etc/hosts && '
              'mount --bind "$1" /etc/resolv.conf && shift && '
              'if [ -n "$NET18_SERVER" ]; then python3 -c "$NET18_SERVER" || exit 99; fi && '
              'exec "$@"')

# a TCP server on 127.0.0.1:$NET18_PORT: listens, then the parent returns (so
# the client starts after listen()), a child answers one connection, bounded
SERVER = """
import os, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["NET18_PORT"]))); s.listen(5)
if os.fork() == 0:
    s.settimeout(10)
    try:
        c, _ = s.accept(); c.sendall(b"hello from 127.0.0.1\\n"); c.close()
    finally:
        os._exit(0)
"""


def isolated(argv, env, input=b"", server=None, port=0, timeout=30):
    """Run argv in a private net+mount namespace with our /etc/hosts."""
    with tempfile.TemporaryDirectory() as d:
        hosts, resolv = os.path.join(d, "hosts"), os.path.join(d, "resolv.conf")
        with open(hosts, "w") as f:
            f.write(HOSTS)
        open(resolv, "w").close()
        env = {**env, "NET18_SERVER": server or "", "NET18_PORT": str(port)}
        return subprocess.run(["unshare", "-m", "-n", "sh", "-c", _NS_SCRIPT, hosts, resolv,
                               *argv], input=input, capture_output=True, timeout=timeout,
                              env=env)


def same(version, args, input=b"", ns=False, server=None, port=0, cleanup=None):
    """Run args with the classic of ``version`` and pysocat under its profile
    (``cleanup()`` after each run)."""
    classic, ours, env = _binaries(version)

    def run(argv, env):
        try:
            if ns:
                return isolated(argv, env, input, server, port)
            return subprocess.run(argv, input=input, capture_output=True, timeout=30, env=env)
        finally:
            if cleanup is not None:
                cleanup()
    c = run(classic + args, os.environ)
    p = run(ours + args, env)
    assert "Traceback" not in p.stderr.decode(errors="replace"), p.stderr.decode()
    assert (p.returncode, p.stdout) == (c.returncode, c.stdout), (c, p)
    assert norm(p.stderr) == norm(c.stderr)
    return p


def both(args, **kw):
    """The same check under both versions; returns the two pysocat results."""
    return same("1.8.1.3", args, **kw), same("1.7.4.4", args, **kw)


# ---------------------------------------------------------------------------
# connect failures: W connect(...), then E KEYWORD:host:port: error (1.8)
# ---------------------------------------------------------------------------


@needs_socat
@needs_socat18
@pytest.mark.parametrize("addr", ["TCP:127.0.0.1:{p}", "tcp4:localhost:{p}",
                                  "TCP4-CONNECT:127.0.0.1:{p},retry=1,interval=0.1"])
def test_connect_refused(addr):
    args = ["-dd", "-", addr.format(p=free_port())]
    p18, p17 = both(args)
    kw = addr.split(":")[0]
    assert any(x.startswith("W connect(") for x in norm(p18.stderr))
    assert norm(p18.stderr)[-2].startswith(f"E {kw}:")
    assert norm(p18.stderr)[-2].endswith(": Connection refused")
    assert [x for x in norm(p17.stderr) if x.startswith("E ")][0].startswith("E connect(")


# ---------------------------------------------------------------------------
# resolution: every address, preferred version first; getaddrinfo W/E pair
# ---------------------------------------------------------------------------


@needs_root
@needs_unshare
@needs_socat
@needs_socat18
@pytest.mark.parametrize("args", [
    ["-dd", "-", "TCP:dual:1"],                 # 127.0.0.1, then ::1, both refused
    ["-dd", "-6", "-", "TCP:dual:1"],           # ::1 first
    ["-dd", "-", "TCP4:dual:1"],
    ["-dd", "-", "TCP:dual:1,retry=1,interval=0.05"],
    ["-dd", "-", "TCP:[::1]:1"],
    # bind: the first bind address of each target's family, a W when there is none
    ["-dd", "-6", "-", "TCP:dual:1,bind=127.0.0.1"],
    ["-dd", "-", "TCP:dual:1,bind=127.0.0.1"],
    ["-dd", "-6", "-", "TCP:dual:1,sourceport=2000"],
    ["-dd", "-T", "0.1", "-", "UDP-SENDTO:dual:9,bind=127.0.0.1"],
    ["-dd", "-T", "0.1", "-6", "-", "UDP-SENDTO:dual:9,bind=127.0.0.1"],
])
def test_every_address_tried(args):
    both(args, ns=True)


@needs_root
@needs_unshare
@needs_socat
@needs_socat18
def test_next_address_after_refusal_connects():
    port = free_port()
    p18, p17 = both(["-dd", "-6", "-", f"TCP:dual:{port}"], ns=True, server=SERVER, port=port)
    assert p18.stdout == b"hello from 127.0.0.1\n"
    assert "N successfully connected to dual:PORT" in norm(p18.stderr)
    # 1.7.4.4 takes the first IPv6 address only
    assert p17.returncode == 1 and p17.stdout == b""


@needs_root
@needs_unshare
@needs_socat
@needs_socat18
@pytest.mark.parametrize("args", [
    ["-", "TCP:a..b:1"],                         # W getaddrinfo, E _xioopen_ipapp_prepare
    ["-", "TCP4:a..b:1"],
    ["-", "UDP:a..b:1"],
    ["-", "UDP-SENDTO:a..b:1"],                  # E xioresolve(...)
    ["-", "TCP-LISTEN:0,bind=a..b"],
    ["-", "TCP4:127.0.0.1:1,bind=a..b"],         # E error resolving bind option
    ["-", "TCP-L:0,range=a..b:255.0.0.0,accept-timeout=0.1"],
    ["-", "TCP:dual:nosuchservice"],             # an E straight from getaddrinfo
    ["-", "TCP:127.0.0.1:80x"],
    ["-", "TCP:nosuch.invalid:1"],               # EAI_AGAIN: W W, exit status -1 (1.8)
    ["-", "TCP:nosuch.invalid:1,retry=1,interval=0.05"],     # ... retried
    ["-", "OPENSSL:nosuch.invalid:1,retry=1,interval=0.05,verify=0"],
    ["-", "PROXY:nosuch.invalid:x:1,retry=1,interval=0.05"],
])
def test_getaddrinfo_failures(args):
    p18, p17 = both(["-dd"] + args, ns=True)
    assert p17.returncode == 1


@needs_root
@needs_unshare
@needs_socat18
def test_getaddrinfo_failure_lines():
    p = same("1.8.1.3", ["-", "TCP:a..b:1"], ns=True)
    assert norm(p.stderr) == [
        'W getaddrinfo("a..b", "1", {0x20,0,1,6}, {}): Name or service not known',
        'E _xioopen_ipapp_prepare(node="a..b", service="1", pf=0, ...): '
        'Name or service not known']
    p = same("1.8.1.3", ["-", "TCP:nosuch.invalid:1"], ns=True)
    assert p.returncode == 255 and all(x.startswith("W ") for x in norm(p.stderr))


# ---------------------------------------------------------------------------
# TCP listeners: SO_REUSEADDR implicitly (1.8); reuseaddr=0 and reuseaddr= off
# ---------------------------------------------------------------------------


def _held_port():
    """A port of 127.0.0.1 bound (not listening) by a SO_REUSEADDR socket: a
    listener can bind it only with SO_REUSEADDR set."""
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


@needs_socat
@needs_socat18
@pytest.mark.parametrize("option, ok18, ok17", [
    ("", True, False),              # 1.8 sets it implicitly
    (",reuseaddr=0", False, False),  # explicitly off
    (",reuseaddr=", False, False),   # 1.8: no setsockopt; 1.7: a number is missing
    (",reuseaddr", True, True),
])
def test_listen_reuseaddr(option, ok18, ok17):
    holder, port = _held_port()
    with holder:
        args = ["-dd", f"TCP4-LISTEN:{port},bind=127.0.0.1,accept-timeout=0.1{option}", "-"]
        p18, p17 = both(args)
    assert (p18.returncode == 0) == ok18 and (p17.returncode == 0) == ok17
    if option == ",reuseaddr=":
        assert norm(p17.stderr)[0] == \
            'E parseopts(): missing numerical value of option "reuseaddr="'


@needs_socat18
@pytest.mark.parametrize("option, line", [
    ("", "I Setting SO_REUSADDR on TCP listen socket implicitly"),
    (",reuseaddr=", 'I setting option "so-reuseaddr" to NULL'),
])
def test_listen_reuseaddr_info_lines(option, line):
    # only these lines: -ddd also shows start-up lines outside this module's area
    holder, port = _held_port()
    with holder:
        args = ["-ddd", f"TCP4-LISTEN:{port},bind=127.0.0.1,accept-timeout=0.1{option}", "-"]
        c = subprocess.run([SOCAT18] + args, capture_output=True, timeout=30)
        p = subprocess.run(PYSOCAT + args, capture_output=True, timeout=30, env=ENV18)
    assert line in norm(c.stderr) and line in norm(p.stderr)


def test_reuseaddr_type_in_help():
    from conftest import run_pysocat, run_pysocat18
    line18 = [x for x in run_pysocat18("-hh").stdout.decode().splitlines()
              if x.strip().startswith("reuseaddr")]
    line17 = [x for x in run_pysocat("-hh").stdout.decode().splitlines()
              if x.strip().startswith("reuseaddr")]
    assert line18[0].split()[-1] == "type=INT/NULL"
    assert line17[0].split()[-1] == "type=INT"


# ---------------------------------------------------------------------------
# UNIX: an over-long path is a W and truncated (1.8), an E (1.7.4.4 of Debian)
# ---------------------------------------------------------------------------


def _emptied(d):
    def cleanup():
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
    return cleanup


@needs_socat
@needs_socat18
@pytest.mark.parametrize("addrs", [
    ["-", "UNIX-CONNECT:{long}"],
    ["UNIX-LISTEN:{long},accept-timeout=0.1", "-"],    # binds the cut name, unlinks the long
    ["-T", "0.1", "-", "UNIX-SENDTO:{long}"],
    ["-", "UNIX-CLIENT:{long}"],
    ["ABSTRACT-LISTEN:{long},accept-timeout=0.1", "-"],
    ["-", "ABSTRACT-CONNECT:{long}"],
    ["UNIX-LISTEN:{full},accept-timeout=0.1", "-"],    # exactly 108 bytes: no NUL, no W
    ["-", "UNIX-CONNECT:{full}"],
    ["-", "UNIX-CONNECT:{n105}"],                      # socat shows 104 bytes of a path
])
def test_unix_path_length(tmp_path, addrs):
    d = str(tmp_path)
    names = {"long": os.path.join(d, "x" * 120), "n105": os.path.join(d, "n" * 105)[:105],
             "full": os.path.join(d, "f" * 108)[:108]}
    args = ["-dd"] + [a.format(**names) for a in addrs]
    p18, p17 = both(args, cleanup=_emptied(d))
    if "{long}" in addrs[-1] + addrs[0]:
        assert any(x.startswith("W ") and x.endswith("truncating to 108")
                   for x in norm(p18.stderr))
        assert p17.returncode == 1
        assert any(x.startswith("E ") and x.endswith("max length is 108")
                   for x in norm(p17.stderr))


@needs_socat
@needs_socat18
@pytest.mark.parametrize("addr", ["UNIX-CLIENT:{d}/nonexistent", "ABSTRACT-CLIENT:{d}/nonexistent"])
def test_unix_client_failure(tmp_path, addr):
    # 1.8: "E UNIX-CLIENT: name: error"; an abstract name that refuses is sent datagrams
    both(["-dd", "-", addr.format(d=tmp_path)])


# ---------------------------------------------------------------------------
# RECVFROM with fork: the child tells the parent on a socket pair (1.8), not SIGUSR1
# ---------------------------------------------------------------------------


_LOOP_LINES = ("Recvfrom:", "receiving on", "Generating socketpair", "continue listening",
               "notifying parent", "starting recvfrom loop", "I socketpair(")


def _udp_bound(port, timeout=15.0):
    """Wait until a UDP socket is bound to 127.0.0.1:port (/proc/net/udp)."""
    import time
    want = f"0100007F:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as f:
            if any(line.split()[1] == want for line in f.readlines()[1:]):
                return True
        time.sleep(0.05)
    return False


def _tcp_listening(port, timeout=15.0):
    """Wait until something listens on 127.0.0.1:port (/proc/net/tcp, state 0A)."""
    import time
    want = f"0100007F:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            if any(x.split()[1] == want and x.split()[3] == "0A" for x in f.readlines()[1:]):
                return True
        time.sleep(0.05)
    return False


def _recvfrom_fork(argv, env):
    """A forking UDP4-RECVFROM to stdout, two packets; (parent lines, child lines, out)."""
    import signal
    import socket
    import tempfile
    import time
    port = free_port(kind=socket.SOCK_DGRAM)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv + ["-ddd", "-u", f"UDP4-RECVFROM:{port},bind=127.0.0.1,"
                                        "fork", "-"], stdout=subprocess.PIPE, stderr=log,
                                env=env)
        try:
            assert _udp_bound(port), "the receiver did not bind"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for data in (b"one\n", b"two\n"):
                    s.sendto(data, ("127.0.0.1", port))
                    time.sleep(0.2)
            # the parent is back waiting after both packets: three "Checking" lines
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                log.seek(0)
                if log.read().count(b"Recvfrom: Checking/waiting") >= 3:
                    break
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=10)
        log.seek(0)
        err = log.read()
    parent, child = [], []
    for line in err.decode(errors="replace").splitlines():
        m = re.match(r"\S+ \S+ \S+\[(\d+)\] (. .*)$", line)
        if m and any(k in m.group(2) for k in _LOOP_LINES):
            (parent if int(m.group(1)) == proc.pid else child).append(m.group(2))
    return parent, child, b"".join(sorted(out.splitlines(keepends=True)))   # child order


@needs_socat18
def test_recvfrom_fork_trigger():
    c_parent, c_child, c_out = _recvfrom_fork([SOCAT18], os.environ)
    p_parent, p_child, p_out = _recvfrom_fork(PYSOCAT, ENV18)
    assert p_out == c_out == b"one\ntwo\n"
    def loop(lines):    # socketpair() fds may differ; test.sh counts these lines
        return [re.sub(r"\{\d+,\d+\}", "{FD,FD}", x) for x in lines if "receiving on" not in x]
    assert loop(p_parent) == loop(c_parent)
    assert len([x for x in p_parent if x.startswith("I socketpair(")]) == 2
    assert p_child == c_child == ["I notifying parent that socket is ready again"] * 2
    assert "I Generating socketpair that triggers parent when packet has been consumed" \
        in p_parent


@needs_socat
def test_recvfrom_fork_sigusr1_17():
    c_parent, c_child, c_out = _recvfrom_fork([SOCAT], os.environ)
    p_parent, p_child, p_out = _recvfrom_fork(PYSOCAT, ENV17)
    assert p_out == c_out == b"one\ntwo\n"
    assert not any("Generating socketpair" in x for x in c_parent + p_parent)
    assert not c_child and not p_child


# ---------------------------------------------------------------------------
# OPENSSL: the CRL warning (1.8), once per process tree; the client's 1.8 loop
# ---------------------------------------------------------------------------

from pki import OPENSSL  # noqa: E402

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@needs_socat
@needs_socat18
@pytest.mark.parametrize("extra", ["", ",verify=0", ",verify=0,retry=1,interval=0.05"])
def test_openssl_client_refused(extra):
    p18, p17 = both(["-dd", "-", f"OPENSSL:127.0.0.1:{free_port()}{extra}"])
    crl = "W OpenSSL: Warning: this implementation does not check CRLs"
    assert (crl in norm(p18.stderr)) == ("verify=0" not in extra)
    assert crl not in norm(p17.stderr)
    assert norm(p18.stderr)[-2].startswith("E OPENSSL:127.0.0.1:")


def _tls_fork_server(argv, env, pki):
    """A forking OPENSSL-LISTEN, two classic 1.8 clients; (server lines, client outputs)."""
    import signal
    import time
    port = free_port()
    srv = subprocess.Popen(argv + ["-dd", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,fork,"
                                   f"cert={pki['server']},cafile={pki['ca']}",
                                   "SYSTEM:echo hello"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    outs = []
    try:
        assert _tcp_listening(port), "the server did not listen"
        for _ in range(2):
            c = subprocess.run([SOCAT18, "-", f"OPENSSL:localhost:{port},cert={pki['client']},"
                                f"cafile={pki['ca']}"], capture_output=True, timeout=20)
            outs.append(c.stdout)
    finally:
        srv.send_signal(signal.SIGTERM)
        _, err = srv.communicate(timeout=10)
    return norm(err), outs


@needs_openssl
@needs_socat18
def test_openssl_crl_warning_once_with_fork(pki):
    crl = "W OpenSSL: Warning: this implementation does not check CRLs"
    c_lines, c_outs = _tls_fork_server([SOCAT18], os.environ, pki)
    p_lines, p_outs = _tls_fork_server(PYSOCAT, ENV18, pki)
    assert p_outs == c_outs == [b"hello\n", b"hello\n"]
    assert p_lines.count(crl) == c_lines.count(crl) == 1
    p17_lines, _ = _tls_fork_server(PYSOCAT, ENV17, pki)
    assert crl not in p17_lines


def _tls_client(argv, env, pki):
    """argv as an OPENSSL client of a classic 1.8 server: (rc, stdout, lines)."""
    import time
    port = free_port()
    srv = subprocess.Popen([SOCAT18, f"OPENSSL-LISTEN:{port},bind=127.0.0.1,"
                            f"cert={pki['server']},cafile={pki['ca']}", "SYSTEM:echo hello"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _tcp_listening(port), "the server did not listen"
        c = subprocess.run(argv + ["-dd", "-", f"OPENSSL:localhost:{port},"
                                   f"cert={pki['client']},cafile={pki['ca']}"],
                           capture_output=True, timeout=20, env=env)
    finally:
        srv.kill()
        srv.wait(timeout=10)
    return c.returncode, c.stdout, norm(c.stderr)


@needs_openssl
@needs_socat18
def test_openssl_client_notices(pki):
    c = _tls_client([SOCAT18], os.environ, pki)
    p = _tls_client(PYSOCAT, ENV18, pki)
    assert p == c
    assert "N successfully connected to SSL server localhost:PORT" in p[2]


# ---------------------------------------------------------------------------
# PROXY, SOCKS4, SOCKS4A: 1.8's client loop (notices, every address, E text)
# ---------------------------------------------------------------------------

from test_proxy import OK, FakeProxy, _socks_reply  # noqa: E402


@needs_socat
@needs_socat18
@pytest.mark.parametrize("addr", [
    "PROXY:127.0.0.1:example.com:80,proxyport={p}",
    "SOCKS4:127.0.0.1:10.0.0.1:80,socksport={p}",
    "socks4a:127.0.0.1:example.com:80,socksport={p},retry=1,interval=0.05",
])
def test_proxy_refused(addr):
    both(["-dd", "-", addr.format(p=free_port())])


@needs_socat18
@pytest.mark.parametrize("kind, answer, addr", [
    ("http", OK, "PROXY:127.0.0.1:t.invalid:80,proxyport={p},proxyauth=a:b"),
    ("http", b"HTTP/1.0 403 Forbidden\r\n\r\n", "PROXY:127.0.0.1:t.invalid:80,proxyport={p}"),
    ("socks4", _socks_reply(90), "SOCKS4:127.0.0.1:127.0.0.1:80,socksport={p},socksuser=x"),
    ("socks4a", _socks_reply(91), "SOCKS4A:127.0.0.1:t.invalid:80,socksport={p},socksuser=x"),
])
def test_proxy_like_socat18(kind, answer, addr):
    results = []
    for argv, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        p = FakeProxy(kind, answer, echo=True)
        try:
            r = subprocess.run(argv + ["-dd", "-", addr.format(p=p.port)], input=b"data",
                               capture_output=True, timeout=10, env=env)
        finally:
            p.close()
        results.append((r.returncode, r.stdout, p.requests, norm(r.stderr)))
    assert results[1] == results[0]


# ---------------------------------------------------------------------------
# UDP: SENDTO takes the preferred version; port 0 receivers say where they are bound
# ---------------------------------------------------------------------------


@needs_root
@needs_unshare
@needs_socat
@needs_socat18
@pytest.mark.parametrize("args", [
    ["-T", "0.2", "-", "UDP-SENDTO:dual:9"],            # AF=2 local socket: IPv4 first
    ["-T", "0.2", "-6", "-", "UDP-SENDTO:dual:9"],
    ["-T", "0.2", "-", "UDP-DATAGRAM:dual:9"],
])
def test_sendto_prefers_ipv4(args):
    p18, _ = both(["-dd"] + args, input=b"x", ns=True)
    assert any(("AF=10" if "-6" in args else "AF=2 ") in x for x in norm(p18.stderr)
               if "successfully prepared local socket" in x)


@needs_socat
@needs_socat18
def test_udp_recv_port0_bound_notice():
    p18, p17 = both(["-dd", "-u", "-T", "0.3", "UDP4-RECV:0,bind=127.0.0.1", "-"])
    assert "N _xioopen_dgram_recv(): bound to AF=2 127.0.0.1:PORT" in norm(p18.stderr)
    assert not any("bound to" in x for x in norm(p17.stderr))


def test_explain_reuseaddr_by_profile():
    from conftest import run_pysocat, run_pysocat18
    out18 = run_pysocat18("--explain", "TCP-LISTEN:8080", "-").stdout.decode()
    out17 = run_pysocat("--explain", "TCP-LISTEN:8080", "-").stdout.decode()
    assert "SO_REUSEADDR, 1): implicit for TCP listeners (socat 1.7.4.4: only with reuseaddr)" \
        in out18
    assert "stays off unless the reuseaddr option is given (socat 1.8.1.3: sets it " \
        "implicitly, reuseaddr=0 clears it)" in out17
    off = run_pysocat18("--explain", "TCP-LISTEN:8080,reuseaddr=", "-").stdout.decode()
    assert "no setsockopt() of SO_REUSEADDR" in off


def _recvfrom_failing_child(argv, env, tmp_path):
    """RECVFROM,fork whose child cannot open its other address: the log."""
    import signal
    import socket
    import time
    port = free_port(kind=socket.SOCK_DGRAM)
    log = tmp_path / f"log{port}"
    with open(log, "wb") as err:
        proc = subprocess.Popen(argv + ["-ddd", f"UDP4-RECVFROM:{port},bind=127.0.0.1,fork",
                                        f"OPEN:{tmp_path}/nonexistent/file"],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        assert _udp_bound(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"x\n", ("127.0.0.1", port))
        deadline = time.monotonic() + 10
        while b"continue listening" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)     # a parent that forks again for the same packet would do it now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    return norm(log.read_bytes())


@needs_socat18
def test_recvfrom_fork_child_failure_consumes(tmp_path):
    for argv, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        lines = _recvfrom_failing_child(argv, env, tmp_path)
        assert len([x for x in lines if x.startswith("E open(")]) == 1, lines
        assert "I consuming packet to prevent loop in parent" in lines
