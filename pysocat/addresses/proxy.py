"""Relays through a proxy: PROXY (HTTP CONNECT), SOCKS4 and SOCKS4A.

socat's xio-proxy.c and xio-socks.c on the TCP client (sockets.py): resolve
and connect to the proxy (``proxyport``, default 8080; ``socksport``, default
the "socks" service or 1080), then the handshake; after it the socket is a
plain TCP stream to the target.

PROXY sends ``CONNECT host:port HTTP/1.0`` (``resolve``: the target as an
IPv4 address), an optional ``Proxy-authorization: Basic`` line
(``proxyauth`` or ``proxy-authorization-file``) and an empty line, then
reads the answer one byte at a time, so no byte of the relayed stream is
consumed; it must be ``HTTP/1.0 200`` or ``HTTP/1.1 200`` (``ignorecr``:
lines may end with a bare LF). SOCKS4 sends VN=4 CD=1, the port, the IPv4
address and the user (``socksuser``, else $LOGNAME, $USER, "anonymous");
SOCKS4A sends 0.0.0.1 and appends the host name for the server to resolve.
Refusals and malformed answers are socat's errors; with ``retry``/``forever``
the whole open is tried again.
"""
from __future__ import annotations

import os
import socket

from ..errors import SocatError
from ..log import LOG
from . import sockets as S
from .registry import address

_STREAM, _TCP = socket.SOCK_STREAM, socket.IPPROTO_TCP
BUFLEN = 2048


class _Retry(Exception):
    """A handshake failure socat retries (STAT_RETRYLATER)."""

    def __init__(self, text, accept=False):
        super().__init__(text)
        self.text = text
        self.accept = accept    # socat logs it and goes on (only when retrying)


def parseport(text: str) -> int:
    """socat's parseport(): number (strtoul base 0) or a tcp service name."""
    if text[:1].isdigit():
        val, extra = S._strtoul(text)
        if extra:
            raise SocatError(f'parseport("{text}", 6): extra trailing data "{extra}"')
        return (val or 0) & 0xFFFF
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        raise SocatError(f'cannot resolve service "{text}/6"') from None


def _recv_exact(sock, n: int, eof_text: str) -> bytes:
    out = b""
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except InterruptedError:
            continue
        except OSError as e:
            raise _Retry(f"read({sock.fileno()}, 0x{id(out):x}, {n - len(out)}): {e.strerror}")
        if not chunk:
            raise _Retry(eof_text)
        out += chunk
    return out


