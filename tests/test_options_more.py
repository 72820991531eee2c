"""Options that had no rows (issue 16): lseek32-*/lseek64-* (seek=), o-direct, and
1.8's f-setpipe-sz, so-rcvtimeo/so-sndtimeo, setsockopt-socket/-connected,
ipv6-multicast-loop, ipv6-mtu-discover; compared with classic socat."""
import os
import re

import pytest

from conftest import (log_texts, needs_socat, needs_socat18, run_pysocat, run_pysocat18,
                      run_socat, run_socat18)


@pytest.fixture
def tenbytes(tmp_path):
    p = tmp_path / "ten.txt"
    p.write_bytes(b"abcdefghij")
    return str(p)


def _traces(stderr, *words):
    """The log lines naming one of ``words``, fd numbers blanked."""
    out = []
    for t in log_texts(stderr):
        t = re.sub(r"\((\d+), ", "(FD, ", t)
        if any(w in t for w in words):
            out.append(t)
    return out


@pytest.mark.parametrize("opt,want", [
    ("seek=4", b"efghij"), ("seek-set=4", b"efghij"), ("lseek=4", b"efghij"),
    ("seek-cur=2", b"cdefghij"), ("seek-end=-3", b"hij"), ("lseek32-end=-1", b"j"),
    ("lseek32=7", b"hij"), ("lseek64-cur=9", b"j")])
def test_seek_positions_the_file(tenbytes, opt, want):
    r = run_pysocat18("-u", f"OPEN:{tenbytes},{opt}", "-")
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    r = run_pysocat("-u", f"OPEN:{tenbytes},{opt}", "-")       # 1.7.4.4 has them too
    assert (r.returncode, r.stdout) == (0, want), r.stderr


@needs_socat18
@pytest.mark.parametrize("opt", ["seek=4", "seek-end=-3", "lseek32-cur=2"])
def test_seek_log_as_socat18(tenbytes, opt):
    args = ("-d4", "-u", f"OPEN:{tenbytes},{opt}", "-")
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.stdout == theirs.stdout
    words = ("I setting option", "D lseek")
    pick = lambda err: [t for t in _traces(err, *words) if t.startswith(words)]
    assert pick(mine.stderr) == pick(theirs.stderr)
    assert len(pick(mine.stderr)) == 3


@needs_socat
@needs_socat18
def test_seek_bad_value_as_both(tenbytes):
    for run, ref in ((run_pysocat18, run_socat18), (run_pysocat, run_socat)):
        mine, theirs = run("-u", f"OPEN:{tenbytes},seek=x", "-"), ref("-u", f"OPEN:{tenbytes},seek=x", "-")
        assert mine.returncode == theirs.returncode == 1
        assert log_texts(mine.stderr) == log_texts(theirs.stderr) == [
            'E parseopts(): missing numerical value of option "seek=x"']


@needs_socat18
def test_direct_where_socat_takes_it(tmp_path):
    args = ("-u", "-", f"CREATE:{tmp_path}/d.txt,direct")
    mine, theirs = run_pysocat18(*args, input=b"x\n"), run_socat18(*args, input=b"x\n")
    assert mine.returncode == theirs.returncode == 1
    assert log_texts(mine.stderr) == log_texts(theirs.stderr)


@needs_socat18
def test_pipesz_sets_the_pipe_capacity():
    args = ("-d4", "-u", "-", "PIPE,pipesz=131072")
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.returncode == theirs.returncode == 0
    want = 'I setting option "f-setpipe-sz" to 131072'
    assert want in log_texts(mine.stderr) and want in log_texts(theirs.stderr)
    sets = [t for t in _traces(mine.stderr, "fcntl(FD, 1031")]
    assert sets and all(t == "D fcntl(FD, 1031, 0x20000)" for t in sets)
    # the kernel took it: F_SETPIPE_SZ returned the new size
    assert "D fcntl() -> 0x20000" in log_texts(mine.stderr)


@needs_socat18
@pytest.mark.parametrize("opt", ["rcvtimeo=1.5", "sndtimeo=2", "sockopt-sock=1:7:x00400000",
                                 "setsockopt-connected=1:8:x00800000"])
