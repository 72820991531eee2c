"""socat 1.8's per-address context: chdir=/cd= and netns=, held only while the
address opens; compared with classic 1.8.1.3, and unknown under 1.7.4.4."""
import os
import subprocess

import pytest

from conftest import (PYSOCAT, log_texts, needs_socat18, run_pysocat, run_pysocat18,
                      run_socat18)
from netns import Netns, have_netns, wait_for
from sockhelp import free_port


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.txt").write_bytes(b"inside\n")
    return tmp_path


def test_chdir_holds_only_while_its_address_opens(tree):
    # address 1 reads sub/in.txt; address 2 creates out.txt where we started
    r = run_pysocat18("-u", "OPEN:in.txt,cd=sub", "CREATE:out.txt", cwd=tree)
    assert r.returncode == 0, r.stderr
    assert (tree / "out.txt").read_bytes() == b"inside\n"
    assert not (tree / "sub" / "out.txt").exists()
    r = run_pysocat18("-u", "OPEN:sub/in.txt", "CREATE:copy.txt,chdir=sub", cwd=tree)
    assert r.returncode == 0 and (tree / "sub" / "copy.txt").read_bytes() == b"inside\n"


@needs_socat18
def test_chdir_failure_as_socat18(tree):
    args = ("-u", "OPEN:in.txt,cd=nosub", "CREATE:out.txt")
    mine, theirs = run_pysocat18(*args, cwd=tree), run_socat18(*args, cwd=tree)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr) == [
        'E chdir("nosub"): No such file or directory']
    assert not (tree / "out.txt").exists()


def test_context_options_unknown_in_17(tree):
    for opt in ("cd=sub", "chdir=sub", "netns=x"):
        r = run_pysocat("-u", f"OPEN:in.txt,{opt}", "-", cwd=tree)
        assert r.returncode == 1
        assert log_texts(r.stderr) == [
            f'E parseopts_table(): unknown option "{opt.split("=")[0]}"']


@needs_socat18
def test_netns_missing_as_socat18():
    args = ("-T", "1", "-", "TCP4:127.0.0.1:9,netns=pysocat-no-such-ns")
    mine = run_pysocat18(*args)
    theirs = run_socat18(*args)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr) == [
        'W option "netns" is experimental',
        "E open(/run/netns/pysocat-no-such-ns, O_RDONLY|O_CLOEXEC): No such file or directory"]


@pytest.mark.skipif(not have_netns(), reason="needs root and iproute2")
def test_netns_opens_the_address_inside():
    """A listener only the namespace's loopback has; the other address stays outside."""
    with Netns("c") as ns:
        port = free_port()
        server = ns.spawn(*PYSOCAT, f"TCP4-LISTEN:{port},bind=127.0.0.1", "EXEC:cat")
        assert wait_for(lambda: f":{port:04X} " in ns.run("cat", "/proc/net/tcp").stdout.decode(),
                        timeout=10)
        r = run_pysocat18("-d", "-d", "-", f"TCP4:127.0.0.1:{port},netns={ns.name}",
                          input=b"through the namespace\n")
        assert (r.returncode, r.stdout) == (0, b"through the namespace\n"), r.stderr
        texts = log_texts(r.stderr)
        assert texts[:2] == ["N reading from and writing to stdio",
                             'W option "netns" is experimental']
        # this process is back in its own namespace: the port is free here
        r = run_pysocat18("-T", "1", "-", f"TCP4:127.0.0.1:{port}", input=b"x")
        assert r.returncode == 1
        ns.finish(server)


