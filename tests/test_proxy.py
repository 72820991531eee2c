"""PROXY (HTTP CONNECT), SOCKS4 and SOCKS4A against small proxies written here (loopback)."""
import socket
import threading

import pytest

from conftest import SOCAT, log_texts, needs_socat, run_pysocat, run_socat


class FakeProxy:
    """Accepts on 127.0.0.1, records the request, answers, then echoes."""

    def __init__(self, kind, answer, echo=True, extra=b""):
        self.kind, self.answer, self.echo, self.extra = kind, answer, echo, extra
        self.requests = []
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(15)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read_request(self, c):
        data = b""
        while True:
            if self.kind == "http" and b"\r\n\r\n" in data:
                return data
            if self.kind in ("socks4", "socks4a") and len(data) >= 9:
                need = 1 if self.kind == "socks4" else 2
                if data[8:].count(b"\0") >= need:
                    return data
            chunk = c.recv(1)
            if not chunk:
                return data
            data += chunk

    def _serve(self):
        try:
            while True:
                c, _ = self.lsock.accept()
                c.settimeout(15)
                with c:
                    self.requests.append(self._read_request(c))
                    if self.answer is None:
                        continue                  # close without answering
                    c.sendall(self.answer + self.extra)
                    while self.echo:
                        data = c.recv(4096)
                        if not data:
                            break
                        c.sendall(data)
        except OSError:
            pass

    def close(self):
        self.lsock.close()


@pytest.fixture
def proxy():
    made = []

    def make(*args, **kw):
        p = FakeProxy(*args, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


OK = b"HTTP/1.0 200 Connection established\r\nProxy-agent: test\r\n\r\n"


def test_proxy_connect_relays(proxy):
    p = proxy("http", OK)
    r = run_pysocat("-", f"PROXY:127.0.0.1:target.invalid:443,proxyport={p.port}", input=b"hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello"
    assert p.requests == [b"CONNECT target.invalid:443 HTTP/1.0\r\n\r\n"]


def test_proxy_reads_no_byte_past_the_headers(proxy):
    p = proxy("http", OK, echo=False, extra=b"first bytes from the target")
    r = run_pysocat("-u", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port}", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"first bytes from the target"


def test_proxy_authorization(proxy, tmp_path):
    p = proxy("http", OK)
    r = run_pysocat("-", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port},proxyauth=user:pass",
                    input=b"x")
    assert r.returncode == 0, r.stderr
    assert p.requests[0] == (b"CONNECT t.invalid:80 HTTP/1.0\r\n"
                             b"Proxy-authorization: Basic dXNlcjpwYXNz\r\n\r\n")
    f = tmp_path / "auth"
    f.write_bytes(b"me:secret")
    r = run_pysocat("-", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port},"
                    f"proxy-authorization-file={f}", input=b"x")
    assert r.returncode == 0, r.stderr
    assert p.requests[1].split(b"\r\n")[1] == b"Proxy-authorization: Basic bWU6c2VjcmV0"


def test_proxy_resolve_sends_the_address(proxy):
    p = proxy("http", OK)
    r = run_pysocat("-", f"PROXY:127.0.0.1:localhost:http,proxyport={p.port},resolve",
                    input=b"x")
    assert r.returncode == 0, r.stderr
    assert p.requests[0].startswith(b"CONNECT 127.0.0.1:80 HTTP/1.0\r\n")


def test_proxy_ignorecr(proxy):
    p = proxy("http", b"HTTP/1.1 200 OK\nVia: x\n\n")
    r = run_pysocat("-", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port},ignorecr",
                    input=b"lf only")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"lf only"


# answers and the error socat gives for them
REFUSALS = [
    (b"HTTP/1.0 403 Forbidden\r\n\r\n", "E CONNECT t.invalid:80: Forbidden"),
    (b"HTTP/1.1  407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
     "E CONNECT t.invalid:80: Proxy Authentication Required"),
    (b"SSH-2.0-OpenSSH\r\n", 'E proxy: invalid answer "SSH-2.0-OpenSSH"'),
    (None, "E proxy_connect: connection closed by proxy"),
]


