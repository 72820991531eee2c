"""Differential runs of pysocat (1.8.1.3 profile) against classic socat 1.8.1.3."""
import re

from conftest import log_texts, run_pysocat18, run_socat18

_FDS = re.compile(r"\[-?\d+,-?\d+\] and \[-?\d+,-?\d+\]|fd -?\d+|process \d+|child \d+")


def comparable(stderr) -> list:
    """The log lines without time/pid; descriptor numbers and pids replaced (classic
    has a few more descriptors open); sorted, as the relay may log an EOF before or
    after the packet it read in the same pass."""
    return sorted(_FDS.sub("#", t) for t in log_texts(stderr))


def same18(*args, stdin=b"", timeout=10, env=None, unordered=False):
    """Run both; the same stdout, exit code and log lines. Returns pysocat's result.

    ``unordered``: stdout gathers two directions whose order is a race (in classic
    too): the same bytes in any order."""
    mine = run_pysocat18(*args, input=stdin, timeout=timeout, env=env)
    theirs = run_socat18(*args, input=stdin, timeout=timeout,
                         **({"env": {**__import__("os").environ, **env}} if env else {}))
    if unordered:
        assert sorted(mine.stdout) == sorted(theirs.stdout)
    else:
        assert mine.stdout == theirs.stdout
    assert mine.returncode == theirs.returncode
    assert comparable(mine.stderr) == comparable(theirs.stderr)
    return mine
