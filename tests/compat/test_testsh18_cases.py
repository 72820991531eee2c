"""What socat 1.8.1.3's own test.sh checks and pysocat once did otherwise (range= and the
default IP version, INTERFACE's outgoing packets and groups, client fork loops with
max-children, failed datagram reads), against classic 1.8.1.3 and 1.7.4.4.

Each test runs the same command through the classic binary and pysocat of one
profile and compares exit codes and log lines.
"""
import os
import re
import subprocess

import pytest

from conftest import ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat, needs_socat18

pytestmark = [needs_socat, needs_socat18]

PROFILES = {"1.8": (lambda: SOCAT18, ENV18), "1.7": (lambda: SOCAT, ENV17)}


def both(profile, *args, input=b"", timeout=20):
    """The same command through the classic and pysocat of one profile."""
    binary, penv = PROFILES[profile]
    out = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
        # a run that opens is ended after 3 s (an error ends it at once; under
        # load pysocat's start-up alone took longer than the 1 s this had)
        out.append(subprocess.run(["timeout", "-s", "TERM", "3"] + cmd + list(args),
                                  input=input, capture_output=True, timeout=timeout, env=e))
    return out


def errors(r):
    return [t for t in log_texts(r.stderr) if not t.startswith(("N ", "I ", "D "))]


# test.sh 554/556 V1800_UDP(LITE)_DATAGRAM_RANGE: 1.8 takes the default IP
# version before parsing range=, 1.7 has none and wants addr:mask
@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("args", [
    ("UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8",),
    ("UDPLITE-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8",),
    ("-0", "UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8"),
    ("-6", "UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8"),
    ("UDP-DATAGRAM:[::1]:45614",),
    ("UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1:255.0.0.0",),
])
def test_datagram_range_default_ip(profile, args):
    if profile == "1.7" and args[0] in ("-0", "-6"):
        pytest.skip("-0 is new in 1.8; 1.7's -6 is covered by its own tests")
    if "UDPLITE" in args[-1] and profile == "1.7":
        pytest.skip("UDPLITE is new in 1.8")
    if profile == "1.7" and "255.0.0.0" in args[-1]:
        pytest.skip("classic 1.7.4.4 aborts (free(): invalid pointer)")
    classic, ours = both(profile, *args, "PIPE")
    assert ours.returncode == classic.returncode, (classic.stderr, ours.stderr)
    assert errors(ours) == errors(classic)


def _run_in_netns(tag, profile, script, tmp_path, *env):
    """Run a bash ``script`` in a network namespace of its own, first with
    classic socat of the profile's version as "$@", then with pysocat; $FILE
    names a file of each run's. Returns [(completed run, FILE path)] for both."""
    from netns import Netns, have_netns
    if not have_netns():
        pytest.skip("needs root, ip and /dev/net/tun")
    binary, penv = PROFILES[profile]
    runs = []
    with Netns(tag) as ns:
        for n, cmd in enumerate(([binary()], PYSOCAT)):
            path = tmp_path / f"file{n}"
            r = ns.run("env", f"PYSOCAT_COMPAT={penv['PYSOCAT_COMPAT']}", f"FILE={path}",
                       *env, "bash", "-c", script, "x", *cmd, timeout=30)
            runs.append((r, path))
    return runs


# test.sh 480 INTERFACE_IGNOREOUTGOING: 1.8 sets PACKET_IGNORE_OUTGOING, so a
# ping sent out of the interface is not read back; 1.7 reads it
_IF_SCRIPT = r"""
set -u
sleep 3 | "$TUNBIN" TUN:10.255.255.1/24,iff-up=1,tun-type=tun,tun-name=tun9 - >/dev/null 2>&1 &
for i in $(seq 50); do ip link show tun9 >/dev/null 2>&1 && break; sleep 0.05; done
timeout 2.5 "$@" -u INTERFACE:tun9 - >"$FILE" 2>/dev/null &
reader=$!
sleep 1
ping -c 1 -w 1 -b 10.255.255.255 >/dev/null 2>&1
wait $reader
wait
"""


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_interface_ignores_outgoing(tmp_path, profile):
    sizes = [out.stat().st_size if out.exists() else -1
             for _, out in _run_in_netns("if", profile, _IF_SCRIPT, tmp_path, f"TUNBIN={SOCAT18}")]
    assert sizes[1] == sizes[0]
    assert sizes[0] == (0 if profile == "1.8" else 84)


# test.sh 587/590/591/593 *_CONNECT_MAXCHILDREN: a client's fork loop sleeps
# interval after each child (nanosleep), but a child's end (SIGCHLD) cuts the
# sleep short, so the next connection follows at once when a slot frees
def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parent_events(stderr: bytes):
    """The fork loop parent's 'forked off' and 'childdied' lines, in order."""
    lines = stderr.decode(errors="replace").splitlines()
    pids = [m.group(1) for m in (re.search(r"\[(\d+)\] [A-Z] ", ln) for ln in lines) if m]
    if not pids:
        return []
    parent = pids[0]
    out = []
    for ln in lines:
        if f"[{parent}] " not in ln:
            continue
        if "forked off child process" in ln:
            out.append("fork")
        elif "childdied(): handling signal 17" in ln:
            out.append("died")
    return out


