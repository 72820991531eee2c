#!/usr/bin/env python3
"""``make bench``: pysocat side by side with real socat, interleaved in one run.

Every case runs both contenders alternately (warm-up of each first, then
A B A B …), so that a noisy neighbour hurts both equally; it prints the median
with min..max of each, and the ratio pysocat/socat of the medians. Cases that
need an address type pysocat does not have (yet) are skipped and say so.

    python3 bench/bench.py [--quick] [--json FILE|-] [--only CASE,…] [--rounds N]

Stdlib only. Peak RSS comes from wait4()'s ru_maxrss of the contender
processes (the largest one for cases with two contender processes).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HELPERS = os.path.join(HERE, "helpers.py")
PY = sys.executable
RSS_DIR = None          # set by main(): where time(1) leaves its figures


# --------------------------------------------------------------- processes

TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
_rss_seq = [0]


class Proc:
    """A child process, bounded in time, optionally with its peak RSS.

    Peak RSS: wait4()'s ru_maxrss of a child forked from this (large) Python
    process includes the copy of our own memory it started with, so ``rss``
    runs the command under GNU time(1), whose own small fork is what execs the
    contender, and reads its %M. Signals go to the contender, not to time(1).
    """

    def __init__(self, argv, rss=False, **kw):
        self.argv = argv
        self.rss_file = None
        if rss and TIME and RSS_DIR:
            _rss_seq[0] += 1
            self.rss_file = os.path.join(RSS_DIR, f"rss-{_rss_seq[0]}")
            argv = [TIME, "-f", "%U %S %M", "-o", self.rss_file] + argv
        kw.setdefault("stdin", subprocess.DEVNULL)
        self.p = subprocess.Popen(argv, **kw)
        self.pid = self.p.pid
        self.status = None
        self.rss_kib = 0
        self.cpu_ms = 0.0

    def _target(self):
        """The pid to signal: the contender below time(1), if already forked."""
        if not self.rss_file:
            return self.pid
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else self.pid
        except (OSError, ValueError):
            return self.pid

    def wait(self, timeout=60.0):
        """Blocking wait, bounded by a timer that kills the child."""
        if self.status is not None:
            return self.status
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(self.pid, 0)
        finally:
            timer.cancel()
        self._done(status, ru)
        return self.status

    def poll(self):
        if self.status is not None:
            return self.status
        pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        if pid:
            self._done(status, ru)
        return self.status

    def _done(self, status, ru):
        self.status = os.waitstatus_to_exitcode(status)
        self.p.returncode = self.status
        self.cpu_ms = (ru.ru_utime + ru.ru_stime) * 1000
        if self.rss_file:
            try:
                with open(self.rss_file) as f:
                    lines = f.read().split()
                self.rss_kib = int(lines[-1])
                self.cpu_ms = (float(lines[-3]) + float(lines[-2])) * 1000
                if self.status and "signal" in " ".join(lines):
                    self.status = -int(lines[lines.index("signal") + 1])
            except (OSError, ValueError, IndexError):
                self.rss_kib = 0

    def kill(self, sig=signal.SIGKILL):
        if self.status is None:
            try:
                os.kill(self._target(), sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=3.0):
        """SIGTERM, then SIGKILL after timeout; always reaps."""
        if self.poll() is not None:
            return self.status
        self.kill(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.status is None:
            self.kill()
            self.wait(5)
        return self.status

    def readline(self, timeout=10.0):
        """One line of the child's stdout (a PIPE), bounded in time."""
        import select
        out = self.p.stdout
        deadline = time.monotonic() + timeout
        buf = b""
        fd = out.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"timeout waiting for output of {self.argv[:3]}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                c = os.read(fd, 1)
                if not c:
                    break
                buf += c
        return buf.decode()


def helper(name, *args, **kw):
    return Proc([PY, HELPERS, name] + [str(a) for a in args], stdout=subprocess.PIPE, **kw)


