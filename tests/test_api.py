"""The Python API (issue 10): parse, open, run, start, through the public names only.

The listener tests use a test-only address row (APITEST-LISTEN, registered
below) that does what every listening family does: bind, call
``addresses.base.listening()``, accept. When the TCP/UDP families are on main,
the same tests run against them too.
"""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import pysocat
from conftest import log_texts, run_pysocat
from pysocat.addresses.base import finish, listening
from pysocat.addresses.registry import ADDRESSES, address, load_all
from pysocat.relay.endpoint import Endpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- a test listener

def _open_test_listen(ctx, row, spec, opts, params):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", int(params[0])))
        s.listen(1)
        listening(ctx, s)
        try:
            conn, peer = s.accept()
        except OSError as e:
            raise pysocat.SocatError(f"accept(): {e.strerror}") from None
    finally:
        s.close()
    local = conn.getsockname()
    ep = Endpoint(conn.detach())
    ep.is_socket = True
    ep.local_address, ep.peer_address = local, peer
    return finish(ep, opts)


@pytest.fixture(autouse=True)
def apitest_listen():
    """The test-only row exists only while a test of this module runs."""
    from pysocat.addresses.registry import ROWS
    load_all()
    row = address("apitest-listen", ":<port>", "FD,SOCKET", _open_test_listen, "APITEST",
                  "test-only TCP listener on 127.0.0.1 (tests/test_api.py)")
    try:
        yield row
    finally:
        ADDRESSES.pop("apitest-listen", None)
        ROWS.remove(row)


def _listeners():
    load_all()
    out = [pytest.param("APITEST-LISTEN:0", id="apitest")]
    for name, text in (("tcp4-listen", "TCP4-LISTEN:0,bind=127.0.0.1"),
                       ("tcp-listen", "TCP-LISTEN:0,bind=127.0.0.1")):
        out.append(pytest.param(text, id=name, marks=pytest.mark.skipif(
            name not in ADDRESSES, reason=f"{name.upper()} is not implemented yet")))
    return out


