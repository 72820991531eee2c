"""Bad input never crashes; no byte is lost under pressure; signals end cleanly."""
import hashlib
import os
import subprocess
import time

import os as _os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PYSOCAT, SOCAT, log_texts, needs_socat, run_pysocat
from pysocat.addresses import registry
from pysocat.core import resolve
from pysocat.errors import SocatError
from pysocat.options import table
from pysocat.parse import parse
from pysocat.spec import DualSpec

registry.load_all()
table.load_all()
TYPE_NAMES = sorted(registry.ADDRESSES)
OPTION_NAMES = sorted(table.OPTIONS)

values = st.one_of(
    st.none(),
    st.sampled_from(["0", "1", "-1", "0x10", "010", "08", "65536", "99999999999999999999999",
                     "", "x", "1.5", "1e400", "nan", "0:0", "a:b", "[::1]", "1.2.3.4:9090:9090",
                     "root", "nosuchuser", "0777", "9"]),
    st.text(alphabet=st.characters(blacklist_characters="\0", max_codepoint=0x2FF), max_size=12),
)

FUZZ = 50 if _os.environ.get("PYSOCAT_FUZZ") else 1  # make fuzz: 50x the examples


@st.composite
def addresses(draw):
    head = draw(st.sampled_from(TYPE_NAMES + ["FOO", "/tmp/x", "5", "", "-"]))
    params = draw(st.lists(st.text(alphabet="ab1:/.[]", max_size=6), max_size=3))
    opts = draw(st.lists(st.tuples(st.sampled_from(OPTION_NAMES + ["nosuch"]), values), max_size=4))
    text = ":".join([head] + params)
    for name, val in opts:
        text += "," + name + ("" if val is None else "=" + val.replace(",", ""))
    return text


@settings(max_examples=400 * FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(addresses())
def test_resolve_gives_a_spec_or_socats_error(text):
    try:
        spec = parse(text)
        for single in (spec.read, spec.write) if isinstance(spec, DualSpec) else (spec,):
            resolve(single)
    except SocatError as e:
        assert e.text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["FOO", "-,nosuch", "-,readbytes=x", "-,perm=9", "-,cr=1",
                        "EXEC", "EXEC:a:b", "STDIO:x", "-,user=nosuchuser", "OPEN",
                        "'", "\"", "(", "-,escape=0x1g", "-,setpgid"]),
       st.sampled_from(["-", "/dev/null", "FOO:1"]))
def test_cli_never_tracebacks(a, b):
    r = run_pysocat(a, b, timeout=10)
    assert b"Traceback" not in r.stderr
    if r.returncode:
        assert r.returncode == 1
        assert all(t[0] in "EWN" for t in log_texts(r.stderr))


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def test_no_byte_lost_with_slow_consumer(tmp_path):
    """16 MiB through EXEC:cat into a consumer that reads in small, slow steps."""
    src = tmp_path / "src"
    src.write_bytes(os.urandom(16 * 1024 * 1024))
    consumer = ("import sys,time\nh=__import__('hashlib').sha256()\n"
                "n=0\nwhile True:\n b=sys.stdin.buffer.read1(4096)\n if not b: break\n"
                " h.update(b); n+=1\n if n%256==0: time.sleep(0.01)\nprint(h.hexdigest())\n")
    p = subprocess.run(f"{' '.join(PYSOCAT)} -u OPEN:{src} EXEC:cat | "
                       f"python3 -c \"$C\"", shell=True, capture_output=True, timeout=120,
                       env={**os.environ, "C": consumer})
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == _sha(src.read_bytes())


def test_data_written_after_peer_eof_still_arrives():
    """Half-close: the program keeps sending long after our input ended."""
    r = run_pysocat("-t", "2", "-", "SYSTEM:cat >/dev/null; for i in 1 2 3; do echo $i; sleep 0.1; done",
                    input=b"bye")
    assert r.stdout == b"1\n2\n3\n"


def _until_transfer_loop(p, timeout=10.0) -> bytes:
    """stderr of ``p`` up to its 'starting data transfer loop' notice (handlers are in)."""
    import select
    got = b""
    deadline = time.monotonic() + timeout
    while b"starting data transfer loop" not in got and time.monotonic() < deadline:
        if select.select([p.stderr], [], [], 0.1)[0]:
            chunk = os.read(p.stderr.fileno(), 4096)
            if not chunk:
                break
            got += chunk
    return got


def test_sigint_and_sighup_exit_codes():
    for sig, code in ((2, 130), (1, 129)):
        p = subprocess.Popen(PYSOCAT + ["-d", "-d", "-", "EXEC:sleep 5"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = _until_transfer_loop(p)
        p.send_signal(sig)
        _, err = p.communicate(timeout=10)
        assert p.returncode == code
        assert f"N exiting on signal {sig}" in log_texts(head + err)


def test_epipe_on_closed_reader_is_reported_not_raised():
    p = subprocess.run(f"yes | {' '.join(PYSOCAT)} -u - - | head -c 10 >/dev/null",
                       shell=True, capture_output=True, timeout=30)
    assert b"Traceback" not in p.stderr


def _signal_while_listening(prog, sig):
    """``prog`` waits in accept() (the open phase) and gets ``sig``."""
    from sockhelp import free_port
    port = free_port()
    p = subprocess.Popen(prog + ["-d", "-d", f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr", "-"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    want = f"0100007F:{port:04X}"
    while time.monotonic() < deadline:          # until it listens
        with open("/proc/net/tcp") as f:
            if any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:]):
                break
        time.sleep(0.02)
    p.send_signal(sig)
    _, err = p.communicate(timeout=10)
    return p.returncode, [t for t in log_texts(err) if "listening on" not in t]


@needs_socat
@pytest.mark.parametrize("sig", [1, 2, 3, 15])
def test_signal_during_open_as_socat(sig):
    assert _signal_while_listening(PYSOCAT, sig) == _signal_while_listening([SOCAT], sig)
