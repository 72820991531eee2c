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
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23     # linux/if_packet.h, Linux 4.20
PACKET_AUXDATA = 8


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
    from ..versions import ACTIVE
    mtu = opts.get("interface-mtu") if ACTIVE.groups_18 else None
    if mtu is not None:
        from .tun import set_mtu
        set_mtu(idx, mtu)
    sock, local = D.prepare_sendto(opts, pf, socktype, 0, us)
    from ..versions import ACTIVE
    if ACTIVE.interface_ignore_outgoing:
        # the kernel leaves out the frames this host sends (socat 1.8)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError as e:
            LOG.warn(f"setsockopt({sock.fileno()}, SOL_PACKET, PACKET_IGNORE_OUTGOING, "
                     f"{{1}}): {e.strerror}")
    cls = D.DatagramEndpoint
    if ACTIVE.groups_18:
        # 1.8: the flags are saved, the iff-* options merged in, and the saved
        # flags put back when the address closes
        from .tun import _iff_masks
        raw = ifname.encode()[:16]
        saved = _get_iff(sock.fileno(), raw, ifname)
        _apply_iff(sock.fileno(), raw, ifname, *_iff_masks(opts))
        cls = _restoring(raw, ifname, saved)
    if opts.get("retrieve-vlan") and ACTIVE.groups_18:
        # the tag arrives as PACKET_AUXDATA; the read puts it back (dgram.py)
        LOG.info(f"setsockopt(fd={sock.fileno()}, level=SOL_PACKET, optname=PACKET_AUXDATA)")
        try:
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        except OSError as e:
            LOG.error(f"setsockopt({sock.fileno()}, SOL_PACKET, PACKET_AUXDATA, , {{1}}): "
                      f"{e.strerror}")
    ep = cls(sock, spec.raw, "recv", peer=us, local=local, checker=S.PeerCheck())
    ep.sendto = us
    return S.finish_socket(ep, opts)


def _get_iff(fd: int, raw: bytes, ifname: str) -> int | None:
    """SIOCGIFFLAGS on the packet socket; socat's E when it fails."""
    try:
        res = fcntl.ioctl(fd, SIOCGIFFLAGS, struct.pack("16sH22x", raw, 0))
    except OSError as e:
        LOG.error(f'ioctl({fd}, SIOCGIFFLAGS, {{"{ifname}"}}: {e.strerror}')
        return None
    return struct.unpack_from("H", res, 16)[0]


def _set_iff(fd: int, raw: bytes, ifname: str, flags: int) -> None:
    signed = flags - 0x10000 if flags & 0x8000 else flags
    try:
        fcntl.ioctl(fd, SIOCSIFFLAGS, struct.pack("16sh22x", raw, signed))
    except OSError as e:
        LOG.error(f'ioctl({fd}, SIOCSIFFLAGS, {{"{ifname}", {signed}}}: {e.strerror}')


def _apply_iff(fd: int, raw: bytes, ifname: str, setm: int, clear: int) -> None:
    """socat 1.8's _xiointerface_apply_iff(): the system's flags with the iff-*
    options merged in (SIOCSIFFLAGS also without any)."""
    flags = _get_iff(fd, raw, ifname) or 0
    LOG.debug(f'"{ifname}": system set flags: 0x{flags:x}')
    flags = (flags | setm) & ~clear & 0xFFFF
    LOG.debug(f'"{ifname}": xio merged flags: 0x{flags:x}')
    _set_iff(fd, raw, ifname, flags)
    LOG.debug(f'"{ifname}": resulting flags: 0x{_get_iff(fd, raw, ifname) or 0:x}')


def _restoring(raw: bytes, ifname: str, saved: int | None):
    """A DatagramEndpoint class whose close() first puts back the interface
    flags saved at open (socat 1.8's xioclose() for END_INTERFACE)."""
    class InterfaceEndpoint(D.DatagramEndpoint):
        def close(self):
            if not self._closed and self.sock.fileno() >= 0:
                fd = self.sock.fileno()
                _get_iff(fd, raw, ifname)
                _set_iff(fd, raw, ifname, saved or 0)
            super().close()
    return InterfaceEndpoint


address("interface", ":<interface>", "FD,SOCKET", open_interface, "INTERFACE",
        "raw frames of a network interface", aliases=("if",),
        groups18="FD,SOCKET,INTERFACE")
