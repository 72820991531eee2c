"""The shared socket layer: what every socket address family builds on.

socat 1.7.4.4's xio-socket.c, xio-ip.c, xio-ipapp.c and xio-listen.c, in one
module, kept generic: TCP, UNIX, SCTP, generic SOCKET-* and the UDP/IP family
modules call these functions and only add their own peer semantics.

API (stable; extend, do not rename)
-----------------------------------
Addresses
  ``SockAddr(family, addr, raw=None)``  a socket address; ``addr`` is the
      Python form (``(host, port)``, ``(host, port, flow, scope)``, a unix
      path str / abstract bytes); ``raw`` is the sa_data bytes for families
      Python cannot express. ``.info()`` is socat's text (``AF=2 1.2.3.4:80``,
      ``AF=10 [0000:…:0001]:80``, ``AF=1 "/path"``); ``.salen()`` the
      socklen socat prints; ``.port``/``.host`` for INET families.
  ``sockaddr_of(sock, peer=False)``  getsockname/getpeername as a SockAddr.
  ``inet6_text(packed16)``  socat's ``[%04x:…]`` form of an IPv6 address.
Resolution (xiogetaddrinfo; no DNS for numeric hosts; socat's error texts)
  ``resolve(node, service, family, socktype, proto, prefer=None)`` → SockAddr
  ``socket_pf(opts, pf)``     the ``pf``/``protocol-family`` option
  ``preferred_ip(ctx)`` / ``default_ip(ctx)``  -4/-6 and socat's env vars
  ``default_listen_pf(ctx, pf)``  PF_UNSPEC → INET/INET6 for listeners
  ``bind_address(opts, family, socktype, proto, port_allowed=True)``
      the ``bind`` option (host, host:port, [v6]:port) → SockAddr or None
Sockets and phases
  ``make_socket(opts, family, socktype, proto)``  socket() honouring
      so-type/so-protocol, logs "socket(2, 1, 6) -> 5"; returns socket.socket
  ``apply_phase(opts, sock, *phases)``  setsockopt rows of those phases
  ``bind_socket(sock, us, opts, family, lowport=False)``  PREBIND, BIND,
      bind() (or the lowport probe), PASTBIND, with socat's bind error text
Peer checks (range, sourceport, lowport)
  ``parse_range(text, family)`` → Range ; ``PeerCheck.from_opts(opts, family)``
  ``PeerCheck.check(peer)`` → bool, logging socat's refuse/permit lines
Connect (client side)
  ``RetryPolicy.from_opts(opts)``  retry/forever/interval
  ``connect_socket(opts, family, socktype, proto, them, us=None,
      lowport=False, level_error=True)``  _xioopen_connect: one attempt
  ``connect_loop(ctx, opts, family, socktype, proto, them, us=None,
      lowport=False)``  retry and fork loop around connect_socket (1.7)
  ``client_loop18(ctx, row, opts, host, port, pf, socktype, proto, failed,
      start=None, notice=None, session=None)`` → (sock, target, result): 1.8's
      loop of TCP, OPENSSL, PROXY, SOCKS4 (prepare18, connect_any18, give_up;
      a ``session`` raising TryAgain retries); ``fork_pause`` is the parent's
      interval after a fork (a child's end cuts it short) and max-children wait
  ``client_endpoint(sock, spec, them, opts)``  a connected client's endpoint
Listen / accept (server side)
  ``listen_accept(ctx, opts, family, socktype, proto, us, range_family=…,
      after_bind=None)`` → (sock, peer, local): socket, bind, listen, the
      accept loop with ``fork`` (a real child per connection; the parent keeps
      accepting and never returns), max-children, backlog, accept-timeout,
      peer checks; returns in the process that owns the connection
  ``ForkManager``  SIGCHLD self-pipe, reaping with socat's childdied lines,
      ``fork()`` with socat's log lines, ``wait_slot()`` for max-children;
      the UDP-LISTEN/RECVFROM family reuses it with its own peer semantics
Environment and endpoint
  ``env_name(var)``  "SOCAT_"+var (the -lp program name uppercased when given)
  ``set_sockaddr_env(lr, addr, proto)``  SOCAT_SOCKADDR/…PORT, SOCAT_PEER…
  ``SocketEndpoint(sock, name, datagram=False, peer=None, local=None)``
      ``sendto`` (SockAddr) makes writes sendto(); ``recvfrom=True`` makes
      reads recvfrom() and records ``last_peer``; ``checker`` drops packets
      whose sender a PeerCheck refuses; close() is socat's shutdown(fd, 2)
  ``finish_socket(ep, opts)``  base.finish plus process options
"""
from __future__ import annotations

import errno
import os
import select
import _signal as signal  # the C module: no enum conversions (a fork child calls it)
import socket
import struct
import time

from ..errors import RetryLater, SocatError  # noqa: F401 (RetryLater: for callers)
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import finish, listening

AF_UNSPEC = socket.AF_UNSPEC
AF_UNIX = socket.AF_UNIX
AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
IPPORT_RESERVED = 1024
XIO_IPPORT_LOWER = 640

# ---------------------------------------------------------------------------
# socket addresses and socat's texts for them
# ---------------------------------------------------------------------------


def _hexdigit(n: int) -> str:
    # socat's sanitize_char writes ('A'-1)+(n-10) for n >= 10 ('@' for 10)
    return chr(ord("0") + n) if n < 10 else chr(ord("A") - 1 + n - 10)


def sanitize(data: bytes) -> str:
    """socat's sanitize_string(): printable as is, C escapes, else \\xHH."""
    out = []
    esc = {0: "0", 7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r",
           0x27: "'", 0x22: '"', 0x5C: "\\"}
    for c in data:
        if 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif c in esc:
            out.append("\\" + esc[c])
        else:
            out.append("\\x" + _hexdigit((c >> 4) & 15) + _hexdigit(c & 15))
    return "".join(out)


def inet6_text(packed: bytes) -> str:
    """socat's inet6addr_info(): ``[%04x:%04x:…]`` (all eight groups)."""
    return "[" + ":".join("%04x" % g for g in struct.unpack("!8H", packed)) + "]"


class SockAddr:
    """A socket address with socat's presentation (sockaddr_info)."""

    __slots__ = ("family", "addr", "raw")

    def __init__(self, family: int, addr=None, raw: bytes | None = None) -> None:
        self.family = family
        self.addr = addr
        self.raw = raw

    def __repr__(self) -> str:
        return f"SockAddr({self.family}, {self.addr!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SockAddr) and (self.family, self.addr, self.raw) == \
            (other.family, other.addr, other.raw)

    def __hash__(self) -> int:
        return hash((self.family, str(self.addr), self.raw))

    @property
    def host(self) -> str | None:
        if self.family in (AF_INET, AF_INET6) and self.addr:
            return self.addr[0]
        return None

    @property
    def port(self) -> int | None:
        if self.family in (AF_INET, AF_INET6) and self.addr:
            return self.addr[1]
        return None

    def with_port(self, port: int) -> "SockAddr":
        a = list(self.addr)
        a[1] = port
        return SockAddr(self.family, tuple(a), self.raw)

    def packed_host(self) -> bytes:
        return socket.inet_pton(self.family, self.addr[0].split("%")[0])

    def salen(self) -> int:
        """The socklen_t socat prints with this address."""
        if self.raw is not None:
            return 2 + len(self.raw)
        if self.family == AF_INET:
            return 16
        if self.family == AF_INET6:
            return 28
        if self.family == AF_UNIX:
            a = self.addr
            if isinstance(a, str):
                a = os.fsencode(a)
            return 2 + len(a or b"")
        if self.family == 40 and self.raw is None:      # sizeof(struct sockaddr_vm)
            return 16
        return 2 + len(self.raw or b"")

    def info(self) -> str:
        """socat's sockaddr_info() text."""
        f = self.family
        if f == AF_INET:
            return f"AF=2 {self.addr[0]}:{self.addr[1]}"
        if f == AF_INET6:
            return f"AF=10 {inet6_text(self.packed_host())}:{self.addr[1]}"
        if f in (AF_UNIX, 0):
            return f'AF={f} "{unix_text(self.addr)}"'
        if f == 40 and isinstance(self.addr, tuple):      # AF_VSOCK
            return f"AF=40 cid:{self.addr[0]} port:{self.addr[1]}"
        raw = (self.raw or b"") + bytes(14)
        return f"AF={f} AF={f} 0x" + raw[:14].hex()

    def env_host(self) -> str:
        if self.family == AF_INET:
            return self.addr[0]
        if self.family == AF_INET6:
            return inet6_text(self.packed_host())
        if self.family == AF_UNIX:
            return unix_text(self.addr)
        return ""


def unix_text(addr) -> str:
    """socat's sockaddr_unix_info(): the path, abstract names sanitized."""
    if addr is None or addr == "" or addr == b"":
        return "<anon>"
    if isinstance(addr, str):
        addr = os.fsencode(addr)
    if addr[:1] == b"\0":
        return sanitize(addr)
    return sanitize(addr.split(b"\0", 1)[0][:104])     # socat's UNIX_PATH_MAX


def sockaddr_of(sock: socket.socket, peer: bool = False) -> SockAddr:
    """getpeername/getsockname as a SockAddr (raises OSError)."""
    a = sock.getpeername() if peer else sock.getsockname()
    fam = sock.family
    if fam == AF_UNIX and isinstance(a, str):
        return SockAddr(AF_UNIX, a)
    if fam in (AF_INET, AF_INET6, AF_UNIX):
        return SockAddr(fam, a)
    return SockAddr(fam, a)


# ---------------------------------------------------------------------------
# name resolution: socat's xiogetaddrinfo()
# ---------------------------------------------------------------------------


