"""The library API: socat's address language inside Python programs and tests.

Everything here goes through the same core as the ``pysocat`` command
(``core.Config`` and ``core.run``): the CLI turns flags into a Config, this
module turns keyword arguments into one. See the README's "Python API".

Threads and processes
- ``LOG`` is process-global. A relay routes the messages logged in *its*
  thread to its own ``log_level``/``on_log`` (see pysocat/_logroute.py);
  messages of other threads keep LOG's own level and stream. Relays in
  threads share everything else of the process: the working directory,
  umask, environment, signal dispositions.
- A relay in a background thread cannot install signal handlers: EXEC/SYSTEM
  children are reaped when the relay closes, not on SIGCHLD; forking them
  from a thread of a multi-threaded process is what ``os.fork`` warns about.
  ``mode="process"`` runs the relay in a fresh interpreter and has none of
  these limits (use it for ``fork`` listeners too).
- After ``os.fork()`` a thread-mode handle is useless in the child (its
  thread does not exist there); process-mode handles belong to the process
  that started them.
- One handle may be used from several threads; ``on_log`` runs in the relay's
  thread (process mode: in the handle's reader thread).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Literal, NamedTuple

from . import _logroute
from .errors import SocatError
from .parse import parse as _parse_syntax
from .spec import DualSpec, Spec

LogCallback = Callable[[str, str], None]
Address = Any   # what socket.getsockname() returns: (host, port[, …]) or a path

_LEVELS = {"D": 0, "I": 1, "N": 2, "W": 3, "E": 4, "F": 5,
           "debug": 0, "info": 1, "notice": 2, "warn": 3, "warning": 3,
           "error": 4, "fatal": 5}
_MODES = {"rw": 2, "r": 0, "w": 1}


def parse(text: str, *, check: bool = False) -> Spec:
    """Parse one address (``TYPE:params,opts`` or ``read!!write``) into spec objects.

    Raises ``AddressSyntaxError`` (a ``SocatError``) with socat's text and the
    position when known. With ``check=True`` also looks the type up and parses
    its options, raising the errors socat reports before it opens anything
    (unknown address, wrong number of parameters, unknown/invalid options).
    """
    spec = _parse_syntax(text)
    if check:
        from .core import resolve
        for single in (spec.read, spec.write) if isinstance(spec, DualSpec) else (spec,):
            resolve(single)
    return spec


def explain(addr1: str, addr2: str | None = None, **flags: Any) -> dict[str, Any]:
    """What a run with these addresses and flags would do, without doing it.

    The same data as ``pysocat --explain --json`` (layout: explain.schema.json,
    schema ``pysocat-explain/1``): how each address splits, its canonical type,
    parameters, options (value, type, group, phase), the open steps, the relay
    flags and expert warnings. Flags are ``run``'s keyword arguments. Raises
    ``SocatError`` exactly where a run would fail before opening anything.
    """
    import importlib
    module = importlib.import_module("pysocat.explain")  # the module, not pysocat.explain
    result: dict[str, Any] = module.explain(addr1, addr2, _config(**flags))
    return result


class Transferred(NamedTuple):
    """Bytes moved so far, per direction."""
    left_to_right: int   # read from address 1, written to address 2
    right_to_left: int   # read from address 2, written to address 1


def _level(value: int | str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5:
        return value
    if isinstance(value, str) and value in _LEVELS:
        return _LEVELS[value]
    if isinstance(value, str) and value.lower() in _LEVELS:
        return _LEVELS[value.lower()]
    raise ValueError(f"log_level must be one of D I N W E F (or 0-5), not {value!r}")


def _config(*, verbose: bool = False, hexdump: bool = False,
            unidirectional: bool = False, reverse: bool = False,
            block_size: int = 8192, closing_timeout: float = 0.5,
            timeout: float | None = None, ignore_groups: bool = False,
            ip_version: int | None = None) -> Any:
    """Keyword arguments → core.Config, the same object the CLI's flags build."""
    from .core import Config
    if unidirectional and reverse:
        raise SocatError("-U and -u must not be combined")
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, not {block_size!r}")
    if ip_version not in (None, 4, 6):
        raise ValueError(f"ip_version must be 4, 6 or None, not {ip_version!r}")
    cfg = Config()
    cfg.bufsize, cfg.bufsize_given = block_size, block_size != 8192
    cfg.closing_timeout = float(closing_timeout)
    cfg.total_timeout = None if timeout is None else float(timeout)
    cfg.direction = "lr" if unidirectional else "rl" if reverse else "both"
    cfg.verbose, cfg.verbhex, cfg.ignore_groups = verbose, hexdump, ignore_groups
    cfg.prefer_ip = None if ip_version is None else str(ip_version)
    return cfg


