"""VSOCK: VSOCK-CONNECT:<cid>:<port> and VSOCK-LISTEN:<port> (AF_VSOCK).

socat's xio-vsock.c: cid and port are numbers (strtoul, base 0; trailing
characters are socat's "sockaddr_vm - garbage in …" errors); a missing cid
or port is VMADDR_CID_ANY / VMADDR_PORT_ANY. ``bind=<cid>[:<port>]``.
"""
from __future__ import annotations

from ..errors import SocatError
from .registry import EXTRA_FEATURES, address

AF_VSOCK = 40
ANY = 0xFFFFFFFF


def _part(text, what):
    from ..options.values import strtoul
    if text is None:
        return ANY
    val, rest = strtoul(text, 0)
    if rest or val is None:
        raise SocatError(f'sockaddr_vm - garbage in {what}: "{rest if val is not None else text}"')
    return val & 0xFFFFFFFF


def vm_addr(cid, port):
    """socat's sockaddr_vm_parse(): a SockAddr (AF_VSOCK, (cid, port))."""
    from .sockets import SockAddr
    return SockAddr(AF_VSOCK, (_part(cid, "cid"), _part(port, "port")))


def _bind(opts, port_allowed=True):
    text = opts.get("bind")
    if text is None:
        return None
    from .sockets import split_hostport
    host, rest = split_hostport(text)
    port = rest[1:] if rest.startswith(":") and port_allowed else None
    if rest.startswith(":") and not port_allowed:
        raise SocatError("port specification not allowed in this bind option")
    return vm_addr(host, port)


def open_connect(ctx, row, spec, opts, params):
    from . import sockets as S
    them = vm_addr(params[0], params[1])
    us = _bind(opts)
    S.LOG.notice(f"opening connection to {them.info()}")
    sock = S.connect_loop(ctx, opts, AF_VSOCK, 1, 0, them, us)
    ep = S.SocketEndpoint(sock, spec.raw, peer=them)
    return S.finish_socket(ep, opts)


def open_listen(ctx, row, spec, opts, params):
    from . import sockets as S
    us = vm_addr(None, params[0])
    S.LOG.warn("ioctl(-1, IOCTL_VM_SOCKETS_GET_LOCAL_CID, ...): Bad file descriptor")
    b = _bind(opts, port_allowed=False)
    if b is not None:
        us = S.SockAddr(AF_VSOCK, (b.addr[0], us.addr[1]))
    sock, peer, local = S.listen_accept(ctx, opts, AF_VSOCK, 1, 0, us)
    ep = S.SocketEndpoint(sock, spec.raw, peer=peer, local=local)
    return S.finish_socket(ep, opts)


address("vsock-connect", ":<cid>:<port>", "FD,SOCKET,CHILD,RETRY", open_connect, "VSOCK",
        "connect to a VM socket", aliases=("vsock",))
address("vsock-listen", ":<port>", "FD,SOCKET,LISTEN,CHILD,RETRY", open_listen, "VSOCK",
        "accept VM socket connections", aliases=("vsock-l",))

EXTRA_FEATURES.update({"LISTEN", "RETRY"})
