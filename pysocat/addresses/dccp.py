"""DCCP (RFC 4340): DCCP-CONNECT (DCCP), DCCP-LISTEN (DCCP-L) and their 4/6 variants;
new in socat 1.8.

socat 1.8's xio-dccp.c: TCP's client and server (tcp.ipapp_connect and
tcp.ipapp_listen: retry, fork, range, bind, sourceport, …) with SOCK_DCCP (6)
and IPPROTO_DCCP (33). A DCCP socket is a stream of datagrams to the relay.
Where the kernel has no DCCP (Linux removed it in 6.16), socket() fails with
socat's "socket(2, 6, 33): Socket type not supported": a client says it as a W
and then "E DCCP:<host>:<port>: Socket type not supported", a listener as an E.
Option dccp-set-ccid (ccid): the congestion control id (DCCP_SOCKOPT_CCID).
"""
from __future__ import annotations

from .registry import EXTRA_FEATURES, address

SOCK_DCCP, IPPROTO_DCCP = 6, 33
_AF = {"": 0, "4": 2, "6": 10}


def _connect(pf):
    def opener(ctx, row, spec, opts, params):
        from .tcp import ipapp_connect
        return ipapp_connect(ctx, row, spec, opts, params, pf, SOCK_DCCP, IPPROTO_DCCP)
    return opener


def _listen(pf):
    def opener(ctx, row, spec, opts, params):
        from .tcp import ipapp_listen
        return ipapp_listen(ctx, row, spec, opts, params, pf, SOCK_DCCP, IPPROTO_DCCP)
    return opener


def kernel_has_dccp() -> bool:
    """Whether the running kernel offers DCCP (/proc/net/protocols; nothing opened)."""
    try:
        with open("/proc/net/protocols", encoding="ascii", errors="replace") as f:
            return any(line.split(" ", 1)[0] in ("DCCP", "DCCPv6") for line in f)
    except OSError:
        return True          # unknown: do not warn


def _steps(kind, v):
    steps = _steps_of(kind, v)

    def build(ctx):
        if not kernel_has_dccp():
            fam = 10 if v == "6" or (not v and ctx.config is not None and
                                     getattr(ctx.config, "prefer_ip", None) == "6") else 2
            # this kernel has no DCCP: the open will fail with socat's text
            ctx.warn(f"socket({fam}, {SOCK_DCCP}, {IPPROTO_DCCP}): Socket type not supported",
                     severity="W" if kind == "connect" else "E")
        return steps
    return build


def _steps_of(kind, v):
    pf = {"4": "AF_INET", "6": "AF_INET6"}.get(v, "AF_INET/AF_INET6")
    sock = ("SOCKET", f"socket({pf}, SOCK_DCCP, IPPROTO_DCCP) (fails with 'Socket type not "
                      "supported' where the kernel has no DCCP)")
    ccid = ("PASTSOCKET", "setsockopt(SOL_DCCP, DCCP_SOCKOPT_CCID, {opt[dccp-set-ccid]})",
            "dccp-set-ccid")
    if kind == "connect":
        return (("INIT", "resolve {host}:{port}"), sock, ccid,
                ("BIND", "bind() when bind/sourceport/lowport ask"),
                ("CONNECT", "connect() to {host}:{port} (retry/fork as TCP)"))
    return (sock, ccid, ("BIND", "bind() to port {port}"), ("LISTEN", "listen()"),
            ("ACCEPT", "accept() a connection (range/fork as TCP)"))


_C = "FD,SOCKET,CHILD,RETRY,{ip},DCCP"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,{ip},DCCP"
for _v, _ip in (("", "IP4,IP6"), ("4", "IP4"), ("6", "IP6")):
    address(f"dccp{_v}-connect", ":<host>:<port>", _C.format(ip=_ip), _connect(_AF[_v]),
            "DCCP", f"connect to a DCCP{_v and ' IPv' + _v} server",
            aliases=(f"dccp{_v}",), steps=_steps("connect", _v), transport="stream",
            since="1.8")
    address(f"dccp{_v}-listen", ":<port>", _L.format(ip=_ip), _listen(_AF[_v]), "DCCP",
            f"accept DCCP{_v and ' IPv' + _v} connections", aliases=(f"dccp{_v}-l",),
            steps=_steps("listen", _v), transport="stream", since="1.8")

EXTRA_FEATURES.update({"IP4", "IP6", "LISTEN", "RETRY"})
