"""STALL (new in socat 1.8) against classic 1.8.1.3; an unknown address in 1.7.4.4."""
import time

import pytest

from conftest import (ENV17, log_texts, needs_socat, needs_socat18, run_pysocat,
                      run_pysocat18, run_socat)
from same18 import same18


CASES = {
    "stall-timeout": (["-dd", "-T", "0.5", "-", "STALL"], b"x\n"),
    "stall-read": (["-dd", "-T", "0.5", "-u", "STALL", "-"], b""),
    "stall-write": (["-dd", "-T", "0.5", "-u", "-", "STALL"], b"x\n"),
    "stall-param": (["-dd", "-", "STALL:x"], b""),
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_classic_18(name):
    args, stdin = CASES[name]
    same18(*args, stdin=stdin)


@needs_socat
@pytest.mark.parametrize("addr", ["STALL" + (":x" if "STALL" == "TEXT" else ""), "stall"])
def test_unknown_in_17(addr):
    mine = run_pysocat("-", addr, env=ENV17)
    theirs = run_socat("-", addr)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


def test_explain_has_steps():
    r = run_pysocat18("--explain", "-", "STALL" + (":a" if "STALL" == "TEXT" else ""))
    assert r.returncode == 0, r.stderr
    assert b"steps:" in r.stdout


def test_stall_never_ends_without_timeout():
    """Neither data nor EOF on either side: only -T ends it."""
    start = time.monotonic()
    r = run_pysocat18("-T", "1", "STALL", "STALL")
    assert r.returncode == 0 and r.stdout == b""
    assert time.monotonic() - start >= 0.9


def test_explain_advice():
    assert b"STALL never ends the transfer" in run_pysocat18("--explain", "-", "STALL").stdout
    assert b"-T <seconds>" not in run_pysocat18("--explain", "-T", "1", "-", "STALL").stdout
