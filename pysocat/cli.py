"""The ``pysocat`` command: socat's flags onto ``core.Config``, then ``core.run``.

The version profile (pysocat/versions.py) is chosen first, from ``--compat=V``
or ``PYSOCAT_COMPAT``; it decides which flags exist and what they mean.

Flag parsing follows socat.c main(): flags come first, a lone ``-`` (or ``-,``
``-:`` ``-!!``) starts the first address, exactly two addresses remain.
Everything that can go wrong surfaces as a SocatError, printed here once as
socat's ``E`` line with exit status 1.
"""
from __future__ import annotations

import os
import _signal as signal  # the C module: signal.py imports enum (~5 ms of start-up)
import sys

from .errors import RetryLater, SocatError
from .log import FATAL, INFO, LOG

COPYRIGHT = ("socat by Gerhard Rieger and contributors - see www.dest-unreach.org",
             "This product includes software developed by the OpenSSL Project for use in the OpenSSL Toolkit. (http://www.openssl.org/)",
             "This product includes software written by Tim Hudson (tjh@cryptsoft.com)")

# socat's facilitynames[] as built on Linux (no LOG_CONSOLE, no LOG_SECURITY)
_FACILITIES = {"auth": 4 << 3, "authpriv": 10 << 3, "cron": 9 << 3, "daemon": 3 << 3,
               "ftp": 11 << 3, "kern": 0, "lpr": 6 << 3, "mail": 2 << 3, "news": 7 << 3,
               "syslog": 5 << 3, "user": 1 << 3, "uucp": 8 << 3,
               **{f"local{i}": (16 + i) << 3 for i in range(8)}}


class Usage(Exception):
    """socat prints its usage to stderr and exits 1."""


class OptHint(Exception):
    """socat_opt_hint(): a single-letter flag with a suffix ("-vx"); exit 1."""

    def __init__(self, a: str, b: str):
        super().__init__(f'Do not merge single character options, i.e. use "-{a} -{b}" '
                         f'instead of "-{a}{b}"\n')


# Signals a real fault raises synchronously: a Python-level handler cannot run
# before the faulting instruction repeats, so catching them would turn a crash
# into an endless loop. socat catches them (a kill -SEGV is logged there);
# pysocat leaves them their default action.
_FAULTS = frozenset((signal.SIGILL, signal.SIGBUS, signal.SIGFPE, signal.SIGSEGV))

# socat 1.8's default -S mask (socat.c:55): the signals 1.7 always catches
DEFAULT_LOG_SIGS = sum(1 << s for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,
                                        signal.SIGILL, signal.SIGABRT, signal.SIGBUS,
                                        signal.SIGFPE, signal.SIGSEGV, signal.SIGTERM))


def _arg_value(args, i, flag):
    """Value glued to the flag (-b8192) or the next argument (-b 8192)."""
    a = args[i]
    if len(a) > 2:
        return a[2:], i
    if i + 1 >= len(args):
        raise SocatError(f'option {flag} requires an argument; use option "-h" for help')
    return args[i + 1], i + 1


def _float(text, flag):
    from .options.values import _FLOAT
    m = _FLOAT.match(text)
    if not m:
        raise SocatError(f'parseopts(): missing numerical value of option "{flag}"')
    if text[m.end():]:
        raise SocatError(f'parseopts(): trailing garbage in numerical arg of option "{flag}"')
    return float(text[:m.end()])


