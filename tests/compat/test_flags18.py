"""socat 1.8's command line flags against classic 1.8.1.3 and 1.7.4.4 (issue 14).

-0, -S, --statistics (and SIGUSR1), --experimental, -T 0 / negative, -r/-R names
with variables opened after the addresses, the -L/-W lock file, the signal
messages, socat_opt_hint. Each flag new in 1.8 is unknown under 1.7.4.4, with
1.7.4.4's exact error.
"""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat,
                      needs_socat18)
from sockhelp import connect_when_listening

pytestmark = [needs_socat, needs_socat18]

# (classic binary, pysocat environment) per profile
PROFILES = {"1.8": (lambda: SOCAT18, ENV18), "1.7": (lambda: SOCAT, ENV17)}


def both(profile, *args, input=b"", timeout=20, env=None, cwd=None):
    """The same command through the classic and pysocat of one profile."""
    binary, penv = PROFILES[profile]
    out = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
        out.append(subprocess.run(cmd + list(args), input=input, capture_output=True,
                                  timeout=timeout, env={**e, **(env or {})}, cwd=cwd))
    return out


def texts(r):
    """Log texts with descriptor numbers out (socat's differ from ours)."""
    return [re.sub(r"FDs \[\d+,\d+\] and \[\d+,\d+\]", "FDs [..]", t)
            for t in log_texts(r.stderr)]


def same(pair, stdout=True):
    c, p = pair
    assert (p.returncode, texts(p)) == (c.returncode, texts(c))
    if stdout:
        assert p.stdout == c.stdout
    return c


class _Logged:
    """A process with its log in a file: ``seen(want)`` waits (10 s at most) until
    the log holds ``want``; on leaving, a process still running is killed;
    ``texts()`` gives its log texts."""

    def __init__(self, cmd, env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kw):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=stdout, stderr=self.err,
                                  **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.err.close()

    def seen(self, want: bytes, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if want in self.log():
                return True
            time.sleep(0.02)
        return False

    def log(self) -> bytes:
        self.err.seek(0)
        return self.err.read()

    def texts(self):
        return texts(subprocess.CompletedProcess([], 0, b"", self.log()))


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["-0", "/dev/null", "/dev/null"], ["-S", "0", "/dev/null", "/dev/null"],
    ["-S0", "/dev/null", "/dev/null"], ["--statistics", "/dev/null", "/dev/null"],
    ["--experimental", "/dev/null", "/dev/null"], ["-0x", "-", "-"], ["--foo", "-", "-"],
])
def test_new_flags_unknown_under_17(args):
    c = same(both("1.7", *args))
    assert c.returncode == 1 and "unknown option" in c.stderr.decode()


@pytest.mark.parametrize("args", [
    ["-S"], ["-Sx", "-", "-"], ["-S", "12x", "-", "-"], ["--foo", "-", "-"], ["--", "-", "-"],
    ["-T"], ["-Tx", "-", "-"],
])
def test_parse_errors_18(args):
    assert same(both("1.8", *args)).returncode == 1


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("flag", ["-vx", "-Dx", "-ux", "-Ux", "-gx", "-sx", "-4x", "-6x", "-xv"])
def test_merged_single_letter_flags_get_the_hint(profile, flag):
    c = same(both(profile, flag, "-", "-"))
    assert c.returncode == 1 and c.stderr.startswith(b"Do not merge single character")


def test_zero_flag_hint_18():
    c = same(both("1.8", "-0x", "-", "-"))
    assert c.stderr == b'Do not merge single character options, i.e. use "-0 -x" instead of "-0x"\n'


def ip_lines(r):
    return [t for t in texts(r) if " IP version is " in t]


@pytest.mark.parametrize("flags", [[], ["-0"], ["-6"], ["--experimental"], ["-S", "0x4000"]])
def test_accepted_flags_run_18(flags):
    """The flags parse, and the I lines of the IP versions are socat's."""
    same(both("1.8", "-dd", *flags, "-u", "-", "/dev/null", input=b"x\n"))
    c, p = both("1.8", "-ddd", *flags, "-u", "-", "/dev/null", input=b"x\n")
    assert ip_lines(p) == ip_lines(c) and len(ip_lines(c)) == 2


