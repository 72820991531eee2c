"""SCTP: SCTP-CONNECT (SCTP), SCTP-LISTEN (SCTP-L) and their 4/6 variants.

socat's xio-sctp.c: TCP's client and server (tcp.ipapp_connect/ipapp_listen)
with SOCK_STREAM and IPPROTO_SCTP. Where the kernel has no SCTP, socket()
fails with socat's "socket(2, 1, 132): Protocol not supported".
"""
from __future__ import annotations

from .registry import EXTRA_FEATURES, address

_STREAM, _SCTP = 1, 132
_AF = {"": 0, "4": 2, "6": 10}


def _connect(pf):
    def opener(ctx, row, spec, opts, params):
        from .tcp import ipapp_connect
        return ipapp_connect(ctx, row, spec, opts, params, pf, _STREAM, _SCTP)
    return opener


def _listen(pf):
    def opener(ctx, row, spec, opts, params):
        from .tcp import ipapp_listen
        return ipapp_listen(ctx, row, spec, opts, params, pf, _STREAM, _SCTP)
    return opener


for _v, _ip in (("", "IP4,IP6"), ("4", "IP4"), ("6", "IP6")):
    address(f"sctp{_v}-connect", ":<host>:<port>", f"FD,SOCKET,CHILD,RETRY,{_ip},SCTP",
            _connect(_AF[_v]), "SCTP", f"connect to an SCTP{_v and ' IPv' + _v} server",
            aliases=(f"sctp{_v}",))
    address(f"sctp{_v}-listen", ":<port>", f"FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,{_ip},SCTP",
            _listen(_AF[_v]), "SCTP", f"accept SCTP{_v and ' IPv' + _v} associations",
            aliases=(f"sctp{_v}-l",))

EXTRA_FEATURES.update({"IP4", "IP6", "LISTEN", "RETRY"})
