"""TCP: TCP-CONNECT (TCP), TCP-LISTEN (TCP-L) and their 4/6 variants.

socat's xio-tcp.c / xio-ipapp.c on the shared socket layer (sockets.py):
the client resolves ``host:port`` (honouring -4/-6 and ``pf``), applies
``bind``/``sourceport``/``lowport`` and connects with retry/fork; the
server binds ``[bind]:port``, listens and accepts (``fork``, ``range``,
``sourceport``, ``lowport``, ``max-children``, ``backlog``,
``accept-timeout``). Half-close is shutdown(SHUT_WR) via the endpoint.
"""
from __future__ import annotations

import errno
import os
import socket

from . import sockets as S
from ..log import NOTICE, WARN
from .registry import EXTRA_FEATURES, address

_STREAM, _TCP = socket.SOCK_STREAM, socket.IPPROTO_TCP


def _client_bind(ctx, opts, pf, socktype, proto):
    """bind, sourceport, lowport of _xioopen_ipapp_prepare: (us, lowport)."""
    us = S.bind_address(opts, pf, socktype, proto, True, S.preferred_ip(ctx))
    sp = opts.get("sourceport")
    if sp is not None:
        if us is None:
            us = S.resolve(None, None, pf)
        us = us.with_port(sp)
    return us, bool(opts.get("lowport"))


def ipapp_connect(ctx, row, spec, opts, params, pf, socktype, proto, name=None):
    """socat's xioopen_ipapp_connect (TCP, and UDP/SCTP clients)."""
    from ..versions import ACTIVE
    if ACTIVE.connect_tries_all:
        return _ipapp_connect18(ctx, row, spec, opts, params, pf, socktype, proto)
    host, port = params
    pf = S.socket_pf(opts, pf)
    them = S.resolve(host, port, pf, socktype, proto, S.preferred_ip(ctx))
    pf = them.family
    us, lowport = _client_bind(ctx, opts, pf, socktype, proto)
    S.LOG.notice(f"opening connection to {them.info()}")
    sock = S.connect_loop(ctx, opts, pf, socktype, proto, them, us, lowport)
    local = None
    try:
        local = S.sockaddr_of(sock)
    except OSError:
        pass
    ep = S.SocketEndpoint(sock, spec.raw, peer=them, local=local)
    return S.finish_socket(ep, opts)


def _bind_list(ctx, opts, pf, socktype, proto):
    """socat 1.8's retropt_bind_ip(): every address of ``bind`` (None: no bind)."""
    text = opts.get("bind")
    if text is None:
        return None
    host, rest = S.split_hostport(text)
    portp = rest[1:] if rest.startswith(":") else None
    try:
        return S.getaddrinfo_sorted(host if host != "" else None, portp, pf, socktype, proto,
                                    True, S.preferred_ip(ctx))
    except S.GaiFailure:
        raise S.SocatError(f'error resolving bind option "{text}" with af={pf}') from None


def _prepare18(ctx, opts, host, port, pf, socktype, proto):
    """socat 1.8's _xioopen_ipapp_prepare(): the targets, bind addresses, bind port."""
    try:
        them = S.getaddrinfo_sorted(host, port, pf, socktype, proto, False,
                                    S.preferred_ip(ctx))
    except S.GaiFailure as f:
        text = (f'_xioopen_ipapp_prepare(node="{host}", service="{port}", pf={pf}, ...): ')
        if f.code == socket.EAI_AGAIN:
            S.LOG.warn(text + f.text)
            raise S.RetryLater(text + f.text) from None
        raise S.SocatError(text + S._gai_error_text(f)) from None
    binds = _bind_list(ctx, opts, pf, socktype, proto)
    bindport = None
    sp = opts.get("sourceport")
    if sp is not None:
        if binds:
            binds[0] = binds[0].with_port(sp)
        else:
            bindport = sp
    return them, binds, bindport, bool(opts.get("lowport"))


def _connect_any(row, opts, host, them, binds, bindport, lowport, socktype, proto, level):
    """socat 1.8's _xioopen_ipapp_connect(): each target in turn, the last one's
    failure at ``level``, the others' one level lower: (socket, target), or
    (None, (errno, the last failure)) for ``give_up``."""
    from ..versions import ACTIVE
    err, last = 0, None
    for i, sa in enumerate(them):
        S.LOG.notice(f"opening connection to {sa.info()}")
        lvl = level if i == len(them) - 1 else level - 1
        us = None
        if binds is not None:
            us = next((b for b in binds if b.family == sa.family), None)
            if us is None:
                S.LOG.warn(f"{row.name.upper()}: No bind address with matching address "
                           f"family ({sa.family}) of {host} available")
                err = errno.ENOPROTOOPT
                continue
        elif bindport is not None:
            us = S.SockAddr(sa.family, ("0.0.0.0", bindport) if sa.family == S.AF_INET
                            else ("::", bindport, 0, 0))
        try:
            return S.connect_socket(opts, sa.family, socktype, proto, sa, us, lowport), sa
        except S.SocatError as e:
            if i < len(them) - 1 or ACTIVE.connect_failure_pair:
                S.LOG.msg(lvl, e.text)
            err, last = getattr(e, "errno", 0) or 0, e
    return None, (err, last)