def _fork_client(profile, tmp_path, life, interval, extra, window):
    script = tmp_path / "child.sh"
    script.write_text(f"#!/bin/sh\necho x\nsleep {life}\n")
    script.chmod(0o755)
    port = _free_port()
    server = subprocess.Popen([SOCAT18, f"TCP4-LISTEN:{port},reuseaddr,fork", "PIPE"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        time.sleep(0.3)
        binary, penv = PROFILES[profile]
        out = []
        for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
            out.append(subprocess.run(
                ["timeout", "-s", "TERM", str(window)] + cmd +
                ["-d", "-d", f"TCP4:127.0.0.1:{port},fork,interval={interval}{extra}",
                 f"EXEC:{script}"],
                capture_output=True, timeout=30, env=e))
        return [_parent_events(r.stderr) for r in out]
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_client_fork_sleep_ends_with_child(profile, tmp_path):
    # interval 3 s, children of 0.3 s: in 2.5 s a forking client makes several
    # connections, each after the previous child ended
    classic, ours = _fork_client(profile, tmp_path, 0.3, 3, "", 2.5)
    assert classic.count("fork") >= 3, classic
    assert ours.count("fork") >= 3, ours


def test_client_max_children_waits_for_a_child(tmp_path):
    # max-children=2, interval 0.1 s, children of 0.8 s: the third connection
    # waits for the first child's end, then follows it at once
    for events in _fork_client("1.8", tmp_path, 0.8, 0.1, ",max-children=2", 1.5):
        assert events[:2] == ["fork", "fork"], events
        assert "fork" in events[2:] and events[2] == "died", events


# 1.8's option groups: INTERFACE takes the INTERFACE group (iff-* flags merged
# into the interface's while it is open, put back at close); 1.7 refuses them
_IFF_SCRIPT = r"""
ip link add c14a type veth peer name c14b
ip link set c14b up
timeout 1 "$@" -dddd -u INTERFACE:c14a,iff-promisc,iff-up - >/dev/null 2>"$FILE"
echo "rc=$?"
ip -o link show c14a | sed 's/.*<\([^>]*\)>.*/\1/'
ip link del c14a
"""


def _without_running(text):
    """IFF_RUNNING (0x40) follows the veth's carrier, which the kernel raises
    a moment after UP: whether a flags line shows it is timing, not socat's."""
    head, sep, flags = text.rpartition("flags: 0x")
    if not sep:
        return text
    return f"{head}{sep}{int(flags, 16) & ~0x40:x}"


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_interface_iff_options(tmp_path, profile):
    results = []
    for r, err in _run_in_netns("iff", profile, _IFF_SCRIPT, tmp_path):
        flags_lines = [_without_running(t) for t in log_texts(err.read_bytes())
                       if '"c14a":' in t or t.startswith("E ")]
        results.append((r.stdout.decode().split("\n")[1], flags_lines))
    classic, ours = results
    # the flags are back as they were after the run (no UP, no PROMISC)
    assert ours[0] == classic[0] and "PROMISC" not in ours[0]
    if profile == "1.8":
        assert any("resulting flags" in t for t in classic[1])
        assert [t for t in ours[1] if '"c14a":' in t] == [t for t in classic[1] if '"c14a":' in t]
    else:
        assert ours[1] == classic[1] == [
            'E parseopts_table(): option "iff-promisc" not supported with this address type']


# 1.8 takes TUN out of the NAMED group: unlink-early and the like are refused
# (1.7 applies them to the device file). The device is a file of the test's.
@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_tun_named_options(tmp_path, profile):
    binary, penv = PROFILES[profile]
    out = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
        dev = tmp_path / "fake-tun"
        dev.write_text("")
        r = subprocess.run(cmd + [f"TUN:10.9.9.1/24,tun-device={dev},unlink-early", "-"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20, env=e)
        out.append((r.returncode, errors(r), dev.exists()))
    assert out[1] == out[0]
    assert out[0][2] == (profile == "1.8")


# a failed peek at a packet (xiogetancillary/xiogetpacketsrc) is only logged (1.8 I,
# 1.7 W): the direction is in error and socat ends with status 0, no E
_DOWN_SCRIPT = r"""
ip link add c14a type veth peer name c14b
ip link set c14b up
timeout 2 "$@" -d -d -d -u INTERFACE:c14a - >/dev/null 2>"$FILE"
echo "rc=$?"
ip link del c14a
"""


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_packet_peek_failure_is_in_error(tmp_path, profile):
    results = []
    for r, err in _run_in_netns("dn", profile, _DOWN_SCRIPT, tmp_path):
        lines = [t for t in log_texts(err.read_bytes())
                 if "recvmsg" in t or "in error" in t or t.startswith(("E ", "W "))]
        results.append((r.stdout.decode().split()[0], lines))
    assert results[1] == results[0]
    assert results[0][0] == "rc=0"


# test.sh 469-471 UDP4/UDP6/UNIX_FORK: a RECVFROM,fork child whose SYSTEM shell is
# still busy must not hold the parent back from the next packet (1.8's trigger pair:
# the shell's process must not keep the child's end open)
def test_recvfrom_fork_next_packet_while_a_shell_sleeps(tmp_path):
    import socket
    import time
    binary, penv = PROFILES["1.8"]         # so-rcvtimeo is new in 1.8
    orders = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
        out = tmp_path / f"out{len(orders)}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(cmd + ["-t", "6", f"UDP4-RECVFROM:{port},fork,so-rcvtimeo=1",
                                         f"SYSTEM:read t x; sleep $t; echo $x >>{out}"],
                                  env=e, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while f":{port:04X} " not in open("/proc/net/udp").read():
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.05)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                c.sendto(b"2 first\n", ("127.0.0.1", port))
                time.sleep(0.5)
                c.sendto(b"0 second\n", ("127.0.0.1", port))
            deadline = time.monotonic() + 10
            while (not out.exists() or out.read_text().count("\n") < 2) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            orders.append(out.read_text().split())
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert orders[1] == orders[0] == ["second", "first"]
