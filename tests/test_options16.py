"""Options of issue 16 (children-shutup, http-version, ...) against classic socat."""
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import (ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat,
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


# --- tcp-md5sig, so-peercred: what socat does with them -----------------------------
def _both(args, version):
    """(rc, log) of classic and of pysocat under that version's profile."""
    if version == "1.8":
        return [(r.returncode, log_texts(r.stderr)) for r in
                (run_socat18(*args), run_pysocat18(*args))]
    return [(r.returncode, log_texts(r.stderr)) for r in (run_socat(*args), run_pysocat(*args))]


@pytest.mark.parametrize("version", ["1.8", "1.7"])
def test_tcp_md5sig_is_a_setsockopt_with_an_int(version):
    if (SOCAT18 if version == "1.8" else SOCAT) is None:
        pytest.skip("classic socat missing")
    port = free_port()
    theirs, ours = _both(["-u", "/dev/null", f"TCP-LISTEN:{port},tcp-md5sig=1"], version)
    from sockhelp import norm
    assert (ours[0], norm(ours[1])) == (theirs[0], norm(theirs[1])) == (
        1, ["E setsockopt(FD, 6, 14, {1}, 4): Invalid argument"])


@pytest.mark.parametrize("version,number", [("1.8", 18), ("1.7", 17)])
@pytest.mark.parametrize("name", ["so-peercred=1:2:3", "peercred"])
def test_so_peercred_is_socats_unimplemented_type(version, number, name):
    if (SOCAT18 if version == "1.8" else SOCAT) is None:
        pytest.skip("classic socat missing")
    got = _both(["-u", "/dev/null", f"UNIX-LISTEN:/nonexistent/x,{name}"], version)
    assert got == [(1, [f'E parseopts_table(): internal error on option "so-peercred": '
                        f'unimplemented type {number}'])] * 2


# --- openssl-egd, min-/max-proto-version --------------------------------------------
@pytest.mark.parametrize("version", ["1.8", "1.7"])
def test_openssl_egd_is_a_debug_line_without_rand_egd(version):
    if (SOCAT18 if version == "1.8" else SOCAT) is None:
        pytest.skip("classic socat missing")
    port = free_port()
    got = _both(["-d", "-d", "-d", "-d", "-u", f"OPENSSL-LISTEN:{port},egd=/nonexistent,"
                 "verify=0,cert=/nonexistent.pem", "/dev/null"], version)
    for rc, log in got:
        assert rc == 1
        keep = [t for t in log if "egd" in t.lower() or t.startswith("E ")]
        assert [t for t in keep if not t.startswith("D argv") and "xioopen(" not in t] == [
            'I setting option "openssl-egd" to "/nonexistent"',
            "D RAND_egd() is not available by OpenSSL",
            "E SSL_CTX_use_certificate_file(): error:80000002:system library::"
            "No such file or directory"]


@pytest.mark.parametrize("name", ["min-proto-version", "max-proto-version"])
def test_proto_version_aliases_are_new_in_18(name):
    if SOCAT18 is None or SOCAT is None:
        pytest.skip("classic socat missing")
    args = ["-d", "-d", "-d", "-u", f"OPENSSL-LISTEN:{free_port()},{name}=TLS1.2,verify=0,"
            "cert=/nonexistent.pem", "/dev/null"]
    for rc, log in _both(args, "1.8"):
        assert rc == 1
        assert f'I setting option "openssl-{name}" to "TLS1.2"' in log
    assert _both(args[3:], "1.7") == [
        (1, [f'E parseopts_table(): unknown option "{name}"'])] * 2


# --- tiocswinsz, termios-setflags (1.8) ---------------------------------------------
@needs_socat18
@pytest.mark.parametrize("value,size", [("100:30", b"30 100\r\n"), ("-1:70000", b"65535 0\r\n")])
def test_tiocswinsz_sets_the_pty_size(value, size):
    """test.sh TIOCSWINSZ: the program sees <row> <col> of winsz=<col>:<row>."""
    out = []
    for run in (run_socat18, run_pysocat18):
        r = run("/dev/null!!-", f"EXEC:stty size,pty,winsz={value}")
        out.append((r.returncode, r.stdout, log_texts(r.stderr)))
    assert out[0] == out[1]
    assert out[0][:2] == (0, size)


@needs_socat18
def test_tiocswinsz_texts():
    for args in (["-u", "/dev/null,winsz=1:2", "-"], ["-u", "/dev/null,winsz=1", "-"],
                 ["-u", "/dev/null,tiocswinsz", "-"]):
        theirs, ours = _both(args, "1.8")
        fd = [[re.sub(r"ioctl\(\d+", "ioctl(FD", t) for t in got[1]] for got in (ours, theirs)]
        assert (ours[0], fd[0]) == (theirs[0], fd[1])
        assert ours[0] == 1


@needs_socat18
def test_termios_setflags_sets_a_whole_flag_word():
    out = []
    for run in (run_socat18, run_pysocat18):
        r = run("/dev/null!!-", "EXEC:stty -a,pty,setflags=3:0")
        assert r.returncode == 0
        out.append(r.stdout)
    assert out[0] == out[1]
    assert b"-icanon" in out[0] and b"-echo " in out[0] and b"-isig" in out[0]


@needs_socat18
def test_termios_setflags_word_out_of_range():
    got = []
    for run in (run_socat18, run_pysocat18):
        r = run("-u", "/dev/null", "EXEC:true,pty,setflags=5:0")
        got.append([t for t in log_texts(r.stderr) if t.startswith("E ")])
    assert [[re.sub(r"fd=\d+", "fd=N", t) for t in g] for g in got] == [
        ["E xiotermios_setflags(fd=N, word=5, val=0): word must be 0..3"]] * 2


@needs_socat
@pytest.mark.parametrize("opt", ["winsz=1:2", "setflags=3:0", "tiocswinsz=1:2",
                                 "termios-setflags=3:0"])
def test_termios_18_options_unknown_in_17(opt):
    name = opt.split("=")[0]
    assert _both(["-u", f"/dev/null,{opt}", "-"], "1.7") == [
        (1, [f'E parseopts_table(): unknown option "{name}"'])] * 2


# --- unix-tightsocklen ----------------------------------------------------------------
def _abstract_names(prefix: str) -> list:
    with open("/proc/net/unix") as f:
        return [line.split()[-1] for line in f.readlines()[1:]
                if len(line.split()) >= 8 and line.split()[-1].startswith("@" + prefix)]


@pytest.mark.parametrize("version", ["1.8", "1.7"])
@pytest.mark.parametrize("classic", [True, False], ids=["classic", "pysocat"])
def test_unix_tightsocklen_0_pads_an_abstract_name(version, classic):
    prog = [SOCAT18 if version == "1.8" else SOCAT] if classic else PYSOCAT
    if prog[0] is None:
        pytest.skip("classic socat missing")
    env = ENV18 if version == "1.8" else ENV17
    name = f"o16tight{os.getpid()}{int(classic)}{version}"
    srv = subprocess.Popen(prog + ["-u", f"ABSTRACT-LISTEN:{name},tightsocklen=0", "-"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 10
        while not _abstract_names(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _abstract_names(name) == ["@" + name + "@" * (107 - len(name))]
        r = subprocess.run(prog + ["-u", "-", f"ABSTRACT-CONNECT:{name}"], input=b"x",
                           capture_output=True, timeout=10, env=env)
        assert r.returncode == 1      # the tight name is another name
        assert log_texts(r.stderr)[-1].endswith("Connection refused")
        r = subprocess.run(prog + ["-u", "-", f"ABSTRACT-CONNECT:{name},unix-tightsocklen=0"],
                           input=b"padded", capture_output=True, timeout=10, env=env)
        assert r.returncode == 0, r.stderr
        out, _ = srv.communicate(timeout=10)
        assert out == b"padded"
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.communicate()


# --- source-specific multicast (1.8) ---------------------------------------------------
def _filters(path: str, port_args, prog, opt) -> list:
    """/proc/net/mcfilter* lines while a receiver with ``opt`` runs."""
    before = open(path).read().splitlines()[1:]
    srv = subprocess.Popen(prog + ["-u", f"{port_args},{opt}", "-"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV18)
    try:
        deadline = time.monotonic() + 10
        got = []
        while time.monotonic() < deadline and srv.poll() is None:
            got = [line.split() for line in open(path).read().splitlines()[1:]
                   if line not in before]
            if got:
                break
            time.sleep(0.05)
        return got
    finally:
        srv.kill()
        srv.communicate()


@needs_socat18
@pytest.mark.parametrize("classic", [True, False], ids=["socat18", "pysocat"])
def test_ip_add_source_membership_joins_for_the_source(classic):
    prog = [SOCAT18] if classic else PYSOCAT
    port = free_port(kind=__import__("socket").SOCK_DGRAM)
    got = _filters("/proc/net/mcfilter", f"UDP4-RECV:{port}", prog,
                   "source-membership=239.1.2.3:127.0.0.1:127.0.0.5")
    assert [g[1:] for g in got] == [["lo", "0xef010203", "0x7f000005", "1", "0"]]


@needs_socat18
@pytest.mark.parametrize("classic", [True, False], ids=["socat18", "pysocat"])
def test_ipv6_join_source_group_joins_for_the_source(classic):
    from sockhelp import has_ipv6
    if not has_ipv6():
        pytest.skip("no IPv6")
    prog = [SOCAT18] if classic else PYSOCAT
    port = free_port(__import__("socket").AF_INET6, __import__("socket").SOCK_DGRAM)
    got = _filters("/proc/net/mcfilter6", f"UDP6-RECV:{port}", prog,
                   "join-source-group=[ff02::1:3]:lo:[::1]")
    assert [g[1:] for g in got] == [["lo", "ff020000000000000000000000010003",
                                     "00000000000000000000000000000001", "1", "0"]]


@needs_socat18
@pytest.mark.parametrize("addr,opt", [
    ("UDP4-RECV", "source-membership=239.1.2.3:10.99.99.99:127.0.0.5"),
    ("UDP4-RECV", "ip-add-source-membership=239.1.2.3:127.0.0.1"),
    ("UDP4-RECV", "add-source-membership=239.1.2.3:127.0.0.1:127.0.0.5:1"),
    ("UDP6-RECV", "join-source-group=[ff02::1:3]:nosuchif:[::1]"),
    ("UDP6-RECV", "ipv6-add-source-membership=[ff02::1:3]:lo"),
])
def test_source_membership_errors(addr, opt):
    port = free_port(kind=__import__("socket").SOCK_DGRAM)
    got = []
    for run in (run_socat18, run_pysocat18):
        r = run("-u", f"{addr}:{port},{opt}", "-", timeout=10)
        got.append((r.returncode, [re.sub(r"setsockopt\(\d+", "setsockopt(FD", t)
                                   for t in log_texts(r.stderr)]))
    assert got[0] == got[1]
    assert got[0][0] == 1


@needs_socat
@pytest.mark.parametrize("opt", ["source-membership=239.1.2.3:127.0.0.1:127.0.0.5",
                                 "join-source-group=[ff02::1:3]:lo:[::1]"])
def test_source_membership_unknown_in_17(opt):
    """Debian's 1.7.4.4 is built without them (no -hhh line): unknown there."""
    name = opt.split("=")[0]
    assert _both(["-u", f"UDP6-RECV:1,{opt}", "-"], "1.7") == [
        (1, [f'E parseopts_table(): unknown option "{name}"'])] * 2


# --- sitout-eio (1.8) -------------------------------------------------------------------
@needs_socat18
def test_sitout_eio_tolerates_eio_that_long_then_fails():
    got = []
    for run in (run_socat18, run_pysocat18):
        t0 = time.monotonic()
        r = run("-d", "-d", "/dev/null", "EXEC:true,pty,sitout-eio=0.3")
        took = time.monotonic() - t0
        lines = [re.sub(r"\d+, 0x[0-9a-f]+", "FD, BUF", re.sub(r"fd=\d+", "fd=FD", t))
                 for t in log_texts(r.stderr) if "EIO" in t or "read(" in t or "exit" in t]
        got.append((r.returncode, lines))
        assert took >= 0.25       # 30 polls of 10 ms
    assert got[0] == got[1] == (1, ["N xioread(fd=FD): EIO, sitting out 0.30s for recovery",
                                    "E read(FD, BUF, 8192): Input/output error",
                                    "N exit(1)"])


@needs_socat
def test_sitout_eio_unknown_in_17():
    assert _both(["-u", "/dev/null", "EXEC:true,pty,sitout-eio=1"], "1.7") == [
        (1, ['E parseopts_table(): unknown option "sitout-eio"'])] * 2


# --- ai-addrconfig, ai-all, ai-passive, ai-v4mapped (1.8) -----------------------------
@needs_socat18
@pytest.mark.parametrize("opts", ["ai-all", "ai-passive", "passive", "addrconfig",
                                  "ai-all,ai-passive", "ai-all,ai-all=0", "ai-v4mapped=0"])
def test_ai_flags_reach_getaddrinfo(opts):
    """The hints flags show in the W of a failed lookup (an IPv4 literal asked as IPv6)."""
    port = free_port()
    got = []
    for run in (run_socat18, run_pysocat18):
        r = run("-u", "/dev/null", f"TCP6:127.0.0.1:{port},{opts}")
        got.append((r.returncode, log_texts(r.stderr)))
    assert got[0] == got[1]
    assert got[0][0] == 1


@needs_socat18
@pytest.mark.parametrize("classic", [True, False], ids=["socat18", "pysocat"])
def test_ai_v4mapped_reaches_an_ipv4_listener_as_ipv6(classic):
    from sockhelp import Server
    port = free_port()
    prog = [SOCAT18] if classic else PYSOCAT
    with Server("-u", f"TCP4-LISTEN:{port}", "-") as srv:
        srv.wait_port(port)
        r = subprocess.run(prog + ["-d", "-d", "-u", "-", f"TCP6:127.0.0.1:{port},v4mapped"],
                           input=b"mapped", capture_output=True, timeout=10, env=ENV18)
        assert r.returncode == 0, r.stderr
        assert "N opening connection to AF=10 [0000:0000:0000:0000:0000:ffff:7f00:0001]:" \
            f"{port}" in log_texts(r.stderr)
        rc, out, _ = srv.finish()
        assert out == b"mapped"


@needs_socat
@pytest.mark.parametrize("opt", ["ai-addrconfig", "addrconfig", "ai-all", "ai-passive",
                                 "passive", "ai-v4mapped", "v4mapped"])
def test_ai_flags_unknown_in_17(opt):
    assert _both(["-u", "/dev/null", f"TCP6:127.0.0.1:1,{opt}"], "1.7") == [
        (1, [f'E parseopts_table(): unknown option "{opt}"'])] * 2
