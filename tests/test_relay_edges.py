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
    r = run_pysocat("-s", "-T", "1", "-b", "18446744073709551615", "/dev/null", "PIPE")
    assert r.returncode != 0
    assert log_texts(r.stderr) == [
        "E buffer size option (-b) to big - 18446744073709551615 (max is 9223372036854775807)",
        "E posix_memalign(): Cannot allocate memory"]


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
