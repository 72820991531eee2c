"""TUN[:<ip-addr>/<bits>]: a new TUN (IP packets) or TAP (Ethernet frames) interface.

As socat's xio-tun.c: open the cloning device (``tun-device``, default
/dev/net/tun), ``TUNSETIFF`` with the name (``tun-name``), type (``tun-type``)
and ``iff-no-pi``; then configure the new interface: the address and prefix
from the parameter, and the ``iff-*`` flags merged into the flags the system
set, with socat's SIOCSIFADDR / SIOCSIFNETMASK / SIOCSIFFLAGS ioctls on a
helper socket (the kernel derives the broadcast address), and socat's messages. One read is one packet, one write is one packet.
"""
from __future__ import annotations

import fcntl
import os
import select
import socket
import struct

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import apply_named_early, finish
from .file import open_path
from .registry import address

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000
IFF_BROADCAST = 0x2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
IFNAMSIZ = 16


class PacketEndpoint(Endpoint):
    """A descriptor where every read returns and every write sends one packet."""

    datagram = True
    _nonblocking = False

    def read_nowait(self, n: int):
        # the relay's burst reads: the device is made non-blocking once (its
        # reads after select() and its writes behave the same either way)
        if not self._nonblocking:
            os.set_blocking(self.rfd, False)
            self._nonblocking = True
        return os.read(self.rfd, n)

    def batch_reader(self):
        """relay/batch.py: one non-blocking readv() per packet."""
        if not self._nonblocking:
            os.set_blocking(self.rfd, False)
            self._nonblocking = True
        return "readv"

    def write(self, data) -> int:
        while True:
            try:
                return os.write(self.wfd, data)
            except InterruptedError:
                continue
            except BlockingIOError:
                select.select([], [self.wfd], [])


def resolve_ip4(node: str) -> str:
    """socat's xiogetaddrinfo(node, NULL, PF_UNSPEC, …) as TUN uses it: a dotted quad."""
    flags, family = socket.AI_PASSIVE, socket.AF_UNSPEC
    if len(node) > 1 and node[0] == "[" and node[-1] == "]":
        node = node[1:-1]
        flags |= socket.AI_NUMERICHOST
        family = socket.AF_INET6
    try:
        socket.inet_pton(socket.AF_INET, node)
        if family == socket.AF_UNSPEC:
            return node
    except OSError:
        pass
    try:
        res = socket.getaddrinfo(node, None, family, 0, 0, flags)
    except socket.gaierror as e:
        raise SocatError(f'getaddrinfo("{node}", "NULL", {{{flags},{family},0,0}}, {{}}): '
                         f"{e.strerror}") from None
    for fam, _, _, _, sa in res:
        if fam == socket.AF_INET:
            return sa[0]
    return "0.0.0.0"   # socat copies an IPv6 result's sin6_flowinfo into sin_addr


def parse_network_ip4(text: str) -> tuple[str, int | None, bytes]:
    """socat's xioparsenetwork_ip4: ``addr/bits`` or ``addr:mask``.

    Returns (address, prefix length or None if the mask is not contiguous, mask bytes).
    """
    if "/" in text:
        pos = text.index("/")
        digits = text[pos + 1:]
        bits = _c_strtoul10(digits)
        if bits is None:
            raise SocatError(f'not a valid netmask in "{text}"')
        if bits > 32:
            raise SocatError(f'netmask "{text}" is too large')
        mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0
        maskb = struct.pack("!I", mask)
    elif ":" in text:
        pos = text.index(":")
        maskb = socket.inet_aton(resolve_ip4(text[pos + 1:]))
    else:
        raise SocatError(f'xioparsenetwork_ip4("{text}",,): missing netmask delimiter')
    addr = resolve_ip4(text[:pos])
    m = struct.unpack("!I", maskb)[0]
    inv = ~m & 0xFFFFFFFF
    bits = None if inv & (inv + 1) else 32 - inv.bit_length()
    return addr, bits, maskb


def _c_strtoul10(s: str) -> int | None:
    """strtoul(s, &end, 10) when it consumes all of a non-empty s, else None."""
    t = s.lstrip(" \t\n\r\f\v")
    neg = t[:1] == "-"
    if t[:1] in "+-":
        t = t[1:]
    if not s or not (t.isdigit() and t.isascii()):
        return None
    n = int(t)
    return (-n) % 2**64 if neg else n


def _iff_masks(opts) -> tuple[int, int]:
    """The iff-* options as (flags to set, flags to clear), in command line order."""
    from ..options.interface import IFF_FLAGS
    setm = clear = 0
    for it in opts.items:
        bit = IFF_FLAGS.get(it.row.name)
        if bit is None:
            continue
        it.used = True
        if it.value:
            setm |= bit[0]
        else:
            clear |= bit[0]
    return setm, clear


