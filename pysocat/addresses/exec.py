"""Programs as addresses: EXEC (execvp of a command line) and SYSTEM (sh -c).

socat forks a child connected through a socketpair (default), two pipes
(``pipes``) or a pseudo terminal (``pty``), on the child's fds 0 and 1 (or
``fdin``/``fdout``). ``nofork`` execs the program in socat's own process on
the first address's descriptors. The parent watches the child: a non-zero exit
is socat's ``waitpid(): child N exited with status S``, an E that ends the run
under 1.7.4.4, a W under 1.8.1.3 (the transfer goes on, the exit status becomes
1: versions row ``child_exit_warns``).
"""
from __future__ import annotations

import os
import _signal as signal  # the C module: signal.py imports enum (~5 ms of start-up)
import sys
import time
from typing import NamedTuple

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import DIRECTION, RDWR, READ, WRITE, finish
from .registry import address


GRACE = 0.2   # seconds a child may take to exit after the relay ended


class ChildProcess:
    """A forked child the relay must watch and finally reap."""

    def __init__(self, pid: int, index: int) -> None:
        self.pid = pid
        self.index = index
        self.status: int | None = None
        self.failure: str | None = None   # socat's error text, if the child failed
        self.warned = False               # 1.8: the failure was logged as a W
        self.pty = False                  # its terminal is a pty we hang up at close

    def _record(self, status: int) -> None:
        if os.WIFEXITED(status):
            self.status = os.WEXITSTATUS(status)
            if self.status:
                self.failure = f"waitpid(): child {self.pid} exited with status {self.status}"
        else:
            self.status = 128 + os.WTERMSIG(status)
            self.failure = f"waitpid(): child {self.pid} exited on signal {os.WTERMSIG(status)}"

    def poll_exit(self, from_signal: bool = False) -> bool:
        """Reap without blocking; a failed child is socat's error (1.7.4.4) or
        warning (1.8.1.3: ``warn_failure``, the caller goes on)."""
        if self.status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.status = 0
            return True
        if pid == 0:
            return False
        if from_signal:
            LOG.notice("childdied(): handling signal 17")
            LOG.info(f"exec'd process {self.pid} on socket {self.index} terminated")
        self._record(status)
        if self.failure and not self.warn_failure():
            raise SocatError(self.failure)
        return True

    def warn_failure(self) -> bool:
        """1.8.1.3 (xiosigchld.c:148,158): a failed child is a W and the run's
        exit status becomes 1; False under 1.7.4.4, where it is an E."""
        from ..versions import ACTIVE
        if not ACTIVE.child_exit_warns:
            return False
        if not self.warned:
            self.warned = True
            LOG.warn(self.failure)
        return True

    def reap(self) -> None:
        """At close: the child gets SIGTERM if still running, then is reaped."""
        if self.status is not None:
            return
        try:
            # a child that closed its side is usually exiting: give it a moment
            deadline = time.monotonic() + GRACE
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            while pid == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                os.kill(self.pid, signal.SIGTERM)
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                    if pid:
                        break
                    time.sleep(0.01)
                if pid:
                    self.status = 0     # ended by us: not a failure
                    return
            if pid:
                if self.pty and os.WIFSIGNALED(status) and \
                        os.WTERMSIG(status) == signal.SIGHUP:
                    # hung up by the end of the transfer (its pty master
                    # closed): socat has unregistered the child by then
                    self.status = 128 + signal.SIGHUP
                    return
                self._record(status)
        except (ChildProcessError, ProcessLookupError):
            self.status = 0


# socat's EXEC tokenizer (xio-exec.c with nestlex.c): tokens end at a space;
# '...' quotes hard, "..." softly; (), [], {} nest (their blanks stay inside);
# backslash escapes, with C's \n \t \0 ...; the outer quotes are dropped
_HQUOTES = ("'",)
_SQUOTES = ('"',)
_NESTS = (("'", "'"), ("(", ")"), ("[", "]"), ("{", "}"))
_C_ESC = {"0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
          "v": "\v"}