def give_up(failed: str, why) -> S.SocatError:
    """The error once every address failed and no retry is left: 1.8's
    "KEYWORD:host:port: <error>" (``failed`` is the part before the colon),
    else the last attempt's own error."""
    from ..versions import ACTIVE
    err, last = why
    if not ACTIVE.connect_failure_pair and last is not None:
        return last
    return S.SocatError(f"{failed}: {os.strerror(err) if err else '(See above)'}")


def _ipapp_connect18(ctx, row, spec, opts, params, pf, socktype, proto):
    """socat 1.8's xioopen_ipapp_connect(): the retry and fork loop around
    resolving (every time) and trying every address."""
    host, port = params
    pf = S.socket_pf(opts, pf)
    policy = S.RetryPolicy.from_opts(opts)
    dofork = bool(opts.get("fork"))
    maxchildren = int(opts.get("max-children", 0) or 0)
    mgr = S.ForkManager(shutup=S.children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    S.LOG.info("starting connect loop")
    from ..versions import ACTIVE
    if ACTIVE.connect_notices:
        S.LOG.notice(f"opening connection to {host}:{port}")
    while True:
        level = NOTICE if policy.more() else WARN
        try:
            them, binds, bindport, lowport = _prepare18(ctx, opts, host, port, pf, socktype, proto)
        except S.RetryLater:
            if not policy.more():
                raise
            policy.consume()
            policy.sleep()
            continue
        sock, got = _connect_any(row, opts, host, them, binds, bindport, lowport,
                                 socktype, proto, level)
        if sock is None:
            if policy.more():
                policy.consume()
                policy.sleep()
                continue
            raise give_up(f"{spec.head}:{host}:{port}", got)
        if mgr is None:
            break
        if mgr.fork() == 0:
            break
        sock.close()
        policy.sleep()
        while maxchildren and len(mgr.children) >= maxchildren:
            S.LOG.info(f"all {maxchildren} allowed children are active, waiting")
            policy.sleep()
            mgr.reap(from_signal=False)
    if ACTIVE.connect_notices:
        S.LOG.notice(f"successfully connected to {host}:{port}")
    local = None
    try:
        local = S.sockaddr_of(sock)
    except OSError:
        pass
    ep = S.SocketEndpoint(sock, spec.raw, peer=got, local=local)
    return S.finish_socket(ep, opts)


def ipapp_listen(ctx, row, spec, opts, params, pf, socktype, proto):
    """socat's xioopen_ipapp_listen (TCP, SCTP)."""
    pf = S.default_listen_pf(ctx, pf)
    pf = S.socket_pf(opts, pf)
    us = S.resolve(opts.get("bind"), params[0], pf, socktype, proto, S.preferred_ip(ctx),
                  passive=True)
    sock, peer, local = S.listen_accept(ctx, opts, us.family, socktype, proto, us,
                                        range_family=pf)
    ep = S.SocketEndpoint(sock, spec.raw, peer=peer, local=local)
    return S.finish_socket(ep, opts)


def _connect(pf):
    def opener(ctx, row, spec, opts, params):
        return ipapp_connect(ctx, row, spec, opts, params, pf, _STREAM, _TCP)
    return opener


def _listen(pf):
    def opener(ctx, row, spec, opts, params):
        return ipapp_listen(ctx, row, spec, opts, params, pf, _STREAM, _TCP)
    return opener


_C = "FD,SOCKET,CHILD,RETRY,{ip},TCP"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,{ip},TCP"
for _v, _pf, _ip in (("", socket.AF_UNSPEC, "IP4,IP6"), ("4", socket.AF_INET, "IP4"),
                     ("6", socket.AF_INET6, "IP6")):
    address(f"tcp{_v}-connect", ":<host>:<port>", _C.format(ip=_ip), _connect(_pf), "TCP",
            f"connect to a TCP{_v and ' IPv' + _v} server", aliases=(f"tcp{_v}", f"inet{_v}"))
    address(f"tcp{_v}-listen", ":<port>", _L.format(ip=_ip), _listen(_pf), "TCP",
            f"accept TCP{_v and ' IPv' + _v} connections",
            aliases=(f"tcp{_v}-l", f"inet{_v}-l", f"inet{_v}-listen"))

EXTRA_FEATURES.update({"IP4", "IP6", "LISTEN", "RETRY"})
EXTRA_FEATURES.add("LIBWRAP")     # tcpwrap options: pysocat/tcpwrap.py
