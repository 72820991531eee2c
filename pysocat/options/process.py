"""Process options (socat's GROUP_PROCESS) and the per-address lock files.

- ``chroot``, ``setuid``, ``setgid``, ``su`` (substuser) act late in the open
  (phases LATE/LATE2): in socat's own process, or — for EXEC/SYSTEM — in the
  child before the program starts;
- their ``-early`` forms act before the address is opened (phase EARLY), always
  in socat's own process;
- ``su-d`` (substuser-delayed) remembers the user at the start and switches at
  the end of the open (after a listener accepted; in an EXEC child);
- ``sighup``/``sigint``/``sigquit`` (EXEC/SYSTEM): socat passes the signal
  to the program instead of exiting (``N socatsignalpass(1)``);
- ``lockfile``/``waitlock`` take socat's lock file (a link to a file holding
  the pid) before the address is opened and remove it when it is closed.

The generic ``process`` applier runs each row once (finish() applies phases
per descriptor); ``before_open``/``after_open`` are the INIT/EARLY hook the
core calls around every opener.
"""
from __future__ import annotations

import os

from ..errors import SocatError
from ..log import LOG
from .table import opt, register_applier

opt("chroot-early", "STRING", "PROCESS", "EARLY", ("process", "chroot"),
    "change the root directory before the address is opened")
opt("chroot", "STRING", "PROCESS", "LATE", ("process", "chroot"),
    "change the root directory after the address is opened (EXEC: the child's)")
opt("setgid-early", "GID_T", "PROCESS", "EARLY", ("process", "setgid"),
    "set the group id before the address is opened")
opt("setgid", "GID_T", "PROCESS", "LATE2", ("process", "setgid"),
    "set the group id after the address is opened (EXEC: the child's)")
opt("setuid-early", "UID_T", "PROCESS", "EARLY", ("process", "setuid"),
    "set the user id before the address is opened")
opt("setuid", "UID_T", "PROCESS", "LATE2", ("process", "setuid"),
    "set the user id after the address is opened (EXEC: the child's)")
opt("substuser-early", "UID_T", "PROCESS", "EARLY", ("process", "su"),
    "become this user (groups, uid, USER/HOME/SHELL) before the open", ("su-e",), nick="su-e")
opt("substuser", "UID_T", "PROCESS", "LATE2", ("process", "su"),
    "become this user after the open (EXEC: the child)", ("su",), nick="su")
opt("substuser-delayed", "UID_T", "PROCESS", "INIT", ("process", "su-d"),
    "become this user at the end of the open (after accept)", ("su-d",), nick="su-d")
opt("sighup", "CONST", "PARENT", "LATE", ("addr",),
    "pass SIGHUP to the program instead of ending socat")
opt("sigint", "CONST", "PARENT", "LATE", ("addr",),
    "pass SIGINT to the program instead of ending socat")
opt("sigquit", "CONST", "PARENT", "LATE", ("addr",),
    "pass SIGQUIT to the program instead of ending socat")
opt("lockfile", "STRING", "APPL", "INIT", ("lock", False),
    "fail unless this lock file can be created; removed at close")
opt("waitlock", "STRING", "APPL", "INIT", ("lock", True),
    "wait until this lock file can be created; removed at close")

_delayed = None   # (uid, gid, groups, name, dir, shell) of a pending su-d


def _pwd(uid: int):
    import pwd
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise SocatError(f"getpwuid({uid}): no such user") from None


def _setenv_user(pw) -> None:
    os.environ.update(USER=pw.pw_name, LOGNAME=pw.pw_name, HOME=pw.pw_dir,
                      SHELL=pw.pw_shell)


def _call(text: str, func, *args) -> None:
    try:
        func(*args)
    except OSError as e:
        raise SocatError(f"{text}: {e.strerror}") from None


# what the rest of a run may import lazily: after chroot (or as a user who
# cannot read the installation) an import would fail
_PRELOAD = ("warnings", "select", "termios", "fcntl", "struct", "socket", "errno",
            "signal", "time", "pwd", "grp", "shlex", "ipaddress", "threading", "re",
            "random", "array", "syslog",
            "pysocat.relay.engine", "pysocat.relay.dump", "pysocat.relay.convert",
            "pysocat.addresses.ttysave", "pysocat.addresses.pty", "pysocat.addresses.exec")


_in_child = False   # an EXEC child only execs afterwards: it needs little