def _nestlex(s: str, i: int, out: list, ends, hquotes, squotes, nests, drop: bool):
    """Scan s from i into out up to an unquoted, unnested end; (index, status)."""
    n = len(s)
    while i < n:
        if any(s.startswith(e, i) for e in ends):
            return i, 0
        q = next((q for q in hquotes if s.startswith(q, i)), None) if hquotes else None
        if q is not None:
            if not drop:
                out.append(q)
            i += len(q)
            i, rc = _nestlex(s, i, out, (q,), None, None, None, False)
            if rc < 0:
                return i, rc
            if not drop:
                out.append(s[i:i + len(q)])
            i += len(q)
            continue
        q = next((q for q in squotes if s.startswith(q, i)), None) if squotes else None
        if q is not None:
            if not drop:
                out.append(q)
            i += len(q)
            i, rc = _nestlex(s, i, out, (q,), hquotes, squotes, nests, False)
            if rc < 0:
                return i, rc
            if drop:
                if not s.startswith(q, i):
                    return i, 1         # unterminated
            else:
                out.append(s[i:i + len(q)])
            i += len(q)
            continue
        nest = next((p for p in nests if s.startswith(p[0], i)), None) if nests else None
        if nest is not None:
            out.append(s[i:i + len(nest[0])])
            i += len(nest[0])
            i, rc = _nestlex(s, i, out, (nest[1],), hquotes, squotes, nests, False)
            if rc < 0:
                return i, rc
            out.append(s[i:i + len(nest[1])])
            i += len(nest[1])
            continue
        c = s[i]
        i += 1
        if c == "\\":
            if i >= n:
                break
            c = _C_ESC.get(s[i], s[i])
            i += 1
        out.append(c)
    return i, 0


def _split_command(line: str) -> list[str]:
    """The program's argv from EXEC's command line, split as socat does.

    1.8.1.3 skips leading blanks (xio-exec.c:74); 1.7.4.4 takes a leading
    blank as the end of an empty program name (execvp("") then fails)."""
    from ..versions import ACTIVE
    i, n = 0, len(line)
    if ACTIVE.exec_skips_blanks:
        while i < n and line[i].isspace():
            i += 1
    argv = []
    while True:
        tok: list = []
        i, _ = _nestlex(line, i, tok, (" ",), _HQUOTES, _SQUOTES, _NESTS, True)
        argv.append("".join(tok))
        if i >= n or line[i] != " ":
            return argv
        while i < n and line[i] == " ":
            i += 1


