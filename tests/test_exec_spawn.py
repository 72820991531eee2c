"""EXEC starts its program with posix_spawn (no forked copy of pysocat) unless
an option needs Python code between fork and exec (exec.FORK_RULES); the
program sees the same descriptors, session and environment either way, and a
program that cannot start gives socat's lines and exit codes."""
import os
import re
import shutil
import subprocess

import pytest

from sockhelp import connect_when_listening, recv_until_eof

from conftest import (ENV17, ENV18, PYSOCAT, log_texts, needs_root, needs_socat,
                      needs_socat18, run_pysocat, run_pysocat18, run_socat, run_socat18)

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


def _clones(tmp_path, *args):
    """How pysocat made its processes: 'vfork' (posix_spawn) or 'fork', in order."""
    out = tmp_path / "strace.out"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=clone,clone3,vfork,fork",
                        "-o", str(out), *PYSOCAT, *args], input=b"hi\n",
                       capture_output=True, timeout=30, env=ENV17)
    kinds = []
    for line in out.read_text().splitlines():
        if re.search(r"\b(clone3?|v?fork)\(", line):
            kinds.append("vfork" if "CLONE_VFORK" in line or "vfork(" in line else "fork")
    return r, kinds


@needs_strace
@pytest.mark.parametrize("addr,want", [
    ("EXEC:cat", ["vfork"]),
    ("EXEC:cat,pipes", ["vfork"]),
    ("EXEC:cat,setsid", ["vfork"]),
    ("EXEC:cat,setpgid=0", ["vfork"]),
    ("EXEC:cat,stderr", ["vfork"]),
    ("EXEC:cat,path=/nonexistent:/usr/bin:/bin", ["vfork"]),
    # these need code in the child: pysocat forks itself as before
    ("EXEC:cat,pty,raw,echo=0", ["fork"]),
    ("EXEC:cat,chroot=/", ["fork"]),
    ("EXEC:cat,su=root", ["fork"]),
    # SYSTEM's child runs system(3); it starts the shell as glibc's does
    ("SYSTEM:cat", ["fork", "vfork"]),
])
def test_spawn_or_fork(tmp_path, addr, want):
    r, kinds = _clones(tmp_path, "-", addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"
    assert kinds[:len(want)] == want


@needs_strace
def test_missing_program_takes_the_fork_path(tmp_path):
    """posix_spawn finds no program: the forked child runs execvp and reports it."""
    r, kinds = _clones(tmp_path, "-", "EXEC:nonexistent-program-x")
    assert r.returncode == 1
    assert kinds == ["fork"]


def _stat(out: bytes) -> list[str]:
    """pid, ppid, pgrp, session of /proc/self/stat (the program's own)."""
    f = out.decode().rsplit(")", 1)[1].split()
    return [out.decode().split()[0], f[1], f[2], f[3]]


@pytest.mark.parametrize("opt", ["", ",setsid", ",setpgid=0", ",pipes"])
def test_spawned_program_process(opt):
    r = run_pysocat("-d", "-d", "-d", "-", f"EXEC:cat /proc/self/stat{opt}")
    assert r.returncode == 0, r.stderr
    pid, ppid, pgrp, sid = _stat(r.stdout)
    lines = r.stderr.decode().splitlines()
    me = re.search(r"\[(\d+)\] N forked off child process (\d+)", r.stderr.decode())
    assert me and me.group(2) == pid and ppid == me.group(1)
    # the child's own lines carry its pid, before the parent's notice
    born = [i for i, ln in enumerate(lines) if f"[{pid}] I just born: child process {pid}" in ln]
    execs = [i for i, ln in enumerate(lines) if f"[{pid}] N execvp'ing \"cat\"" in ln]
    fork = [i for i, ln in enumerate(lines) if "forked off child process" in ln]
    assert born and execs and born[0] < execs[0] < fork[0]
    if opt == ",setsid":
        assert pgrp == sid == pid
    elif opt == ",setpgid=0":
        assert pgrp == pid != sid
    else:
        assert pgrp != pid and sid != pid


def test_spawned_program_fds_and_env(tmp_path):
    script = tmp_path / "show"
    script.write_text("#!/bin/sh\necho $PYSOCAT_SPAWN_TEST\n"
                      "ls -l /proc/$$/fd | grep -c socket\necho err >&2\n")
    script.chmod(0o755)
    env = {**ENV17, "PYSOCAT_SPAWN_TEST": "x y"}
    r = subprocess.run([*PYSOCAT, "-", f"EXEC:{script},stderr"],
                       input=b"", capture_output=True, timeout=20, env=env)
    assert r.returncode == 0, r.stderr
    # fds 0, 1, 2 are the channel; nothing else of pysocat's leaks in
    assert r.stdout == b"x y\n3\nerr\n"
    r = run_pysocat("-", "EXEC:env,path=/opt/none:/usr/bin:/bin")
    assert b"PATH=/opt/none:/usr/bin:/bin\n" in r.stdout


def test_spawned_program_dash_and_sigpipe():
    r = run_pysocat("-", "EXEC:cat /proc/self/cmdline,dash", input=b"")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"-cat\0/proc/self/cmdline\0"


# glibc's posix_spawn (and so system(3), classic's SYSTEM) leaves its two
# internal signals (32, 33) ignored in the program; nothing but /proc shows it
_GLIBC_INTERNAL = (1 << 31) | (1 << 32)
_SIGNAL_CASES = {"exec": ("EXEC:{script}",), "system": ("SYSTEM:{script}",),
                 "pty": ("EXEC:{script},pty",), "setsid": ("EXEC:{script},setsid",)}


@needs_socat
@needs_socat18
@pytest.mark.parametrize("case", sorted(_SIGNAL_CASES))
@pytest.mark.parametrize("version", ["1.7", "1.8"])
def test_program_signal_dispositions_as_classic(tmp_path, case, version):
    """The program starts with socat's dispositions: SIGPIPE ignored (it gets
    EPIPE, not killed), SIGXFSZ default (the interpreter ignores it)."""
    script = tmp_path / "sigs.sh"
    script.write_text("#!/bin/sh\ngrep -E '^Sig(Ign|Blk)' /proc/self/status\n")
    script.chmod(0o755)
    args = ["-u", _SIGNAL_CASES[case][0].format(script=script), "-"]
    ours = (run_pysocat18 if version == "1.8" else run_pysocat)(*args)
    theirs = (run_socat18 if version == "1.8" else run_socat)(*args)
    masks = []
    for r in (ours, theirs):
        fields = dict(line.split(":") for line in r.stdout.decode().replace("\r", "").split("\n")
                      if ":" in line)
        masks.append({k: int(v, 16) & ~_GLIBC_INTERNAL for k, v in fields.items()})
    assert masks[0] == masks[1], (ours.stdout, theirs.stdout)
    assert masks[0]["SigIgn"] & (1 << 12) and not masks[0]["SigIgn"] & (1 << 24)


def _program_dirs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "prog").write_text("#!/bin/sh\necho A\n")
    (a / "prog").chmod(0o644)          # not executable: execvp goes on searching
    (b / "prog").write_text("#!/bin/sh\necho B\n")
    (b / "prog").chmod(0o755)
    return a, b


