"""Network namespaces for tests: unique names, processes inside them, sure teardown.

``Netns()`` is a context manager: it creates ``pst<pid>_<n>`` with loopback up and
deletes it on exit, after killing (by pid) every process started in it.
"""
import itertools
import os
import shutil
import signal
import subprocess
import time

_counter = itertools.count()
IP = shutil.which("ip")


def have_netns() -> bool:
    return os.geteuid() == 0 and IP is not None and os.path.exists("/dev/net/tun")


def wait_for(cond, timeout=5.0, step=0.02):
    """Poll ``cond()`` until it returns a true value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        val = cond()
        if val or time.monotonic() > deadline:
            return val
        time.sleep(step)


class Netns:
    def __init__(self, tag="t"):
        self.name = f"pst{os.getpid()}{tag}{next(_counter)}"
        self.procs = []

    def __enter__(self):
        subprocess.run([IP, "netns", "add", self.name], check=True)
        self.run("ip", "link", "set", "lo", "up", check=True)
        return self

    def __exit__(self, *exc):
        self.kill_all()
        subprocess.run([IP, "netns", "del", self.name], capture_output=True)
        return False

    # commands inside -----------------------------------------------------
    def cmd(self, *args):
        return [IP, "netns", "exec", self.name] + [str(a) for a in args]

    def run(self, *args, timeout=20, check=False, input=None):
        return subprocess.run(self.cmd(*args), capture_output=True, timeout=timeout,
                              check=check, input=input)

    def spawn(self, *args, stdin=subprocess.DEVNULL):
        """Start a process inside; stdout/stderr go to pipes (read with .finish())."""
        p = subprocess.Popen(self.cmd(*args), stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def finish(self, p, timeout=5):
        """Stop ``p`` (SIGTERM, then SIGKILL) and return (stdout, stderr)."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=timeout)
        return out, err

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                pass

    def link(self, name):
        """``ip -d link show name`` text, or '' while it does not exist."""
        r = self.run("ip", "-d", "link", "show", name)
        return r.stdout.decode() if r.returncode == 0 else ""

    def addrs(self, name):
        r = self.run("ip", "-4", "addr", "show", name)
        return r.stdout.decode() if r.returncode == 0 else ""


def veth_pair(ns1, ns2, addr1, addr2, prefix=24):
    """Join two namespaces with a veth pair, addresses addr1 (ns1) and addr2 (ns2)."""
    subprocess.run([IP, "link", "add", "veth0", "netns", ns1.name, "type", "veth",
                    "peer", "name", "veth0", "netns", ns2.name], check=True)
    for ns, addr in ((ns1, addr1), (ns2, addr2)):
        ns.run("ip", "addr", "add", f"{addr}/{prefix}", "dev", "veth0", check=True)
        ns.run("ip", "link", "set", "veth0", "up", check=True)
