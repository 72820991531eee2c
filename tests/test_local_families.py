"""Files, pipes and programs move bytes as socat moves them."""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_root, needs_socat, run_pysocat, run_socat


def test_create_writes_file(tmp_path):
    out = tmp_path / "out"
    r = run_pysocat("-u", "-", f"CREATE:{out},perm=0640", input=b"abc\n")
    assert r.returncode == 0
    assert out.read_bytes() == b"abc\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 & ~_umask()


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_open_append_creat_trunc(tmp_path):
    f = tmp_path / "f"
    assert run_pysocat("-u", "-", f"OPEN:{f},creat,append", input=b"one\n").returncode == 0
    assert run_pysocat("-u", "-", f"OPEN:{f},append", input=b"two\n").returncode == 0
    assert f.read_bytes() == b"one\ntwo\n"
    assert run_pysocat("-u", "-", f"OPEN:{f},trunc", input=b"x").returncode == 0
    assert f.read_bytes() == b"x"


def test_open_excl_refuses_existing(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"keep")
    r = run_pysocat("-u", "-", f"OPEN:{f},creat,excl", input=b"new")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [f'E open("{f}", 0301, 0666): File exists']
    assert f.read_bytes() == b"keep"


def test_gopen_appends_to_existing_and_creates_missing(tmp_path):
    f = tmp_path / "g"
    assert run_pysocat("-u", "-", str(f), input=b"a").returncode == 0
    assert run_pysocat("-u", "-", f"GOPEN:{f}", input=b"b").returncode == 0
    assert f.read_bytes() == b"ab"


def test_file_read_to_stdout(tmp_path):
    f = tmp_path / "in"
    f.write_bytes(bytes(range(256)) * 100)
    r = run_pysocat("-u", str(f), "-")
    assert r.returncode == 0 and r.stdout == f.read_bytes()


def test_unlink_early_and_close(tmp_path):
    f = tmp_path / "u"
    f.write_bytes(b"old")
    assert run_pysocat("-u", "-", f"OPEN:{f},creat,unlink-early", input=b"new").returncode == 0
    assert f.read_bytes() == b"new"
    assert run_pysocat("-u", "-", f"OPEN:{f},unlink-close", input=b"z").returncode == 0
    assert not f.exists()


def test_unnamed_pipe_echoes():
    r = run_pysocat("-ddd", "-", "PIPE", input=b"echo me")
    assert r.returncode == 0 and r.stdout == b"echo me"
    # socat's I lines: pipe({r,w}) -> 0, and close(w) when the other side is at EOF
    texts = log_texts(r.stderr)
    m = next(re.fullmatch(r"I pipe\(\{(\d+),(\d+)\}\) -> 0", t) for t in texts
             if t.startswith("I pipe("))
    assert texts.index("N writing to and reading from unnamed pipe") == \
        texts.index(m.group(0)) + 1
    assert f"I close({m.group(2)})" in texts[texts.index("N socket 1 (fd 0) is at EOF"):]


def test_named_pipe(tmp_path):
    fifo = tmp_path / "fifo"
    reader = subprocess.Popen(PYSOCAT + ["-u", f"PIPE:{fifo}", "-"], stdout=subprocess.PIPE)
    try:
        for _ in range(200):
            if fifo.exists():
                break
            time.sleep(0.01)
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        w = run_pysocat("-u", "-", f"PIPE:{fifo}", input=b"through fifo")
        assert w.returncode == 0
        out, _ = reader.communicate(timeout=10)
        assert out == b"through fifo"
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()


