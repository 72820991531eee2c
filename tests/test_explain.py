"""--explain: how an address is read and what its open would do, without opening it."""
import importlib
import json
import os

import pytest

from conftest import log_texts, needs_socat, run_pysocat, run_socat
from schema_check import errors

from pysocat.addresses import registry
from pysocat.errors import SocatError
from pysocat.options import table

ex = importlib.import_module("pysocat.explain")  # pysocat.explain is the API function

SCHEMA = json.load(open(os.path.join(os.path.dirname(ex.__file__), "explain.schema.json")))


def valid(data):
    problems = errors(data, SCHEMA)
    assert not problems, "\n".join(problems)
    return data


def jexplain(*args):
    r = run_pysocat("--explain", "--json", *args)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    return valid(json.loads(r.stdout))


def part(data, index=1, n=0):
    return data["addresses"][index - 1]["parts"][n]


def step_calls(p):
    return [s["call"] for s in p["steps"]]


# ---------------------------------------------------------------- families

FAMILY_CASES = [
    ("-", "stdio", "alias", "use fd 0 (stdin) for reading and fd 1 (stdout) for writing"),
    ("STDIN", "stdin", "name", "use fd 0 (stdin) for reading and writing"),
    ("stdout", "stdout", "name", "use fd 1 (stdout) for reading and writing"),
    ("STDERR", "stderr", "name", "use fd 2 (stderr) for reading and writing"),
    ("FD:7", "fd", "name", "use file descriptor 7 as it is"),
    ("7", "fd", "fd-number", "use file descriptor 7 as it is"),
    ("OPEN:/tmp/x-explain,creat,trunc", "open", "name", 'open("/tmp/x-explain", O_RDWR|O_CREAT|O_TRUNC, 0666)'),
    ("CREAT:/tmp/x-explain,perm=0600", "create", "alias", 'creat("/tmp/x-explain", 0600)'),
    ("/tmp/x-explain", "gopen", "file-name", 'stat("/tmp/x-explain")'),
    ("GOPEN:/tmp/x-explain", "gopen", "name", 'open("/tmp/x-explain", O_RDWR, 0666)'),
    ("PIPE", "pipe", "name", "pipe()"),
    ("ECHO", "pipe", "alias", "pipe()"),
    ("PIPE:/tmp/x-explain-fifo", "pipe", "name", 'mkfifo("/tmp/x-explain-fifo", 0666)'),
    ("EXEC:cat -n,pty", "exec", "name", 'execvp("cat", ["cat", "-n"])'),
    # 1.7.4.4 (the tests' profile) runs what precedes the first ':'
    ("SYSTEM:echo a:b,pipes", "system", "name", '["sh", "-c", "echo a"]'),
    ("TUN:10.9.0.1/24,up", "tun", "name", "TUNSETIFF"),
]


@pytest.mark.parametrize("text,typ,via,call", FAMILY_CASES)
def test_every_family(text, typ, via, call):
    d = jexplain(text)
    p = part(d)
    assert (p["type"], p["via"]) == (typ, via)
    assert any(call in c for c in step_calls(p)), step_calls(p)
    assert d["relay"] is None


NETWORK_CASES = [
    ("TCP4:127.0.0.1:80", "tcp4-connect", "alias", "connect(fd, 127.0.0.1:80)", "stream"),
    ("TCP-L:8080", "tcp-listen", "alias", "listen(", "stream"),
    ("UDP4-RECVFROM:5000", "udp4-recvfrom", "name", "recvfrom()", "datagram"),
    ("UDP-SENDTO:127.0.0.1:9", "udp-sendto", "name", "sendto(fd, 127.0.0.1:9)", "datagram"),
    ("UDP6-LISTEN:5000", "udp6-listen", "name", "first packet", "datagram"),
    ("IP4-SENDTO:127.0.0.1:47", "ip4-sendto", "name", "SOCK_RAW, 47", "datagram"),
    ("INTERFACE:lo", "interface", "name", "AF_PACKET", "packet"),
]


@pytest.mark.parametrize("text,typ,via,call,transport", NETWORK_CASES)
def test_network_families(text, typ, via, call, transport):
    if typ not in _names():
        pytest.skip(f"no {typ} row yet")
    p = part(jexplain(text, "-"))
    assert (p["type"], p["via"], p["transport"]) == (typ, via, transport)
    assert any(call in c for c in step_calls(p)), step_calls(p)