@pytest.mark.parametrize("env", [{"SOCAT_DEFAULT_LISTEN_IP": "x"},
                                 {"SOCAT_PREFERRED_RESOLVE_IP": "6"},
                                 {"SOCAT_DEFAULT_LISTEN_IP": "6"}])
def test_ip_version_lines_from_environment_18(env):
    c, p = both("1.8", "-ddd", "-u", "-", "/dev/null", input=b"x\n", env=env)
    assert ip_lines(p) == ip_lines(c) and len(ip_lines(c)) == 2
    c, p = both("1.7", "-ddd", "-u", "-", "/dev/null", input=b"x\n", env=env)
    assert ip_lines(p) == ip_lines(c) == []


def test_zero_flag_listens_on_both_versions():
    """-0: a listener without bind takes IPv6 first ([::] accepts IPv4 too)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen(cmd + ["-0", "-dd", f"TCP-LISTEN:{port}", "-"], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                        c.sendall(b"four\n")
                        break
                except OSError:
                    time.sleep(0.05)
            out, err = p.communicate(timeout=10)
        finally:
            p.kill()
            p.wait()
        assert out == b"four\n"
        assert texts(subprocess.CompletedProcess([], 0, b"", err))[0] == \
            f"N listening on AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:{port}"


# ---------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------

def _signalled(cmd, env, sig, flags=(), wait_for=b"starting data transfer loop"):
    """Run cmd (PIPE echo), send sig once the loop runs; (rc, log texts)."""
    with _Logged(cmd + ["-dd", *flags, "PIPE", "PIPE"], env, start_new_session=True,
                 # a background job may inherit SIGINT ignored
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) as run:
        run.seen(wait_for)
        run.p.send_signal(sig)
        return run.p.wait(timeout=10), run.texts()


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,
                                 signal.SIGABRT, signal.SIGTERM])
def test_signal_messages(profile, sig):
    binary, env = PROFILES[profile]
    classic = _signalled([binary()], os.environ, sig)
    ours = _signalled(PYSOCAT, env, sig)
    assert ours == classic
    assert classic[0] == 128 + sig


@pytest.mark.parametrize("mask,sig", [("0x1000", signal.SIGUSR2), ("0", signal.SIGTERM),
                                      ("0x8000", signal.SIGTERM), ("1", signal.SIGUSR2),
                                      ("0x4", signal.SIGINT), ("0x8000", signal.SIGINT)])
def test_signal_mask_18(mask, sig):
    """-S: the signals of the mask are logged (any other one than HUP INT QUIT
    PIPE TERM as an E that ends at once); the others keep their default action."""
    classic = _signalled([SOCAT18], os.environ, sig, ("-S", mask))
    ours = _signalled(PYSOCAT, ENV18, sig, ("-S", mask))
    assert ours == classic


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_sigusr1(profile):
    """1.8: SIGUSR1 logs the statistics and the run goes on; 1.7: it ends the run."""
    binary, env = PROFILES[profile]
    results = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, env)):
        with _Logged(cmd + ["-dd", "-u", "-", "STDOUT"], e, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE) as run:
            run.p.stdin.write(b"hello\n")
            run.p.stdin.flush()
            assert run.p.stdout.readline() == b"hello\n"
            time.sleep(0.3)     # the count follows the write
            run.p.send_signal(signal.SIGUSR1)
            run.seen(b"finishing signal")
            try:
                run.p.stdin.close()
            except BrokenPipeError:
                pass
            results.append((run.p.wait(timeout=10), run.texts()))
    assert results[1] == results[0]
    if profile == "1.8":
        assert "I STATISTICS: left to right: 1 packets(s), 6 byte(s)" in results[0][1]
    else:
        assert results[0][0] == -signal.SIGUSR1


def test_usr1_before_the_transfer_18():
    """A listener still waiting has no statistics yet: a W, and it goes on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = []
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        with _Logged(cmd + ["-dd", f"TCP4-LISTEN:{port},reuseaddr", "PIPE"], env) as run:
            for want, sig in ((b"listening on", signal.SIGUSR1),
                              (b"finishing signal 10", signal.SIGTERM)):
                run.seen(want)
                run.p.send_signal(sig)
            got.append((run.p.wait(timeout=10), run.texts()))
    assert got[1] == got[0]
    assert "W transfer engine not yet started, statistics not available" in got[0][1]


