"""Options of issue 16 (children-shutup, http-version, ...) against classic socat."""
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import (ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat,
                      needs_socat18, run_pysocat, run_pysocat18, run_socat, run_socat18)
from sockhelp import free_port

LETTERS = "DINWEF"


def _run_fork_server(argv, env, sock):
    """A UNIX-LISTEN,fork server whose child fails to connect; its log (bytes)."""
    srv = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            assert srv.poll() is None, srv.stderr.read()
            time.sleep(0.05)
        subprocess.run([SOCAT18 or SOCAT, "-u", "FILE:/dev/null", f"UNIX-CONNECT:{sock}"],
                       capture_output=True, timeout=10)
        time.sleep(1.0)           # the child connects, fails and exits
    finally:
        srv.terminate()
        try:
            _, err = srv.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            _, err = srv.communicate()
    return err


def _child_lines(err: bytes) -> list:
    """'L text' of the lines the forked child wrote."""
    text = err.decode(errors="replace")
    m = re.search(r"forked off child process (\d+)", text)
    assert m, text
    return log_texts(b"\n".join(line.encode() for line in text.splitlines()
                                if f"[{m.group(1)}]" in line))


def _lowered(lines, by, shown=2):
    """What children-shutup=by leaves of ``lines`` at -d -d (N and up)."""
    out = []
    for line in lines:
        level, text = line.split(" ", 1)
        if text.startswith("exit("):      # socat writes its exit line as N always
            out.append(line)
            continue
        new = LETTERS.index(level) - by
        if new >= shown:
            out.append(f"{LETTERS[new]} {text}")
    return out


def _shutup_runs(prog, env, opt):
    with tempfile.TemporaryDirectory() as d:
        port = free_port()        # nobody listens there: the child's connect fails
        out = {}
        for extra in ("", "," + opt):
            sock = os.path.join(d, "s" + str(len(out)))
            argv = prog + ["-d", "-d", f"UNIX-LISTEN:{sock},fork{extra}",
                           f"TCP4:127.0.0.1:{port}"]
            out[extra] = _run_fork_server(argv, env, sock)
    return out[""], out["," + opt]


@needs_socat18
@pytest.mark.parametrize("opt,by", [("children-shutup", 1), ("children-shutup=2", 2)])
@pytest.mark.parametrize("classic", [True, False], ids=["socat18", "pysocat"])
def test_children_shutup_lowers_the_childs_messages(opt, by, classic):
    prog = [SOCAT18] if classic else PYSOCAT
    plain, quiet = _shutup_runs(prog, ENV18, opt)
    assert " E " in plain.decode()            # the failed connect is an error ...
    assert " E " not in quiet.decode()        # ... and not with children-shutup (test 479)
    assert _child_lines(quiet) == _lowered(_child_lines(plain), by)
    assert _child_lines(quiet)[-1] == "N exit(1)"


@needs_socat18
def test_children_shutup_only_where_children_are():
    for run in (run_socat18, run_pysocat18):
        r = run("-u", "FILE:/dev/null,children-shutup", "FILE:/dev/null")
        assert r.returncode == 1
        assert log_texts(r.stderr) == [
            'E parseopts_table(): option "children-shutup" not supported with this '
            'address type']


@needs_socat
def test_children_shutup_is_unknown_in_17():
    for run in (run_socat, run_pysocat):
        r = run("-u", "FILE:/dev/null", "UNIX-LISTEN:/nonexistent/x,fork,children-shutup")
        assert r.returncode == 1
        assert log_texts(r.stderr) == ['E parseopts_table(): unknown option "children-shutup"']


# --- http-version (PROXY) -----------------------------------------------------------
@needs_socat18
@pytest.mark.parametrize("version", ["1.1", "2.0", ""])
def test_http_version_is_the_connect_requests(version):
    """test.sh PROXY_HTTPVERSION: the CONNECT line carries HTTP/<version>."""
    from test_proxy import OK, FakeProxy
    seen = []
    for run in (run_socat18, run_pysocat18):
        p = FakeProxy("http", OK)
        try:
            r = run("-", f"PROXY:127.0.0.1:127.0.0.1:1000,proxyport={p.port},"
                    f"http-version={version}", input=b"hello\n")
            assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr
            seen.append(p.requests)
        finally:
            p.close()
    assert seen[0] == seen[1] == [f"CONNECT 127.0.0.1:1000 HTTP/{version}\r\n\r\n".encode()]


@needs_socat18
def test_http_version_default_is_10():
    from test_proxy import OK, FakeProxy
    p = FakeProxy("http", OK)
    try:
        r = run_pysocat18("-", f"PROXY:127.0.0.1:127.0.0.1:1000,proxyport={p.port}",
                          input=b"x")
        assert r.stdout == b"x"
        assert p.requests == [b"CONNECT 127.0.0.1:1000 HTTP/1.0\r\n\r\n"]
    finally:
        p.close()


@needs_socat18
def test_http_version_too_long_for_the_request_buffer():
    from test_proxy import FakeProxy
    out = []
    for run in (run_socat18, run_pysocat18):
        p = FakeProxy("http", None)
        try:
            r = run("-", f"PROXY:127.0.0.1:127.0.0.1:1000,proxyport={p.port},"
                    f"http-version={'9' * 260}")
            out.append((r.returncode, r.stdout, log_texts(r.stderr)))
        finally:
            p.close()
    assert out[0] == out[1] == (
        1, b"", ["E _xioopen_proxy_connect(): PROXY CONNECT buffer too small"])


@needs_socat
def test_http_version_is_unknown_in_17():
    for run in (run_socat, run_pysocat):
        r = run("-", "PROXY:127.0.0.1:127.0.0.1:1000,proxyport=1,http-version=1.1")
        assert r.returncode == 1
        assert log_texts(r.stderr) == ['E parseopts_table(): unknown option "http-version"']