def preferred_ip(ctx=None) -> str:
    """'4', '6' or '0' (take the first result), as socat's xioparms.preferred_ip."""
    from .base import preferred_ip as pref
    return pref(ctx)


def default_ip(ctx=None) -> str:
    from .base import default_ip as dflt
    return dflt(ctx)


def default_listen_pf(ctx, pf: int, zero: int = AF_UNSPEC) -> int:
    """PF_UNSPEC of a listener to its IP version; with -0 ``zero`` (a passive
    resolution without a host then takes IPv6, which accepts IPv4 too)."""
    if pf == AF_UNSPEC:
        v = default_ip(ctx)
        return AF_INET6 if v == "6" else zero if v == "0" else AF_INET
    return pf


def _strtoul(text: str):
    from ..options.values import strtoul
    return strtoul(text, 0)


# the res-* settings (pysocat.resolver.Settings) of the address being opened, or None
RES = [None]


def _getaddrinfo(host, service, family, socktype, proto, flags):
    """getaddrinfo(), or the address's own resolver while it has res-* options."""
    if RES[0] is None:
        return socket.getaddrinfo(host, service, family, socktype, proto, flags)
    from ..resolver import getaddrinfo
    return getaddrinfo(host, service, family, socktype, proto, flags)


def resolve(node, service, family: int, socktype: int = 0, proto: int = 0,
            prefer: str = "4", passive: bool = False) -> SockAddr:
    """socat's xiogetaddrinfo(): host and port to a socket address.

    1.7.4.4: numeric ports never reach the resolver (strtoul, base 0,
    trailing data only warned about, truncated to 16 bits); ``[v6]`` hosts
    are numeric. 1.8.1.3 (``resolver_18``): xioresolve() over
    ``getaddrinfo_sorted``; ``passive``: a local address (AI_PASSIVE).
    """
    from ..versions import ACTIVE
    if ACTIVE.resolver_18 and not (node is None and service is None):
        return xioresolve(node, service, family, socktype, proto, prefer, passive)
    if RES[0] is not None:
        from ..resolver import note_resolution
        note_resolution()
    if service is not None and service == "":
        raise SocatError("empty port/service")
    port = None
    if service and service[0].isdigit():
        val, extra = _strtoul(service)
        if extra:
            LOG.warn(f'xiogetaddrinfo(, "{service}", ...): extra trailing data "{extra}"')
        port = (val or 0) & 0xFFFF
        service = None
    flags = socket.AI_PASSIVE
    if node and len(node) >= 1 and node[0] == "[" and node[-1] == "]":
        node = node[1:-1]
        flags |= socket.AI_NUMERICHOST
        if family == AF_UNSPEC:
            family = AF_INET6
    if node is None and service is None:
        if family == AF_UNSPEC and socket.has_ipv6:
            family = AF_INET6       # passive, no version (-0): IPv6 first, as socat
        if family == AF_INET6:
            sa = SockAddr(AF_INET6, ("::", 0, 0, 0))
        elif family == AF_INET:
            sa = SockAddr(AF_INET, ("0.0.0.0", 0))
        else:
            sa = SockAddr(family, None)
    else:
        htype, hproto = socktype, proto
        while True:
            try:
                res = _getaddrinfo(node, service, family, htype, hproto, flags)
                break
            except socket.gaierror as e:
                code = e.errno
                msg = e.strerror or str(e)
                if code == socket.EAI_SOCKTYPE and htype != 0:
                    htype = 0
                    continue
                if code == socket.EAI_SERVICE and proto != 0:
                    if hproto == 0:
                        raise SocatError(
                            f'getaddrinfo"{node if node is not None else "NULL"}", '
                            f'"{service if service is not None else "NULL"}", '
                            f'{{{flags},{family},{htype},{hproto}}}, {{}}): {msg}') from None
                    hproto = 0
                    continue
                if code == getattr(socket, "EAI_SYSTEM", -11) and e.errno is not None:
                    msg = os.strerror(e.errno) if e.errno > 0 else msg
                raise SocatError(
                    f'getaddrinfo("{node if node is not None else "NULL"}", '
                    f'"{service if service is not None else "NULL"}", '
                    f'{{{flags},{family},{htype},{hproto}}}, {{}}): {msg}') from None
            except UnicodeError:
                raise SocatError(
                    f'getaddrinfo("{node}", "{service if service is not None else "NULL"}", '
                    f'{{{flags},{family},{htype},{hproto}}}, {{}}): '
                    f'Name or service not known') from None
        record = res[0]
        if family == AF_UNSPEC and prefer == "0":
            family = record[0]
        if family == AF_UNSPEC:
            trypf = AF_INET6 if prefer == "6" else AF_INET
            for r in res:
                if r[0] == trypf:
                    record = r
                    break
            family = record[0]
        if record[0] not in (AF_INET, AF_INET6):
            raise SocatError(f"address resolved to unknown protocol family {int(record[0])}")
        sa = SockAddr(int(record[0]), tuple(record[4]))
        family = sa.family
    if port is not None and family in (AF_INET, AF_INET6) and sa.addr is not None:
        sa = sa.with_port(port)
    return sa