# ---------------------------------------------------------------------------
# --statistics
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,data", [
    (["-", "/dev/null"], b"hello\n"),
    (["-u", "-", "/dev/null"], b"hello\n"),
    (["-U", "/dev/null", "-"], b"hello\n"),
    (["-u", "{big}", "/dev/null"], b""),
    (["{big}", "/dev/null"], b""),
    (["-dd", "/nonexistent/x", "-"], b""),
])
def test_statistics_18(args, data, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"z" * 100000)      # a file: every read is a full 8192 bytes
    args = [a.replace("{big}", str(big)) for a in args]
    same(both("1.8", "--statistics", *args, input=data))


def test_statistics_after_exit_notice_and_before_lock_release_18(tmp_path):
    lock = str(tmp_path / "lock")
    c, p = both("1.8", "-ddd", "--statistics", "-L", lock, "-u", "-", "/dev/null",
                input=b"abc")
    t = texts(c)
    assert texts(p)[-5:] == t[-5:]
    i = t.index("N exiting with status 0")
    assert t[i + 1] == "W statistics are experimental"
    assert t[-1] == f'I released lock "{lock}"'


# ---------------------------------------------------------------------------
# -T
# ---------------------------------------------------------------------------

def _idle_stdin(cmd, env, args, after=1.0):
    """stdin open without data for ``after`` s (then EOF); (rc, stdout, texts, s)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd + list(args), env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        try:
            p.wait(timeout=after)
        except subprocess.TimeoutExpired:
            pass
        out, err = p.communicate(timeout=10)    # closes stdin: EOF
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, texts(subprocess.CompletedProcess([], 0, b"", err)), \
        time.monotonic() - t0


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("value", ["0", "-1", "0.3"])
def test_total_timeout_zero_and_negative(profile, value):
    """1.8: -T 0 ends at the first idle poll, negative means none; 1.7: 0 means none."""
    if profile == "1.7" and value == "-1":
        pytest.skip("1.7.4.4 passes a negative timeout to poll(): test_negative_total_timeout_17")
    binary, env = PROFILES[profile]
    args = ["-dd", "-T", value, "-u", "-", "/dev/null"]
    after = 3.0 if value == "0.3" else 1.0      # room for a slow start under load
    classic = _idle_stdin([binary()], os.environ, args, after)
    ours = _idle_stdin(PYSOCAT, env, args, after)
    assert ours[:3] == classic[:3]
    timed_out = "N inactivity timeout triggered" in classic[2]
    assert timed_out == (value == "0.3" or (value == "0" and profile == "1.8"))


@pytest.mark.parametrize("value", ["-1", "-1.5"])
def test_negative_total_timeout_17(value):
    """1.7.4.4 hands a negative -T to poll(): EINVAL, exit 1 (its descriptor
    list shows uninitialised slots: only the timeout and the error compare)."""
    c, p = both("1.7", "-T", value, "-", "-")
    assert p.returncode == c.returncode == 1
    tail = [t.split("}, 4, ", 1)[1] for t in texts(c)]
    assert [t.split("}, 4, ", 1)[1] for t in texts(p)] == tail
    assert tail[0].endswith("): Invalid argument")


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_total_timeout_zero_still_moves_ready_data(profile, tmp_path):
    """-T 0 (1.8) polls once without waiting: what is ready then still moves
    (a file: always ready, no race with a writer)."""
    f = tmp_path / "ready"
    f.write_bytes(b"ready\n")
    c = same(both(profile, "-T", "0", "-u", str(f), "STDOUT"))
    assert c.stdout == b"ready\n"


# ---------------------------------------------------------------------------
# -r / -R
# ---------------------------------------------------------------------------

SNIFF_NAMES = ["a-$FOO-b", "b-${FOO}-c", "g-$NOPE-x", "h-\\$FOO", "i-\\x", "j-$", "k-$1a",
               "l-${FOO", "m-$FOO.x", "o-x\\", "q-$PROGNAME"]


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_sniff_names(profile, tmp_path):
    """1.8 expands variables in -r/-R names (quirks included); 1.7 takes them as given."""
    binary, env = PROFILES[profile]
    made = []
    for k, (cmd, e) in enumerate((([binary()], os.environ), (PYSOCAT, env))):
        d = tmp_path / str(k)
        d.mkdir()
        for name in SNIFF_NAMES:
            r = subprocess.run(cmd + ["-lp", "socat", "-r", str(d / name), "-R",
                                      str(d / ("R" + name)), "-", "/dev/null"],
                               input=b"sniffed\n", capture_output=True, timeout=20,
                               env={**e, "FOO": "foo"})
            assert r.returncode == 0, r.stderr
        made.append(sorted((p.name, p.read_bytes()) for p in d.iterdir()))
    assert made[1] == made[0]
    if profile == "1.8":
        assert ("a-foo-b", b"sniffed\n") in made[0]


def test_sniff_pid_time_and_micros_18(tmp_path):
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        d = tmp_path / os.path.basename(cmd[0])
        d.mkdir()
        p = subprocess.Popen(cmd + ["-r", str(d / "p-$$"), "-R", str(d / "t-$TIMESTAMP-$MICROS"),
                                    "-", "/dev/null"], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.communicate(b"x", timeout=20)
        names = sorted(f.name for f in d.iterdir())
        assert names[0] == f"p-{p.pid}"
        assert re.fullmatch(r"t-\d{8}T\d{6}-\d{6}", names[1]), names


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_sniff_open_after_the_addresses(profile):
    """1.8 opens the sniff files after both addresses (its error comes second,
    a W about fcntl(-1) and 'Bad file descriptor'); 1.7 before them."""
    c = same(both(profile, "-r", "/nonexistent/$HOME", "/nonexistent/b", "-"))
    if profile == "1.8":
        assert texts(c)[0].startswith('E open("/nonexistent/b"')
    c = same(both(profile, "-r", "/nonexistent/$HOME", "-u", "-", "/dev/null"))
    assert c.returncode == 1


def test_sniff_per_fork_child_18(tmp_path):
    """With fork, each child opens its own -r file ($$ is the child's pid)."""
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        d = tmp_path / os.path.basename(cmd[0])
        d.mkdir()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen(cmd + ["-r", str(d / "c-$$"), f"TCP4-LISTEN:{port},fork,reuseaddr",
                                    "PIPE"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for n in range(2):
                with connect_when_listening(port) as c:
                    c.sendall(b"conn%d\n" % n)
                    assert c.recv(100) == b"conn%d\n" % n
            time.sleep(0.3)
            assert not list(d.iterdir()) or all(f.name != f"c-{p.pid}" for f in d.iterdir())
        finally:
            p.terminate()
            p.wait(timeout=10)
        files = sorted(f.read_bytes() for f in d.iterdir())
        assert files == [b"conn0\n", b"conn1\n"]
        assert all(f.name != f"c-{p.pid}" for f in d.iterdir())


# ---------------------------------------------------------------------------
# -L / -W
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("flag", ["-L", "-W", "lockfile", "waitlock"])
def test_lock_file_contents(profile, flag, tmp_path):
    """The lock file's text and mode, from the flags and from the address options
    (one xiogetlock() in socat)."""
    binary, env = PROFILES[profile]
    seen = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, env)):
        lock = tmp_path / ("lock" + str(len(seen)))
        if flag.startswith("-"):
            args = [flag, str(lock), "-u", "-", "/dev/null"]
        else:
            args = ["-u", "-", f"OPEN:/dev/null,{flag}={lock}"]
        p = subprocess.Popen(cmd + ["-dd", *args], env=e,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while not lock.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.1)
            text = lock.read_bytes().replace(str(p.pid).encode(), b"PID")
            mode = lock.stat().st_mode & 0o777
            _, err = p.communicate(b"", timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        seen.append((text, mode, p.returncode, texts(subprocess.CompletedProcess([], 0, b"", err)),
                     lock.exists()))
    assert seen[1] == seen[0]
    assert seen[0][:2] == ((b"PID\n", 0o644) if profile == "1.8" else (b"PID", 0o600))


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_lock_held(profile, tmp_path):
    lock = tmp_path / "held"
    lock.write_text("1")
    c = same(both(profile, "-L", str(lock), "-u", "-", "/dev/null", input=b"x"))
    assert c.returncode == 1 and lock.exists()


# ---------------------------------------------------------------------------
# -lm: stderr during start-up, syslog from the listener's loop on (issue 14 item 6)
# ---------------------------------------------------------------------------

SYSLOG_NS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "syslog_ns.py")


def _mixed(cmd, env, port, level):
    import json
    import sys
    r = subprocess.run(["unshare", "-m", "-n", sys.executable, SYSLOG_NS, str(port), *cmd,
                        *level, "-lmlocal2"], capture_output=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["echoes"] == ["line 0\n", "line 1\n"]
    lines = []
    for m in got["syslog"]:
        prio, _, rest = m.partition(">")
        text = rest.split("]: ", 1)[1]
        lines.append((prio, re.sub(r"\d+", "#", text)))
    return got["rc"], texts(subprocess.CompletedProcess([], 0, b"", got["stderr"].encode())), \
        sorted(lines)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a private mount namespace)")
@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("level", [["-d", "-d"], ["-d", "-d", "-d"]])
def test_mixed_log_mode_fork_listener(profile, level):
    import shutil
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) missing")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary, env = PROFILES[profile]
    classic = _mixed([binary()], os.environ, port, level)
    ours = _mixed(PYSOCAT, env, port, level)
    assert ours[0] == classic[0] == 128 + signal.SIGTERM
    if len(level) == 2:
        assert ours[1] == classic[1] == []            # nothing after start-up on stderr
        if any("exiting on signal" in t for _, t in classic[2]):
            assert ours[2] == classic[2]
        else:
            # classic's own capture lost its tail (a run beside other tests: its
            # children's datagrams came after the receiver stopped): every line it did
            # log is ours too, and ours ends as socat ends
            from collections import Counter
            assert not Counter(classic[2]) - Counter(ours[2])
            assert any("exiting on signal" in t for _, t in ours[2])
    else:
        # the start-up I lines differ in detail between the programs; the switch
        # is the last line on stderr, every child's line is in syslog
        assert ours[1][-1] == classic[1][-1] == "I starting accept loop, switching to syslog"
        assert any("starting data transfer loop" in t for _, t in ours[2])


