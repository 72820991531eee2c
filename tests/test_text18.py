"""TEXT (new in socat 1.8) against classic 1.8.1.3; an unknown address in 1.7.4.4."""
import time

import pytest

from conftest import (ENV17, log_texts, needs_socat, needs_socat18, run_pysocat,
                      run_pysocat18, run_socat)
from same18 import same18


CASES = {
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


@needs_socat
@pytest.mark.parametrize("addr", ["TEXT" + (":x" if "TEXT" == "TEXT" else ""), "text"])
def test_unknown_in_17(addr):
    mine = run_pysocat("-", addr, env=ENV17)
    theirs = run_socat("-", addr)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


def test_explain_has_steps():
    r = run_pysocat18("--explain", "-", "TEXT" + (":a" if "TEXT" == "TEXT" else ""))
    assert r.returncode == 0, r.stderr
    assert b"steps:" in r.stdout


def test_text_large_string():
    text = "x" * 100000
    r = run_pysocat18("-u", f"TEXT:{text}", "-")
    assert r.returncode == 0 and r.stdout == text.encode()


def test_explain_advice():
    assert b"TEXT closes after its string" in run_pysocat18("--explain", "-", "TEXT:a").stdout
