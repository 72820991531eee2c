"""UNIX domain sockets: UNIX-CONNECT/LISTEN/SENDTO/RECV/RECVFROM/CLIENT and
the Linux abstract namespace variants ABSTRACT-*.

socat's xio-unix.c on the shared socket layer (sockets.py). Listeners and
receivers refuse an existing file ("… exists") unless ``unlink-early``, and
remove their file when closed (``unlink-close``, default on; a forked child
never removes it). ``perm``/``user``/``group`` act on the socket file after
bind(); a client takes file options only together with ``bind``.
"""
from __future__ import annotations

import errno
import os

from ..errors import SocatError
from ..log import LOG
from .registry import EXTRA_FEATURES, address

SUN_PATH = 108
_NAMED_OPTS = ("perm", "user", "group", "unlink-early", "unlink", "unlink-late", "umask")


def _sockmod():
    from . import sockets
    return sockets


# unix-tightsocklen of the address being opened (socat's para.socket.un.tight)
_tight = [True]


def _tightsocklen(opener):
    """Run ``opener`` with the address's unix-tightsocklen (default 1) in force."""
    def wrapped(ctx, row, spec, opts, params):
        saved = _tight[0]
        _tight[0] = bool(opts.get("unix-tightsocklen", 1))
        try:
            return opener(ctx, row, spec, opts, params)
        finally:
            _tight[0] = saved
    return wrapped


def unix_addr(name: str, abstract: bool):
    """socat's xiosetunix(): a SockAddr for the path/name.

    unix-tightsocklen=0 gives the whole sun_path: an abstract name is then
    padded with NULs to 107 bytes (the kernel keeps them: they are part of the
    name). A file system path ends at its NUL either way.
    """
    from ..versions import ACTIVE
    S = _sockmod()
    raw = os.fsencode(name)
    if abstract:
        if len(raw) >= SUN_PATH:
            if not ACTIVE.unix_path_truncates:
                raise SocatError(f"socket address {len(raw) + 1} characters long, "
                                 f"max length is {SUN_PATH}")
            LOG.warn(f"socket address {len(raw) + 1} characters long, "
                     f"truncating to {SUN_PATH}")
            raw = raw[:SUN_PATH - 1]
        if not _tight[0]:
            return S.SockAddr(S.AF_UNIX, b"\0" + raw + bytes(SUN_PATH - 1 - len(raw)))
        return S.SockAddr(S.AF_UNIX, b"\0" + raw)
    if len(raw) > SUN_PATH:
        if not ACTIVE.unix_path_truncates:
            raise SocatError(f"unix socket address {len(raw)} characters long, "
                             f"max length is {SUN_PATH}")
        LOG.warn(f"unix socket address {len(raw)} characters long, "
                 f"truncating to {SUN_PATH}")
        raw = raw[:SUN_PATH]
    if len(raw) == SUN_PATH:
        # a full sun_path without a NUL: Python refuses it, so the raw sockaddr
        return S.SockAddr(S.AF_UNIX, raw, raw=raw)
    return S.SockAddr(S.AF_UNIX, name)


def _unlink_early(name: str) -> None:
    try:
        os.unlink(name)
    except OSError as e:
        if e.errno == errno.ENOENT:
            LOG.warn(f'unlink("{name}"): {e.strerror}')
        else:
            raise SocatError(f'unlink("{name}"): {e.strerror}') from None


def _unlink_close(name: str) -> None:
    try:
        os.unlink(name)
    except OSError as e:
        LOG.warn(f'unlink("{name}"): {e.strerror}')


def _umask(opts) -> None:
    mask = opts.get("umask")
    if mask is not None:
        os.umask(mask)


def _named_after_bind(opts):
    """perm/user/group on the socket file (socat's applyopts_named PH_FD)."""
    def apply(sock, us):
        path = us.addr if isinstance(us.addr, str) else None
        if not path:
            return
        perm = opts.get("perm")
        if perm is not None:
            try:
                os.chmod(path, perm)
            except OSError as e:
                raise SocatError(f'chmod("{path}", 0{perm:o}): {e.strerror}') from None
        uid = opts.get("user")
        gid = opts.get("group")
        if uid is not None or gid is not None:
            u = -1 if uid is None else uid
            g = -1 if gid is None else gid
            try:
                os.chown(path, u, g)
            except OSError as e:
                raise SocatError(f'chown("{path}", {u}, {g}): {e.strerror}') from None
    return apply