def open_tun(ctx, row, spec, opts, params):
    device = opts.get("tun-device") or "/dev/net/tun"
    apply_named_early(device, opts)
    LOG.notice("creating tunnel network interface")
    fd = open_path(device, ctx.mode, opts)
    try:
        return _setup(fd, opts, params)
    except BaseException:
        os.close(fd)
        raise


def _setup(fd, opts, params):
    name = opts.get("tun-name") or ""
    flags = IFF_TUN
    tuntype = opts.get("tun-type")
    if tuntype is not None:
        if tuntype == "tap":
            flags = IFF_TAP
        elif tuntype != "tun":
            raise SocatError(f'unknown tun-type "{tuntype}"')
    if opts.get("iff-no-pi"):
        flags |= IFF_NO_PI
    ifr = struct.pack("16sH22x", name.encode()[:IFNAMSIZ], flags)
    try:
        ifr = fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError as e:
        raise SocatError(f'ioctl({fd}, TUNSETIFF, {{"{name[:IFNAMSIZ]}"}}: {e.strerror}') from None
    ifname = ifr[:IFNAMSIZ].split(b"\0", 1)[0].decode(errors="replace")
    # like socat, a socket for asking about the interface, open while the TUN is
    try:
        helper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    except OSError as e:
        raise SocatError(f"socket(PF_INET, SOCK_DGRAM, 0): {e.strerror}") from None
    LOG.info(f"socket(2, 2, 0) -> {helper.fileno()}")
    try:
        setm, clear = _iff_masks(opts)
        network = parse_network_ip4(params[0]) if params else None
        _configure(helper, ifr[:IFNAMSIZ], ifname, network, params[0] if params else "",
                   setm, clear, opts.get("interface-mtu"))
    except BaseException:
        helper.close()
        raise
    ep = PacketEndpoint(fd, fd, ifname)
    ep.on_close.append(helper.close)
    return finish(ep, opts)


def _get_flags(helper, rawname: bytes, ifname: str) -> int:
    try:
        res = fcntl.ioctl(helper.fileno(), SIOCGIFFLAGS, struct.pack("16sH22x", rawname, 0))
    except OSError as e:
        raise SocatError(f'ioctl({helper.fileno()}, SIOCGIFFLAGS, {{"{ifname}"}}: '
                         f"{e.strerror}") from None
    return struct.unpack_from("H", res, IFNAMSIZ)[0]


def _ifreq_in4(rawname: bytes, addr: bytes) -> bytes:
    """struct ifreq holding a sockaddr_in (name, AF_INET, port 0, address)."""
    return struct.pack("16sHH4s8x8x", rawname, socket.AF_INET, 0, addr)


def _configure(helper, rawname, ifname, network, text, setm, clear, mtu=None):
    """Address, netmask and flags of the new interface: socat's ioctls (xio-tun.c);
    1.8's interface-mtu through rtnetlink, as socat sets it."""
    hfd = helper.fileno()
    if network is not None:
        addr, bits, maskb = network
        if bits is None:
            s_addr = struct.unpack("=I", maskb)[0]
            raise SocatError(f'ioctl({hfd}, SIOCSIFNETMASK, {{"0x{s_addr:08d}", "{text}"}}, '
                             f"{os.strerror(22)}")
        try:
            fcntl.ioctl(hfd, SIOCSIFADDR, _ifreq_in4(rawname, socket.inet_aton(addr)))
        except OSError as e:
            raise SocatError(f'ioctl({hfd}, SIOCSIFADDR, {{"{ifname}", "{text}"}}: '
                             f"{e.strerror}") from None
        try:
            fcntl.ioctl(hfd, SIOCSIFNETMASK, _ifreq_in4(rawname, maskb))
        except OSError as e:
            s_addr = struct.unpack("=I", maskb)[0]
            raise SocatError(f'ioctl({hfd}, SIOCSIFNETMASK, {{"0x{s_addr:08d}", "{text}"}}, '
                             f"{e.strerror}") from None
    sysflags = _get_flags(helper, rawname, ifname)
    LOG.debug(f'"{ifname}": system set flags: 0x{sysflags:x}')
    merged = (sysflags | setm) & ~clear & 0xFFFF
    LOG.debug(f'"{ifname}": xio merged flags: 0x{merged:x}')
    signed = merged - 0x10000 if merged & 0x8000 else merged
    try:
        fcntl.ioctl(hfd, SIOCSIFFLAGS, struct.pack("16sh22x", rawname, signed))
    except OSError as e:
        raise SocatError(f'ioctl({hfd}, SIOCSIFFLAGS, {{"{ifname}", {signed}}}: '
                         f"{e.strerror}") from None
    LOG.debug(f'"{ifname}": resulting flags: 0x{_get_flags(helper, rawname, ifname):x}')
    if mtu is not None:
        set_mtu(socket.if_nametoindex(ifname), mtu)