def _open_program(ctx, row, spec, opts, command: str, is_system: bool, run=None):
    """``run``: what the child does instead of exec'ing (SHELL's execl), given
    the environment; it never returns."""
    usepty = bool(opts.get("pty"))
    usepipes = bool(opts.get("pipes"))
    if usepty and usepipes:
        LOG.warn('_xioopen_foxec(): options "pipes" and "pty" must not be specified together; ignoring "pipes"')
        usepipes = False
    fdin = opts.get("fdin")
    fdout = opts.get("fdout")
    if fdin is not None and ctx.mode == WRITE:
        pass
    if fdin is not None and ctx.mode == READ:
        raise SocatError("_xioopen_foxec(): option fdin is useless in read-only mode")
    if fdout is not None and ctx.mode == WRITE:
        raise SocatError("_xioopen_foxec(): option fdout is useless in write-only mode")
    fdin = 0 if fdin is None else fdin
    fdout = 1 if fdout is None else fdout
    want_stderr = bool(opts.get("stderr"))
    setsid = bool(opts.get("setsid"))
    pgid = opts.get("setpgid")
    path = opts.get("path")
    login = bool(opts.get("dash"))
    nofork = bool(opts.get("nofork"))
    argv = None if is_system else _split_command(command)
    if not is_system and not argv:
        raise SocatError(f'"{spec.head}:{command}": wrong number of parameters (0 instead of 1)')

    procopts = None
    if opts.items:
        # chroot/setuid/setgid/su act in the program's process, not in socat
        from ..options.process import is_late_process
        procopts = opts.take(is_late_process)

    if nofork:
        other = ctx.extra.get("other")
        if other is None:
            raise SocatError("option nofork is not allowed here")
        LOG.warn("due to option nofork, address1 options for lineterm and igoreeof do not apply") \
            if (other.ignoreeof or other.lineterm) else None
        if procopts is not None:
            from ..options.process import apply_in_child
            apply_in_child(procopts)
        # -u/-U: the program gets only the direction it serves; its other
        # standard descriptor stays socat's own (socat's rw checks)
        rfd = other.rfd if ctx.mode != READ else -1
        wfd = other.wfd if ctx.mode != WRITE else -1
        _child_exec(rfd, wfd, fdin, fdout, None, argv, command,
                    is_system, path, login, setsid, pgid, run=run)

    kind = "pty" if usepty else "pipes" if usepipes else "socket"
    LOG.notice(f"forking off child, using {kind} for {DIRECTION[ctx.mode]}")
    termopts = None
    if usepty:
        # socat moves the TERMIOS options to the child: they act on its
        # terminal before the program starts (and not again afterwards)
        if opts.items:
            from ..options.termios import is_termios
            termopts = opts.take(is_termios)
        master, slave = _open_pty(bool(opts.get("ptmx")), opts)
        mine, theirs_in, theirs_out = (master, master), slave, slave
        close_in_child = [master]
        # socat's child sets them before its exec; set here, before the fork,
        # they hold before the relay can write a byte (a forked Python child
        # is slower than socat's: data written meanwhile was echoed or cooked)
        if termopts is not None and _parent_termios(slave, termopts):
            termopts = None         # else the child applies them and reports the error
    elif usepipes:
        to_child = os.pipe()      # parent writes [1], child reads [0]
        from_child = os.pipe()    # child writes [1], parent reads [0]
        mine = (from_child[0], to_child[1])
        theirs_in, theirs_out = to_child[0], from_child[1]
        close_in_child = [to_child[1], from_child[0]]
    else:
        import socket
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pa, pb = a.detach(), b.detach()
        LOG.info(f"socketpair(1, 1, 0, {{{pa},{pb}}}) -> 0")
        mine, theirs_in, theirs_out = (pa, pa), pb, pb
        close_in_child = [pa]
    plan = _Plan(is_system=is_system, run=run, usepty=usepty, tty=theirs_in, termopts=termopts,
                 procopts=procopts, rfd=theirs_in if ctx.mode != READ else -1,
                 wfd=theirs_out if ctx.mode != WRITE else -1,
                 errfd=theirs_out if want_stderr else None, fdin=fdin, fdout=fdout)
    # socat applies the FD phase to its ends of the channel before the fork: a
    # pipe's size (f-setpipe-sz) and the like hold when the program starts
    kept = [f for f in {mine[0] if ctx.mode != WRITE else -1,
                        mine[1] if ctx.mode != READ else -1} if f >= 0]
    for f in sorted(kept):
        opts.apply("FD", f, again=False)
    pid = None
    if not fork_reasons(plan):
        pid = _spawn(plan, argv, path, login, setsid, pgid)
    if pid is None:
        pid = _fork_program(plan, close_in_child, argv, command, path, login,
                            setsid or usepty, pgid)
    LOG.notice(f"forked off child process {pid}")
    if opts.items:
        from ..options.process import pass_signals
        pass_signals(opts, pid)
    for fd in {theirs_in, theirs_out}:
        os.close(fd)
    rfd, wfd = mine
    if ctx.mode == READ:
        if wfd != rfd:
            os.close(wfd)
        wfd = -1
    elif ctx.mode == WRITE:
        if rfd != wfd:
            os.close(rfd)
        rfd = -1
    if usepty:
        from .pty import PtyEndpoint, set_sitout
        ep = PtyEndpoint(rfd, wfd, spec.raw)
        set_sitout(ep, opts)
    elif kind == "socket" and ctx.mode == WRITE:
        ep = _WriteOnlyChild(rfd, wfd, spec.raw)
    else:
        ep = Endpoint(rfd, wfd, spec.raw)
    ep.is_socket = kind == "socket"
    child = ChildProcess(pid, ctx.index)
    child.pty = usepty
    ep.children.append(child)
    ep.child = child
    finish(ep, opts, phases=("LATE", "LATE2"))
    if usepipes and ctx.mode == RDWR:
        ep.cool_write = False       # socat's two-pipe writes do not look at cool-write
    return ep


