"""READLINE: line editing and history on the terminal of stdin (socat's xio-readline.c).

Reads lines from fd 0 through GNU readline (Python's ``readline`` module, via
``input()``), writes the other side's data to fd 1. As in socat:

- the open clears ICANON and ECHO on fd 0 so that ``select()`` sees the first
  key; a read then runs one whole ``readline()`` (the relay waits for the line),
  with ECHO set while it runs; every line goes into the history, newline added;
- the prompt is the last partial line the other side wrote (after its last CR
  or LF, at most 512 bytes) unless ``prompt=`` fixes it or ``noprompt`` drops
  it; before a prompt a CR goes to fd 0 so that readline reprints it in place;
- ``noecho=REGEX`` (POSIX ERE, libc's regcomp/regexec): when the current
  dynamic prompt matches, the next line is read in canonical mode without
  echo, bypassing readline and the history (so only without prompt/noprompt);
- ``history=FILE`` is loaded at open; at close the history is written to
  that file, or to readline's default ``~/.history`` without the option
  (socat calls ``write_history(NULL)`` then);
- stdin must be a terminal: otherwise the open fails with socat's
  ``tcgetattr(0, …): Inappropriate ioctl for device``.

Python's ``input()`` uses readline only when fd 1 is a terminal too; with
stdout redirected, a line is read in the terminal's canonical mode instead
(kernel line editing, no history recall; lines still enter the history).
"""
from __future__ import annotations

import os

from ..errors import SocatError
from ..log import LOG
from ..relay.endpoint import Endpoint
from .base import READ, RDWR, WRITE, finish
from .registry import address

MAXPROMPT = 512                 # socat's READLINE_MAXPROMPT
REG_EXTENDED, REG_NOSUB = 1, 8  # glibc <regex.h>



def _canonical():
    """Put stdin's terminal in canonical mode for one line; the old attributes."""
    import termios as T
    save = T.tcgetattr(0)
    canon = [list(x) if isinstance(x, list) else x for x in save]
    canon[3] |= T.ICANON
    T.tcsetattr(0, T.TCSANOW, canon)
    return save

class _Regex:
    """A POSIX extended regex compiled by libc, as socat's regcomp/regexec."""

    def __init__(self, pattern: str) -> None:
        import ctypes
        self._libc = libc = ctypes.CDLL(None)
        self._buf = ctypes.create_string_buffer(256)        # >= sizeof(regex_t)
        code = libc.regcomp(self._buf, pattern.encode(errors="surrogateescape"),
                            REG_EXTENDED | REG_NOSUB)
        if code:
            err = ctypes.create_string_buffer(128)
            libc.regerror(code, self._buf, err, len(err))
            raise SocatError(f'regcomp(0x{ctypes.addressof(self._buf):x}, "{pattern}", '
                             f'REG_EXTENDED|REG_NOSUB): {err.value.decode(errors="replace")}')

    def matches(self, text: bytes) -> bool:
        return self._libc.regexec(self._buf, text, 0, None, 0) == 0


def _termios_change(fd: int, set_mask: int = 0, clear_mask: int = 0, when=None) -> None:
    """socat's xiotermios_setflag/clrflag on c_lflag plus xiotermios_flush."""
    import termios as T
    try:
        attrs = T.tcgetattr(fd)
    except T.error as e:
        raise SocatError(f"tcgetattr({fd}, 0x{id(fd):x}): {os.strerror(e.args[0])}") from None
    attrs[3] = (attrs[3] | set_mask) & ~clear_mask
    try:
        T.tcsetattr(fd, T.TCSADRAIN if when is None else when, attrs)
    except T.error as e:
        raise SocatError(f"tcsetattr({fd}, TCSADRAIN, 0x{id(attrs):x}): "
                         f"{os.strerror(e.args[0])}") from None


def _c_string(b: bytes) -> bytes:
    """What C sees of a buffer: up to the first NUL."""
    return b.split(b"\0", 1)[0]


