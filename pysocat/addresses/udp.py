"""UDP: UDP-CONNECT (UDP), UDP-LISTEN, UDP-SENDTO, UDP-RECV, UDP-RECVFROM, UDP-DATAGRAM.

socat 1.7.4.4's xio-udp.c on the shared socket layer (sockets.py) and the
datagram layer (dgram.py). Each type comes as UDP-…, UDP4-… and UDP6-…:

UDP-CONNECT   a connected socket; ICMP port unreachable ends it ("Connection refused").
UDP-LISTEN    waits for the first packet, connects to its sender (locks onto it);
              ``fork``: a child per new peer, the parent listens again.
UDP-SENDTO    sends to host:port, accepts replies only from there.
UDP-DATAGRAM  sends to host:port, accepts packets from anyone ``range``/``lowport``
              (and socat's ``sourceport`` quirk) allow.
UDP-RECV      receives from anyone allowed; nowhere to send.
UDP-RECVFROM  receives one packet and answers its sender (then EOF);
              ``fork``: a child per packet, the parent receives again.
"""
from __future__ import annotations

import errno
import os
import socket

from ..errors import SocatError
from ..log import LOG
from . import dgram as D
from . import sockets as S
from .base import listening
from .registry import address

_DGRAM, _UDP = socket.SOCK_DGRAM, socket.IPPROTO_UDP
UNSPEC, INET, INET6 = socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6


def parseport(text: str, proto: int) -> int:
    """socat's parseport(): a number (base 0, no trailing data) or a service name."""
    from ..options.values import strtoul
    if text[:1].isdigit():
        val, extra = strtoul(text, 0)
        if extra:
            raise SocatError(f'parseport("{text}", {proto}): extra trailing data "{extra}"')
        return (val or 0) & 0xFFFF
    try:
        return socket.getservbyname(text, "udp" if proto == _UDP else "tcp")
    except OSError:
        raise SocatError(f'cannot resolve service "{text}/{proto}"') from None


def peer_check(opts, pf, sourceport=None, lowport=False):
    """range/sourceport/lowport as a PeerCheck; range parsed for ``pf`` as socat does."""
    text = opts.get("range")
    rng = None
    if text is not None:
        if pf == UNSPEC:
            if ":" not in text:
                from ..versions import ACTIVE
                raise SocatError(ACTIVE.range_unspec_syntax_error.format(range=text))
            raise SocatError(f'range option not supported with address family {pf}')
        rng = S.parse_range(text, pf)
    chk = S.PeerCheck(rng)
    chk.wrap = S.tcpwrap_of(opts)
    chk.sourceport, chk.lowport = sourceport, lowport
    return chk


def _sendto_setup(ctx, opts, host, port, pf, socktype, proto):
    """socat's _xioopen_udp_sendto(): resolve the peer, bind/sourceport/lowport."""
    them = S.resolve(host, port, pf, socktype, proto, S.preferred_ip(ctx))
    if pf == UNSPEC:
        pf = them.family
    us = S.bind_address(opts, pf, socktype, proto, True, S.preferred_ip(ctx))
    sp = opts.get("sourceport")
    if sp is not None:
        us = (us or S.resolve(None, None, pf)).with_port(sp)
    lowport = bool(opts.get("lowport"))
    sock, local = D.prepare_sendto(opts, pf, socktype, proto, us, lowport)
    return sock, them, local, lowport