# ---------------------------------------------------------------------------
# -d and -l parse errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["-d0x", "-d1z", "-d-x", "-d00", "-d-1", "-d0x0", "-d01", "-d0x2"])
def test_debug_number_errors_18(flag):
    """1.8's strtol() reading of -d<N>; the error names the suffix's first character."""
    same(both("1.8", flag, "-u", "-", "/dev/null", input=b"x"))


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("flag", ["-dx", "-d5", "-ddx"])
def test_debug_bad_suffix(profile, flag):
    """1.8 prints its usage for -dx/-d5 and goes on (-ddx: usage, exit 1);
    1.7 prints it and exits 1 for all."""
    c, p = both(profile, flag, "-u", "-", "/dev/null", input=b"x")
    assert (p.returncode, p.stdout) == (c.returncode, c.stdout)
    assert b"Usage:" in c.stderr and b"Usage:" in p.stderr


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("flags", [["-lyfoo"], ["-lmfoo"], ["-lmfoo", "-dd"],
                                   ["-lmfoo", "-ddd"], ["-lyLOCAL3"], ["-lysecurity"],
                                   ["-lyftp"]])
def test_syslog_facility_names(profile, flags):
    """An unknown facility is an E: at once with -ly, when syslog starts with -lm."""
    c, p = both(profile, *flags, "-u", "-", "/dev/null", input=b"x")
    assert (p.returncode, p.stdout) == (c.returncode, c.stdout)
    if c.returncode:
        assert texts(p)[-2:] == texts(c)[-2:]


