"""DCCP (socat 1.8's DCCP* types) against classic 1.8.1.3, and their absence in 1.7.4.4.

This kernel has no DCCP (Linux dropped it in 6.16): what both programs must
agree on is socat's error for the unsupported socket type. Where the kernel
does have DCCP, a loopback echo runs instead.
"""
import re
import socket
import subprocess
import time

import pytest

from conftest import (ENV18, PYSOCAT, log_texts, needs_socat, needs_socat18,
                      run_pysocat, run_pysocat18, run_socat, run_socat18)

SOCK_DCCP, IPPROTO_DCCP = 6, 33


def _dccp_ok():
    try:
        socket.socket(socket.AF_INET, SOCK_DCCP, IPPROTO_DCCP).close()
        return True
    except OSError:
        return False


HAVE_DCCP = _dccp_ok()
no_dccp = pytest.mark.skipif(HAVE_DCCP, reason="this kernel has DCCP")
NAMES = [f"dccp{v}{t}" for v in ("", "4", "6")
         for t in ("", "-connect", "-l", "-listen")]


def _fdless(lines):
    return [re.sub(r"\b(socket|connect)\((\d+)", r"\1(N", t) for t in lines]


@needs_socat18
def test_help_lists_socats_dccp_rows_and_ccid():
    def rows(text):
        out = set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].lower().startswith("dccp"):
                out.add((parts[0].lower(), parts[1]))
        return out
    ours, theirs = rows(run_pysocat18("-h").stdout.decode()), rows(run_socat18("-h").stdout.decode())
    assert len(theirs) == 6 and ours == theirs

    def ccid(text):
        return [line.split() for line in text.splitlines() if line.strip().startswith("ccid")]
    assert ccid(run_pysocat18("-hh").stdout.decode()) == ccid(run_socat18("-hh").stdout.decode())


@no_dccp
@needs_socat18
@pytest.mark.parametrize("addr", ["DCCP4-LISTEN:{port}", "DCCP-L:{port},ccid=3",
                                  "DCCP6-LISTEN:{port},fork", "DCCP-LISTEN:{port},reuseaddr"])
def test_listen_without_kernel_support_as_classic(addr):
    addr = addr.format(port=40000 + int(time.time() * 1000) % 20000)
    ours, theirs = run_pysocat18("-dd", addr, "-"), run_socat18("-dd", addr, "-")
    assert ours.returncode == theirs.returncode == 1
    assert log_texts(ours.stderr) == log_texts(theirs.stderr)
    assert "E socket(2, 6, 33): Socket type not supported" in log_texts(ours.stderr) or \
        "E socket(10, 6, 33): Socket type not supported" in log_texts(ours.stderr)


@no_dccp
@needs_socat18
@pytest.mark.parametrize("addr", ["DCCP:127.0.0.1:9", "DCCP4-CONNECT:127.0.0.1:9,ccid=2",
                                  "DCCP6:[::1]:9"])
def test_connect_without_kernel_support_as_classic(addr):
    ours, theirs = run_pysocat18("-dd", addr, "-"), run_socat18("-dd", addr, "-")
    assert ours.returncode == theirs.returncode == 1
    fam = "10" if "[" in addr else "2"
    want = f"socket({fam}, 6, 33): Socket type not supported"
    for r in (ours, theirs):
        texts = log_texts(r.stderr)
        assert any(t[2:] == want for t in texts if t[:2] in ("W ", "E ")), texts
        assert texts[-1] == "N exit(1)"
    # the E line: socat 1.8 names the address (connect_failure_pair)
    theirs_e = [t for t in log_texts(theirs.stderr) if t.startswith("E ")]
    assert theirs_e == [f"E {addr.split(',')[0]}: Socket type not supported"]


@needs_socat18
def test_ccid_value_checked_as_classic():
    addr = "DCCP:127.0.0.1:9,ccid=300"
    ours, theirs = run_pysocat18(addr, "-"), run_socat18(addr, "-")
    assert ours.returncode == theirs.returncode == 1
    assert log_texts(ours.stderr) == log_texts(theirs.stderr)


def test_names_unknown_under_17():
    from pysocat import versions
    from pysocat.addresses import registry
    from pysocat.errors import SocatError
    from pysocat.parse import parse
    saved = versions.ACTIVE
    try:
        versions.ACTIVE = versions.Profile("1.8.1.3")
        for name in NAMES:
            assert registry.lookup(parse(f"{name}:1:2"), check_count=False)[0].name.startswith("dccp")
        versions.ACTIVE = versions.Profile("1.7.4.4")
        for name in NAMES:
            with pytest.raises(SocatError) as e:
                registry.lookup(parse(f"{name.upper()}:1"))
            assert str(e.value) == f'unknown device/address "{name.upper()}"'
    finally:
        versions.ACTIVE = saved


@needs_socat
def test_unknown_address_and_option_under_17_as_socat_1744():
    for args in (("DCCP:127.0.0.1:9", "-"), ("-", "TCP:127.0.0.1:9,ccid=2")):
        ours, theirs = run_pysocat(*args), run_socat(*args)
        assert ours.returncode == theirs.returncode == 1
        assert log_texts(ours.stderr) == log_texts(theirs.stderr)


@needs_socat18
def test_explain_warns_and_names_the_socket():
    r = run_pysocat18("--explain", "DCCP4-LISTEN:5000,ccid=3", "-")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "SOCK_DCCP" in out and "DCCP_SOCKOPT_CCID" in out
    if not HAVE_DCCP:
        assert "at run time socat logs: E socket(2, 6, 33): Socket type not supported" in out


@pytest.mark.skipif(not HAVE_DCCP, reason="this kernel has no DCCP")
def test_echo_over_dccp():
    port = 40000 + int(time.time() * 1000) % 20000
    srv = subprocess.Popen(PYSOCAT + [f"DCCP4-LISTEN:{port},reuseaddr", "PIPE"], env=ENV18,
                           stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        r = subprocess.run(PYSOCAT + ["-", f"DCCP4:127.0.0.1:{port}"], input=b"dccp\n",
                           capture_output=True, timeout=10, env=ENV18)
        assert r.stdout == b"dccp\n"
    finally:
        srv.kill()
        srv.communicate(timeout=5)
