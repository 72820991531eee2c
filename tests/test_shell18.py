"""SHELL[:<cmd>] (new in socat 1.8) against classic 1.8.1.3; unknown in 1.7.4.4.

The EXEC machinery's own 1.8 log lines (a second "forked off child process", the
child's exit as a W) are the EXEC family's business: here stdout, the exit code
and the E/W lines are compared.
"""
import os
import subprocess

import pytest

from conftest import (PYSOCAT, SOCAT18, log_texts, needs_socat18, run_pysocat18)


def _ew(stderr):
    return [t for t in log_texts(stderr) if t[:1] in "EWF"]


def _env(**kw):
    env = {k: v for k, v in os.environ.items() if k != "SHELL"}
    env.update({k: v for k, v in kw.items() if v is not None})
    return env


def _same(*args, stdin=b"", shell="/bin/sh", timeout=10):
    env = _env(SHELL=shell)
    env18 = {**env, "PYSOCAT_COMPAT": "1.8.1.3"}
    mine = subprocess.run(PYSOCAT + list(args), input=stdin, capture_output=True,
                          timeout=timeout, env=env18)
    theirs = subprocess.run([SOCAT18] + list(args), input=stdin, capture_output=True,
                            timeout=timeout, env=env)
    assert mine.stdout == theirs.stdout
    assert mine.returncode == theirs.returncode
    assert _ew(mine.stderr) == _ew(theirs.stderr)
    return mine


CASES = {
    "command": (["-", "SHELL:cat"], b"hello\n", "/bin/sh"),
    "dollar-zero-and-shell": (["-", "SHELL:echo $0 $SHELL"], b"", "/bin/bash"),
    "interactive": (["-", "SHELL"], b"echo $0 $SHELL\n", "/bin/sh"),
    "shell-option": (["-", "SHELL:echo $0 $SHELL,shell=/bin/bash"], b"", "/bin/sh"),
    "unidirectional": (["-u", "-", "SHELL:cat >/dev/null; echo x >&2"], b"data\n", "/bin/sh"),
    "fdout": (["-", "SHELL:echo hi >&3,fdout=3"], b"", "/bin/sh"),
    "pipes": (["-", "SHELL:tr a-z A-Z,pipes"], b"abc\n", "/bin/sh"),
    "no-such-shell": (["-dd", "-", "SHELL:true"], b"", "/nonexistent/sh"),
    "not-a-path": (["-", "SHELL:true"], b"", "sh"),
    "unset": (["-", "SHELL:true"], b"", None),
    "two-params": (["-", "SHELL:echo a:b"], b"", "/bin/sh"),
}


@needs_socat18
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_classic_18(name):
    args, stdin, shell = CASES[name]
    _same(*args, stdin=stdin, shell=shell)


def test_errors():
    r = run_pysocat18("-", "SHELL:true", env={"SHELL": "sh"})
    assert log_texts(r.stderr) == ["E SHELL \"sh\" variable does not specify a path (has no '/')"]
    assert r.returncode == 1
    r = run_pysocat18("-", "SHELL:true,shell=bash")
    assert r.returncode == 1


def test_pty_interactive_shell():
    r = run_pysocat18("-", "SHELL,pty,setsid,echo=0", input=b"echo ${0}END\nexit\n",
                      env={"SHELL": "/bin/sh"})
    assert b"shEND" in r.stdout and r.returncode == 0


def test_explain():
    r = run_pysocat18("--explain", "-", "SHELL:cat,shell=/bin/dash")
    assert r.returncode == 0, r.stderr
    assert b'execl("/bin/dash", "dash", "-c", "cat")' in r.stdout
    r = run_pysocat18("--explain", "-", "SHELL", env={"SHELL": "sh"})
    assert r.returncode == 1


@needs_socat18
def test_nofork():
    _same("-", "SHELL:tr a-z A-Z,nofork", stdin=b"hi\n")


@needs_socat18
def test_write_only_child_gets_a_second_then_sigterm(tmp_path):
    """-u into SHELL: after EOF the program may flush for up to 1 s (socat's
    END_SHUTDOWN_KILL), then it is killed; a program ending in time is reaped quietly."""
    import time
    for prog in (PYSOCAT, [SOCAT18]):
        out = tmp_path / "out"
        start = time.monotonic()
        r = subprocess.run(prog + ["-dd", "-u", "-", f"SHELL:cat >{out}; exec sleep 5"],
                           input=b"data\n", capture_output=True, timeout=20,
                           env={**_env(SHELL="/bin/sh"), "PYSOCAT_COMPAT": "1.8.1.3"})
        took = time.monotonic() - start
        # 0, or 1 when the killed child's SIGCHLD is handled before the exit (1.8's
        # "child died" W): a race in classic too
        assert r.returncode in (0, 1) and out.read_bytes() == b"data\n"
        assert "N SIGALRM while waiting for wo child process to die, killing it now" in \
            log_texts(r.stderr)
        assert 0.9 <= took < 4
