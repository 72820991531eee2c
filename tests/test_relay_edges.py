"""Edges of the transfer loop that socat's test.sh checks (-b limits, …)."""
import pytest

from conftest import log_texts, needs_socat, run_pysocat, run_socat


def test_blocksize_overflow_refused_after_open():
    """socat test 393 BLKSIZE_INT_OVERFL: 2*b+1 would overflow size_t."""
    r = run_pysocat("-dd", "-T", "1", "-b", "9223372036854775808", "/dev/null", "PIPE")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [
        'N opening character device "/dev/null" for reading and writing',
        "N writing to and reading from unnamed pipe",
        "E buffer size option (-b) to big - 9223372036854775808 (max is 9223372036854775807)",
        "N exit(1)"]


def test_blocksize_beyond_memory_fails_like_posix_memalign():
    r = run_pysocat("-T", "1", "-b", "4611686018427387903", "/dev/null", "PIPE")
    assert r.returncode == 1
    assert log_texts(r.stderr) == ["E posix_memalign(): Cannot allocate memory"]


def test_blocksize_sloppy_clamps_then_fails_allocation():
    """-s: both errors are logged; socat's _socat() then returns -1 (exit 255)."""
    r = run_pysocat("-dd", "-s", "-T", "1", "-b", "18446744073709551615", "/dev/null", "PIPE")
    assert r.returncode == 255
    assert log_texts(r.stderr)[2:] == [
        "E buffer size option (-b) to big - 18446744073709551615 (max is 9223372036854775807)",
        "E posix_memalign(): Cannot allocate memory",
        "N exiting with status -1"]


@needs_socat
def test_blocksize_sloppy_matches_socat():
    args = ("-dd", "-s", "-T", "1", "-b", "9223372036854775808", "/dev/null", "PIPE")
    mine, theirs = run_pysocat(*args), run_socat(*args)
    assert mine.returncode == theirs.returncode == 255
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