def parse_args(args: list[str]):
    """argv[1:] → (Config, [addr1, addr2], action) with socat's semantics."""
    from .core import Config
    from .options.values import number
    from .versions import ACTIVE as P
    cfg = Config()
    i = 0
    explaining = "--explain" in args or "--json" in args   # pysocat's own flags
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        c = a[1:2]
        if explaining and a in ("--explain", "--json"):
            cfg.extra[a[2:]] = True
            i += 1
            continue
        if c == "" or c in ",:" or a.startswith("-!!"):
            break                                    # "-" is STDIO
        if c == "V":
            if len(a) > 2:
                raise Usage()
            return cfg, [], "version"
        if c in "h?":
            level = 0
            if a[2:3] in ("h", "?"):
                level = 2 if a[3:4] in ("h", "?") else 1
            return cfg, [level], "help"
        if c == "d":
            _debug_flag(a, cfg)
        elif c == "D":
            _no_suffix(a)
            cfg.debug_fds = True
        elif c == "l":
            sub = a[2:3]
            if sub in ("f", "p"):
                if len(a) > 3:
                    val = a[3:]
                elif i + 1 < len(args):
                    i += 1
                    val = args[i]
                else:
                    raise SocatError(f'option -l{sub} requires an argument; use option "-h" for help')
                if sub == "f":
                    LOG.use_file(val)
                else:
                    LOG.set_progname(val)
            elif sub in ("y", "m"):
                name = a[3:]
                fac = _FACILITIES.get(name.lower()) if name else LOG.facility
                if sub == "y":
                    if fac is None:
                        raise SocatError(f'unknown syslog facility "{name}"')
                    LOG.use_syslog(fac)
                else:           # an unknown name is an error when syslog starts
                    LOG.use_mixed(fac, name)
            elif sub == "s":
                LOG.stream = sys.stderr
            elif sub == "u":
                LOG.micros = True
            elif sub == "h":
                LOG.use_hostname()
            else:
                raise SocatError(f'unknown log option "{a}"; use option "-h" for help')
        elif c == "v":
            _no_suffix(a)
            cfg.verbose = True
        elif c == "x":
            _no_suffix(a)
            cfg.verbhex = True
        elif c in "rR":
            val, i = _arg_value(args, i, f"-{c}")
            if explaining:                # --explain opens nothing
                cfg.extra[f"sniff_{c}"] = val
                i += 1
                continue
            if P.sniff_files_late:        # 1.8: opened after the addresses
                if c == "r":
                    cfg.sniff_left_name = val
                else:
                    cfg.sniff_right_name = val
                i += 1
                continue
            fd = _open_sniff(val, c)
            if c == "r":
                cfg.sniff_left = fd
            else:
                cfg.sniff_right = fd
        elif c == "b":
            val, i = _arg_value(args, i, "-b")
            cfg.bufsize = number(val, "-b")
            cfg.bufsize_given = True
        elif c == "s":
            _no_suffix(a)
            cfg.sloppy = True
            LOG.exitlevel = FATAL      # errors no longer end the run
        elif c == "t":
            val, i = _arg_value(args, i, "-t")
            cfg.closing_timeout = _float(val, "-t")
        elif c == "T":
            val, i = _arg_value(args, i, "-T")
            cfg.total_timeout = _float(val, "-T")
        elif c == "u":
            _no_suffix(a)
            cfg.direction = "lr" if cfg.direction != "rl" else "conflict"
        elif c == "U":
            _no_suffix(a)
            cfg.direction = "rl" if cfg.direction != "lr" else "conflict"
        elif c == "g":
            _no_suffix(a)
            cfg.ignore_groups = True
        elif c in "LW":
            if cfg.lockfile:
                raise SocatError("only one -L and -W option allowed")
            val, i = _arg_value(args, i, f"-{c}")
            cfg.lockfile = val
            cfg.waitlock = c == "W"
        elif c in "46" or (c == "0" and P.flags_18):
            _no_suffix(a)
            cfg.prefer_ip = c
        elif c == "S" and P.flags_18:
            val, i = _arg_value(args, i, "-S")
            cfg.log_sigs = number(val, "-S")
        elif c == "-" and P.flags_18 and a in ("--experimental", "--statistics"):
            if a == "--statistics":
                cfg.statistics = True
            else:
                cfg.experimental = True
        else:
            raise SocatError(f'unknown option "{a}"; use option "-h" for help')
        i += 1
    rest = args[i:]
    if explaining:
        if not 1 <= len(rest) <= 2:
            raise SocatError(f"--explain: one or two addresses required (there are "
                             f'{len(rest)}); use option "-h" for help')
        if cfg.direction == "conflict":
            raise SocatError("-U and -u must not be combined")
        return cfg, rest, "explain"
    if len(rest) != 2:
        raise SocatError(f'exactly 2 addresses required (there are {len(rest)}); '
                         f'use option "-h" for help')
    if cfg.direction == "conflict":
        raise SocatError("-U and -u must not be combined")
    return cfg, rest, "run"


