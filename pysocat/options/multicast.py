"""Multicast options of the IP4/IP6 groups (socat's xio-ip.c, xio-ip6.c, xioopts.c).

``ip-multicast-ttl``/``ip-multicast-loop`` are plain setsockopt rows (a byte);
``ip-multicast-if`` resolves its address when parsed (socat's TYPE_IP4NAME);
``ip-add-membership=<group>:<if-addr|if>[:<if>]`` and
``ipv6-join-group=<group>:<if>`` (socat's TYPE_IP_MREQN) are joined by the
datagram addresses right after socket() (``apply_membership``), as socat's
applyopts_single does; UDP-LISTEN, like socat, does not join.
"""
import socket as _s
import struct

from ..errors import OptionError, SocatError
from .table import opt, register_applier
from .values import VALUE_PARSERS

SOL_IP, SOL_IPV6 = 0, 41
IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_ADD_MEMBERSHIP = 32, 33, 34, 35
IPV6_JOIN_GROUP = 20


class Mreq:
    """<group>:<param2>[:<interface>] as written (resolved when applied)."""

    def __init__(self, multi: str, param2: str, ifname: str) -> None:
        self.multi, self.param2, self.ifname = multi, param2, ifname

    def __str__(self) -> str:
        parts = [self.multi, self.param2] + ([self.ifname] if self.ifname else [])
        return "{" + ",".join(f'"{p}"' for p in parts) + "}"


def _split(text):
    from ..addresses.sockets import split_hostport
    return split_hostport(text)


def _parse_mreqn(value, raw, name):
    if value is None:
        raise OptionError(f'option "{raw}": value required')
    multi, rest = _split(value)
    if not rest.startswith(":"):
        raise OptionError(f"syntax in option {value}: missing ':'")
    param2, rest = _split(rest[1:])
    ifname = rest[1:][:16] if rest.startswith(":") else ""
    return Mreq(multi, param2, ifname)


def _parse_ip4name(value, raw, name):
    if value is None:
        raise OptionError(f'option "{raw}": value required')
    from ..addresses.sockets import resolve
    sa = resolve(value, None, _s.AF_INET, _s.SOCK_DGRAM, 0)
    return sa.packed_host()


VALUE_PARSERS["STRUCT-IP_MREQN"] = _parse_mreqn
VALUE_PARSERS["IP4NAME"] = _parse_ip4name


def _apply_ip4name(fd, it):
    _, level, name = it.row.apply
    s = _s.socket(fileno=fd)
    try:
        s.setsockopt(level, name, it.value)
    except OSError as e:
        raise SocatError(f"setsockopt({fd}, {level}, {name}, "
                         f"{{0x{struct.unpack('=I', it.value)[0]:x}}}, 4): {e.strerror}") from None
    finally:
        s.detach()


register_applier("ip4name", _apply_ip4name)


def _in_addr(text, family):
    from ..addresses.sockets import resolve
    sa = resolve(text, None, family, _s.SOCK_DGRAM, 0)
    return sa.packed_host() if sa.family == _s.AF_INET else bytes(4)


def apply_membership(opts, sock, family=_s.AF_UNSPEC) -> None:
    """Join the groups of ip-add-membership / ipv6-join-group on ``sock``."""
    from ..addresses.interface import ifindex
    fd = sock.fileno()
    for m in opts.all("ip-add-membership"):
        multi = _in_addr(m.multi, family)
        if m.ifname:
            addr = _in_addr(m.param2, family)
            idx = ifindex(m.ifname)
            if idx is None:
                raise SocatError(f'cannot resolve interface "{m.ifname}"')
        else:
            idx = ifindex(m.param2)
            if idx is not None:
                addr = bytes(4)
            else:
                idx, addr = 0, _in_addr(m.param2, family)
        try:
            sock.setsockopt(SOL_IP, IP_ADD_MEMBERSHIP, struct.pack("=4s4si", multi, addr, idx))
        except OSError as e:
            m32, a32 = struct.unpack("=I", multi)[0], struct.unpack("=I", addr)[0]
            raise SocatError(f"setsockopt({fd}, {SOL_IP}, {IP_ADD_MEMBERSHIP}, "
                             f"{{0x{m32:08x},0x{a32:08x},{idx}}}, 12): {e.strerror}") from None
    for m in opts.all("ipv6-join-group"):
        from ..addresses.sockets import resolve
        sa = resolve(m.multi, None, family, _s.SOCK_DGRAM, 0)
        multi = sa.packed_host() if sa.family == _s.AF_INET6 else bytes(16)
        idx = ifindex(m.param2)
        if idx is None:
            raise SocatError(f'interface "{m.param2}" not found')
        try:
            sock.setsockopt(SOL_IPV6, IPV6_JOIN_GROUP, struct.pack("=16sI", multi, idx))
        except OSError as e:
            raise SocatError(f"setsockopt({fd}, {SOL_IPV6}, {IPV6_JOIN_GROUP}, "
                             f"{{...,0x{idx:08x}}}, 20): {e.strerror}") from None


opt("ip-multicast-ttl", "BYTE", "IP4,IP6", "PASTSOCKET", ("sockopt", SOL_IP, IP_MULTICAST_TTL),
    "time to live of sent multicast packets",
    ("ipmulticastttl", "multicast-ttl", "multicastttl"), nick="multicastttl")
opt("ip-multicast-loop", "BYTE", "IP4,IP6", "PASTSOCKET", ("sockopt", SOL_IP, IP_MULTICAST_LOOP),
    "whether sent multicast packets come back to local listeners",
    ("ipmulticastloop", "multicast-loop", "multicastloop"), nick="multicastloop",
    help18={"nick": "mcloop"})    # 1.8's -hh lists it as mcloop, a name new in 1.8
opt("ip-multicast-if", "IP4NAME", "IP4,IP6", "PASTSOCKET", ("ip4name", SOL_IP, IP_MULTICAST_IF),
    "send multicast packets out of the interface with this address",
    ("multicast-if",), nick="multicast-if")
opt("ip-add-membership", "STRUCT-IP_MREQN", "IP4,IP6", "PASTSOCKET", ("addr",),
    "join the multicast group: <group>:<if-addr or if>[:<if>]",
    ("add-membership", "ip-membership", "membership"), nick="membership")
opt("ipv6-join-group", "STRUCT-IP_MREQN", "IP6", "PASTSOCKET", ("addr",),
    "join the IPv6 multicast group: <group>:<if>",
    ("ipv6-add-membership", "join-group"), nick="join-group")