def _preload() -> None:
    import importlib
    if _in_child:
        import warnings  # noqa: F401  (os.execvpe imports it)
        return
    from ..addresses import registry
    from . import table
    registry.load_all()
    table.load_all()
    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _apply_process(fd: int, it) -> None:
    """socat's OFUNC_SPEC cases of applyopts() for the PROCESS group (once)."""
    global _delayed
    if it.used:
        return
    what, val = it.row.apply[1], it.value
    if what != "su-d":
        _preload()
    if what == "chroot":
        _call(f'chroot("{val}")', os.chroot, val)
        try:
            os.chdir("/")
        except OSError as e:
            LOG.error(f'chdir("/"): {e.strerror}')
    elif what == "setgid":
        _call(f"setgid({val})", os.setgid, val)
    elif what == "setuid":
        _call(f"setuid({val})", os.setuid, val)
    elif what == "su":
        pw = _pwd(val)
        _call(f"initgroups({pw.pw_name}, {pw.pw_gid})", os.initgroups, pw.pw_name, pw.pw_gid)
        _call(f"setgid({pw.pw_gid})", os.setgid, pw.pw_gid)
        _call(f"setuid({val})", os.setuid, val)
        _setenv_user(pw)
    elif what == "su-d":
        pw = _pwd(val)
        groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
        _delayed = (val, pw.pw_gid, groups, pw)


def set_delayed_user() -> None:
    """socat's _xioopen_setdelayeduser(): a pending su-d takes effect now."""
    global _delayed
    if _delayed is None:
        return
    uid, gid, groups, pw = _delayed
    _delayed = None
    _preload()
    _call(f"setgroups({len(groups)}, 0x{id(groups):x})", os.setgroups, groups)
    _call(f"setgid({gid})", os.setgid, gid)
    _call(f"setuid({uid})", os.setuid, uid)
    _setenv_user(pw)


register_applier("process", _apply_process)


def is_late_process(row) -> bool:
    """The rows an EXEC/SYSTEM child applies instead of socat (LATE, LATE2)."""
    return row.apply[0] == "process" and row.phase in ("LATE", "LATE2")


def delayed_user_pending() -> bool:
    """A substuser-delayed waits for the program's child to take effect."""
    return _delayed is not None


def apply_in_child(copts) -> None:
    """In an EXEC child: chroot (LATE), then uid/gid/su (LATE2), then su-d."""
    global _in_child
    _in_child = True
    for phase in ("LATE", "LATE2"):
        copts.apply(phase, -1)
    set_delayed_user()


def around_open(opts, opener):
    """One address's open with its INIT/EARLY and end-of-open process steps.

    Before: the lock (lockfile/waitlock), su-d noted, the -early options.
    After: a pending su-d takes effect (not for EXEC/SYSTEM: their child did
    it), and the lock is removed when the endpoint closes.
    """
    from ..versions import ACTIVE
    if ACTIVE.umask_every_address:
        umask = opts.take(lambda row: row.name == "umask")
        if umask.items:
            return _with_umask(umask.get("umask"), opts, opener)
    locks = [it for it in opts.items if it.row.apply[0] == "lock"]
    if len(locks) > 1:
        raise SocatError("only one use of options lockfile and waitlock allowed")
    path = None
    if locks:
        locks[0].used = True
        from .. import lockfile
        lockfile.take(locks[0].value, locks[0].row.apply[1])
        path = locks[0].value
    try:
        for it in opts.items:
            if it.row.apply[0] == "process" and it.row.phase in ("INIT", "EARLY"):
                _apply_process(-1, it)
                it.used = True
        ep = opener()
        if not getattr(ep, "children", None):
            set_delayed_user()
    except BaseException:
        if path:
            _unlock(path)
        raise
    if path:
        ep.on_close.append(lambda: _unlock(path))
    return ep


def _with_umask(mask: int, opts, opener):
    """1.8.1.3 (xioopen.c:793-808): the umask holds only while this address opens."""
    LOG.info(f"changing umask to 0{mask:3o}")
    orig = os.umask(mask)
    try:
        return around_open(opts, opener)
    finally:
        LOG.info(f"restoring umask to 0{orig:3o}")
        os.umask(orig)


def _unlock(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- sighup, sigint, sigquit: pass the signal to EXEC/SYSTEM children ------------
_PASS: dict = {}   # signal number -> pids (socat's sig_pids)


def _pass_signal(signum, frame) -> None:
    LOG.notice(f"socatsignalpass({signum})")
    for pid in _PASS.get(signum, ()):
        try:
            os.kill(pid, signum)
        except OSError as e:
            LOG.warn(f"kill({pid}, {signum}): {e.strerror}")


def pass_signals(opts, pid: int) -> None:
    """socat's applyopts_signal(): register ``pid`` for the given signals."""
    import signal
    for name, signum in (("sighup", signal.SIGHUP), ("sigint", signal.SIGINT),
                         ("sigquit", signal.SIGQUIT)):
        if opts.get(name):
            if signum not in _PASS:
                signal.signal(signum, _pass_signal)
            _PASS.setdefault(signum, []).append(pid)