class GaiFailure(Exception):
    """getaddrinfo() failed; the W line is already logged (1.8's _xiogetaddrinfo)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _ip_families(prefer: str):
    return {"0": None, "6": (AF_INET6, AF_INET)}.get(prefer, (AF_INET, AF_INET6))


# the ai-* options (1.8) of the address being opened: (flags to set, flags to clear)
AI_MASKS = [0, 0]
AI_OPTIONS = {"ai-addrconfig": socket.AI_ADDRCONFIG, "ai-all": socket.AI_ALL,
              "ai-v4mapped": socket.AI_V4MAPPED, "ai-passive": socket.AI_PASSIVE}


def with_ai_flags(opts, opener):
    """Open with the address's ai-addrconfig/ai-all/ai-v4mapped/ai-passive in
    force for every getaddrinfo() of it (socat's para.socket.ip.ai_flags)."""
    on = off = 0
    for it in opts.items:
        flag = AI_OPTIONS.get(it.row.name)
        if flag is not None:
            it.used = True
            if it.value:
                on, off = on | flag, off & ~flag
            else:
                on, off = on & ~flag, off | flag
    saved = AI_MASKS[:]
    AI_MASKS[:] = [on, off]
    try:
        return opener()
    finally:
        AI_MASKS[:] = saved


def _passive(passive: bool) -> bool:
    """socat's ai_flags2: a local address is passive unless ai-passive=0;
    ai-passive makes any address passive."""
    on, off = AI_MASKS
    return bool(on & socket.AI_PASSIVE) or (passive and not off & socket.AI_PASSIVE)


def getaddrinfo_sorted(node, service, family: int, socktype: int = 0, proto: int = 0,
                       passive: bool = False, prefer: str = "4") -> list:
    """socat 1.8's xiogetaddrinfo(): every address, the preferred IP version first.

    One getaddrinfo() for host and port; hints flags AI_PASSIVE (``passive``),
    AI_NUMERICHOST for ``[v6]`` (which also means IPv6), AI_ADDRCONFIG when no
    family is given. A failure logs ``W getaddrinfo(...)`` and raises
    GaiFailure, except a service unknown even without a protocol: an E
    (SocatError). Records of other families than IPv4/IPv6 are dropped
    unless ``prefer`` is "0" (take them in the resolver's order).
    """
    if service is not None and service == "":
        raise SocatError("_xiogetaddrinfo(): empty port and service")
    flags = socket.AI_PASSIVE if passive else 0
    if node and node[0] == "[" and node[-1] == "]":
        node = node[1:-1]
        flags |= socket.AI_NUMERICHOST
        if family == AF_UNSPEC:
            family = AF_INET6
    if family == AF_UNSPEC:
        flags |= socket.AI_ADDRCONFIG
    flags = (flags | AI_MASKS[0]) & ~AI_MASKS[1]       # the ai-* options
    htype, hproto = socktype, proto
    host = None if node is None else os.fsencode(node)    # no IDNA: the C library decides
    while True:
        try:
            res = _getaddrinfo(host, service, family, htype, hproto, flags)
            break
        except socket.gaierror as e:
            code = e.errno
            msg = e.strerror or str(e)
            text = (f'getaddrinfo("{node if node is not None else "NULL"}", '
                    f'"{service if service is not None else "NULL"}", '
                    f'{{0x{flags:02x},{family},{htype},{hproto}}}, {{}}): {msg}')
            if code == socket.EAI_SOCKTYPE and htype != 0:
                htype = 0
                continue
            if code == socket.EAI_SERVICE and proto != 0:
                if hproto == 0:
                    raise SocatError(text) from None
                hproto = 0
                continue
            LOG.warn(text)
            raise GaiFailure(code, msg) from None
        except UnicodeError:
            LOG.warn(f'getaddrinfo("{node}", "{service}", {{0x{flags:02x},{family},'
                     f'{htype},{hproto}}}, {{}}): Name or service not known')
            raise GaiFailure(socket.EAI_NONAME, "Name or service not known") from None
    out = [SockAddr(int(r[0]), tuple(r[4])) for r in res]
    order = _ip_families(prefer)
    if order is None:
        return out
    return [sa for fam in order for sa in out if sa.family == fam]


def _gai_error_text(f: GaiFailure) -> str:
    if f.code == getattr(socket, "EAI_SYSTEM", -11):
        return os.strerror(getattr(f, "errno", 0) or errno.EIO)
    return f.text


def xioresolve(node, service, family: int, socktype: int = 0, proto: int = 0,
               prefer: str = "4", passive: bool = False) -> SockAddr:
    """socat 1.8's xioresolve(): one address of ``getaddrinfo_sorted``.

    A local (``passive``) address of no given family is the first IPv6 one
    (it may accept IPv4 too); otherwise the first of the preferred version.
    """
    passive = _passive(passive)
    try:
        res = getaddrinfo_sorted(node, service, family, socktype, proto, passive, prefer)
    except GaiFailure as f:
        text = f'xioresolve(node="{node if node is not None else "NULL"}", pf={family}, ...): '
        if f.code == socket.EAI_AGAIN:
            LOG.warn(text + f.text)
            raise RetryLater(text + f.text) from None
        raise SocatError(text + _gai_error_text(f)) from None
    if not res:
        raise SocatError(f'xioresolve(node="{node if node is not None else "NULL"}", '
                         f'pf={family}, ...): No address associated with hostname')
    if len(res) > 1:
        svc = f'"{service}"' if service is not None else "NULL"
        LOG.info(f'xioresolve(node="{node if node is not None else "NULL"}", '
                 f'service={svc}, ...): More than one address found')
    sa = res[0]
    if passive and family == AF_UNSPEC:
        sa = next((r for r in res if r.family == AF_INET6), res[0])
    return sa


_PF_NAMES = {"inet": AF_INET, "inet4": AF_INET, "ip4": AF_INET, "ipv4": AF_INET,
             "2": AF_INET, "inet6": AF_INET6, "ip6": AF_INET6, "ipv6": AF_INET6,
             "10": AF_INET6}


def socket_pf(opts, pf: int) -> int:
    """socat's retropt_socket_pf(): the ``pf`` option overrides ``pf``."""
    name = opts.get("protocol-family")
    if name is None:
        return pf
    if name[:1].isdigit():
        val, _ = _strtoul(name)
        return int(val or 0) & 0xFFFFFFFF
    got = _PF_NAMES.get(name.lower())
    if got is None:
        raise SocatError(f'unknown protocol family "{name}"')
    return got


def split_hostport(text: str):
    """socat's nestlex with ends ":" and nests "[", "]": (host, rest)."""
    depth = 0
    for i, c in enumerate(text):
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        elif c == ":" and depth == 0:
            return text[:i], text[i:]
    return text, ""


def bind_address(opts, family: int, socktype: int, proto: int,
                 port_allowed: bool = True, prefer: str = "4"):
    """socat's retropt_bind() for IP families: ``bind`` → SockAddr or None."""
    text = opts.get("bind")
    if text is None:
        return None
    host, rest = split_hostport(text)
    portp = None
    if rest.startswith(":"):
        if not port_allowed:
            raise SocatError("port specification not allowed in this bind option")
        portp = rest[1:]
    return resolve(host if host != "" else None, portp, family, socktype, proto, prefer,
                   passive=True)


# ---------------------------------------------------------------------------
# socket creation, phases, bind
# ---------------------------------------------------------------------------


def make_socket(opts, family: int, socktype: int, proto: int) -> socket.socket:
    """socat's xiosocket(): so-type and so-protocol override the triple."""
    st = opts.get("so-type")
    if st is not None:
        socktype = st
    pr = opts.get("so-protocol")
    if pr is not None:
        proto = pr
    try:
        s = socket.socket(family, socktype, proto)
    except OSError as e:
        err = SocatError(f"socket({family}, {socktype}, {proto}): {e.strerror}")
        err.errno = e.errno      # the caller's "E KEYWORD:host:port: <error>" (1.8)
        raise err from None
    LOG.info(f"socket({family}, {socktype}, {proto}) -> {s.fileno()}")
    return s


def apply_phase(opts, sock, *phases) -> None:
    """Apply the generically applied rows (setsockopt …) of ``phases``."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    for ph in phases:
        opts.apply(ph, fd)


SOCKADDR_UNION_LEN = 112   # sizeof(union sockaddr_union) in socat on Linux


def bind_socket(sock: socket.socket, us, opts, family: int, lowport: bool = False) -> None:
    """socat's xiobind(): PREBIND, BIND, bind() or the lowport probe, PASTBIND."""
    apply_phase(opts, sock, "PREBIND", "BIND")
    if lowport and family in (AF_INET, AF_INET6):
        base = us if us is not None else (
            SockAddr(AF_INET, ("0.0.0.0", 0)) if family == AF_INET
            else SockAddr(AF_INET6, ("::", 0, 0, 0)))
        import random
        span = IPPORT_RESERVED - XIO_IPPORT_LOWER
        i = n = XIO_IPPORT_LOWER + random.randrange(span)
        while True:
            cand = base.with_port(i)
            # socat binds the whole sockaddr union here (112 bytes on Linux)
            LOG.debug(f"bind({sock.fileno()}, {cand.info()}, {SOCKADDR_UNION_LEN})")
            try:
                sock.bind(cand.addr)
                LOG.debug("bind() -> 0")
                break
            except OSError as e:
                LOG.debug("bind() -> -1")
                text = (f"bind({sock.fileno()}, {{{cand.info()}}}, {SOCKADDR_UNION_LEN}): "
                        f"{e.strerror}")
                if e.errno != errno.EADDRINUSE:
                    raise SocatError(text) from None
                LOG.info(text)
            i -= 1
            if i < XIO_IPPORT_LOWER:
                i = IPPORT_RESERVED - 1
            if i == n:
                raise SocatError("no low port available")
    elif us is not None:
        LOG.debug(f"bind({sock.fileno()}, {us.info()}, {us.salen()})")
        try:
            _bind(sock, us)
            LOG.debug("bind() -> 0")
        except OSError as e:
            LOG.debug("bind() -> -1")
            raise SocatError(f"bind({sock.fileno()}, {{{us.info()}}}, {us.salen()}): "
                             f"{e.strerror}") from None
    apply_phase(opts, sock, "PASTBIND")


def reuseaddr_default(opts, sock, proto: int) -> None:
    """socat 1.8's xiosock_reuseaddr() for listeners: TCP sets SO_REUSEADDR
    unless the reuseaddr option is given (its value, or none for "reuseaddr=",
    is then applied with the PREBIND options)."""
    from ..versions import ACTIVE
    if not ACTIVE.listen_reuseaddr_default or proto != socket.IPPROTO_TCP \
            or opts.has("so-reuseaddr"):
        return
    LOG.info("Setting SO_REUSADDR on TCP listen socket implicitly")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def _bind(sock, sa: SockAddr) -> None:
    if sa.raw is not None:
        _raw_call("bind", sock.fileno(), sa)
    else:
        sock.bind(sa.addr)


def raw_sendto(fd: int, data, sa: SockAddr) -> int:
    """sendto() with a raw sockaddr (generic socket addresses)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    buf = struct.pack("=H", sa.family) + (sa.raw or b"")
    cbuf = ctypes.create_string_buffer(buf, len(buf))
    data = bytes(data)
    rc = libc.sendto(fd, data, len(data), 0, cbuf, len(buf))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def sockaddr_from_raw(family: int, raw: bytes) -> SockAddr:
    """A SockAddr for socat's generic (dalan) address data: ``raw`` is used
    for bind/connect/sendto as given; ``addr`` only for the log text."""
    pad = raw + bytes(max(0, 26 - len(raw)))
    if family == AF_INET:
        addr = (socket.inet_ntop(AF_INET, pad[2:6]), struct.unpack("!H", pad[:2])[0])
    elif family == AF_INET6:
        addr = (socket.inet_ntop(AF_INET6, pad[6:22]), struct.unpack("!H", pad[:2])[0],
                struct.unpack("!I", pad[2:6])[0], 0)
    elif family == AF_UNIX:
        addr = raw.split(b"\0", 1)[0] if raw[:1] != b"\0" else raw
    else:
        addr = None
    return SockAddr(family, addr, raw)


def _raw_call(name: str, fd: int, sa: SockAddr) -> None:
    """bind/connect with a raw sockaddr (generic socket addresses)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    buf = struct.pack("=H", sa.family) + (sa.raw or b"")
    cbuf = ctypes.create_string_buffer(buf, len(buf))
    rc = getattr(libc, name)(fd, cbuf, len(buf))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


# ---------------------------------------------------------------------------
# peer checks: range, sourceport, lowport (socat's xiocheckpeer)
# ---------------------------------------------------------------------------


class Range:
    """A network and mask, compared on the packed address bytes."""

    def __init__(self, family: int, net: bytes, mask: bytes) -> None:
        self.family = family
        self.mask = mask
        self.net = bytes(a & b for a, b in zip(net, mask))

    def contains(self, peer: SockAddr) -> bool:
        if peer.family != self.family or peer.family not in (AF_INET, AF_INET6):
            return False
        packed = peer.packed_host()
        if peer.family == AF_INET and packed == bytes(4):
            LOG.warn("invalid client address 0.0.0.0")
            return False
        return bytes(a & b for a, b in zip(packed, self.mask)) == self.net


def _bits_mask(bits: int, size: int) -> bytes:
    val = ((1 << bits) - 1) << (size * 8 - bits) if bits > 0 else 0
    return val.to_bytes(size, "big")


def _netmask_bits(text: str, rangename: str, maxbits: int) -> int:
    if text == "" or not text.isdigit():
        # strtoul(…, 10) must consume the whole rest
        val, rest = _strtoul_dec(text)
        if text == "" or rest:
            raise SocatError(f'not a valid netmask in "{rangename}"')
        bits = val
    else:
        bits = int(text)
    if bits > maxbits:
        raise SocatError(f'netmask "{rangename}" is too large')
    return bits


def _strtoul_dec(text: str):
    import re
    m = re.match(r"\s*[+-]?\d+", text)
    if not m:
        return 0, text
    return int(m.group().strip()) & 0xFFFFFFFF, text[m.end():]


def parse_range(text: str, family: int) -> Range:
    """socat's xioparserange(): ``addr/bits`` or ``addr:mask`` (v4), ``[v6]/bits``."""
    from ..versions import ACTIVE
    any_pf = AF_INET if ACTIVE.resolver_18 else AF_UNSPEC    # 1.8 resolves as IPv4
    if family == AF_INET:
        if "/" in text:
            addr, _, bits = text.partition("/")
            mask = _bits_mask(_netmask_bits(bits, text, 32), 4)
        elif ":" in text:
            addr, _, masktext = text.partition(":")
            m = resolve(masktext, None, any_pf, 0, 0)
            mask = m.packed_host() if m.family == AF_INET else bytes(4)
        else:
            raise SocatError(f'xioparsenetwork_ip4("{text}",,): missing netmask delimiter')
        a = resolve(addr, None, any_pf, 0, 0)
        net = a.packed_host() if a.family == AF_INET else bytes(4)
        return Range(AF_INET, net, mask)
    if family == AF_INET6:
        pos = text.find("/")
        if pos < 0:
            raise SocatError(f"xioparsenetwork_ip6(\"{text}\",,): missing mask bits delimiter '/'")
        if text[:1] != "[" or pos == 0 or text[pos - 1] != "]":
            raise SocatError(f'missing brackets for IPv6 range definition "{text}"')
        base = text[1:pos - 1]
        a = resolve(base, None, AF_INET6, 0, 0)
        mask = _bits_mask(_netmask_bits(text[pos + 1:], text, 128), 16)
        return Range(AF_INET6, a.packed_host(), mask)
    raise SocatError(f"range option not supported with address family {family}")


class PeerCheck:
    """range, sourceport and lowport on accepted peers (socat's xiocheckpeer)."""

    def __init__(self, rng: Range | None = None, sourceport: int | None = None,
                 lowport: bool = False) -> None:
        self.range = rng
        self.sourceport = sourceport
        self.lowport = lowport
        self.wrap = None    # a tcpwrap.TcpWrap: hosts.allow/hosts.deny
        self.extra = []     # callables(peer, local) -> bool

    @classmethod
    def from_opts(cls, opts, family: int, ports: bool = True) -> "PeerCheck":
        text = opts.get("range")
        rng = parse_range(text, family) if text is not None else None
        chk = cls(rng)
        chk.wrap = tcpwrap_of(opts)
        chk.sourceport = opts.get("sourceport") if ports else None
        chk.lowport = bool(opts.get("lowport")) if ports else False
        return chk

    def active(self) -> bool:
        return bool(self.range or self.sourceport is not None or self.lowport or self.extra
                    or self.wrap)

    def check(self, peer: SockAddr | None, local: SockAddr | None = None,
              sock: socket.socket | None = None) -> bool:
        """socat's xiocheckpeer(); ``sock`` gives the local address when
        ``local`` is not known (tcpwrap needs it)."""
        if self.range is not None:
            if peer is None:
                return False
            if not self.range.contains(peer):
                LOG.warn(f"refusing connection from {peer.info()} due to range option")
                return False
            LOG.info(f"permitting connection from {peer.info()} due to range option")
        if self.sourceport is not None:
            if peer is None:
                return False
            if peer.family in (AF_INET, AF_INET6) and peer.port != self.sourceport:
                LOG.warn(f"refusing connection from {peer.info()} due to wrong sourceport")
                return False
            LOG.info(f"permitting connection from {peer.info()} due to sourceport option")
        elif self.lowport:
            if peer is None:
                return False
            if peer.family in (AF_INET, AF_INET6) and peer.port >= IPPORT_RESERVED:
                LOG.warn(f"refusing connection from {peer.info()} due to lowport option")
                return False
            LOG.info(f"permitting connection from {peer.info()} due to lowport option")
        if self.wrap is not None:
            if sock is not None:
                self.wrap.fd = sock.fileno()
            if local is None and sock is not None:
                try:
                    local = sockaddr_of(sock)
                except OSError:
                    pass
            if not self.wrap.check(peer, local):
                return False
        for func in self.extra:
            if not func(peer, local):
                return False
        return True


_WRAP_OPTIONS = ("tcpwrappers", "tcpwrap-etc", "tcpwrap-hosts-allow-table",
                 "tcpwrap-hosts-deny-table")


def tcpwrap_of(opts):
    """The tcpwrap options of an address as a tcpwrap.TcpWrap, or None."""
    if not any(opts.has(n) for n in _WRAP_OPTIONS):
        return None
    from ..tcpwrap import TcpWrap
    return TcpWrap.from_opts(opts)


# ---------------------------------------------------------------------------
# environment for programs started after accept
# ---------------------------------------------------------------------------


def env_name(var: str) -> str:
    """socat's xiosetenv() name: program name uppercased, '_', var."""
    prog = LOG.progname or "socat"
    if prog == "pysocat":
        prog = "socat"
    return prog.upper() + "_" + var


def set_env(var: str, value: str) -> None:
    os.environ[env_name(var)] = value


def set_sockaddr_env(lr: str, sa: SockAddr | None, proto: int) -> None:
    """SOCAT_<lr>ADDR and, for TCP/UDP/SCTP, SOCAT_<lr>PORT."""
    if sa is None:
        return
    if sa.family in (AF_INET, AF_INET6):
        set_env(lr + "ADDR", sa.env_host())
        if proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP, getattr(socket, "IPPROTO_SCTP", 132)):
            set_env(lr + "PORT", str(sa.port))
    elif sa.family == AF_UNIX:
        set_env(lr + "ADDR", sa.env_host())