def udp_sendto(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    pf = S.socket_pf(opts, pf)
    sock, them, local, _ = _sendto_setup(ctx, opts, params[0], params[1], pf, socktype, proto)
    ep = D.DatagramEndpoint(sock, spec.raw, "recvfrom", peer=them, local=local)
    return S.finish_socket(ep, opts)


def udp_datagram(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    # socat takes sourceport here, before the peer is known: it then only
    # permits packets from port 0 (and does not bind it)
    sp = 0 if opts.get("sourceport") is not None else None
    from ..versions import ACTIVE
    if ACTIVE.datagram_default_ip:
        pf = S.default_listen_pf(ctx, pf)
    pf = S.socket_pf(opts, pf)
    sock, them, local, lowport = _sendto_setup(ctx, opts, params[0], params[1], pf,
                                               socktype, proto)
    try:
        checker = peer_check(opts, pf, sp, lowport)
    except BaseException:
        sock.close()
        raise
    ep = D.DatagramEndpoint(sock, spec.raw, "recv", peer=them, local=local, checker=checker)
    return S.finish_socket(ep, opts)


def _listen_pf(ctx, opts, pf):
    pf = S.default_listen_pf(ctx, pf)
    return S.socket_pf(opts, pf)


def _local_port(ctx, opts, port, pf, socktype, proto):
    """RECV/RECVFROM: the port, with the address of ``bind`` if given."""
    us = S.resolve(None, port, pf, socktype, proto, S.preferred_ip(ctx), passive=True)
    la = S.bind_address(opts, us.family, socktype, proto, False, S.preferred_ip(ctx))
    if la is not None:
        a = list(us.addr)
        a[0] = la.addr[0]
        us = S.SockAddr(us.family, tuple(a))
    return us


def udp_recvfrom(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    pf = _listen_pf(ctx, opts, pf)
    us = _local_port(ctx, opts, params[0], pf, socktype, proto)
    pf = us.family
    sp = opts.get("sourceport")
    lowport = bool(opts.get("lowport"))
    dofork = bool(opts.get("fork"))
    checker = peer_check(opts, pf, sp, lowport)
    sock, peer, parent = D.recvfrom_wait(ctx, opts, pf, socktype, proto, us, checker, dofork)
    ep = D.DatagramEndpoint(sock, spec.raw, "recvfrom", peer=peer, local=us, oneshot=True)
    ep.parent = parent
    ep.howtoend = "none"
    return S.finish_socket(ep, opts)


def udp_recv(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    pf = _listen_pf(ctx, opts, pf)
    us = _local_port(ctx, opts, params[0], pf, socktype, proto)
    pf = us.family
    checker = peer_check(opts, pf, opts.get("sourceport"), bool(opts.get("lowport")))
    sock = D.prepare_recv(opts, pf, socktype, proto, us)
    LOG.start_loop("recvfrom")
    ep = D.DatagramEndpoint(sock, spec.raw, "recv", local=us, checker=checker)
    return S.finish_socket(ep, opts)


def udp_listen(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    """socat's xioopen_ipdgram_listen(): lock onto the first permitted sender."""
    sock, them, local = listen_connected(ctx, opts, params, pf, socktype, proto)
    ep = D.DatagramEndpoint(sock, spec.raw, "stream", peer=them, local=local)
    return _connected(S.finish_socket(ep, opts))


def listen_connected(ctx, opts, params, pf, socktype=_DGRAM, proto=_UDP, sync=False):
    """socat's _xioopen_ipdgram_listen(): bind, wait for the first permitted
    sender (fork: in the child), connect to it; (socket, peer, local).
    OPENSSL-DTLS-SERVER does its handshake on this socket.

    ``sync``: with fork, the parent binds its next socket only once the child
    has connected its own (bounded wait): a peer's next datagram (the second
    fragment of a DTLS ClientHello) must reach the child, not the parent's
    new socket, also when the child starts more slowly than socat's does."""
    ready = None
    pf = _listen_pf(ctx, opts, pf)
    proto = opts.get("so-protocol", proto)
    la = S.bind_address(opts, pf, socktype, proto, False, S.preferred_ip(ctx))
    port = parseport(params[0], proto)
    if la is None:
        la = S.resolve(None, None, pf)
    pf = la.family          # -0: the passive resolution chose the version
    us = la.with_port(port)
    dofork = bool(opts.get("fork"))
    maxchildren = int(opts.get("max-children", 0) or 0)
    if not dofork and maxchildren:
        raise SocatError("option max-children not allowed without option fork")
    checker = peer_check(opts, pf, opts.get("sourceport"), bool(opts.get("lowport")))
    mgr = S.ForkManager(maxchildren, S.children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    reuse = opts.get("so-reuseaddr")
    while True:
        sock = S.make_socket(opts, pf, socktype, proto)
        S.apply_phase(opts, sock, "PASTSOCKET")
        if dofork or reuse is not None:
            val = 1 if reuse is None else int(reuse)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, val)
            except OSError as e:
                LOG.warn(f"setsockopt({sock.fileno()}, 1, 2, {{{val}}}, 4): {e.strerror}")
        S.apply_phase(opts, sock, "PREBIND", "BIND")
        try:
            sock.bind(us.addr)
        except OSError as e:
            fd = sock.fileno()
            sock.close()
            raise SocatError(f"bind({fd}, {{{us.info()}}}, {us.salen()}): {e.strerror}") from None
        local = S.sockaddr_of(sock)
        S.apply_phase(opts, sock, "PASTBIND")
        listening(ctx, sock)
        if proto == _UDP:
            LOG.notice(f"listening on UDP {local.info()}")
        else:
            LOG.notice(f"listening on PROTO{proto} {local.info()}")
        if mgr is not None:
            mgr.wait_readable([sock.fileno()])
        else:
            _wait_readable(sock)
        try:
            _, addr = sock.recvfrom(1, socket.MSG_PEEK)
            if addr is None:        # shut down while waiting (library API stop)
                raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        except OSError as e:
            raise SocatError(f"recvfrom({sock.fileno()}, 1, MSG_PEEK, {{}}): {e.strerror}") from None
        them = S.SockAddr(sock.family, addr)
        LOG.notice(f"accepting UDP connection from {them.info()}")
        if not checker.check(them, local):
            LOG.notice(f"forbidding UDP connection from {them.info()}")
            D._drop(sock)
            sock.close()
            continue
        LOG.info(f"permitting UDP connection from {them.info()}")
        if mgr is None:
            break
        if sync:
            ready = os.pipe()
        pid = mgr.fork()
        if pid == 0:
            break
        sock.close()
        if ready is not None:
            os.close(ready[1])
            _wait_closed(ready[0], 1.0)
            os.close(ready[0])
            ready = None
        mgr.wait_slot()
        LOG.info("still listening")
    if ready is not None:
        os.close(ready[0])
    try:
        S.apply_phase(opts, sock, "CONNECT")
        try:
            sock.connect(them.addr)
        except OSError as e:
            raise SocatError(f"connect({sock.fileno()}, {{{them.info()}}}, {them.salen()}): "
                             f"{e.strerror}") from None
    finally:
        if ready is not None:
            os.close(ready[1])
    local = S.sockaddr_of(sock)
    S.set_sockaddr_env("SOCK", local, _UDP)
    S.set_sockaddr_env("PEER", them, _UDP)
    S.apply_phase(opts, sock, "LATE")
    return sock, them, local


def _connected(ep):
    """UDP-LISTEN (once connected to its peer) and UDP-CONNECT as socat reads and
    ends them: read() of an empty datagram is EOF (both versions; socat reads these
    with read(), not recvfrom()), and 1.8 half-closes with an empty datagram."""
    from ..versions import ACTIVE
    ep.null_eof = True
    if ep.shut is None and ACTIVE.udp_shut_null:
        ep.shut = "null"
    return ep


def _wait_closed(fd: int, timeout: float) -> None:
    """Wait until the pipe's other end is closed (EOF), at most timeout seconds."""
    import select
    import time
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            if select.select([fd], [], [], left)[0]:
                return
        except InterruptedError:
            continue


def _wait_readable(sock):
    import select
    while True:
        try:
            if select.select([sock], [], [])[0]:
                return
        except InterruptedError:
            continue


def udp_connect(ctx, row, spec, opts, params, pf, socktype=_DGRAM, proto=_UDP):
    from .tcp import ipapp_connect
    ep = ipapp_connect(ctx, row, spec, opts, params, pf, socktype, proto)
    ep.datagram = True
    return _connected(ep)


def _opener(func, pf):
    def opener(ctx, row, spec, opts, params):
        return func(ctx, row, spec, opts, params, pf)
    return opener


_BASE = "FD,SOCKET,{ip},UDP"
_TYPES = (
    # name, syntax, extra groups, function, help
    ("connect", ":<host>:<port>", "", udp_connect, "a connected UDP socket to host:port"),
    ("listen", ":<port>", ",LISTEN,CHILD,RANGE", udp_listen,
     "wait for a UDP peer on port, then talk only to it"),
    ("sendto", ":<host>:<port>", "", udp_sendto, "send to host:port, accept its replies"),
    ("recvfrom", ":<port>", ",CHILD,RANGE", udp_recvfrom,
     "receive a packet on port and answer its sender"),
    ("recv", ":<port>", ",RANGE", udp_recv, "receive UDP packets on port from anyone"),
    ("datagram", ":<host>:<port>", ",RANGE", udp_datagram,
     "send to host:port, receive from anyone range permits"),
)
for _v, _pf, _ip in (("", UNSPEC, "IP4,IP6"), ("4", INET, "IP4"), ("6", INET6, "IP6")):
    for _t, _syn, _extra, _func, _help in _TYPES:
        _aliases = {"connect": (f"udp{_v}",), "listen": (f"udp{_v}-l",),
                    "datagram": (f"udp{_v}-dgram",), "sendto": (f"udp{_v}-send",)}.get(_t, ())
        address(f"udp{_v}-{_t}", _syn, _BASE.format(ip=_ip) + _extra, _opener(_func, _pf),
                "UDP", _help + (f" (IPv{_v})" if _v else ""), aliases=_aliases)
