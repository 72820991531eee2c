"""Run a socat-like program with a private /dev/log and collect what it logs.

Usage (as root): ``unshare -m -n python syslog_ns.py PORT PROGRAM [ARGS...]``.
In the private mount namespace /dev becomes a tmpfs holding only ``null`` and a
UNIX datagram socket ``log`` that this script reads: the machine's /dev and
/dev/log stay untouched, and the namespace (with its mounts) ends with us.
The program runs as a TCP4 fork listener ``PROGRAM ARGS TCP4-LISTEN:PORT,fork,
reuseaddr PIPE``; two clients connect in turn, each sends a line and reads its
echo; then the listener gets SIGTERM. Prints JSON: stderr, syslog datagrams.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def sh(*cmd):
    subprocess.run(cmd, check=True)


class Receiver:
    """Reads /dev/log all along (a full queue would block the logger's send)."""

    def __init__(self, sock):
        import threading
        self.sock, self.msgs, self.last = sock, [], time.monotonic()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            self.msgs.append(self.sock.recv(4096).decode(errors="replace"))
            self.last = time.monotonic()

    def quiet(self, quiet=0.5, limit=10.0, wait_for="", count=0):
        """Wait until ``count`` messages hold ``wait_for`` and then nothing came
        for ``quiet`` s (at most ``limit`` s)."""
        end = time.monotonic() + limit
        while time.monotonic() < end and (
                sum(wait_for in m for m in list(self.msgs)) < count
                or time.monotonic() - self.last < quiet):
            time.sleep(0.05)


def main():
    port = int(sys.argv[1])
    cmd = sys.argv[2:]
    # a network namespace of its own (unshare -n): loopback up, and room for more than
    # the default 10 queued syslog datagrams (a burst of a parent and its children
    # blocked or lost messages under load; the limit is per namespace)
    sh("ip", "link", "set", "lo", "up")
    with open("/proc/sys/net/unix/max_dgram_qlen", "w") as f:
        f.write("512")
    olddev = tempfile.mkdtemp()
    sh("mount", "--make-rprivate", "/")
    sh("mount", "--bind", "/dev", olddev)
    sh("mount", "-t", "tmpfs", "tmpfs", "/dev")
    open("/dev/null", "w").close()
    sh("mount", "--bind", os.path.join(olddev, "null"), "/dev/null")
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind("/dev/log")
    rx = Receiver(log)
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd + [f"TCP4-LISTEN:{port},fork,reuseaddr", "PIPE"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err)
        try:
            echoes = []
            for n in range(2):
                deadline = time.monotonic() + 10
                while True:
                    try:
                        c = socket.create_connection(("127.0.0.1", port), timeout=5)
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                with c:
                    c.sendall(b"line %d\n" % n)
                    echoes.append(c.recv(100).decode())
                    c.shutdown(socket.SHUT_WR)
                    c.recv(100)
                rx.quiet(wait_for="childdied(): handling signal", count=n + 1)
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
            rx.quiet()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    json.dump({"rc": p.returncode, "stderr": stderr, "syslog": list(rx.msgs), "echoes": echoes},
              sys.stdout)


if __name__ == "__main__":
    main()
