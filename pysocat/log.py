"""socat's diagnostic messages: ``YYYY/MM/DD HH:MM:SS prog[pid] L text``.

Severities and thresholds follow socat 1.7.4.4's error.c: D I N W E F; the
default shows E and F, each ``-d`` lowers the threshold by one. An ``E`` or
``F`` message is fatal in socat (exit 1) unless ``-s`` raised the exit level;
here the caller raises SocatError and the CLI logs it, so logging never exits.
"""
from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:                  # importing typing costs start-up time
    from typing import Callable

DEBUG, INFO, NOTICE, WARN, ERROR, FATAL = range(6)
LETTERS = "DINWEF"
_SYSLOG_PRIO = (7, 6, 5, 4, 3, 2)  # LOG_DEBUG … LOG_CRIT

MSGLEN = 512


class Logger:
    """Process-wide message sink configured by the -d/-l* flags."""

    def __init__(self) -> None:
        self.progname = "socat"
        self.level = ERROR
        self.default_level = ERROR     # versions.select() sets the profile's
        self.exitlevel = ERROR
        self.micros = False
        self.hostname: str | None = None
        self.stream = sys.stderr
        self.syslog_facility: int | None = None
        self.facility = 3 << 3          # LOG_DAEMON, socat's default facility
        self.mixed = False
        self.callback: Callable[[int, str], None] | None = None  # API hook
        self.shutup = 0                # children-shutup: lowers every severity
        self.as_pid: int | None = None  # a spawned child's lines, written by its parent

    # configuration ----------------------------------------------------
    def set_default_level(self, level: int) -> None:
        """The threshold without -d (the version profile's default_log_level)."""
        self.level = self.default_level = level

    def set_progname(self, name: str) -> None:
        self.progname = name

    def use_hostname(self) -> None:
        self.hostname = os.environ.get("HOSTNAME") or os.uname().nodename

    def use_file(self, path: str) -> None:
        self.stream = open(path, "a", buffering=1)

    def use_syslog(self, facility: int) -> None:
        import syslog
        # connected now (LOG_NDELAY): a fork server must see its descriptor taken
        syslog.openlog(self.progname, syslog.LOG_PID | syslog.LOG_NDELAY, facility)
        self.syslog_facility = self.facility = facility
        self.stream = None

    def use_mixed(self, facility: int | None, name: str = "") -> None:
        """-lm: stderr while opening, syslog once the relay (or daemon) runs.
        ``facility`` None: ``name`` is unknown, an error when syslog starts."""
        self.stream = sys.stderr
        self.mixed = True
        self.mixed_facility = facility
        self.mixed_name = name

    def _switch_to_syslog(self) -> None:
        self.mixed = False
        if self.mixed_facility is None:
            from .errors import SocatError
            raise SocatError(f'unknown syslog facility "{self.mixed_name}"')
        self.use_syslog(self.mixed_facility)

    def enter_daemon_phase(self) -> None:
        """Called when the transfer loop starts or a fork server first accepts."""
        if self.mixed:
            self.info("switching to syslog")
            self._switch_to_syslog()

    def start_loop(self, kind: str) -> None:
        """A listener, client fork or recvfrom loop starts: with -lm its
        messages (and its children's) go to syslog from here on."""
        if self.mixed:
            self.info(f"starting {kind} loop, switching to syslog")
            self._switch_to_syslog()
        else:
            self.info(f"starting {kind} loop")

    # output -----------------------------------------------------------
    def enabled(self, level: int) -> bool:
        return level >= self.level

    def msg(self, level: int, text: str) -> None:
        level -= self.shutup           # socat's diagopts.shutup (a forked child)
        if level < self.level:
            return
        if self.callback is not None:
            self.callback(level, text)
            return
        self.emit(level, text)

    def emit(self, level: int, text: str) -> None:
        """Write one message to the configured sink (stream and/or syslog)."""
        now = time.time()
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now))
        if self.micros:
            stamp += ".%06d" % int((now % 1) * 1000000)
        host = f"{self.hostname} " if self.hostname else ""
        prefix = f"{stamp} {host}{self.progname}[{self.as_pid or os.getpid()}] "
        line = f"{prefix}{LETTERS[level]} {text}"[:MSGLEN] + "\n"
        if self.syslog_facility is not None:
            import syslog       # syslog adds time and name: socat sends from "L " on
            syslog.syslog(_SYSLOG_PRIO[level], line[len(prefix):])
        if self.stream is not None:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def debug(self, text: str) -> None:
        if self.level <= DEBUG:
            self.msg(DEBUG, text)

    def info(self, text: str) -> None:
        if self.level <= INFO:
            self.msg(INFO, text)

    def notice(self, text: str) -> None:
        if self.level <= NOTICE:
            self.msg(NOTICE, text)

    def warn(self, text: str) -> None:
        if self.level <= WARN:
            self.msg(WARN, text)

    def error(self, text: str) -> None:
        self.msg(ERROR, text)

    def exit_notice(self, status: int) -> None:
        """socat's "N exit(N)": written as N whatever children-shutup lowers."""
        if NOTICE >= self.level:
            (self.callback or self.emit)(NOTICE, f"exit({status})")

    def fatal(self, text: str) -> None:
        self.msg(FATAL, text)


LOG = Logger()
