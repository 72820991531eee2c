"""tcpwrap options: hosts_access(5) in pysocat/tcpwrap.py, compared with socat's libwrap."""
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import log_texts, needs_socat, run_pysocat
from sockhelp import Server, free_port, has_ipv6

from pysocat import tcpwrap as W


# ---------------------------------------------------------------------------
# the language, without sockets (names preset: no lookups)
# ---------------------------------------------------------------------------


def _req(addr="192.0.2.7", name=W.UNKNOWN, daemon="socat", server="192.0.2.1", sname=W.UNKNOWN):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    client = W.Host(fam, (addr, 4000) if fam == socket.AF_INET else (addr, 4000, 0, 0))
    client._name = name
    srv = W.Host(socket.AF_INET, (server, 80))
    srv._name = sname
    return W.Request(daemon, client, srv)


def _verdict(tmp_path, allow, deny, req):
    a, d = tmp_path / "hosts.allow", tmp_path / "hosts.deny"
    for path, text in ((a, allow), (d, deny)):
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text)
    return W.hosts_access(req, str(a), str(d))


@pytest.mark.parametrize("allow,deny,kw,permit", [
    (None, None, {}, True),                                  # no tables: grant
    ("", "ALL: ALL\n", {}, False),
    ("ALL: 192.0.2.7\n", "ALL: ALL\n", {}, True),            # allow wins
    ("", "ALL: 192.0.2.\n", {}, False),                      # prefix
    ("", "ALL: 192.0.2.0/255.255.255.0\n", {}, False),
    ("", "ALL: 192.0.2.0/24\n", {}, False),
    ("", "ALL: 192.0.2.8/31\n", {}, True),
    ("", "ALL: 192.0.2.*\n", {}, False),                     # wildcard
    ("", "ALL: 192.0.2.?\n", {}, False),
    ("", "ALL: ALL EXCEPT 192.0.2.7\n", {}, True),
    ("", "ALL: ALL EXCEPT 192.0.2.0/24 EXCEPT 192.0.2.7\n", {}, False),
    ("", "ALL EXCEPT socat: ALL\n", {}, True),
    ("", "other: ALL\n", {}, True),
    ("", "other: ALL\n", {"daemon": "other"}, False),
    ("", "OTHER, socat: all\n", {}, False),                  # case-insensitive
    ("", "socat@192.0.2.1: ALL\n", {}, False),               # daemon@server
    ("", "socat@192.0.2.2: ALL\n", {}, True),
    ("", "ALL: .example.org\n", {"name": "h.example.org"}, False),
    ("", "ALL: .example.org\n", {}, True),                   # unknown name: no match
    ("", "ALL: LOCAL\n", {"name": "localhost"}, False),
    ("", "ALL: LOCAL\n", {"name": "h.example.org"}, True),
    ("", "ALL: KNOWN\n", {"name": "h.example.org"}, False),
    ("", "ALL: UNKNOWN\n", {}, False),
    ("", "ALL: PARANOID\n", {"name": W.PARANOID}, False),
    ("", "ALL: KNOWN\n", {"name": W.PARANOID}, True),
    ("", "ALL: @netgroup\n", {}, True),                      # no NETGROUP support
    ("", "ALL: unknown@192.0.2.7\n", {}, False),             # no ident: user unknown
    ("", "ALL: KNOWN@ALL\n", {}, True),
    ("", "ALL: [::1]\n", {"addr": "::1"}, False),
    ("", "ALL: ::1\n", {"addr": "::1"}, True),               # ':' separates: no client
    ("", "ALL: [::]/0\n", {"addr": "::1"}, False),
    ("", "ALL: [::2]/127\n", {"addr": "::1"}, True),
    ("", "ALL: [2001:db8::]/32\n", {"addr": "2001:db8::5"}, False),
    ("", "ALL: 127.0.0.1\n", {"addr": "::ffff:127.0.0.1"}, False),   # v4-mapped
    ("", "ALL: 127.0.0.0/8\n", {"addr": "::ffff:127.0.0.1"}, False),
    ("", "#ALL: ALL\n", {}, True),
    ("", "ALL: 10.0.0.1 #, 192.0.2.7\n", {}, False),         # '#' only starts a line
    ("", "ALL\nALL: 192.0.2.7\n", {}, False),                # no ':': skipped
    ("", "ALL: 10.0.0.1 \\\n 192.0.2.7\n", {}, False),       # continuation
    ("", "ALL: 192.0.2.7", {}, False),                       # no final newline
    ("ALL: ALL: deny\n", "", {}, False),
    ("", "ALL: ALL: allow\n", {}, True),
    ("", "ALL: ALL : ALLOW\n", {}, True),
    ("ALL: ALL: allow : deny\n", "", {}, False),             # must be at end
    ("ALL: ALL: allow=x\n", "", {}, False),                  # requires no value
    ("ALL: ALL:\n", "", {}, False),                          # missing option name
    ("ALL: ALL: bogus\n", "", {}, False),
    ("ALL: ALL: spawn\n", "", {}, False),                    # requires value
    ("ALL: ALL: severity auth.info\n", "ALL: ALL\n", {}, True),
    ("ALL: ALL: severity nosuch\n", "", {}, False),
    ("ALL: 10.0.0.1: deny\nALL: ALL\n", "ALL: ALL\n", {}, True),
])
def test_hosts_access(tmp_path, allow, deny, kw, permit):
    assert _verdict(tmp_path, allow, deny, _req(**kw)) is permit


