"""The pytest plugin: registered through package metadata, fixture starts and stops relays."""
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLUGIN_TEST = '''
import socket
import pysocat

started = []

def test_relay_is_ready_and_relays(socat_relay):
    mine, theirs = socket.socketpair()
    relay = socat_relay(f"FD:{theirs.detach()}", "EXEC:cat", log_level="N",
                        on_log=lambda l, t: None)
    started.append(relay)
    assert relay.ready and not relay.done
    mine.settimeout(5)
    mine.sendall(b"abc")
    assert mine.recv(10) == b"abc"
    mine.close()

def test_process_mode(socat_relay):
    relay = socat_relay("EXEC:cat", "EXEC:cat", mode="process")
    started.append(relay)
    assert relay.ready

def test_relays_were_stopped_at_teardown():
    assert len(started) == 2
    assert all(r.done and r.status == 0 for r in started)

def test_ready_timeout_and_errors(socat_relay):
    try:
        socat_relay("FOO:x", "-")
    except pysocat.SocatError as e:
        assert e.text == 'unknown device/address "FOO"'
    else:
        raise AssertionError("no error")
'''


def _registered():
    return any(ep.value == "pysocat.pytest_plugin" for ep in entry_points(group="pytest11"))


def _run_pytest(tmp_path, *extra):
    (tmp_path / "test_uses_plugin.py").write_text(PLUGIN_TEST)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            str(tmp_path / "test_uses_plugin.py"), *extra]
    if not _registered():
        args += ["-p", "pysocat.pytest_plugin"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": ROOT})


def test_entry_point_in_package_metadata(tmp_path):
    setup = open(os.path.join(ROOT, "setup.cfg")).read()
    assert "pytest11 =\n    pysocat = pysocat.pytest_plugin\n" in setup
    if not _registered():
        pytest.skip("this .venv predates the pytest11 entry point: run make install")
    r = subprocess.run([sys.executable, "-m", "pytest", "--trace-config", "--co", "-q",
                        "-p", "no:cacheprovider"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "PLUGIN registered: <module 'pysocat.pytest_plugin'" in r.stdout


def test_fixture_starts_and_tears_down_relays(tmp_path):
    r = _run_pytest(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout
