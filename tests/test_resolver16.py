"""The res-* options: the address's own resolver, against classic socat 1.8.1.3/1.7.4.4.

Every run happens in a private network and mount namespace (only loopback; our
/etc/hosts and resolv.conf bound over the real ones) beside a small DNS server
(tests/dnsserver.py) and a TCP sink on 127.0.0.1:4242, so no lookup can leave
the machine. resolv.conf names 127.0.0.1:53 and searches pysocat.test: the
1.7.4.4 tests put the DNS server there; the 1.8 res-nsaddr tests put it on
port 5353, where only res-nsaddr finds it (port 53 then refuses).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ENV17, ENV18, PYSOCAT, ROOT, SOCAT, SOCAT18, log_texts

pytest.importorskip("dns.message")

needs_ns = pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                              reason="needs root and unshare(1) for a private namespace")
pytestmark = needs_ns

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")
PY = VENV_PY if os.path.exists(VENV_PY) else sys.executable
RECORDS = {"web.pysocat.test": ["127.0.0.1"], "dual.pysocat.test": ["127.0.0.1", "::1"],
           "v6only.pysocat.test": ["::1"]}
RESOLV = "nameserver 127.0.0.1\nsearch pysocat.test\n"
_NS = ('ip link set lo up && mount --bind "$0" /etc/hosts && '
       'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"')


def in_ns(args, version, mode="answer", dns_port=53, resolv=RESOLV, classic=True,
          data="hello res\n"):
    """Run socat (classic or pysocat of ``version``) with ``args`` in a namespace."""
    if classic:
        binary, env = ([SOCAT18] if version == "1.8.1.3" else [SOCAT]), os.environ
        if not binary[0] or not os.path.exists(binary[0]):
            pytest.skip(f"classic socat {version} missing")
    else:
        binary, env = PYSOCAT, (ENV18 if version == "1.8.1.3" else ENV17)
    cfg = {"argv": binary + args, "records": RECORDS, "mode": mode, "dns_port": dns_port,
           "input": data}
    with tempfile.TemporaryDirectory() as d:
        hosts, conf = os.path.join(d, "hosts"), os.path.join(d, "resolv.conf")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        with open(conf, "w") as f:
            f.write(resolv)
        r = subprocess.run(["unshare", "-m", "-n", "sh", "-c", _NS, hosts, conf, PY,
                            os.path.join(HERE, "dns_driver.py"), json.dumps(cfg)],
                           capture_output=True, timeout=90, env=env)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    out = json.loads(r.stdout)
    assert "Traceback" not in out["stderr"], out["stderr"]
    return out


def norm(stderr: str) -> list:
    out = []
    for line in log_texts(stderr.encode()):
        if line.startswith("D ") and "_res" not in line and "res_init" not in line:
            continue
        line = re.sub(r"\((\d+), ", "(FD, ", line)
        line = re.sub(r"FDs \[[\d,]+\] and \[[\d,]+\]", "FDs [..]", line)
        line = re.sub(r"\(fd \d+\)", "(fd N)", line)
        line = re.sub(r"(local address AF=2 127\.0\.0\.1):\d+", r"\1:PORT", line)
        out.append(line)
    return out


def both(args, version, **kw):
    """Classic and pysocat: same exit code, bytes at the sink and log lines."""
    c = in_ns(args, version, classic=True, **kw)
    p = in_ns(args, version, classic=False, **kw)
    assert (p["rc"], p["received"]) == (c["rc"], c["received"]), (c, p)
    assert norm(p["stderr"]) == norm(c["stderr"]), (c["stderr"], p["stderr"])
    return c, p


def kinds(run) -> set:
    return {(q[0], q[1], q[2]) for q in run["queries"]}


# --- 1.8: res-nsaddr and its aliases ---------------------------------------------

@pytest.mark.parametrize("name", ["res-nsaddr", "dns", "nameserver", "nsaddr"])
def test_nsaddr_asks_that_server(name):
    args = ["-dd", "-u", "-", f"TCP:web.pysocat.test:4242,{name}={{dns}}"]
    c, p = both(args, "1.8.1.3", dns_port=5353)
    assert p["rc"] == 0 and p["received"] == ["hello res\n"]
    assert ("udp", "web.pysocat.test", "A") in kinds(p)
    assert all(q[0] == "udp" for q in p["queries"])


def test_nsaddr_debug_lines():
    """-dddd: res_init() and the changed _res fields, as socat logs them."""
    args = ["-dddd", "-u", "-", "TCP4:web.pysocat.test:4242,res-nsaddr=127.0.0.1:5353,"
            "res-retrans=3,res-retry=1,usevc=1,recurse=0"]
    c = in_ns(args, "1.8.1.3", dns_port=5353)
    p = in_ns(args, "1.8.1.3", dns_port=5353, classic=False)
    res = [ln for ln in log_texts(c["stderr"].encode()) if "_res" in ln or "res_init" in ln]
    assert res == [ln for ln in log_texts(p["stderr"].encode())
                   if "_res" in ln or "res_init" in ln]
    assert "D changed _res.nsaddr_list[0] from 127.0.0.1:53 to 127.0.0.1:5353" in res
    assert p["received"] == c["received"] == ["hello res\n"]


def test_nsaddr_port_zero_means_53():
    both(["-dd", "-u", "-", "TCP:web.pysocat.test:4242,res-nsaddr=127.0.0.1:0"], "1.8.1.3")


def test_without_nsaddr_the_configured_server_is_asked():
    """Only res-nsaddr moves the question away from resolv.conf's 127.0.0.1:53,
    where nothing listens here: a temporary failure, in both."""
    c, p = both(["-dd", "-u", "-", "TCP:web.pysocat.test:4242,res-retry=1"], "1.8.1.3",
                dns_port=5353)
    assert p["rc"] != 0 and p["queries"] == []


def test_name_not_found():
    c, p = both(["-dd", "-u", "-", "TCP:nosuch.pysocat.test:4242,dns={dns}"], "1.8.1.3",
                dns_port=5353)
    assert p["rc"] == 1
    assert any("Name or service not known" in ln for ln in norm(p["stderr"]))


def test_every_address_tried_preferred_first():
    """dual has ::1 and 127.0.0.1; with -6 the IPv6 one is tried first and
    refused (the sink is IPv4), then the IPv4 one connects (1.8)."""
    c, p = both(["-dd", "-6", "-u", "-", "TCP:dual.pysocat.test:4242,dns={dns}"], "1.8.1.3",
                dns_port=5353)
    assert p["received"] == ["hello res\n"]


@pytest.mark.parametrize("value", ["a..b", "127.0.0.1:xyz", "[::1]", "", "127.0.0.1:53x"])
def test_nsaddr_bad_values(value):
    both(["-dd", "-u", "-", f"TCP4:127.0.0.1:4242,res-nsaddr={value}"], "1.8.1.3")


def test_nsaddr_unknown_under_17():
    c, p = both(["-dd", "-u", "-", "TCP4:127.0.0.1:4242,res-nsaddr=127.0.0.1"], "1.7.4.4")
    assert p["rc"] == 1
    assert 'E parseopts_table(): unknown option "res-nsaddr"' in norm(p["stderr"])
    for name in ("res-retrans", "retrans", "res-maxretrans", "res-retry", "res-maxretry",
                 "dns", "nameserver", "nsaddr"):
        p = in_ns(["-u", "-", f"TCP4:127.0.0.1:4242,{name}=1"], "1.7.4.4", classic=False)
        assert norm(p["stderr"]) == [f'E parseopts_table(): unknown option "{name}"']


# --- retry and retrans bound the time on a silent server ---------------------------

def test_retry_retrans_bound_the_time():
    args = ["-dd", "-u", "-", "TCP:web.pysocat.test:4242,dns={dns},res-retrans=1,res-retry=1"]
    c, p = both(args, "1.8.1.3", mode="silent", dns_port=5353)
    assert p["rc"] == c["rc"] != 0
    assert any("Temporary failure in name resolution" in ln for ln in norm(p["stderr"]))
    # glibc asks twice per try here (classic ~2-4 s); the default would be 10 s or more
    assert 0.9 < p["elapsed"] < 4 and c["elapsed"] < 8
    assert p["queries"]


def test_retry_zero_asks_nothing():
    args = ["-dd", "-u", "-", "TCP:web.pysocat.test:4242,dns={dns},res-retry=0"]
    c, p = both(args, "1.8.1.3", mode="silent", dns_port=5353)
    assert p["queries"] == c["queries"] == [] and p["elapsed"] < 3


# --- the RES_* bits, under both versions (1.7.4.4: resolv.conf's server) -------------

VERSIONS = ["1.8.1.3", "1.7.4.4"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["res-usevc", "usevc"])
def test_usevc_asks_over_tcp(version, name):
    c, p = both(["-dd", "-u", "-", f"TCP4:web.pysocat.test:4242,{name}"], version)
    assert p["received"] == ["hello res\n"]
    assert p["queries"] and all(q[0] == "tcp" for q in p["queries"])


@pytest.mark.parametrize("version", VERSIONS)
def test_truncated_answer_asked_again_over_tcp(version):
    c, p = both(["-dd", "-u", "-", "TCP4:web.pysocat.test:4242,res-recurse"], version,
                mode="truncate")
    assert p["received"] == ["hello res\n"]
    assert {q[0] for q in p["queries"]} == {"udp", "tcp"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["res-igntc", "igntc"])
def test_igntc_takes_the_truncated_answer(version, name):
    c, p = both(["-dd", "-u", "-", f"TCP4:web.pysocat.test:4242,{name}"], version,
                mode="truncate")
    assert p["rc"] == 1 and p["received"] == []
    assert {q[0] for q in p["queries"]} == {"udp"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value,rd", [("0", False), ("1", True)])
def test_recurse_is_the_rd_bit(version, value, rd):
    c, p = both(["-dd", "-u", "-", f"TCP4:web.pysocat.test:4242,recurse={value}"], version)
    assert p["received"] == ["hello res\n"]
    assert {q[3] for q in p["queries"]} == {q[3] for q in c["queries"]} == {rd}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("opt,host,found", [
    ("defnames", "web", True), ("defnames=0", "web", False),
    ("dnsrch", "web", True), ("dnsrch=0", "web", True),
    ("dnsrch", "web.pysocat", False), ("dnsrch=0", "web.pysocat", False),
    ("res-defnames=0", "web.pysocat.test", True),
])
def test_search_list(version, opt, host, found):
    """resolv.conf searches pysocat.test: RES_DEFNAMES for names without dots,
    RES_DNSRCH for dotted ones."""
    c, p = both(["-dd", "-u", "-", f"TCP4:{host}:4242,{opt}"], version)
    assert (p["received"] == ["hello res\n"]) == found
    assert {q[1] for q in p["queries"]} == {q[1] for q in c["queries"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_debug_and_stayopen_accepted(version):
    args = ["-dddd", "-u", "-", "TCP4:web.pysocat.test:4242,res-debug,stayopen,res-usevc"]
    c = in_ns(args, version)
    p = in_ns(args, version, classic=False)
    pick = [ln for ln in log_texts(c["stderr"].encode()) if "_res" in ln]
    assert pick and pick == [ln for ln in log_texts(p["stderr"].encode()) if "_res" in ln]
    assert p["received"] == c["received"] == ["hello res\n"]


def test_stayopen_keeps_one_connection():
    """usevc: without stayopen each query of the search list gets a new TCP
    connection; with it they share one (as glibc)."""
    for opt in ("usevc", "usevc,stayopen"):
        c, p = both(["-dd", "-u", "-", f"TCP4:web:4242,{opt},dnsrch"], "1.8.1.3",
                    resolv="nameserver 127.0.0.1\nsearch nosuch.test pysocat.test\n")
        assert p["accepts"] == c["accepts"], (opt, c["accepts"], p["accepts"])


# --- without res-* the resolver is not involved --------------------------------------

def test_plain_addresses_stay_on_getaddrinfo():
    code = ("import sys; from pysocat.cli import main\n"
            "try:\n  main(['pysocat', '-u', '/dev/null', 'TCP4:localhost:1'])\n"
            "except SystemExit: pass\n"
            "print('dns' in sys.modules, 'pysocat.resolver' in sys.modules)")
    r = subprocess.run([PY, "-c", code], capture_output=True, timeout=30, env=ENV18)
    assert r.stdout.decode().split() == ["False", "False"], r.stderr.decode()
