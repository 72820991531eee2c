"""SOCKS5 (socat 1.8's SOCKS5-CONNECT/-LISTEN) against classic 1.8.1.3.

The SOCKS5 server is tests/socks5server.py on loopback (an echo behind the
handshake, with switches for the server's answers); both programs talk to
the same server and must log the same -dd lines (fd numbers and ports
aside), exit alike and put the same bytes on the wire.
"""
import re

import pytest

from conftest import (log_texts, needs_socat, needs_socat18, run_pysocat, run_pysocat18,
                      run_socat, run_socat18)
from socks5server import Socks5Server


def _norm(lines):
    out = []
    for t in lines:
        t = re.sub(r":\d{4,5}\b", ":PORT", t)
        t = re.sub(r"FDs \[\d+,\d+\] and \[\d+,\d+\]", "FDs [..]", t)
        t = re.sub(r"\(fd \d+\)", "(fd N)", t)
        out.append(t)
    return out


def _both(args_fn, **behaviour):
    """Run classic 1.8 and pysocat (1.8 profile) against one server each."""
    results = []
    for run in (run_socat18, run_pysocat18):
        with Socks5Server(**behaviour) as srv:
            r = run(*args_fn(srv.port), input=b"hello socks5\n", timeout=20)
        results.append((r, srv.requests))
    return results


@needs_socat18
@pytest.mark.parametrize("addr,cmd,atyp,target", [
    ("SOCKS5:127.0.0.1:{port}:127.0.0.1:80", 1, 1, "127.0.0.1"),
    ("SOCKS5-CONNECT:127.0.0.1:example.com:http,socksport={port}", 1, 3, "example.com"),
    ("SOCKS5-LISTEN:127.0.0.1:{port}:0.0.0.0:8080", 2, 1, "0.0.0.0"),
    ("SOCKS5-BIND:localhost:1:example.com:80,socksport={port}", 2, 3, "example.com"),
])
def test_connect_and_bind_as_classic(addr, cmd, atyp, target):
    (c, creq), (p, preq) = _both(lambda port: ["-dd", "-", addr.format(port=port)])
    assert c.returncode == p.returncode == 0, (c.stderr, p.stderr)
    assert c.stdout == p.stdout == b"hello socks5\n"
    assert _norm(log_texts(p.stderr)) == _norm(log_texts(c.stderr))
    assert creq == preq
    assert preq[0]["methods"] == [0] and preq[0]["cmd"] == cmd
    assert preq[0]["atyp"] == atyp and preq[0]["addr"] == target
    texts = log_texts(p.stderr)
    assert any(" vis socks5 server " in t for t in texts)     # socat's typo
    if cmd == 2:
        assert "N listening on remote host, waiting for connection" in texts
        assert "N received connection on remote host" in texts


@needs_socat18
@pytest.mark.parametrize("opts,user,password,warn", [
    (",socksuser=nobody,sockspass=s3cr3t", "nobody", "s3cr3t", None),
    (",sockspass=only", "anonymous", "only",
     'W SOCKS5 password without username, falling back to "anonymous"'),
    (",socksuser=solo", "solo", "", "W SOCKS5 username without password"),
])
def test_user_password_as_classic(opts, user, password, warn):
    (c, creq), (p, preq) = _both(
        lambda port: ["-dd", "-", f"SOCKS5:127.0.0.1:{port}:10.0.0.1:22" + opts])
    assert c.returncode == p.returncode == 0
    assert p.stdout == b"hello socks5\n"
    assert _norm(log_texts(p.stderr)) == _norm(log_texts(c.stderr))
    assert creq == preq
    assert preq[0]["methods"] == [0, 2]
    assert (preq[0]["user"], preq[0]["password"]) == (user, password)
    texts = log_texts(p.stderr)
    assert "N SOCKS5 authentication succeeded" in texts
    if warn:
        assert warn in texts


