"""Raw IP: IP-SENDTO, IP-DATAGRAM, IP-RECV, IP-RECVFROM and their 4/6 variants.

socat 1.7.4.4's xio-rawip.c on the datagram layer (dgram.py): raw sockets of
the protocol number given as parameter. IPv4 raw sockets deliver the IP
header, which socat strips before passing the payload on; writes send the
payload (the kernel adds the header).
"""
from __future__ import annotations

import socket

from ..errors import SocatError
from ..log import LOG
from ..options.values import strtoul
from . import dgram as D
from . import sockets as S
from .registry import EXTRA_FEATURES, address
from .udp import peer_check

_RAW = socket.SOCK_RAW
UNSPEC, INET, INET6 = socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6


def _protocol(text: str, func: str, shown: str) -> int:
    val, garbage = strtoul(text, 0)
    val = val or 0
    if val >= 256:
        raise SocatError(f'{func}("{shown}",,): protocol number exceeds 255 ({val & 0xFFFFFFFF})')
    if garbage:
        LOG.warn(f'{func}("{shown}",,): trailing garbage in protocol specification')
    return val


def _sendto_setup(ctx, opts, host, protname, pf):
    """socat's _xioopen_rawip_sendto(): (sock, peer, local, pf)."""
    proto = _protocol(protname, "xioopen_rawip_sendto", f"{host}:{protname}")
    pf = S.socket_pf(opts, pf)
    them = S.resolve(host, None, pf, _RAW, proto, S.preferred_ip(ctx))
    if pf == UNSPEC:
        pf = them.family
    us = S.bind_address(opts, pf, _RAW, proto, False, S.preferred_ip(ctx))
    sock, local = D.prepare_sendto(opts, pf, _RAW, proto, us)
    return sock, them, local, pf


def ip_sendto(ctx, row, spec, opts, params, pf):
    sock, them, local, _ = _sendto_setup(ctx, opts, params[0], params[1], pf)
    ep = D.DatagramEndpoint(sock, spec.raw, "recvfrom", peer=them, local=local, skipip=True)
    return S.finish_socket(ep, opts)


def ip_datagram(ctx, row, spec, opts, params, pf):
    sock, them, local, pf = _sendto_setup(ctx, opts, params[0], params[1], pf)
    try:
        checker = peer_check(opts, pf)
    except BaseException:
        sock.close()
        raise
    ep = D.DatagramEndpoint(sock, spec.raw, "recv", peer=them, local=local,
                            checker=checker, skipip=pf == INET)
    return S.finish_socket(ep, opts)


def _recv_common(ctx, opts, protname, pf, func):
    proto = _protocol(protname, func, protname)
    pf = S.default_listen_pf(ctx, S.socket_pf(opts, pf), zero=socket.AF_INET)
    us = S.bind_address(opts, pf, _RAW, proto, False, S.preferred_ip(ctx))
    return proto, pf, us


def ip_recvfrom(ctx, row, spec, opts, params, pf):
    proto, pf, us = _recv_common(ctx, opts, params[0], pf, "xioopen_rawip_recvfrom")
    checker = peer_check(opts, pf)
    dofork = bool(opts.get("fork"))
    sock, peer, parent = D.recvfrom_wait(ctx, opts, pf, _RAW, proto, us, checker, dofork)
    ep = D.DatagramEndpoint(sock, spec.raw, "recvfrom", peer=peer, local=us,
                            skipip=True, oneshot=True)
    ep.parent = parent
    ep.howtoend = "none"
    return S.finish_socket(ep, opts)


def ip_recv(ctx, row, spec, opts, params, pf):
    proto, pf, us = _recv_common(ctx, opts, params[0], pf, "xioopen_rawip_recv")
    sock = D.prepare_recv(opts, pf, _RAW, proto, us)
    try:
        checker = peer_check(opts, pf)
    except BaseException:
        sock.close()
        raise
    LOG.start_loop("recvfrom")
    ep = D.DatagramEndpoint(sock, spec.raw, "recv", local=us, checker=checker, skipip=True)
    return S.finish_socket(ep, opts)


def _opener(func, pf):
    def opener(ctx, row, spec, opts, params):
        return func(ctx, row, spec, opts, params, pf)
    return opener


_TYPES = (
    ("sendto", ":<host>:<protocol>", "", ip_sendto,
     "raw IP packets of protocol to host, and its replies"),
    ("datagram", ":<host>:<protocol>", ",RANGE", ip_datagram,
     "raw IP packets of protocol to host, from anyone range permits"),
    ("recvfrom", ":<protocol>", ",CHILD,RANGE", ip_recvfrom,
     "receive a raw IP packet of protocol and answer its sender"),
    ("recv", ":<protocol>", ",RANGE", ip_recv, "receive raw IP packets of protocol"),
)
for _v, _pf, _ip in (("", UNSPEC, "IP4,IP6"), ("4", INET, "IP4"), ("6", INET6, "IP6")):
    for _t, _syn, _extra, _func, _help in _TYPES:
        address(f"ip{_v}-{_t}", _syn, f"FD,SOCKET,{_ip}" + _extra, _opener(_func, _pf),
                "RAWIP", _help + (f" (IPv{_v})" if _v else ""),
                aliases={"sendto": (f"ip{_v}", f"ip{_v}-send"),
                         "datagram": (f"ip{_v}-dgram",)}.get(_t, ()))

EXTRA_FEATURES.update({"IP4", "IP6"})
