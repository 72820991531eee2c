"""SOCKS5 (RFC 1928, user/password per RFC 1929): SOCKS5-CONNECT (SOCKS5) and
SOCKS5-LISTEN (SOCKS5-BIND); new in socat 1.8.

socat 1.8's xio-socks5.c on the TCP client (sockets.py). Parameters:
``<socks-server>[:<socks-port>]:<host>:<port>``. The server's port is the
``socksport`` option if given, else the optional parameter, else the service
"socks" (1080 in /etc/services), else 1080. The open:

1. connect to the SOCKS server (retry/forever/interval, fork as TCP clients);
2. hello: version 5 and the methods "no authentication" and, when socksuser
   or sockspass is given, "user/password" (a missing user is "anonymous", a
   missing password empty, each with socat's warning); the server's choice
   must be one of them; user/password sends RFC 1929's sub-negotiation;
3. the request: CONNECT (1) or, for SOCKS5-LISTEN, BIND (2), with the target
   as an IPv4 or IPv6 address or, failing both, as a host name the server
   resolves (at most 255 bytes); the port (a number or a TCP service);
4. the reply (version 5, code 0, a bound address of type 1, 3 or 4); BIND
   waits for the second reply, sent when a peer connected to the server.

Afterwards the socket is a plain stream to the target. Failures of the hello
end in "E SOCKS5:<server>:<port>: handshake failed"; a refused request is a W
with the server's reason and the program ends with status -1, as socat does
(retry/forever: the whole open is tried again).
"""
from __future__ import annotations

import os
import socket

from ..errors import RetryLater, SocatError
from ..log import LOG, NOTICE, WARN
from . import sockets as S
from .registry import address

_STREAM, _TCP = socket.SOCK_STREAM, socket.IPPROTO_TCP
CONNECT, BIND = 1, 2
AUTH_NONE, AUTH_USER_PASS, AUTH_NO_METHOD = 0, 2, 0xFF

_STATUS = {0: "succeeded", 1: "general SOCKS server failure",
           2: "connection not allowed by ruleset", 3: "network unreachable",
           4: "host unreachable", 5: "connection refused", 6: "TTL expired",
           7: "command not supported", 8: "address type not supported"}


class _Retry(Exception):
    """socat's STAT_RETRYLATER: the message is logged already, at the retry level."""


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def socks_port(opts, positional):
    """socat's _xioopen_opt_socksport(): option, parameter, service "socks", 1080."""
    port = opts.get("socksport")
    if port is not None:
        return port
    if positional is not None:
        return positional
    try:
        port = socket.getservbyname("socks", "tcp")
        LOG.debug(f'"socks/tcp" resolves to {port}')
        return str(port)
    except OSError:
        LOG.debug('cannot resolve service "socks/tcp", using 1080')
        return "1080"


def _readfull(sock, n: int, level: int) -> bytes:
    """socat's readfull(): up to n bytes; EOF early is reported at ``level``."""
    out = b""
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except InterruptedError:
            continue
        except OSError as e:
            LOG.msg(level, f"read({sock.fileno()}, 0x0, {n - len(out)}): {e.strerror}")
            e.wanted = n - len(out)
            raise
        if not chunk:
            LOG.msg(level, f"read(): EOF during read(), returning {len(out)} instead of "
                           f"{n} bytes")
            return out
        out += chunk
        if len(out) < n:
            LOG.debug(f"readfull(): received {len(chunk)} bytes, waiting for "
                      f"{n - len(out)} more bytes")
    LOG.debug(f"readfull(): received all {n} bytes")
    return out


def _send(sock, data: bytes, level: int) -> None:
    try:
        sock.sendall(data)
    except OSError as e:
        LOG.msg(level, f"write({sock.fileno()}, 0x0, {len(data)}): {e.strerror}")
        raise _Retry() from None