def _debug_flag(a, cfg):
    """-d, -dd…; 1.8 also -d<N> (N = 0…4, the level counted as d's)."""
    from . import versions
    P = versions.ACTIVE
    count = cfg.extra.get("msglevel", 0)
    rest = a[2:]
    if P.flags_18 and rest[:1] in ("-", "0", "1", "2", "3", "4"):
        from .options.values import strtoul
        val, trail = strtoul(rest)       # strtol(a, &end, 0)
        if val is None or trail:
            # socat names the first character of the suffix, not the bad one
            raise SocatError(f'Invalid (trailing) character(s) "{rest[0]}" in "{a}"option')
        count = val - (1 << 64) if val >= 1 << 63 else val
    elif P.flags_18 and rest[:1] != "d" and rest:
        from .help import usage         # 1.8 prints its usage and goes on
        sys.stderr.write(usage())
        return
    elif rest.strip("d"):
        raise Usage()
    else:
        count += len(a) - 1
    cfg.extra["msglevel"] = count
    if P.flags_18:              # 1.8: level = 4 - count; no -d means W
        LOG.level = max(0, 4 - count) if count else LOG.default_level
    else:                       # 1.7: each d lowers the default E by one
        LOG.level = max(0, LOG.default_level - count)


def _no_suffix(a):
    """A flag that is one letter: socat_opt_hint() for a suffix (both versions)."""
    if len(a) > 2:
        raise OptHint(a[1], a[2])


def _open_sniff(path, c):
    flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK
    try:
        return os.open(path, flags, 0o664)
    except OSError as e:
        if e.errno == 6:  # ENXIO: a FIFO without reader
            return os.open(path, flags & ~os.O_WRONLY | os.O_RDWR, 0o664)
        raise SocatError(f'option -{c} "{path}": {e.strerror}') from None


def _on_signal(signum, frame):
    """socat_signal(): log, then exit with 128+signum (atexit work still runs)."""
    from .versions import ACTIVE
    LOG.notice(f"socat_signal(): handling signal {signum}")
    text = f"exiting on signal {signum}"
    code = 128 + signum
    if signum == signal.SIGTERM:
        LOG.warn(text)
    elif signum in (signal.SIGHUP, signal.SIGINT):
        LOG.notice(text)
    else:
        # SIGQUIT, SIGPIPE, the fault signals and (1.8) any signal -S catches:
        # an E whose exit code is the signal's; socat's Error() exits right there
        LOG.error(text)
        LOG.notice(f"exit({code})")
        if ACTIVE.signal_error_exits_at_once or signum not in (signal.SIGQUIT,
                                                               signal.SIGPIPE):
            raise SystemExit(code)
    LOG.notice(f"socat_signal(): finishing signal {signum}")
    LOG.notice(f"exit({code})")
    raise SystemExit(code)