# the server's answer -> what socat says (the last lines) and its exit status
FAILURES = [
    (dict(reply=5), "", 255, ["W SOCKS5 server error 5: connection refused",
                              "N exiting with status -1"]),
    (dict(reply=2), "", 255, ["W SOCKS5 server error 2: connection not allowed by ruleset",
                              "N exiting with status -1"]),
    (dict(reply=99), "", 255, ["W SOCKS5 server error 99: unknown error",
                               "N exiting with status -1"]),
    (dict(method=0xFF), "", 1, [
        "W SOCKS5 authentication negotiation failed - client & server have no common "
        "supported methods", "E SOCKS5:127.0.0.1:PORT: handshake failed", "N exit(1)"]),
    (dict(method=2), "", 1, ["E authentication with SOCKS5 server failed", "N exit(1)"]),
    (dict(method=3), ",socksuser=a,sockspass=b", 1, [
        "W SOCKS5 server requested unsupported auth method (3)",
        "E SOCKS5:127.0.0.1:PORT: handshake failed", "N exit(1)"]),
    (dict(auth_status=1), ",socksuser=u,sockspass=p", 1, [
        'E SOCKS5 authentication for user "u" failed', "N exit(1)"]),
    (dict(hello_version=4), "", 1, [
        "W SOCKS5 server hello version was 4, not the expected 5, peer might not be a "
        "SOCKS5 server", "E SOCKS5:127.0.0.1:PORT: handshake failed", "N exit(1)"]),
    (dict(close_after="greeting"), "", 1, [
        "W read(): EOF during read of SOCKS5 server hello, peer might not be a SOCKS5 "
        "server", "E SOCKS5:127.0.0.1:PORT: handshake failed", "N exit(1)"]),
    (dict(reply_version=4), "", 255, [
        "W SOCKS5 reply version was 4, not the expected 5, peer might not be a SOCKS5 "
        "server", "N exiting with status -1"]),
    (dict(atyp=7), "", 255, ["W invalid SOCKS5 reply address type (7)",
                             "N exiting with status -1"]),
    (dict(close_after="request"), "", 255, [
        "N read(): EOF during read(), returning 0 instead of 5 bytes",
        "W read(): EOF during read of SOCKS5 reply", "N exiting with status -1"]),
    (dict(second_reply=4), "", 255, ["N received connection on remote host",
                                     "W SOCKS5 server error 4: host unreachable",
                                     "N exiting with status -1"]),
    (dict(reply=5), ",retry=1,interval=0.05", 255, [
        "N SOCKS5 server error 5: connection refused",
        "N opening connection to socks5 server 127.0.0.1:PORT",
        "N opening connection to AF=2 127.0.0.1:PORT",
        "N successfully connected from local address AF=2 127.0.0.1:PORT",
        "N SOCKS5 session is authenticated",
        "W SOCKS5 server error 5: connection refused", "N exiting with status -1"]),
]


@needs_socat18
@pytest.mark.parametrize("behaviour,opts,status,tail", FAILURES,
                         ids=[str(f[0]) + f[1] for f in FAILURES])
def test_failures_as_classic(behaviour, opts, status, tail):
    kind = "SOCKS5-LISTEN" if "second_reply" in behaviour else "SOCKS5"
    (c, creq), (p, preq) = _both(
        lambda port: ["-dd", "-", f"{kind}:127.0.0.1:{port}:127.0.0.1:80" + opts],
        **behaviour)
    assert c.returncode == p.returncode == status, (c.stderr, p.stderr)
    ours, theirs = _norm(log_texts(p.stderr)), _norm(log_texts(c.stderr))
    assert ours == theirs
    if kind != "SOCKS5":
        tail = [t.replace("E SOCKS5:", f"E {kind}:") for t in tail]
    assert ours[-len(tail):] == tail
    assert creq == preq