class ReadlineEndpoint(Endpoint):
    """fd 0 read through readline, fd 1 written (and scanned for the prompt)."""

    zero_copy = False            # every write is scanned, every read is a readline()

    def __init__(self, rl, prompt, dynamic: bool, noecho, history) -> None:
        super().__init__(0, 1, "readline")
        self.rl = rl
        self.prompt = prompt                    # str | None (prompt=)
        self.dyn = b"" if dynamic else None     # the last partial output line
        self.noecho = noecho                    # _Regex | None
        self.history = history                  # file name | None

    # output: remember the last partial line as the next prompt (xioscan_readline)
    def write(self, data) -> int:
        if self.dyn is not None:
            tail = bytes(data[-MAXPROMPT:])
            eol = max(tail.rfind(b"\r"), tail.rfind(b"\n"))
            if eol >= 0:
                self.dyn = b""
                tail = tail[eol + 1:]
            self.dyn = (self.dyn + tail)[-MAXPROMPT:]
        return super().write(data)

    # input: one readline() per read (xioread_readline)
    def read(self, n: int) -> bytes:
        import termios as T
        if self.dyn is not None and self.noecho is not None \
                and self.noecho.matches(_c_string(self.dyn)):
            # a password prompt: a canonical read, no echo, not into the history
            save = _canonical()
            try:
                while True:
                    try:
                        data = os.read(0, n)
                        break
                    except InterruptedError:
                        continue
                    except OSError as e:
                        raise SocatError(f"read(0, 0x{id(self):x}, {n}): {e.strerror}") from None
            finally:
                T.tcsetattr(0, T.TCSANOW, save)
            self.dyn = b""
            return data
        _termios_change(0, set_mask=T.ECHO)
        if self.prompt is not None or self.dyn is not None:
            try:
                os.write(0, b"\r")    # readline prints the prompt again, from column 0
            except OSError as e:
                LOG.warn(f'write(0, "\\r", 1): {e.strerror}')
        if self.dyn is not None:
            prompt = _c_string(self.dyn).decode("utf-8", "surrogateescape")
            self.dyn = b""
        else:
            prompt = self.prompt
        LOG.debug(f'readline("{prompt}")' if prompt is not None else "readline(NULL)")
        line = self._readline(prompt or "", n)
        if line is None:
            LOG.debug("readline() -> NULL")
            return b""                                       # EOF (^D)
        LOG.debug('readline() -> "..."')
        _termios_change(0, clear_mask=T.ECHO)
        LOG.debug(f'add_history("{line}")')
        self.rl.add_history(line)
        LOG.debug("add_history() ->")
        data = line.encode(_encoding(), "surrogateescape")
        if len(data) < n:
            return data + b"\n"
        return data[:n]

    def _readline(self, prompt: str, n: int):
        if os.isatty(1):
            try:
                return input(prompt)
            except EOFError:
                return None
        # input() would not use readline: the terminal's own line editing
        import termios as T
        save = _canonical()
        try:
            if prompt:
                os.write(1, prompt.encode(_encoding(), "surrogateescape"))
            data = os.read(0, n)
        finally:
            T.tcsetattr(0, T.TCSANOW, save)
        if not data:
            return None
        return data.rstrip(b"\n").decode(_encoding(), "surrogateescape")

    def save_history(self) -> None:
        """socat's xioclose1: write_history(history_file) (NULL: ~/.history)."""
        name = self.history
        LOG.debug(f'write_history("{name}")' if name is not None else "write_history(NULL)")
        try:
            self.rl.write_history_file(name)
            result = 0
        except OSError as e:
            result = e.errno or 0
        LOG.debug(f"write_history() -> {result}")


def _encoding() -> str:
    import sys
    return getattr(sys.stdin, "encoding", None) or "utf-8"


def open_readline(ctx, row, spec, opts, params):
    """socat's xioopen_readline()."""
    if params:
        raise SocatError(f"{spec.head}: 0 parameters required")
    parts = []
    if ctx.mode in (READ, RDWR):
        parts.append("readline on stdin for reading")
    if ctx.mode in (WRITE, RDWR):
        parts.append("stdio for writing")
    LOG.notice("using " + " and ".join(parts))
    from .ttysave import save_tty
    probe = Endpoint(0, 0)
    save_tty(probe)                        # ttyvalid/savetty of fd 0, restored at close
    early = opts.take(lambda r: r.apply[0] != "addr" and r.phase in ("INIT", "FD"))
    early.apply("INIT", 0)
    early.apply("FD", 0)

    import sys
    for stream in (sys.stdin, sys.stdout):     # input() decodes and encodes through these
        try:
            stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError):
            pass
    import readline as rl                      # GNU readline; using_history() on import
    LOG.debug("using_history()")
    rl.set_auto_history(False)                 # socat adds every line itself, empty ones too
    LOG.debug("using_history() ->")
    history = opts.get("history-file")
    prompt = opts.get("prompt")
    noprompt = bool(opts.get("noprompt"))
    dynamic = not noprompt and prompt is None
    pattern = opts.get("noecho")
    noecho = _Regex(pattern) if pattern is not None else None
    ep = ReadlineEndpoint(rl, prompt, dynamic, noecho, history)
    if history is not None:
        LOG.debug(f'read_history("{history}")')
        try:
            rl.read_history_file(history)
            result = 0
        except OSError as e:
            result = e.errno or 0
        LOG.debug(f"read_history() -> {result}")
    import termios as T
    ep.on_close.append(ep.save_history)        # history first, then the terminal settings
    ep.on_close.extend(probe.on_close)
    try:
        _termios_change(0, clear_mask=T.ICANON | T.ECHO)
        return finish(ep, opts, fd=0)
    except BaseException:
        ep.on_close.remove(ep.save_history)    # socat's error exit writes no history
        ep.close()
        raise


address("readline", "", "FD,READLINE,TERMIOS", open_readline, "READLINE",
        "line editing and history (GNU readline) on the terminal of stdin; writes to stdout",
        nparams=(0, 99), transport="inherited",
        steps=(("INIT", "use fd 0 (stdin, a terminal) for reading, fd 1 (stdout) for writing"),
               ("LATE", "read_history({opt[history-file]})", "history-file"),
               ("LATE", "tcsetattr(0): clear ICANON and ECHO; each read is one readline()"),))
