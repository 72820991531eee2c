"""The resolver options of IP addresses: ``res-*`` (socat's _res settings).

socat changes the C library's resolver state (``_res``) for the address that
carries them and puts it back afterwards (1.8.1.3: around the whole open,
xioopen.c:785-823, xio-ip.c:1499-1566; 1.7.4.4: around each of the address's
host name resolutions, xio-ip.c:152-161). Python cannot steer glibc's resolver
per address, so an address with any of these options resolves its names with
pysocat.resolver (dnspython on the wire, /etc/hosts first, glibc's search and
retry rules); an address without them stays on getaddrinfo().

The boolean ones set (=1) or clear (=0) one RES_* bit of _res.options; 1.8
adds the name server (res-nsaddr, IPv4 only, port 53 unless given), the
seconds to wait for an answer (res-retrans) and the number of tries
(res-retry).
"""
from __future__ import annotations

from .table import OFFSET, opt
from .values import VALUE_PARSERS

# name, RES_* bit (resolv.h), nickname, help
RES_BITS = (
    ("res-debug", 0x2, None, "RES_DEBUG: the resolver's debug output (none in a release "
     "C library)"),
    ("res-usevc", 0x8, "usevc", "RES_USEVC: ask the name server over TCP instead of UDP"),
    ("res-igntc", 0x20, "igntc", "RES_IGNTC: take a truncated UDP answer as it is (no "
     "retry over TCP)"),
    ("res-recurse", 0x40, "recurse", "RES_RECURSE: ask for recursion (the RD bit; "
     "default on)"),
    ("res-defnames", 0x80, "defnames", "RES_DEFNAMES: search the domains of resolv.conf "
     "for a name without dots (default on)"),
    ("res-stayopen", 0x100, "stayopen", "RES_STAYOPEN: keep the TCP connection to the "
     "name server open between queries"),
    ("res-dnsrch", 0x200, "dnsrch", "RES_DNSRCH: search the domains of resolv.conf for a "
     "name with dots too (default on)"),
)
BIT = {name: bit for name, bit, _n, _h in RES_BITS}

for _name, _bit, _nick, _help in RES_BITS:
    opt(_name, "BOOL", "IP4,IP6", "INIT", ("resolver",), _help,
        (_nick,) if _nick else (), nick=_nick, help18=OFFSET)

opt("res-retrans", "INT", "IP4,IP6", "INIT", ("resolver",),
    "seconds to wait for the name server's answer to one query (at least 1; "
    "resolv.conf timeout:, default 5)", ("retrans", "res-maxretrans"),
    nick="retrans", since="1.8", help18=OFFSET)
opt("res-retry", "INT", "IP4,IP6", "INIT", ("resolver",),
    "how often each query is sent before giving up (resolv.conf attempts:, default 2)",
    ("res-maxretry",), since="1.8", help18=OFFSET)
opt("res-nsaddr", "IP4SOCK", "IP4,IP6", "INIT", ("resolver",),
    "the one name server to ask: IPv4 address or name[:port] (port 53 when absent or 0)",
    ("dns", "nameserver", "nsaddr"), nick="dns", since="1.8", help18=OFFSET)


def _parse_ip4sock(value, raw: str, name: str):
    """socat 1.8's TYPE_IP4SOCK: host[:port], resolved at once as an IPv4 UDP
    address (xioopts.c:2777-2809); an option without value resolves its own name."""
    from ..addresses.sockets import xioresolve
    import socket
    text = raw.partition("=")[0] if value is None else value
    host, port = _split_host_port(text)
    sa = xioresolve(host, port, socket.AF_INET, socket.SOCK_DGRAM, 0, "4")
    return sa.addr[0], sa.addr[1]


def _split_host_port(text: str):
    """socat's nestlex() with ':' as the end and [] nesting: the host part keeps
    its brackets; what follows the first ':' outside them is the port."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            return text[:i], text[i + 1:]
    return text, None


VALUE_PARSERS["IP4SOCK"] = _parse_ip4sock