def set_mtu(idx: int, mtu: int) -> None:
    """interface-mtu (1.8): the interface's MTU through rtnetlink, one RTM_NEWLINK
    request with IFLA_MTU as socat's xio_netlink_mtu() sends (a plain netlink
    socket: importing a netlink library costs more than the test suites wait)."""
    LOG.info(f"Setting interface {idx} MTU to {mtu} using netlink")
    where = f"xio_netlink_mtu(index={idx}, mtu={mtu})"
    try:
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
    except OSError as e:
        raise SocatError(f"{where}: socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE): "
                         f"{e.strerror}") from None
    with nl:
        # ifinfomsg (family, type, index, flags, change), then the rtattr IFLA_MTU
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0)
        body += struct.pack("=HHI", 8, _IFLA_MTU, mtu)
        head = struct.pack("=IHHII", 16 + len(body), _RTM_NEWLINK,
                           _NLM_F_REQUEST | _NLM_F_ACK, 0, 0)
        try:
            nl.send(head + body)
        except OSError as e:
            raise SocatError(f"{where}: send(): {e.strerror}") from None
        try:
            reply = nl.recv(8192)
        except OSError as e:
            LOG.warn(f"{where}: recvmsg(): {e.strerror}")
            return
        pos = 0
        while pos + 16 <= len(reply):
            length, mtype = struct.unpack_from("=IH", reply, pos)
            if mtype == _NLMSG_DONE or length < 16:
                return
            if mtype == _NLMSG_ERROR:
                err = -struct.unpack_from("=i", reply, pos + 16)[0]
                if err:
                    raise SocatError(f"{where}: rtnetlink: {os.strerror(err)}")
            pos += (length + 3) & ~3


_RTM_NEWLINK, _NLM_F_REQUEST, _NLM_F_ACK, _IFLA_MTU = 16, 1, 4, 4
_NLMSG_ERROR, _NLMSG_DONE = 2, 3


def _tun_steps(ctx):
    """--explain: the calls open_tun makes (nothing is resolved or opened)."""
    tuntype = ctx.get("tun-type")
    if tuntype not in (None, "tun", "tap"):
        raise SocatError(f'unknown tun-type "{tuntype}"')
    if ctx.params:
        text = ctx.params[0]
        head = text.split("/")[0].split(":")[0]
        try:
            socket.inet_aton(head)
            literal = head.count(".") == 3
        except OSError:
            literal = False
        if literal or "/" not in text and ":" not in text:
            parse_network_ip4(text)          # socat's netmask errors, no lookup
    dev = ctx.literal(ctx.get("tun-device") or "/dev/net/tun")
    name = ctx.literal(ctx.get("tun-name") or "")
    flags = ("IFF_TAP" if tuntype == "tap" else "IFF_TUN") + ("|IFF_NO_PI" if ctx.get("iff-no-pi") else "")
    steps = [("OPEN", f'open("{dev}", {{access}})', None, ("tun-device",)),
             ("FD", f'ioctl(fd, TUNSETIFF, {{{{"{name}", {flags}}}}}): create the interface'
                    + ("" if name else " (the kernel names it tunN/tapN)"),
              None, ("tun-name", "tun-type", "iff-no-pi")),
             ("FD", "socket(AF_INET, SOCK_DGRAM, 0): a helper socket for SIOCGIFFLAGS")]
    if ctx.params:
        steps.append(("FD", "netlink RTM_NEWADDR: add {ip-addr/bits} to the interface "
                            "(socat: SIOCSIFADDR, SIOCSIFNETMASK)"))
    from ..options.interface import IFF_FLAGS
    iff = [f"IFF_{n[4:].upper()}" + ("" if ctx.opts[n] else "=0")
           for n in ctx.opts if n in IFF_FLAGS]
    if iff:
        steps.append(("FD", "netlink RTM_NEWLINK: merge " + ", ".join(iff) + " into the flags the "
                            "system set (socat: SIOCGIFFLAGS, SIOCSIFFLAGS)",
                      None, tuple(n for n in ctx.opts if n in IFF_FLAGS)))
    steps.append(("LATE", "relay: one read() is one packet, one write() is one packet"))
    return steps


address("tun", "[:<ip-addr>/<bits>]", "FD,CHR,NAMED,OPEN,INTERFACE", open_tun, "TUN",
        "a new TUN/TAP network interface, with this address and prefix",
        params=("ip-addr/bits",), nparams=(0, 1), count_text="0 or 1",
        steps=_tun_steps, transport="packet", groups18="FD,CHR,OPEN,INTERFACE")