# ---------------------------------------------------------------------------
# forking servers: children, SIGCHLD, max-children
# ---------------------------------------------------------------------------


# A blocking wait that no signal wake-up pipe ends can miss a signal: one that
# comes between the interpreter's last look at its signal flags and the
# select()/read() itself interrupts nothing, and the Python handler (SIGTERM:
# socat's exit) waits for the next event, perhaps for ever. Such waits end
# every SIGNAL_LOOK seconds so that the handler runs.
SIGNAL_LOOK = 0.5


class ForkManager:
    """socat's fork bookkeeping for listeners (and connect with fork).

    A no-op SIGCHLD handler with a wakeup pipe makes ``wait_readable`` return
    when a child ends; ``reap`` logs socat's childdied() lines. ``fork`` logs
    "forked off child process N" / "just born: child process N" and in the
    child undoes the parent's signal setup.
    """

    def __init__(self, max_children: int = 0, shutup: int = 0) -> None:
        self.max_children = max_children
        self.shutup = shutup        # children-shutup: the children log lower
        self.polling = False
        self.children: set[int] = set()
        self._wake_r = self._wake_w = -1
        self._old = None

    def install(self) -> None:
        if self._wake_r >= 0:
            return
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        try:
            self._old = signal.signal(signal.SIGCHLD, lambda s, f: None)
            signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except ValueError:
            # not the main thread (library API): poll for ended children
            os.close(r)
            os.close(w)
            self.polling = True
            return
        self._wake_r, self._wake_w = r, w

    def uninstall(self) -> None:
        if self._wake_r < 0:
            return
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def _drain(self) -> bool:
        """Empty the wakeup pipe; True when SIGCHLD was among the signals."""
        got = b""
        try:
            while True:
                chunk = os.read(self._wake_r, 512)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        return signal.SIGCHLD in got

    def reap(self, from_signal: bool = True) -> None:
        """Collect ended children, logging as socat's childdied()."""
        if from_signal:
            LOG.notice("childdied(): handling signal 17")
            LOG.info("childdied(signum=17)")
        wassig = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                if from_signal:
                    from ..versions import ACTIVE
                    (LOG.info if wassig else LOG.notice if ACTIVE.childdied_no_more
                     else LOG.warn)("waitpid(-1, {}, WNOHANG): No child processes")
                break
            if pid == 0:
                if from_signal:
                    from ..versions import ACTIVE
                    more = " (more)" if ACTIVE.childdied_no_more else ""
                    (LOG.info if wassig else LOG.warn)(
                        f"waitpid(-1, {{}}, WNOHANG): no{more} child has exited")
                break
            wassig = True
            self.children.discard(pid)
            if from_signal:
                LOG.info(f"childdied(17): cannot identify child {pid}")
            if os.WIFEXITED(status):
                LOG.info(f"waitpid(): child {pid} exited with status {os.WEXITSTATUS(status)}")
            elif os.WIFSIGNALED(status):
                LOG.info(f"waitpid(): child {pid} exited on signal {os.WTERMSIG(status)}")
        if from_signal:
            LOG.info("childdied() finished")

    def wait_readable(self, fds, timeout=None, wake: bool = False) -> list:
        """select() on ``fds``; reaps children whenever SIGCHLD arrives.

        ``wake``: return [] once children were reaped (socat's poll() ending
        with EINTR), so the caller can log its waiting line again."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rlist = list(fds) + ([self._wake_r] if self._wake_r >= 0 else [])
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.polling:
                if self.children:
                    self.reap(from_signal=False)
                left = 0.2 if left is None else min(left, 0.2)
            elif self._wake_r < 0:
                left = SIGNAL_LOOK if left is None else min(left, SIGNAL_LOOK)
            try:
                got, _, _ = select.select(rlist, [], [], left)
            except InterruptedError:
                got = []
            if self._wake_r in got:
                reaped = self._drain()
                if reaped:
                    self.reap()
                got = [f for f in got if f != self._wake_r]
                if not fds or (wake and reaped and not got):
                    return []
            if got:
                return got
            if deadline is not None and time.monotonic() >= deadline:
                return []
            if self.polling and not fds:
                return []

    def nap(self, seconds: float) -> None:
        """socat's Nanosleep() in a fork loop: ``seconds``, or less when a
        child ends (SIGCHLD interrupts nanosleep; the children are reaped)."""
        if seconds <= 0:
            return
        if self._wake_r < 0:
            time.sleep(seconds)
            if self.children:
                self.reap(from_signal=False)
            return
        self.wait_readable([], seconds, wake=True)

    def wait_slot(self) -> None:
        """max-children: wait until fewer children than the limit run."""
        while self.max_children and len(self.children) >= self.max_children:
            LOG.notice("maxchildren are active, waiting")
            self.wait_readable([], None if self._wake_r >= 0 else 0.2)
            if self._wake_r < 0:
                self.reap(from_signal=False)

    def fork(self, close_in_child=()) -> int:
        """fork(); 0 in the child (signal setup undone), the pid in the parent."""
        def in_child():
            self.uninstall()
            self.children.clear()
            for obj in close_in_child:
                try:
                    obj.close() if hasattr(obj, "close") else os.close(obj)
                except OSError:
                    pass
        pid = fork_server_child(in_child, self.shutup)
        if pid:
            self.children.add(pid)
        return pid


_FORKED_OFF = [False]


def first_child() -> bool:
    """socat's first_child: no server or client child forked off yet by this
    process (or its parents); "general warnings" are printed only then."""
    return not _FORKED_OFF[0]


def children_shutup(opts) -> int:
    """children-shutup[=N] (1.8): how many levels a forked child's messages drop."""
    return int(opts.get("children-shutup", 0) or 0)