@needs_socat18
def test_socks_port_choice_as_classic():
    """socksport= beats the <socks-port> parameter; without both: service socks (1080)."""
    with Socks5Server() as srv:
        addr = f"SOCKS5:127.0.0.1:1:127.0.0.1:80,socksport={srv.port}"
        c, p = run_socat18("-dd", "-", addr, input=b"x\n"), run_pysocat18("-dd", "-", addr,
                                                                          input=b"x\n")
    assert c.returncode == p.returncode == 0 and p.stdout == b"x\n"
    assert _norm(log_texts(p.stderr)) == _norm(log_texts(c.stderr))
    # nothing is expected to listen on the default port 1080 of 127.0.0.2
    addr = "SOCKS5:127.0.0.2:127.0.0.1:80"
    c, p = run_socat18("-dd", "-", addr), run_pysocat18("-dd", "-", addr)
    assert c.returncode == p.returncode
    # (1.7's "W recvmsg(): ..." error-queue line after a failed connect is the
    # socket layer's, versions.py errqueue_info, not this family's)
    ours = [re.sub(r"connect\(\d+,", "connect(N,", t) for t in log_texts(p.stderr)
            if not t.startswith("W recvmsg(): ")]
    theirs = [re.sub(r"connect\(\d+,", "connect(N,", t) for t in log_texts(c.stderr)]
    assert ours == theirs
    assert "N opening connection to 127.0.0.1:80 vis socks5 server 127.0.0.2:1080" in ours


@needs_socat18
@pytest.mark.parametrize("addr", ["SOCKS5:127.0.0.1:80", "SOCKS5-LISTEN:a:b:c:d:e"])
def test_wrong_parameter_count(addr):
    c, p = run_socat18("-", addr), run_pysocat18("-", addr)
    assert c.returncode == p.returncode == 1
    # socat 1.8 appends ": usage: ..." (the generic 1.8 syntax message)
    assert log_texts(c.stderr)[0].startswith(log_texts(p.stderr)[0])
    assert "instead of 4)" in log_texts(p.stderr)[0]


@needs_socat18
def test_help_lists_socats_socks5_rows():
    def rows(text):
        out = set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].lower().startswith("socks5"):
                name, groups = parts
                # 1.8 calls the SOCKS4 option group SOCKS
                out.add((name.lower(), groups.replace("SOCKS4", "SOCKS")))
        return out
    ours = rows(run_pysocat18("-h").stdout.decode())
    theirs = rows(run_socat18("-h").stdout.decode())
    assert len(theirs) == 2 and ours == theirs


@needs_socat
def test_unknown_under_17_as_socat_1744():
    for args in (("-", "SOCKS5:127.0.0.1:127.0.0.1:80"),
                 ("-", "SOCKS4:127.0.0.1:127.0.0.1:80,sockspass=x")):
        ours, theirs = run_pysocat(*args), run_socat(*args)
        assert ours.returncode == theirs.returncode == 1
        assert log_texts(ours.stderr) == log_texts(theirs.stderr)


@needs_socat18
def test_explain_sorts_out_the_parameters():
    r = run_pysocat18("--explain", "SOCKS5-LISTEN:proxy.example:8080:0.0.0.0:22,sockspass=x", "-")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "SOCKS5 server proxy.example:8080" in out
    assert "BIND (2) for 0.0.0.0:22" in out
    assert 'falling back to "anonymous"' in out


@needs_socat18
def test_unreachable_server_with_retry_as_classic():
    """A refused connect to the SOCKS server: N while retrying, then W and socat's E."""
    addr = "SOCKS5:127.0.0.2:127.0.0.1:80,retry=1,interval=0.05"
    c, p = run_socat18("-dd", "-", addr), run_pysocat18("-dd", "-", addr)
    assert c.returncode == p.returncode == 1

    def norm(r):
        return [re.sub(r"connect\(\d+,", "connect(N,", t) for t in log_texts(r.stderr)
                if not t.startswith("W recvmsg(): ")]
    assert norm(p) == norm(c)
    assert norm(p)[-3:] == ["W connect(N, AF=2 127.0.0.2:1080, 16): Connection refused",
                            "E SOCKS5:127.0.0.2:1080:...: Connection refused", "N exit(1)"]
