"""socat 1.8's simple address types SOCKETPAIR, STALL and TEXT against classic 1.8.1.3,
and every address type new in 1.8 being unknown under the 1.7.4.4 profile, as 1.7.4.4 says."""
import time

import pytest

from conftest import (ENV17, log_texts, needs_socat, needs_socat18, run_pysocat,
                      run_pysocat18, run_socat)
from same18 import same18


CASES = {
    "socketpair-echo": (["-dd", "-", "SOCKETPAIR"], b"hello\n"),
    "socketpair-unidirectional": (["-dd", "-u", "-", "SOCKETPAIR"], b"hello\n"),
    "socketpair-stream": (["-dd", "-", "SOCKETPAIR,socktype=1"], b"hello\n"),
    "socketpair-seqpacket": (["-dd", "-", "SOCKETPAIR,socktype=5"], b"hello\n"),
    "socketpair-param": (["-dd", "-", "SOCKETPAIR:x"], b""),
    "stall-timeout": (["-dd", "-T", "0.5", "-", "STALL"], b"x\n"),
    "stall-read": (["-dd", "-T", "0.5", "-u", "STALL", "-"], b""),
    "stall-write": (["-dd", "-T", "0.5", "-u", "-", "STALL"], b"x\n"),
    "stall-param": (["-dd", "-", "STALL:x"], b""),
    "text-rdwr": (["-dd", "-", "TEXT:xyz"], b"hello\n"),
    "text-first": (["-dd", "TEXT:hi there", "-"], b"hello\n"),
    "text-read-only": (["-dd", "-u", "TEXT:xyz", "-"], b""),
    "text-write-only": (["-dd", "-u", "-", "TEXT:xyz"], b"in\n"),
    "text-no-param": (["-dd", "-", "TEXT"], b""),
    "text-two-params": (["-dd", "-", "TEXT:a:b"], b""),
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_classic_18(name):
    args, stdin = CASES[name]
    # text-rdwr: stdin's line and the text both reach stdout, in either order
    r = same18(*args, stdin=stdin, unordered=name == "text-rdwr")
    if name == "text-rdwr":
        assert sorted(r.stdout) == sorted(b"hello\nxyz")


# Each new type in the position where 1.8 would accept it; 1.7.4.4 knows none of them.
NEW_IN_18 = [
    ["-", "SOCKETPAIR"], ["-", "socketpair"], ["-", "STALL"], ["-", "stall"],
    ["-", "TEXT:x"], ["-", "text:x"],
    ["-", "SHELL:true"], ["-", "SHELL"], ["-", "SYSTEM:true,shell=/bin/sh"],
    ["ACCEPT-FD:3", "-"], ["ACCEPT:3", "-"],
    ["-u", "POSIXMQ-READ:/x", "-"], ["-u", "POSIXMQ:/x", "-"], ["-u", "POSIXMQ-RECV:/x", "-"],
]


@needs_socat
@pytest.mark.parametrize("args", NEW_IN_18, ids=" ".join)
def test_unknown_in_17(args):
    mine = run_pysocat(*args, env=ENV17)
    theirs = run_socat(*args)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)
    assert log_texts(mine.stderr)[-1].startswith("E ")


@pytest.mark.parametrize("addr", ["SOCKETPAIR", "STALL", "TEXT:a"])
def test_explain_has_steps(addr):
    r = run_pysocat18("--explain", "-", addr)
    assert r.returncode == 0, r.stderr
    assert b"steps:" in r.stdout


def test_explain_advice():
    assert b"TEXT closes after its string" in run_pysocat18("--explain", "-", "TEXT:a").stdout
    assert b"STALL never ends the transfer" in run_pysocat18("--explain", "-", "STALL").stdout
    assert b"-T <seconds>" not in run_pysocat18("--explain", "-T", "1", "-", "STALL").stdout


@needs_socat18
def test_socketpair_keeps_packet_boundaries():
    """-b 1: each byte is its own packet and comes back as one."""
    r = same18("-dd", "-b", "1", "-", "SOCKETPAIR", stdin=b"ab")
    assert r.stdout == b"ab"
    assert log_texts(r.stderr).count("N received packet with 1 bytes") == 2


def test_socketpair_unknown_socket_type():
    r = run_pysocat18("-", "SOCKETPAIR,socktype=99", input=b"")
    assert r.returncode == 1
    assert log_texts(r.stderr)[-1].startswith("E socketpair(1, 99, 0, 0x")


def test_stall_never_ends_without_timeout():
    """Neither data nor EOF on either side: only -T ends it."""
    start = time.monotonic()
    r = run_pysocat18("-T", "1", "STALL", "STALL")
    assert r.returncode == 0 and r.stdout == b""
    assert time.monotonic() - start >= 0.9


def test_text_large_string():
    text = "x" * 100000
    r = run_pysocat18("-u", f"TEXT:{text}", "-")
    assert r.returncode == 0 and r.stdout == text.encode()
