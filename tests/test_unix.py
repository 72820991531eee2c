"""UNIX and ABSTRACT sockets on a private temp directory: bytes, files, errors."""
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import (log_texts, needs_socat, needs_socat18, run_pysocat, run_pysocat18, run_socat,
                      run_socat18)
from sockhelp import Server, children_of, norm


@pytest.fixture
def d(tmp_path):
    return str(tmp_path)


def test_listen_connect_both_ways_fork_and_unlink_close(d):
    path = f"{d}/s"
    with Server("-dd", f"UNIX-LISTEN:{path},fork,mode=600", "SYSTEM:cat; echo done") as srv:
        srv.wait_path(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        for client in (f"UNIX-CONNECT:{path}", f"UNIX-CLIENT:{path}", path, f"UNIX:{path}"):
            r = run_pysocat("-t", "5", "-", client, input=b"hi\n")
            assert r.stdout == b"hi\ndone\n", (client, r.stderr)
        _, _, err = srv.stop()
        assert f'N listening on AF=1 "{path}"' in log_texts(err)
    assert not os.path.exists(path)          # unlink-close by the listener
    assert children_of(srv.proc.pid) == []


def test_listen_refuses_existing_file_unless_unlink_early(d):
    path = f"{d}/s"
    open(path, "w").close()
    r = run_pysocat("-", f"UNIX-LISTEN:{path}")
    assert r.returncode == 1
    assert log_texts(r.stderr) == [f'E "{path}" exists']
    r = run_pysocat("-dd", "-", f"UNIX-LISTEN:{path},unlink-early,accept-timeout=0.2")
    assert r.returncode == 0
    assert not os.path.exists(path)


def test_sendto_recv(d):
    path = f"{d}/r"
    with Server("-u", f"UNIX-RECV:{path}", "-") as srv:
        srv.wait_path(path)
        r = run_pysocat("-dd", "-u", "-", f"UNIX-SENDTO:{path}", input=b"packet\n")
        assert r.returncode == 0
        assert 'N successfully prepared local socket AF=1 "<anon>"' in log_texts(r.stderr)
        run_pysocat("-u", "-", f"UNIX-CLIENT:{path}", input=b"second\n")
        time.sleep(0.3)
        rc, out, _ = srv.stop()
        assert out == b"packet\nsecond\n"


def test_recvfrom_fork_replies_to_each_sender(d):
    path = f"{d}/rf"
    with Server(f"UNIX-RECVFROM:{path},fork", "SYSTEM:read x; echo got $x") as srv:
        srv.wait_path(path)
        for i in (1, 2, 3):
            r = run_pysocat("-t", "3", "-", f"UNIX-SENDTO:{path},bind={d}/c{i}", input=b"q%d\n" % i)
            assert r.stdout == b"got q%d\n" % i, r.stderr
            assert not os.path.exists(f"{d}/c{i}")   # the client's unlink-close
        srv.stop()
    assert not os.path.exists(path)


def test_abstract_listen_connect():
    name = f"pysocat-test-{os.getpid()}"
    with Server(f"ABSTRACT-LISTEN:{name}", "PIPE") as srv:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open("/proc/net/unix") as f:
                if "@" + name in f.read():
                    break
            time.sleep(0.05)
        r = run_pysocat("-dd", "-t", "5", "-", f"ABSTRACT-CONNECT:{name}", input=b"abs")
        assert r.stdout == b"abs"
        assert f'N opening connection to AF=1 "\\0{name}"' in log_texts(r.stderr)
        srv.finish()


def test_gopen_on_a_socket_still_works(d):
    path = f"{d}/g"
    with Server(f"UNIX-LISTEN:{path}", "SYSTEM:echo gopen") as srv:
        srv.wait_path(path)
        r = run_pysocat("-", f"GOPEN:{path}")
        assert r.stdout == b"gopen\n"
        srv.finish()


def test_connect_env_and_bind(d):
    path = f"{d}/e"
    with Server(f"UNIX-LISTEN:{path}", "SYSTEM:echo $SOCAT_PEERADDR") as srv:
        srv.wait_path(path)
        r = run_pysocat("-", f"UNIX-CONNECT:{path},bind={d}/me")
        assert r.stdout == f"{d}/me\n".encode()
        srv.finish()
    assert not os.path.exists(f"{d}/me")


ERRORS = [
    ["UNIX-CONNECT:{d}/nonexist"],
    ["UNIX-CONNECT:{d}/file"],
    ["UNIX-CLIENT:{d}/nonexist"],
    ["UNIX-CLIENT:{d}/file"],
    ["UNIX-CONNECT:{d}/x,mode=600"],
    ["UNIX-SENDTO:{d}/x,user=0"],
    ["UNIX-RECV:{d}/file"],
    ["UNIX-RECVFROM:{d}/file"],
    ["UNIX-LISTEN:{d}/file"],
    ["ABSTRACT-CONNECT:pysocat-nonexistent-{pid}"],
    ["UNIX-CONNECT:{d}/x,retry=1,interval=0.1"],
    ["UNIX-CONNECT:/" + "a" * 120],
    ["ABSTRACT-LISTEN:" + "a" * 120],
    ["UNIX-LISTEN:{d}/x,pf=foo"],
    ["UNIX-LISTEN:{d}/x:y"],
]


@needs_socat
@pytest.mark.parametrize("args", ERRORS, ids=[a[0].split(":")[0] + str(i) for i, a in enumerate(ERRORS)])
def test_errors_match_socat(d, args):
    open(f"{d}/file", "w").close()
    args = [a.replace("{d}", d).replace("{pid}", str(os.getpid())) for a in args]
    want = run_socat("-dd", "-", *args, timeout=10)
    open(f"{d}/file", "w").close()
    got = run_pysocat("-dd", "-", *args, timeout=10)
    assert norm(log_texts(got.stderr)) == norm(log_texts(want.stderr))
    assert got.returncode == want.returncode


@needs_socat
@needs_socat18
@pytest.mark.parametrize("addr", ["UNIX-LISTEN:{d}/s,accept-timeout=0.001,bind={d}/b",
                                  "ABSTRACT-LISTEN:pysocat-test-s,bind=pysocat-test-b"])
def test_listen_with_bind_is_refused(tmp_path, addr):
    # test.sh 1.8 570 UNIX_L_BIND: the listeners bind implicitly; 1.8 and 1.7 word it apart
    addr = addr.format(d=tmp_path)
    for run_p, run_s in ((run_pysocat18, run_socat18), (run_pysocat, run_socat)):
        want = run_s(addr, "PIPE", timeout=10)
        got = run_p(addr, "PIPE", timeout=10)
        assert log_texts(got.stderr) == log_texts(want.stderr)
        assert got.returncode == want.returncode == 1
    assert not os.path.exists(tmp_path / "s")
