"""FD/REG options applied to descriptors: ftruncate, POSIX locks (f-setlk*)."""
import fcntl
import os
import struct
import subprocess
import sys

import pytest

from conftest import PYSOCAT, log_texts, needs_socat, run_pysocat, run_socat


def test_ftruncate_zero_with_append_replaces_content(tmp_path):
    """socat test 57 FTRUNCATE: ftruncate=0 late, then appended writes."""
    f = tmp_path / "f"
    f.write_bytes(b"prefix-")
    r = run_pysocat("-u", "-", f"open:{f},append,ftruncate=0", input=b"data\n")
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"data\n"


@pytest.mark.parametrize("name", ["ftruncate", "truncate", "ftruncate64", "ftruncate32"])
def test_ftruncate_length_and_aliases(tmp_path, name):
    f = tmp_path / "f"
    f.write_bytes(b"0123456789")
    r = run_pysocat("-u", "/dev/null", f"open:{f},{name}=4")
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"0123"


def test_ftruncate_failure_and_setting_log(tmp_path):
    r = run_pysocat("-d", "-d", "-d", "-u", "/dev/null", "open:/dev/null,ftruncate=0")
    assert r.returncode == 1
    texts = log_texts(r.stderr)
    assert 'I setting option "ftruncate64" to 0' in texts
    assert [t for t in texts if t.startswith("E ")][0].endswith(", 0): Invalid argument")
    assert [t for t in texts if t.startswith("E ")][0].startswith("E ftruncate64(")
    f = tmp_path / "f"
    f.write_bytes(b"x")
    r = run_pysocat("-u", "/dev/null", f"open:{f},ftruncate32=-1")
    assert r.returncode == 1
    assert log_texts(r.stderr)[-1].endswith(", -1): Invalid argument")
    assert log_texts(r.stderr)[-1].startswith("E ftruncate(")


def test_ftruncate_refused_on_pipe_address(tmp_path):
    r = run_pysocat("-u", "/dev/null", f"pipe:{tmp_path}/p,ftruncate=0")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [
        'E parseopts_table(): option "ftruncate" not supported with this address type']


def test_setlk_unidirectional_stdout_only(tmp_path):
    """socat test 94 BUG-UNISTDIO: -u uses stdout only; a read-only stdin is
    not locked (it would fail: F_WRLCK needs a writable descriptor)."""
    f = tmp_path / "f"
    f.write_bytes(b"")
    out = tmp_path / "out"
    with open(f, "rb") as fin, open(out, "wb") as fout:
        r = subprocess.run(PYSOCAT + ["-u", "/dev/null", "-,setlk"], stdin=fin,
                           stdout=fout, stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 0, r.stderr
    with open(f, "rb") as fin:
        r = subprocess.run(PYSOCAT + ["/dev/null", "-,setlk"], stdin=fin,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 1
    assert log_texts(r.stderr) == [
        "E fcntl(0, 6, {type=F_WRLCK,whence=SEEK_SET,start=0,len=LONG_MAX,pid=0}): "
        "Bad file descriptor"]


def _held_lock(path):
    """A child that holds a write lock on path until its stdin closes."""
    code = ("import fcntl,sys,struct\n"
            f"f=open({str(path)!r},'r+b')\n"
            "fcntl.lockf(f, fcntl.LOCK_EX)\n"
            "sys.stdout.write('locked\\n'); sys.stdout.flush()\n"
            "sys.stdin.read()\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"locked\n"
    return p


@pytest.mark.parametrize("opt,call", [("setlk", 6), ("setlk-rd", 6)])
def test_setlk_fails_on_a_locked_file(tmp_path, opt, call):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    holder = _held_lock(f)
    try:
        r = run_pysocat("-u", "/dev/null", f"open:{f},rdwr,{opt}")
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert r.returncode == 1
    err = log_texts(r.stderr)[-1]
    assert err.startswith("E fcntl(")
    assert err.endswith(f", {call}, {{type=F_WRLCK,whence=SEEK_SET,start=0,len=LONG_MAX,"
                        "pid=0}): Resource temporarily unavailable")


def test_setlkw_waits_for_the_lock(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    holder = _held_lock(f)
    p = subprocess.Popen(PYSOCAT + ["-u", "-", f"open:{f},wronly,append,lock"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=0.5)          # blocked in F_SETLKW
        holder.stdin.close()
        holder.wait(timeout=10)
        _, err = p.communicate(b"more", timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert f.read_bytes() == b"xmore"


@needs_socat
def test_lock_errors_match_socat(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"")
    args = ("-u", "/dev/null", f"open:{f},rdonly,setlkw")
    mine, theirs = run_pysocat(*args), run_socat(*args)
    assert mine.returncode == theirs.returncode == 1
    strip = [t.split("(", 1)[0] + t.split(",", 1)[1] for t in log_texts(mine.stderr)]
    want = [t.split("(", 1)[0] + t.split(",", 1)[1] for t in log_texts(theirs.stderr)]
    assert strip == want
