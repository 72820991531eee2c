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
IP_ADD_SOURCE_MEMBERSHIP, MCAST_JOIN_SOURCE_GROUP = 39, 46


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


class SourceReq:
    """<group>:<interface address or name>:<source> (resolved when applied)."""

    def __init__(self, multi: str, param2: str, source: str) -> None:
        self.multi, self.param2, self.source = multi, param2, source

    def __str__(self) -> str:
        return "{" + ",".join(f'"{p}"' for p in (self.multi, self.param2, self.source)) + "}"


def _parse_source(value, raw, name):
    """socat's xiotype_ip_add_source_membership / xiotype_ip6_join_source_group."""
    if value is None:
        raise OptionError(f'option "{raw}": value required')
    multi, rest = _split(value)
    if not rest.startswith(":"):
        raise OptionError(f"syntax in option {value}: missing ':'")
    param2, rest = _split(rest[1:])
    if not rest.startswith(":"):
        raise OptionError(f"syntax in option {value}: missing ':'")
    source, rest = _split(rest[1:])
    if rest:
        raise OptionError(f"syntax in option {value}: trailing cruft")
    if name == "ipv6-join-source-group":
        param2 = param2[:15]          # IF_NAMESIZE with its NUL
    return SourceReq(multi, param2, source)


VALUE_PARSERS["STRUCT-IP_MREQN"] = _parse_mreqn
VALUE_PARSERS["IP-MREQ-SOURCE"] = _parse_source
VALUE_PARSERS["GENERIC"] = _parse_source
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


def _in6_sockaddr(text, family) -> bytes:
    """A struct sockaddr_storage holding the sockaddr_in6 of ``text`` (port 0)."""
    from ..addresses.sockets import resolve
    sa = resolve(text, None, family, _s.SOCK_DGRAM, 0)
    if sa.family != _s.AF_INET6:
        return bytes(128)
    scope = sa.addr[3] if len(sa.addr) > 3 else 0
    return (struct.pack("=H", _s.AF_INET6) + struct.pack("!HI", 0, 0) + sa.packed_host()
            + struct.pack("=I", scope)).ljust(128, b"\0")


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
    for m in opts.all("ip-add-source-membership"):
        multi, iface, source = (_in_addr(x, family or _s.AF_INET)
                                for x in (m.multi, m.param2, m.source))
        try:
            sock.setsockopt(SOL_IP, IP_ADD_SOURCE_MEMBERSHIP, multi + iface + source)
        except OSError as e:
            # socat shows the group in host order, the other two as they are in memory
            m32 = struct.unpack("!I", multi)[0]
            i32, s32 = struct.unpack("=I", iface)[0], struct.unpack("=I", source)[0]
            raise SocatError(f"setsockopt({fd}, {SOL_IP}, {IP_ADD_SOURCE_MEMBERSHIP}, "
                             f"{{0x{m32:08x},0x{i32:08x},0x{s32:08x}}}, 12): "
                             f"{e.strerror}") from None
    for m in opts.all("ipv6-join-source-group"):
        group, source = (_in6_sockaddr(x, family or _s.AF_INET6) for x in (m.multi, m.source))
        idx = ifindex(m.param2)
        if idx is None:
            # socat names the group here, not the interface
            raise SocatError(f'interface "{m.multi}" not found')
        req = struct.pack("=I4x", idx) + group + source
        try:
            sock.setsockopt(SOL_IPV6, MCAST_JOIN_SOURCE_GROUP, req)
        except OSError as e:
            raise SocatError(f"setsockopt({fd}, {SOL_IPV6}, {MCAST_JOIN_SOURCE_GROUP}, "
                             f"{{{idx},...}}, {len(req)}): {e.strerror}") from None
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
    help18={"nick": "mcloop"}, aliases18=("mcloop",))    # 1.8's -hh lists it as mcloop
opt("ip-multicast-if", "IP4NAME", "IP4,IP6", "PASTSOCKET", ("ip4name", SOL_IP, IP_MULTICAST_IF),
    "send multicast packets out of the interface with this address",
    ("multicast-if",), nick="multicast-if")
opt("ip-add-membership", "STRUCT-IP_MREQN", "IP4,IP6", "PASTSOCKET", ("addr",),
    "join the multicast group: <group>:<if-addr or if>[:<if>]",
    ("add-membership", "ip-membership", "membership"), nick="membership")
opt("ip-add-source-membership", "IP-MREQ-SOURCE", "IP4,IP6", "PASTSOCKET", ("addr",),
    "join the multicast group for one source: <group>:<if-addr>:<source>",
    ("add-source-membership", "source-membership"), nick="source-membership", since="1.8")
opt("ipv6-join-source-group", "GENERIC", "IP6", "PASTSOCKET", ("addr",),
    "join the IPv6 multicast group for one source: <group>:<if>:<source>",
    ("ipv6-add-source-membership", "join-source-group"), nick="join-source-group",
    since="1.8")
opt("ipv6-join-group", "STRUCT-IP_MREQN", "IP6", "PASTSOCKET", ("addr",),
    "join the IPv6 multicast group: <group>:<if>",
    ("ipv6-add-membership", "join-group"), nick="join-group")