def test_pattern_file_and_unreadable_tables(tmp_path):
    (tmp_path / "list").write_text("10.1.1.1\n 192.0.2.7\n")
    assert not _verdict(tmp_path, "", f"ALL: {tmp_path}/list\n", _req())
    # a table that is not a readable file counts as empty (libwrap tells syslog)
    assert W.hosts_access(_req(), "/etc/passwd/x", str(tmp_path))


def test_unsupported_option_refuses_with_a_warning(tmp_path):
    import io
    from pysocat.log import LOG
    saved = LOG.level, LOG.stream
    LOG.level, LOG.stream = 0, io.StringIO()
    try:
        assert not _verdict(tmp_path, "ALL: ALL: twist echo hi\n", "", _req())
        text = LOG.stream.getvalue()
    finally:
        LOG.level, LOG.stream = saved
    assert ' W tcpwrap: option "twist" (' in text


def test_percent_expansion_and_setenv(tmp_path, monkeypatch):
    req = _req(daemon="d;x", name="h.example.org")
    assert W.percent_x("%a %A %c %d %u %s %% %q.", req) == \
        "192.0.2.7 192.0.2.1 h.example.org d_x unknown d_x@192.0.2.1 % ."
    monkeypatch.delenv("TCPWRAP_T", raising=False)
    assert _verdict(tmp_path, "ALL: ALL: setenv TCPWRAP_T %a\\:%d\n", "", _req())
    assert os.environ["TCPWRAP_T"] == "192.0.2.7:socat"


# ---------------------------------------------------------------------------
# against real socat (its libwrap) on loopback
# ---------------------------------------------------------------------------


def _trial(tmp_path, tag, allow, deny, opts="", classic=False, host="127.0.0.1", pre=()):
    d = tmp_path / tag
    d.mkdir()
    if allow is not None:
        (d / "hosts.allow").write_text(allow)
    if deny is not None:
        (d / "hosts.deny").write_text(deny)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = free_port(fam)
    kind = "TCP6" if fam == socket.AF_INET6 else "TCP4"
    with Server(*pre, "-ddd", f"{kind}-LISTEN:{port},reuseaddr,fork,tcpwrap-etc={d}{opts}",
                "SYSTEM:echo in", classic=classic) as srv:
        srv.wait_port(port, host)
        with socket.create_connection((host, port), timeout=10) as c:
            got = b""
            while True:
                chunk = c.recv(100)
                if not chunk:
                    break
                got += chunk
        time.sleep(0.1)
        _, _, err = srv.stop()
    lines = [t.rsplit(":", 1)[0] + t[t.index(" due"):] if " due to " in t else t
             for t in log_texts(err) if "tcpwrap" in t]
    return got, lines


