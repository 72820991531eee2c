"""The bidirectional relay: socat's transfer loop, generic over endpoints.

Theory of operation (socat 1.7.4.4, socat.c ``_socat``):
- Each direction copies one read (at most ``-b`` bytes, one datagram on
  datagram endpoints) into one complete write, so packet boundaries survive.
- EOF on a direction's source logs "socket N (fd F) is at EOF", half-closes
  the destination and starts the closing timer (``-t``, default 0.5 s); the
  loop ends when both directions are at EOF or the timer expires. With
  ``-u``/``-U`` only one direction exists and its EOF ends the loop.
- ``-T`` ends the loop after that many seconds without any transfer.
- ``ignoreeof`` re-reads a source at EOF once per second instead of ending.
Writes block until complete, so a byte once read is never dropped.
"""
from __future__ import annotations

import errno
import os
import select
import _signal as signal  # the C module: signal.py imports enum (~5 ms of start-up)
import time
from .._struct import dataclass

from ..errors import SocatError
from ..log import LOG
from .convert import convert_lineterm
from .dump import Dumper

POLL_INTERVAL = 1.0   # socat's pollintv for ignoreeof


@dataclass
class RelayConfig:
    """The CLI flags that steer the loop (``-b -t -T -u -U -v -x -r -R``)."""
    bufsize: int = 8192
    closing_timeout: float = 0.5
    total_timeout: float | None = None
    direction: str = "both"        # "both" | "lr" (-u) | "rl" (-U)
    verbose: bool = False
    verbhex: bool = False
    sniff_left: int | None = None  # -r fd: data left to right
    sniff_right: int | None = None  # -R fd
    stop_fd: int | None = None     # library stop: readable → the loop ends


class _Direction:
    """One way of the relay: source endpoint → destination endpoint."""

    def __init__(self, index, src, dst, cfg, righttoleft):
        self.index = index          # socat's "socket 1"/"socket 2" of the source
        self.src, self.dst = src, dst
        self.eof = False
        self.polling = False        # at EOF but ignoreeof: re-read periodically
        self.left = src.readbytes or None
        self.bufsize = cfg.bufsize
        self.righttoleft = righttoleft
        dst_lt = getattr(dst, "wlineterm", dst.lineterm)
        self.convert = src.lineterm != dst_lt
        self.lt = (src.lineterm, dst_lt)
        self.sniff = cfg.sniff_right if righttoleft else cfg.sniff_left
        self.dumper = Dumper(cfg.verbose, cfg.verbhex, righttoleft) \
            if (cfg.verbose or cfg.verbhex) else None
        self.escape = src.escape
        self.escaped = False
        self.moved = 0

    def transfer(self, closing: bool) -> int:
        """Move one block; 0 means EOF (or nothing), -1 error handled."""
        n = self.bufsize if self.left is None else min(self.bufsize, self.left)
        try:
            data = self.src.read(n)
        except BlockingIOError:
            return -1
        except InterruptedError:
            return -1
        except OSError as e:
            raise SocatError(f"read({self.src.rfd}, {n}): {e.strerror}") from None
        if not data:
            if self.src.datagram and not self.src.null_eof and data is not None:
                return -1           # socat ignores empty datagrams
            return 0
        if self.left is not None:
            self.left -= len(data)
        if self.escape >= 0:
            pos = data.find(bytes([self.escape]))
            if pos >= 0:
                LOG.info("escape char found in input")
                data = data[:pos]
                self.escaped = True
        if self.convert and data:
            data = convert_lineterm(data, *self.lt)
        if data:
            if self.sniff is not None:
                try:
                    os.write(self.sniff, data)
                except OSError:
                    pass
            if self.dumper:
                self.dumper.dump(data)
            try:
                self.dst.write(data)
            except OSError as e:
                raise SocatError(f"write({self.dst.wfd}, {len(data)}): {e.strerror}") from None
            self.moved += len(data)
            if LOG.level <= 1:
                LOG.info(f"transferred {len(data)} bytes from {self.src.rfd} to {self.dst.wfd}")
        if self.escaped or (self.left is not None and self.left <= 0):
            return 0
        return len(data) or -1


