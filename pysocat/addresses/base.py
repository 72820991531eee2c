"""What every address family shares: the open context and the late options.

Families open their descriptors and return an Endpoint; ``finish`` then applies
the options every descriptor takes at the end of an open (FD phase and LATE:
fcntl flags, ownership, the relay's APPL settings, shut-* behaviour).
"""
from __future__ import annotations

import os
from .._struct import dataclass, field

from ..errors import SocatError
from ..relay.endpoint import LT_CR, LT_CRNL, Endpoint

# access modes an address is opened with (socat's XIO_RDONLY/WRONLY/RDWR)
READ, WRITE, RDWR = 0, 1, 2
DIRECTION = ("reading", "writing", "reading and writing")

# socat's filetypenames[], indexed by (st_mode & S_IFMT) >> 12
FILETYPES = ("undef", "named pipe", "character device", "undef",
             "block device", "undef", "directory", "undef",
             "regular file", "undef", "symbolic link", "undef",
             "local socket", "undef", "undef", '"MT"?')


@dataclass
class OpenContext:
    """Everything an opener needs besides its spec and options."""
    mode: int = RDWR
    index: int = 1               # first or second address on the command line
    prefer_ip: str | None = None  # "4" / "6" from -4 / -6
    config: object = None        # the CLI's Config, for families that need it
    extra: dict = field(default_factory=dict)


def default_ip(ctx=None) -> str:
    """xioparms.default_ip, the IP version of listeners without one: -0/-4/-6,
    else SOCAT_DEFAULT_LISTEN_IP, else '4' ('0': no preference, IPv6 first)."""
    p = getattr(ctx, "prefer_ip", None) if ctx is not None else None
    if p:
        return p
    env = os.environ.get("SOCAT_DEFAULT_LISTEN_IP")
    if env is None:
        return "4"
    if env[:1] in ("4", "6"):
        return env[:1]
    from ..versions import ACTIVE
    return "0" if ACTIVE.listen_ip_env_zero else "4"


def preferred_ip(ctx=None) -> str:
    """xioparms.preferred_ip: '4', '6' or '0' (take the resolver's first result)."""
    p = getattr(ctx, "prefer_ip", None) if ctx is not None else None
    if p:
        return p
    env = os.environ.get("SOCAT_PREFERRED_RESOLVE_IP")
    if env is not None:
        return env[:1] if env[:1] in ("4", "6") else "0"
    return "4"


def filetype(st_mode: int) -> str:
    return FILETYPES[(st_mode & 0o170000) >> 12]


def os_error(call: str, exc: OSError) -> SocatError:
    return SocatError(f"{call}: {exc.strerror}")


def finish(ep: Endpoint, opts, fd: int | None = None,
           phases=("FD", "LATE", "LATE2")) -> Endpoint:
    """Apply FD and LATE phase options and the relay settings to ``ep``
    (``phases``: those the opener has not applied itself)."""
    fds = [f for f in {ep.rfd, ep.wfd} if f is not None and f >= 0] if fd is None else [fd]
    for phase in phases:
        for f in fds:
            opts.apply(phase, f, again=False)
    ep.ignoreeof = bool(opts.get("ignoreeof", 0))
    ep.readbytes = int(opts.get("readbytes", 0) or 0)
    ep.null_eof = bool(opts.get("null-eof", 0))   # datagram sockets: empty packet = EOF
    ep.cool_write = bool(opts.get("cool-write", 0))
    if opts.get("cr"):
        ep.lineterm = LT_CR
    if opts.get("crnl"):
        ep.lineterm = LT_CRNL
    esc = opts.get("escape")
    if esc is not None:
        ep.escape = esc & 0xFF
    if opts.unused("setsid"):
        os.setsid()               # not consumed by a program child: socat's own
    for shut in ("none", "down", "close", "null"):
        if opts.get(f"shut-{shut}"):
            ep.shut = shut
    if opts.get("end-close"):     # socat's END_CLOSE: close(), never shutdown()
        ep.end_close = True
        if hasattr(ep, "howtoend"):
            ep.howtoend = "close"
    return ep


def apply_named_early(path: str, opts) -> bool:
    """NAMED options before the open: unlink-early, umask. Returns 'exists'."""
    from ..log import LOG
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as e:        # socat's _xioopen_named_early(): only ENOENT is fine
        raise SocatError(f'stat("{path}"): {e.strerror}') from None
    exists = os.path.lexists(path)
    if exists and (opts.get("unlink-early") or opts.get("unlink")):
        LOG.info(f'"{path}" already exists; removing it')
        try:
            os.unlink(path)
        except OSError as e:
            raise SocatError(f'unlink("{path}"): {e.strerror}') from None
        exists = False
    mask = opts.get("umask")
    if mask is not None:
        os.umask(mask)
    if exists:                  # socat: PREOPEN's named options only for a file that exists
        _named_preopen(path, opts)
    else:
        for name in _PREOPEN_NAMED:
            opts.get(name)      # dropped, as socat's dropopts()
    return exists


_PREOPEN_NAMED = ("user-early", "group-early", "perm-early")


def _named_preopen(path: str, opts) -> None:
    """user-early, group-early, perm-early in the order given (applyopts_named)."""
    for it in opts.items:
        if it.row.name not in _PREOPEN_NAMED:
            continue
        it.used = True
        try:
            if it.row.name == "perm-early":
                os.chmod(path, it.value)
            elif it.row.name == "user-early":
                os.chown(path, it.value, -1)
            else:
                os.chown(path, -1, it.value)
        except OSError as e:
            if it.row.name == "perm-early":
                call = f'chmod("{path}", 0{it.value:03o})'
            elif it.row.name == "user-early":
                call = f'chown("{path}", {it.value}, -1)'
            else:
                call = f'chown("{path}", -1, {it.value})'
            raise SocatError(f"{call}: {e.strerror}") from None


def apply_named_late(ep: Endpoint, path: str, opts) -> None:
    """unlink-late now, unlink-close when the endpoint closes."""
    if opts.get("unlink-late"):
        _unlink_quiet(path)
    if opts.get("unlink-close"):
        ep.on_close.append(lambda: _unlink_quiet(path))


def _unlink_quiet(path: str) -> None:
    from ..log import LOG
    try:
        os.unlink(path)
    except OSError as e:
        LOG.warn(f'unlink("{path}"): {e.strerror}')


def listening(ctx: OpenContext, sock) -> None:
    """Listeners call this once bound (and listening), before waiting for a peer.

    ``sock`` is the bound ``socket.socket`` (preferred) or its fd. The library
    API learns the actual address from it (the port the kernel chose for port
    0) and, to stop a relay still waiting in accept()/recvfrom(), shuts it
    down: the wait then fails, and the listener raises its error as usual.
    """
    hook = getattr(ctx.config, "on_listen", None)
    if hook is not None:
        hook(ctx.index, sock)