@needs_socat
@needs_socat18
def test_execvp_search_as_classic(tmp_path):
    a, b = _program_dirs(tmp_path)
    for run in (run_pysocat, run_socat, run_pysocat18, run_socat18):
        r = run("-", f"EXEC:prog,path={a}:{b}")
        assert (r.returncode, r.stdout) == (0, b"B\n"), (run, r.stderr)


def _child_lines(texts):
    return [t for t in texts if "execvp" in t or t == "N exit(1)"]


@needs_socat
@needs_socat18
@pytest.mark.parametrize("prog,why", [
    ("nonexistent-program-x", "No such file or directory"),
    ("/nonexistent/prog", "No such file or directory"),
    ("prog", "Permission denied"),          # only a non-executable one on PATH
])
def test_exec_failure_as_classic(tmp_path, prog, why):
    a, _ = _program_dirs(tmp_path)
    for mine, classic in ((run_pysocat, run_socat), (run_pysocat18, run_socat18)):
        got = [run("-d", "-d", "-", f"EXEC:{prog},path={a}", input=b"data\n")
               for run in (mine, classic)]
        want = [f"N execvp'ing \"{prog}\"", f'E execvp("{prog}", "{prog}"): {why}', "N exit(1)"]
        for r in got:
            assert _child_lines(log_texts(r.stderr))[:3] == want, r.stderr
            assert b"data" not in r.stdout
        # the exit code: 1 under 1.7.4.4 (pysocat: the read error or the
        # child's status, whichever comes first; socat's a race as well)
        assert got[0].returncode == 1 or got[0].returncode == got[1].returncode