def _install_signals(cfg):
    """Catch the signals of the -S mask (1.8; 1.7 always the default set) just
    to log them; the others keep their default action. 1.8 also logs the
    statistics on SIGUSR1."""
    from .versions import ACTIVE
    mask = DEFAULT_LOG_SIGS
    if ACTIVE.flags_18 and cfg.log_sigs is not None:
        mask = cfg.log_sigs
    if not mask >> signal.SIGINT & 1 and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)   # Python's own, not socat's
    for sig in range(1, 64):
        if mask >> sig & 1 and sig not in _FAULTS:
            try:
                signal.signal(sig, _on_signal)
            except (OSError, ValueError):
                pass            # SIGKILL, SIGSTOP, the libc's own: sigaction fails
    if ACTIVE.sigusr1_statistics:
        def on_usr1(signum, frame):
            LOG.notice(f"socat_signal_logstats(): handling signal {signum}")
            print_statistics(cfg)
            LOG.notice(f"socat_signal_logstats(): finishing signal {signum}")
        signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def print_statistics(cfg) -> None:
    """socat_print_stats(): packets and bytes written per direction, at INFO
    level whatever -d says."""
    relay = cfg.extra.get("relay")
    if relay is None:
        LOG.warn("transfer engine not yet started, statistics not available")
        return
    counts = {1: (0, 0), 2: (0, 0)}
    for d in relay.dirs:
        counts[d.index] = (d.blocks, d.moved)
    blocksd = bytesd = 1
    if cfg.direction != "rl":    # socat tests "!righttoleft" twice: -u formats too
        blocksd = len(str(max(counts[1][0], counts[2][0])))
        bytesd = len(str(max(counts[1][1], counts[2][1])))
    saved = LOG.level
    LOG.level = INFO
    try:
        LOG.warn("statistics are experimental")
        for index, name, skip in ((1, "left to right", "rl"), (2, "right to left", "lr")):
            if cfg.direction != skip:
                blocks, nbytes = counts[index]
                LOG.info(f"STATISTICS: {name}: {blocks:{blocksd}d} packets(s), "
                         f"{nbytes:{bytesd}d} byte(s)")
    finally:
        LOG.level = saved


def _exit_error(text: str, err: SocatError | None = None, at_exit=()) -> int:
    LOG.error(text)
    LOG.exit_notice(1)
    _run_at_exit(at_exit)
    if err is not None:
        err.run_at_exit()       # socat's xioexit(): after "exit(1)"
    return 1


def _run_at_exit(at_exit) -> None:
    """socat's atexit() work in its order: statistics, then the lock file."""
    while at_exit:
        at_exit.pop(0)()


def main(argv: list[str] | None = None) -> int:
    me = os.getpid()
    status = _main(argv)
    if os.getpid() != me:
        _child_exit(status)
    return status


def _child_exit(status: int) -> None:
    """A fork server's child is done: flush and leave without tearing the
    interpreter down (its finalisation would touch, and so copy, every page it
    shares with the parent; socat's child just exits)."""
    for stream in (sys.stdout, sys.stderr, LOG.stream):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    os._exit(status & 0xFF if isinstance(status, int) else 1)