@pytest.mark.parametrize("answer,error", REFUSALS)
def test_proxy_refusals(proxy, answer, error):
    p = proxy("http", answer, echo=False)
    r = run_pysocat("-", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port}", input=b"x")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [error]


@needs_socat
@pytest.mark.parametrize("answer", [a for a, _ in REFUSALS] + [OK])
def test_proxy_like_socat(proxy, answer):
    results = []
    for run in (run_pysocat, run_socat):
        p = proxy("http", answer, echo=True)
        r = run("-d", "-d", "-", f"PROXY:127.0.0.1:t.invalid:80,proxyport={p.port},proxyauth=a:b",
                input=b"data", timeout=10)
        texts = [t.replace(str(p.port), "PORT") for t in log_texts(r.stderr)
                 if t[0] in "EW" or "proxy" in t]
        results.append((r.returncode, r.stdout, p.requests, texts))
    assert results[0] == results[1]


def _socks_reply(cd, version=0):
    return bytes([version, cd]) + b"\0\0\0\0\0\0"


def test_socks4_relays(proxy):
    p = proxy("socks4", _socks_reply(90))
    r = run_pysocat("-", f"SOCKS4:127.0.0.1:127.0.0.1:4242,socksport={p.port},socksuser=me",
                    input=b"via socks")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"via socks"
    assert p.requests == [b"\x04\x01\x10\x92\x7f\x00\x00\x01me\x00"]


def test_socks4a_sends_the_name(proxy):
    p = proxy("socks4a", _socks_reply(90))
    r = run_pysocat("-", f"SOCKS4A:127.0.0.1:target.invalid:80,socksport={p.port},socksuser=u",
                    input=b"4a")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"4a"
    assert p.requests == [b"\x04\x01\x00\x50\x00\x00\x00\x01u\x00target.invalid\x00"]


def test_socks4_user_from_environment(proxy):
    import os
    p = proxy("socks4", _socks_reply(90))
    env = dict(os.environ, LOGNAME="envuser")
    r = run_pysocat("-", f"SOCKS:127.0.0.1:127.0.0.1:80,socksport={p.port}", input=b"",
                    env=env)
    assert r.returncode == 0, r.stderr
    assert p.requests[0][8:] == b"envuser\x00"


@pytest.mark.parametrize("answer,error", [
    (_socks_reply(91), "E socks: connect request rejected or failed"),
    (_socks_reply(92), "E socks: ident refused by client"),
    (_socks_reply(93), "E socks: ident failed"),
    (None, "E read(): EOF during read of socks reply, peer might not be a socks4 server"),
])
def test_socks4_refusals(proxy, answer, error):
    p = proxy("socks4", answer, echo=False)
    r = run_pysocat("-", f"SOCKS4:127.0.0.1:127.0.0.1:80,socksport={p.port}", input=b"x")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [error]


@needs_socat
@pytest.mark.parametrize("kind", ["socks4", "socks4a"])
@pytest.mark.parametrize("answer", [_socks_reply(90), _socks_reply(91), _socks_reply(90, 4),
                                    _socks_reply(77), None])
def test_socks_like_socat(proxy, kind, answer):
    results = []
    for run in (run_pysocat, run_socat):
        p = proxy(kind, answer, echo=True)
        r = run("-d", "-d", "-", f"{kind}:127.0.0.1:127.0.0.1:80,socksport={p.port},socksuser=x",
                input=b"data", timeout=10)
        texts = [t.replace(str(p.port), "PORT") for t in log_texts(r.stderr)
                 if t[0] in "EW" or "socks" in t]
        results.append((r.returncode, r.stdout, p.requests, texts))
    assert results[0] == results[1]


def test_proxy_retry_until_granted(proxy):
    """retry=N covers the handshake too: a refusal is retried."""
    p = proxy("socks4", _socks_reply(91), echo=False)
    r = run_pysocat("-", f"SOCKS4:127.0.0.1:127.0.0.1:80,socksport={p.port},retry=2,interval=0.05",
                    input=b"x")
    assert r.returncode == 1
    assert len(p.requests) == 3
    assert log_texts(r.stderr) == ["E socks: connect request rejected or failed"]
