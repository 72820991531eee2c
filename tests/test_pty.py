"""PTY and the TERMIOS options drive real pseudo terminals and check the bytes."""
import os
import re
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import PYSOCAT, SOCAT, log_texts, needs_socat, run_pysocat, run_socat


def _start(cmd, *args):
    return subprocess.Popen(cmd + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_link(link, proc, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.islink(link):
            return os.readlink(link)
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"no link {link}: {proc.communicate(timeout=5)}")


def _wait_loop(proc, timeout=5.0):
    """Read stderr until the relay loop started (all options applied)."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while b"starting data transfer loop" not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        seen += chunk
    return seen


def _read_for(fd, want, timeout=10.0, quiet=1.0):
    """Read from fd until ``want`` bytes arrived, ``quiet`` s pass without data, or
    time is up (a loaded machine can pause the relay for a few hundred ms)."""
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        wait = max(0.0, deadline - time.monotonic())
        r, _, _ = select.select([fd], [], [], min(wait, quiet) if out else wait)
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=5)


def _echo_through_pty(cmd, tmp_path, opts, data, want):
    """``cmd PTY,link=…,<opts> PIPE``: write data to the slave, read what comes back."""
    link = str(tmp_path / "tty")
    proc = _start(cmd, "-d", "-d", f"PTY,link={link}{opts}", "PIPE")
    try:
        slave_name = _wait_link(link, proc)
        early = _wait_loop(proc)
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
            os.write(fd, data)
            got = _read_for(fd, want)
        finally:
            os.close(fd)
    finally:
        out, err = _stop(proc)
    return slave_name, attrs, got, early + err


def test_pty_link_raw_echo_off_moves_bytes_unchanged(tmp_path):
    data = bytes(range(1, 256)) + b"\n\r\x03\x04"
    name, attrs, got, err = _echo_through_pty(PYSOCAT, tmp_path, ",raw,echo=0", data, len(data))
    assert got == data
    assert name.startswith("/dev/pts/")
    assert not attrs[3] & (termios.ECHO | termios.ICANON | termios.ISIG)
    assert not attrs[1] & termios.OPOST
    assert f"N PTY is {name}" in log_texts(err)
    assert not os.path.lexists(tmp_path / "tty")      # unlink-close is the default


def test_pty_cooked_mode_echoes_and_translates(tmp_path):
    # the slave's output goes through ONLCR (\n -> \r\n) to the master, the
    # PIPE sends it back as the slave's input, where ICRNL turns \r into \n
    _, attrs, got, _ = _echo_through_pty(PYSOCAT, tmp_path, "", b"ab\n", 4)
    assert attrs[3] & termios.ICANON and attrs[3] & termios.ECHO
    assert got.startswith(b"ab\n\n")


@needs_socat
@pytest.mark.parametrize("opts,data", [
    ("", b"hello\n"),
    (",raw,echo=0", b"x\ny\r\n\x7f"),
    (",echo=0,icanon=0,onlcr=0", b"l1\nl2\n"),
    (",rawer", b"\x00\x01\r\n"),
])
def test_pty_bytes_like_socat(tmp_path, opts, data):
    want = 2 * len(data) + 4
    (tmp_path / "p").mkdir()
    (tmp_path / "s").mkdir()
    ours = _echo_through_pty(PYSOCAT, tmp_path / "p", opts, data, want)
    theirs = _echo_through_pty([SOCAT], tmp_path / "s", opts, data, want)
    assert ours[2] == theirs[2]
    assert ours[1][:4] == theirs[1][:4] and ours[1][6] == theirs[1][6]


def test_pty_speed_size_and_chars(tmp_path):
    _, attrs, _, _ = _echo_through_pty(PYSOCAT, tmp_path, ",b19200,vintr=1,vmin=3,cstopb",
                                       b"", 0)
    assert attrs[4] == attrs[5] == termios.B19200
    assert attrs[2] & termios.CSTOPB
    assert attrs[6][termios.VINTR] == b"\x01"


def test_pty_unlink_close_0_keeps_link(tmp_path):
    link = tmp_path / "keep"
    proc = _start(PYSOCAT, f"PTY,link={link},unlink-close=0", "PIPE")
    try:
        _wait_link(str(link), proc)
    finally:
        _stop(proc)
    assert os.path.islink(link)


def test_pty_perm_acts_on_slave_not_ptmx(tmp_path):
    ptmx_mode = os.stat("/dev/ptmx").st_mode
    link = str(tmp_path / "m")
    proc = _start(PYSOCAT, f"PTY,link={link},perm=0600", "PIPE")
    try:
        _wait_link(link, proc)
        assert os.stat(link).st_mode & 0o777 == 0o600
    finally:
        _stop(proc)
    assert os.stat("/dev/ptmx").st_mode == ptmx_mode


def test_ptmx_slave_close_is_eof(tmp_path):
    """With ptmx nothing else holds the slave: its last close reads as EOF."""
    link = str(tmp_path / "x")
    proc = _start(PYSOCAT, "-d", "-d", "-u", f"PTY,link={link},ptmx,raw,echo=0", "-")
    try:
        _wait_link(link, proc)
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        os.write(fd, b"data")
        time.sleep(0.2)
        os.close(fd)
        out, err = proc.communicate(timeout=5)
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert out == b"data"
    texts = log_texts(err)
    assert any(re.fullmatch(r"N read\(\d+, 0x[0-9a-f]+, \d+\): Input/output error "
                            r"\(probably PTY closed\)", t) for t in texts), texts


def test_wait_slave_waits_for_a_client(tmp_path):
    link = str(tmp_path / "w")
    proc = _start(PYSOCAT, "-d", "-d", "-u", f"PTY,link={link},wait-slave,pty-interval=0.05", "-")
    try:
        _wait_link(link, proc)
        time.sleep(0.3)
        assert proc.poll() is None
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        os.write(fd, b"late\n")
        time.sleep(0.3)
    finally:
        out, err = _stop(proc)
        try:
            os.close(fd)
        except (OSError, UnboundLocalError):
            pass
    assert out.replace(b"\r", b"") == b"late\n"


def test_termios_on_non_tty_is_socats_error():
    r = run_pysocat("-u", "/dev/null", "/dev/null,raw")
    assert r.returncode == 1
    texts = log_texts(r.stderr)
    assert len(texts) == 1
    assert re.fullmatch(r"E tcgetattr\(\d+, 0x[0-9a-f]+\): Inappropriate ioctl for device",
                        texts[0])


@needs_socat
@pytest.mark.parametrize("opt", ["crdly=9", "csize=4", "vmin=300", "cs9", "ispeed=9600"])
def test_termios_value_errors_like_socat(opt, tmp_path):
    """Errors that do not depend on a real terminal: the same texts as socat."""
    def run(cmd):
        link = str(tmp_path / f"{cmd[0][-6:]}{opt}")
        r = subprocess.run(cmd + ["-u", f"PTY,link={link},{opt}", "/dev/null"],
                           capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        return r.returncode, [re.sub(r"0x[0-9a-f]+", "P", t) for t in log_texts(r.stderr)
                              if t.startswith("E")]
    assert run(PYSOCAT) == run([SOCAT])


def test_termios_not_on_a_pipe():
    r = run_pysocat("-", "PIPE,raw")
    assert r.returncode == 1
    assert log_texts(r.stderr) == ['E parseopts_table(): option "raw" not supported '
                                   'with this address type']


def _stdio_on_pty(opts, signum=None):
    """pysocat with stdin/stdout on a pty slave; returns (before, during, after)."""
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen(PYSOCAT + [f"-{opts}", "PIPE"], stdin=slave, stdout=slave,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 5
            during = before
            while time.monotonic() < deadline:
                during = termios.tcgetattr(slave)
                if during != before:
                    break
                time.sleep(0.02)
            os.write(master, b"q")
            echoed = _read_for(master, 1, 2.0)
            if signum:
                proc.send_signal(signum)
            else:
                os.write(master, b"\x04")  # VEOF only matters when icanon is on
            proc.communicate(timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        after = termios.tcgetattr(slave)
    finally:
        os.close(master)
        os.close(slave)
    return before, during, after, echoed, proc.returncode


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stdio_terminal_restored_on_signal_exit(signum):
    before, during, after, echoed, rc = _stdio_on_pty(",raw,echo=0", signum)
    assert not during[3] & termios.ECHO and not during[3] & termios.ICANON
    assert echoed == b"q"           # echo off: only the PIPE's copy comes back
    assert after == before
    assert rc == 128 + signum


def test_fd_address_gets_termios_options():
    master, slave = os.openpty()
    try:
        r = subprocess.run(PYSOCAT + ["-u", "/dev/null", f"FD:{slave},b2400,echo=0"],
                           pass_fds=(slave,), capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        # FD restores the original settings at close, like socat
        assert termios.tcgetattr(slave)[4] != termios.B2400
    finally:
        os.close(master)
        os.close(slave)


@needs_socat
@pytest.mark.parametrize("opts", [",pty,raw,echo=0", ",pty,b9600,sane,echo=0,onlcr=0",
                                  ",pty,rawer", ",pty,ptmx,vtime=5,vmin=0"])
def test_exec_pty_termios_like_socat(opts):
    ours = run_pysocat("-u", f"EXEC:stty -a -F /dev/stdout{opts}", "-")
    theirs = run_socat("-u", f"EXEC:stty -a -F /dev/stdout{opts}", "-")
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == theirs.stdout


def test_wait_slave_negative_interval_is_no_crash(tmp_path):
    link = str(tmp_path / "n")
    proc = _start(PYSOCAT, "-u", f"PTY,link={link},wait-slave,pty-interval=-1", "-")
    try:
        _wait_link(link, proc)
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        os.write(fd, b"ok\n")
        time.sleep(0.3)
        os.close(fd)
    finally:
        out, err = _stop(proc)
    assert b"Traceback" not in err
    assert out.replace(b"\r", b"") == b"ok\n"


def test_exec_pty_terminal_options_hold_before_the_first_byte():
    """echo=0/raw are set on the child's pty before the relay can write to it:
    a line written at once is neither echoed by the terminal nor lost (socat's
    test.sh EXECPTY; the child applied them too late now and then)."""
    for i in range(8):
        line = f"line {i} of a pty echo test\n".encode()
        r = run_pysocat("-t", "0.3", "-", "EXEC:cat,pty,echo=0,opost=0,cfmakeraw", input=line)
        assert (r.returncode, r.stdout) == (0, line), (i, r.stderr)
