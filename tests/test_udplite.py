"""UDP-Lite (socat 1.8's UDPLITE* types) against classic 1.8.1.3, and their absence in 1.7.4.4.

Every UDP-Lite socket here is on loopback; the servers are bounded by timeout
and killed with their process group.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (ENV18, PYSOCAT, SOCAT18, log_texts, needs_socat, needs_socat18,
                      run_pysocat, run_pysocat18, run_socat, run_socat18)

IPPROTO_UDPLITE = 136


def _udplite_ok():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_UDPLITE).close()
        return True
    except OSError:
        return False


needs_udplite = pytest.mark.skipif(not _udplite_ok(), reason="kernel without UDP-Lite")

NAMES = [f"udplite{v}-{t}" for v in ("", "4", "6")
         for t in ("connect", "listen", "sendto", "recvfrom", "recv", "datagram")]
ALIASES = [f"udplite{v}{a}" for v in ("", "4", "6") for a in ("", "-l", "-dgram", "-send")]


def free_port(family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
    s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_bound(port, family=socket.AF_INET, timeout=5.0):
    """Until something has bound the UDP-Lite port (our bind fails)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
        try:
            s.bind((host, port))
        except OSError:
            return True
        finally:
            s.close()
        time.sleep(0.05)
    return False


def start(prog, *args):
    return subprocess.Popen(prog + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=ENV18, start_new_session=True)


def stop(p, timeout=5):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=timeout)
    return out, log_texts(err)


def _help_rows(text, pattern):
    """(name, syntax, groups) of -h address lines matching pattern, any layout."""
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("groups=") and re.match(pattern, parts[0], re.I):
            head, _, syntax = parts[0].partition(":")
            out.add((head.lower(), syntax, parts[1]))
    return out


def _opt_rows(text, pattern):
    """(name, groups, phase, type) of -hh option lines matching pattern, any layout."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"\s+(\S+)\s+groups=(\S+?)\s*phase=(\S+)\s+type=(\S+)$", line)
        if m and re.match(pattern, m.group(1)):
            out.add(m.groups())
    return out


# ------------------------------------------------------------------ the tables

@needs_socat18
def test_help_lists_socats_udplite_rows():
    ours = _help_rows(run_pysocat18("-h").stdout.decode(), r"udplite")
    theirs = _help_rows(run_socat18("-h").stdout.decode(), r"udplite")
    assert len(theirs) == 18
    assert ours == theirs


@needs_socat18
def test_hh_lists_socats_udplite_options():
    ours = _opt_rows(run_pysocat18("-hh").stdout.decode(), r"udplite")
    theirs = _opt_rows(run_socat18("-hh").stdout.decode(), r"udplite")
    assert len(theirs) == 2 and ours == theirs


def test_every_name_is_known_under_18_and_unknown_under_17():
    from pysocat import versions
    from pysocat.addresses import registry
    from pysocat.errors import SocatError
    from pysocat.parse import parse
    saved = versions.ACTIVE
    try:
        versions.ACTIVE = versions.Profile("1.8.1.3")
        for name in NAMES + ALIASES:
            row, _ = registry.lookup(parse(f"{name}:1:2"), check_count=False)
            assert row.name.startswith("udplite")
        versions.ACTIVE = versions.Profile("1.7.4.4")
        for name in NAMES + ALIASES:
            with pytest.raises(SocatError) as e:
                registry.lookup(parse(f"{name.upper()}:1"))
            assert str(e.value) == f'unknown device/address "{name.upper()}"'
    finally:
        versions.ACTIVE = saved


@needs_socat
def test_unknown_address_under_17_as_socat_1744():
    for addr in ("UDPLITE:127.0.0.1:9", "UDPLITE6-LISTEN:9"):
        ours = run_pysocat(addr, "-")
        theirs = run_socat(addr, "-")
        assert ours.returncode == theirs.returncode == 1
        assert log_texts(ours.stderr) == log_texts(theirs.stderr) == \
            [f'E unknown device/address "{addr.split(":")[0]}"']


@needs_socat
@needs_socat18
def test_cscov_option_unknown_in_17_unsupported_with_udp_in_18():
    addr = "UDP-SENDTO:127.0.0.1:9,udplite-send-cscov=8"
    ours17, theirs17 = run_pysocat("-", addr), run_socat("-", addr)
    assert ours17.returncode == theirs17.returncode == 1
    assert log_texts(ours17.stderr) == log_texts(theirs17.stderr)
    assert 'unknown option "udplite-send-cscov"' in log_texts(ours17.stderr)[0]
    ours18, theirs18 = run_pysocat18("-", addr), run_socat18("-", addr)
    assert ours18.returncode == theirs18.returncode == 1
    err = [t for t in log_texts(theirs18.stderr) if t.startswith("E ")]
    assert err and [t for t in log_texts(ours18.stderr) if t.startswith("E ")] == err
    assert "not supported with this address type" in err[0]


# ------------------------------------------------------------------ behaviour

def _echo(server, client, family=socket.AF_INET, v="4"):
    """``server`` runs UDPLITE<v>-LISTEN,...PIPE; ``client`` sends a line through."""
    port = free_port(family)
    host = "[::1]" if family == socket.AF_INET6 else "127.0.0.1"
    srv = start(server, "-dd", f"UDPLITE{v}-LISTEN:{port},so-reuseaddr", "PIPE")
    try:
        assert wait_bound(port, family), "server did not bind"
        cli = subprocess.run(client + ["-dd", "-T", "3", "-", f"UDPLITE{v}:{host}:{port}"],
                             input=b"hello udplite\n", capture_output=True, timeout=15,
                             env=ENV18)
    finally:
        _, slog = stop(srv)
    return port, cli, slog


@needs_udplite
@needs_socat18
@pytest.mark.parametrize("server,client", [("py", "py"), ("py", "c"), ("c", "py")])
def test_listen_echo_with_classic(server, client):
    progs = {"py": PYSOCAT, "c": [SOCAT18]}
    port, cli, slog = _echo(progs[server], progs[client])
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == b"hello udplite\n"
    assert f"N listening on PROTO136 AF=2 0.0.0.0:{port}" in slog
    assert any(t.startswith("N accepting UDP connection from AF=2 127.0.0.1:") for t in slog)


@needs_udplite
@needs_socat18
def test_listen_echo_ipv6():
    port, cli, slog = _echo(PYSOCAT, [SOCAT18], socket.AF_INET6, "6")
    assert cli.returncode == 0 and cli.stdout == b"hello udplite\n"
    assert f"N listening on PROTO136 AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:{port}" \
        in slog


@needs_udplite
@needs_socat18
def test_recvfrom_sets_peeraddr_but_no_peerport():
    """socat's environment knows ports of TCP, UDP and SCTP only."""
    outs, codes = [], []
    for prog in (PYSOCAT, [SOCAT18]):
        port = free_port()
        srv = start(prog, f"UDPLITE4-RECVFROM:{port}",
                    # the child reads the packet before it answers and exits (else a
                    # write after its exit decides the exit code: a race in both)
                    "SYSTEM:head -c1 >/dev/null; "
                    "echo \"[$SOCAT_PEERADDR][${SOCAT_PEERPORT-unset}]\"")
        try:
            assert wait_bound(port)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
            s.settimeout(5)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"x", ("127.0.0.1", port))
            outs.append(s.recvfrom(100))
            s.close()
            codes.append(srv.wait(timeout=5))
        finally:
            stop(srv)
    assert outs[0][0] == outs[1][0] == b"[127.0.0.1][unset]\n"
    assert codes[0] == codes[1]


