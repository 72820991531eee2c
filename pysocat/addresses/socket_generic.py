"""Generic sockets: SOCKET-CONNECT/LISTEN/SENDTO/DATAGRAM/RECV/RECVFROM.

socat's xio-socket.c generic addresses: a numeric domain, type and protocol,
and the socket address as socat's data notation (dalan: ``x0050x7f000001``,
``"path"``, ``i80`` …) for the bytes after sa_family. The bytes go to
bind/connect/sendto unchanged (so a short address fails as it does in
socat); ``range`` takes ``<addr>:<mask>`` in the same notation.
"""
from __future__ import annotations



from ..errors import SocatError
from ..log import LOG
from .registry import EXTRA_FEATURES, address

SA_DATA_MAX = 126     # sizeof(union sockaddr_union) - sizeof(sa_family)


def _S():
    from . import sockets
    return sockets


def _num(text: str) -> int:
    """strtoul(…, 0) with socat's 'garbage in parameter' warning."""
    from ..options.values import strtoul
    val, rest = strtoul(text, 0)
    if rest:
        LOG.warn(f'garbage in parameter: "{rest}"')
    return int(val or 0) & 0xFFFFFFFF


def _data(text: str) -> bytes:
    from ..options.dalan import dalan
    rc, data = dalan(text, SA_DATA_MAX)
    if rc < 0:
        raise SocatError(f'data too long: "{text}"')
    if rc > 0:
        raise SocatError(f'syntax error in "{text}"')
    return data


class GenericRange:
    """range=<addr>:<mask> in dalan notation, compared like socat (sa_data)."""

    def __init__(self, net: bytes, mask: bytes) -> None:
        n = max(len(net), len(mask))
        net, mask = net.ljust(n, b"\0"), mask.ljust(n, b"\0")
        self.mask = mask
        self.net = bytes(a & b for a, b in zip(net, mask))

    def contains(self, peer) -> bool:
        S = _S()
        if peer.family == S.AF_INET:
            off, size = 2, 4
        elif peer.family == S.AF_INET6:
            off, size = 6, 16
        else:
            return False
        packed = peer.packed_host()
        net = self.net[off:off + size].ljust(size, b"\0")
        mask = self.mask[off:off + size].ljust(size, b"\0")
        if peer.family == S.AF_INET and packed == bytes(4):
            LOG.warn("invalid client address 0.0.0.0")
            return False
        return bytes(a & b for a, b in zip(packed, mask)) == net


def parse_generic_range(text: str) -> GenericRange:
    """socat's xioparsenetwork() for PF_UNSPEC."""
    if ":" not in text:
        from ..versions import ACTIVE
        raise SocatError(ACTIVE.range_unspec_syntax_error.format(range=text))
    addr, _, mask = text.partition(":")
    a, m = _data(addr), _data(mask)
    if len(a) != len(m):
        raise SocatError(f"network address is {len(a)} bytes long, mask is {len(m)} bytes long")
    return GenericRange(a, m)


def _checker(opts):
    S = _S()
    text = opts.get("range")
    chk = S.PeerCheck()
    if text is not None:
        chk.range = parse_generic_range(text)
    chk.wrap = S.tcpwrap_of(opts)
    return chk


def _raw(pf: int, text: str):
    return _S().sockaddr_from_raw(pf, _data(text))


def _bind_raw(opts, pf: int):
    text = opts.get("bind")
    return None if text is None else _raw(pf, text)


def _stream_params(opts, params):
    """SOCKET-CONNECT/-LISTEN's <domain>:<protocol>: pf (pf= wins), type
    (so-type, default SOCK_STREAM) and protocol."""
    import socket
    pf = _num(params[0])
    proto = _num(params[1])
    pf = _S().socket_pf(opts, pf)
    socktype = opts.get("so-type")
    return pf, socket.SOCK_STREAM if socktype is None else socktype, proto


def open_connect(ctx, row, spec, opts, params):
    S = _S()
    pf, socktype, proto = _stream_params(opts, params)
    them = _raw(pf, params[2])
    us = _bind_raw(opts, pf)
    LOG.notice(f"opening connection to {them.info()}")
    sock = S.connect_loop(ctx, opts, pf, socktype, proto, them, us)
    ep = S.SocketEndpoint(sock, spec.raw, peer=them, local=_local(sock))
    return S.finish_socket(ep, opts)


