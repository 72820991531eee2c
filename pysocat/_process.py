"""``start(..., mode="process")``: the relay in a fresh interpreter.

The child (``python -m pysocat._process``) runs an ordinary thread-less
``api.Relay`` in its main thread, so signals, SIGCHLD and ``fork`` listeners
behave exactly as in the command. A socketpair carries JSON lines:
child → parent ``listen``, ``open``, ``log``, ``bytes``, ``done``;
parent → child ``stop`` and ``bytes`` (a request for the current counts).
The child runs in its own session; a stop that the child does not honour
in time, and anything the child forked that outlived it, gets SIGTERM
(then SIGKILL) by process group.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

from .api import LogCallback, Relay, Transferred
from .errors import SocatError


def _encode(addr: Any) -> Any:
    if isinstance(addr, bytes):
        return {"bytes": addr.hex()}
    return addr


def _decode(addr: Any) -> Any:
    if isinstance(addr, dict) and "bytes" in addr:
        return bytes.fromhex(addr["bytes"])
    if isinstance(addr, list):
        return tuple(addr)
    return addr


class ProcessRelay(Relay):
    """A Relay whose loop runs in a child process; same interface."""

    def __init__(self, addr1: str, addr2: str, *, log_level: int | str = "E",
                 on_log: LogCallback | None = None, **flags: Any) -> None:
        super().__init__(addr1, addr2, log_level=log_level, on_log=on_log, **flags)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._counts = Transferred(0, 0)
        self._counts_seq = 0
        self._cond = threading.Condition(self._lock)
        self._send_lock = threading.Lock()
        self.pid: int | None = None

    def run(self) -> int:
        self.start()
        return self.wait()

    def start(self) -> ProcessRelay:
        mine, theirs = socket.socketpair()
        job = {"addresses": list(self.addresses), "flags": self._flags,
               "log_level": self._level, "forward_log": self._on_log is not None}
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "pysocat._process", str(theirs.fileno()), json.dumps(job)],
            pass_fds=[theirs.fileno()], env=env, start_new_session=True)
        theirs.close()
        self.pid = self._proc.pid
        self._sock = mine
        self._thread = threading.Thread(target=self._reader, daemon=True,
                                        name=f"pysocat reader {self.pid}")
        self._thread.start()
        return self

    def _reader(self) -> None:
        assert self._sock is not None and self._proc is not None
        got_done = False
        try:
            f = self._sock.makefile("rb")
            for line in f:
                msg = json.loads(line)
                ev = msg["ev"]
                if ev == "listen":
                    with self._lock:
                        self._listening[msg["index"]] = _decode(msg["addr"])
                    self._ready.set()
                elif ev == "open":
                    with self._lock:
                        self._local = (_decode(msg["local"][0]), _decode(msg["local"][1]))
                        self._opened = True
                    self._ready.set()
                elif ev == "log":
                    if self._on_log is not None:
                        self._on_log(msg["letter"], msg["text"])
                elif ev == "bytes":
                    with self._cond:
                        self._counts = Transferred(*msg["v"])
                        self._counts_seq += 1
                        self._cond.notify_all()
                elif ev == "done":
                    got_done = True
                    with self._cond:
                        self._counts = Transferred(*msg["bytes"])
                        self._cond.notify_all()
                    self.status = msg["status"]
                    if msg.get("error") is not None:
                        self.error = SocatError(msg["error"], msg["status"])
        except (OSError, ValueError):
            pass
        finally:
            rc = self._proc.wait()
            if not got_done:
                self.status = rc if rc >= 0 else 128 - rc
                if not self._stopping:
                    self.error = SocatError(
                        f"relay process {self._proc.pid} exited with status {self.status}",
                        self.status)
            self._kill_group(signal.SIGTERM)
            self._sock.close()
            self._done.set()
            self._ready.set()

    def _send(self, text: str) -> None:
        with self._send_lock:
            if self._sock is not None:
                try:
                    self._sock.sendall(text.encode() + b"\n")
                except OSError:
                    pass

    def _kill_group(self, sig: int) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @property
    def transferred(self) -> Transferred:
        if self._done.is_set():
            return self._counts
        with self._cond:
            seq = self._counts_seq
            self._send("bytes")
            self._cond.wait_for(lambda: self._counts_seq > seq or self._done.is_set(), 5.0)
            return self._counts

    def _request_stop(self) -> None:
        with self._lock:
            self._stopping = True
        self._send("stop")

    def stop(self, timeout: float | None = 5.0) -> int:
        self._request_stop()
        grace = 5.0 if timeout is None else timeout
        if not self._done.wait(grace):
            self._kill_group(signal.SIGTERM)
            if not self._done.wait(1.0):
                self._kill_group(signal.SIGKILL)
        return self.wait(timeout=2.0)


# ---------------------------------------------------------------- the child

def _child_main(fd: int, job: dict[str, Any]) -> int:
    sock = socket.socket(fileno=fd)
    send_lock = threading.Lock()

    def send(**msg: Any) -> None:
        data = json.dumps(msg).encode() + b"\n"
        with send_lock:
            try:
                sock.sendall(data)
            except OSError:
                pass

    def forward(letter: str, text: str) -> None:
        send(ev="log", letter=letter, text=text)

    class ChildRelay(Relay):
        def _hook_listen(self, index: int, sock: Any) -> None:
            super()._hook_listen(index, sock)
            send(ev="listen", index=index, addr=_encode(self.listening[index]))

        def _hook_ready(self, ep1: Any, ep2: Any) -> None:
            super()._hook_ready(ep1, ep2)
            send(ev="open", local=[_encode(a) for a in self.local_addresses])

    relay = ChildRelay(*job["addresses"], log_level=job["log_level"],
                       on_log=forward if job["forward_log"] else None, **job["flags"])

    def control() -> None:
        f = sock.makefile("rb")
        try:
            for line in f:
                cmd = line.strip()
                if cmd == b"stop":
                    relay._request_stop()
                elif cmd == b"bytes":
                    send(ev="bytes", v=list(relay.transferred))
        except (OSError, ValueError):
            pass
        # the parent went away: stop; a relay that cannot be woken (an open
        # that blocks without a listening() hook) must not outlive it
        relay._request_stop()
        if not relay._done.wait(2.0):
            try:
                os.killpg(os.getpgid(0), signal.SIGTERM)
            finally:
                os._exit(1)

    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    threading.Thread(target=control, daemon=True).start()
    error = None
    try:
        status = relay.run()
    except SocatError as e:
        status, error = e.status, e.text
    except BaseException as e:  # noqa: B902 - reported to the parent
        status, error = 1, f"{type(e).__name__}: {e}"
    send(ev="done", status=status, error=error, bytes=list(relay.transferred))
    return status


if __name__ == "__main__":
    sys.exit(_child_main(int(sys.argv[1]), json.loads(sys.argv[2])))