def test_every_registered_type_explains():
    """A row added by any family (even one without steps) explains cleanly."""
    registry.load_all()
    for row in registry.ROWS:
        lo = row.nparams[0]
        params = {"tun": ["10.9.0.1/24"], "fd": ["3"]}.get(row.name, ["127.0.0.1", "9"][:lo] if lo <= 2 else ["x"] * lo)
        if row.name in ("exec", "system"):
            params = ["true"]
        text = ":".join([row.name] + params)
        try:
            data = ex.explain(text)
        except SocatError:
            continue              # parameters a family rejects statically
        valid(data)
        assert part(data)["type"] == row.name
        assert part(data)["steps"]


def test_seed_command_tun_steps_in_order():
    d = jexplain("TUN:10.9.0.1/24,up,tun-name=tun-expl", "UDP4-DATAGRAM:127.0.0.1:4790"
                 if "udp4-datagram" in _names() else "-")
    calls = step_calls(part(d))
    want = ['open("/dev/net/tun"', "TUNSETIFF", "10.9.0.1/24", "IFF_UP"]
    idx = [next(i for i, c in enumerate(calls) if w in c) for w in want]
    assert idx == sorted(idx)
    steps = part(d)["steps"]
    assert "iff-up" in steps[idx[3]]["options"] and "tun-name" in steps[idx[1]]["options"]
    assert part(d)["transport"] == "packet"
    codes = {w["code"] for w in d["warnings"]}
    assert {"needs-cap-net-admin", "tunnel-mtu"} <= codes


def _names():
    registry.load_all()
    return set(registry.ADDRESSES)


def test_split_shows_quotes_resolved_and_options_with_canonical_names():
    d = jexplain("""EXEC:'cat -n',pty,sid,login""")
    p = part(d)
    assert p["split"] == {"head": "EXEC", "params": ["cat -n"],
                          "options": ["pty", "sid", "login"], "parser": "grammar"}
    assert p["params"][0]["name"] == "command-line" and p["params"][0]["value"] == "cat -n"
    by = {o["given"]: o for o in p["options"]}
    assert by["sid"]["name"] == "setsid" and by["login"]["name"] == "dash"
    assert by["pty"]["value"] is True and by["pty"]["phase"] == "BIGEN"
    assert by["pty"]["groups"] == ["FORK"] and by["pty"]["type"] == "BOOL"
    assert by["pty"]["help"]


def test_parameter_values_are_explained():
    p = part(jexplain("TUN:10.9.0.1/24"))
    assert p["params"][0]["name"] == "ip-addr/bits"
    assert "prefix length 24 (netmask 255.255.255.0)" in p["params"][0]["meaning"]


def test_option_values_are_parsed():
    p = part(jexplain("OPEN:/tmp/x-explain,perm=0640,readbytes=0x10,cr"))
    by = {o["name"]: o for o in p["options"]}
    assert by["perm"]["value"] == 0o640 and by["perm"]["type"] == "MODE_T"
    assert by["readbytes"]["value"] == 16 and by["readbytes"]["type"] == "SIZE_T"
    assert by["cr"]["value"] is True and by["cr"]["type"] == "CONST"


def test_options_are_shown_at_the_step_of_their_phase():
    p = part(jexplain("OPEN:/tmp/x-explain,creat,unlink-early,perm=0600"))
    where = {o: s["call"] for s in p["steps"] for o in s["options"]}
    assert where["unlink-early"].startswith("unlink(")
    assert where["o-create"].startswith("open(")
    assert "LATE" in [s["phase"] for s in p["steps"] if "perm" in s["options"]]


def test_dual_address_parts():
    d = jexplain("PIPE!!/dev/null", "-")
    a = d["addresses"][0]
    assert a["kind"] == "dual"
    assert [(p["role"], p["type"]) for p in a["parts"]] == [("read", "pipe"), ("write", "gopen")]


def test_dual_address_unidirectional_warns_like_a_run():
    d = jexplain("-u", "-", "PIPE!!/dev/null")
    a = d["addresses"][1]
    assert [p["role"] for p in a["parts"]] == ["write"]
    assert {"code": "dual-unidirectional", "kind": "runtime", "severity": "W",
            "text": "unidirectional open of dual address", "address": 2} in d["warnings"]


# ------------------------------------------------------------------ relay