@needs_root
def test_fork_rule_options_still_act():
    """su acts in the forked child: the program runs as the other user."""
    import pwd
    nobody = pwd.getpwnam("nobody").pw_uid
    r = run_pysocat("-", "EXEC:id -u,su=nobody", input=b"")
    assert r.stdout == f"{nobody}\n".encode(), r.stderr


def test_fork_rules_are_data():
    from pysocat.addresses import exec as ex
    names = [name for name, _, _ in ex.FORK_RULES]
    assert {"system", "shell", "pty", "chroot/setuid/setgid/su/su-d"} <= set(names)
    plain = ex._Plan(is_system=False, run=None, usepty=False, tty=5, termopts=None,
                     procopts=None, rfd=5, wfd=5, errfd=None, fdin=0, fdout=1)
    assert ex.fork_reasons(plain) == []
    assert ex.fork_reasons(plain._replace(usepty=True)) == ["pty"]
    assert ex.fork_reasons(plain._replace(rfd=1)) == ["fdin/fdout"]
    assert ex.fork_reasons(plain._replace(is_system=True)) == ["system"]


def test_spawned_program_gets_exact_environment_bytes():
    """The environment goes over as bytes: a value that is no UTF-8 arrives as
    it was, and what pysocat set itself (SOCAT_PEERADDR in a fork server's
    child) is there too."""
    env = {os.fsencode(k): os.fsencode(v) for k, v in ENV17.items()}
    env[b"PYSOCAT_RAW"] = b"\xff\xfe"
    r = subprocess.run([*PYSOCAT, "-", "EXEC:env"], input=b"", capture_output=True,
                       timeout=20, env=env)
    assert b"\nPYSOCAT_RAW=\xff\xfe\n" in b"\n" + r.stdout
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen([*PYSOCAT, f"TCP4-LISTEN:{port},reuseaddr,fork", "EXEC:env"],
                           stderr=subprocess.PIPE, env=ENV17)
    try:
        with connect_when_listening(port) as c:
            c.shutdown(socket.SHUT_WR)
            got = recv_until_eof(c)
        assert b"\nSOCAT_PEERADDR=127.0.0.1\n" in b"\n" + got
    finally:
        srv.terminate()
        srv.wait(5)


def test_fork_server_never_imports_threading():
    """threading's at-fork hook would run in every child (~50 page faults a
    connection): neither the parent nor a child of TCP4-LISTEN,fork EXEC:cat
    imports it."""
    import socket
    import sys
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "pysocat",
                            f"TCP4-LISTEN:{port},reuseaddr,fork", "EXEC:cat"],
                           stderr=subprocess.PIPE, env=ENV17)
    try:
        with connect_when_listening(port) as c:
            c.sendall(b"x\n")
            c.shutdown(socket.SHUT_WR)
            assert c.recv(10) == b"x\n"
    finally:
        srv.terminate()
        err = srv.communicate(timeout=5)[1]
    assert b"import time:" in err
    assert not re.search(rb"\|\s+threading\n", err)
