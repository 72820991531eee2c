"""SOCKETPAIR (new in socat 1.8) against classic 1.8.1.3; an unknown address in 1.7.4.4."""
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
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_classic_18(name):
    args, stdin = CASES[name]
    same18(*args, stdin=stdin)


@needs_socat
@pytest.mark.parametrize("addr", ["SOCKETPAIR" + (":x" if "SOCKETPAIR" == "TEXT" else ""), "socketpair"])
def test_unknown_in_17(addr):
    mine = run_pysocat("-", addr, env=ENV17)
    theirs = run_socat("-", addr)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


def test_explain_has_steps():
    r = run_pysocat18("--explain", "-", "SOCKETPAIR" + (":a" if "SOCKETPAIR" == "TEXT" else ""))
    assert r.returncode == 0, r.stderr
    assert b"steps:" in r.stdout


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
