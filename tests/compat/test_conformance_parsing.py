"""The conformance harness's parsers (conformance/testmap.py, conformance/scorecard.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))

import scorecard as sc  # noqa: E402
from testmap import expand, parse_testsh  # noqa: E402

SCRIPT = r'''
N=1
numOK=0
NAME=UNISTDIO
case "$TESTS" in
*%$N%*|*%functions%*|*%stdio%*|*%$NAME%*)
esac
N=$((N+1))

if false; then	# disabled test: not counted
NAME=DISABLED
case "$TESTS" in
*%$N%*|*%functions%*|*%$NAME%*)
if ! eval $NUMCOND; then :; else
echo
fi # NUMCOND
esac
N=$((N+1))
fi	# false

METHODS="TLS1 DTLS1"
while read NAMEKEYW FEAT RUNS; do
if [ -z "$NAMEKEYW" ] || [[ "$NAMEKEYW" == \#* ]]; then continue; fi
feat=$(tolower $FEAT)
NAME=${NAMEKEYW}_HALFCLOSE
case "$TESTS" in
*%$N%*|*%functions%*|*%$feat%*|*%halfclose%*|*%$NAME%*)
esac
N=$((N+1))
done <<<"
UNIXCONNECT   UNIX  unix UNIX-CONNECT:\$ts
# TCP4 commented out
TCP4CONNECT   TCP4  tcp4 TCP4:\$LOCALHOST:\$PORT
"
for method in $METHODS; do
NAME=OPENSSL_METHOD_$method
METHFAM=$(tolower "${method%%[0-9]*}")
case "$TESTS" in
*%$N%*|*%openssl%*|*%$METHFAM%*|*%$NAME%*)
esac
N=$((N+1))
done
echo "Summary: $((N-1)) tests"
NAME=TEMPLATE
N=$((N+1))
'''


def test_testmap_expands_loops():
    t = parse_testsh(SCRIPT)
    assert {n: (i.name, i.features) for n, i in t.items()} == {
        1: ("UNISTDIO", ["functions", "stdio"]),
        2: ("UNIXCONNECT_HALFCLOSE", ["functions", "unix", "halfclose"]),
        3: ("TCP4CONNECT_HALFCLOSE", ["functions", "tcp4", "halfclose"]),
        4: ("OPENSSL_METHOD_TLS1", ["openssl", "tls"]),
        5: ("OPENSSL_METHOD_DTLS1", ["openssl", "dtls"]),
    }


def test_expand_forms():
    env = {"addr": "unix-listen", "protov": "tcp4"}
    assert expand("$(toupper $addr)", env) == "UNIX-LISTEN"
    assert expand('"${protov%%[0-9]}"', env) == "tcp"
    assert expand('"$(echo "$protov" |tr a-z A-Z)"', env) == "TCP4"
    assert expand("${addr/-/_}", env) == "unix_listen"


OUTPUT = """Using temp directory /tmp/x
test   1 UNISTDIO: unidirectional throughput from stdin to stdout... OK
test   2 UNPIPESTDIO: stdio with simple echo via internal pipe... FAILED: socat:
test   3 READLINE: readline with password and sigint... READLINE not available
test   4 NORES: something... NO RESULT (ph.1 server not working):
test   5 HANG: printed a header, then the run was cut short...
test   6 ANULL: yellow FAILED that test.sh counts as OK... FAILED
test   7 SCTP: not counted by test.sh... SCTP4 not available
Summary: 462 tests, 5 selected; 1 ok, 2 failed, 2 could not be performed
CANT:  3 4
FAILED:  2 5
"""


def test_parse_output_complete():
    r = sc.parse_output(OUTPUT)
    assert r.complete and r.total_tests == 462
    assert r.results == {1: sc.OK, 2: sc.FAILED, 3: sc.CANT, 4: sc.CANT, 5: sc.FAILED,
                         6: sc.OK, 7: sc.CANT}
    assert r.counts() == {"ok": 2, "failed": 2, "cant": 3, "selected": 7}


def test_parse_output_cut_short():
    r = sc.parse_output("\n".join(OUTPUT.splitlines()[:6]))
    assert not r.complete
    assert r.results == {1: sc.OK, 2: sc.FAILED, 3: sc.CANT, 4: sc.CANT, 5: sc.FAILED}


def test_scorecard_and_regressions():
    tmap = parse_testsh(SCRIPT)
    runs = {
        "pysocat": {"results": {1: sc.OK, 2: sc.FAILED}, "titles": {}, "reasons": {}},
        "classic": {"results": {1: sc.OK, 2: sc.OK, 3: sc.CANT}, "titles": {}, "reasons": {}},
    }
    card = sc.build(tmap, runs, {})
    assert card["runs"]["pysocat"]["summary"] == {"ok": 1, "failed": 1, "cant": 0, "notrun": 1}
    assert card["classic_passes_pysocat_not"]["by_feature"] == {"halfclose": [2], "unix": [2]}
    assert card["pysocat_passes_classic_not"] == []
    newer = sc.build(tmap, {**runs, "pysocat": {"results": {1: sc.FAILED, 2: sc.OK},
                                                 "titles": {}, "reasons": {}}}, {})
    assert sc.regressions(card, newer) == [1]
    assert "| 2 | UNIXCONNECT_HALFCLOSE | FAILED | OK |" in sc.render_md(card)


def test_load_chunked_run(tmp_path):
    lines = OUTPUT.splitlines()
    (tmp_path / "stdout.1").write_text("testing if address array is sorted... ok\nSummary: 462 tests, 0 selected; "
                                       "0 ok, 0 failed, 0 could not be performed\n")
    (tmp_path / "stdout.2").write_text("\n".join(lines[1:3] + ["Summary: 462 tests, 2 selected; 1 ok, 1 failed, 0 could",
                                                               "FAILED:  2"]) + "\n")
    (tmp_path / "stdout.3").write_text(lines[3] + "\n")          # cut short: no summary
    (tmp_path / "rc").write_text("0\n")
    (tmp_path / "env.txt").write_text("chunks=3\nchunk 3 rc=124 secs=60 args=-t 0.2 3\n")
    r = sc.load_run(tmp_path)
    assert r.results == {1: sc.OK, 2: sc.FAILED, 3: sc.CANT}
    assert r.complete and r.hung == [3] and r.extra == ["testing if address array is sorted... ok"]
    (tmp_path / "env.txt").write_text("chunks=4\n")     # a chunk never ran
    assert not sc.load_run(tmp_path).complete


def test_load_run_hung_chunk_skips_option_values(tmp_path):
    (tmp_path / "stdout.1").write_text("test   3 X: x...\n")
    (tmp_path / "env.txt").write_text("chunks=1\nchunk 1 rc=124 secs=240 args=-t 0.2 -X 410 -X 607 3 4\n")
    assert sc.load_run(tmp_path).hung == [3, 4]


SCRIPT18 = r'''
N=1
numOK=0
for addr in exec system; do
  ADDR=$(echo $addr |tr a-z A-Z)
  NAME=${ADDR}SOCKETPAIRPACKETS
  case "$TESTS" in
    *%$N%*|*%functions%*|*%exec%*|*%$NAME%*)
	CMD0="$TRACE $SOCAT $opts -t 1 $ADDR:cat,socktype=2 STALL"
	;;
  esac
  N=$((N+1))
done  # for
NAME=SHELLTEST
case "$TESTS" in
*%$N%*|*%functions%*|*shell%*|*%$NAME%*)
elif ! A=$(testaddrs STDIO SHELL); then
CMD="$TRACE $SOCAT $opts -S 0x1 - EXEC:cat,chdir=/tmp,pty"
esac
N=$((N+1))
'''


def test_testmap_indented_loop_and_bodies():
    t = parse_testsh(SCRIPT18)
    assert [(n, i.name) for n, i in t.items()] == [
        (1, "EXECSOCKETPAIRPACKETS"), (2, "SYSTEMSOCKETPAIRPACKETS"), (3, "SHELLTEST")]
    assert t[3].features == ["functions", "shell"]
    assert "SYSTEM:cat" in t[2].body and "EXEC:cat" not in t[2].body


def test_missing_features_named_by_a_test():
    import features
    gaps = {"address": {"SHELL", "STALL", "SOCKETPAIR"}, "option": {"chdir", "pty-x"},
            "flag": {"-S", "--statistics"}, "canon": {"address SOCKETPAIR": "address X"}}
    bodies = {n: i.body for n, i in parse_testsh(SCRIPT18).items()}
    by, clean = features.group([1, 2, 3], bodies, gaps)
    assert by == {"address STALL": [1, 2], "address SHELL": [3], "flag -S": [3],
                  "option chdir": [3]}
    assert clean == []