def test_socket_options_traced_as_socat18(opt):
    args = ("-d4", "-T", "0.1", f"UDP4-DATAGRAM:127.0.0.1:9,bind=127.0.0.1,{opt}", "-")
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.returncode == theirs.returncode == 0, mine.stderr
    words = ("D setsockopt(FD, 1, ",)
    got = [t for t in _traces(mine.stderr, "setsockopt(") if t.startswith(words)]
    ref = [t for t in _traces(theirs.stderr, "setsockopt(") if t.startswith(words)]
    assert got == ref and got


def test_new_18_options_unknown_in_17():
    for opt in ("rcvtimeo=1", "pipesz=4096", "sockopt-sock=1:7:x00", "mcloop6=0",
                "mtudiscover6=0"):
        r = run_pysocat("-T", "0.1", f"UDP6-DATAGRAM:[::1]:9,{opt}", "-")
        assert r.returncode == 1
        assert log_texts(r.stderr) == [
            f'E parseopts_table(): unknown option "{opt.split("=")[0]}"']


@needs_socat18
def test_ipv6_socket_options_as_socat18():
    args = ("-d4", "-T", "0.1", "UDP6-DATAGRAM:[::1]:9,mcloop6=0,mtudiscover6=2", "-")
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.returncode == theirs.returncode == 0, mine.stderr
    got = [t for t in _traces(mine.stderr, "setsockopt(FD, 41,")]
    ref = [t for t in _traces(theirs.stderr, "setsockopt(FD, 41,")]
    assert got == ref and len(got) == 2


def _fd_ptr_free(texts):
    return [re.sub(r"0x[0-9a-f]{8,}", "PTR", re.sub(r"\((\d+), ", "(FD, ", t)) for t in texts]


@needs_socat
@needs_socat18
@pytest.mark.parametrize("opt", ["ioctl=0x1234", "ioctl-void=0x1234", "ioctl-int=0x1234:5",
                                 "ioctl-intp=0x1234:5", "ioctl-bin=0x1234:x0102",
                                 "ioctl-string=0x1234:abc", "ioctl-int=5", "ioctl-bin=0x12",
                                 "ioctl-int=x:1", "ioctl-string", "ioctl-int=0x1234:-1",
                                 "ioctl-intp=0x1234:-1"])
def test_generic_ioctl_as_both(tmp_path, opt):
    """A request a regular file does not know: socat's error texts, per type."""
    for run, ref in ((run_pysocat18, run_socat18), (run_pysocat, run_socat)):
        args = ("-u", "-", f"CREATE:{tmp_path}/f,{opt}")
        mine, theirs = run(*args, input=b"x\n"), ref(*args, input=b"x\n")
        assert mine.returncode == theirs.returncode == 1
        assert _fd_ptr_free(log_texts(mine.stderr)) == _fd_ptr_free(log_texts(theirs.stderr))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chattr flags)")
@pytest.mark.parametrize("opt", ["ioctl-intp=0x40086602:0x40", "ioctl-bin=0x40086602:x40000000"])
def test_ioctl_acts(tmp_path, opt):
    """FS_IOC_SETFLAGS with FS_NODUMP_FL through the generic ioctls: lsattr shows
    the flag, as after classic's run (the argument really reaches the kernel)."""
    f = tmp_path / "o"
    r = run_pysocat18("-u", "-", f"CREATE:{f},{opt}", input=b"data\n")
    if r.returncode and b"Operation not supported" in r.stderr:
        pytest.skip("this file system has no chattr flags")
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"data\n"
    assert "d" in _lsattr(f)


def _lsattr(path):
    import subprocess
    r = subprocess.run(["lsattr", "-d", str(path)], capture_output=True, text=True)
    return r.stdout.split()[0] if r.returncode == 0 else None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chattr flags)")
def test_fs_flags_set_and_clear(tmp_path):
    f = tmp_path / "attr.txt"
    r = run_pysocat18("-u", "-", f"CREATE:{f},nodump,ext2-noatime", input=b"x\n")
    if r.returncode and b"Operation not supported" in r.stderr:
        pytest.skip("this file system has no chattr flags")
    assert r.returncode == 0, r.stderr
    flags = _lsattr(f)
    assert "d" in flags and "A" in flags
    r = run_pysocat18("-u", "-", f"OPEN:{f},fs-nodump=0,append", input=b"y\n")
    assert r.returncode == 0, r.stderr
    flags = _lsattr(f)
    assert "d" not in flags and "A" in flags
    assert f.read_bytes() == b"x\ny\n"