@needs_udplite
@needs_socat18
def test_sendto_datagram_recv():
    """UDPLITE-SENDTO into UDPLITE-RECV (both ends each program), same bytes."""
    for sender, receiver in ((PYSOCAT, [SOCAT18]), ([SOCAT18], PYSOCAT)):
        port = free_port()
        rcv = start(receiver, "-u", f"UDPLITE4-RECV:{port}", "STDOUT")
        try:
            assert wait_bound(port)
            snd = subprocess.run(sender + ["-u", "-", f"UDPLITE-SENDTO:127.0.0.1:{port}"],
                                 input=b"one packet\n", capture_output=True, timeout=10,
                                 env=ENV18)
            assert snd.returncode == 0
            time.sleep(0.3)
        finally:
            out, _ = stop(rcv)
        assert out == b"one packet\n"


@needs_udplite
@needs_socat18
def test_cscov_options_set_once_as_socat():
    """-dddd shows each checksum-coverage setsockopt once, as classic 1.8 does."""
    port = free_port()
    addr = f"UDPLITE-SENDTO:127.0.0.1:{port},udplite-send-cscov=8,udplite-recv-cscov=20"
    lines = []
    for run in (run_pysocat18, run_socat18):
        r = run("-dddd", "-u", "-", addr, input=b"x\n")
        assert r.returncode == 0
        lines.append([re.sub(r"setsockopt\(\d+,", "setsockopt(N,", t)
                      for t in log_texts(r.stderr) if ", 136, " in t])
    assert lines[0] == lines[1] == ["D setsockopt(N, 136, 10, {0x8}, 4)",
                                    "D setsockopt(N, 136, 11, {0x14}, 4)"]


@needs_socat18
def test_explain_names_the_protocol():
    r = run_pysocat18("--explain", "UDPLITE-LISTEN:5000,udplite-send-cscov=8", "-")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "IPPROTO_UDPLITE" in out and "udplite-send-cscov" in out