def _fork_program(plan, close_in_child, argv, command, path, login, setsid, pgid) -> int:
    """The program's child as a forked copy of pysocat: it runs the set-up the
    rules ask for (FORK_RULES), then execs; the pid."""
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in close_in_child:
                os.close(fd)
            from .sockets import close_parent_notices
            close_parent_notices()
            LOG.info(f"just born: child process {os.getpid()}")
            if plan.termopts is not None and not _child_termios(plan.tty, plan.termopts):
                os._exit(1)
            if plan.procopts is not None and not _child_process(plan.procopts):
                os._exit(1)
            # a direction the relay does not use keeps socat's own descriptor
            _child_exec(plan.rfd, plan.wfd, plan.fdin, plan.fdout, plan.errfd, argv,
                        command, plan.is_system, path, login, setsid, pgid,
                        ctty=plan.tty if plan.usepty else None, run=plan.run)
        finally:
            os._exit(1)
    return pid


class _Plan(NamedTuple):
    """How the program's process is to be made (the channel's fds as the
    program gets them: -1 for a direction it does not serve)."""
    is_system: bool
    run: object             # SHELL's code to run instead of an exec
    usepty: bool
    tty: int                # the pty's slave side (with usepty)
    termopts: object        # TERMIOS options left for the child
    procopts: object        # chroot/setuid/setgid/su options (Options or None)
    rfd: int
    wfd: int
    errfd: int | None
    fdin: int
    fdout: int


def _needs_su_d(plan) -> bool:
    if plan.procopts is None:
        return False
    from ..options.process import delayed_user_pending
    return bool(plan.procopts.items) or delayed_user_pending()


def _fd_clash(plan) -> bool:
    return bool({plan.rfd, plan.wfd, plan.errfd} & {plan.fdin, plan.fdout, 2})


# When pysocat must fork a copy of itself to start the program: Python code has
# to run between fork and exec. Otherwise the program starts with posix_spawn
# (vfork-like: no copy of the interpreter's pages). (name, why, test of a _Plan)
FORK_RULES = (
    ("system", "SYSTEM's child runs system(3): it waits for the shell and logs its status",
     lambda p: p.is_system),
    ("shell", "SHELL's child prepares the user's shell before its execl",
     lambda p: p.run is not None),
    ("chroot/setuid/setgid/su/su-d", "they act in the child, just before the exec",
     _needs_su_d),
    ("pty", "the child makes the pty its controlling terminal (setsid, TIOCSCTTY)",
     lambda p: p.usepty),
    ("termios", "TERMIOS options that failed before the fork are the child's to apply",
     lambda p: p.termopts is not None),
    ("fdin/fdout", "a channel descriptor is also one the program gets (dup2 order)",
     _fd_clash),
)