def _prepare_server(name: str, opts, abstract: bool) -> bool:
    """unlink-early or the "exists" check; returns unlink-close."""
    if abstract:
        return False
    unlink_close = bool(opts.get("unlink-close", 1))
    if opts.get("unlink-early"):
        _unlink_early(name)
    elif os.path.lexists(name):
        raise SocatError(f'"{name}" exists')
    return unlink_close


_BOTH = {"connect": "unix-bind-tempnam", "sendto": "bind-tempnam",
         "client": "unix-bind-tempname"}     # socat's three wordings


def _client_bind(opts, abstract: bool, kind: str = "connect"):
    """The ``bind`` (or 1.8's ``bind-tempname``) of a UNIX client; file options need it."""
    text = opts.get("bind")
    if opts.has("unix-bind-tempname"):
        pattern = opts.get("unix-bind-tempname")
        if text is not None:
            raise SocatError(f"do not use both options bind and {_BOTH[kind]}")
        return unix_addr(tempname(pattern, abstract), abstract)
    if text is None:
        for n in _NAMED_OPTS:
            if opts.has(n):
                raise SocatError(f'Option "{n}" only with bind option')
        return None
    return unix_addr(text, abstract)


_TMPCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def tempname(pattern, abstract: bool) -> str:
    """socat 1.8's xio_tempnam(): XXXXXX becomes six random characters; a file
    system name is tried until none exists (TMP_MAX times)."""
    import random
    if not pattern:
        pattern = "/tmp/socat-bind.XXXXXX"
    at = pattern.find("XXXXXX")
    if len(pattern) < 6 or at < 0:
        LOG.warn(f'xio_tempnam("{pattern}"): path pattern is not valid')
        raise SocatError(f'tempnam("{pattern}"): {os.strerror(errno.EINVAL)}')
    LOG.debug(f'xio_tempnam("{pattern}"): trying path names, suppressing stat() logs')
    rnd = random.SystemRandom()
    for _ in range(238328):                      # glibc's TMP_MAX
        name = (pattern[:at] + "".join(rnd.choice(_TMPCHARS) for _ in range(6))
                + pattern[at + 6:])
        if abstract or not os.path.lexists(name):
            return name
    raise SocatError(f'tempnam("{pattern}"): {os.strerror(errno.EEXIST)}')


def _endpoint(sock, spec, opts, peer=None, local=None, datagram=False):
    S = _sockmod()
    ep = S.SocketEndpoint(sock, spec.raw, datagram=datagram, peer=peer, local=local)
    return ep


def _finish(ep, opts):
    return _sockmod().finish_socket(ep, opts)


# --- openers -----------------------------------------------------------------