def helper_result(proc, timeout=60.0):
    line = proc.readline(timeout)
    proc.wait(timeout)
    if not line.strip():
        raise RuntimeError(f"helper {proc.argv[2]} gave no result (status {proc.status})")
    return json.loads(line)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listen(port=None, path=None, udp=False, timeout=10.0):
    """Poll /proc/net until a socket listens on port (tcp/udp) or path (unix)."""
    deadline = time.monotonic() + timeout
    hexport = f":{port:04X}" if port else None
    while time.monotonic() < deadline:
        if path:
            with open("/proc/net/unix") as f:
                for line in f:
                    parts = line.split()
                    # Flags 00010000 = __SO_ACCEPTCON: listening
                    if len(parts) >= 8 and parts[-1] == path and parts[3] == "00010000":
                        return
        else:
            for table in (("/proc/net/udp",) if udp else ("/proc/net/tcp",)):
                with open(table) as f:
                    next(f)
                    for line in f:
                        parts = line.split()
                        if parts[1].endswith(hexport) and (udp or parts[3] == "0A"):
                            return
        time.sleep(0.001)
    raise RuntimeError(f"nothing listens on {port or path} after {timeout}s")


# --------------------------------------------------------------- contenders

class Contender:
    def __init__(self, name, argv):
        self.name, self.argv = name, argv
        self._names = None

    def cmd(self, *args):
        return self.argv + list(args)

    def has(self, *types) -> str | None:
        """None when every address type exists, else the first missing one."""
        if self._names is None:
            if self.name == "socat":
                self._names = "*"
            else:
                out = subprocess.run(self.argv + ["-hh"], capture_output=True,
                                     timeout=30).stdout.decode(errors="replace")
                names = set()
                section = False
                for line in out.splitlines():
                    if line.strip() == "address-head:":
                        section = True
                        continue
                    if section and not line.startswith("      "):
                        break                       # "opts:" ends the address list
                    m = re.match(r"\s+([A-Za-z0-9_-]+)(?= is an alias|[\[:<\t ]|$)", line)
                    if section and m:
                        names.add(m.group(1).lower())
                self._names = names
        if self._names == "*":
            return None
        for t in types:
            if t.lower() not in self._names:
                return t
        return None


# --------------------------------------------------------------- cases

class Ctx:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.quick = args.quick
        self._data = None

    @property
    def data(self):
        """The incompressible payload file (created once)."""
        if self._data is None:
            path = os.path.join(self.tmp, "payload")
            size = self.args.mib << 20
            with open(path, "wb") as f:
                chunk = os.urandom(1 << 20)
                for i in range(self.args.mib):
                    # vary every MiB so nothing downstream could dedupe it
                    f.write(bytes([i & 0xFF]) + chunk[1:])
            self._data = (path, size)
        return self._data


class Case:
    name = ""
    unit = ""
    higher_better = True
    needs: tuple = ()
    root = False
    target = None            # ("ratio", ">=", 2.5) or ("abs", "<=", 25)
    rounds_full, rounds_quick = 5, 3
    extra_keys: tuple = ()   # further figures of each sample, shown after the main one

    def run(self, ctx, c: Contender) -> dict:
        raise NotImplementedError


class StartVersion(Case):
    name, unit, higher_better = "start-up -V", "ms", False
    target = ("abs", "<=", 25.0)
    rounds_full, rounds_quick = 30, 15

    def run(self, ctx, c):
        return _startup(c, ["-V"])


class StartNull(Case):
    name, unit, higher_better = "start-up /dev/null /dev/null", "ms", False
    target = ("abs", "<=", 50.0)
    rounds_full, rounds_quick = 30, 15

    def run(self, ctx, c):
        return _startup(c, ["/dev/null", "/dev/null"])


