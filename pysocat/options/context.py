"""Per-address context of socat 1.8: ``netns=`` and ``chdir=``/``cd=``.

Both hold only while their address opens (socat 1.8.1.3 xioopen.c:780-830): the
process enters the network namespace ``/run/netns/<name>`` (what ``ip netns add``
makes), changes directory, opens the address, then goes back. Sockets, TUN
devices and children made meanwhile stay in that namespace, so one pysocat can
relay between two namespaces. Order as socat: namespace, directory, then the
umask of the address (options/process.py), undone in reverse.
"""
from __future__ import annotations

import os

from ..errors import SocatError
from ..log import LOG
from .table import opt

CLONE_NEWNET = 0x40000000

opt("netns", "STRING", "PROCESS", "INIT", ("context",),
    "open this address inside the network namespace /run/netns/<name>", since="1.8")
opt("chdir", "STRING", "ADDR", "INIT", ("context",),
    "change to this directory while the address opens", ("cd",), nick="cd", since="1.8")


def with_context(opts, opener, experimental: bool = False):
    """Run ``opener()`` inside the address's namespace and directory, if it has them."""
    netns = chdir = None
    for it in opts.items:
        if it.row.apply[0] == "context":
            it.used = True
            if it.row.name == "netns":
                netns = it.value
            else:
                chdir = it.value
    if netns is None and chdir is None:
        return opener()
    saved_ns = _enter_netns(netns, experimental) if netns is not None else None
    try:
        saved_dir = _enter_dir(chdir) if chdir is not None else None
        try:
            return opener()
        finally:
            if saved_dir is not None:
                try:
                    os.chdir(saved_dir)
                except OSError as e:
                    raise SocatError(f'chdir("{saved_dir}"): {e.strerror}') from None
    finally:
        if saved_ns is not None:
            _reset_netns(saved_ns)


def _enter_netns(name: str, experimental: bool) -> int:
    """Keep a descriptor of the current namespace, then setns() into ``name``."""
    own = f"/proc/{os.getpid()}/ns/net"
    try:
        old = os.open(own, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SocatError(f"open({own}, O_RDONLY|O_CLOEXEC): {e.strerror}") from None
    if not experimental:
        LOG.warn('option "netns" is experimental')
    path = f"/run/netns/{name}"
    LOG.info(f'switching to net namespace "{name}"')
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        os.close(old)
        raise SocatError(f"open({path}, O_RDONLY|O_CLOEXEC): {e.strerror}") from None
    try:
        _setns(fd, CLONE_NEWNET)
    except OSError as e:
        os.close(old)
        raise SocatError(f"setns({fd}, CLONE_NEWNET): {e.strerror}") from None
    finally:
        os.close(fd)
    return old


def _setns(fd: int, nstype: int) -> None:
    """setns(2): os.setns from Python 3.12 on, libc's before."""
    if hasattr(os, "setns"):
        return os.setns(fd, nstype)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _reset_netns(old: int) -> None:
    try:
        _setns(old, CLONE_NEWNET)
    except OSError as e:
        raise SocatError(f"xio_reset_namespace({old}): {e.strerror}") from None
    finally:
        os.close(old)


def _enter_dir(path: str) -> str:
    try:
        here = os.getcwd()
    except OSError as e:
        raise SocatError(f"getcwd(<ptr>, PATH_MAX): {e.strerror}") from None
    try:
        os.chdir(path)
    except OSError as e:
        raise SocatError(f'chdir("{path}"): {e.strerror}') from None
    return here