def test_statistics_fork_listener_18():
    """Each fork child prints its own statistics at its exit; the listener,
    ended by a signal, has none ("transfer engine not yet started")."""
    got = []
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with _Logged(cmd + ["-dd", "--statistics", f"TCP4-LISTEN:{port},fork,reuseaddr",
                            "PIPE"], env) as run:
            with connect_when_listening(port) as c:
                c.sendall(b"statistics\n")
                assert c.recv(100) == b"statistics\n"
                c.shutdown(socket.SHUT_WR)
                c.recv(100)
            run.seen(b"childdied(): handling")
            run.p.terminate()
            run.p.wait(timeout=10)
            got.append(sorted(re.sub(r"\d+", "#", t) if "STATISTICS" not in t else t
                              for t in run.texts()))
    assert got[1] == got[0]
    assert "I STATISTICS: left to right: 1 packets(s), 11 byte(s)" in got[0]
    assert "W transfer engine not yet started, statistics not available" in got[0]


@pytest.mark.parametrize("profile,value,lines", [
    ("1.8", "0", ["ends after 0.0 s without data (-T)", "(socat 1.7.4.4: -T 0 means no timeout)"]),
    ("1.8", "-1", ["no inactivity timeout (-T -1)", "(socat 1.7.4.4: -T -1 is refused by poll())"]),
    ("1.7", "0", ["no inactivity timeout (-T 0)",
                  "(socat 1.8.1.3: -T 0 ends at the first idle moment)"]),
    ("1.8", "2", ["ends after 2.0 s without data (-T)"]),
])
def test_explain_says_how_the_other_version_reads_T(profile, value, lines):
    r = subprocess.run(PYSOCAT + ["--explain", "-T", value, "-", "/dev/null"],
                       capture_output=True, timeout=20, env=PROFILES[profile][1])
    out = [ln.strip() for ln in r.stdout.decode().splitlines()]
    assert r.returncode == 0
    for ln in lines:
        assert ln in out
    if len(lines) == 1:
        assert not any(ln.startswith("(socat 1.") for ln in out)