def _startup(c, args):
    t0 = time.perf_counter()
    p = Proc(c.cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait(10)
    ms = (time.perf_counter() - t0) * 1000
    q = Proc(c.cmd(*args), rss=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    q.wait(10)                  # peak RSS from a second run under time(1)
    return {"value": ms, "rss_kib": q.rss_kib, "cpu_ms": p.cpu_ms, "ok": p.status == 0}


def _mib_s(nbytes, seconds):
    return nbytes / (1 << 20) / seconds if seconds > 0 else 0.0


class FilePipe(Case):
    """Stand-in stream case: regular file → contender → pipe → fixed sink."""
    name, unit = "file-pipe (stand-in)", "MiB/s"
    needs = ("OPEN", "STDOUT")

    def run(self, ctx, c):
        path, size = ctx.data
        r, w = os.pipe()
        sink = Proc([PY, HELPERS, "pipe_sink"], stdin=r, stderr=subprocess.PIPE)
        os.close(r)
        p = Proc(c.cmd("-u", f"OPEN:{path},rdonly", "STDOUT"), stdout=w, rss=True)
        os.close(w)
        p.wait(120)
        sink.wait(120)
        res = json.loads(sink.p.stderr.read().decode().strip().splitlines()[-1])
        sink.p.stderr.close()
        ok = res["bytes"] == size and p.status == 0
        return {"value": _mib_s(res["bytes"], res["seconds"]), "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": ok}


class ExecSocketpair(Case):
    """Stand-in stream case: regular file → contender → socketpair → EXEC'd sink."""
    name, unit = "file-exec (stand-in)", "MiB/s"
    needs = ("OPEN", "EXEC")

    def run(self, ctx, c):
        path, size = ctx.data
        result = os.path.join(ctx.tmp, "exec-result")
        if os.path.exists(result):
            os.unlink(result)
        p = Proc(c.cmd("-u", f"OPEN:{path},rdonly",
                       f"EXEC:{PY} {HELPERS} pipe_sink_file {result}"), rss=True)
        p.wait(120)
        deadline = time.monotonic() + 10
        while not os.path.exists(result) and time.monotonic() < deadline:
            time.sleep(0.005)       # the EXEC'd sink may outlive the relay briefly
        with open(result) as f:
            res = json.load(f)
        ok = res["bytes"] == size and p.status == 0
        return {"value": _mib_s(res["bytes"], res["seconds"]), "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": ok}


class DgramPairPps(Case):
    """Stand-in datagram case: socketpair(AF_UNIX, SOCK_DGRAM) → contender (FD → FD) → socketpair.

    Unix datagram sockets block the sender instead of dropping, so the rate is
    the contender's own per-datagram cost.
    """
    unit = "pkt/s"
    needs = ("FD",)

    def __init__(self, size):
        self.size = size
        self.name = f"dgram-pps {size}B (stand-in)"

    def run(self, ctx, c):
        count = 20000 if ctx.quick else 200000
        a1, b1 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a2, b2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        procs = []
        try:
            sink = Proc([PY, HELPERS, "dgram_fd_sink", str(a2.fileno()), str(count)],
                        stdout=subprocess.PIPE, pass_fds=(a2.fileno(),))
            procs.append(sink)
            sink.readline()
            p = Proc(c.cmd("-u", f"FD:{b1.fileno()}", f"FD:{b2.fileno()}"), rss=True,
                     pass_fds=(b1.fileno(), b2.fileno()))
            procs.append(p)
            b1.close()
            b2.close()
            src = Proc([PY, HELPERS, "dgram_fd_source", str(a1.fileno()), str(count),
                        str(self.size)], stdout=subprocess.PIPE, pass_fds=(a1.fileno(),))
            procs.append(src)
            a1.close()
            helper_result(src, 120)
            res = helper_result(sink, 120)
        finally:
            for q in procs:
                q.stop()
            for x in (a1, a2, b1, b2):
                x.close()
        pps = res["count"] / res["seconds"] if res["seconds"] > 0 else 0.0
        return {"value": pps, "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": res["count"] == count}


class StreamBulk(Case):
    """file → contender (sender) → socket → contender (receiver) → file, wall time."""
    unit = "MiB/s"
    target = ("ratio", ">=", 1.5)

    def __init__(self, kind):
        self.kind = kind
        self.name = f"{kind}-bulk"
        self.needs = ("OPEN", "TCP4-LISTEN", "TCP4-CONNECT") if kind == "tcp" else \
            ("OPEN", "UNIX-LISTEN", "UNIX-CONNECT")

    def run(self, ctx, c):
        path, size = ctx.data
        sink = os.path.join(ctx.tmp, "sink")
        if self.kind == "tcp":
            port = free_port()
            listen, connect = f"TCP4-LISTEN:{port},reuseaddr", f"TCP4-CONNECT:127.0.0.1:{port}"
            where = {"port": port}
        else:
            sock = os.path.join(ctx.tmp, "bulk.sock")
            if os.path.exists(sock):
                os.unlink(sock)
            listen, connect = f"UNIX-LISTEN:{sock}", f"UNIX-CONNECT:{sock}"
            where = {"path": sock}
        recv = Proc(c.cmd("-u", listen, f"OPEN:{sink},creat,trunc,wronly"), rss=True)
        try:
            wait_listen(**where)
            t0 = time.perf_counter()
            send = Proc(c.cmd("-u", f"OPEN:{path},rdonly", connect), rss=True)
            send.wait(120)
            recv.wait(120)
            secs = time.perf_counter() - t0
        finally:
            recv.stop()
        got = os.path.getsize(sink)
        ok = got == size and send.status == 0 and recv.status == 0
        return {"value": _mib_s(got, secs), "rss_kib": max(send.rss_kib, recv.rss_kib),
                "cpu_ms": send.cpu_ms + recv.cpu_ms,
                "ok": ok}


class StreamRelay(Case):
    """Fixed sender → contender (LISTEN → CONNECT forwarder) → fixed receiver."""
    unit = "MiB/s"
    target = ("ratio", ">=", 2.5)

    def __init__(self, kind):
        self.kind = kind
        self.name = f"{kind}-relay"
        self.needs = ("TCP4-LISTEN", "TCP4-CONNECT") if kind == "tcp" else \
            ("UNIX-LISTEN", "UNIX-CONNECT")

    def run(self, ctx, c):
        path, size = ctx.data
        if self.kind == "tcp":
            p_in, p_out = free_port(), free_port()
            listen, connect = f"TCP4-LISTEN:{p_in},reuseaddr", f"TCP4-CONNECT:127.0.0.1:{p_out}"
            w_in, w_out, where = p_in, p_out, {"port": p_in}
        else:
            w_in = os.path.join(ctx.tmp, "relay-in.sock")
            w_out = os.path.join(ctx.tmp, "relay-out.sock")
            for s in (w_in, w_out):
                if os.path.exists(s):
                    os.unlink(s)
            listen, connect = f"UNIX-LISTEN:{w_in}", f"UNIX-CONNECT:{w_out}"
            where = {"path": w_in}
        sink = helper("stream_sink", self.kind, w_out)
        procs = [sink]
        try:
            sink.readline()
            p = Proc(c.cmd(listen, connect), rss=True)
            procs.append(p)
            wait_listen(**where)
            src = helper("stream_source", self.kind, w_in, path)
            procs.append(src)
            res = helper_result(sink, 120)
            helper_result(src, 30)
            p.wait(30)
        finally:
            for q in procs:
                q.stop()
        ok = res["bytes"] == size and p.status == 0
        return {"value": _mib_s(res["bytes"], res["seconds"]), "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": ok}


def _cpu_ns(pid) -> int:
    """CPU time a process has used so far, in ns (/proc/PID/schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class UdpPps(Case):
    """Fixed sender → contender (UDP4-RECV → UDP4-SENDTO) → fixed receiver."""
    unit = "pkt/s"
    needs = ("UDP4-RECV", "UDP4-SENDTO")
    extra_keys = ("loss_pct", "cpu_us_pkt")

    def __init__(self, size, rate=0, target=("ratio", ">=", 2.0)):
        self.size, self.rate = size, rate
        self.target = target
        self.name = f"udp-pps {size}B" + (f" paced {rate // 1000}k/s" if rate else "")
        if rate:
            self.unit = "loss %"
            self.higher_better = False
            self.extra_keys = ()

    def run(self, ctx, c):
        count = (10000 if self.rate else 30000) if ctx.quick else \
            (40000 if self.rate else 300000)
        p_in, p_out = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        sink = helper("udp_sink", p_out, 0.5)
        procs = [sink]
        try:
            sink.readline()
            p = Proc(c.cmd("-u", f"UDP4-RECV:{p_in}", f"UDP4-SENDTO:127.0.0.1:{p_out}"), rss=True)
            procs.append(p)
            wait_listen(port=p_in, udp=True)
            target = p._target()
            cpu0 = _cpu_ns(target)
            src = helper("udp_source", p_in, count, self.size, self.rate)
            procs.append(src)
            sent = helper_result(src, 120)
            res = helper_result(sink, 120)
            cpu1 = _cpu_ns(target)      # the relay still runs: its start-up is not in it
        finally:
            for q in procs:
                q.stop()
        loss = 100.0 * (1 - res["count"] / sent["sent"])
        pps = res["count"] / res["seconds"] if res["seconds"] > 0 else 0.0
        ok = res["count"] > 0
        value = loss if self.rate else pps
        out = {"value": value, "loss_pct": loss, "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": ok}
        if not self.rate:
            # the relay's CPU time during the flood per datagram that arrived
            out["cpu_us_pkt"] = (cpu1 - cpu0) / 1000 / res["count"] \
                if res["count"] and cpu0 and cpu1 else 0.0
        return out


class TcpRR(Case):
    """64-byte ping-pong through a forwarder: median in µs, with p99, the same
    client straight to the echo server just before (``direct_us``), the latency
    the relay adds (``added_us``: median through it minus direct) and the
    relay's CPU time per round trip (``cpu_us_rt``: /proc schedstat read around
    the round trips only, so start-up and exit are not in it)."""
    name, unit, higher_better = "tcp-rr 64B", "us", False
    needs = ("TCP4-LISTEN", "TCP4-CONNECT")
    target = ("ratio", "<=", 1.05)
    extra_keys = ("p99_us", "direct_us", "added_us", "cpu_us_rt")

    def run(self, ctx, c):
        n = 2000 if ctx.quick else 10000
        p_in, p_out, p_direct = free_port(), free_port(), free_port()
        echo = helper("echo", "tcp", p_out)
        echo_d = helper("echo", "tcp", p_direct)
        procs = [echo, echo_d]
        try:
            echo.readline()
            echo_d.readline()
            direct = helper_result(helper("rr_client", "tcp", p_direct, n, 64), 120)
            p = Proc(c.cmd(f"TCP4-LISTEN:{p_in},reuseaddr", f"TCP4-CONNECT:127.0.0.1:{p_out}"), rss=True)
            procs.append(p)
            wait_listen(port=p_in)
            # the relay's CPU counts from here (it waits in accept()) to the
            # client's last answer: its start-up and exit are left out
            cl = helper("rr_client", "tcp", p_in, n, 64, "hold", stdin=subprocess.PIPE)
            procs.append(cl)
            target = p._target()
            cpu0 = _cpu_ns(target)
            res = json.loads(cl.readline(120))
            cpu1 = _cpu_ns(target)
            cl.p.stdin.write(b"go\n")
            cl.p.stdin.flush()
            cl.wait(30)
            p.wait(30)
        finally:
            for q in procs:
                q.stop()
        return {"value": res["median_us"], "p99_us": res["p99_us"], "direct_us": direct["median_us"],
                "added_us": res["median_us"] - direct["median_us"],
                "cpu_us_rt": (cpu1 - cpu0) / n / 1000 if cpu0 and cpu1 else 0.0,
                "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": p.status == 0}


class TunUdp(Case):
    """The TUN ⇄ UDP-DATAGRAM overlay between two network namespaces (root).

    Namespaces A and B share a veth link (10.77.0.0/24); a contender in each
    joins a TUN (10.78.0.0/24) to UDP on that link. Measured across the tunnel:
    ``tcp`` throughput, ``pps`` of small (64 B) UDP datagrams, ``ping`` RTT.
    """
    needs = ("TUN", "UDP-DATAGRAM")
    root = True
    rounds_full, rounds_quick = 3, 2

    def __init__(self, metric):
        self.metric = metric
        self.name = f"tun-udp {metric}"
        self.unit, self.higher_better, self.target = {
            "tcp": ("MiB/s", True, ("ratio", ">=", 1.0)),
            "pps": ("pkt/s", True, ("ratio", ">=", 1.4)),
            "ping": ("ms", False, ("ratio", "<=", 1.2)),
        }[metric]

    def _sh(self, *cmd):
        subprocess.run(cmd, check=True, capture_output=True, timeout=20)

    def _ns(self, ns, *cmd):
        return ["ip", "netns", "exec", ns] + list(cmd)

    def run(self, ctx, c):
        if not shutil.which("ip"):
            raise NotImplementedError("tun-udp needs iproute2 (ip)")
        tag = f"pyb{os.getpid() % 100000}"
        na, nb = f"{tag}a", f"{tag}b"
        procs = []
        try:
            self._sh("ip", "netns", "add", na)
            self._sh("ip", "netns", "add", nb)
            self._sh("ip", "link", "add", f"{tag}x", "netns", na, "type", "veth",
                     "peer", "name", f"{tag}y", "netns", nb)
            for ns, dev, ip in ((na, f"{tag}x", "10.77.0.1/24"), (nb, f"{tag}y", "10.77.0.2/24")):
                self._sh(*self._ns(ns, "ip", "addr", "add", ip, "dev", dev))
                self._sh(*self._ns(ns, "ip", "link", "set", dev, "up"))
                self._sh(*self._ns(ns, "ip", "link", "set", "lo", "up"))
            for ns, me, peer, tun in ((na, "10.77.0.1", "10.77.0.2", "10.78.0.1/24"),
                                      (nb, "10.77.0.2", "10.77.0.1", "10.78.0.2/24")):
                p = Proc(self._ns(ns, *c.cmd(f"TUN:{tun},iff-up",
                                            f"UDP-DATAGRAM:{peer}:4789,bind={me}:4789")),
                         rss=True)
                procs.append(p)
            deadline = time.monotonic() + 10
            while subprocess.run(self._ns(na, "ping", "-c", "1", "-W", "0.2", "10.78.0.2"),
                                 capture_output=True).returncode:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("the tunnel did not come up")
            value = getattr(self, "_" + self.metric)(ctx, na, nb)
        finally:
            for p in procs:
                p.stop()
            for ns in (na, nb):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        ok = all(p.status in (0, -15, 143) for p in procs)
        return {"value": value, "rss_kib": max(p.rss_kib for p in procs),
                "cpu_ms": sum(p.cpu_ms for p in procs), "ok": ok}

    def _ping(self, ctx, na, nb):
        n = 20 if ctx.quick else 100
        out = subprocess.run(self._ns(na, "ping", "-c", str(n), "-i", "0.01", "10.78.0.2"),
                             capture_output=True, timeout=60).stdout.decode()
        times = [float(m) for m in re.findall(r"time=([0-9.]+) ms", out)]
        if not times:
            raise RuntimeError("no ping replies through the tunnel")
        return statistics.median(times)

    def _tcp(self, ctx, na, nb):
        # a tunnel moves tens of MiB/s: a slice of the payload file is enough
        full, _ = ctx.data
        size = (8 if ctx.quick else 64) << 20
        path = full + ".tun"
        if not os.path.exists(path):
            with open(full, "rb") as f, open(path, "wb") as g:
                g.write(f.read(size))
        sink = Proc(self._ns(nb, PY, HELPERS, "stream_sink", "tcp", "10.78.0.2:5001"),
                    stdout=subprocess.PIPE)
        try:
            sink.readline()
            src = Proc(self._ns(na, PY, HELPERS, "stream_source", "tcp", "10.78.0.2:5001",
                                path), stdout=subprocess.PIPE)
            res = helper_result(sink, 300)
            src.stop()
        finally:
            sink.stop()
        if res["bytes"] != size:
            raise RuntimeError(f"tun-udp tcp: {res['bytes']} of {size} bytes arrived")
        return _mib_s(res["bytes"], res["seconds"])

    def _pps(self, ctx, na, nb):
        count = 10000 if ctx.quick else 100000
        sink = Proc(self._ns(nb, PY, HELPERS, "udp_sink", "10.78.0.2:5002", "0.5"),
                    stdout=subprocess.PIPE)
        try:
            sink.readline()
            src = Proc(self._ns(na, PY, HELPERS, "udp_source", "10.78.0.2:5002", str(count), "64", "0"),
                       stdout=subprocess.PIPE)
            helper_result(src, 120)
            res = helper_result(sink, 120)
        finally:
            sink.stop()
        return res["count"] / res["seconds"] if res["seconds"] > 0 else 0.0


class _ForkServer:
    """A contender as ``TCP4-LISTEN:port,reuseaddr,fork`` → EXEC:cat or → TCP4: (a
    forwarder to a loopback echo server), at socat's default backlog (5)."""

    def __init__(self, backend):
        self.backend = backend
        self.needs = ("TCP4-LISTEN", "EXEC") if backend == "exec" else ("TCP4-LISTEN", "TCP4-CONNECT")

    def serve(self, c, body):
        port = free_port()
        procs = []
        try:
            if self.backend == "exec":
                target = "EXEC:cat"
            else:
                p_echo = free_port()
                echo = helper("echo_many", "tcp", p_echo)
                procs.append(echo)
                echo.readline()
                target = f"TCP4:127.0.0.1:{p_echo}"
            # -t 10: under load a child may see cat's answer later than 0.5 s after EOF
            p = Proc(c.cmd("-t", "10", f"TCP4-LISTEN:{port},reuseaddr,fork", target), rss=True)
            procs.append(p)
            wait_listen(port=port)
            res = body(port)
        finally:
            for q in procs[::-1]:
                q.stop()
        return res, p


class ForkRate(Case, _ForkServer):
    """Connections per second through a fork server: each client sends a line,
    half-closes and reads the echo; 4 clients at a time (below the backlog)."""
    unit = "conn/s"
    target = ("ratio", ">=", 1.0)
    rounds_full, rounds_quick = 3, 2
    extra_keys = ("reset_pct",)

    def __init__(self, backend):
        _ForkServer.__init__(self, backend)
        self.name = f"fork-rate {'exec:cat' if backend == 'exec' else 'forward'}"

    def run(self, ctx, c):
        count = 150 if ctx.quick else 400

        def body(port):
            return helper_result(helper("conn_rate", port, count, 4, 120), 130)
        res, p = self.serve(c, body)
        return {"value": res["rate"], "reset_pct": 100.0 * res["reset"] / count,
                "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": res["ok"] == count}


class ForkBurst(Case, _ForkServer):
    """The share of clients reset when n connect at once (one line each, echoed).

    floor_pct: the same burst, just before, against a bare Python accept loop at
    backlog 5 that forks nothing (helpers.accept_floor): the share the kernel
    resets however little a Python parent does while the machine is this loaded."""
    unit, higher_better = "reset %", False
    target = ("abs", "<=", 0.0)
    rounds_full, rounds_quick = 3, 2
    extra_keys = ("lost_pct", "floor_pct")

    def __init__(self, n, backend):
        _ForkServer.__init__(self, backend)
        self.n = n
        self.name = f"fork-burst {n} {'exec:cat' if backend == 'exec' else 'forward'}"

    def floor(self):
        port = free_port()
        srv = helper("accept_floor", "tcp", f"127.0.0.1:{port}", 0.2)
        try:
            srv.readline()
            res = helper_result(helper("burst", port, self.n, 60), 70)
        finally:
            srv.stop()
        return 100.0 * res["reset"] / self.n

    def run(self, ctx, c):
        def body(port):
            return helper_result(helper("burst", port, self.n, 60), 70)
        floor = self.floor()
        res, p = self.serve(c, body)
        lost = self.n - res["ok"]
        return {"value": 100.0 * res["reset"] / self.n, "lost_pct": 100.0 * lost / self.n,
                "floor_pct": floor, "rss_kib": p.rss_kib, "cpu_ms": p.cpu_ms, "ok": True}


def all_cases():
    return [StartVersion(), StartNull(), FilePipe(), ExecSocketpair(),
            DgramPairPps(64), StreamBulk("tcp"), StreamBulk("unix"), StreamRelay("tcp"), StreamRelay("unix"),
            UdpPps(64), UdpPps(1400), UdpPps(64, 20000, ("abs", "<=", 0.0)),
            TcpRR(), ForkRate("exec"), ForkRate("forward"),
            ForkBurst(100, "exec"), ForkBurst(500, "exec"), ForkBurst(100, "forward"),
            ForkBurst(500, "forward"), TunUdp("ping"), TunUdp("tcp"), TunUdp("pps")]


# --------------------------------------------------------------- runner

def summarize(samples, key="value"):
    vals = [s[key] for s in samples if key in s]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "n": len(vals)}