def handshake(sock, user, password, level: int) -> None:
    """socat's _xioopen_socks5_handshake(): hello, method, user/password."""
    methods = [AUTH_NONE] + ([AUTH_USER_PASS] if user is not None else [])
    hello = bytes([5, len(methods)] + methods)
    LOG.info(f"sending SOCKS5 client hello version=5 nmethods={len(methods)}")
    LOG.debug(f"sending SOCKS5 client hello {_hex(hello)}")
    _send(sock, hello, level)
    LOG.info("waiting for SOCKS5 server hello")
    got = b""
    while len(got) < 2:
        try:
            chunk = sock.recv(2 - len(got))
        except InterruptedError:
            continue
        except OSError as e:
            LOG.msg(level, f"read({sock.fileno()}, 0x0, {2 - len(got)}): {e.strerror}")
            raise _Retry() from None
        if not chunk:
            LOG.msg(level, "read(): EOF during read of SOCKS5 server hello, "
                           "peer might not be a SOCKS5 server")
            raise _Retry()
        got += chunk
        if len(got) < 2:
            LOG.debug(f"received {len(chunk)} bytes, waiting for {2 - len(got)} more bytes")
    LOG.debug("received all 2 bytes")
    version, method = got
    LOG.debug(f"received SOCKS5 server hello {version:02x} {method:02x}")
    LOG.info(f"received SOCKS5 server hello version={version} method={method}")
    if version != 5:
        LOG.msg(level, f"SOCKS5 server hello version was {version}, not the expected 5, "
                       "peer might not be a SOCKS5 server")
        raise _Retry()
    if method == AUTH_NO_METHOD:
        LOG.msg(level, "SOCKS5 authentication negotiation failed - client & server have "
                       "no common supported methods")
        raise _Retry()
    LOG.info(f"SOCKS5 server chose authentication method {method}")
    if method == AUTH_NONE:
        LOG.notice("SOCKS5 session is authenticated")
        return
    if user is None:
        raise SocatError("authentication with SOCKS5 server failed")
    if method != AUTH_USER_PASS:
        LOG.msg(level, f"SOCKS5 server requested unsupported auth method ({method})")
        raise _Retry()
    u, p = user.encode("latin-1", "replace"), password.encode("latin-1", "replace")
    # socat puts the lengths into one byte each (longer names wrap, as there)
    req = bytes([1, len(u) & 0xFF]) + u + bytes([len(p) & 0xFF]) + p
    LOG.info("sending SOCKS5 user-pass authentication")
    LOG.info(f'sending SOCKS5 auth request "{user}":{"*" * min(len(password), 255)}')
    _send(sock, req, level)
    LOG.info("SOCKS5: waiting for authentication result")
    try:
        reply = _readfull(sock, 2, WARN)
    except OSError as e:
        # socat passes the -1 of readfull() to strerror()
        raise SocatError("reading SOCKS5 authentication result failed: "
                         "Unknown error -1") from None
    if not reply:
        raise SocatError("reading SOCKS5 authentication result failed: EOF")
    if len(reply) < 2 or reply[1] != 0:
        raise SocatError(f'SOCKS5 authentication for user "{user}" failed')
    LOG.notice("SOCKS5 authentication succeeded")


def _parseport(text: str) -> int:
    from .proxy import parseport
    return parseport(text)


def prepare_request(host: str, port: str, command: int, level: int) -> bytes | None:
    """socat's _xioopen_socks5_prepare_request(): None when it cannot be made."""
    try:
        addr = bytes([1]) + socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError):
        try:
            addr = bytes([4]) + socket.inet_pton(socket.AF_INET6, host)
        except (OSError, ValueError):
            name = host.encode("latin-1", "replace")
            if len(name) > 255:
                LOG.msg(level, "target hostname too long (>255 bytes), aborting")
                return None
            addr = bytes([3, len(name)]) + name
    dport = _parseport(port)
    if dport == 0:
        return None
    return bytes([5, command, 0]) + addr + dport.to_bytes(2, "big")