def test_relay_both_directions_and_flags():
    d = jexplain("-b", "4096", "-t", "2", "-T", "9", "-x", "-", "EXEC:cat")
    r = d["relay"]
    assert r["direction"] == "both" and r["block_size"] == 4096
    assert r["closing_timeout"] == 2 and r["total_timeout"] == 9 and r["dump"] == "hex"
    assert [(f["from"], f["to"]) for f in r["flows"]] == [(1, 2), (2, 1)]
    assert r["flows"][0]["reads"] == "inherited" and r["flows"][0]["writes"] == "stream"


@pytest.mark.parametrize("flag,flow,modes", [
    ("-u", (1, 2), ("reading", "writing")),
    ("-U", (2, 1), ("writing", "reading")),
])
def test_relay_unidirectional(flag, flow, modes):
    d = jexplain(flag, "-", "PIPE")
    assert [(f["from"], f["to"]) for f in d["relay"]["flows"]] == [flow]
    assert tuple(a["mode"] for a in d["addresses"]) == modes


def test_packets_into_a_stream_lose_boundaries():
    d = jexplain("TUN:10.9.0.1/24", "EXEC:cat")
    assert "boundaries-lost" in {w["code"] for w in d["warnings"]}


# --------------------------------------------------------------- warnings

@pytest.fixture
def socket_rows():
    """udp-connect and bind, the real rows when they exist, else stand-ins for the test."""
    from pysocat.options.table import OptDef
    registry.load_all()
    table.load_all()
    added_rows, added_opts = [], []
    if "bind" not in table.OPTIONS:
        row = OptDef("bind", "STRING", frozenset({"SOCKET"}), "BIND", ("addr",), "local address")
        table.OPTIONS["bind"] = row
        added_opts.append("bind")
    if "udp-connect" not in registry.ADDRESSES:
        row = registry.AddrDef("udp-connect", ":<host>:<port>", (2, 2),
                               frozenset({"FD", "SOCKET", "IP4", "IP6", "UDP"}), None, "UDP",
                               "UDP socket connected to host:port", ("udp",), ("host", "port"))
        registry.ADDRESSES["udp-connect"] = registry.ADDRESSES["udp"] = row
        added_rows += ["udp-connect", "udp"]
    yield
    for n in added_rows:
        del registry.ADDRESSES[n]
    for n in added_opts:
        del table.OPTIONS[n]


@pytest.fixture
def tcp_rows():
    """tcp4-connect, tcp-listen, fork and backlog: real rows when they exist, else stand-ins."""
    from pysocat.options.table import OptDef
    registry.load_all()
    table.load_all()
    added_rows, added_opts = [], []
    for name, vtype, groups, phase in (("bind", "STRING", "SOCKET", "BIND"),
                                       ("fork", "BOOL", "CHILD", "PASTACCEPT"),
                                       ("backlog", "INT", "LISTEN", "LISTEN")):
        if name not in table.OPTIONS:
            table.OPTIONS[name] = OptDef(name, vtype, frozenset({groups}), phase)
            added_opts.append(name)
    for name, groups, params, alias in (
            ("tcp4-connect", "FD,SOCKET,CHILD,RETRY,IP4,TCP", ("host", "port"), "tcp4"),
            ("tcp-listen", "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,TCP", ("port",), "tcp-l")):
        if name not in registry.ADDRESSES:
            row = registry.AddrDef(name, "", (len(params),) * 2, frozenset(groups.split(",")),
                                   None, "TCP", "", (alias,), params)
            registry.ADDRESSES[name] = registry.ADDRESSES[alias] = row
            added_rows += [name, alias]
    yield
    for n in added_rows:
        del registry.ADDRESSES[n]
    for n in added_opts:
        del table.OPTIONS[n]


def _order(calls, *words):
    idx = [next(i for i, c in enumerate(calls) if w in c) for w in words]
    return idx == sorted(idx)


def test_tcp_connect_steps(tcp_rows):
    d = valid(ex.explain("TCP4:127.0.0.1:80,bind=127.0.0.1", "-"))
    p = part(d)
    assert p["type"] == "tcp4-connect" and p["transport"] == "stream"
    calls = step_calls(p)
    assert _order(calls, "socket(", "bind(", "connect(")
    assert any("127.0.0.1:80" in c for c in calls)
    assert "bind" in [o for s in p["steps"] if "bind(" in s["call"] for o in s["options"]]
    assert d["relay"]["flows"][0]["reads"] == "stream"


