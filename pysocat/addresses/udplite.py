"""UDP-Lite (RFC 3828): UDPLITE-CONNECT (UDPLITE), -LISTEN, -SENDTO, -RECV, -RECVFROM,
-DATAGRAM, each also as UDPLITE4-… and UDPLITE6-…; new in socat 1.8.

socat 1.8's xio-udplite.c: the UDP family's openers (udp.py) with SOCK_DGRAM
and IPPROTO_UDPLITE (136) instead of IPPROTO_UDP; every UDP semantic (lock
onto the first sender, fork per peer or per packet, range, sourceport) is the
same. The differences socat shows come from the protocol number: UDPLITE-LISTEN
says "listening on PROTO136 …", named ports are looked up as TCP services, and
SOCAT_PEERPORT/SOCAT_SOCKPORT are not set by RECVFROM (xiosetsockaddrenv knows
ports of TCP, UDP and SCTP only). The options udplite-send-cscov and
udplite-recv-cscov set the checksum coverage (UDPLITE_SEND_CSCOV/RECV_CSCOV).
"""
from __future__ import annotations

from . import udp as U
from .registry import EXTRA_FEATURES, address

IPPROTO_UDPLITE = 136
_DGRAM = 2
UNSPEC, INET, INET6 = 0, 2, 10


def _opener(func, pf):
    def opener(ctx, row, spec, opts, params):
        return func(ctx, row, spec, opts, params, pf, _DGRAM, IPPROTO_UDPLITE)
    return opener


def _steps(kind):
    """--explain: the calls of the UDP opener, with the UDP-Lite triple."""
    sock = ("SOCKET", "socket({pf}, SOCK_DGRAM, IPPROTO_UDPLITE)")
    cscov = ("FD", "setsockopt(IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV/RECV_CSCOV)",
             lambda c: c.has("udplite-send-cscov") or c.has("udplite-recv-cscov"))
    return {
        "connect": (sock, ("CONNECT", "connect() to {host}:{port} (no packet is sent: "
                                      "a datagram socket only records its peer)"), cscov),
        "listen": (sock, ("BIND", "bind() to port {port}"),
                   ("LISTEN", "recvfrom(MSG_PEEK): wait for the first packet, log "
                              "'listening on PROTO136', then connect() to its sender"),
                   cscov),
        "sendto": (sock, ("BIND", "bind() when bind/sourceport/lowport ask"),
                   ("FD", "writes are sendto({host}:{port}); reads accept only its replies"),
                   cscov),
        "datagram": (sock, ("BIND", "bind() when bind/sourceport/lowport ask"),
                     ("FD", "writes are sendto({host}:{port}); reads take packets from "
                            "any sender range permits"), cscov),
        "recv": (sock, ("BIND", "bind() to port {port}"),
                 ("FD", "reads are recvfrom() from anyone range permits; nothing is sent"),
                 cscov),
        "recvfrom": (sock, ("BIND", "bind() to port {port}"),
                     ("FD", "wait for one packet (fork: a child per packet), answer its "
                            "sender, then EOF"), cscov),
    }[kind]


def _steps_for(kind):
    steps = _steps(kind)

    def build(ctx):
        pf = {"4": "AF_INET", "6": "AF_INET6"}.get(ctx.row.name[7:8], "AF_INET/AF_INET6")
        out = []
        for st in steps:
            if isinstance(st[1], str):
                st = (st[0], st[1].replace("{pf}", pf)) + tuple(st[2:])
            out.append(st)
        return out
    return build


_BASE = "FD,SOCKET,{ip},UDP,UDPLITE"
# name, socat's syntax per variant ("", "4", "6"), extra groups, opener, help
_TYPES = (
    ("connect", ":<host>:<port>", "", U.udp_connect,
     "a connected UDP-Lite socket to host:port"),
    ("listen", ":<port>", ",LISTEN,CHILD,RANGE", U.udp_listen,
     "wait for a UDP-Lite peer on port, then talk only to it"),
    ("sendto", ":<host>:<port>", "", U.udp_sendto,
     "send UDP-Lite packets to host:port, accept its replies"),
    ("recvfrom", ":<port>", ",CHILD,RANGE", U.udp_recvfrom,
     "receive a UDP-Lite packet on port and answer its sender"),
    ("recv", ":<port>", ",RANGE", U.udp_recv,
     "receive UDP-Lite packets on port from anyone"),
    ("datagram", ":<host>:<port>", ",RANGE", U.udp_datagram,
     "send UDP-Lite packets to host:port, receive from anyone range permits"),
)
# socat 1.8's help texts of two IPv4 rows differ from the others (same parameters)
_SYNTAX4 = {"datagram": ":<remote-address>:<port>", "recvfrom": ":<host>:<port>"}

for _v, _pf, _ip in (("", UNSPEC, "IP4,IP6"), ("4", INET, "IP4"), ("6", INET6, "IP6")):
    for _t, _syn, _extra, _func, _help in _TYPES:
        _aliases = {"connect": (f"udplite{_v}",), "listen": (f"udplite{_v}-l",),
                    "datagram": (f"udplite{_v}-dgram",),
                    "sendto": (f"udplite{_v}-send",)}.get(_t, ())
        _params = tuple(p.strip("<>") for p in _syn.split(":")[1:])
        address(f"udplite{_v}-{_t}", _SYNTAX4.get(_t, _syn) if _v == "4" else _syn,
                _BASE.format(ip=_ip) + _extra, _opener(_func, _pf), "UDPLITE",
                _help + (f" (IPv{_v})" if _v else ""), aliases=_aliases, params=_params,
                steps=_steps_for(_t), transport="datagram", since="1.8")

EXTRA_FEATURES.update({"IP4", "IP6", "LISTEN"})
