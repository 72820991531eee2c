"""TCP-CONNECT / TCP-LISTEN on loopback: bytes, half-close, fork, checks, errors."""
import os
import selectors
import socket
import time

import pytest

from conftest import log_texts, needs_root, needs_socat, run_pysocat, run_socat
from sockhelp import Server, children_of, free_port, has_ipv6, norm, recv_until_eof


def _client(port, data, host="127.0.0.1", fam=socket.AF_INET, timeout=10):
    with socket.socket(fam, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        c.connect((host, port))
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        return recv_until_eof(c)


def test_listen_connect_both_ways_and_half_close():
    port = free_port()
    with Server("-dd", f"TCP4-LISTEN:{port},reuseaddr", "SYSTEM:cat; echo done") as srv:
        srv.wait_port(port)
        r = run_pysocat("-dd", "-t", "5", "-", f"TCP:127.0.0.1:{port}", input=b"hello\n")
        assert r.returncode == 0, r.stderr
        # the listener saw our EOF (half-close), cat ended, "done" came after
        assert r.stdout == b"hello\ndone\n"
        texts = log_texts(r.stderr)
        assert f"N opening connection to AF=2 127.0.0.1:{port}" in texts
        assert any(t.startswith("N successfully connected from local address AF=2 127.0.0.1:")
                   for t in texts)
        rc, _, err = srv.finish()
        assert rc == 0
        stexts = log_texts(err)
        assert f"N listening on AF=2 0.0.0.0:{port}" in stexts
        assert any(t.startswith("N accepting connection from AF=2 127.0.0.1:") and
                   t.endswith(f" on AF=2 127.0.0.1:{port}") for t in stexts)


def test_bind_host_and_sourceport_and_env():
    port, sport = free_port(), free_port()
    with Server(f"TCP-L:{port},bind=127.0.0.1,reuseaddr",
                "SYSTEM:echo $SOCAT_PEERADDR $SOCAT_PEERPORT $SOCAT_SOCKADDR $SOCAT_SOCKPORT") as srv:
        srv.wait_port(port)
        r = run_pysocat("-t", "5", "-", f"TCP:127.0.0.1:{port},sourceport={sport},reuseaddr")
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"127.0.0.1 {sport} 127.0.0.1 {port}\n".encode()
        srv.finish()


def test_lp_changes_env_prefix():
    port = free_port()
    with Server("-lp", "myprog", f"TCP-L:{port},reuseaddr", "SYSTEM:echo $MYPROG_PEERADDR") as srv:
        srv.wait_port(port)
        assert _client(port, b"") == b"127.0.0.1\n"
        srv.finish()


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback")
def test_ipv6_listen_and_connect():
    port = free_port(socket.AF_INET6)
    with Server("-dd", f"TCP6-LISTEN:{port},reuseaddr", "PIPE") as srv:
        srv.wait_port(port, "::1")
        r = run_pysocat("-dd", "-t", "5", "-", f"TCP6:[::1]:{port}", input=b"six\n")
        assert r.stdout == b"six\n"
        assert ("N opening connection to AF=10 "
                f"[0000:0000:0000:0000:0000:0000:0000:0001]:{port}") in log_texts(r.stderr)
        srv.finish()


def test_socket_options_are_applied():
    port = free_port()
    with Server(f"TCP-L:{port},reuseaddr,reuseport,nodelay,keepalive,keepidle=30,"
                "rcvbuf=65536,sndbuf=65536,tos=16,ttl=10,backlog=20,mss=1000", "PIPE") as srv:
        srv.wait_port(port)
        r = run_pysocat("-t", "5", "-", f"TCP:127.0.0.1:{port},nodelay,linger=1,"
                        "setsockopt-int=6:1:1,sockopt-string=1:25:lo,cork=0", input=b"x" * 100000)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"x" * 100000
        srv.finish()


def test_setsockopt_failure_is_socats_error():
    port = free_port()
    with Server(f"TCP-L:{port},reuseaddr", "PIPE") as srv:
        srv.wait_port(port)
        r = run_pysocat("-", f"TCP:127.0.0.1:{port},setsockopt-int=1:9999:1")
        assert r.returncode == 1
        texts = norm(log_texts(r.stderr))
        assert texts == ["E setsockopt(FD, 1, 9999, {1}, 4): Protocol not available"]
        srv.stop()


def test_fork_server_200_concurrent_clients_no_zombies():
    port = free_port()
    with Server("-t", "10", f"TCP4-LISTEN:{port},fork,reuseaddr,backlog=256", "EXEC:cat") as srv:
        srv.wait_port(port)
        sel = selectors.DefaultSelector()
        want, got, conns = {}, {}, []
        for i in range(200):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            want[c] = (b"client %03d " % i) * 50
            got[c] = b""
            sel.register(c, selectors.EVENT_WRITE)
            conns.append(c)
        pending = set(conns)
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for key, ev in sel.select(timeout=1):
                c = key.fileobj
                if ev & selectors.EVENT_WRITE:
                    c.sendall(want[c])
                    c.shutdown(socket.SHUT_WR)
                    sel.modify(c, selectors.EVENT_READ)
                else:
                    chunk = c.recv(65536)
                    if chunk:
                        got[c] += chunk
                    else:
                        sel.unregister(c)
                        pending.discard(c)
        for c in conns:
            c.close()
        assert not pending, f"{len(pending)} clients did not finish"
        bad = [(want[c][:12], len(got[c]), len(want[c])) for c in conns if got[c] != want[c]]
        assert not bad, bad[:5]
        # every child is reaped by the listener: no zombie stays
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = children_of(srv.proc.pid)
            if not kids:
                break
            time.sleep(0.1)
        assert children_of(srv.proc.pid) == []
        assert srv.proc.poll() is None      # the parent keeps listening
        srv.stop()


def test_max_children_waits():
    port = free_port()
    with Server("-dd", f"TCP-L:{port},fork,reuseaddr,max-children=1", "SYSTEM:sleep 0.3; echo x") as srv:
        srv.wait_port(port)
        t0 = time.monotonic()
        a = socket.create_connection(("127.0.0.1", port))
        b = socket.create_connection(("127.0.0.1", port))
        assert a.recv(10) == b"x\n"
        assert b.recv(10) == b"x\n"
        assert time.monotonic() - t0 >= 0.55
        a.close()
        b.close()
        _, _, err = srv.stop()
        assert "N maxchildren are active, waiting" in log_texts(err)


def test_range_refuses_and_permits():
    port = free_port()
    with Server("-dd", f"TCP-L:{port},reuseaddr,fork,range=10.0.0.0/8", "SYSTEM:echo in") as srv:
        srv.wait_port(port)
        assert _client(port, b"") == b""        # refused: closed at once
        _, _, err = srv.stop()
        texts = log_texts(err)
        assert any(t.startswith("W refusing connection from AF=2 127.0.0.1:") and
                   t.endswith(" due to range option") for t in texts)
    port = free_port()
    with Server(f"TCP-L:{port},reuseaddr,range=127.0.0.0:255.0.0.0", "SYSTEM:echo in") as srv:
        srv.wait_port(port)
        assert _client(port, b"") == b"in\n"
        srv.finish()


def test_sourceport_check_on_listener():
    port, good = free_port(), free_port()
    with Server("-dd", f"TCP-L:{port},reuseaddr,fork,sp={good}", "SYSTEM:echo in") as srv:
        srv.wait_port(port)
        assert _client(port, b"") == b""
        r = run_pysocat("-t", "5", "-", f"TCP:127.0.0.1:{port},sp={good},reuseaddr")
        assert r.stdout == b"in\n"
        _, _, err = srv.stop()
        texts = log_texts(err)
        assert any(t.endswith(" due to wrong sourceport") and t.startswith("W refusing") for t in texts)


def test_lowport_check_on_listener_refuses_high_ports():
    port = free_port()
    with Server("-dd", f"TCP-L:{port},reuseaddr,fork,lowport", "SYSTEM:echo in") as srv:
        srv.wait_port(port)
        assert _client(port, b"") == b""
        _, _, err = srv.stop()
        assert any(t.endswith(" due to lowport option") for t in log_texts(err))


@needs_root
def test_lowport_client_binds_a_reserved_port():
    port = free_port()
    with Server(f"TCP-L:{port},reuseaddr,lowport", "SYSTEM:echo $SOCAT_PEERPORT") as srv:
        srv.wait_port(port)
        r = run_pysocat("-t", "5", "-", f"TCP:127.0.0.1:{port},lowport")
        assert 640 <= int(r.stdout) < 1024
        srv.finish()


def test_accept_timeout_exits_zero():
    port = free_port()
    t0 = time.monotonic()
    r = run_pysocat("-dd", f"TCP-L:{port},accept-timeout=0.3", "-")
    assert r.returncode == 0
    assert time.monotonic() - t0 < 5
    texts = log_texts(r.stderr)
    assert "W accept: Connection timed out" in texts
    assert "N Waiting for child processes to terminate" in texts


def test_retry_then_error():
    port = free_port()
    t0 = time.monotonic()
    r = run_pysocat("-d", "-", f"TCP:127.0.0.1:{port},retry=2,interval=0.2")
    assert time.monotonic() - t0 >= 0.4
    assert r.returncode == 1
    assert norm(log_texts(r.stderr)) == ["W recvmsg(): Resource temporarily unavailable"] * 3 + [
        f"E connect(FD, AF=2 127.0.0.1:{port}, 16): Connection refused"]


def test_retry_until_server_appears():
    port = free_port()
    with Server(f"TCP-L:{port},reuseaddr", "SYSTEM:echo late") as srv:
        srv.wait_port(port)
        r = run_pysocat("-t", "5", "-", f"TCP:127.0.0.1:{port},forever,interval=0.1")
        assert r.stdout == b"late\n"
        srv.finish()


def test_connect_fork_reconnects():
    port = free_port()
    with Server("-dd", f"TCP-L:{port},reuseaddr,fork", "SYSTEM:echo hit") as srv:
        srv.wait_port(port)
        with Server("-dd", f"TCP:127.0.0.1:{port},fork,interval=0.1", "OPEN:/dev/null") as cli:
            time.sleep(1.5)     # a loaded machine: the client's start-up alone takes 0.5 s
            cli.stop()
        _, _, err = srv.stop()
        assert sum(1 for t in log_texts(err) if t.startswith("N accepting connection")) >= 2


ERRORS = [
    ["-", "TCP:127.0.0.1:{closed}"],
    ["-", "TCP6:[::1]:{closed}"],
    ["-", "TCP:127.0.0.1:{closed}x"],
    ["-", "TCP:127.0.0.1:"],
    ["-", "TCP:127.0.0.1:nosuchservice"],
    ["-", "TCP:127.0.0.1:biff"],                # /etc/services: biff is 512/udp only
    ["-", "UDP:127.0.0.1:exec"],                # exec is 512/tcp only
    ["-", "TCP4-LISTEN:biff"],
    ["-", "UDP4-RECVFROM:exec"],
    ["-", "TCP:127.0.0.1:{closed},sp=nosuch"],  # sourceport takes numbers only
    ["-", "TCP:127.0.0.1:{closed},bind=1.2.3.4:9090:9090"],
    ["-", "TCP:127.0.0.1:{closed},bind=127.0.0.1:x"],
    ["-", "TCP:127.0.0.1:{closed},bind=[::1]"],
    ["-", "TCP4:[::1]:{closed}"],
    ["-", "TCP6:127.0.0.1:{closed}"],
    ["-", "TCP:127.0.0.1:{closed},pf=ip6"],
    ["-", "TCP:127.0.0.1:{closed},pf=foo"],
    ["-", "TCP-L:{closed},range=1.2.3.4"],
    ["-", "TCP-L:{closed},range=1.2.3.4/40"],
    ["-", "TCP-L:{closed},range=1.2.3.4/x"],
    ["-", "TCP-L:{closed},range=1.2.3.4/"],
    ["-", "TCP6-L:{closed},range=1.2.3.4/8"],
    ["-", "TCP6-L:{closed},range=::1/8"],
    ["-", "TCP6-L:{closed},range=[::1]/200"],
    ["-", "TCP6-L:{closed},range=[::1]"],
    ["-", "TCP-L:{closed},range=1.2.3.4:255.0.0.0x"],
    ["-", "TCP:127.0.0.1"],
    ["-", "TCP-L:1:2"],
    ["-", "TCP:127.0.0.1:{closed},connect-timeout=1"],
    ["-", "TCP-L:{closed},max-children=2"],
    ["-", "TCP-L:{closed},setsockopt-int=1"],
    ["-", "TCP-L:{closed},setsockopt-int=1:2"],
    ["-", "TCP-L:{closed},setsockopt-int=1x2:3"],
    ["-", "TCP-L:{closed},setsockopt-int=1:2x3"],
    ["-", "TCP-L:{closed},setsockopt-bin=1:2"],
    ["-", "TCP-L:{closed},linger"],
    ["-", "TCP-L:{closed},nodelay=x"],
    ["-", "TCP-L:{closed},ttl=1,nodelay,reuseaddr,fork=0,backlog=x"],
    ["-", "TCP:127.0.0.1:{closed},lowport,sourceport=80x"],
]


@needs_socat
@pytest.mark.parametrize("args", ERRORS, ids=[a[1] for a in ERRORS])
def test_errors_match_socat(args):
    closed = free_port()
    args = [a.replace("{closed}", str(closed)) for a in args]
    if "[::1]" in args[1] and not has_ipv6():
        pytest.skip("no IPv6 loopback")
    want = run_socat("-dd", *args, timeout=10)
    got = run_pysocat("-dd", *args, timeout=10)
    assert norm(log_texts(got.stderr)) == norm(log_texts(want.stderr))
    assert got.returncode == want.returncode
    assert b"Traceback" not in got.stderr


@needs_socat
def test_listener_notices_match_socat():
    """The notice-level conversation of a listener and client, against socat."""
    results = []
    for classic in (True, False):
        port = free_port()
        with Server("-dd", f"TCP4-LISTEN:{port},reuseaddr", "PIPE", classic=classic) as srv:
            srv.wait_port(port)
            r = (run_socat if classic else run_pysocat)("-dd", "-", f"TCP4:127.0.0.1:{port}",
                                                        input=b"abc")
            _, _, err = srv.finish()
        strip = lambda ts: [t.replace(str(port), "PORT") for t in ts]
        import re
        eph = re.compile(r"127\.0\.0\.1:\d+(?!\d)")
        results.append((r.stdout,
                        norm([eph.sub("127.0.0.1:X", t) for t in strip(log_texts(err))]),
                        norm([eph.sub("127.0.0.1:X", t) for t in strip(log_texts(r.stderr))])))
    assert results[0] == results[1]


@needs_socat
def test_listener_info_lines_up_to_the_transfer_match_socat():
    """-ddd: a listener without fork closes its listening socket after accept
    ("I close(fd)"), PIPE logs its pipe() call; as socat does."""
    import re
    results = []
    for classic in (True, False):
        port = free_port()
        with Server("-ddd", f"TCP4-LISTEN:{port},reuseaddr", "PIPE", classic=classic) as srv:
            srv.wait_port(port)
            r = run_pysocat("-", f"TCP4:127.0.0.1:{port}", input=b"abc")
            _, _, err = srv.finish()
        assert r.stdout == b"abc"
        texts = [t for t in log_texts(err) if t[0] in "IN"]
        end = next(i for i, t in enumerate(texts) if "starting data transfer" in t)
        results.append([re.sub(r"\d+", "N", t) for t in texts[3:end]])
    assert "I close(N)" in results[1]
    assert "I pipe({N,N}) -> N" in results[1]
    assert results[0] == results[1]


def _port_in_use(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@needs_root
@pytest.mark.parametrize("kind", ["TCP", "UDP"])
def test_service_names_resolve_with_etc_services(kind):
    """discard is 9/tcp and 9/udp in /etc/services: both ends name the service."""
    st = socket.SOCK_STREAM if kind == "TCP" else socket.SOCK_DGRAM
    if socket.getservbyname("discard", kind.lower()) != 9:
        pytest.skip("/etc/services has no discard service")
    if _port_in_use(9, st):
        pytest.skip("port 9 is in use")
    listen = "TCP4-LISTEN:discard,bind=127.0.0.1,reuseaddr" if kind == "TCP" else \
        "UDP4-RECV:discard,bind=127.0.0.1"
    with Server("-dd", "-u", listen, "-") as srv:
        if kind == "TCP":
            srv.wait_port(9)
        else:
            time.sleep(0.5)
        r = run_pysocat("-dd", "-u", "-", f"{kind}4:127.0.0.1:discard", input=b"svc\n",
                        timeout=10)
        assert r.returncode == 0, r.stderr
        assert (("N opening connection to AF=2 127.0.0.1:9" if kind == "TCP" else
                 "N successfully connected from local address AF=2 127.0.0.1:")
                in "\n".join(log_texts(r.stderr)))
        time.sleep(0.3)
        _, out, err = srv.stop()
    assert out == b"svc\n"
    if kind == "TCP":
        assert "N listening on AF=2 127.0.0.1:9" in log_texts(err)


def _refusal_trial(opts, classic):
    port = free_port()
    with Server("-ddd", f"TCP4-LISTEN:{port},reuseaddr,fork,{opts}", "SYSTEM:echo in",
                classic=classic) as srv:
        srv.wait_port(port)
        got = _client(port, b"")
        time.sleep(0.1)
        _, _, err = srv.stop()
    import re
    texts = [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:X", t) for t in log_texts(err)
             if " due to " in t]
    return got, texts


@needs_socat
@pytest.mark.parametrize("opts", ["range=10.0.0.0/8", "range=127.0.0.0/8", "sp=1", "lowport",
                                  "range=127.0.0.1:255.255.255.255,lowport"])
def test_peer_refusals_like_socat(opts):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as ex:
        mine, theirs = ex.submit(_refusal_trial, opts, False), ex.submit(_refusal_trial, opts, True)
        assert mine.result() == theirs.result()
        assert mine.result()[1]


def test_listen_keepalive_is_on_the_accepted_socket(tmp_path):
    # socat's LISTEN_KEEPALIVE: the option reaches the connection, not only the listener
    import sys
    probe = tmp_path / "probe.py"
    probe.write_text("import socket\ns = socket.socket(fileno=1)\n"
                     "print(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))\ns.detach()\n")
    port = free_port()
    with Server(f"TCP4-LISTEN:{port},reuseaddr,so-keepalive",
                f"EXEC:{sys.executable} {probe},nofork") as srv:
        srv.wait_port(port)
        r = run_pysocat("-", f"TCP4:127.0.0.1:{port}")
        srv.finish()
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == b"1"