def fork_server_child(in_child, shutup: int = 0) -> int:
    """socat's xio_fork() for servers: stderr flushed, fork, ``in_child()`` run in
    the child before its "just born" line and SOCAT_PID/SOCAT_PPID; the parent
    logs "forked off child process". Returns 0 in the child, the pid in the parent.
    ``shutup`` (children-shutup) lowers the child's messages from then on."""
    import sys
    try:
        sys.stderr.flush()
    except Exception:
        pass
    try:
        pid = os.fork()
    except OSError as e:
        raise SocatError(f"fork(): {e.strerror}") from None
    if pid == 0:
        in_child()
        me = os.getpid()
        LOG.info(f"just born: child process {me}")
        set_env("PID", str(me))
        set_env("PPID", str(os.getppid()))
        LOG.shutup = shutup
        return 0
    _FORKED_OFF[0] = True
    LOG.notice(f"forked off child process {pid}")
    return pid


# ---------------------------------------------------------------------------
# the client side: connect, retry, fork
# ---------------------------------------------------------------------------


class RetryPolicy:
    """retry=N, forever, interval=S (socat's xfd->retry/forever/intervall)."""

    def __init__(self, retry: int = 0, forever: bool = False, interval: float = 1.0) -> None:
        self.retry = retry
        self.forever = forever
        self.interval = interval

    @classmethod
    def from_opts(cls, opts) -> "RetryPolicy":
        iv = opts.get("interval")
        return cls(int(opts.get("retry", 0) or 0), bool(opts.get("forever", 0)),
                   1.0 if iv is None else float(iv))

    def more(self) -> bool:
        return bool(self.forever or self.retry)

    def consume(self) -> None:
        if self.retry:
            self.retry -= 1

    def sleep(self) -> None:
        if self.interval > 0:
            time.sleep(self.interval)


def _packet_info(sock: socket.socket) -> None:
    """socat's xiogetpacketinfo() after a failed connect (MSG_ERRQUEUE)."""
    flags = getattr(socket, "MSG_ERRQUEUE", 0)
    if not flags:
        return
    try:
        sock.recvmsg(1, 1024, flags | socket.MSG_TRUNC)
    except OSError as e:
        from ..versions import ACTIVE
        (LOG.info if ACTIVE.quieter_messages else LOG.warn)(f"recvmsg(): {e.strerror}")


def _connect(sock, them: SockAddr) -> None:
    if them.raw is not None:
        _raw_call("connect", sock.fileno(), them)
    else:
        sock.connect(them.addr)


def connect_socket(opts, family: int, socktype: int, proto: int, them: SockAddr,
                   us: SockAddr | None = None, lowport: bool = False,
                   before_bind=None, keep_failed: bool = False) -> socket.socket:
    """socat's _xioopen_connect(): one socket/bind/connect attempt.

    ``keep_failed``: a SocatError carries the socket, still open, as
    ``failed_sock`` (socat keeps the fd of a failed connect until it retries
    or exits).

    Raises SocatError with socat's text; the caller decides (retry) whether
    it is logged as an error. Logs "successfully connected from local
    address …". Applies PASTSOCKET, FD, PREBIND…PASTBIND, CONNECT, CONNECTED.
    """
    sock = make_socket(opts, family, socktype, proto)
    try:
        apply_phase(opts, sock, "PASTSOCKET", "FD")
        if before_bind is not None:
            before_bind(sock)
        bind_socket(sock, us, opts, family, lowport)
        apply_phase(opts, sock, "CONNECT")
        tmo = opts.get("connect-timeout")
        fd = sock.fileno()
        if tmo:
            sock.setblocking(False)
        try:
            _connect(sock, them)
            err = 0
        except BlockingIOError:
            err = errno.EINPROGRESS
        except OSError as e:
            err = e.errno or errno.EIO
            estr = e.strerror
        if err == errno.EINPROGRESS and tmo:
            LOG.info(f"connect({fd}, {them.info()}, {them.salen()}): {os.strerror(err)}")
            p = select.poll()
            p.register(fd, select.POLLOUT | select.POLLERR)
            ev = p.poll(tmo * 1000.0)
            if not ev:
                raise SocatError(f"connecting to {them.info()}: {os.strerror(errno.ETIMEDOUT)}")
            soerr = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            LOG.debug(f"getsockopt({fd}, SOL_SOCKET, SO_ERROR, {{ {soerr} }}) -> 0")
            if soerr:
                raise SocatError(f"connect({fd}, {them.info()}, {them.salen()}): "
                                 f"{os.strerror(soerr)}")
            sock.setblocking(True)
            err = 0
        elif err == errno.EINPROGRESS:
            LOG.warn(f"connect({fd}, {them.info()}, {them.salen()}): {os.strerror(err)}")
            err = 0
        if err:
            if family == AF_UNIX:
                LOG.info(f"connect({fd}, {them.info()}, {them.salen()}): {estr}")
            else:
                _packet_info(sock)
            e2 = SocatError(f"connect({fd}, {them.info()}, {them.salen()}): {estr}")
            e2.errno = err
            raise e2
        if tmo:
            sock.setblocking(True)
        try:
            la = sockaddr_of(sock)
            LOG.notice(f"successfully connected from local address {la.info()}")
        except OSError:
            pass
        apply_phase(opts, sock, "CONNECTED")
        return sock
    except SocatError as e:
        if keep_failed:
            e.failed_sock = sock
        else:
            sock.close()
        raise
    except BaseException:
        sock.close()
        raise