def run_case(case, ctx, contenders, rounds):
    """Warm-up each, then interleave; returns the result dict of the case."""
    out = {"case": case.name, "unit": case.unit, "higher_better": case.higher_better}
    if case.root and os.geteuid() != 0:
        out["skipped"] = "needs root"
        return out
    for c in contenders:
        missing = c.has(*case.needs)
        if missing:
            out["skipped"] = f"{c.name} has no {missing} address yet"
            return out
    samples = {c.name: [] for c in contenders}
    try:
        for c in contenders:                       # warm-up (page cache, pyc files)
            case.run(ctx, c)
        for i in range(rounds):
            order = contenders if i % 2 == 0 else contenders[::-1]
            for c in order:
                samples[c.name].append(case.run(ctx, c))
    except NotImplementedError as e:
        out["skipped"] = str(e)
        return out
    except Exception as e:                         # a broken case must not stop the others
        out["error"] = f"{type(e).__name__}: {e}"
        return out
    for c in contenders:
        s = samples[c.name]
        res = summarize(s)
        res["rss_kib"] = statistics.median([x["rss_kib"] for x in s])
        cpu = [x["cpu_ms"] for x in s if x.get("cpu_ms")]
        res["cpu_ms"] = statistics.median(cpu) if cpu else None
        res["failed"] = sum(1 for x in s if not x.get("ok", True))
        for k in case.extra_keys:
            res[k] = summarize(s, k)
        res["samples"] = [x["value"] for x in s]
        out[c.name] = res
    a, b = out["pysocat"]["median"], out["socat"]["median"]
    out["ratio"] = a / b if b else None
    if case.target:
        kind, op, want = case.target
        got = out["ratio"] if kind == "ratio" else a
        out["target"] = f"{'ratio' if kind == 'ratio' else 'value'} {op} {want}"
        if got is not None:
            out["met"] = got >= want if op == ">=" else got <= want
    return out