def _send(sock, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError as e:
        raise _Retry(f"write({sock.fileno()}, 0x{id(data):x}, {len(data)}): {e.strerror}")


def _open_via(ctx, opts, server: str, port: str, handshake, announce: str, row=None,
              what="proxy", failed=""):
    """Connect to the proxy (retry/forever/interval, fork) and run the handshake.

    ``announce``: the notice naming target and proxy (1.7: after the notice of
    the proxy's address). 1.8 (``connect_tries_all``): "opening connection to
    <what> server:port", every address of the server in turn, ``failed`` (with
    the error) at the end."""
    from ..versions import ACTIVE
    if ACTIVE.connect_tries_all:
        LOG.notice(announce)
        return _open_via18(ctx, opts, server, port, handshake, row, what, failed)
    pf = S.socket_pf(opts, socket.AF_UNSPEC)
    them = S.resolve(server, port, pf, _STREAM, _TCP, S.preferred_ip(ctx))
    LOG.notice(f"opening connection to {them.info()}")    # _xioopen_ipapp_prepare's
    LOG.notice(announce)
    pf = them.family
    us = S.bind_address(opts, pf, _STREAM, _TCP, True, S.preferred_ip(ctx))
    sp = opts.get("sourceport")
    if sp is not None:
        if us is None:
            us = S.resolve(None, None, pf)
        us = us.with_port(sp)
    lowport = bool(opts.get("lowport"))
    policy = S.RetryPolicy.from_opts(opts)
    dofork = bool(opts.get("fork"))
    if opts.has("max-children"):
        opts.get("max-children")
    mgr = S.ForkManager(shutup=S.children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    while True:
        try:
            sock = S.connect_socket(opts, pf, _STREAM, _TCP, them, us, lowport)
        except SocatError as e:
            if policy.more():
                LOG.info(e.text)
                policy.consume()
                policy.sleep()
                continue
            raise
        try:
            handshake(sock)
        except _Retry as e:
            if e.accept and policy.more():
                LOG.info(e.text)     # socat's Msg(level=INFO): the socket is used
            else:
                sock.close()
                if not policy.more():
                    raise SocatError(e.text) from None
                LOG.info(e.text)
                policy.consume()
                policy.sleep()
                continue
        except BaseException:
            sock.close()
            raise
        if mgr is None:
            return sock, them
        pid = mgr.fork()
        if pid == 0:
            return sock, them
        sock.close()
        S.fork_pause(mgr, policy, 0)


def _open_via18(ctx, opts, server, port, handshake, row, what, failed):
    """socat 1.8's proxy/socks client loop: sockets.client_loop18 with the
    proxy's handshake as its session."""
    def session(sock, got, level, policy):
        try:
            handshake(sock)
        except _Retry as e:
            # 1.8: the proxy's answer at the attempt's level; a refusal ends
            # the open without an E ("exiting with status -1") when no retry is left
            LOG.msg(level, e.text)
            if not e.accept:
                sock.close()
                if not policy.more():
                    raise S.RetryLater(e.text) from None
                raise S.TryAgain() from None
        except BaseException:
            sock.close()
            raise
        return sock

    sock, got, _ = S.client_loop18(ctx, row, opts, server, port,
                                   S.socket_pf(opts, socket.AF_UNSPEC), _STREAM, _TCP, failed,
                                   notice=f"opening connection to {what} {server}:{port}",
                                   session=session)
    return sock, got
# --- HTTP CONNECT ----------------------------------------------------------------
def _b64(text: str) -> str:
    import binascii
    return binascii.b2a_base64(text.encode("latin-1"), newline=False).decode()


def _proxy_auth(opts):
    auth = opts.get("proxy-authorization")
    path = opts.get("proxy-authorization-file")
    if path is None:
        return auth
    if auth is not None:
        raise SocatError("Only one of options proxy-authorization and "
                         "proxy-authorization-file allowed")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SocatError(f'open("{path}", O_RDONLY): {e.strerror}') from None
    return data.split(b"\0", 1)[0].decode("latin-1")


def _target_addr(host: str, port: str, doresolve: bool) -> str:
    if not doresolve:
        return host
    try:
        sa = S.resolve(host, port, socket.AF_UNSPEC, _STREAM, _TCP)
    except SocatError:
        return host
    if sa.family != socket.AF_INET:
        return host
    return sa.addr[0]


CONNLEN = 281      # socat's buffer for the request line, its NUL included


def _http_handshake(sock, target: str, tport: int, auth, ignorecr: bool,
                    version: str = "1.0") -> None:
    request = f"CONNECT {target}:{tport} HTTP/{version}\r\n"
    raw = os.fsencode(request)      # the bytes of the command line
    if len(raw) >= CONNLEN:
        raise SocatError("_xioopen_proxy_connect(): PROXY CONNECT buffer too small")
    LOG.info(f'sending "{S.sanitize(raw)}"')
    _send(sock, raw)
    if auth is not None:
        header = "Proxy-authorization: Basic " + _b64(auth)
        LOG.info(f'sending "{header}\\r\\n"')
        _send(sock, header.encode("latin-1") + b"\r\n")
    LOG.info('sending "\\r\\n"')
    _send(sock, b"\r\n")
    req = request[:request.index(" HTTP")]
    # one byte at a time: nothing after the headers may be consumed
    state, buf, eol = 1, b"", 0
    while state != 8 and len(buf) < BUFLEN:
        try:
            c = sock.recv(1)
        except OSError as e:
            raise _Retry(f"read({sock.fileno()}, 0x{id(buf):x}, 1): {e.strerror}")
        if not c:
            raise _Retry("proxy_connect: connection closed by proxy")
        buf += c
        if state == 1:
            if c == b"\r":
                eol, state = len(buf) - 1, 2
            elif ignorecr and c == b"\n":
                eol, state = len(buf) - 1, 3
        elif state == 2:
            state = 3 if c == b"\n" else 1
        elif state in (3, 6):
            if c == b"\r":
                state = 7
            elif ignorecr and c == b"\n":
                state = 8
            else:
                state = 4
        elif state == 4:
            if c == b"\r":
                state = 5
            elif ignorecr and c == b"\n":
                state = 6
        elif state == 5:
            state = 6 if c == b"\n" else 4
        elif state == 7:
            if c == b"\n":
                state = 8
            elif c == b"\r":
                if not ignorecr:
                    state = 5
            else:
                state = 4
        if state == 3:
            LOG.info(f'proxy_connect: received answer "{S.sanitize(buf)}"')
            line = buf[:eol]
            shown = S.sanitize(line)
            if not (line.startswith(b"HTTP/1.0 ") or line.startswith(b"HTTP/1.1 ")):
                raise _Retry(f'proxy: invalid answer "{shown}"')
            rest = line[9:].lstrip(b" ")
            if not rest.startswith(b"200"):
                raise _Retry(f"{req}: {S.sanitize(rest[3:].lstrip(b' '))}")
            buf = b""
        elif state == 6:
            LOG.info(f'proxy_connect: received header "{S.sanitize(buf)}"')
            buf = b""
    if state != 8:
        raise SocatError(f"proxy answer exceeds {BUFLEN} bytes, aborting")


def open_proxy(ctx, row, spec, opts, params):
    server, host, tport_text = params
    port = opts.get("proxyport") or "8080"
    ignorecr = bool(opts.get("ignorecr"))
    doresolve = bool(opts.get("proxy-resolve"))
    version = opts.get("http-version")          # 1.8; socat's default "1.0"
    version = "1.0" if version is None else version
    auth = _proxy_auth(opts)
    target = _target_addr(host, tport_text, doresolve)
    tport = parseport(tport_text)
    sock, them = _open_via(ctx, opts, server, port,
                           lambda s: _http_handshake(s, target, tport, auth, ignorecr,
                                                       version),
                           f"opening connection to {target}:{tport} via proxy {server}:{port}",
                           row, "proxy", f"{spec.head}:{server}:...,proxyport={port}")
    LOG.notice(f"successfully connected to {target}:{tport} via proxy {server}:{port}")
    return S.client_endpoint(sock, spec, them, opts)


# --- SOCKS4 / SOCKS4A ----------------------------------------------------------------
_SOCKS_CD = {91: "socks: connect request rejected or failed",
             92: "socks: ident refused by client",
             93: "socks: ident failed"}


def _socks_port(opts) -> str:
    port = opts.get("socksport")
    if port is not None:
        return port
    try:
        return str(socket.getservbyname("socks", "tcp"))
    except OSError:
        return "1080"


def _socks_handshake(sock, head: bytes, dest: bytes, user: str, hostname) -> None:
    tport = int.from_bytes(head[2:4], "big")
    ip = ".".join(str(b) for b in dest)
    extra = f" DESTNAME={hostname}" if hostname is not None else ""
    LOG.info(f"sending socks4{'a' if hostname is not None else ''} request VN=4 DC=1 "
             f"DSTPORT={tport} DSTIP={ip} USERID={user}{extra}")
    req = head + dest + user.encode("latin-1") + b"\0"
    if hostname is not None:
        req += hostname.encode("latin-1") + b"\0"
    _send(sock, req)
    LOG.info("waiting for socks reply")
    reply = _recv_exact(sock, 8, "read(): EOF during read of socks reply, "
                                 "peer might not be a socks4 server")
    LOG.info(f"received socks reply VN={reply[0]} CD={reply[1]} "
             f"DSTPORT={int.from_bytes(reply[2:4], 'big')} "
             f"DSTIP={'.'.join(str(b) for b in reply[4:8])}")
    if reply[0] != 0:
        LOG.warn(f"socks: reply code version is not 0 ({reply[0]})")
    cd = reply[1]
    if cd == 90:
        LOG.notice("successfully connected via socks4")
    elif cd in _SOCKS_CD:
        raise _Retry(_SOCKS_CD[cd])
    else:
        raise _Retry(f"socks: undefined status {cd}", accept=True)


def _open_socks(socks4a: bool):
    def opener(ctx, row, spec, opts, params):
        server, host, tport_text = params
        tport = parseport(tport_text)
        port = _socks_port(opts)
        user = opts.get("socksuser")
        if user is None:
            user = os.environ.get("LOGNAME") or os.environ.get("USER") or "anonymous"
        announce = (f'opening connection to {host}:{tport} via socks4 server '
                    f'{server}:{port} as user "{user}"')
        head = bytes([4, 1]) + tport.to_bytes(2, "big")
        if socks4a:
            dest, name = bytes([0, 0, 0, 1]), host
        else:
            # the target is resolved (IPv4) before the socks server is contacted
            sa = S.resolve(host, None, socket.AF_INET, _STREAM, _TCP)
            dest, name = socket.inet_aton(sa.addr[0]), None
        sock, them = _open_via(ctx, opts, server, port,
                               lambda s: _socks_handshake(s, head, dest, user, name),
                               announce, row, "sockd",
                               f"{spec.head}:{server}:...,socksport={port}")
        from ..versions import ACTIVE
        if ACTIVE.connect_notices:
            LOG.notice(f"successfully connected to {host}:{tport_text} via sockd {server}:{port}")
        return S.client_endpoint(sock, spec, them, opts)
    return opener


_GROUPS = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP"
address("proxy", ":<proxy-server>:<host>:<port>", _GROUPS + ",HTTP", open_proxy, "PROXY",
        "connect to host:port through an HTTP proxy (CONNECT)", aliases=("proxy-connect",))
address("socks4", ":<socks-server>:<host>:<port>", _GROUPS + ",SOCKS4", _open_socks(False),
        "SOCKS4", "connect to host:port through a SOCKS4 server", aliases=("socks",))
address("socks4a", ":<socks-server>:<host>:<port>", _GROUPS + ",SOCKS4", _open_socks(True),
        "SOCKS4A", "connect to host:port through a SOCKS4A server (it resolves host)")