def _connect(port, timeout=5.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def _recv_exactly(sock, n, timeout=5.0):
    sock.settimeout(timeout)
    out = b""
    while len(out) < n:
        data = sock.recv(n - len(out))
        if not data:
            break
        out += data
    return out


# ---------------------------------------------------------------- import cost

def test_import_is_cheap():
    code = ("import sys, pysocat; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'lark', 'pyroute2', 'ssl'}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_function_names_survive_importing_the_modules():
    code = ("import pysocat.explain, pysocat.parse, pysocat.cli, pysocat; "
            "print(callable(pysocat.explain), callable(pysocat.parse), "
            "type(pysocat.explain('-')).__name__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert r.stdout.split() == ["True", "True", "dict"], r.stderr


def test_public_names():
    for name in ("parse", "explain", "run", "start", "open", "Relay", "Stream", "Transferred",
                 "SocatError", "AddressSyntaxError", "OptionError", "AddressSpec",
                 "DualSpec", "OptionSpec"):
        assert name in pysocat.__all__ and hasattr(pysocat, name)
    assert os.path.exists(os.path.join(os.path.dirname(pysocat.__file__), "py.typed"))


# ---------------------------------------------------------------- parse

def test_parse_gives_the_cli_spec_objects():
    from pysocat.parse import parse as cli_parse
    for text in ("TCP4:127.0.0.1:80,fork,reuseaddr", "EXEC:'cat -n',pty", "-!!OPEN:/tmp/x",
                 'SYSTEM:"echo a,b"'):
        assert pysocat.parse(text) == cli_parse(text)
    spec = pysocat.parse("OPEN:/tmp/in!!CREATE:/tmp/out,append")
    assert isinstance(spec, pysocat.DualSpec)
    assert spec.read == pysocat.AddressSpec("OPEN", ("/tmp/in",), (), "OPEN:/tmp/in")
    assert spec.write.options == (pysocat.OptionSpec("append", None, "append"),)


def test_parse_syntax_error_is_an_exception_with_socats_text():
    with pytest.raises(pysocat.AddressSyntaxError) as info:
        pysocat.parse('SYSTEM:"echo')
    assert info.value.text == 'unexpected end of address "SYSTEM:"echo"'
    assert isinstance(info.value, pysocat.SocatError)


@pytest.mark.parametrize("text,message", [
    ("FOO", 'unknown device/address "FOO"'),
    ("-,foo", 'parseopts_table(): unknown option "foo"'),
    ("EXEC:echo:x", '"EXEC:echo": wrong number of parameters (2 instead of 1)'),
    ("-,readbytes=5x", 'parseopts(): trailing garbage in numerical arg of option "readbytes=5x"'),
    ("-,path=/bin", 'parseopts_table(): option "path" not supported with this address type'),
    ("OPEN:/nonexistent/x!!FOO", 'unknown device/address "FOO"'),   # parsed before opened
    ("OPEN:/nonexistent/x!!STDOUT,fork",
     'parseopts_table(): option "fork" not supported with this address type'),
])
def test_parse_check_raises_what_the_cli_prints(text, message):
    assert pysocat.parse(text).raw == text          # syntax alone is fine
    with pytest.raises(pysocat.SocatError) as info:
        pysocat.parse(text, check=True)
    assert info.value.text == message
    cli = run_pysocat(text, "-") if "!!" not in text else run_pysocat("-", text)
    assert log_texts(cli.stderr) == [f"E {message}"]


# ---------------------------------------------------------------- explain

def test_explain_is_the_clis_json():
    import json
    api = pysocat.explain("OPEN:/etc/hostname,readbytes=4", "-", unidirectional=True,
                          block_size=4096)
    cli = run_pysocat("--explain", "--json", "-u", "-b", "4096",
                      "OPEN:/etc/hostname,readbytes=4", "-")
    assert cli.returncode == 0
    assert json.loads(json.dumps(api)) == json.loads(cli.stdout)
    assert api["schema"] == "pysocat-explain/1"
    single = pysocat.explain("EXEC:cat")
    assert len(single["addresses"]) == 1


def test_explain_errors_are_socat_errors():
    with pytest.raises(pysocat.SocatError) as info:
        pysocat.explain("FOO", "-")
    assert info.value.text == 'unknown device/address "FOO"'


# ---------------------------------------------------------------- open

def test_open_exec_round_trip_and_half_close():
    with pysocat.open("EXEC:cat", timeout=5) as s:
        assert s.write(b"abc\n") == 4
        assert s.read() == b"abc\n"
        s.shutdown_write()
        assert s.readall() == b""
    assert s.closed
    with pytest.raises(ValueError):
        s.read()


def test_open_read_timeout():
    with pysocat.open("EXEC:cat", timeout=0.2) as s:
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            s.read()
        assert time.monotonic() - t < 3


def test_open_honours_crnl_and_readbytes(tmp_path):
    path = tmp_path / "f"
    with pysocat.open(f"CREATE:{path},crnl", "w") as s:
        s.write(b"a\nb\n")
    assert path.read_bytes() == b"a\r\nb\r\n"
    with pysocat.open(f"OPEN:{path},crnl", "r") as s:
        assert s.readall() == b"a\nb\n"
    with pysocat.open(f"OPEN:{path},readbytes=3", "r") as s:
        assert s.readall() == b"a\r\n"


def test_open_error_is_socats_text():
    with pytest.raises(pysocat.SocatError) as info:
        pysocat.open("OPEN:/nonexistent/x")
    assert info.value.text == 'open("/nonexistent/x", 02, 0666): No such file or directory'
    with pytest.raises(ValueError):
        pysocat.open("EXEC:cat", "x")


def test_open_log_callback():
    got = []
    with pysocat.open("EXEC:cat", log_level="N", on_log=lambda l, t: got.append((l, t))):
        pass
    assert ("N", "forking off child, using socket for reading and writing") in got


# ---------------------------------------------------------------- run (this thread)

def test_run_copies_and_logs_like_the_cli(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"x" * 10000)
    got = []
    status = pysocat.run(f"OPEN:{src}", f"CREATE:{tmp_path}/api", unidirectional=True,
                         block_size=4096, log_level="I",
                         on_log=lambda letter, text: got.append(f"{letter} {text}"))
    assert status == 0
    assert (tmp_path / "api").read_bytes() == src.read_bytes()
    cli = run_pysocat("-ddd", "-u", "-b", "4096", f"OPEN:{src}", f"CREATE:{tmp_path}/cli")
    assert cli.returncode == 0
    texts = [t for t in log_texts(cli.stderr)
             if not t.startswith(("I socat by", "I This product")) and
             t != "N exiting with status 0"]

    def norm(lines):
        import re
        return [re.sub(r"\d+", "#", line.replace(str(tmp_path), "")) for line in lines]
    assert norm(got) == norm(t.replace("/cli", "/api") for t in texts)
    assert sum(t.startswith("I transferred 4096 bytes") for t in got) == 2


def test_run_errors_raise():
    with pytest.raises(pysocat.SocatError) as info:
        pysocat.run("FOO", "-")
    assert info.value.text == 'unknown device/address "FOO"'
    with pytest.raises(pysocat.SocatError) as info:
        pysocat.run("-", "-", unidirectional=True, reverse=True)
    assert info.value.text == "-U and -u must not be combined"
    with pytest.raises(ValueError):
        pysocat.run("-", "-", log_level="X")


# ---------------------------------------------------------------- start (thread)

def test_thread_relay_counts_bytes_per_direction():
    mine, theirs = socket.socketpair()
    relay = pysocat.start(f"FD:{theirs.detach()}", "EXEC:cat").wait_ready()
    try:
        mine.sendall(b"hello")
        assert _recv_exactly(mine, 5) == b"hello"
        deadline = time.monotonic() + 5
        while relay.transferred != (5, 5) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relay.transferred == pysocat.Transferred(5, 5)
        assert relay.local_addresses == (None, None)
        mine.shutdown(socket.SHUT_WR)
        assert relay.wait(timeout=10) == 0
        assert relay.done
    finally:
        mine.close()
        relay.stop()


def test_thread_relay_unidirectional_pipes():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    relay = pysocat.start(f"FD:{r1}", f"FD:{w2}", unidirectional=True).wait_ready()
    os.write(w1, b"data")
    assert os.read(r2, 100) == b"data"
    os.close(w1)
    assert relay.wait(timeout=10) == 0
    assert relay.transferred == (4, 0)
    assert os.read(r2, 100) == b""
    os.close(r2)


def test_stop_an_idle_relay_cleanly():
    relay = pysocat.start("EXEC:cat", "EXEC:cat").wait_ready()
    t = time.monotonic()
    assert relay.stop() == 0
    assert time.monotonic() - t < 3
    assert relay.done and relay.status == 0 and relay.error is None


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_stop_right_after_start(mode):
    for _ in range(3):
        relay = pysocat.start("EXEC:cat", "EXEC:cat", mode=mode)
        assert relay.stop() == 0
        assert relay.done


def test_inactivity_timeout_flag():
    relay = pysocat.start("EXEC:cat", "EXEC:cat", timeout=0.2, log_level="N",
                          on_log=lambda l, t: None)
    assert relay.wait(timeout=5) == 0


def test_background_error_surfaces_in_wait_ready():
    relay = pysocat.start("FOO:x", "-")
    with pytest.raises(pysocat.SocatError) as info:
        relay.wait_ready()
    assert info.value.text == 'unknown device/address "FOO"'
    with pytest.raises(pysocat.SocatError):
        relay.wait()
    assert relay.status == 1


def test_each_thread_relay_gets_its_own_messages():
    from pysocat.log import LOG
    before = (LOG.level, LOG.callback)
    logs = {1: [], 2: []}
    relays = [pysocat.start("EXEC:cat", "EXEC:cat", log_level="N",
                            on_log=lambda l, t, i=i: logs[i].append(t)).wait_ready()
              for i in (1, 2)]
    for r in relays:
        assert r.stop() == 0
    for i in (1, 2):
        loops = [t for t in logs[i] if t.startswith("starting data transfer loop")]
        assert len(loops) == 1
        assert len([t for t in logs[i] if t.startswith("forked off child")]) == 2
    assert (LOG.level, LOG.callback) == before


# ---------------------------------------------------------------- listeners

@pytest.mark.parametrize("listen", _listeners())
def test_listener_reports_port_and_relays(listen):
    relay = pysocat.start(listen, "EXEC:cat").wait_ready()
    try:
        port = relay.port
        assert port and relay.listening[1] == ("127.0.0.1", port)
        with _connect(port) as c:
            c.sendall(b"ping")
            assert _recv_exactly(c, 4) == b"ping"
            deadline = time.monotonic() + 5
            while relay.local_addresses[0] is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert relay.local_addresses[0] == ("127.0.0.1", port)
            c.shutdown(socket.SHUT_WR)
            assert relay.wait(timeout=10) == 0
        assert relay.transferred == (4, 4)
    finally:
        relay.stop()


@pytest.mark.parametrize("listen", _listeners())
def test_stop_wakes_a_listener_in_accept(listen):
    relay = pysocat.start(listen, "EXEC:cat").wait_ready()
    port = relay.port
    t = time.monotonic()
    assert relay.stop() == 0
    assert time.monotonic() - t < 3
    with pytest.raises(OSError):
        _connect(port, timeout=2).close()


def test_context_manager_stops():
    with pysocat.start("APITEST-LISTEN:0", "EXEC:cat").wait_ready() as relay:
        assert relay.port
    assert relay.done and relay.status == 0


def _family(name):
    load_all()
    return pytest.mark.skipif(name not in ADDRESSES, reason=f"{name.upper()} is not implemented yet")


@_family("tcp4-listen")
def test_fork_listener_needs_process_mode():
    with pytest.raises(ValueError, match="process"):
        pysocat.start("TCP4-LISTEN:0,bind=127.0.0.1,fork", "EXEC:cat")
    relay = pysocat.start("TCP4-LISTEN:0,bind=127.0.0.1,fork,reuseaddr", "EXEC:cat",
                          mode="process").wait_ready()
    try:
        for data in (b"one", b"two"):
            with _connect(relay.port) as c:
                c.sendall(data)
                assert _recv_exactly(c, 3) == data
    finally:
        assert relay.stop() == 0


def test_open_a_listener_reports_where():
    import queue
    where = queue.Queue()
    result = {}

    def serve():
        with pysocat.open("APITEST-LISTEN:0", timeout=5, on_listen=where.put) as s:
            result["peer"] = s.peer_address
            result["data"] = s.read()
            s.write(b"back")
    t = threading.Thread(target=serve)
    t.start()
    host, port = where.get(timeout=5)
    with _connect(port) as c:
        c.sendall(b"ping")
        assert _recv_exactly(c, 4) == b"back"
        assert result == {"peer": c.getsockname(), "data": b"ping"}
    t.join(5)


@_family("tcp4-connect")
def test_connector_reports_local_address():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        relay = pysocat.start(f"TCP4:127.0.0.1:{port}", "EXEC:cat").wait_ready()
        try:
            server.settimeout(5)
            conn, peer = server.accept()
            with conn:
                assert relay.local_addresses == (peer, None)
                conn.sendall(b"x")
                assert _recv_exactly(conn, 1) == b"x"
        finally:
            assert relay.stop() == 0
        assert relay.transferred == (1, 1)


@_family("udp4-listen")
def test_udp_listener_reports_port_and_relays():
    relay = pysocat.start("UDP4-LISTEN:0,bind=127.0.0.1", "EXEC:cat").wait_ready()
    try:
        port = relay.port
        assert port and relay.listening[1] == ("127.0.0.1", port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(5)
            c.sendto(b"ping", ("127.0.0.1", port))
            assert c.recv(100) == b"ping"
        deadline = time.monotonic() + 5
        while relay.transferred != (4, 4) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relay.transferred == (4, 4)
    finally:
        assert relay.stop() == 0


@_family("udp4-listen")
def test_stop_wakes_a_udp_listener():
    relay = pysocat.start("UDP4-LISTEN:0,bind=127.0.0.1", "EXEC:cat").wait_ready()
    t = time.monotonic()
    assert relay.stop() == 0
    assert time.monotonic() - t < 3


@_family("unix-listen")
def test_unix_listener_reports_path(tmp_path):
    path = str(tmp_path / "sock")
    relay = pysocat.start(f"UNIX-LISTEN:{path}", "EXEC:cat").wait_ready()
    try:
        assert relay.listening[1] == path and relay.port is None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(5)
            c.connect(path)
            c.sendall(b"ping")
            assert _recv_exactly(c, 4) == b"ping"
    finally:
        assert relay.stop() == 0


# ---------------------------------------------------------------- start (process)

def test_process_relay_runs_and_reports(tmp_path):
    out = tmp_path / "out"
    got = []
    relay = pysocat.start("SYSTEM:echo hi", f"CREATE:{out}", unidirectional=True,
                          mode="process", log_level="N", on_log=lambda l, t: got.append((l, t)))
    assert relay.wait(timeout=10) == 0
    assert out.read_bytes() == b"hi\n"
    assert relay.transferred == (3, 0)
    assert any(l == "N" and t.startswith("starting data transfer loop") for l, t in got)


def test_process_relay_live_counts_and_stop(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    relay = pysocat.start(f"PIPE:{fifo}", f"CREATE:{tmp_path}/out", unidirectional=True,
                          mode="process")
    fd = os.open(fifo, os.O_WRONLY)     # blocks until the relay opened it
    try:
        relay.wait_ready()
        os.write(fd, b"abc")
        deadline = time.monotonic() + 5
        while relay.transferred != (3, 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert relay.transferred == (3, 0)
        assert relay.stop() == 0
    finally:
        os.close(fd)
    assert (tmp_path / "out").read_bytes() == b"abc"
    with pytest.raises(ProcessLookupError):
        os.kill(relay.pid, 0)


def test_process_relay_error():
    relay = pysocat.start("FOO:x", "-", mode="process")
    with pytest.raises(pysocat.SocatError) as info:
        relay.wait(timeout=10)
    assert info.value.text == 'unknown device/address "FOO"'
    assert relay.status == 1


def test_process_relay_ends_when_its_parent_dies(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)     # opening it blocks: nothing can wake the child but its end
    code = ("import pysocat, sys; r = pysocat.start(sys.argv[1], 'EXEC:cat', mode='process'); "
            "print(r.pid, flush=True); import time; time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code, f"PIPE:{fifo}"],
                              stdout=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.3)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break       # ended; its reaper (pid 1) may be slow
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.killpg(child, 9)
        raise AssertionError("the relay process outlived its parent")


def test_process_relay_stop_when_idle():
    relay = pysocat.start("EXEC:cat", "EXEC:cat", mode="process").wait_ready()
    t = time.monotonic()
    assert relay.stop() == 0
    assert time.monotonic() - t < 4


@pytest.mark.parametrize("listen", [p for p in _listeners() if p.id != "apitest"])
def test_process_listener_reports_port(listen):
    relay = pysocat.start(listen, "EXEC:cat", mode="process").wait_ready()
    try:
        with _connect(relay.port) as c:
            c.sendall(b"ping")
            assert _recv_exactly(c, 4) == b"ping"
    finally:
        assert relay.stop() == 0


# ---------------------------------------------------------------- typing

def test_public_api_is_mypy_clean(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    user = tmp_path / "user.py"
    user.write_text(
        "import pysocat\n"
        "spec: pysocat.AddressSpec | pysocat.DualSpec = pysocat.parse('-')\n"
        "steps: dict[str, object] = pysocat.explain('-', 'EXEC:cat', unidirectional=True)\n"
        "status: int = pysocat.run('-', '-', verbose=True, block_size=512)\n"
        "relay: pysocat.Relay = pysocat.start('-', '-', mode='process').wait_ready(1.0)\n"
        "moved: pysocat.Transferred = relay.transferred\n"
        "port: int | None = relay.port\n"
        "with pysocat.open('EXEC:cat') as s:\n"
        "    n: int = s.write(b'x')\n"
        "    data: bytes = s.read()\n")
    files = ["pysocat/__init__.py", "pysocat/api.py", "pysocat/_process.py",
             "pysocat/_logroute.py", "pysocat/pytest_plugin.py", str(user)]
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                        "--cache-dir", str(tmp_path / "cache"), *files],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