def open_listen(ctx, row, spec, opts, params):
    S = _S()
    pf, socktype, proto = _stream_params(opts, params)
    us = _raw(pf, params[2])
    sock, peer, local = S.listen_accept(ctx, opts, pf, socktype, proto, us,
                                        checker=lambda: _checker(opts))
    ep = S.SocketEndpoint(sock, spec.raw, peer=peer, local=local)
    return S.finish_socket(ep, opts)


def _triple(opts, params):
    S = _S()
    pf = _num(params[0])
    socktype = _num(params[1])
    proto = _num(params[2])
    pf = S.socket_pf(opts, pf)
    st = opts.get("so-type")
    return pf, (socktype if st is None else st), proto


def _sendto_ep(ctx, spec, opts, params):
    S = _S()
    pf, socktype, proto = _triple(opts, params)
    them = _raw(pf, params[3])
    us = _bind_raw(opts, pf)
    sock = S.dgram_socket(opts, pf, socktype, proto, us)
    ep = S.SocketEndpoint(sock, spec.raw, datagram=True, peer=them, local=_local(sock))
    ep.sendto = them
    ep.recvfrom = True
    return ep


def open_sendto(ctx, row, spec, opts, params):
    return _S().finish_socket(_sendto_ep(ctx, spec, opts, params), opts)


def open_datagram(ctx, row, spec, opts, params):
    ep = _sendto_ep(ctx, spec, opts, params)
    checker = _checker(opts)
    if checker.active():
        ep.checker = checker
    return _S().finish_socket(ep, opts)


def open_recv(ctx, row, spec, opts, params):
    S = _S()
    pf, socktype, proto = _triple(opts, params)
    us = _raw(pf, params[3])
    checker = _checker(opts)
    sock = S.recv_socket(opts, pf, socktype, proto, us)
    LOG.start_loop("recvfrom")
    ep = S.SocketEndpoint(sock, spec.raw, datagram=True, local=us)
    ep.recvfrom = True
    if checker.active():
        ep.checker = checker
    return S.finish_socket(ep, opts)


def open_recvfrom(ctx, row, spec, opts, params):
    S = _S()
    pf, socktype, proto = _triple(opts, params)
    us = _raw(pf, params[3])
    checker = _checker(opts)
    sock = S.recv_socket(opts, pf, socktype, proto, us)
    try:
        peer, forked = S.recvfrom_wait(ctx, opts, sock, us, proto, checker)
    except BaseException:
        sock.close()
        raise
    ep = S.SocketEndpoint(sock, spec.raw, datagram=True, peer=peer, local=us)
    ep.howtoend = "none"
    ep.recvfrom = True
    ep.reply_to_sender = True
    ep.sendto = peer
    ep.notify_parent = forked
    return S.finish_socket(ep, opts)


def _local(sock):
    try:
        return _S().sockaddr_of(sock)
    except OSError:
        return None


address("socket-connect", ":<domain>:<protocol>:<remote-address>", "FD,SOCKET,CHILD,RETRY",
        open_connect, "GENERICSOCKET", "connect a socket of any domain (address as data)")
address("socket-listen", ":<domain>:<protocol>:<local-address>",
        "FD,SOCKET,LISTEN,RANGE,CHILD,RETRY", open_listen, "GENERICSOCKET",
        "listen on a socket of any domain (address as data)")
address("socket-sendto", ":<domain>:<type>:<protocol>:<remote-address>", "FD,SOCKET",
        open_sendto, "GENERICSOCKET", "send packets to a socket address (address as data)",
        aliases=("sendto",))
address("socket-datagram", ":<domain>:<type>:<protocol>:<remote-address>", "FD,SOCKET,RANGE",
        open_datagram, "GENERICSOCKET", "send packets, receive replies (address as data)",
        aliases=("datagram", "dgram"))
address("socket-recvfrom", ":<domain>:<type>:<protocol>:<local-address>", "FD,SOCKET,RANGE,CHILD",
        open_recvfrom, "GENERICSOCKET", "receive a packet and reply to its sender")
address("socket-recv", ":<domain>:<type>:<protocol>:<local-address>", "FD,SOCKET,RANGE",
        open_recv, "GENERICSOCKET", "receive packets (address as data)")

EXTRA_FEATURES.update({"LISTEN", "RETRY"})