@needs_socat18
def test_siocspgrp_error_as_socat18():
    args = ("-T", "0.1", "UDP4-DATAGRAM:127.0.0.1:9,siocspgrp=999999999", "-")
    mine, theirs = run_pysocat18(*args), run_socat18(*args)
    assert mine.returncode == theirs.returncode
    assert _fd_ptr_free(log_texts(mine.stderr)) == _fd_ptr_free(log_texts(theirs.stderr))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")
def test_early_ownership_only_for_an_existing_file(tmp_path):
    f = tmp_path / "early.txt"
    f.write_bytes(b"old\n")
    f.chmod(0o644)
    r = run_pysocat("-u", "-", f"OPEN:{f},perm-early=0600,user-early=65534,gid-e=65534,append",
                    input=b"new\n")
    assert r.returncode == 0, r.stderr
    st = f.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o600, 65534, 65534)
    assert f.read_bytes() == b"old\nnew\n"
    # a file that does not exist yet: the early options are dropped, as socat drops them
    g = tmp_path / "new.txt"
    r = run_pysocat18("-u", "-", f"CREATE:{g},perm-early=0600,uid-e=65534", input=b"x\n")
    assert r.returncode == 0, r.stderr
    assert g.stat().st_uid == 0 and g.stat().st_mode & 0o777 != 0o600


@needs_socat
@needs_socat18
def test_early_perm_error_as_both():
    for run, ref in ((run_pysocat18, run_socat18), (run_pysocat, run_socat)):
        args = ("-u", "-", "OPEN:/proc/self/status,perm-early=0600")
        mine, theirs = run(*args), ref(*args)
        assert mine.returncode == theirs.returncode == 1
        assert log_texts(mine.stderr) == log_texts(theirs.stderr) == [
            'E chmod("/proc/self/status", 0600): Operation not permitted']


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (TUN)")
def test_interface_mtu_of_a_tun():
    from conftest import PYSOCAT
    from netns import Netns, have_netns, wait_for
    if not have_netns():
        pytest.skip("needs iproute2 and /dev/net/tun")
    with Netns("m") as ns:
        v18 = ("env", "PYSOCAT_COMPAT=1.8.1.3") + tuple(PYSOCAT)
        p = ns.spawn(*v18, "-d", "-d", "TUN:10.77.0.1/24,iff-up,if-mtu=1400,tun-name=tunm", "-")
        assert wait_for(lambda: "mtu 1400" in ns.link("tunm"), timeout=10), ns.finish(p)[1]
        ns.finish(p)
        r = ns.run(*v18, "-T", "0.2", "TUN:10.77.0.1/24,if-mtu=100000,tun-name=tunn", "-")
        assert r.returncode == 1
        assert re.fullmatch(r"E xio_netlink_mtu\(index=\d+, mtu=100000\): rtnetlink: "
                            r"Invalid argument", log_texts(r.stderr)[-1])
    r = run_pysocat("TUN:10.77.0.1/24,if-mtu=1400", "-")
    assert log_texts(r.stderr) == ['E parseopts_table(): unknown option "if-mtu"']



@needs_socat18
def test_fd_options_hold_when_the_program_starts():
    """socat applies the FD phase to its ends of EXEC's channel before the fork:
    a program that looks at once (test.sh 519 EXEC_F_SETPIPE_SZ: filan, nothing
    on stdin) sees the pipe size set, though posix_spawn starts it before any
    of pysocat's code after the start has run."""
    from conftest import SOCAT18
    filan = os.path.join(os.path.dirname(SOCAT18), "filan")
    args = ("-t", "0.2", "STDIO", f"EXEC:{filan} -n 0,pipes,f-setpipe-sz=131072")
    for _ in range(5):
        mine, theirs = run_pysocat18(*args, input=b""), run_socat18(*args, input=b"")
        assert mine.returncode == theirs.returncode == 0, mine.stderr
        sizes = [re.findall(rb"F_GETPIPE_SZ=(\d+)", r.stdout)[:1] for r in (mine, theirs)]
        assert sizes[0] == sizes[1] == [b"131072"]
