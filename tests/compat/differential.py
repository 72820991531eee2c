"""Differential testing: run one scenario with classic socat and with pysocat.

A Scenario is what a user would type: some flags, the addresses, bytes on
stdin, and optionally peer processes (a listener, a client) that must run at
the same time.  run() executes it with one binary and returns an Outcome;
compare() runs it with both and lists the differences in

- exit code,
- bytes written to stdout (what address 2 delivered towards address 1's side)
  and to every peer's stdout (what reached the other side),
- the contents of files the scenario names (what a file address wrote),
- log lines on stderr after normalisation: timestamps (also of -v/-x dump
  headers), the program name and
  pid ("socat[1234]" and "pysocat[99]" both become "socat[PID]"), fd numbers,
  child pids, ephemeral ports, the scenario's own ports and temp directory.

Placeholders expanded in flags, addresses and peer argv, fresh for each run:
``{port}``, ``{port2}`` (free TCP/UDP ports on 127.0.0.1), ``{tmp}`` (an empty
directory).  In a peer's argv the element ``{socat}`` becomes the binary under
test and ``{classic}`` always real socat.

    from tests.compat.differential import Scenario, compare
    diff = compare(Scenario(["-", "-"], stdin=b"hi\\n"))
    assert not diff.differences, diff.report()

Binaries: classic socat from $COMPAT_SOCAT or PATH; pysocat from $PYSOCAT,
<repo>/.venv/bin/pysocat, or ``python -m pysocat``.  find_binaries() says why
one is unavailable so tests can skip with that reason.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- binaries

@dataclass(frozen=True)
class Binary:
    label: str
    argv: tuple[str, ...]       # the command prefix, e.g. ("/usr/bin/socat",)


def _probe(argv: Sequence[str]) -> str | None:
    """None when `argv -V` runs; else why not."""
    try:
        p = subprocess.run([*argv, "-V"], capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{' '.join(argv)} -V: {e}"
    err = p.stderr.decode(errors="replace")
    if "Traceback (most recent call last)" in err:
        last = err.strip().splitlines()[-1]
        return f"{' '.join(argv)} -V crashed: {last}"
    return None


@functools.lru_cache(maxsize=None)
def classic_binary() -> tuple[Binary | None, str]:
    path = os.environ.get("COMPAT_SOCAT") or shutil.which("socat") or "/usr/bin/socat"
    if not os.access(path, os.X_OK):
        return None, "classic socat not found (install Debian's socat 1.7.4.4 or set COMPAT_SOCAT)"
    why = _probe([path])
    return (None, why) if why else (Binary("classic", (path,)), "")


@functools.lru_cache(maxsize=None)
def pysocat_binary() -> tuple[Binary | None, str]:
    candidates: list[tuple[str, ...]] = []
    if os.environ.get("PYSOCAT"):
        candidates.append(tuple(os.environ["PYSOCAT"].split()))
    venv = REPO / ".venv" / "bin" / "pysocat"
    if os.access(venv, os.X_OK):
        candidates.append((str(venv),))
    if (REPO / "pysocat" / "__main__.py").is_file():
        candidates.append((sys.executable, "-m", "pysocat"))
    if not candidates:
        return None, ("pysocat not found (no $PYSOCAT, no .venv/bin/pysocat: run `make install`, "
                      "no pysocat/__main__.py)")
    if not (REPO / "pysocat" / "cli.py").is_file() and not os.environ.get("PYSOCAT"):
        return None, "pysocat not implemented yet: pysocat/cli.py is missing"
    reasons = []
    for argv in candidates:
        why = _probe(argv)
        if not why:
            return Binary("pysocat", argv), ""
        reasons.append(why)
    return None, "pysocat not runnable: " + "; ".join(reasons)


def find_binaries() -> tuple[Binary | None, Binary | None, str]:
    """(classic, pysocat, reason-if-either-is-missing)."""
    c, cwhy = classic_binary()
    p, pwhy = pysocat_binary()
    return c, p, "; ".join(w for w in (cwhy, pwhy) if w)


# --------------------------------------------------------------------------- scenarios

@dataclass
class Peer:
    """A process running alongside the scenario (listener, client, echo server)."""
    argv: Sequence[str]
    stdin: bytes = b""
    ready: str | float | None = None    # "tcp-listen:{port}", "udp:{port}", "path:{tmp}/s", seconds
    start_after: bool = False           # start after the main process (a client of it)
    timeout: float = 5.0                # how long it may run after the main process ended


@dataclass
class Scenario:
    addresses: Sequence[str]
    flags: Sequence[str] = ()
    stdin: bytes = b""
    peers: Sequence[Peer] = ()
    timeout: float = 10.0
    env: dict[str, str] | None = None
    # Files (paths may use {tmp}) whose contents are compared after the run: what a
    # file address delivered.
    files: Sequence[str] = ()
    # Regexes (pattern, replacement) applied to log lines after the built-in ones.
    normalise: Sequence[tuple[str, str]] = ()
    compare: Sequence[str] = ("rc", "stdout", "peers", "files", "log")


@dataclass
class Outcome:
    binary: Binary
    argv: list[str]
    rc: int | None              # None: killed at the timeout
    stdout: bytes
    stderr: bytes
    log: list[str]
    peer_stdout: list[bytes] = field(default_factory=list)
    peer_log: list[list[str]] = field(default_factory=list)
    peer_rc: list[int | None] = field(default_factory=list)
    files: dict[str, bytes | None] = field(default_factory=dict)   # None: file absent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TS = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ")
_DUMP_TS = re.compile(r"^([<>]) \d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ")   # -v/-x headers
_PROG = re.compile(r"^[^\s\[\]]+\[\d+\] ")   # socat[123] or pysocat[9]
_BUILTIN_SUBS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"FDs \[\d+,\d+\] and \[\d+,\d+\]"), "FDs [FD,FD] and [FD,FD]"),
    (re.compile(r"\bfd \d+"), "fd FD"),
    (re.compile(r"\bfds? \[?\d+(?:,\d+)*\]?"), "fd FD"),
    (re.compile(r"\b(forked off child process|child process|childdied\(\): handling signal \d+ pid|pid) \d+"),
     r"\1 PID"),
    (re.compile(r"(\d+\.\d+\.\d+\.\d+|\]):(?:3[2-9]\d{3}|[4-6]\d{4})\b"), r"\1:EPHEMERAL"),
]


def normalise_log(text: str, subs: dict[str, str] | None = None,
                  extra: Sequence[tuple[str, str]] = ()) -> list[str]:
    """socat/pysocat stderr -> comparable lines."""
    out = []
    for line in text.splitlines():
        line = _TS.sub("", line)
        line = _DUMP_TS.sub(r"\1 TIME ", line)
        line = _PROG.sub("socat[PID] ", line)
        for literal, name in (subs or {}).items():
            if literal.isdigit():
                line = re.sub(rf"(?<!\d){literal}(?!\d)", name, line)
            elif literal:
                line = line.replace(literal, name)
        for pat, rep in _BUILTIN_SUBS:
            line = pat.sub(rep, line)
        for pat, rep in extra:
            line = re.sub(pat, rep, line)
        out.append(line.rstrip())
    return out


def _listening(kind: str, port: int) -> bool:
    files = {"tcp-listen": ("/proc/net/tcp", "/proc/net/tcp6"),
             "udp": ("/proc/net/udp", "/proc/net/udp6")}[kind]
    want = f":{port:04X}"
    for f in files:
        try:
            for line in Path(f).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[1].endswith(want) and (kind == "udp" or cols[3] == "0A"):
                    return True
        except OSError:
            pass
    return False


def _wait_ready(ready: str | float | None, deadline: float) -> None:
    if ready is None:
        return
    if isinstance(ready, (int, float)):
        time.sleep(float(ready))
        return
    kind, _, arg = ready.partition(":")
    while time.monotonic() < deadline:
        if kind in ("tcp-listen", "udp") and _listening(kind, int(arg)):
            return
        if kind == "path" and os.path.exists(arg):
            return
        time.sleep(0.02)
    raise TimeoutError(f"peer not ready: {ready}")


def _terminate(p: subprocess.Popen, grace: float) -> int | None:
    """Wait for a process we started; TERM then KILL it by its pid if it overstays."""
    try:
        return p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    p.terminate()
    try:
        p.wait(timeout=2)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
    return None


def run(binary: Binary, sc: Scenario, classic: Binary | None = None) -> Outcome:
    """Run the scenario once with `binary`; every process is bounded in time."""
    with tempfile.TemporaryDirectory(prefix="pysocat-diff.") as tmp:
        values = {"port": str(free_port()), "port2": str(free_port()), "tmp": tmp}

        def fill(s: str) -> str:
            for k, v in values.items():
                s = s.replace("{" + k + "}", v)
            return s

        def fill_argv(argv: Sequence[str]) -> list[str]:
            out: list[str] = []
            for a in argv:
                if a == "{socat}":
                    out += binary.argv
                elif a == "{classic}":
                    out += (classic or binary).argv
                else:
                    out.append(fill(a))
            return out

        env = {**os.environ, **(sc.env or {})}
        env.pop("SOCAT_OPTS", None)
        subs = {tmp: "{tmp}", values["port"]: "{port}", values["port2"]: "{port2}"}
        procs: list[tuple[Peer, subprocess.Popen, Path, Path]] = []

        def start_peer(k: int, peer: Peer) -> None:
            out, err = Path(tmp, f".peer{k}.out"), Path(tmp, f".peer{k}.err")
            with open(out, "wb") as o, open(err, "wb") as e:
                p = subprocess.Popen(fill_argv(peer.argv), stdin=subprocess.PIPE, stdout=o,
                                     stderr=e, env=env, cwd=tmp)
            procs.append((peer, p, out, err))
            try:
                if peer.stdin:
                    p.stdin.write(peer.stdin)
                p.stdin.close()
            except BrokenPipeError:     # the peer ended first (a refused connect)
                pass
            _wait_ready(peer.ready if not isinstance(peer.ready, str) else fill(peer.ready),
                        time.monotonic() + sc.timeout)

        argv = [*binary.argv, *(fill(f) for f in sc.flags), *(fill(a) for a in sc.addresses)]
        main_out, main_err = Path(tmp, ".main.out"), Path(tmp, ".main.err")
        try:
            for k, peer in enumerate(sc.peers):
                if not peer.start_after:
                    start_peer(k, peer)
            with open(main_out, "wb") as o, open(main_err, "wb") as e:
                main = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=o, stderr=e,
                                        env=env, cwd=tmp)
            for k, peer in enumerate(sc.peers):
                if peer.start_after:
                    start_peer(k, peer)
            try:
                main.communicate(sc.stdin, timeout=sc.timeout)
                rc = main.returncode
            except subprocess.TimeoutExpired:
                rc = _terminate(main, 0)
        finally:
            peer_rc = [_terminate(p, peer.timeout) for peer, p, _, _ in procs]
            if "main" in locals() and main.poll() is None:
                _terminate(main, 0)
        stderr = main_err.read_bytes()
        files = {}
        for f in sc.files:
            path = Path(fill(f))
            files[f] = path.read_bytes() if path.is_file() else None
        return Outcome(
            binary=binary,
            argv=argv,
            rc=rc,
            stdout=main_out.read_bytes(),
            stderr=stderr,
            log=normalise_log(stderr.decode(errors="replace"), subs, sc.normalise),
            peer_stdout=[o.read_bytes() for _, _, o, _ in procs],
            peer_log=[normalise_log(e.read_bytes().decode(errors="replace"), subs, sc.normalise)
                      for _, _, _, e in procs],
            peer_rc=peer_rc,
            files=files,
        )


@dataclass
class Comparison:
    scenario: Scenario
    classic: Outcome
    pysocat: Outcome
    differences: list[str]

    def report(self) -> str:
        lines = [f"scenario: {' '.join(self.scenario.flags)} {' '.join(self.scenario.addresses)}"]
        lines += [f"  - {d}" for d in self.differences]
        for o in (self.classic, self.pysocat):
            lines.append(f"{o.binary.label}: rc={o.rc} stdout={o.stdout!r}")
            lines += [f"    | {line}" for line in o.log]
        return "\n".join(lines)


def diff_outcomes(sc: Scenario, a: Outcome, b: Outcome) -> list[str]:
    d = []
    if "rc" in sc.compare and a.rc != b.rc:
        d.append(f"exit code: {a.binary.label} {a.rc}, {b.binary.label} {b.rc}")
    if "stdout" in sc.compare and a.stdout != b.stdout:
        d.append(f"stdout: {a.binary.label} {a.stdout[:200]!r}, {b.binary.label} {b.stdout[:200]!r}")
    if "peers" in sc.compare:
        for k, (x, y) in enumerate(zip(a.peer_stdout, b.peer_stdout)):
            if x != y:
                d.append(f"peer {k} received: {a.binary.label} {x[:200]!r}, "
                         f"{b.binary.label} {y[:200]!r}")
    if "files" in sc.compare:
        for f in sc.files:
            x, y = a.files.get(f), b.files.get(f)
            if x != y:
                d.append(f"file {f}: {a.binary.label} {x if x is None else x[:200]!r}, "
                         f"{b.binary.label} {y if y is None else y[:200]!r}")
    if "log" in sc.compare and a.log != b.log:
        d.append(f"log lines: {a.binary.label} {a.log}, {b.binary.label} {b.log}")
    if "peer_log" in sc.compare and a.peer_log != b.peer_log:
        d.append(f"peer log lines: {a.binary.label} {a.peer_log}, {b.binary.label} {b.peer_log}")
    return d


def compare(sc: Scenario, classic: Binary | None = None, pysocat: Binary | None = None) -> Comparison:
    if classic is None or pysocat is None:
        c, p, why = find_binaries()
        classic, pysocat = classic or c, pysocat or p
        if classic is None or pysocat is None:
            raise RuntimeError(why)
    a = run(classic, sc, classic)
    b = run(pysocat, sc, classic)
    return Comparison(sc, a, b, diff_outcomes(sc, a, b))


def assert_same(sc: Scenario, **kw) -> Comparison:
    cmp_ = compare(sc, **kw)
    assert not cmp_.differences, cmp_.report()
    return cmp_