def _error_of(exc: BaseException) -> SocatError | None:
    """The error the CLI would print for ``exc`` (cli.main's mapping)."""
    if isinstance(exc, SocatError):
        return exc
    if isinstance(exc, BrokenPipeError):
        return SocatError("write(): Broken pipe")
    if isinstance(exc, OSError):
        return SocatError(f"{exc.strerror or exc}")
    return None


def _sockname(sock: Any) -> Address:
    import socket
    if isinstance(sock, int):
        s = socket.socket(fileno=sock)
        try:
            return s.getsockname()
        finally:
            s.detach()
    return sock.getsockname()


def _shutdown(sock: Any) -> None:
    import socket
    try:
        if isinstance(sock, int):
            s = socket.socket(fileno=sock)
            try:
                s.shutdown(socket.SHUT_RDWR)
            finally:
                s.detach()
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _local(ep: Any) -> Address:
    for sub in (ep, getattr(ep, "reader", None), getattr(ep, "writer", None)):
        if sub is not None and getattr(sub, "local_address", None) is not None:
            return sub.local_address
    return None


class Relay:
    """A relay between two addresses: started by ``start()`` or ``run()``.

    ``wait_ready()`` returns once the relay is serving: both addresses are open,
    or a listener is listening (then ``listening``/``port`` tell where).
    ``transferred`` counts bytes per direction, ``stop()`` ends it cleanly,
    ``wait()`` returns its exit status or raises its ``SocatError``.
    """

    def __init__(self, addr1: str, addr2: str, *, log_level: int | str = "E",
                 on_log: LogCallback | None = None, **flags: Any) -> None:
        self.addresses = (addr1, addr2)
        self._flags = dict(flags)
        self._cfg = _config(**flags)
        self._level = _level(log_level)
        self._on_log = on_log
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._done = threading.Event()
        self._listening: dict[int, Address] = {}
        self._listen_socks: list[Any] = []
        self._local: tuple[Address, Address] = (None, None)
        self._opened = False
        self._stopping = False
        self._stop_w: int | None = None
        self._thread: threading.Thread | None = None
        self.status: int | None = None
        """Exit status once the relay has ended (socat's: 0 on success)."""
        self.error: BaseException | None = None
        """What ended the relay, if it failed (a SocatError for socat's errors)."""

    # ---------------------------------------------------------------- running
    def run(self) -> int:
        """Relay in the current thread until done; return the exit status."""
        self._execute()
        return self.wait()

    def start(self) -> Relay:
        """Relay in a background (daemon) thread; returns self at once."""
        for text in self.addresses:
            spec = _parse_syntax(text)
            for single in (spec.read, spec.write) if isinstance(spec, DualSpec) else (spec,):
                if any(o.name.lower() == "fork" for o in single.options):
                    raise ValueError(f'{text!r}: option "fork" needs start(..., mode="process")'
                                     " (a thread cannot fork a listener)")
        self._thread = threading.Thread(target=self._execute, daemon=True,
                                        name=f"pysocat {self.addresses[0]} {self.addresses[1]}")
        self._thread.start()
        return self

    def _execute(self) -> None:
        from .core import run as core_run
        stop_r, stop_w = os.pipe()
        cfg = self._cfg
        cfg.on_listen = self._hook_listen
        cfg.stop_fd = stop_r
        with self._lock:
            self._stop_w = stop_w
            if self._stopping:
                os.write(stop_w, b"x")
        route = _logroute.push(self._level, self._on_log)
        try:
            self.status = core_run(self.addresses[0], self.addresses[1], cfg,
                                   on_ready=self._hook_ready)
        except BaseException as exc:  # noqa: B902 - recorded, re-raised by wait()
            err = _error_of(exc)
            if self._stopping and (err is not None or isinstance(exc, OSError)):
                self.status = 0     # the failure our stop caused (accept() shut down)
            else:
                self.error = err if err is not None else exc
                self.status = err.status if err is not None else 1
        finally:
            _logroute.pop(route)
            with self._lock:
                self._stop_w = None
                os.close(stop_w)
                os.close(stop_r)
                self._listen_socks.clear()
            self._done.set()
            self._ready.set()

    # hooks called by the core and the listeners (in the relay's thread)
    def _hook_listen(self, index: int, sock: Any) -> None:
        addr = _sockname(sock)
        with self._lock:
            self._listening[index] = addr
            self._listen_socks.append(sock)
            if self._stopping:
                _shutdown(sock)
        self._ready.set()

    def _hook_ready(self, ep1: Any, ep2: Any) -> None:
        with self._lock:
            self._local = (_local(ep1), _local(ep2))
            self._opened = True
            self._listen_socks.clear()
        self._ready.set()

    # ---------------------------------------------------------------- state
    def wait_ready(self, timeout: float | None = 10.0) -> Relay:
        """Block until serving (see class doc); raise its error if it failed first."""
        if not self._ready.wait(timeout):
            raise TimeoutError(f"relay {self.addresses} not ready after {timeout} s")
        if self._done.is_set() and self.error is not None and not self._opened \
                and not self._listening:
            raise self.error
        return self

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not (self._done.is_set() and self.error)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def listening(self) -> dict[int, Address]:
        """Listening addresses by address index (1, 2): getsockname() form."""
        with self._lock:
            return dict(self._listening)

    @property
    def port(self) -> int | None:
        """The port of the first listening address (the real one for port 0)."""
        for _, addr in sorted(self.listening.items()):
            if isinstance(addr, tuple) and len(addr) >= 2:
                return int(addr[1])
        return None

    @property
    def local_addresses(self) -> tuple[Address, Address]:
        """Local socket addresses of the opened addresses 1 and 2 (None: not a socket)."""
        with self._lock:
            return self._local

    @property
    def transferred(self) -> Transferred:
        relay = self._cfg.extra.get("relay")
        moved = {d.index: d.moved for d in relay.dirs} if relay is not None else {}
        return Transferred(moved.get(1, 0), moved.get(2, 0))

    # ---------------------------------------------------------------- ending
    def stop(self, timeout: float | None = 5.0) -> int:
        """End the relay cleanly (as at EOF: close both addresses); return its status.

        A relay still opening its addresses stops when the open returns; one
        waiting in a listener's accept()/recvfrom() is woken. Raises
        TimeoutError if it has not ended within ``timeout`` seconds.
        """
        self._request_stop()
        return self.wait(timeout)

    def _request_stop(self) -> None:
        with self._lock:
            self._stopping = True
            if self._stop_w is not None:
                try:
                    os.write(self._stop_w, b"x")
                except OSError:
                    pass
            if not self._opened:
                for sock in self._listen_socks:
                    _shutdown(sock)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end; return the exit status, or raise the relay's error."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"relay {self.addresses} still running after {timeout} s")
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.status is not None
        return self.status

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        self._request_stop()
        try:
            self.wait(5.0)
        except (SocatError, TimeoutError):
            if exc[0] is None:
                raise

    def __repr__(self) -> str:
        state = "done" if self.done else "ready" if self.ready else "starting"
        return f"<pysocat.Relay {self.addresses[0]!r} {self.addresses[1]!r} {state}>"