def test_tcp_listen_steps(tcp_rows):
    p = part(valid(ex.explain("TCP-L:8080,fork,backlog=3")))
    calls = step_calls(p)
    assert _order(calls, "socket(", "bind(", "listen(", "accept")
    where = {o: s["call"] for s in p["steps"] for o in s["options"]}
    assert "fork" in where["fork"] and "listen" in where["backlog"]


def test_listen_bind_with_a_port_is_explained(tcp_rows):
    d = valid(ex.explain("TCP-L:8080,bind=127.0.0.1:9090:9090"))
    w = [w for w in d["warnings"] if w["code"] == "bind-port-in-listen"]
    assert w and 'getaddrinfo("127.0.0.1:9090:9090"' in w[0]["text"]
    assert not [w for w in valid(ex.explain("TCP-L:8080,bind=::1"))["warnings"]
                if w["code"].startswith("bind")]


def test_setsockopt_options_are_named():
    table.load_all()
    if "so-reuseaddr" not in table.OPTIONS or "tcp4-listen" not in _names():
        pytest.skip("no socket option rows yet")
    p = part(valid(ex.explain("TCP4-L:8080,reuseaddr")))
    o = p["options"][0]
    assert o["name"] == "so-reuseaddr" and o["phase"] == "PREBIND"
    assert o["applied_by"].startswith("setsockopt(fd, SOL_SOCKET, SO_REUSEADDR")
    # the PREBIND step that says what happens to SO_REUSEADDR (TCP listeners)
    assert "so-reuseaddr" in next(s for s in p["steps"]
                                  if s["phase"] in ("PREBIND", "BIND"))["options"]


def test_connected_udp_pitfall(socket_rows):
    d = valid(ex.explain("UDP:127.0.0.1:9"))
    p = part(d)
    assert p["type"] == "udp-connect" and p["via"] == "alias"
    assert p["transport"] == "datagram"
    w = [w for w in d["warnings"] if w["code"] == "udp-connected"]
    assert w and "Connection refused" in w[0]["text"] and "UDP-DATAGRAM" in w[0]["text"]


@pytest.fixture
def udp_rows():
    """The UDP rows (real ones when they exist, else stand-ins) and fork."""
    from pysocat.options.table import OptDef
    registry.load_all()
    table.load_all()
    added_rows, added_opts = [], []
    if "fork" not in table.OPTIONS:
        table.OPTIONS["fork"] = OptDef("fork", "BOOL", frozenset({"CHILD"}), "PASTACCEPT")
        added_opts.append("fork")
    for name, groups, params in (
            ("udp4-listen", "FD,SOCKET,LISTEN,CHILD,RANGE,IP4,UDP", ("port",)),
            ("udp4-recvfrom", "FD,SOCKET,CHILD,RANGE,IP4,UDP", ("port",)),
            ("udp4-recv", "FD,SOCKET,RANGE,IP4,UDP", ("port",)),
            ("udp4-datagram", "FD,SOCKET,RANGE,IP4,UDP", ("host", "port"))):
        if name not in registry.ADDRESSES:
            registry.ADDRESSES[name] = registry.AddrDef(
                name, "", (len(params),) * 2, frozenset(groups.split(",")), None, "UDP", "", (),
                params)
            added_rows.append(name)
    yield
    for n in added_rows:
        del registry.ADDRESSES[n]
    for n in added_opts:
        del table.OPTIONS[n]


def _codes(d):
    return {w["code"] for w in d["warnings"]}


def test_udp_listen_steps_and_notes(udp_rows):
    d = valid(ex.explain("UDP4-LISTEN:5000", "-"))
    p = part(d)
    assert p["transport"] == "datagram"
    assert _order(step_calls(p), "socket(", "bind(", "first packet", "connect(")
    assert {"udp-listen-one-peer", "udp-no-eof"} <= _codes(d)
    assert "udp-no-eof" not in _codes(valid(ex.explain("UDP4-LISTEN:5000", "-", ["-T", "5"])))


