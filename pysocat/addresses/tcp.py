"""TCP: TCP-CONNECT (TCP), TCP-LISTEN (TCP-L) and their 4/6 variants.

socat's xio-tcp.c / xio-ipapp.c on the shared socket layer (sockets.py):
the client resolves ``host:port`` (honouring -4/-6 and ``pf``), applies
``bind``/``sourceport``/``lowport`` and connects with retry/fork; the
server binds ``[bind]:port``, listens and accepts (``fork``, ``range``,
``sourceport``, ``lowport``, ``max-children``, ``backlog``,
``accept-timeout``). Half-close is shutdown(SHUT_WR) via the endpoint.
"""
from __future__ import annotations

import socket

from . import sockets as S
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
    return S.client_endpoint(sock, spec, them, opts)


def _ipapp_connect18(ctx, row, spec, opts, params, pf, socktype, proto):
    """socat 1.8's xioopen_ipapp_connect(): the retry and fork loop around
    resolving (every time) and trying every address."""
    host, port = params
    from ..versions import ACTIVE

    def start():
        S.LOG.info("starting connect loop")
        if ACTIVE.connect_notices:
            S.LOG.notice(f"opening connection to {host}:{port}")

    sock, got, _ = S.client_loop18(ctx, row, opts, host, port, S.socket_pf(opts, pf),
                                   socktype, proto, f"{spec.head}:{host}:{port}", start=start)
    if ACTIVE.connect_notices:
        S.LOG.notice(f"successfully connected to {host}:{port}")
    return S.client_endpoint(sock, spec, got, opts)


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