def run(addr1: str, addr2: str, *, log_level: int | str = "E",
        on_log: LogCallback | None = None, **flags: Any) -> int:
    """Relay between two addresses in the current thread, as ``pysocat addr1 addr2``.

    Keyword arguments are the command's flags: ``verbose`` (-v), ``hexdump``
    (-x), ``unidirectional`` (-u), ``reverse`` (-U), ``block_size`` (-b),
    ``closing_timeout`` (-t), ``timeout`` (-T, inactivity), ``ignore_groups``
    (-g), ``ip_version`` 4/6 (-4/-6), ``log_level`` D I N W E F (-d…) and
    ``on_log(letter, text)`` receiving each message instead of stderr.
    Returns the exit status; socat's errors raise ``SocatError``.
    """
    return Relay(addr1, addr2, log_level=log_level, on_log=on_log, **flags).run()


def start(addr1: str, addr2: str, *, mode: Literal["thread", "process"] = "thread",
          log_level: int | str = "E", on_log: LogCallback | None = None,
          **flags: Any) -> Relay:
    """Start a relay in a background thread (or ``mode="process"``); see ``run``.

    Returns a ``Relay`` at once; call ``wait_ready()`` before using it.
    """
    if mode == "process":
        from ._process import ProcessRelay
        return ProcessRelay(addr1, addr2, log_level=log_level, on_log=on_log,
                            **flags).start()
    if mode != "thread":
        raise ValueError(f'mode must be "thread" or "process", not {mode!r}')
    return Relay(addr1, addr2, log_level=log_level, on_log=on_log, **flags).start()


# ------------------------------------------------------------------ open()