@pytest.mark.parametrize("args", [["-u"], []])
def test_large_blocksize_still_relays(args):
    r = run_pysocat(*args, "-b", "100000000", "-", "-", input=b"big buffer\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"big buffer\n"


@needs_socat
@pytest.mark.parametrize("b", ["9223372036854775808", "4611686018427387904"])
def test_blocksize_errors_match_socat(b):
    args = ("-dd", "-T", "1", "-b", b, "/dev/null", "PIPE")
    mine, theirs = run_pysocat(*args), run_socat(*args)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


def test_incomplete_writes_to_nonblocking_fifo_arrive_whole(tmp_path):
    """socat test 317 INCOMPLETE_WRITE: one 100000 byte block into a
    non-blocking named pipe (more than the pipe holds) arrives complete."""
    import os
    import subprocess
    import time
    from conftest import PYSOCAT
    fifo = tmp_path / "p"
    reader = subprocess.Popen(PYSOCAT + ["-u", f"PIPE:{fifo}", "STDOUT"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(fifo) and time.monotonic() < deadline:
            time.sleep(0.02)
        w = run_pysocat("-u", "-b", "100000", "OPEN:/dev/zero,readbytes=100000",
                        f"FILE:{fifo},o-nonblock")
        out, err = reader.communicate(timeout=20)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert w.returncode == 0, w.stderr
    assert reader.returncode == 0, err
    assert out == b"\0" * 100000


def _dead_reader_fifo(tmp_path):
    """A FIFO whose reader takes one byte and goes away (socat tests 203/204)."""
    import os
    import subprocess
    import time
    from conftest import PYSOCAT
    fifo = tmp_path / "p"
    reader = subprocess.Popen(PYSOCAT + ["-u", f"PIPE:{fifo},readbytes=1", "/dev/null"],
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(fifo) and time.monotonic() < deadline:
        time.sleep(0.02)
    return fifo, reader


def _feed_dot_then_newline():
    import subprocess
    return subprocess.Popen(["sh", "-c", "echo .; sleep 0.5; echo"], stdout=subprocess.PIPE)


def _run_writer(args, fifo, stdout=None, reader=None, prog=None):
    """Write "." into the FIFO; once the reader (which takes one byte) is gone, "\n"."""
    import subprocess
    from conftest import PYSOCAT
    if reader is None:
        feeder = _feed_dot_then_newline()
        try:
            return subprocess.run(PYSOCAT + args, stdin=feeder.stdout, stdout=stdout,
                                  stderr=subprocess.PIPE, timeout=20)
        finally:
            feeder.stdout.close()
            feeder.wait(timeout=10)
    p = subprocess.Popen((prog or PYSOCAT) + args, stdin=subprocess.PIPE, stdout=stdout,
                         stderr=subprocess.PIPE)
    p.stdin.write(b".")
    p.stdin.flush()
    reader.wait(timeout=10)          # the reader took its byte and closed the FIFO
    try:
        p.stdin.write(b"\n")
        p.stdin.flush()
    except BrokenPipeError:
        pass
    out, err = p.communicate(timeout=20)       # closes stdin: EOF after the newline
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _finish(reader):
    reader.communicate(timeout=10)
    assert reader.returncode == 0


@pytest.mark.parametrize("name", ["cool-write", "coolwrite"])
def test_cool_write_makes_epipe_a_notice_unidirectional(tmp_path, name):
    """socat test 203 COOLWRITE: -u, the write into the FIFO fails EPIPE."""
    fifo, reader = _dead_reader_fifo(tmp_path)
    try:
        r = _run_writer(["-d", "-d", "-u", "-", f"file:{fifo},{name}"], fifo, reader=reader)
    finally:
        _finish(reader)
    assert r.returncode == 0, r.stderr
    texts = log_texts(r.stderr)
    assert not [t for t in texts if t.startswith("E ")]
    notice = [t for t in texts if t.startswith("N write(")]
    assert len(notice) == 1
    assert notice[0].startswith("N write(3, 0x") and notice[0].endswith(", 1): Broken pipe")
    assert texts[-2:] == ["N socket 1 to socket 2 is in error", "N exiting with status 0"]


def test_without_cool_write_epipe_is_an_error(tmp_path):
    fifo, reader = _dead_reader_fifo(tmp_path)
    try:
        r = _run_writer(["-u", "-", f"file:{fifo}"], fifo, reader=reader)
    finally:
        _finish(reader)
    assert r.returncode == 1
    assert log_texts(r.stderr) == ["E write(3, 1): Broken pipe"]


def test_cool_write_on_bidirectional_stdio(tmp_path):
    """socat test 204 COOLSTDIO: -,cool-write PIPE with stdout the FIFO."""
    fifo, reader = _dead_reader_fifo(tmp_path)
    try:
        with open(fifo, "wb") as out:
            r = _run_writer(["-d", "-d", "-,cool-write", "pipe"], fifo, stdout=out,
                            reader=reader)
    finally:
        _finish(reader)
    assert r.returncode == 0, r.stderr
    texts = log_texts(r.stderr)
    assert not [t for t in texts if t.startswith("E ")]
    assert "N socket 2 to socket 1 is in error" in texts
    assert [t for t in texts if t.startswith("N write(1, 0x")] != []
    assert texts[-1] == "N exiting with status 0"


@needs_socat
def test_cool_write_texts_match_socat(tmp_path):
    import re
    results = []
    for prog in (None, "socat"):
        fifo, reader = _dead_reader_fifo(tmp_path)
        try:
            args = ["-d", "-d", "-u", "-", f"file:{fifo},cool-write"]
            from conftest import SOCAT
            r = _run_writer(args, fifo, reader=reader, prog=[SOCAT] if prog else None)
        finally:
            _finish(reader)
        texts = [re.sub(r"\(\d+, 0x[0-9a-f]+,", "(FD, PTR,", t) for t in log_texts(r.stderr)]
        texts = [re.sub(r"\[\d+,\d+\] and \[\d+,\d+\]", "FDS", t) for t in texts]
        results.append((r.returncode, texts))
        fifo.unlink(missing_ok=True)    # the reader that made it removes it at its end
    assert results[0] == results[1]


def _reset_after_first(args):
    """pysocat -u - TCP:... whose peer resets the connection after one line."""
    import socket
    import struct
    import subprocess
    from conftest import PYSOCAT
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    port = srv.getsockname()[1]
    feeder = subprocess.Popen(["sh", "-c", "echo a; sleep 0.4; echo b; sleep 0.3; echo c"],
                              stdout=subprocess.PIPE)
    p = subprocess.Popen(PYSOCAT + ["-d", "-d", "-u", "-", f"TCP:127.0.0.1:{port}{args}"],
                         stdin=feeder.stdout, stderr=subprocess.PIPE)
    try:
        c, _ = srv.accept()
        c.recv(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()                          # RST
        err = p.communicate(timeout=20)[1]
    finally:
        srv.close()
        feeder.stdout.close()
        feeder.wait(timeout=10)
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, log_texts(err)


def test_cool_write_connection_reset_is_a_notice():
    rc, texts = _reset_after_first(",cool-write")
    assert rc == 0, texts
    notice = [t for t in texts if t.startswith("N write(")]
    assert len(notice) == 1 and notice[0].endswith(", 2): Connection reset by peer")
    assert texts[-2:] == ["N socket 1 to socket 2 is in error", "N exiting with status 0"]


def test_connection_reset_on_write_is_socats_error():
    rc, texts = _reset_after_first("")
    assert rc == 1
    assert [t for t in texts if t.startswith("E ")] == ["E write(3, 2): Connection reset by peer"]
