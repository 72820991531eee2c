"""1.8 behaviour changes, each under both profiles: the same command with classic
socat 1.8.1.3 and 1.7.4.4 and with pysocat under the matching profile gives the
same bytes, exit code and log lines (issue 14, part 3).

Every case runs twice: ``("1.8.1.3", classic 1.8.1.3)`` and
``("1.7.4.4", /usr/bin/socat)``; pysocat gets ``PYSOCAT_COMPAT`` of that version.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import PYSOCAT, SOCAT, SOCAT18  # noqa: E402
from differential import normalise_log  # noqa: E402

VERSIONS = ("1.8.1.3", "1.7.4.4")


def classic_for(version):
    path = SOCAT18 if version == "1.8.1.3" else SOCAT
    if path is None:
        pytest.skip(f"classic socat {version} is not available (make classic)")
    return [path]


def run_one(argv, version, stdin=b"", hold=0.0, timeout=15, cwd=None):
    """Run argv; stdin gets ``stdin`` and stays open ``hold`` seconds more.
    Returns (rc, stdout, normalised log lines)."""
    env = {**os.environ, "PYSOCAT_COMPAT": version}
    env.pop("SOCAT_OPTS", None)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)

    def feed():
        try:
            if stdin:
                p.stdin.write(stdin)
                p.stdin.flush()
            if hold:
                time.sleep(hold)
        except (BrokenPipeError, OSError):
            pass
        try:
            p.stdin.close()
        except OSError:
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    out = bytearray()
    err = bytearray()

    def drain(stream, buf):
        for chunk in iter(lambda: stream.read1(65536), b""):
            buf += chunk

    readers = [threading.Thread(target=drain, args=(p.stdout, out), daemon=True),
               threading.Thread(target=drain, args=(p.stderr, err), daemon=True)]
    for r in readers:
        r.start()
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=5)
        rc = None
    for r in readers:
        r.join(timeout=5)
    t.join(timeout=5)
    return rc, bytes(out), normalise_log(bytes(err).decode(errors="replace"),
                                         extra=[(r"\bchild \d+", "child PID")])


def both(args, version, **kw):
    """(classic outcome, pysocat outcome) of one command under ``version``."""
    return (run_one(classic_for(version) + list(args), version, **kw),
            run_one(PYSOCAT + list(args), version, **kw))


def assert_same(args, version, **kw):
    classic, ours = both(args, version, **kw)
    assert ours == classic, f"{version}: classic {classic}, pysocat {ours}"
    return classic


# -------------------------------------------------------------- child exit status
# 1.8 (xiosigchld.c:148,158, socat.c:446-448): W, the transfer goes on, exit 1.
# 1.7: E waitpid(...) and the run ends.

@pytest.mark.parametrize("version", VERSIONS)
def test_child_exit_status(version):
    rc, out, log = assert_same(["-t", "2", "-", "SYSTEM:echo early; sleep 0.2; exit 3"],
                               version, hold=1.0)
    assert rc == 1 and out == b"early\n"
    assert log[-1].startswith(("socat[PID] W waitpid(): child", "socat[PID] E waitpid(): child"))
    assert log[-1].endswith("exited with status 3")
    assert log[-1].split()[1] == ("W" if version == "1.8.1.3" else "E")


@pytest.mark.parametrize("version", VERSIONS)
def test_child_exit_signal(version, tmp_path):
    script = tmp_path / "killed.sh"
    script.write_text("#!/bin/sh\necho early\nsleep 0.2\nkill -9 $$\n")
    script.chmod(0o755)
    rc, out, log = assert_same(["-t", "2", "-", f"EXEC:{script}"], version, hold=1.0)
    assert rc == 1 and out == b"early\n"
    assert log[-1].endswith("exited on signal 9")


@pytest.mark.parametrize("version", VERSIONS)
def test_child_exit_goes_on(version):
    """1.8: data the program left in the channel still arrives; the run ends
    with its closing timeout and status 1. 1.7 ends at the E."""
    args = ["-d", "-d", "-t", "0.3", "-", "SYSTEM:echo early; sleep 0.2; exit 3"]
    classic, ours = both(args, version, hold=1.0)
    assert ours[:2] == classic[:2] == (1, b"early\n")
    pick = [line for line in classic[2] if "waitpid" in line or "exit" in line]
    assert pick == [line for line in ours[2] if "waitpid" in line or "exit" in line]
