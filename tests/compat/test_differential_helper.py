"""The differential helper itself: normalisation, and classic-vs-classic determinism."""

from compat_fixtures import classic  # noqa: F401  (fixture)
from differential import Binary, Peer, Scenario, diff_outcomes, normalise_log, run


def test_normalise_timestamp_program_pid():
    a = normalise_log('2026/12/01 21:31:06 socat[9032] E unknown device/address "FOO"')
    b = normalise_log('2027/01/02 03:04:05.123456 pysocat[17] E unknown device/address "FOO"')
    assert a == b == ['socat[PID] E unknown device/address "FOO"']


def test_normalise_fds_pids_ports():
    text = ("2026/12/01 21:31:06 socat[1] N starting data transfer loop with FDs [0,1] and [5,5]\n"
            "2026/12/01 21:31:06 socat[1] N socket 1 (fd 7) is at EOF\n"
            "2026/12/01 21:31:06 socat[1] N forked off child process 4242\n"
            "2026/12/01 21:31:06 socat[1] N accepting connection from AF=2 127.0.0.1:45678 on "
            "AF=2 127.0.0.1:12345\n")
    assert normalise_log(text, {"12345": "{port}"}) == [
        "socat[PID] N starting data transfer loop with FDs [FD,FD] and [FD,FD]",
        "socat[PID] N socket 1 (fd FD) is at EOF",
        "socat[PID] N forked off child process PID",
        "socat[PID] N accepting connection from AF=2 127.0.0.1:EPHEMERAL on AF=2 127.0.0.1:{port}",
    ]


def test_port_substitution_is_whole_number():
    assert normalise_log("x 123456 12345", {"12345": "{port}"}) == ["x 123456 {port}"]


def test_classic_against_itself(classic):
    for sc in (Scenario(["-", "-"], stdin=b"hi\n"), Scenario(["FOO", "-"])):
        a, b = run(classic, sc), run(classic, sc)
        assert not diff_outcomes(sc, a, b)
    assert a.rc == 1 and a.log == ['socat[PID] E unknown device/address "FOO"']


def test_peer_receives_bytes(classic):
    sc = Scenario(["-", "TCP4:127.0.0.1:{port}"], flags=["-u"], stdin=b"payload\n",
                  peers=[Peer(["{classic}", "-u", "TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr", "-"],
                              ready="tcp-listen:{port}")])
    out = run(classic, sc, classic)
    assert out.rc == 0 and out.peer_stdout == [b"payload\n"] and out.peer_rc == [0]


def test_detects_a_difference(classic):
    other = Binary("other", ("/bin/sh", "-c", 'echo "$0 $*" >&2; exit 3'))
    sc = Scenario(["FOO", "-"])
    d = diff_outcomes(sc, run(classic, sc), run(other, sc))
    assert any(x.startswith("exit code") for x in d) and any(x.startswith("log lines") for x in d)


def test_normalise_dump_header():
    assert normalise_log("> 2026/12/01 21:46:41.000872079  length=3 from=0 to=2") == \
        ["> TIME  length=3 from=0 to=2"]


def test_files_are_compared(classic):
    sc = Scenario(["-", "CREATE:{tmp}/out"], flags=["-u"], stdin=b"abc", files=["{tmp}/out", "{tmp}/none"])
    out = run(classic, sc)
    assert out.files == {"{tmp}/out": b"abc", "{tmp}/none": None}
    other = run(classic, Scenario(["-", "CREATE:{tmp}/out"], flags=["-u"], stdin=b"abd"))
    other.files = {"{tmp}/out": b"abd", "{tmp}/none": None}
    assert diff_outcomes(sc, out, other) == ["file {tmp}/out: classic b'abc', classic b'abd'"]