def read_reply(sock, level: int) -> bytes:
    """socat's _xioopen_socks5_read_reply(): 5 bytes, then the rest its type asks."""
    buf = b""
    want = 5
    typechecked = False
    while True:
        LOG.info("reading SOCKS5 reply")
        try:
            got = _readfull(sock, want - len(buf), level - 1)
        except OSError as e:
            LOG.msg(level, f"read({sock.fileno()}, 0x0, {e.wanted}): {e.strerror}")
            raise _Retry() from None
        if not got:
            LOG.msg(level, "read(): EOF during read of SOCKS5 reply")
            raise _Retry()
        LOG.debug("received SOCKS5 reply " + _hex((got + bytes(5))[:5]))
        buf += got
        if not typechecked and len(buf) <= 5:
            atyp = buf[3] if len(buf) > 3 else 0
            if atyp == 1:
                want = 10
            elif atyp == 4:
                want = 22
            elif atyp == 3:
                want = 7 + (buf[4] if len(buf) > 4 else 0)
            else:
                LOG.msg(level, f"invalid SOCKS5 reply address type ({atyp})")
                raise _Retry()
            typechecked = True
            continue
        if len(buf) >= want:
            LOG.debug(f"received all {len(buf)} bytes")
            return buf
        LOG.debug(f"received {len(buf)} of {want} bytes, waiting")


def request(sock, host: str, port: str, command: int, level: int) -> None:
    """socat's _xioopen_socks5_request(): the request, its reply (BIND: two)."""
    req = prepare_request(host, port, command, level)
    if req is None:
        raise SocatError("")      # socat's STAT_NORETRY without a message
    LOG.info(f"sending SOCKS5 request version=5 command={command} reserved=0 "
             f"address_type={req[3]}")
    LOG.debug(f"sending SOCKS5 request {_hex(req)}")
    _send(sock, req, level)
    reply = read_reply(sock, level)
    LOG.info(f"received SOCKS5 reply version={reply[0]} reply={reply[1]} "
             f"address_type={reply[3]}")
    if reply[0] != 5:
        LOG.msg(level, f"SOCKS5 reply version was {reply[0]}, not the expected 5, "
                       "peer might not be a SOCKS5 server")
        raise _Retry()
    if reply[1] == 0 and command == BIND:
        LOG.notice("listening on remote host, waiting for connection")
        reply = read_reply(sock, level)
        LOG.notice("received connection on remote host")
        LOG.info(f"received second SOCKS5 reply version={reply[0]} reply={reply[1]} "
                 f"address_type={reply[3]}")
    if reply[1] != 0:
        LOG.msg(level, f"SOCKS5 server error {reply[1]}: "
                       f"{_STATUS.get(reply[1], 'unknown error')}")
        raise _Retry()