class Relay:
    """socat's transfer loop over two opened endpoints."""

    def __init__(self, ep1, ep2, cfg: RelayConfig | None = None, children=()):
        self.ep1, self.ep2 = ep1, ep2
        self.cfg = cfg or RelayConfig()
        self.children = list(children)  # ChildProcess objects to watch
        self.dirs = []
        if self.cfg.direction in ("both", "lr"):
            self.dirs.append(_Direction(1, ep1, ep2, self.cfg, False))
        if self.cfg.direction in ("both", "rl"):
            self.dirs.append(_Direction(2, ep2, ep1, self.cfg, True))
        self.stop_requested = False

    def fds(self):
        return self.ep1.rfd, self.ep1.wfd, self.ep2.rfd, self.ep2.wfd

    def run(self) -> int:
        """Run until done; returns socat's exit status (0)."""
        cfg = self.cfg
        r1, w1, r2, w2 = self.fds()
        LOG.notice(f"starting data transfer loop with FDs [{r1},{w1}] and [{r2},{w2}]")
        LOG.enter_daemon_phase()
        # signal handlers exist only in the main thread; a relay in another
        # thread (pysocat.api) reaps its children when it closes
        wake_r = None
        if self.children:
            import threading    # only here: it costs start-up time
            if threading.current_thread() is threading.main_thread():
                wake_r = _install_sigchld()
        closing_deadline = None
        last_action = time.monotonic()
        try:
            while not self.stop_requested:
                active = [d for d in self.dirs if not d.eof]
                if not active:
                    break
                now = time.monotonic()
                timeout = None
                if closing_deadline is not None:
                    timeout = closing_deadline - now
                    if timeout <= 0:
                        break
                if cfg.total_timeout is not None:
                    t = last_action + cfg.total_timeout - now
                    if t <= 0:
                        LOG.notice("inactivity timeout triggered")
                        break
                    timeout = t if timeout is None else min(timeout, t)
                polling = [d for d in active if d.polling]
                if polling:
                    timeout = POLL_INTERVAL if timeout is None else min(timeout, POLL_INTERVAL)
                ready = [d for d in active if not d.polling and d.src.pending()]
                if not ready:
                    rlist = [d.src.rfd for d in active if not d.polling]
                    if wake_r is not None:
                        rlist.append(wake_r)
                    if cfg.stop_fd is not None:
                        rlist.append(cfg.stop_fd)
                    try:
                        got, _, _ = select.select(rlist, [], [], timeout)
                    except InterruptedError:
                        got = []
                    if cfg.stop_fd is not None and cfg.stop_fd in got:
                        return 0
                    if wake_r is not None and wake_r in got:
                        _drain(wake_r)
                        self._reap_children()
                    if not got:
                        ready = polling
                    else:
                        ready = [d for d in active if d.src.rfd in got and not d.polling]
                        ready += polling if not ready else []
                for d in ready:
                    res = d.transfer(closing_deadline is not None)
                    if res > 0:
                        last_action = time.monotonic()
                        d.polling = False
                        continue
                    if res < 0:
                        continue
                    # EOF on this direction's source
                    if d.src.ignoreeof and not d.escaped and closing_deadline is None \
                            and not (d.left is not None and d.left <= 0):
                        d.polling = True
                        LOG.debug(f"socket {d.index} (fd {d.src.rfd}) is at EOF, ignoring")
                        continue
                    LOG.notice(f"socket {d.index} (fd {d.src.rfd}) is at EOF")
                    d.eof = True
                    d.polling = False
                    d.dst.shutdown_write()
                    if len(self.dirs) == 1:
                        return 0
                    if closing_deadline is None:
                        closing_deadline = time.monotonic() + cfg.closing_timeout
            return 0
        finally:
            if wake_r is not None:
                _uninstall_sigchld(wake_r)

    def _reap_children(self) -> None:
        for child in self.children:
            child.poll_exit(from_signal=True)


# SIGCHLD → self-pipe so select() wakes up when an EXEC child ends
_wake_w = None
_saved = (-1, signal.SIG_DFL)   # the wakeup fd and SIGCHLD handler we replaced


def _install_sigchld():
    global _wake_w, _saved
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    _wake_w = w
    handler = signal.signal(signal.SIGCHLD, lambda s, f: None)
    _saved = (signal.set_wakeup_fd(w, warn_on_full_buffer=False), handler)
    return r


def _uninstall_sigchld(r):
    global _wake_w
    signal.set_wakeup_fd(_saved[0])
    signal.signal(signal.SIGCHLD, _saved[1] if _saved[1] is not None else signal.SIG_DFL)
    for fd in (r, _wake_w):
        try:
            os.close(fd)
        except OSError:
            pass
    _wake_w = None


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