@pytest.mark.parametrize("prog", ["pysocat", pytest.param("socat", marks=needs_socat)])
@pytest.mark.parametrize("end", ["eof", "signal"])
def test_named_pipe_it_made_goes_at_the_end(tmp_path, prog, end):
    # test.sh 1.8 PIPE_REMOVE: the FIFO PIPE:<name> made is removed when the run
    # ends, also by a signal while open() still waits for a writer; one that
    # existed before stays
    cmd = PYSOCAT if prog == "pysocat" else [SOCAT]
    fifo = tmp_path / "fifo"
    p = subprocess.Popen(cmd + ["-u", f"PIPE:{fifo}", "FILE:/dev/null"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not fifo.exists():
            time.sleep(0.01)
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        if end == "eof":
            with open(fifo, "wb") as f:
                f.write(b"x")
        else:
            time.sleep(0.2)
            p.terminate()
        p.wait(10)
        assert not fifo.exists()
        os.mkfifo(fifo)
        p = subprocess.Popen(cmd + ["-u", f"PIPE:{fifo}", "FILE:/dev/null"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        p.terminate()
        p.wait(10)
        assert fifo.exists()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@needs_root
def test_named_pipe_user_group_before_the_open_blocks(tmp_path):
    # socat's PIPE_USER: a reader waiting in open() for a writer already made
    # the FIFO its user's (chown by path right after mkfifo)
    fifo = tmp_path / "fifo"
    p = subprocess.Popen(PYSOCAT + ["-u", f"PIPE:{fifo},user=65534,group=65534",
                                    "FILE:/dev/null,ignoreeof"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (fifo.exists() and fifo.stat().st_uid):
            time.sleep(0.02)
        st = fifo.stat()
        assert stat.S_ISFIFO(st.st_mode)
        assert (st.st_uid, st.st_gid) == (65534, 65534)
        assert p.poll() is None          # still waiting for a writer
    finally:
        p.kill()
        p.wait(5)


@pytest.mark.parametrize("how", ["", ",pipes", ",pty,raw" if False else ",pty"])
def test_exec_cat_both_ways(how):
    data = b"line one\nline two\n"
    if how == ",pty":
        # a tty echoes and cooks; use a program that reads exactly its input
        r = run_pysocat("-t", "1", "-", "EXEC:head -c 4" + how, input=b"abcd")
        assert r.returncode == 0
        assert b"abcd" in r.stdout
        return
    r = run_pysocat("-", "EXEC:cat" + how, input=data)
    assert r.returncode == 0 and r.stdout == data


def test_exec_quoting_and_system():
    r = run_pysocat("-", "EXEC:'tr a-z A-Z'", input=b"shout")
    assert r.stdout == b"SHOUT"
    r = run_pysocat("-", 'SYSTEM:"echo a,b; cat"', input=b"c\n")
    assert r.stdout == b"a,b\nc\n"


def test_exec_failure_exit_status():
    r = run_pysocat("-", "EXEC:false")
    assert r.returncode == 1
    assert log_texts(r.stderr)[-1].startswith("E waitpid(): child ")
    assert log_texts(r.stderr)[-1].endswith(" exited with status 1")


def test_exec_missing_program():
    r = run_pysocat("-", "EXEC:/nonexistent/prog")
    assert r.returncode == 1
    texts = log_texts(r.stderr)
    assert 'E execvp("/nonexistent/prog", "/nonexistent/prog"): No such file or directory' in texts


def test_system_status_warns_and_fails():
    r = run_pysocat("-d", "-", "SYSTEM:exit 3")
    assert r.returncode == 1
    texts = log_texts(r.stderr)
    assert 'W system("exit 3") returned with status 768' in texts
    assert texts[-1].endswith("exited with status 3")


def test_exec_stderr_option():
    r = run_pysocat("-", "SYSTEM:echo err >&2,stderr")
    assert r.stdout == b"err\n"


@pytest.mark.parametrize("how", ["pipes", "pty,raw,echo=0", "socketpair"])
def test_exec_stderr_keeps_child_log_on_socats_stderr(how):
    """socat test 161 EXECSTDERRLOG: the child's own messages (execvp'ing …)
    do not enter the channel that its stderr joined."""
    how = "" if how == "socketpair" else f",{how}"
    r = run_pysocat("-d", "-d", "-", f"EXEC:cat{how},stderr", input=b"data\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"data\n"
    assert 'N execvp\'ing "cat"' in log_texts(r.stderr)
    r = run_pysocat("-d", "-d", "-", f"EXEC:nonexistent-program-x{how},stderr",
                    input=b"data\n")
    assert r.returncode == 1
    assert b"execvp" not in r.stdout
    texts = log_texts(r.stderr)
    assert ('E execvp("nonexistent-program-x", "nonexistent-program-x"): '
            "No such file or directory") in texts
    assert texts.count("N exit(1)") == 2     # the child's and socat's


def test_exec_fdin_fdout():
    r = run_pysocat("-", "SYSTEM:cat <&3 >&4,fdin=3,fdout=4", input=b"via 3 and 4")
    assert r.returncode == 0 and r.stdout == b"via 3 and 4"


def test_nofork_execs_in_place():
    r = run_pysocat("-", "EXEC:cat,nofork", input=b"nofork")
    assert r.returncode == 0 and r.stdout == b"nofork"


def test_nofork_unidirectional_keeps_the_other_std_fd():
    """socat test 385 EXEC_NOFORK_UNIDIR: with -u the program reads the first
    address (here /dev/null, read-only) and writes to socat's own stdout."""
    r = run_pysocat("-u", "/dev/null", "EXEC:echo out,nofork")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"out\n"
    # -U: the program writes to the first address and reads socat's stdin
    r = run_pysocat("-U", "-", "EXEC:cat,nofork", input=b"from stdin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"from stdin"


def test_write_only_pty_exec_inherits_stdout_and_hangup_is_no_error():
    """socat test 97 SINGLEEXECOUTPTY: cat writes to socat's own stdout; the
    SIGHUP it gets when the pty master closes at the end is not a failure."""
    feeder = subprocess.Popen(["sh", "-c", "sleep 0.3; echo data; sleep 0.3"],
                              stdout=subprocess.PIPE)
    try:
        r = subprocess.run(PYSOCAT + ["-t", "0.2", "-!!exec:cat,pty,raw", "echo"],
                           stdin=feeder.stdout, capture_output=True, timeout=20)
    finally:
        feeder.stdout.close()
        feeder.wait(timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"data\n"
    assert log_texts(r.stderr) == []


def test_dash_option_prefixes_argv0():
    r = run_pysocat("-", "EXEC:\"sh -c 'echo $0'\",dash")
    assert r.stdout == b"-sh\n"


def test_half_close_propagates_and_reply_arrives():
    # the program sees EOF (half-close) and only then answers
    r = run_pysocat("-", "SYSTEM:cat >/dev/null; echo after-eof", input=b"data")
    assert r.returncode == 0 and r.stdout == b"after-eof\n"


def test_closing_timeout_cuts_slow_other_side():
    t0 = time.monotonic()
    r = run_pysocat("-t", "0.3", "-", "EXEC:sleep 5")
    assert time.monotonic() - t0 < 4
    assert r.returncode == 0 and r.stdout == b""


def test_closing_timeout_long_enough_keeps_data():
    r = run_pysocat("-t", "3", "-", "SYSTEM:sleep 0.3; echo late")
    assert r.stdout == b"late\n"


def test_inactivity_timeout():
    t0 = time.monotonic()
    p = subprocess.Popen(PYSOCAT + ["-dd", "-T", "0.3", "-", "EXEC:sleep 5"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=10)
    assert time.monotonic() - t0 < 4
    assert p.returncode == 0
    assert "N inactivity timeout triggered" in log_texts(err)


def test_unidirectional_modes(tmp_path):
    f = tmp_path / "src"
    f.write_bytes(b"left to right")
    r = run_pysocat("-u", str(f), "-")
    assert r.stdout == b"left to right"
    r = run_pysocat("-U", "-", str(f))
    assert r.stdout == b"left to right"


def test_dual_address(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"from file")
    r = run_pysocat("-", f"OPEN:{src}!!CREATE:{dst}", input=b"to file")
    assert r.returncode == 0
    assert r.stdout == b"from file"
    assert dst.read_bytes() == b"to file"


def test_readbytes_limits():
    r = run_pysocat("-u", "-,readbytes=4", "-", input=b"123456789")
    assert r.stdout == b"1234"


def test_crnl_conversion():
    r = run_pysocat("-u", "-", "-,crnl", input=b"a\nb\n")
    assert r.stdout == b"a\r\nb\r\n"
    r = run_pysocat("-u", "-,crnl", "-", input=b"a\r\nb\r\n")
    assert r.stdout == b"a\nb\n"
    r = run_pysocat("-u", "-", "-,cr", input=b"a\nb\n")
    assert r.stdout == b"a\rb\r"


def test_ignoreeof_follows_growing_file(tmp_path):
    f = tmp_path / "log"
    f.write_bytes(b"first\n")
    p = subprocess.Popen(PYSOCAT + ["-u", f"OPEN:{f},ignoreeof", "-"], stdout=subprocess.PIPE)
    try:
        time.sleep(0.3)
        with open(f, "ab") as fh:
            fh.write(b"second\n")
        time.sleep(1.5)
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=10)
    assert out == b"first\nsecond\n"
    assert p.returncode == 143


def test_sigterm_exit_code_and_message():
    p = subprocess.Popen(PYSOCAT + ["-d", "-", "EXEC:sleep 5"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    p.terminate()
    _, err = p.communicate(timeout=10)
    assert p.returncode == 143
    assert "W exiting on signal 15" in log_texts(err)


def test_sniff_files(tmp_path):
    left, right = tmp_path / "l", tmp_path / "r"
    r = run_pysocat("-r", str(left), "-R", str(right), "-", "EXEC:tr a-z A-Z", input=b"abc")
    assert r.stdout == b"ABC"
    assert left.read_bytes() == b"abc" and right.read_bytes() == b"ABC"


def _dump_body(stderr: bytes) -> list[str]:
    return [l for l in stderr.decode().splitlines() if not l.startswith(("> ", "< "))]


@needs_socat
@pytest.mark.parametrize("flags", [["-v"], ["-x"], ["-v", "-x"]])
def test_dumps_match_socat(flags):
    data = b"ab\x01c\ndef\\\t\r" + bytes(range(20, 40))
    a = run_pysocat(*flags, "-u", "-", "/dev/null", input=data)
    b = run_socat(*flags, "-u", "-", "/dev/null", input=data)
    assert _dump_body(a.stderr) == _dump_body(b.stderr)
    hdr = [l for l in a.stderr.decode().splitlines() if l.startswith("> ")]
    assert len(hdr) == 1 and hdr[0].endswith(f"length={len(data)} from=0 to={len(data) - 1}")


@needs_socat
@pytest.mark.parametrize("args", [
    ["-ddd", "-u", "-", "/dev/null"],
    ["-ddd", "-", "EXEC:cat"],
    ["-dd", "-", "PIPE"],
])
def test_notice_lines_match_socat(args):
    """Same N/W/E lines in the same order as socat (I/D lines of syscalls aside)."""
    def keep(texts):
        return [re.sub(r"(FDs \[|,|\(fd |and \[)\d+", r"\1#", t) for t in texts
                if t[0] in "NWE" and "forked off child" not in t and "childdied" not in t
                and "execvp'ing" not in t]
    a = keep(log_texts(run_pysocat(*args, input=b"x\n").stderr))
    b = keep(log_texts(run_socat(*args, input=b"x\n").stderr))
    assert a == b


def test_file_o_creat_o_trunc_o_append_aliases(tmp_path):
    # socat's test.sh writes its outputs with FILE:...,o-trunc,o-creat,o-append
    path = tmp_path / "out"
    r = run_pysocat("-u", "-", f"FILE:{path},o-trunc,o-creat,o-append", input=b"one\n")
    assert r.returncode == 0, r.stderr
    r = run_pysocat("-u", "-", f"FILE:{path},o_create,o-append,ndelay", input=b"two\n")
    assert r.returncode == 0, r.stderr
    assert path.read_bytes() == b"one\ntwo\n"
