"""ACCEPT-FD:<fdnum> (alias ACCEPT; new in socat 1.8): accept() on an inherited
listening socket, as systemd's socket activation hands one over::

    systemd-socket-activate -l 8080 --inetd=no pysocat ACCEPT-FD:3 ...

The socket is already bound and listening: pysocat only accepts, with the
listeners' checks (range, tcpwrap, sourceport, lowport), ``fork`` (a child per
connection, ``max-children``) and SOCAT_SOCKADDR/SOCAT_PEERADDR in the
environment (no ports: socat does not know the protocol here).
"""
from __future__ import annotations

import errno
import os

from ..errors import SocatError
from ..log import LOG
from .base import DIRECTION, listening
from .registry import address


def _fdnum(text: str) -> int:
    """socat's strtoul(text, &end, 0): an error for anything left over."""
    from .sockets import _strtoul
    val, rest = _strtoul(text)
    if rest or not text.strip():
        raise SocatError(f'error in FD number "{text}"')
    return int(val or 0)


def open_accept_fd(ctx, row, spec, opts, params):
    import fcntl
    import socket
    from . import sockets as S
    fd = _fdnum(params[0])
    try:
        fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)   # not for our children
    except OSError as e:
        LOG.warn(f"fcntl({fd}, F_SETFD, FD_CLOEXEC): {e.strerror}")
    try:
        lsock = socket.socket(fileno=fd)
    except OSError as e:
        LOG.warn(f"getsockname(fd={fd}, ...): {e.strerror}")
        LOG.notice(f"using file descriptor {fd} accepting a connection for "
                   f"{DIRECTION[ctx.mode]}")
        raise SocatError(f"accept({fd}, {{}}, {{}}): {e.strerror}") from None
    try:
        us = S.sockaddr_of(lsock)
    except OSError as e:
        LOG.warn(f"getsockname(fd={fd}, ...): {e.strerror}")
        us = None
    LOG.notice(f"using file descriptor {fd} accepting a connection for {DIRECTION[ctx.mode]}")
    conn, peer, local = _accept(ctx, opts, lsock, us)
    ep = S.SocketEndpoint(conn, spec.raw, peer=peer, local=local)
    return S.finish_socket(ep, opts)


def _accept(ctx, opts, lsock, us):
    """socat's _xioopen_accept_fd(): the accept loop of the listeners, on a
    socket someone else bound."""
    import select
    import socket
    from . import sockets as S
    dofork = bool(opts.get("fork"))
    maxchildren = int(opts.get("max-children", 0) or 0)
    if not dofork and maxchildren:
        raise SocatError("option max-children not allowed without option fork")
    mgr = S.ForkManager(maxchildren, S.children_shutup(opts)) if dofork else None
    family = lsock.family
    checker = S.PeerCheck.from_opts(opts, family,
                                    ports=family in (socket.AF_INET, socket.AF_INET6))
    if checker.wrap is not None:
        checker.wrap.fd = lsock.fileno()
    listening(ctx, lsock)
    if mgr is not None:
        mgr.install()
    name = us.info() if us is not None else "NULL"
    LOG.start_loop("accept")        # -lm: syslog from here on, as the listeners
    try:
        while True:
            LOG.notice(f"listening on {name}")
            if mgr is not None:
                mgr.wait_readable([lsock.fileno()])
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
                peer = S.sockaddr_of(conn, peer=True)
            except OSError as e:
                LOG.notice(f"getpeername({conn.fileno()}, {{}}): {e.strerror}")
            try:
                local = S.sockaddr_of(conn)
            except OSError as e:
                LOG.warn(f"getsockname({conn.fileno()}, {{}}): {e.strerror}")
            LOG.info(f"accept({lsock.fileno()}, {{{family}, "
                     f"{peer.info() if peer else 'NULL'}}}, "
                     f"{peer.salen() if peer else 0}) -> {conn.fileno()}")
            LOG.notice(f"accepting connection from {peer.info() if peer else 'NULL'} "
                       f"on {local.info() if local else 'NULL'}")
            if peer is not None and local is not None and not checker.check(peer, local):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError as e:
                    LOG.info(f"shutdown({conn.fileno()}, 2): {e.strerror}")
                conn.close()
                continue
            if peer is not None:
                LOG.info(f"permitting connection from {peer.info()}")
            if mgr is None:
                LOG.info(f"close({lsock.fileno()})")
                lsock.close()
                break
            pid = mgr.fork(close_in_child=(lsock,))
            if pid == 0:
                break
            LOG.info(f"close({conn.fileno()})")
            conn.close()
            mgr.wait_slot()
            LOG.info("still listening")
    except BaseException:
        try:
            lsock.close()
        except OSError:
            pass
        raise
    S.apply_phase(opts, conn, "FD", "PASTSOCKET", "CONNECTED")
    # socat passes protocol 0 here: addresses, but no ports
    S.set_sockaddr_env("SOCK", local, 0)
    S.set_sockaddr_env("PEER", peer, 0)
    return conn, peer, local


def _steps(ctx):
    text = ctx.params[0]
    _fdnum(text)
    out = [("FD", "fcntl({fdnum}, F_SETFD, FD_CLOEXEC): the listening socket stays out of "
                  "children"),
           ("FD", "getsockname({fdnum}): the address it listens on (bound by whoever passed it)"),
           ("ACCEPT", "accept({fdnum}): wait for a connection; range, tcpwrap, sourceport and "
                      "lowport may refuse it")]
    if ctx.get("fork"):
        out.append(("FORK", "fork(): a child handles the connection, the parent accepts the "
                            "next one"))
    out.append(("CONNECTED", "SOCAT_SOCKADDR and SOCAT_PEERADDR are set (no ports)"))
    ctx.advise("accept-fd-inherited", "the descriptor must be a socket already bound and "
               "listening, passed by the parent (systemd-socket-activate -l PORT --inetd=no "
               "pysocat ACCEPT-FD:3 ...); pysocat neither binds nor listens")
    return out


address("accept-fd", ":<fdnum>",
        "FD,SOCKET,CHILD,RETRY,RANGE,UNIX,IP4,IP6,UDP,TCP,SCTP,DCCP,UDPLITE", open_accept_fd,
        "LISTEN", "accept() connections on an inherited listening socket (socket activation)",
        aliases=("accept",), steps=_steps, transport="stream", since="1.8")
