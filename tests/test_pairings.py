"""No byte lost through every stream pairing (issue 9).

A fast producer feeds one end, a consumer that reads in throttled steps drains
the other, and both ends' SHA-256 must agree: partial writes, EAGAIN, short
splices and half-close on the way are all pysocat's to get right. ``make test``
moves 8 MiB per pairing; ``make soak`` (PYSOCAT_SOAK=1) moves 1 GiB. A long
transfer also shows the relay's memory stays constant.
"""
import hashlib
import os
import signal
import subprocess
import sys

import pytest

from conftest import PYSOCAT
from sockhelp import free_port

SOAK = bool(os.environ.get("PYSOCAT_SOAK"))
SIZE = (1 << 30) if SOAK else (8 << 20)
TIMEOUT = 900 if SOAK else 120
BLOCK = 1 << 20

# the data: one random MiB, rotated differently for every MiB that follows, so
# a lost, repeated or reordered piece changes the digest
PRODUCER = f"""
import os, random, sys
rnd = random.Random(9); block = rnd.randbytes({BLOCK}); out = sys.stdout.buffer
size = int(sys.argv[1]); k = 0
while size > 0:
    r = (k * 7919) % {BLOCK}
    piece = (block[r:] + block[:r])[:size]
    out.write(piece); size -= len(piece); k += 1
out.flush()
"""

# reads in 64 KiB steps and pauses every 64 of them: the relay must wait for it
CONSUMER = """
import hashlib, sys, time
h = hashlib.sha256(); n = steps = 0
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    h.update(b); n += len(b); steps += 1
    if steps % 64 == 0:
        time.sleep(0.002)
print(n, h.hexdigest())
"""


def expected(size):
    import random
    block = random.Random(9).randbytes(BLOCK)
    h, k, left = hashlib.sha256(), 0, size
    while left > 0:
        r = (k * 7919) % BLOCK
        piece = (block[r:] + block[:r])[:left]
        h.update(piece)
        left -= len(piece)
        k += 1
    return f"{size} {h.hexdigest()}"


def _pairings(tmp):
    port = free_port()
    sock = f"{tmp}/s"
    file = f"{tmp}/f"
    return {
        "pipe": "$P -u - -",
        "file": f"$P -u - CREATE:{file} && $P -u OPEN:{file},rdonly -",
        "tcp": f"$P -u - TCP4:127.0.0.1:{port},retry=200,interval=0.05 & "
               f"$P -u TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr -",
        "unix": f"$P -u - UNIX-CONNECT:{sock},retry=200,interval=0.05 & "
                f"$P -u UNIX-LISTEN:{sock} -",
        "exec": "$P -t 60 - EXEC:cat",
        # cat on a raw pty never sees an end of input: the relay ends 2 s after ours
        "pty": "$P -t 2 - EXEC:cat,pty,rawer",
    }


@pytest.mark.parametrize("pairing", ["pipe", "file", "tcp", "unix", "exec", "pty"])
def test_no_byte_lost_through(pairing, tmp_path):
    relay = _pairings(tmp_path)[pairing]
    # producer | relay | slow consumer; a backgrounded client end is waited for
    script = (f'"$PY" -c "$PRODUCER" {SIZE} | {{ {relay}; }} | "$PY" -c "$CONSUMER"; '
              'rc=$?; wait; exit $rc')
    env = {**os.environ, "P": " ".join(PYSOCAT),
           "PY": sys.executable, "PRODUCER": PRODUCER, "CONSUMER": CONSUMER}
    # a session of its own: a hang ends the whole pipeline, not only bash
    p = subprocess.Popen(["bash", "-o", "pipefail", "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    assert p.returncode == 0, err.decode()[-2000:]
    assert out.decode().strip() == expected(SIZE)


def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@pytest.mark.parametrize("relay", [["-t", "60", "-", "EXEC:cat"], ["-u", "-", "-"]])
def test_memory_stays_constant_during_a_long_transfer(relay):
    """The relay's resident size does not grow with the bytes moved (sampled
    every 50 ms; after the first quarter of the run it may move by 2 MiB at most)."""
    size = SIZE if SOAK else 256 << 20
    prod = subprocess.Popen([sys.executable, "-c", PRODUCER, str(size)], stdout=subprocess.PIPE)
    relay_p = subprocess.Popen(PYSOCAT + relay, stdin=prod.stdout, stdout=subprocess.PIPE)
    prod.stdout.close()
    cons = subprocess.Popen([sys.executable, "-c", CONSUMER], stdin=relay_p.stdout,
                            stdout=subprocess.PIPE)
    relay_p.stdout.close()
    samples = []
    try:
        import time
        deadline = time.monotonic() + TIMEOUT
        while relay_p.poll() is None and time.monotonic() < deadline:
            rss = _rss_kib(relay_p.pid)
            if rss:
                samples.append(rss)
            time.sleep(0.05)
        out, _ = cons.communicate(timeout=60)
    finally:
        for p in (prod, relay_p, cons):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert out.decode().strip() == expected(size)
    assert len(samples) >= 8, "the transfer was too short to sample"
    settled = samples[len(samples) // 4:]
    assert max(settled) - settled[0] <= 2048, samples