def _open(command):
    def opener(ctx, row, spec, opts, params):
        if len(params) == 4:
            server, sport, host, tport = params
        else:
            (server, host, tport), sport = params, None
        pf = S.socket_pf(opts, socket.AF_UNSPEC)
        dofork = bool(opts.get("fork"))
        maxchildren = int(opts.get("max-children", 0) or 0)
        policy = S.RetryPolicy.from_opts(opts)
        LOG.info("starting connect loop")
        sport = socks_port(opts, sport)
        user, password = opts.get("socksuser"), opts.get("sockspass")
        if user is not None or password is not None:
            if user is None:
                LOG.warn('SOCKS5 password without username, falling back to "anonymous"')
                user = "anonymous"
            if password is None:
                LOG.warn("SOCKS5 username without password")
                password = ""
        # socat's notice, its typo included
        LOG.notice(f"opening connection to {host}:{tport} vis socks5 server {server}:{sport}")
        mgr = S.ForkManager(shutup=S.children_shutup(opts)) if dofork else None
        if mgr is not None:
            mgr.install()
        head = spec.head
        while True:
            level = NOTICE if policy.more() else WARN
            them = S.resolve(server, sport, pf, _STREAM, _TCP, S.preferred_ip(ctx))
            us = S.bind_address(opts, them.family, _STREAM, _TCP, True, S.preferred_ip(ctx))
            sp = opts.get("sourceport")
            if sp is not None:
                us = (us or S.resolve(None, None, them.family)).with_port(sp)
            LOG.notice(f"opening connection to socks5 server {server}:{sport}")
            LOG.notice(f"opening connection to {them.info()}")
            try:
                sock = S.connect_socket(opts, them.family, _STREAM, _TCP, them, us,
                                        bool(opts.get("lowport")))
            except SocatError as e:
                LOG.msg(level, e.text)
                if policy.more():
                    policy.consume()
                    policy.sleep()
                    continue
                err = getattr(e, "errno", 0)
                raise SocatError(f"{head}:{server}:{sport}:...: "
                                 f"{os.strerror(err) if err else '(See above)'}") from None
            try:
                try:
                    handshake(sock, user, password, level)
                except _Retry:
                    if not policy.more():
                        raise SocatError(f"{head}:{server}:{sport}: handshake failed") from None
                    raise
                try:
                    request(sock, host, tport, command, level)
                except _Retry:
                    if not policy.more():
                        raise RetryLater("SOCKS5 request failed") from None
                    raise
            except _Retry:
                sock.close()
                policy.consume()
                policy.sleep()
                continue
            except BaseException:
                sock.close()
                raise
            if mgr is None:
                break
            if mgr.fork() == 0:
                break
            sock.close()
            S.fork_pause(mgr, policy, maxchildren)
        LOG.notice(f"successfully connected to {host}:{tport} via socks5 server "
                   f"{server}:{sport}")
        return S.client_endpoint(sock, spec, them, opts)
    return opener


def _steps(command):
    """--explain: the open, with the parameters sorted out (3 or 4 of them)."""
    def build(ctx):
        p = list(ctx.params)
        server, sport, host, port = (p if len(p) == 4 else [p[0], None] + p[1:3])
        sport = ctx.get("socksport") or sport or "the 'socks' service (1080)"
        if ctx.has("sockspass") and not ctx.has("socksuser"):
            ctx.warn('SOCKS5 password without username, falling back to "anonymous"')
        if ctx.has("socksuser") and not ctx.has("sockspass"):
            ctx.warn("SOCKS5 username without password")
        auth = ctx.has("socksuser") or ctx.has("sockspass")
        lit = ctx.literal
        cmd = "CONNECT (1)" if command == CONNECT else "BIND (2)"
        out = [("CONNECT", lit(f"connect() to the SOCKS5 server {server}:{sport} "
                               "(retry/forever/fork as TCP clients)")),
               ("CONNECT", "hello: version 5, methods " +
                ("'none' and 'user/password' (RFC 1929 sub-negotiation if chosen)"
                 if auth else "'none'")),
               ("CONNECT", lit(f"request {cmd} for {host}:{port}; the reply must be code 0"))]
        if command == BIND:
            out.append(("CONNECT", "wait for the second reply: a peer connected to the "
                                   "server's listening port (no timeout)"))
        return out
    return build


_GROUPS = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,SOCKS4"
address("socks5-connect", ":<socks-server>[:<socks-port>]:<target-host>:<target-port>",
        _GROUPS, _open(CONNECT), "SOCKS5",
        "connect to target-host:target-port through a SOCKS5 server",
        aliases=("socks5",), params=("socks-server", "socks-port", "host", "port"),
        nparams=(3, 4), count_text="4", steps=_steps(CONNECT), transport="stream",
        since="1.8")
address("socks5-listen", ":<socks-server>[:<socks-port>]:<listen-host>:<listen-port>",
        _GROUPS, _open(BIND), "SOCKS5",
        "have a SOCKS5 server listen on listen-host:listen-port (BIND) and wait for a peer",
        aliases=("socks5-bind",), params=("socks-server", "socks-port", "host", "port"),
        nparams=(3, 4), count_text="4", steps=_steps(BIND), transport="stream",
        since="1.8")
