"""INTERFACE:<if>: raw frames of a network interface (an AF_PACKET socket).

socat 1.7.4.4's xio-interface.c: a SOCK_RAW packet socket for every protocol
(ETH_P_ALL), bound to the interface; every frame read is one packet (logged
like UDP-DATAGRAM's "permitting packet from AF=17 …"), every write sends one
frame out of the interface.
"""
from __future__ import annotations

import fcntl
import socket
import struct

from ..errors import SocatError
from ..log import LOG
from . import dgram as D
from . import sockets as S
from .registry import address

ETH_P_ALL = 0x0003
SIOCGIFINDEX = 0x8933
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23     # linux/if_packet.h, Linux 4.20


def ifindex(name: str) -> int | None:
    """socat's ifindex(): a number, or the index of the interface of that name."""
    if not name:
        return None
    try:
        return int(name, 0)
    except ValueError:
        pass
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    fd = s.fileno()
    LOG.info(f"socket(2, 2, 0) -> {fd}")
    raw = name.encode()[:16]
    try:
        res = fcntl.ioctl(fd, SIOCGIFINDEX, struct.pack("16si20x", raw, 0))
    except OSError as e:
        LOG.info(f'ioctl({fd}, SIOCGIFINDEX, {{"{name}"}}): {e.strerror}')
        LOG.info(f"close({fd})")
        s.close()
        return None
    LOG.info(f"close({fd})")
    s.close()
    idx = struct.unpack_from("i", res, 16)[0]
    LOG.info(f'ioctl({fd}, SIOCGIFINDEX, {{"{name}"}}) -> {{ {idx} }}')
    return idx


def open_interface(ctx, row, spec, opts, params):
    name = params[0]
    idx = ifindex(name)
    if idx is None:
        raise SocatError(f'unknown interface "{name}"')
    socktype = opts.get("so-type", socket.SOCK_RAW)
    pf = S.socket_pf(opts, D.AF_PACKET)
    opts.get("bind")    # socat takes it and then binds to the interface anyway
    try:
        ifname = socket.if_indextoname(idx)
    except OSError:
        ifname = name
    us = S.SockAddr(pf, (ifname, ETH_P_ALL))
    sock, local = D.prepare_sendto(opts, pf, socktype, 0, us)
    from ..versions import ACTIVE
    if ACTIVE.interface_ignore_outgoing:
        # the kernel leaves out the frames this host sends (socat 1.8)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError as e:
            LOG.warn(f"setsockopt({sock.fileno()}, SOL_PACKET, PACKET_IGNORE_OUTGOING, "
                     f"{{1}}): {e.strerror}")
    ep = D.DatagramEndpoint(sock, spec.raw, "recv", peer=us, local=local,
                            checker=S.PeerCheck())
    ep.sendto = us
    return S.finish_socket(ep, opts)


address("interface", ":<interface>", "FD,SOCKET", open_interface, "INTERFACE",
        "raw frames of a network interface", aliases=("if",))