def child_signals() -> None:
    """A forked child before it execs: the signal dispositions socat's programs
    start with. SIGPIPE stays ignored (socat ignores it, and exec keeps an
    ignored signal ignored: a program sees EPIPE); SIGXFSZ, which the Python
    interpreter ignores, is the default again."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def fork_reasons(plan) -> list[str]:
    """The FORK_RULES that hold for ``plan``: empty means posix_spawn."""
    return [name for name, _, test in FORK_RULES if test(plan)]


def _spawn(plan, argv, path, login, setsid, pgid) -> int | None:
    """Start the program with posix_spawn, wired as _child_exec wires it (the
    same fds, environment, session/process group, signals as socat leaves
    them: SIGPIPE ignored, SIGXFSZ default). Its pid,
    or None when no candidate of the execvp search starts: the forked path
    then runs the same search and reports the failure as socat does."""
    prog = argv[0]
    if not prog:
        return None
    # the bytes behind os.environ: no Python call per variable (copying
    # os.environ decodes and encodes each one, the child's largest cost)
    env = getattr(os.environ, "_data", None)
    if not isinstance(env, dict):
        env = {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()}
    if path is not None:
        env = {**env, b"PATH": os.fsencode(path)}
    args = list(argv)
    if login:
        args[0] = "-" + os.path.basename(args[0])
    actions = []
    if plan.rfd >= 0:
        actions.append((os.POSIX_SPAWN_DUP2, plan.rfd, plan.fdin))
    if plan.wfd >= 0:
        actions.append((os.POSIX_SPAWN_DUP2, plan.wfd, plan.fdout))
    if plan.errfd is not None:
        actions.append((os.POSIX_SPAWN_DUP2, plan.errfd, 2))
    # SIGPIPE stays ignored (as socat's programs inherit it); SIGXFSZ, which the
    # interpreter ignores, is the default again
    kw = {"file_actions": actions, "setsigdef": (signal.SIGXFSZ,)}
    if setsid:
        kw["setsid"] = True
    elif pgid is not None:
        kw["setpgroup"] = pgid
    # execvp's search: each PATH entry in turn, the first that execs wins
    bprog = os.fsencode(prog)
    if b"/" in bprog:
        dirs = [b""]
    else:       # os.get_exec_path(), without its warnings filter
        dirs = env.get(b"PATH", os.fsencode(os.defpath)).split(b":")
    for d in dirs:
        full = d + b"/" + bprog if d and not d.endswith(b"/") else d + bprog
        if not os.access(full, os.X_OK):
            continue
        try:
            pid = os.posix_spawn(full, args, env, **kw)
        except OSError:
            continue
        # the child's own lines (socat's child logs them before its exec)
        LOG.as_pid = pid
        try:
            LOG.info(f"just born: child process {pid}")
            LOG.notice(f"execvp'ing \"{prog}\"")
        finally:
            LOG.as_pid = None
        return pid
    return None


class _WriteOnlyChild(Endpoint):
    """A program fed through a socketpair, write-only (socat's END_SHUTDOWN_KILL):
    after the half-close the program may still want to flush its output, so the
    shutdown waits up to WO_WAIT seconds for it to end, then SIGTERMs it."""

    def shutdown_write(self) -> None:
        super().shutdown_write()
        child = getattr(self, "child", None)
        if child is None or child.status is not None or self.shut is not None:
            return
        if child.poll_exit():
            return                    # ended before: reported as any child's end
        deadline = time.monotonic() + WO_WAIT
        try:
            while True:
                pid, _ = os.waitpid(child.pid, os.WNOHANG)
                if pid:
                    child.status = 0      # reaped here: socat reports no status then
                    return
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.01)
            LOG.notice("SIGALRM while waiting for wo child process to die, killing it now")
            os.kill(child.pid, signal.SIGTERM)
            os.waitpid(child.pid, 0)
            child.status = 0
        except (ChildProcessError, ProcessLookupError, InterruptedError):
            child.status = 0


WO_WAIT = 1.0       # socat's Alarm(1) in xioshutdown()


def _open_pty(useptmx: bool, opts) -> tuple[int, int]:
    """The pty for ``pty``: openpty(3), or /dev/ptmx with ``ptmx``."""
    opts.get("openpty")
    if useptmx:
        from .pty import _ptmx
        got = _ptmx()
        if got is not None and got[1]:
            master, name = got
            try:
                return master, os.open(name, os.O_RDWR | os.O_NOCTTY)
            except OSError as e:
                LOG.warn(f'open("{name}", O_RDWR|O_NOCTTY, 0620): {e.strerror}')
                os.close(master)
    try:
        return os.openpty()
    except OSError as e:
        raise SocatError(f"openpty(0x1, 0x2, 0x3, NULL, NULL): {e.strerror}") from None


def _child_termios(tty: int, termopts) -> bool:
    """In the child: the TERMIOS options on its terminal (socat's copts, PH_FD).

    ``ctty`` is already what the child does with its pty (setsid, TIOCSCTTY).
    """
    try:
        termopts.take(lambda r: r.apply[0] == "ctty")
        termopts.apply("FD", tty)
    except SocatError as e:
        LOG.error(e.text)
        return False
    return True


def _parent_termios(tty: int, termopts) -> bool:
    """The TERMIOS options on the child's pty, set before the fork; False (and
    nothing logged) when one fails: the child then applies them as socat does."""
    try:
        termopts.take(lambda r: r.apply[0] == "ctty")
        termopts.apply("FD", tty)
    except SocatError:
        return False
    return True


def _child_process(procopts) -> bool:
    """In the child: chroot, setuid, setgid, su, a pending su-d (socat's copts)."""
    from ..options.process import apply_in_child
    try:
        apply_in_child(procopts)
    except SocatError as e:
        LOG.error(e.text)
        return False
    return True


def _child_exec(rfd, wfd, fdin, fdout, errfd, argv, command, is_system,
                path, login, setsid, pgid, ctty=None, run=None):
    """In the child: wire descriptors, then exec (never returns)."""
    try:
        if setsid:
            os.setsid()
        elif pgid is not None:
            os.setpgid(0, pgid)
        if ctty is not None:
            import fcntl
            import termios
            try:
                fcntl.ioctl(ctty, termios.TIOCSCTTY, 0)
            except OSError:
                pass
        # move our fds out of the way before dup2 so none is overwritten early
        r2 = os.dup(rfd) if rfd >= 0 else -1
        w2 = os.dup(wfd) if wfd >= 0 else -1
        if r2 >= 0:
            os.dup2(r2, fdin)
        if w2 >= 0:
            os.dup2(w2, fdout)
        if errfd is not None:
            _keep_log_stream()
            os.dup2(errfd, 2)
        for fd in {r2, w2, rfd, wfd, errfd} - {fdin, fdout, 2, -1, None}:
            try:
                os.close(fd)
            except OSError:
                pass
        for fd, used in ((fdin, r2), (fdout, w2)):
            if used >= 0:
                os.set_inheritable(fd, True)
        child_signals()
        env = os.environ.copy()
        if path is not None:
            env["PATH"] = path
        if run is not None:
            run(env)
        if is_system:
            LOG.info(f'executing shell command "{command}"')
            shell = ["sh", "-c", command]      # system(3)'s argv
            try:        # as glibc's system(3): no copy of this process
                pid = os.posix_spawn("/bin/sh", shell, env)
            except OSError:
                pid = os.fork()
                if pid == 0:
                    os.execve("/bin/sh", shell, env)
            _, status = os.waitpid(pid, 0)
            if status != 0:
                LOG.warn(f'system("{command}") returned with status {status}')
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        prog = argv[0]
        args = list(argv)
        if login:
            args[0] = "-" + os.path.basename(args[0])
        LOG.notice(f"execvp'ing \"{prog}\"")
        try:
            if not prog:        # execvp(""): Python refuses an empty argv[0] itself
                raise OSError(2, os.strerror(2))
            os.execvpe(prog, args, env)
        except OSError as e:
            shown = ", ".join(f'"{a}"' for a in args[:3])
            more = ", ..." if len(args) >= 3 else ""
            LOG.error(f'execvp("{prog}", {shown}{more}): {e.strerror}')
    except Exception as e:  # pragma: no cover - child side
        LOG.error(str(e))
    LOG.notice("exit(1)")       # socat's error exit in the child
    os._exit(1)


def _keep_log_stream() -> None:
    """Before the child's stderr becomes the channel: its own messages keep
    going where socat's go (socat's diag_dup(): a close-on-exec copy)."""
    stream = LOG.stream
    try:
        if stream is None or stream.fileno() != 2:
            return
    except (OSError, ValueError, AttributeError):
        return
    LOG.stream = os.fdopen(os.dup(2), "w", buffering=1)


def open_exec(ctx, row, spec, opts, params):
    return _open_program(ctx, row, spec, opts, ":".join(params), False)


def _system_command(row, head: str, params: tuple) -> str:
    """SYSTEM's shell command: 1.8.1.3 wants exactly one parameter
    (xio-system.c:36); 1.7.4.4 runs the first and drops what follows a ':'."""
    from ..versions import ACTIVE
    if len(params) != 1 and ACTIVE.system_one_param:
        from .registry import count_error
        raise SocatError(count_error(row, head, params, 1))
    return params[0]


def open_system(ctx, row, spec, opts, params):
    return _open_program(ctx, row, spec, opts, _system_command(row, spec.head, params), True)


def _program_steps(ctx):
    """--explain: the channel to the child, fork, the child's set-up, exec."""
    system = ctx.row.name == "system"
    if ctx.get("pty") and ctx.get("pipes"):
        ctx.warn('_xioopen_foxec(): options "pipes" and "pty" must not be specified together; '
                 'ignoring "pipes"')
    if ctx.has("fdin") and ctx.mode == READ:
        raise SocatError("_xioopen_foxec(): option fdin is useless in read-only mode")
    if ctx.has("fdout") and ctx.mode == WRITE:
        raise SocatError("_xioopen_foxec(): option fdout is useless in write-only mode")
    if ctx.row.name == "shell":
        run = ("EXEC", "execl() the shell")       # shell.py says which
    elif system:
        command = ctx.literal(_system_command(ctx.row, ctx.spec.head, tuple(ctx.raw_params)))
        run = ("EXEC", f'execve("/bin/sh", ["sh", "-c", "{command}"]) '
                       "(in a grandchild; the child waits and passes its status on)")
    else:
        argv = _split_command(":".join(ctx.params))
        if not argv:
            raise SocatError(f'"{ctx.spec.head}:": wrong number of parameters (0 instead of 1)')
        shown = ctx.literal(", ".join(f'"{a}"' for a in argv))
        run = ("EXEC", f'execvp("{ctx.literal(argv[0])}", [{shown}])'
                       + (" with PATH={opt[path]}" if ctx.has("path") else ""))
    fdin, fdout = ctx.get("fdin", 0), ctx.get("fdout", 1)
    if ctx.get("nofork"):
        if ctx.index == 1:
            raise SocatError("option nofork is not allowed here")
        return [("BIGEN", "no fork: the program replaces pysocat and inherits address 1's "
                          "descriptors as its fds 0 and 1"), run]
    if ctx.get("pty"):
        chan = "openpty(): the program gets the slave side as its controlling terminal"
    elif ctx.get("pipes"):
        chan = "pipe() twice: one pipe to the program, one back"
    else:
        chan = "socketpair(AF_UNIX, SOCK_STREAM, 0)"
    return [("BIGEN", chan),
            ("FORK", "fork()"),
            ("PASTFORK", f"in the child: dup2 the channel to fds {fdin} (input) and {fdout} "
                         "(output)" + (", and to 2 (stderr)" if ctx.get("stderr") else "")),
            ("LATE", "in the child: setsid()", "setsid"),
            ("LATE", "in the child: setpgid(0, {opt[setpgid]})", "setpgid"),
            run,
            ("LATE", "in the parent: use its end of the channel for {mode}; a child exiting "
                     "with status != 0 " + _child_exit_text())]


def _child_exit_text() -> str:
    from ..versions import ACTIVE
    if ACTIVE.child_exit_warns:
        return "is a warning, the transfer goes on and the exit status becomes 1"
    return "is an error that ends the transfer (exit status 1)"


_GROUPS = "FD,FIFO,SOCKET,EXEC,FORK,TERMIOS,PTY,PARENT,UNIX"
address("exec", ":<command-line>", _GROUPS, open_exec, "EXEC", "run a program (execvp)",
        count_prefix=lambda head, params: f'"{head}:{params[0]}"' if params else f'"{head}"',
        steps=_program_steps)
address("system", ":<shell-command>", _GROUPS, open_system, "SYSTEM", "run a shell command (sh -c)",
        nparams=(1, 99), steps=_program_steps)