def test_udp_recvfrom_and_recv_notes(udp_rows):
    assert "udp-recvfrom-one-packet" in _codes(valid(ex.explain("UDP4-RECVFROM:5000")))
    assert "udp-recvfrom-one-packet" not in _codes(valid(ex.explain("UDP4-RECVFROM:5000,fork")))
    assert "udp-recv-no-replies" in _codes(valid(ex.explain("UDP4-RECV:5000", "-")))
    assert "udp-recv-no-replies" not in _codes(valid(ex.explain("UDP4-RECV:5000", "-", ["-u"])))


def test_seed_tun_over_udp(udp_rows):
    """The issue's seed: a TUN relayed over UDP between two hosts."""
    d = valid(ex.explain("TUN:10.9.0.1/24,up", "UDP4-DATAGRAM:127.0.0.1:4790"))
    assert [part(d, i)["transport"] for i in (1, 2)] == ["packet", "datagram"]
    assert _order(step_calls(part(d, 2)), "socket(", "127.0.0.1:4790")
    assert {"needs-cap-net-admin", "tunnel-mtu"} <= _codes(d)
    assert "boundaries-lost" not in _codes(d)
    assert [(f["reads"], f["writes"]) for f in d["relay"]["flows"]] == [
        ("packet", "datagram"), ("datagram", "packet")]


def test_bind_trailing_data_warns_with_socats_text(socket_rows):
    d = valid(ex.explain("UDP:127.0.0.1:9,bind=1.2.3.4:9090:9090"))
    assert {"code": "bind-trailing-data", "kind": "runtime", "severity": "W",
            "text": 'xiogetaddrinfo(, "9090:9090", ...): extra trailing data ":9090"',
            "address": 1} in d["warnings"]
    assert not [w for w in valid(ex.explain("UDP:127.0.0.1:9,bind=1.2.3.4:9090"))["warnings"]
                if w["code"] == "bind-trailing-data"]


@pytest.mark.parametrize("run", ["pysocat", pytest.param("socat", marks=needs_socat)])
def test_bind_trailing_data_is_what_a_run_logs(run):
    if "udp4-connect" not in _names():
        pytest.skip("no UDP rows yet")
    addr = "UDP4:127.0.0.1:9,bind=127.0.0.1:0:9090"
    d = jexplain("-", addr)
    want = ["W " + w["text"] for w in d["warnings"] if w["kind"] == "runtime"]
    assert want == ['W xiogetaddrinfo(, "0:9090", ...): extra trailing data ":9090"']
    r = (run_pysocat if run == "pysocat" else run_socat)("-d", "-T", "0.2", "-", addr)
    assert [t for t in log_texts(r.stderr) if t.startswith("W ")] == want


def test_option_outside_groups_with_g():
    d = jexplain("-g", "-,path=/bin")
    o = part(d)["options"][0]
    assert o["in_groups"] is False
    assert "option-outside-groups" in {w["code"] for w in d["warnings"]}


# ------------------------------------------------------------------ errors

ERRORS = [
    ["FOO"],
    ["-,foo"],
    ["-,path=/bin"],
    ["EXEC:echo:x"],
    ["STDIO:x"],
    ["PIPE:a:b"],
    ['SYSTEM:"echo'],
    ["-,readbytes=5x"],
    ["-,cr=1"],
    ["FD:x"],
]

# a run would create the interface before failing: compare with the texts instead
TUN_ERRORS = [
    ("TUN:10.9.0.1/40", 'E netmask "10.9.0.1/40" is too large'),
    ("TUN:10.9.0.1", 'E xioparsenetwork_ip4("10.9.0.1",,): missing netmask delimiter'),
    ("TUN:10.9.0.1/24,tun-type=x", 'E unknown tun-type "x"'),
    ("TUN:1:2", "E TUN: wrong number of parameters (2 instead of 0 or 1)"),
]


@pytest.mark.parametrize("addr", ERRORS)
def test_errors_are_the_run_time_errors(addr):
    """Same text and exit status as a run (address 2: address 1 is opened first)."""
    r = run_pysocat("--explain", "-", *addr)
    run = run_pysocat("-T", "0.1", "PIPE", *addr)
    assert r.returncode == run.returncode == 1
    assert r.stdout == b""
    assert log_texts(r.stderr) == log_texts(run.stderr)
    assert len(log_texts(r.stderr)) == 1 and log_texts(r.stderr)[0].startswith("E ")
    assert b"Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["-u", "EXEC:cat,fdin=3", "-"],
    ["-U", "EXEC:cat,fdout=3", "-"],
    ["EXEC:cat,nofork", "-"],
])
def test_program_errors_are_the_run_time_errors(args):
    r = run_pysocat("--explain", *args)
    run = run_pysocat("-T", "0.1", *args)
    assert r.returncode == run.returncode == 1 and r.stdout == b""
    assert log_texts(r.stderr) == log_texts(run.stderr) and len(log_texts(r.stderr)) == 1