class Stream:
    """One opened address as a Python object (``open()``); socket-like reads.

    ``read(n)`` returns what one read gives (at most n bytes, b"" at EOF),
    like ``socket.recv``; ``readall()`` reads to EOF. ``write`` writes all.
    ``shutdown_write()`` half-closes (the peer sees EOF). The address's
    relay options apply here too: cr/crnl (line ends converted to and from
    ``\\n``), readbytes, escape, ignoreeof.
    """

    def __init__(self, ep: Any, address: str, timeout: float | None,
                 block_size: int) -> None:
        self._ep = ep
        self.address = address
        self.timeout = timeout
        self._bufsize = block_size
        self._left: int | None = ep.readbytes or None
        self._eof = False
        self.closed = False

    @property
    def local_address(self) -> Address:
        return _local(self._ep)

    @property
    def peer_address(self) -> Address:
        return getattr(self._ep, "peer_address", None)

    def fileno(self) -> int:
        """The descriptor reads come from (-1 if write-only)."""
        return int(self._ep.rfd)

    def _wait_readable(self, deadline: float | None) -> None:
        import select
        import time
        if self._ep.pending():
            return
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"read from {self.address!r} timed out")
            try:
                got, _, _ = select.select([self._ep.rfd], [], [], left)
            except InterruptedError:
                continue
            if got:
                return

    def read(self, size: int | None = None) -> bytes:
        """One read: up to ``size`` bytes (default the block size), b"" at EOF."""
        import time
        from .relay.convert import convert_lineterm
        from .relay.endpoint import LT_RAW
        self._check_open()
        if self._eof or self._ep.rfd < 0:
            return b""
        n = self._bufsize if size is None or size < 0 else size
        if self._left is not None:
            n = min(n, self._left)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            self._wait_readable(deadline)
            try:
                data = self._ep.read(n)
            except BlockingIOError:
                continue
            except OSError as e:
                raise SocatError(f"read({self._ep.rfd}, {n}): {e.strerror}") from None
            if data or not self._ep.ignoreeof:
                break
            # ignoreeof: socat polls the source once per second
            if deadline is not None and time.monotonic() + 1.0 > deadline:
                raise TimeoutError(f"read from {self.address!r} timed out")
            time.sleep(1.0)
        if not data:
            self._eof = True
            return b""
        if self._left is not None:
            self._left -= len(data)
            if self._left <= 0:
                self._eof = True
        if self._ep.escape >= 0:
            pos = data.find(bytes([self._ep.escape]))
            if pos >= 0:
                data, self._eof = data[:pos], True
        if self._ep.lineterm != LT_RAW:
            data = convert_lineterm(data, self._ep.lineterm, LT_RAW)
        return bytes(data)

    def readall(self) -> bytes:
        """Read until EOF."""
        parts: list[bytes] = []
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def write(self, data: bytes) -> int:
        """Write all of ``data`` (one datagram on datagram addresses); returns len(data)."""
        from .relay.convert import convert_lineterm
        from .relay.endpoint import LT_RAW
        self._check_open()
        lt = getattr(self._ep, "wlineterm", self._ep.lineterm)
        out = convert_lineterm(bytes(data), LT_RAW, lt) if lt != LT_RAW else data
        try:
            self._ep.write(out)
        except OSError as e:
            if isinstance(e, BrokenPipeError):
                raise SocatError(f"write({self._ep.wfd}, {len(out)}): Broken pipe") from None
            raise SocatError(f"write({self._ep.wfd}, {len(out)}): {e.strerror}") from None
        return len(data)

    def shutdown_write(self) -> None:
        """Half-close: no more writes; the other side sees EOF."""
        self._check_open()
        self._ep.shutdown_write()

    def close(self) -> None:
        """Close the address (an EXEC child is ended and reaped)."""
        if self.closed:
            return
        self.closed = True
        from .core import _children
        self._ep.close()
        for child in _children(self._ep):
            if child.status:
                raise SocatError(f"waitpid(): child {child.pid} exited with status {child.status}")

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed pysocat stream")

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self.close()
        except SocatError:
            if exc_type is None:
                raise

    def __repr__(self) -> str:
        return f"<pysocat.Stream {self.address!r}{' closed' if self.closed else ''}>"


def open(address: str, mode: str = "rw", *, timeout: float | None = None,  # noqa: A001
         block_size: int = 8192, ignore_groups: bool = False,
         ip_version: int | None = None, log_level: int | str = "E",
         on_log: LogCallback | None = None,
         on_listen: Callable[[Address], None] | None = None) -> Stream:
    """Open one address for reading and writing (``mode`` "rw", "r" or "w").

    ``timeout`` bounds each read (TimeoutError). A listening address blocks
    until its peer arrives; ``on_listen(address)`` is called (in this thread)
    once it listens, with the real address (port 0 → the port chosen).
    Errors opening it raise ``SocatError`` with socat's text. Use as a
    context manager.
    """
    from .core import open_spec
    if mode not in _MODES:
        raise ValueError(f'mode must be "rw", "r" or "w", not {mode!r}')
    cfg = _config(block_size=block_size, ignore_groups=ignore_groups,
                  ip_version=ip_version)
    if on_listen is not None:
        cfg.on_listen = lambda index, sock: on_listen(_sockname(sock))
    spec = _parse_syntax(address)
    route = _logroute.push(_level(log_level), on_log)
    try:
        ep = open_spec(spec, _MODES[mode], cfg, 1)
    except BaseException as exc:
        err = _error_of(exc)
        if err is not None and err is not exc:
            raise err from None
        raise
    finally:
        _logroute.pop(route)
    return Stream(ep, address, timeout, block_size)