def connect_loop(ctx, opts, family: int, socktype: int, proto: int, them: SockAddr,
                 us: SockAddr | None = None, lowport: bool = False,
                 before_bind=None) -> socket.socket:
    """Retry (retry/forever/interval) and fork around ``connect_socket``.

    With ``fork`` the parent reconnects after each child forever (socat's
    client fork); the returned socket belongs to the child then.
    """
    policy = RetryPolicy.from_opts(opts)
    dofork = bool(opts.get("fork"))
    if opts.has("max-children"):
        opts.get("max-children")
    mgr = ForkManager(shutup=children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    LOG.start_loop("connect")
    while True:
        try:
            sock = connect_socket(opts, family, socktype, proto, them, us, lowport,
                                  before_bind, keep_failed=True)
        except SocatError as e:
            failed = getattr(e, "failed_sock", None)
            if policy.more():
                LOG.info(e.text)
                if failed is not None:
                    LOG.info(f"close({failed.fileno()})")
                    failed.close()
                policy.consume()
                policy.sleep()
                continue
            if failed is not None:
                # socat's xioexit() shuts it down after "exit(1)"
                e.at_exit.append(lambda: shutdown_close(failed))
            raise
        if mgr is None:
            return sock
        pid = mgr.fork()
        if pid == 0:
            return sock
        sock.close()
        fork_pause(mgr, policy, 0)


# ---------------------------------------------------------------------------
# socat 1.8's client side: resolve every time, try every address, retry, fork
# (xio-ipapp.c: TCP, and the OPENSSL, PROXY and SOCKS4 clients on top of it)
# ---------------------------------------------------------------------------


def bind_list18(ctx, opts, pf, socktype, proto):
    """socat 1.8's retropt_bind_ip(): every address of ``bind`` (None: no bind)."""
    text = opts.get("bind")
    if text is None:
        return None
    host, rest = split_hostport(text)
    portp = rest[1:] if rest.startswith(":") else None
    try:
        return getaddrinfo_sorted(host if host != "" else None, portp, pf, socktype, proto,
                                  True, preferred_ip(ctx))
    except GaiFailure:
        raise SocatError(f'error resolving bind option "{text}" with af={pf}') from None


def prepare18(ctx, opts, host, port, pf, socktype, proto):
    """socat 1.8's _xioopen_ipapp_prepare(): the targets, bind addresses, bind port."""
    try:
        them = getaddrinfo_sorted(host, port, pf, socktype, proto, False, preferred_ip(ctx))
    except GaiFailure as f:
        text = (f'_xioopen_ipapp_prepare(node="{host}", service="{port}", pf={pf}, ...): ')
        if f.code == socket.EAI_AGAIN:
            LOG.warn(text + f.text)
            raise RetryLater(text + f.text) from None
        raise SocatError(text + _gai_error_text(f)) from None
    binds = bind_list18(ctx, opts, pf, socktype, proto)
    bindport = None
    sp = opts.get("sourceport")
    if sp is not None:
        if binds:
            binds[0] = binds[0].with_port(sp)
        else:
            bindport = sp
    return them, binds, bindport, bool(opts.get("lowport"))


def connect_any18(row, opts, host, them, binds, bindport, lowport, socktype, proto, level):
    """socat 1.8's _xioopen_ipapp_connect(): each target in turn, the last one's
    failure at ``level``, the others' one level lower: (socket, target), or
    (None, (errno, the last failure)) for ``give_up``."""
    from ..versions import ACTIVE
    err, last = 0, None
    for i, sa in enumerate(them):
        LOG.notice(f"opening connection to {sa.info()}")
        lvl = level if i == len(them) - 1 else level - 1
        us = None
        if binds is not None:
            us = next((b for b in binds if b.family == sa.family), None)
            if us is None:
                LOG.warn(f"{row.name.upper()}: No bind address with matching address "
                         f"family ({sa.family}) of {host} available")
                err = errno.ENOPROTOOPT
                continue
        elif bindport is not None:
            us = SockAddr(sa.family, ("0.0.0.0", bindport) if sa.family == AF_INET
                          else ("::", bindport, 0, 0))
        try:
            return connect_socket(opts, sa.family, socktype, proto, sa, us, lowport), sa
        except SocatError as e:
            if i < len(them) - 1 or ACTIVE.connect_failure_pair:
                LOG.msg(lvl, e.text)
            err, last = getattr(e, "errno", 0) or 0, e
    return None, (err, last)


def give_up(failed: str, why) -> SocatError:
    """The error once every address failed and no retry is left: 1.8's
    "KEYWORD:host:port: <error>" (``failed`` is the part before the colon),
    else the last attempt's own error."""
    from ..versions import ACTIVE
    err, last = why
    if not ACTIVE.connect_failure_pair and last is not None:
        return last
    return SocatError(f"{failed}: {os.strerror(err) if err else '(See above)'}")


def client_endpoint(sock: socket.socket, spec, them: SockAddr, opts) -> "SocketEndpoint":
    """The endpoint of a connected client socket, finished with its options."""
    local = None
    try:
        local = sockaddr_of(sock)
    except OSError:
        pass
    return finish_socket(SocketEndpoint(sock, spec.raw, peer=them, local=local), opts)


class TryAgain(Exception):
    """A client session (TLS, proxy handshake) failed after the connect: the
    session logged and closed what it had; ``client_loop18`` retries."""


def fork_pause(mgr: "ForkManager", policy: RetryPolicy, maxchildren: int) -> None:
    """The parent of a client fork: socat's nanosleep(interval), then one more
    per round while ``maxchildren`` children run. A child's end (SIGCHLD) cuts a
    sleep short, as it interrupts nanosleep(), so the next connection follows
    at once when a slot frees."""
    mgr.nap(policy.interval)
    while maxchildren and len(mgr.children) >= maxchildren:
        LOG.info(f"all {maxchildren} allowed children are active, waiting")
        mgr.nap(policy.interval)


def client_loop18(ctx, row, opts, host, port, pf: int, socktype: int, proto: int,
                  failed: str, start=None, notice: str | None = None, session=None):
    """socat 1.8's connect loop (xioopen_ipapp_connect and the loops copied from
    it in xio-openssl.c, xio-proxy.c, xio-socks4.c): per round resolve
    (prepare18), try every address (connect_any18), then ``session(sock, got,
    level, policy)`` (raises TryAgain to retry); retry/forever/interval, fork
    with max-children. ``start()`` runs once the SIGCHLD handler is set,
    ``notice`` is logged (N, with connect_notices) each round before the
    connects; ``failed`` is the E once no retry is left.

    Returns (socket, target, session's result) in the process that goes on:
    the child with fork."""
    from ..log import NOTICE, WARN
    from ..versions import ACTIVE
    policy = RetryPolicy.from_opts(opts)
    dofork = bool(opts.get("fork"))
    maxchildren = int(opts.get("max-children", 0) or 0)
    mgr = ForkManager(shutup=children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    if start is not None:
        start()
    while True:
        level = NOTICE if policy.more() else WARN
        try:
            them, binds, bindport, lowport = prepare18(ctx, opts, host, port, pf,
                                                       socktype, proto)
        except RetryLater:
            if not policy.more():
                raise
            policy.consume()
            policy.sleep()
            continue
        if notice is not None and ACTIVE.connect_notices:
            LOG.notice(notice)
        sock, got = connect_any18(row, opts, host, them, binds, bindport, lowport,
                                  socktype, proto, level)
        if sock is None:
            if policy.more():
                policy.consume()
                policy.sleep()
                continue
            raise give_up(failed, got)
        result = sock
        if session is not None:
            try:
                result = session(sock, got, level, policy)
            except TryAgain:
                policy.consume()
                policy.sleep()
                continue
        if mgr is None or mgr.fork() == 0:
            return sock, got, result
        getattr(result, "sock", result).close()
        fork_pause(mgr, policy, maxchildren)


# ---------------------------------------------------------------------------
# the server side: listen, accept, fork
# ---------------------------------------------------------------------------


def listen_accept(ctx, opts, family: int, socktype: int, proto: int, us: SockAddr,
                  range_family: int | None = None, after_bind=None, checker=None):
    """socat's xioopen_listen()/_xioopen_listen(): returns (sock, peer, local).

    Creates the socket (PASTSOCKET, PREBIND, BIND phases), binds, applies
    PASTBIND, then range/sourceport/lowport, backlog, listen(), and accepts.
    With ``fork`` every accepted connection gets a child process that
    returns from here; the parent loops forever (accept-timeout ends it with
    exit status 0). ``after_bind(sock, us)`` lets UNIX apply file options.
    """
    policy = RetryPolicy.from_opts(opts)
    while True:
        try:
            return _listen_accept(ctx, opts, family, socktype, proto, us,
                                  range_family, after_bind, checker, policy)
        except SocatError as e:
            if getattr(e, "retry", True) and policy.more():
                LOG.info(e.text)
                policy.consume()
                policy.sleep()
                continue
            raise


def _listen_accept(ctx, opts, family, socktype, proto, us, range_family,
                   after_bind, checker, policy):
    dofork = bool(opts.get("fork"))
    maxchildren = int(opts.get("max-children", 0) or 0)
    if not dofork and maxchildren:
        e = SocatError("option max-children not allowed without option fork")
        e.retry = False
        raise e
    mgr = ForkManager(maxchildren, children_shutup(opts)) if dofork else None
    lsock = make_socket(opts, family, socktype, proto)
    try:
        apply_phase(opts, lsock, "PASTSOCKET")
        reuseaddr_default(opts, lsock, proto)
        apply_phase(opts, lsock, "PREBIND", "BIND")
        try:
            _bind(lsock, us)
        except OSError as e:
            raise SocatError(f"bind({lsock.fileno()}, {{{us.info()}}}, {us.salen()}): "
                             f"{e.strerror}") from None
        if after_bind is not None:
            after_bind(lsock, us)
        try:
            us = sockaddr_of(lsock) if us.raw is None else us
        except OSError as e:
            LOG.warn(f"getsockname({lsock.fileno()}, {{}}): {e.strerror}")
        apply_phase(opts, lsock, "PASTBIND")
        if callable(checker) and not isinstance(checker, PeerCheck):
            try:
                checker = checker()      # parsed after bind(), as socat does
            except SocatError as e:
                e.retry = False
                raise
        if checker is None:
            try:
                checker = PeerCheck.from_opts(opts, family if range_family is None else range_family,
                                              ports=family in (AF_INET, AF_INET6))
            except SocatError as e:
                e.retry = False
                raise
        if checker.wrap is not None:
            checker.wrap.fd = lsock.fileno()    # libwrap's RQ_FILE: the listener
        apply_phase(opts, lsock, "PRELISTEN")
        backlog = opts.get("backlog")
        backlog = 5 if backlog is None else backlog
        apply_phase(opts, lsock, "LISTEN")
        try:
            lsock.listen(backlog)
        except OSError as e:
            raise SocatError(f"listen({lsock.fileno()}, {backlog}): {e.strerror}") from None
        listening(ctx, lsock)
        tmo = opts.get("accept-timeout")
        if mgr is not None:
            mgr.install()
            conn, peer, local = _fork_loop(ctx, lsock, mgr, us, family, checker, tmo)
        else:
            conn, peer, local = _accept_one(lsock, us, family, checker, tmo)
    except BaseException:
        try:
            lsock.close()
        except OSError:
            pass
        raise
    apply_phase(opts, conn, "FD", "PASTSOCKET", "CONNECTED")
    set_sockaddr_env("SOCK", local, proto)
    set_sockaddr_env("PEER", peer, proto)
    return conn, peer, local


def _accept_timed_out(lsock, mgr) -> None:
    """accept-timeout expired: socat closes the listener, waits for its children
    and exits with status 0."""
    LOG.warn(f"accept: {os.strerror(errno.ETIMEDOUT)}")
    lsock.close()
    LOG.notice("Waiting for child processes to terminate")
    if mgr is not None:
        mgr.uninstall()
    try:
        os.wait()
    except ChildProcessError:
        pass
    raise SystemExit(0)


def _accept_one(lsock, us, family, checker, tmo):
    """Without fork: accept until a peer passes the checks; (conn, peer, local)."""
    LOG.start_loop("accept")
    while True:
        LOG.notice(f"listening on {us.info()}")
        if tmo and not select.select([lsock], [], [], tmo)[0]:
            _accept_timed_out(lsock, None)
        try:
            conn, _ = lsock.accept()
        except (InterruptedError, BlockingIOError):
            continue
        except OSError as e:
            if e.errno == errno.ECONNABORTED:
                LOG.notice(f"accept({lsock.fileno()}, {{}}): {e.strerror}")
                continue
            raise SocatError(f"accept({lsock.fileno()}, {{}}, {{}}): {e.strerror}") from None
        peer = local = None
        try:
            peer = sockaddr_of(conn, peer=True)
        except OSError as e:
            _getpeername_failed(conn, e)
        try:
            local = sockaddr_of(conn)
        except OSError as e:
            LOG.warn(f"getsockname({conn.fileno()}, {{}}): {e.strerror}")
        LOG.info(f"accept({lsock.fileno()}, {{{family}, "
                 f"{peer.info() if peer else 'NULL'}}}, "
                 f"{peer.salen() if peer else 0}) -> {conn.fileno()}")
        LOG.notice(f"accepting connection from {peer.info() if peer else 'NULL'} "
                   f"on {local.info() if local else 'NULL'}")
        if peer is not None and local is not None and not checker.check(peer, local):
            _refuse(conn)
            continue
        if peer is not None:
            LOG.info(f"permitting connection from {peer.info()}")
        LOG.info(f"close({lsock.fileno()})")
        lsock.close()
        return conn, peer, local


def _getpeername_failed(conn, e) -> None:
    from ..versions import ACTIVE
    (LOG.notice if ACTIVE.quieter_messages else LOG.warn)(
        f"getpeername({conn.fileno()}, 0x{id(conn):x}, {{112}}): {e.strerror}")


def _refuse(conn) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError as e:
        LOG.info(f"shutdown({conn.fileno()}, 2): {e.strerror}")
    conn.close()


# The fork server's parent does as little as it can between two accept() calls:
# accept → fork → close, nothing else on the default log level. It accepts every
# connection the kernel has queued (until EAGAIN) before it forks for the first
# of them, and again after every fork: with socat's backlog of 5 the kernel
# queue overflows (and a SYN-cookie client is reset) whenever the parent spends
# longer than a few connects between two accepts, and a fork is such a while.
# The connections it holds are handled in order, each with socat's log lines in
# socat's order. What a child can do (getpeername/getsockname for the
# environment, options, the second address) it does itself. Children are
# reaped only when no connection is waiting (the SIGCHLD wakeup pipe is read
# by the idle select()), never between an accept and its fork.
_HOLD_MAX = 1024        # connections held at once (bounded by RLIMIT_NOFILE too)


def _hold_limit(mgr) -> int:
    if mgr.max_children:
        return 1        # socat accepts no further peer while the children are many
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        soft = 1024
    if soft < 0:                # RLIM_INFINITY
        return _HOLD_MAX
    return max(1, min(_HOLD_MAX, soft // 2 - 16))


_QUIET = 0.001          # a burst is over when no peer came for this long …
_GATHER_MAX = 0.05      # … but a fork is not put off longer than this


def _drain(lsock, held, limit) -> int:
    """accept() until EAGAIN (the listener is non-blocking) or ``limit`` held;
    returns how many. An error other than ECONNABORTED ends the draining while
    connections are held; with none held it is socat's accept error."""
    accept = lsock._accept
    n = 0
    while len(held) < limit:
        try:
            fd, addr = accept()
        except BlockingIOError:
            return n
        except InterruptedError:
            continue
        except OSError as e:
            if e.errno == errno.ECONNABORTED:
                LOG.notice(f"accept({lsock.fileno()}, {{}}): {e.strerror}")
                continue
            if held:
                return n
            raise SocatError(f"accept({lsock.fileno()}, {{}}, {{}}): {e.strerror}") from None
        held.append((fd, addr))
        n += 1
    return n


def _gather(lsock, held, limit, busy) -> int:
    """Drain; while peers keep coming (``busy``: the last drain found some, or
    this one found more than one), keep accepting until they pause for _QUIET:
    a fork is the parent's longest time away from accept()."""
    n = _drain(lsock, held, limit)
    if not n or not (busy or n > 1):
        return n
    fds = [lsock.fileno()]
    until = time.monotonic() + _GATHER_MAX
    while len(held) < limit and select.select(fds, [], [], _QUIET)[0]:
        if not _drain(lsock, held, limit) or time.monotonic() > until:
            break
    return n


def _fork_loop(ctx, lsock, mgr, us, family, checker, tmo):
    """The accept loop with fork; returns (conn, peer, local) in the child only."""
    from collections import deque
    from ..log import INFO, NOTICE
    cfg = getattr(ctx, "config", None)
    prepare = cfg.extra.get("fork_prepare") if cfg is not None else None
    if prepare is not None:
        prepare()           # the children's imports, once, before the first fork
    # -lm: syslog first (its socket must not take the number kept for children)
    LOG.start_loop("accept")
    lfd = lsock.fileno()
    alone = os.dup(lfd)     # the number accept() gives when no connection is held
    os.close(alone)
    sfam, stype, sproto = lsock.family, lsock.type, lsock.proto
    checks = checker.active()
    limit = _hold_limit(mgr)
    held = deque()
    busy = False
    lsock.setblocking(False)
    while True:
        notice = LOG.level <= NOTICE
        info = LOG.level <= INFO
        if notice:
            LOG.notice(f"listening on {us.info()}")
        busy = len(held) < limit and _gather(lsock, held, limit, busy) > 0
        while not held:
            if tmo:
                if not mgr.wait_readable([lfd], tmo):
                    _accept_timed_out(lsock, mgr)
            else:
                mgr.wait_readable([lfd])
            busy = _gather(lsock, held, limit, False) > 0
        fd, addr = held.popleft()
        conn = socket.socket(sfam, stype, sproto, fileno=fd)
        peer = local = None
        if addr is not None:
            peer = SockAddr(sfam, addr)
        else:
            try:
                peer = sockaddr_of(conn, peer=True)
            except OSError as e:
                _getpeername_failed(conn, e)
        if notice or checks:
            try:
                local = sockaddr_of(conn)
            except OSError as e:
                LOG.warn(f"getsockname({fd}, {{}}): {e.strerror}")
        if info:
            LOG.info(f"accept({lfd}, {{{family}, "
                     f"{peer.info() if peer else 'NULL'}}}, "
                     f"{peer.salen() if peer else 0}) -> {fd}")
        if notice:
            LOG.notice(f"accepting connection from {peer.info() if peer else 'NULL'} "
                       f"on {local.info() if local else 'NULL'}")
        if checks and peer is not None and local is not None and not checker.check(peer, local):
            _refuse(conn)
            continue
        if info and peer is not None:
            LOG.info(f"permitting connection from {peer.info()}")
        others = [h[0] for h in held]
        pid = mgr.fork(close_in_child=(lsock,))
        if pid == 0:
            LOG.info(f"just born: child process {os.getpid()}")
            if others or fd != alone:
                conn = _child_keeps(conn, others, alone, sfam, stype, sproto)
            if local is None:
                try:
                    local = sockaddr_of(conn)
                except OSError as e:
                    LOG.warn(f"getsockname({conn.fileno()}, {{}}): {e.strerror}")
            return conn, peer, local
        if info:
            LOG.info(f"close({fd})")
        conn.close()
        if mgr.max_children:
            mgr.wait_slot()
        if info:
            LOG.info("still listening")


def _child_keeps(conn, others, alone, sfam, stype, sproto):
    """In a child forked while further connections were held: close those, and
    give its own connection the number a connection accepted alone gets."""
    for fd in others:
        try:
            os.close(fd)
        except OSError:
            pass
    fd = conn.fileno()
    if fd == alone:
        return conn
    try:
        os.dup2(fd, alone, inheritable=False)
    except OSError:
        return conn
    conn.detach()
    os.close(fd)
    return socket.socket(sfam, stype, sproto, fileno=alone)


# ---------------------------------------------------------------------------
# datagram sockets: sendto, recv, recvfrom (with fork)
# ---------------------------------------------------------------------------


def dgram_socket(opts, family: int, socktype: int, proto: int,
                 us: SockAddr | None = None, lowport: bool = False) -> socket.socket:
    """socat's _xioopen_dgram_sendto(): an (optionally bound) local socket.

    Logs "successfully prepared local socket …"; the caller sets the
    endpoint's ``sendto``.
    """
    sock = make_socket(opts, family, socktype, proto)
    try:
        apply_phase(opts, sock, "PASTSOCKET", "FD")
        bind_socket(sock, us, opts, family, lowport)
        try:
            la = sockaddr_of(sock)
        except OSError as e:
            LOG.warn(f"getsockname({sock.fileno()}, {{}}): {e.strerror}")
            la = SockAddr(family, None)
        apply_phase(opts, sock, "CONNECTED")
        LOG.notice(f"successfully prepared local socket {la.info()}")
        return sock
    except BaseException:
        sock.close()
        raise


def recv_socket(opts, family: int, socktype: int, proto: int, us: SockAddr,
                after_bind=None) -> socket.socket:
    """socat's _xioopen_dgram_recv()'s socket part: socket, bind, PASTBIND."""
    sock = make_socket(opts, family, socktype, proto)
    try:
        apply_phase(opts, sock, "PASTSOCKET")
        bind_socket(sock, us, opts, family)
        if after_bind is not None:
            after_bind(sock, us)
        return sock
    except BaseException:
        sock.close()
        raise


_NOTICES: list = []      # ParentNotices with an open trigger socket (this process)


def close_parent_notices() -> None:
    """In a process forked off a RECVFROM,fork child (EXEC, SYSTEM): close the
    child's end of the trigger pair, which only the child may close (the parent
    waits for its EOF; a SYSTEM shell holding it would hold the parent back)."""
    for notice in _NOTICES:
        if notice.sock is not None:
            try:
                os.close(notice.sock.detach())
            except OSError:
                pass
            notice.sock = None
    _NOTICES.clear()


class ParentNotice:
    """How a RECVFROM,fork child tells its parent that it consumed the packet
    (true in a child, so ``forked`` tests stay simple): 1.7 sends SIGUSR1 to
    ``ppid``; 1.8 closes its end of a socket pair (``sock``)."""

    def __init__(self, ppid: int = 0, sock: socket.socket | None = None) -> None:
        self.ppid = ppid
        self.sock = sock
        if sock is not None:
            _NOTICES.append(self)

    def __bool__(self) -> bool:
        return True

    def notify(self) -> None:
        if self.sock is not None:
            LOG.info("notifying parent that socket is ready again")
            self.sock.close()
            self.sock = None
            if self in _NOTICES:
                _NOTICES.remove(self)
        elif self.ppid > 0:
            try:
                os.kill(self.ppid, signal.SIGUSR1)
            except OSError:
                pass
            self.ppid = 0

    def abandon(self, sock: socket.socket) -> None:
        """Closed before reading (the other address failed): 1.8 consumes the
        packet so that the parent does not fork for it again, then tells it."""
        if self.sock is None:
            return
        LOG.info("consuming packet to prevent loop in parent")
        try:
            sock.recv(1, socket.MSG_DONTWAIT)
        except OSError:
            pass
        self.sock.close()
        self.sock = None


def fork_with_trigger(mgr: "ForkManager") -> tuple:
    """socat 1.8's RECVFROM fork: a socket pair instead of SIGUSR1.

    Returns (0, ParentNotice) in the child; in the parent, once the child has
    consumed the packet or ended (its end of the pair closed), (pid, None).
    Ended children are reaped meanwhile (SIGCHLD)."""
    LOG.info("Generating socketpair that triggers parent when packet has been consumed")
    try:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as e:
        raise SocatError(f"socketpair(PF_UNIX, SOCK_STREAM, 0, ...): {e.strerror}") from None
    LOG.info(f"socketpair(1, 1, 0, {{{mine.fileno()},{theirs.fileno()}}}) -> 0")
    pid = mgr.fork(close_in_child=(mine,))
    if pid == 0:
        return 0, ParentNotice(sock=theirs)
    theirs.close()
    while True:
        if mgr.polling:
            got = select.select([mine], [], [], 0.2)[0]
            if mgr.children:
                mgr.reap(from_signal=False)
        else:
            got = mgr.wait_readable([mine.fileno()])
        if got:
            break
    try:
        mine.recv(1)
    except OSError:
        pass
    mine.close()
    return pid, None


def recvfrom_wait(ctx, opts, sock: socket.socket, us: SockAddr | None, proto: int,
                  checker: PeerCheck | None = None) -> tuple:
    """socat's _xioopen_dgram_recvfrom() loop on a bound socket.

    Waits for a packet, peeks its sender, applies the peer checks (a refused
    packet is dropped), sets SOCAT_PEER… and returns ``(peer, forked)``. With
    ``fork`` a child is forked per packet and returns here (``forked`` a
    ParentNotice); the parent waits until the child has read the packet
    (SIGUSR1, 1.8: the trigger socket pair) or ended, then waits for the next
    one, forever. The child's endpoint must set ``notify_parent`` so its first
    read tells the parent.
    """
    from ..versions import ACTIVE
    dofork = bool(opts.get("fork"))
    mgr = ForkManager(shutup=children_shutup(opts)) if dofork else None
    usr1 = [False]
    trigger = ACTIVE.recvfrom_fork_trigger
    if mgr is not None and trigger:
        mgr.install()
    elif mgr is not None:
        mgr.install()
        try:
            signal.signal(signal.SIGUSR1, lambda s, f: usr1.__setitem__(0, True))
        except ValueError:
            pass
    LOG.start_loop("recvfrom")
    fd = sock.fileno()
    while True:
        LOG.info("Recvfrom: Checking/waiting for next packet")
        while True:
            if us is not None:
                LOG.notice(f"receiving on {us.info()}")
            else:
                LOG.notice(f"receiving IP protocol {proto}")
            if mgr is None:
                select.select([fd], [], [])
                break
            if mgr.wait_readable([fd], wake=trigger):
                break
        try:
            _, addr = sock.recvfrom(1, socket.MSG_PEEK | socket.MSG_TRUNC)
        except InterruptedError:
            continue
        except OSError as e:
            from ..versions import ACTIVE
            (LOG.info if ACTIVE.quieter_messages else LOG.warn)(f"recvmsg(): {e.strerror}")
            raise SocatError(f"recvmsg(): {e.strerror}") from None
        peer = SockAddr(sock.family, addr)
        LOG.notice(f"receiving packet from {peer.info()}")
        if checker is not None and not checker.check(peer, sock=sock):
            try:
                sock.recv(512)
            except OSError:
                pass
            continue
        LOG.info(f"permitting packet from {peer.info()}")
        set_sockaddr_env("PEER", peer, proto)
        apply_phase(opts, sock, "FD", "CONNECTED")
        if mgr is None:
            return peer, False
        if trigger:
            pid, notice = fork_with_trigger(mgr)
            if pid == 0:
                return peer, notice
            LOG.info("continue listening")
            continue
        usr1[0] = False
        pid = mgr.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            except ValueError:
                pass
            return peer, ParentNotice(ppid=os.getppid())
        deadline = time.monotonic() + 3600
        while not usr1[0] and pid in mgr.children and time.monotonic() < deadline:
            mgr.wait_readable([], 0.5)
            if mgr.polling or mgr._wake_r < 0:
                mgr.reap(from_signal=False)
        LOG.info("continue listening")


# ---------------------------------------------------------------------------
# the endpoint
# ---------------------------------------------------------------------------


class SocketEndpoint(Endpoint):
    """A socket as the relay sees it.

    Stream sockets read/write the fd; ``sendto`` (a SockAddr) turns writes
    into sendto(); ``recvfrom`` turns reads into recvfrom() and records the
    sender in ``last_peer`` (refused senders are dropped when ``checker`` is
    set). ``close`` does socat's END_SHUTDOWN: shutdown(fd, 2), then close.
    """

    is_socket = True

    def __init__(self, sock: socket.socket, name: str = "", datagram: bool = False,
                 peer: SockAddr | None = None, local: SockAddr | None = None) -> None:
        self.sock = sock
        fd = sock.fileno()
        super().__init__(fd, fd, name)
        self.datagram = datagram
        self.peer = peer
        self.local = local
        self.family = sock.family
        self.sendto: SockAddr | None = None
        self.recvfrom = False
        self.checker: PeerCheck | None = None
        self.last_peer: SockAddr | None = None
        self.howtoend = "shutdown"     # "shutdown" | "close" | "none"
        self.oneshot = False           # EOF after the first packet
        self.oneshot_done = False
        self.reply_to_sender = False   # writes go to the last sender
        self.notify_parent = None      # a ParentNotice: told after the first read

    @property
    def zero_copy(self) -> bool:
        """The relay may splice(2): reads and writes are the plain fd calls."""
        return not self.datagram and not self.recvfrom and self.sendto is None

    @property
    def local_address(self):
        return self.local.addr if self.local is not None else None

    @property
    def peer_address(self):
        return self.peer.addr if self.peer is not None else None

    @property
    def peer_text(self) -> str:
        return self.peer.info() if self.peer else ""

    @property
    def local_text(self) -> str:
        return self.local.info() if self.local else ""

    def read(self, n: int):
        if self.oneshot_done:
            return None             # EOF after the one packet (socat's ONESHOT)
        if not self.recvfrom:
            data = os.read(self.rfd, n)
        else:
            while True:
                data, addr = self.sock.recvfrom(n)
                sender = SockAddr(self.family, addr) if addr is not None else None
                if self.checker is not None and sender is not None and \
                        not self.checker.check(sender, sock=self.sock):
                    continue
                self.last_peer = sender
                if self.reply_to_sender and sender is not None and sender.addr:
                    self.sendto = sender
                break
        if self.oneshot:
            self.oneshot_done = True
        if self.notify_parent:
            notice, self.notify_parent = self.notify_parent, None
            notice.notify()
        return data

    def write(self, data) -> int:
        if self.sendto is None:
            return super().write(data)
        dest = self.sendto
        if dest.raw is not None:
            return raw_sendto(self.sock.fileno(), data, dest)
        return self.sock.sendto(data, dest.addr)

    def shutdown_write(self) -> None:
        # socat's END_NONE sockets (RECVFROM: shared with forked children) are
        # never shut down; the others like any socket
        if self.howtoend != "shutdown" and self.shut is None:
            return
        super().shutdown_write()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for attr in ("notify_parent", "parent"):     # RECVFROM,fork child, packet unread
            notice = getattr(self, attr, None)
            if notice:
                setattr(self, attr, None)
                notice.abandon(self.sock)
        if self.howtoend == "shutdown":
            shutdown_close(self.sock, self.shut_closed)
        self._release()

    def _release(self) -> None:
        """The socket closed, then the close hooks (unlink-close…) and children."""
        try:
            self.sock.close()
        except OSError:
            pass
        for func in self.on_close:
            func()
        for child in self.children:
            child.reap()


def shutdown_close(sock: socket.socket, closed_fd: int = -1) -> None:
    """socat's xioclose() of an END_SHUTDOWN socket: shutdown(fd, 2), then close.

    ``closed_fd``: the number shut-close already closed; socat still calls
    shutdown() on it (EBADF), we only log that (the number may be reused)."""
    fd = sock.fileno()
    if fd < 0 and closed_fd >= 0:
        LOG.info(f"shutdown({closed_fd}, 2)")
        LOG.info(f"shutdown({closed_fd}, 2): {os.strerror(errno.EBADF)}")
        return
    if fd < 0:
        return
    LOG.info(f"shutdown({fd}, 2)")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as e:
        LOG.info(f"shutdown({fd}, 2): {e.strerror}")
    sock.close()


def finish_socket(ep: SocketEndpoint, opts) -> SocketEndpoint:
    """base.finish (FD/LATE phases, APPL settings) for a socket endpoint."""
    return finish(ep, opts)