def _main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    LOG.set_progname(os.path.basename(argv[0]) if argv else "pysocat")
    if LOG.progname in ("__main__.py", "-c", ""):
        LOG.set_progname("pysocat")
    status = 1
    at_exit = []
    if argv[1:2] in (["--completion"], ["--complete-word"]):   # pysocat's own
        return _completion(argv[1], argv[2:])
    try:
        args = _select_version(argv[1:])
        try:
            cfg, addrs, action = parse_args(args)
        except Usage:
            from .help import usage
            sys.stderr.write(usage())
            return 1
        except OptHint as e:
            sys.stderr.write(str(e))
            return 1
        if action == "version":
            from .help import version
            sys.stdout.write(version())
            return 0
        if action == "help":
            from .help import help_text
            sys.stdout.write(help_text(addrs[0]))
            return 0
        if action == "explain":
            from .explain import main_explain
            return main_explain(addrs, cfg, bool(cfg.extra.get("json")))
        _install_signals(cfg)
        for line in COPYRIGHT:
            LOG.info(line)
        from .versions import ACTIVE
        LOG.debug(f"socat version {ACTIVE.socat_version}")
        os.environ["SOCAT_VERSION"] = ACTIVE.socat_version
        os.environ.setdefault("SOCAT_PID", str(os.getpid()))
        os.environ.setdefault("SOCAT_PPID", str(os.getpid()))
        from .core import prepare_children, run
        cfg.extra["defer_close"] = True
        cfg.extra["fork_prepare"] = lambda: prepare_children(addrs[1], cfg)
        lock = _Lock(cfg)
        lock.take()
        at_exit.append(lock.release)
        if cfg.statistics:
            at_exit.insert(0, lambda: print_statistics(cfg))
        if ACTIVE.ip_version_notes:
            default_ip, preferred_ip = _ip_versions(cfg)
            LOG.info(f"default listen IP version is {default_ip}")
            LOG.info(f"preferred resolve IP version is {preferred_ip}")
        status = run(addrs[0], addrs[1], cfg)
        LOG.notice(f"exiting with status {status}")
        _run_at_exit(at_exit)
        return status
    except RetryLater as e:
        LOG.notice(f"exiting with status {e.status}")
        _run_at_exit(at_exit)
        e.run_at_exit()
        return e.status
    except SocatError as e:
        return _exit_error(e.text, e, at_exit)
    except SystemExit as e:
        _run_at_exit(at_exit)
        return e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _exit_error("write(): Broken pipe")
    except OSError as e:
        return _exit_error(f"{e.strerror or e}")
    finally:
        try:
            sys.stdout.flush()
        except Exception:
            pass


def _completion(flag: str, rest: list[str]) -> int:
    from . import completion
    try:
        if flag == "--complete-word":
            return completion.main_complete_word(rest)
        if len(rest) != 1:
            raise SocatError('option --completion requires one of bash, zsh, fish')
        sys.stdout.write(completion.script(rest[0]))
        return 0
    except SocatError as e:
        return _exit_error(e.text, e)


def _select_version(args: list[str]) -> list[str]:
    """Pick the profile: ``--compat=V`` / ``--compat V`` among the flags, else
    PYSOCAT_COMPAT, else 1.8.1.3. Returns the arguments without --compat."""
    from . import versions
    version = versions.from_environment()
    source = "PYSOCAT_COMPAT"
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or a in ("-",) or a[1:2] in ",:" or a.startswith("-!!"):
            out += args[i:]
            break
        if a == "--compat" or a.startswith("--compat="):
            if a == "--compat":
                if i + 1 >= len(args):
                    raise SocatError('option --compat requires an argument; use option "-h" for help')
                i += 1
                version = args[i]
            else:
                version = a[len("--compat="):]
            source = "--compat"
        else:
            out.append(a)
            # flags that take the next argument as their value
            if a in ("-r", "-R", "-b", "-t", "-T", "-L", "-W", "-S", "-lf", "-lp"):
                if i + 1 < len(args):
                    i += 1
                    out.append(args[i])
        i += 1
    try:
        versions.select(version)
    except versions.UnknownVersion as e:
        raise SocatError(f"{source}: {e}") from None
    return out


def _ip_versions(cfg) -> tuple[str, str]:
    """xioparms.default_ip / preferred_ip: -0/-4/-6, else the environment, else 4."""
    from .addresses.base import default_ip, preferred_ip
    return default_ip(cfg), preferred_ip(cfg)


class _Lock:
    """-L (fail if locked) and -W (wait) lock files: socat_lock()/socat_unlock().

    Only the process that took the lock removes it (fork children do not)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.path = None
        self.owner = 0

    def take(self) -> None:
        path = self.cfg.lockfile
        if not path:
            return
        from . import lockfile
        lockfile.take(path, self.cfg.waitlock)
        self.path, self.owner = path, os.getpid()

    def release(self) -> None:
        if self.path and self.owner == os.getpid():
            try:
                os.unlink(self.path)
                LOG.info(f'released lock "{self.path}"')
            except OSError as e:
                LOG.warn(f'unlink("{self.path}"): {e.strerror}')
        self.path = None


if __name__ == "__main__":
    sys.exit(main())
