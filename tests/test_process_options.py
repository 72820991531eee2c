"""Process options (chroot, setuid, setgid, su, their -early/-delayed forms) and lock files."""
import os
import re
import subprocess
import time

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_root, needs_socat, run_pysocat, run_socat


@needs_root
@pytest.mark.parametrize("opts", ["su=nobody", "su-d=nobody", "substuser=65534",
                                  "setuid=65534", "setgid=65534,setuid=65534",
                                  "setuid-early=65534", "su-e=nobody"])
def test_exec_child_identity(opts):
    r = run_pysocat("-u", f"EXEC:id,{opts}", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"uid=65534(")
    if "set" not in opts:
        assert b"groups=65534(" in r.stdout


@needs_root
@needs_socat
@pytest.mark.parametrize("opts", ["su=nobody", "setuid=65534,setgid=65534",
                                  "setgid=65534,setuid=65534", "setuid-early=65534",
                                  "su=nobody,setuid=0", "su=nosuchuser0"])
def test_exec_identity_like_socat(opts):
    ours = run_pysocat("-u", f"EXEC:id,{opts}", "-")
    theirs = run_socat("-u", f"EXEC:id,{opts}", "-")
    assert ours.stdout == theirs.stdout
    def errors(r):   # the child's errors (socat's own waitpid report is racy)
        return sorted(re.sub(r"\d{3,}", "N", t) for t in log_texts(r.stderr)
                      if t[0] == "E" and "waitpid" not in t)
    assert errors(ours) == errors(theirs)
    # socat's own status after a failed child is racy; ours reports the failure
    assert ours.returncode == (1 if errors(theirs) else 0)


@needs_root
def test_chroot_applies_to_what_follows(tmp_path):
    (tmp_path / "in").write_bytes(b"inside\n")
    # chroot-early: address 1 itself is opened inside the new root
    r = run_pysocat("-u", f"OPEN:/in,chroot-early={tmp_path}", "CREATE:/out1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out1").read_bytes() == b"inside\n"
    # chroot: after address 1 is open; address 2 is opened inside
    r = run_pysocat("-u", f"OPEN:{tmp_path}/in,chroot={tmp_path}", "CREATE:/out2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out2").read_bytes() == b"inside\n"


@needs_root
def test_chroot_missing_dir_is_socats_error(tmp_path):
    r = run_pysocat("-u", f"/dev/null,chroot={tmp_path}/nope", "/dev/null")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [f'E chroot("{tmp_path}/nope"): No such file or directory']


def test_lockfile_refuses_when_taken(tmp_path):
    lock = tmp_path / "lock"
    lock.write_text("1")
    r = run_pysocat("-u", f"/dev/null,lockfile={lock}", "/dev/null")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [f'E could not obtain lock "{lock}"']
    assert lock.exists()


def test_lockfile_held_during_run_and_removed(tmp_path):
    lock = tmp_path / "lock"
    p = subprocess.Popen(PYSOCAT + ["-u", f"-,lockfile={lock}", "/dev/null"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lock.read_text() == str(p.pid)
        p.stdin.close()
        assert p.wait(5) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert not lock.exists()


def test_waitlock_waits_until_free(tmp_path):
    import select
    lock = tmp_path / "lock"
    lock.write_text("x")
    p = subprocess.Popen(PYSOCAT + ["-d", "-d", "-u", f"/dev/null,waitlock={lock}", "/dev/null"],
                         stderr=subprocess.PIPE)
    try:
        seen = b""
        deadline = time.monotonic() + 10
        while b"waiting for lock" not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([p.stderr], [], [], 0.5)
            if r:
                seen += os.read(p.stderr.fileno(), 4096)
        assert p.poll() is None          # still waiting
        lock.unlink()
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert p.returncode == 0
    assert f'N waiting for lock "{lock}"' in log_texts(seen + err)
    assert not lock.exists()


@needs_socat
def test_two_locks_on_one_address_like_socat(tmp_path):
    args = ["-u", f"/dev/null,lockfile={tmp_path}/a,waitlock={tmp_path}/b", "/dev/null"]
    ours, theirs = run_pysocat(*args), run_socat(*args)
    assert ours.returncode == theirs.returncode == 1
    assert log_texts(ours.stderr)[-1:] == log_texts(theirs.stderr)[-1:] == \
        ["E only one use of options lockfile and waitlock allowed"]


@pytest.mark.parametrize("opt,signum", [("sighup", 1), ("sigint", 2), ("sigquit", 3)])
def test_signal_passed_to_program(tmp_path, opt, signum):
    import select
    import signal as _signal
    script = tmp_path / "prog.sh"
    # "ready" only once $pid is set: a signal before that left sleep 10 holding stderr
    script.write_text(f'#!/bin/sh\ntrap "kill \\$pid; exit 3" {signum}\n'
                      'sleep 10 &\npid=$!\necho ready\nwait\n')
    script.chmod(0o755)
    p = subprocess.Popen(PYSOCAT + ["-d", "-d", "-u", f"EXEC:{script},{opt}", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = select.select([p.stdout], [], [], 10)[0]
        assert ready and p.stdout.readline() == b"ready\n"
        p.send_signal(signum)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    texts = log_texts(err)
    assert f"N socatsignalpass({signum})" in texts
    # the program got the signal (its trap exits 3); socat did not exit on it
    assert any(re.fullmatch(r"E waitpid\(\): child \d+ exited with status 3", t) for t in texts)
    assert not any("exiting on signal" in t for t in texts)
    assert p.returncode == 1


@needs_root
def test_exec_chroot_failure_in_child(tmp_path):
    # stdin stays open: the run ends on the child's failure, not on an EOF that
    # could come first on a busy machine
    import subprocess
    from conftest import PYSOCAT
    p = subprocess.Popen(PYSOCAT + ["-u", "-", f"EXEC:true,chroot={tmp_path}/nope"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.wait(timeout=20)
    finally:
        p.stdin.close()
    err = p.stderr.read()
    p.stderr.close()
    assert p.returncode == 1
    texts = log_texts(err)
    assert f'E chroot("{tmp_path}/nope"): No such file or directory' in texts
    assert any(re.fullmatch(r"E waitpid\(\): child \d+ exited with status 1", t) for t in texts)