def test_pipes_and_pty_warns_like_a_run():
    d = jexplain("-", "EXEC:cat,pty,pipes")
    text = '_xioopen_foxec(): options "pipes" and "pty" must not be specified together; ignoring "pipes"'
    assert {"code": "runtime-warning", "kind": "runtime", "severity": "W", "text": text,
            "address": 2} in d["warnings"]
    assert "openpty()" in step_calls(part(d, 2))[0]
    run = run_pysocat("-d", "-T", "0.5", "PIPE", "EXEC:true,pty,pipes")
    assert "W " + text in log_texts(run.stderr)


@pytest.mark.parametrize("addr,text", TUN_ERRORS)
def test_tun_errors(addr, text):
    r = run_pysocat("--explain", addr)
    assert r.returncode == 1 and r.stdout == b"" and log_texts(r.stderr) == [text]


@pytest.mark.parametrize("args,text", [
    ([], "E --explain: one or two addresses required (there are 0); use option \"-h\" for help"),
    (["-", "-", "-"], "E --explain: one or two addresses required (there are 3); use option \"-h\" for help"),
    (["-u", "-U", "-"], "E -U and -u must not be combined"),
])
def test_explain_usage_errors(args, text):
    r = run_pysocat("--explain", *args)
    assert r.returncode == 1 and log_texts(r.stderr) == [text]


def test_api_raises_socat_error():
    with pytest.raises(SocatError) as e:
        ex.explain("-", "FOO")
    assert e.value.text == 'unknown device/address "FOO"'


# ------------------------------------------------------------ opens nothing

def test_nothing_is_opened_or_run(tmp_path):
    f, fifo, mark, dump = (tmp_path / n for n in ("file", "fifo", "mark", "dump"))
    r = run_pysocat("--explain", "-r", str(dump), f"OPEN:{f},creat", f"SYSTEM:touch {mark}")
    assert r.returncode == 0
    r = run_pysocat("--explain", f"PIPE:{fifo}", f"CREATE:{f}")
    assert r.returncode == 0
    assert sorted(os.listdir(tmp_path)) == []


def test_socat_flags_still_work_without_explain():
    r = run_pysocat("--json", "-", "-")
    assert r.returncode == 0 and json.loads(r.stdout)["relay"]["direction"] == "both"
    r = run_pysocat("--nonsense", "-", "-")
    assert log_texts(r.stderr) == ['E unknown option "--nonsense"; use option "-h" for help']


# ------------------------------------------------------------------- text

def test_text_output():
    r = run_pysocat("--explain", "-u", "-b", "512", "OPEN:/tmp/x-explain,rdonly", "EXEC:cat")
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "address 1: OPEN:/tmp/x-explain,rdonly" in out
    assert "option o-rdonly (given as rdonly) = true" in out
    assert 'open("/tmp/x-explain", O_RDONLY, 0666)' in out
    assert "address 1 (stream) -> address 2 (stream), reads of up to 512 bytes" in out
    assert "unidirectional (left-to-right)" in out


def test_api_flags_leave_the_log_alone():
    from pysocat.log import LOG
    level = LOG.level
    ex.explain("-", flags=["-dddd", "-lp", "other"])
    assert LOG.level == level and LOG.progname != "other"


def test_api_flags_as_list_or_config():
    from pysocat.core import Config
    a = ex.explain("-", "PIPE", ["-U", "-b", "100"])
    b = ex.explain("-", "PIPE", Config(direction="rl", bufsize=100))
    assert a == b and valid(a)["relay"]["direction"] == "right-to-left"


@pytest.mark.parametrize("text", ["", ",", "!!", "-!!", ":", "a\\", "'", "{[(", "FD:", "x:y,=,=="])
def test_odd_inputs_never_trace_back(text):
    r = run_pysocat("--explain", text)
    assert b"Traceback" not in r.stderr
    if r.returncode == 0:
        valid(json.loads(run_pysocat("--json", text).stdout))


# ---------------------------------------------------------------- versions