CASES = [
    ("ALL: 127.0.0.1\n", "ALL: ALL\n", ""),
    (None, "ALL: ALL\n", ""),
    ("", "socat: 127.0.0.0/8\n", ""),
    ("", "foo: 127.0.0.1\n", ",tcpwrap=foo"),
    ("", "foo: 127.0.0.1\n", ",tcpwrap"),
    ("", "ALL: LOCAL EXCEPT 127.0.0.*\n", ""),
    ("", "ALL: localhost\n", ""),                 # 127.0.0.1 is localhost (/etc/hosts)
    ("ALL: ALL: deny\n", "", ""),
    ("", "ALL: ALL: allow\n", ""),
    ("", "", ",tcpwrap-hosts-deny-table={d}/hosts.allow"),
]


@needs_socat
@pytest.mark.parametrize("allow,deny,opts", CASES)
def test_tcp_listen_like_socat(tmp_path, allow, deny, opts):
    if "{d}" in opts:
        allow = "ALL: 127.0.0.1\n"       # written as hosts.allow, used as the deny table
        opts = opts.format(d=tmp_path / "X")
    with ThreadPoolExecutor(2) as ex:
        mine = ex.submit(_trial, tmp_path, "P", allow, deny, opts.replace("/X/", "/P/"))
        theirs = ex.submit(_trial, tmp_path, "S", allow, deny, opts.replace("/X/", "/S/"),
                           classic=True)
        got_p, log_p = mine.result()
        got_s, log_s = theirs.result()
    assert got_p == got_s
    assert [t.replace("/P", "/S") for t in log_p] == log_s
    assert any(t.endswith(" due to tcpwrapper option") for t in log_p)


@needs_socat
def test_tcp6_and_daemon_from_lp_like_socat(tmp_path):
    cases = [("", "myd: 127.0.0.1\n", "", "127.0.0.1", ("-lp", "myd"))]
    if has_ipv6():
        cases += [("", "ALL: [::1]/128\n", "", "::1", ()), ("", "ALL: [::2]/127\n", "", "::1", ())]
    for i, (allow, deny, opts, host, pre) in enumerate(cases):
        p = _trial(tmp_path, f"P{i}", allow, deny, opts, host=host, pre=pre)
        s = _trial(tmp_path, f"S{i}", allow, deny, opts, host=host, pre=pre, classic=True)
        assert p[0] == s[0]
        assert [t.replace(f"/P{i}", f"/S{i}") for t in p[1]] == s[1]


@needs_socat
def test_spawn_expansions_like_socat(tmp_path):
    rule = "ALL: ALL: spawn echo %a %A %c %d %h %u %% %n %s > {out}/sp-%d\n"
    for tag in ("P", "S"):
        (tmp_path / f"o{tag}").mkdir()
        got, _ = _trial(tmp_path, tag, rule.format(out=tmp_path / f"o{tag}"), "ALL: ALL\n",
                        ",tcpwrap=prog", classic=tag == "S")
        assert got == b"in\n"
    assert (tmp_path / "oP/sp-prog").read_text() == (tmp_path / "oS/sp-prog").read_text()
    assert (tmp_path / "oP/sp-prog").read_text().startswith("127.0.0.1 127.0.0.1 ")


def test_udp_recvfrom_drops_refused_senders(tmp_path):
    (tmp_path / "hosts.deny").write_text("ALL: 127.0.0.1\n")
    port = free_port(kind=socket.SOCK_DGRAM)
    with Server("-d", "-d", f"UDP4-RECVFROM:{port},tcpwrap-etc={tmp_path}", "-") as srv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            for _ in range(8):          # a few, in case the first comes before bind()
                c.sendto(b"hi\n", ("127.0.0.1", port))
                time.sleep(0.2)
        _, out, err = srv.stop()
    assert out == b""
    assert any(t.startswith("W refusing connection from AF=2 127.0.0.1:") and
               t.endswith(" due to tcpwrapper option") for t in log_texts(err))


def test_options_logged_and_listed():
    r = run_pysocat("-hh")
    out = r.stdout.decode()
    assert "      tcpwrap\tgroups=RANGE\tphase=ACCEPT\ttype=STRING-NULL\n" in out
    assert "  #define WITH_LIBWRAP 1" in run_pysocat("-V").stdout.decode()
    r = run_pysocat("-d", "-d", "-d", "TCP4-LISTEN:0,tcpwrap,accept-timeout=0.01", "-")
    assert 'I setting option "tcpwrappers" to NULL' in log_texts(r.stderr)