@pytest.mark.skipif(not have_netns(), reason="needs root and iproute2")
def test_netns_tun_overlay_in_one_command_per_host():
    """The seed's overlay, each relay run from outside its namespace by netns=."""
    from netns import veth_pair
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, "10.66.0.1", "10.66.0.2")
        procs = []
        for ns, me, peer, tun in ((a, "10.66.0.1", "10.66.0.2", "172.31.0.1"),
                                  (b, "10.66.0.2", "10.66.0.1", "172.31.0.2")):
            procs.append(subprocess.Popen(
                PYSOCAT + ["-d", "-d", f"TUN:{tun}/16,iff-up,netns={ns.name}",
                           f"UDP-DATAGRAM:{peer}:9090,bind={me}:9090,netns={ns.name}"],
                stderr=subprocess.PIPE, env={**os.environ, "PYSOCAT_COMPAT": "1.8.1.3"}))
        try:
            assert wait_for(lambda: "172.31.0.1" in a.run("ip", "-4", "addr").stdout.decode()
                            and "172.31.0.2" in b.run("ip", "-4", "addr").stdout.decode(),
                            timeout=10)
            # no TUN appeared outside the namespaces
            assert "172.31.0." not in subprocess.run(["ip", "-4", "addr"], capture_output=True,
                                                     text=True).stdout
            ok = any(a.run("ping", "-c", "1", "-W", "1", "172.31.0.2").returncode == 0
                     for _ in range(5))
            assert ok
        finally:
            for p in procs:
                p.kill()
                p.communicate(timeout=10)


@pytest.mark.parametrize("srv,cli", [("UNIX-RECVFROM", "UNIX-SENDTO"), ("UNIX-LISTEN", "UNIX-CONNECT"),
                                     ("UNIX-LISTEN", "UNIX-CLIENT"),
                                     ("ABSTRACT-RECVFROM", "ABSTRACT-SENDTO")])
def test_bind_tempname_lets_forked_clients_coexist(tmp_path, srv, cli):
    """socat 1.8 test.sh *_BIND_TEMPNAME: two concurrent clients of a fork relay to
    one UNIX service, each child bound to its own random name (XXXXXX)."""
    from netns import wait_for
    from sockhelp import free_port
    env = {**os.environ, "PYSOCAT_COMPAT": "1.8.1.3"}
    s0 = f"{tmp_path}/s0"
    (tmp_path / "s1.XXXXXX").touch()          # the pattern itself must not be taken
    port = free_port()
    procs = [subprocess.Popen(PYSOCAT + [f"{srv}:{s0},fork", "PIPE"], env=env,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        if not srv.startswith("ABSTRACT"):
            assert wait_for(lambda: os.path.exists(s0), timeout=10)
        else:
            wait_for(lambda: False, timeout=0.5)
        procs.append(subprocess.Popen(
            PYSOCAT + [f"TCP4-LISTEN:{port},reuseaddr,fork",
                       f"{cli}:{s0},bind-tempname={tmp_path}/s1.XXXXXX"],
            env=env, stderr=subprocess.DEVNULL, start_new_session=True))
        from sockhelp import _listening
        import socket
        assert wait_for(lambda: _listening(port, socket.AF_INET), timeout=10)
        a = subprocess.Popen(["sh", "-c", f"{{ echo aaa; sleep 1; }} | "
                                          f"{' '.join(PYSOCAT)} - TCP4:127.0.0.1:{port}"],
                             stdout=subprocess.PIPE, env=env)
        wait_for(lambda: False, timeout=0.3)
        b = run_pysocat18("-", f"TCP4:127.0.0.1:{port}", input=b"bbb\n")
        out_a, _ = a.communicate(timeout=20)
        assert (b.returncode, b.stdout) == (0, b"bbb\n"), b.stderr
        assert out_a == b"aaa\n"
    finally:
        import signal
        for p in procs:        # the fork servers' children too: their own sessions
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)


@needs_socat18
@pytest.mark.parametrize("addr", ["UNIX-SENDTO:{d}/x,bind={d}/y,bind-tempname",
                                  "UNIX-CONNECT:{d}/x,bind={d}/y,bind-tempname",
                                  "UNIX-CLIENT:{d}/x,bind={d}/y,unix-bind-tempname",
                                  "UNIX-SENDTO:{d}/x,bind-tempname={d}/nopattern"])
def test_bind_tempname_errors_as_socat18(tmp_path, addr):
    args = ("-u", "-", addr.format(d=tmp_path))
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)