@pytest.mark.parametrize("address", ["UDP-LISTEN:{port}", "UDP-RECVFROM:{port}",
                                     "TCP-LISTEN:{port},bind=127.0.0.1"])
def test_zero_flag_listeners_18(address):
    """-0: what each listener binds (IPv6 any address without bind=)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = []
    for cmd, env in (([SOCAT18], os.environ), (PYSOCAT, ENV18)):
        with _Logged(cmd + ["-0", "-dd", address.format(port=port), "PIPE"], env) as run:
            run.seen(b" on ")
            run.p.terminate()
            run.p.wait(timeout=10)
            got.append(run.texts()[0])
    assert got[1] == got[0]


def test_fault_signals_keep_their_default_action():
    """SIGSEGV and its kind are not caught (a handler in Python would loop on a
    real fault); socat logs a kill -SEGV, pysocat dies of it."""
    import resource

    def no_core():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    p = subprocess.Popen(PYSOCAT + ["-dd", "PIPE", "PIPE"], env=ENV18, preexec_fn=no_core,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        assert b"starting data transfer loop" in p.stderr.readline() + p.stderr.readline() \
            + p.stderr.readline()
        p.send_signal(signal.SIGSEGV)
        rest = p.stderr.read()
        assert p.wait(timeout=10) == -signal.SIGSEGV and b"signal 11" not in rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
