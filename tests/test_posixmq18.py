"""POSIXMQ-* (new in socat 1.8) against classic 1.8.1.3; unknown in 1.7.4.4.

Every test uses queue names of its own and unlinks them (there is no
/dev/mqueue mount here to look at them)."""
import ctypes
import itertools
import os
import select
import subprocess
import time

import pytest

from conftest import (PYSOCAT, SOCAT18, log_texts, needs_socat18, run_pysocat18, run_socat18)
from same18 import comparable

_LIBC = ctypes.CDLL(None, use_errno=True)
_SEQ = itertools.count()


@pytest.fixture
def mq():
    """A function giving fresh queue names; all are unlinked at the end."""
    names = []

    def new():
        name = f"/pysocat-test-{os.getpid()}-{next(_SEQ)}"
        names.append(name)
        return name
    yield new
    for name in names:
        _LIBC.mq_unlink(name.encode())


def _send(run, q, *msgs, opts=""):
    for m in msgs:
        r = run("-u", "-", f"POSIXMQ-SEND:{q}{opts}", input=m)
        assert r.returncode == 0, r.stderr


def _both(fn, mq):
    """fn(run, queue) for pysocat and for classic, each on a queue of its own."""
    return fn(run_pysocat18, mq()), fn(run_socat18, mq())


def _assert_same(mine, theirs):
    assert mine.stdout == theirs.stdout
    assert mine.returncode == theirs.returncode
    assert comparable(mine.stderr) == comparable(theirs.stderr)


@needs_socat18
def test_send_then_receive_one_each(mq):
    def fn(run, q):
        _send(run, q, b"one\n", b"two\n")
        first = run("-dd", "-u", f"POSIXMQ-RECEIVE:{q}", "-")
        second = run("-dd", "-u", f"POSIXMQ-RECV:{q}", "-")
        return first, second
    (m1, m2), (t1, t2) = _both(fn, mq)
    assert m1.stdout == b"one\n" and m2.stdout == b"two\n"
    _assert_same(m1, t1)
    _assert_same(m2, t2)


@needs_socat18
def test_priority_orders_messages(mq):
    def fn(run, q):
        _send(run, q, b"low\n")
        _send(run, q, b"high\n", opts=",mq-prio=5")
        return run("-u", f"POSIXMQ-RECEIVE:{q}", "-"), run("-u", f"POSIXMQ-RECEIVE:{q}", "-")
    (m1, m2), (t1, t2) = _both(fn, mq)
    assert m1.stdout == b"high\n" and m2.stdout == b"low\n"
    _assert_same(m1, t1)
    _assert_same(m2, t2)


@needs_socat18
def test_read_keeps_reading_until_timeout(mq):
    def fn(run, q):
        _send(run, q, b"a\n", b"b\n", b"c\n")
        return run("-dd", "-T", "0.5", "-u", f"POSIXMQ-READ:{q}", "-")
    mine, theirs = _both(fn, mq)
    assert mine.stdout == b"a\nb\nc\n"
    _assert_same(mine, theirs)


@needs_socat18
def test_bidirectional_echo(mq):
    """A message sent to the queue comes back from it (SOCKETPAIR-like echo)."""
    def fn(run, q):
        return run("-T", "0.5", "-", f"POSIXMQ-BIDIRECTIONAL:{q}", input=b"ping\n")
    mine, theirs = _both(fn, mq)
    assert mine.stdout == b"ping\n"
    _assert_same(mine, theirs)


@needs_socat18
def test_receive_fork_a_child_per_message(mq):
    def fn(run, q):
        _send(run, q, b"msg a\n", b"msg b\n", b"msg c\n")
        prog = PYSOCAT if run is run_pysocat18 else [SOCAT18]
        cmd = prog + ["-u", f"POSIXMQ-RECEIVE:{q},fork", "-"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYSOCAT_COMPAT": "1.8.1.3"},
                             start_new_session=True)
        out = b""
        deadline = time.monotonic() + 15
        try:
            while out.count(b"\n") < 3 and time.monotonic() < deadline:
                if select.select([p.stdout], [], [], 0.5)[0]:
                    chunk = os.read(p.stdout.fileno(), 1000)
                    if not chunk:
                        break
                    out += chunk
        finally:
            import signal
            try:                 # the parent and its children (they hold stdout too)
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            finally:             # a parent that did not end on SIGTERM fails the test,
                if p.poll() is None:             # but is not left behind
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                p.stdout.close()
        return out
    mine, theirs = _both(fn, mq)
    # the children write concurrently: any order
    assert sorted(mine.splitlines()) == sorted(theirs.splitlines()) == [b"msg a", b"msg b",
                                                                      b"msg c"]


def test_prio_environment(mq):
    """SOCAT_POSIXMQ_PRIO holds the last message's priority (seen by a child
    forked after the read: here the second address of a RECEIVE,fork child
    is opened before its read, so the prio is looked at in a grandchild)."""
    q = mq()
    _send(run_pysocat18, q, b"x\n", opts=",mq-prio=7")
    r = run_pysocat18("-d", "-d", "-d", "-u", f"POSIXMQ-RECEIVE:{q}", "-")
    assert "I mq_receive() ->  {prio=7}" in log_texts(r.stderr)


ERRORS = {
    "plain-posixmq-rdwr": lambda q: ["-", f"POSIXMQ:{q}"],
    "no-slash": lambda q: ["-u", "-", "POSIXMQ-SEND:noslash"],
    "no-creat": lambda q: ["-u", "-", f"POSIXMQ-SEND:{q},o-creat=0"],
    "fork-on-read": lambda q: ["-u", f"POSIXMQ-READ:{q},fork", "-"],
    "wrong-direction": lambda q: ["-u", "-", f"POSIXMQ-READ:{q}"],
    "no-param": lambda q: ["-u", "-", "POSIXMQ-SEND"],
    "attrs": lambda q: ["-dd", "-u", "-", f"POSIXMQ-SEND:{q},mq-maxmsg=3,mq-msgsize=100"],
    "max-children-without-fork": lambda q: ["-u", "-", f"POSIXMQ-SEND:{q},max-children=2"],
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_same_as_classic(name, mq):
    q = mq()
    mine = run_pysocat18(*ERRORS[name](q))
    _LIBC.mq_unlink(q.encode())
    theirs = run_socat18(*ERRORS[name](q))
    _assert_same(mine, theirs)


def test_flush_drops_old_messages(mq):
    q = mq()
    _send(run_pysocat18, q, b"old\n")
    r = run_pysocat18("-dd", "-d", "-T", "0.3", "-", f"POSIXMQ-BIDIRECTIONAL:{q},mq-flush",
                      input=b"new\n")
    assert r.stdout == b"new\n"
    assert f'I flushed 4 bytes in 1 packets from queue "{q}"' in log_texts(r.stderr)


def test_unlink_close(mq):
    q = mq()
    _send(run_pysocat18, q, b"x\n", opts=",unlink-close")
    assert _LIBC.mq_unlink(q.encode()) == -1 and ctypes.get_errno() == 2


@pytest.mark.parametrize("addr", ["POSIXMQ-READ:/q", "POSIXMQ-RECEIVE:/q,fork",
                                  "POSIXMQ-BIDIRECTIONAL:/q,mq-flush"])
def test_explain(addr):
    r = run_pysocat18("--explain", "-u", addr, "-")
    assert r.returncode == 0, r.stderr
    assert b"mq_open(" in r.stdout