def open_listen(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        S = _sockmod()
        import socket
        name = params[0]
        if opts.has("bind"):
            from ..versions import ACTIVE
            raise SocatError(ACTIVE.unix_listen_bind_error.format(addr=row.name.upper(), name=name))
        pf = S.socket_pf(opts, S.AF_UNIX)
        _umask(opts)
        us = unix_addr(name, abstract)
        unlink_close = _prepare_server(name, opts, abstract)
        me = os.getpid()
        try:
            sock, peer, local = S.listen_accept(ctx, opts, pf, socket.SOCK_STREAM, 0, us,
                                                after_bind=_named_after_bind(opts))
        except BaseException:
            # a truncated name (1.8) was bound under another name: socat still
            # unlinks the one given, and warns
            if unlink_close and os.getpid() == me and (
                    os.path.exists(name) or len(os.fsencode(name)) > SUN_PATH):
                _unlink_close(name)
            raise
        ep = _endpoint(sock, spec, opts, peer, local)
        if unlink_close and os.getpid() == me:
            ep.on_close.append(lambda: _unlink_close(name))
        return _finish(ep, opts)
    return opener


def _connect_loop(ctx, opts, pf, socktype, them, us):
    """UNIX connect with retry/fork; socat adds 'connect(, AF=1 …)' errors."""
    S = _sockmod()
    policy = S.RetryPolicy.from_opts(opts)
    dofork = bool(opts.get("fork"))
    mgr = S.ForkManager(shutup=S.children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    while True:
        try:
            sock = S.connect_socket(opts, pf, socktype, 0, them, us)
        except SocatError as e:
            err = getattr(e, "errno", None)
            text = (f"connect(, {them.info()}, {them.salen()}): {os.strerror(err)}"
                    if err else e.text)
            if policy.more():
                LOG.info(text)
                policy.consume()
                policy.sleep()
                continue
            raise SocatError(text) from None
        if mgr is None:
            return sock
        if mgr.fork() == 0:
            return sock
        sock.close()
        S.fork_pause(mgr, policy, 0)


class _Client:
    """What UNIX-CONNECT and UNIX-SENDTO share: the peer, the bind address, and
    unlink-close of a bound client socket file (on by default)."""

    def __init__(self, opts, name, abstract, kind="connect"):
        self.S = S = _sockmod()
        self.pf = S.socket_pf(opts, S.AF_UNIX)
        self.them = unix_addr(name, abstract)
        self.unlink_close = bool(opts.get("unlink-close", 1)) if not abstract else False
        self.us = _client_bind(opts, abstract, kind)

    def finish(self, ep, opts):
        us = self.us
        if self.unlink_close and us is not None and isinstance(us.addr, str):
            ep.on_close.append(lambda: _unlink_close(us.addr))
        return _finish(ep, opts)


def open_connect(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        import socket
        c = _Client(opts, params[0], abstract)
        LOG.notice(f"opening connection to {c.them.info()}")
        sock = _connect_loop(ctx, opts, c.pf, socket.SOCK_STREAM, c.them, c.us)
        return c.finish(_endpoint(sock, spec, opts, c.them, _local(sock)), opts)
    return opener


def _local(sock):
    try:
        return _sockmod().sockaddr_of(sock)
    except OSError:
        return None


def open_sendto(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        import socket
        c = _Client(opts, params[0], abstract, "sendto")
        sock = c.S.dgram_socket(opts, c.pf, socket.SOCK_DGRAM, 0, c.us)
        ep = _endpoint(sock, spec, opts, c.them, _local(sock), datagram=True)
        ep.sendto = c.them
        ep.recvfrom = True
        return c.finish(ep, opts)
    return opener


def _recv_common(ctx, opts, params, abstract, pf_default):
    S = _sockmod()
    import socket
    name = params[0]
    pf = S.socket_pf(opts, pf_default)
    _umask(opts)
    us = unix_addr(name, abstract)
    if opts.get("bind") is not None:
        us = unix_addr(opts.get("bind"), abstract)
    unlink_close = _prepare_server(name, opts, abstract)
    sock = S.recv_socket(opts, pf, socket.SOCK_DGRAM, 0, us, after_bind=_named_after_bind(opts))
    return sock, us, unlink_close, name


def open_recv(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        sock, us, unlink_close, name = _recv_common(ctx, opts, params, abstract, _sockmod().AF_UNIX)
        LOG.start_loop("recvfrom")
        ep = _endpoint(sock, spec, opts, None, us, datagram=True)
        ep.recvfrom = True
        if unlink_close:
            ep.on_close.append(lambda: _unlink_close(name))
        return _finish(ep, opts)
    return opener


def open_recvfrom(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        S = _sockmod()
        me = os.getpid()
        sock, us, unlink_close, name = _recv_common(ctx, opts, params, abstract, S.AF_UNIX)
        try:
            peer, forked = S.recvfrom_wait(ctx, opts, sock, us, 0)
        except BaseException:
            if unlink_close and os.getpid() == me:
                _unlink_close(name)
            sock.close()
            raise
        ep = _endpoint(sock, spec, opts, peer, us, datagram=True)
        ep.howtoend = "none"
        ep.recvfrom = True
        ep.reply_to_sender = True
        ep.sendto = peer if peer is not None and peer.addr else None
        ep.oneshot = True
        ep.notify_parent = forked
        if unlink_close and not forked:
            ep.on_close.append(lambda: _unlink_close(name))
        return _finish(ep, opts)
    return opener


def open_client(abstract: bool):
    def opener(ctx, row, spec, opts, params):
        S = _sockmod()
        import socket
        name = params[0]
        pf = S.socket_pf(opts, S.AF_UNIX)
        socktype = opts.get("so-type") or 0
        them = unix_addr(name, abstract)
        unlink_close = bool(opts.get("unlink-close", 0)) if not abstract else False
        us = _client_bind(opts, abstract, "client")
        from ..versions import ACTIVE
        # 1.8: an abstract name refusing a stream is tried as the next type too
        other = (errno.ECONNREFUSED,) if abstract and ACTIVE.abstract_client_refused_next \
            else ()
        sock = None
        last = None
        for st in ([socktype] if socktype else [socket.SOCK_STREAM, socket.SOCK_SEQPACKET]):
            try:
                sock = S.connect_socket(opts, pf, st, 0, them, us)
                break
            except SocatError as e:
                last = e
                if getattr(e, "errno", None) not in (errno.EPROTOTYPE,) + other or socktype:
                    break
                if us is not None and isinstance(us.addr, str):
                    _unlink_quiet(us.addr)
        datagram = False
        if sock is None and last is not None and getattr(last, "errno", None) in \
                (errno.EPROTOTYPE, errno.EPROTONOSUPPORT) + other and not socktype:
            try:
                sock = S.dgram_socket(opts, pf, socket.SOCK_DGRAM, 0, us)
                datagram = True
            except SocatError as e:
                last = e
        if sock is None:
            err = getattr(last, "errno", None)
            if us is not None and isinstance(us.addr, str):
                _unlink_quiet(us.addr)
            from ..versions import ACTIVE
            what = f"{row.name.upper()}: " if ACTIVE.unix_client_error_defname else "UNIX-CLIENT:"
            raise SocatError(f"{what}{name}: {os.strerror(err) if err else last.text}")
        ep = _endpoint(sock, spec, opts, them, _local(sock), datagram=datagram)
        if datagram:
            ep.sendto = them
            ep.recvfrom = True
        if unlink_close:
            ep.on_close.append(lambda: _unlink_close(name))
        return _finish(ep, opts)
    return opener


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_BASE = "FD,SOCKET,{named}RETRY,UNIX"
for _prefix, _abstract, _feature in (("unix", False, "UNIX"), ("abstract", True, "ABSTRACT_UNIXSOCKET")):
    _named = "" if _abstract else "NAMED,"
    _g = _BASE.format(named=_named)
    address(f"{_prefix}-connect", ":<filename>", _g, _tightsocklen(open_connect(_abstract)), _feature,
            "connect to a UNIX stream socket", aliases=() if _abstract else ("local",))
    address(f"{_prefix}-listen", ":<filename>", _g.replace("RETRY", "LISTEN,CHILD,RETRY"),
            _tightsocklen(open_listen(_abstract)), _feature, "accept UNIX stream connections",
            aliases=() if _abstract else ("unix-l",))
    address(f"{_prefix}-sendto", ":<filename>", _g, _tightsocklen(open_sendto(_abstract)), _feature,
            "send datagrams to a UNIX socket", aliases=() if _abstract else ("unix-send",))
    address(f"{_prefix}-recv", ":<filename>", _g, _tightsocklen(open_recv(_abstract)), _feature,
            "receive datagrams on a UNIX socket")
    address(f"{_prefix}-recvfrom", ":<filename>", _g.replace("RETRY", "CHILD,RETRY"),
            _tightsocklen(open_recvfrom(_abstract)), _feature,
            "receive a datagram, reply to its sender")
    address(f"{_prefix}-client", ":<filename>", _g, _tightsocklen(open_client(_abstract)), _feature,
            "connect to a UNIX stream, seqpacket or datagram socket",
            aliases=("abstract",) if _abstract else ("unix",))

EXTRA_FEATURES.update({"LISTEN", "RETRY"})