def fmt_num(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_side(r):
    return f"{fmt_num(r['median'])} [{fmt_num(r['min'])}..{fmt_num(r['max'])}]"


def print_result(r, stream=sys.stdout):
    name = f"{r['case']:<30}"
    if "skipped" in r:
        stream.write(f"{name} skipped: {r['skipped']}\n")
        return
    if "error" in r:
        stream.write(f"{name} ERROR: {r['error']}\n")
        return
    py, so = r["pysocat"], r["socat"]
    ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
    better = "higher" if r["higher_better"] else "lower"
    tgt = ""
    if "target" in r:
        tgt = f"  target {r['target']}: {'met' if r.get('met') else 'NOT met'}"
    fails = ""
    if py["failed"] or so["failed"]:
        fails = f"  (failed runs: pysocat {py['failed']}, socat {so['failed']})"
    stream.write(f"{name} {r['unit']:>6} ({better} is better)  pysocat {fmt_side(py)}  "
                 f"socat {fmt_side(so)}  ratio {ratio}{tgt}{fails}\n")
    for k, v in py.items():
        if isinstance(v, dict) and k != "samples":
            stream.write(f"{'':<30} {k}: pysocat {fmt_side(v)}  socat {fmt_side(so[k])}\n")
    cpu = ""
    if py.get("cpu_ms") and so.get("cpu_ms"):
        cpu = (f"  CPU time: pysocat {fmt_num(py['cpu_ms'])} ms  socat {fmt_num(so['cpu_ms'])} ms"
               f" ({py['cpu_ms'] / so['cpu_ms']:.2f}x)")
    stream.write(f"{'':<30} peak RSS: pysocat {py['rss_kib'] / 1024:.1f} MiB  "
                 f"socat {so['rss_kib'] / 1024:.1f} MiB{cpu}\n")
    stream.flush()


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    socat_v = subprocess.run(["socat", "-V"], capture_output=True).stdout.decode().splitlines()
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(),
            "socat": next((ln for ln in socat_v if "socat version" in ln), "?").strip(),
            "load": os.getloadavg()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, under two minutes")
    ap.add_argument("--json", metavar="FILE", help="also write results as JSON ('-' = stdout)")
    ap.add_argument("--only", help="comma separated case name prefixes")
    ap.add_argument("--rounds", type=int, help="rounds per case (after warm-up)")
    ap.add_argument("--mib", type=int, help="payload size in MiB (default 256, quick 64)")
    ap.add_argument("--pysocat", default=os.path.join(ROOT, ".venv", "bin", "pysocat"))
    ap.add_argument("--socat", default=shutil.which("socat") or "/usr/bin/socat")
    args = ap.parse_args(argv)
    if args.mib is None:
        args.mib = 64 if args.quick else 256
    for path in (args.pysocat, args.socat):
        if not os.access(path, os.X_OK):
            ap.error(f"{path} is not executable (run make install / install socat)")
    # byte-compile as an install would (PYTHONDONTWRITEBYTECODE may be set here)
    vpy = os.path.join(os.path.dirname(args.pysocat), "python")
    if os.path.exists(vpy):
        subprocess.run([vpy, "-m", "compileall", "-q", os.path.join(ROOT, "pysocat")],
                       stdout=subprocess.DEVNULL, timeout=120)
    contenders = [Contender("pysocat", [args.pysocat]), Contender("socat", [args.socat])]
    cases = all_cases()
    if args.only:
        want = [w.strip() for w in args.only.split(",")]
        cases = [c for c in cases if any(c.name.startswith(w) for w in want)]
    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(), "quick": args.quick, "payload_mib": args.mib}
    text = sys.stderr if args.json == "-" else sys.stdout
    text.write(f"pysocat bench {info['date']}  {info['machine']['cpu']} x{info['machine']['cpus']}"
               f"  kernel {info['machine']['kernel']}  python {info['machine']['python']}"
               f"  {info['machine']['socat']}  load {info['machine']['load'][0]:.2f}\n")
    results = []
    t_start = time.monotonic()
    global RSS_DIR
    with tempfile.TemporaryDirectory(prefix="pysocat-bench-") as tmp:
        RSS_DIR = tmp
        ctx = Ctx(args, tmp)
        for case in cases:
            rounds = args.rounds or (case.rounds_quick if args.quick else case.rounds_full)
            r = run_case(case, ctx, contenders, rounds)
            results.append(r)
            print_result(r, text)
    text.write(f"total {time.monotonic() - t_start:.0f} s\n")
    info["cases"] = results
    if args.json:
        data = json.dumps(info, indent=1)
        if args.json == "-":
            sys.stdout.write(data + "\n")
        else:
            with open(args.json, "w") as f:
                f.write(data + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