def jexplain_in(version, *args):
    from conftest import ENV17, ENV18
    import subprocess
    from conftest import PYSOCAT
    r = subprocess.run(PYSOCAT + ["--explain", "--json", *args], capture_output=True,
                       timeout=20, env=ENV18 if version == "1.8.1.3" else ENV17)
    assert r.returncode == 0, r.stderr
    return valid(json.loads(r.stdout))


def differences(data):
    return {(d["behaviour"], d["address"]): d for d in data["version_differences"]}


@pytest.mark.parametrize("version,other", [("1.8.1.3", "1.7.4.4"), ("1.7.4.4", "1.8.1.3")])
def test_explain_says_how_the_other_version_differs(version, other):
    from pysocat.versions import behaviour
    d = jexplain_in(version, "-T", "0", "TCP-LISTEN:8000,fork", "EXEC:cat")
    assert d["version"] == {"profile": version, "others": [other]}
    diffs = differences(d)
    assert set(diffs) >= {("default_log_level", None), ("timeout_zero_is_zero", None),
                          ("listen_reuseaddr_default", 1), ("read_reset_is_error", 1),
                          ("child_exit_warns", 2)}
    for (name, _), entry in diffs.items():
        row = behaviour(name)
        assert entry["other_version"] == other
        assert (entry["value"], entry["other_value"]) == (row.values[version], row.values[other])
        assert entry["text"] == row.doc and entry["source"] == row.source


def test_explain_version_differences_only_where_they_matter():
    diffs = differences(jexplain_in("1.8.1.3", "TCP-LISTEN:8000,reuseaddr", "-"))
    assert ("listen_reuseaddr_default", 1) not in diffs      # given: the same in both
    assert ("timeout_zero_is_zero", None) not in diffs
    assert not any(a == 2 for _, a in diffs)                  # stdio: nothing differs
    diffs = differences(jexplain_in("1.8.1.3", "UNIX-LISTEN:/tmp/x-explain", "-"))
    assert ("listen_reuseaddr_default", 1) not in diffs
    diffs = differences(jexplain_in("1.7.4.4", "TCP:127.0.0.1:80", "UDP-CONNECT:127.0.0.1:5"))
    assert {("connect_notices", 1), ("connect_failure_pair", 1), ("connect_notices", 2),
            ("connect_failure_pair", 2)} <= set(diffs)
    assert diffs[("connect_notices", 1)]["other_version"] == "1.8.1.3"
    diffs = differences(jexplain_in("1.8.1.3", "EXEC: cat", "-,umask=022"))
    assert diffs[("exec_skips_blanks", 1)]["detail"] == "the command starts with a blank"
    assert ("umask_every_address", 2) in diffs


@pytest.mark.parametrize("version,text", [
    ("1.8.1.3", "is a warning, the transfer goes on and the exit status becomes 1"),
    ("1.7.4.4", "is an error that ends the transfer (exit status 1)")])
def test_explain_child_exit_per_version(version, text):
    p = part(jexplain_in(version, "EXEC:false"))
    assert text in step_calls(p)[-1]


def test_explain_one_way_address_warns_like_a_1_8_run():
    d = jexplain_in("1.8.1.3", "STDIN", "STDOUT")
    texts = [(w["severity"], w["text"], w["address"]) for w in d["warnings"]
             if w["code"] == "one-way-address"]
    assert texts == [("W", "address is opened in read-write mode but only supports read-only", 1),
                     ("W", "address is opened in read-write mode but only supports write-only", 2)]
    assert not [w for w in jexplain_in("1.7.4.4", "STDIN", "STDOUT")["warnings"]
                if w["code"] == "one-way-address"]
    assert not [w for w in jexplain_in("1.8.1.3", "-u", "STDIN", "STDOUT")["warnings"]
                if w["code"] == "one-way-address"]


def test_explain_text_names_the_version():
    from conftest import ENV18
    import subprocess
    from conftest import PYSOCAT
    out = subprocess.run(PYSOCAT + ["--explain", "EXEC:cat", "-"], capture_output=True,
                         timeout=20, env=ENV18).stdout.decode()
    assert "version: behaves as socat 1.8.1.3 (PYSOCAT_COMPAT / --compat select socat 1.7.4.4)" in out
    assert "  differs in socat 1.7.4.4: address 1: a child of EXEC/SYSTEM exiting non-zero" in out
