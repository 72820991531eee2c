"""Shell completion generated from the tables: bash's programmable completion is
driven the way bash drives it (COMP_WORDS/COMP_CWORD, and COMP_LINE/COMP_POINT with
bash's own word breaks at ':' and '='), per version profile."""
import os
import subprocess

import pytest

from conftest import PYSOCAT


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    r = subprocess.run(PYSOCAT + ["--completion", "bash"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    path = tmp_path_factory.mktemp("comp") / "pysocat.bash"
    path.write_bytes(r.stdout)
    return str(path)


def offers(script, *words, line=None, compat=None):
    """COMPREPLY of the generated function for the words (the last is completed)."""
    if line is None:
        setup = "unset COMP_LINE COMP_POINT"
    else:   # what bash itself passes: the line, and the words split at ':' and '='
        setup = f"COMP_LINE={_q(line)}; COMP_POINT=${{#COMP_LINE}}"
    prog = (f"source {_q(script)}\n"
            f"COMP_WORDS=({' '.join(_q(w) for w in words)}); "
            f"COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); {setup}\n"
            "_pysocat\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {k: v for k, v in os.environ.items() if k != "PYSOCAT_COMPAT"}
    if compat:
        env["PYSOCAT_COMPAT"] = compat
    r = subprocess.run(["bash", "-c", prog], capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    return [x for x in r.stdout.decode().split("\n") if x]


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def test_tcp_listener_options(script):
    got = offers(script, "pysocat", "TCP4-LISTEN:80,re")
    assert "TCP4-LISTEN:80,reuseaddr" in got and "TCP4-LISTEN:80,retry" in got
    assert all(g.startswith("TCP4-LISTEN:80,re") for g in got)
    # only the TCP listener's groups: TUN's and EXEC's options are not offered
    assert not offers(script, "pysocat", "TCP4-LISTEN:80,iff-")
    assert offers(script, "pysocat", "TCP4-LISTEN:80,fo") == [
        "TCP4-LISTEN:80,forever", "TCP4-LISTEN:80,fork"]


def test_tun_interface_flags(script):
    got = offers(script, "pysocat", "TUN:10.0.0.1/24,iff-")
    assert "TUN:10.0.0.1/24,iff-up" in got and "TUN:10.0.0.1/24,iff-no-pi" in got
    assert all(g.startswith("TUN:10.0.0.1/24,iff-") for g in got)
    assert not any(",iff-" not in g for g in got)


def test_bash_word_breaks(script):
    # bash hands over "TCP4-LISTEN" ":" "80,re": the reply continues the last piece
    got = offers(script, "pysocat", "TCP4-LISTEN", ":", "80,re",
                 line="pysocat TCP4-LISTEN:80,re")
    assert "80,reuseaddr" in got and "TCP4-LISTEN:80,reuseaddr" not in got
    got = offers(script, "pysocat", "-", "TUN", ":", "1.2.3.4/24,tun-type", "=", "t",
                 line="pysocat - TUN:1.2.3.4/24,tun-type=t")
    assert sorted(got) == ["tap", "tun"]


def test_address_types_after_space_and_bang(script):
    assert "TCP4-LISTEN" in offers(script, "pysocat", "TCP4-L")
    assert offers(script, "pysocat", "-", "EXEC:cat!!SYSTE") == ["EXEC:cat!!SYSTEM"]
    assert "tcp4-listen" in offers(script, "pysocat", "tcp4-l")     # the case typed


def test_enumerated_values(script):
    assert offers(script, "pysocat", "-", "SOCKET-CONNECT:1:2:x,socktype=") == [
        f"SOCKET-CONNECT:1:2:x,socktype={v}" for v in ("1", "2", "3", "5")]
    got = offers(script, "pysocat", "-", "OPENSSL:h:1,min-version=TLS1.")
    assert got == [f"OPENSSL:h:1,min-version=TLS1.{v}" for v in "123"]
    assert offers(script, "pysocat", "-", "TCP:h:1,tun-type=") == []   # not TCP's option


def test_flags_follow_the_profile(script):
    assert "-d4" in offers(script, "pysocat", "-d")
    assert "-d4" not in offers(script, "pysocat", "-d", compat="1.7.4.4")
    assert "-d4" not in offers(script, "pysocat", "--compat=1.7.4.4", "-d")
    assert "--statistics" in offers(script, "pysocat", "--st")
    # after the first address, a word beginning with '-' is no flag
    assert offers(script, "pysocat", "-", "-d") == []


def test_complete_word_matches_the_bash_data(script):
    for word in ("TCP4-LISTEN:80,re", "TUN:10.0.0.1/24,iff-", "EXEC:x,pt", "-d", "UDP4-",
                 "OPENSSL:h:1,min-version="):
        r = subprocess.run(PYSOCAT + ["--complete-word", word, "1"], capture_output=True,
                           timeout=30, env={**os.environ, "PYSOCAT_COMPAT": "1.8.1.3"})
        assert r.returncode == 0
        assert r.stdout.decode().split() == offers(script, "pysocat", word), word


def test_other_shells_and_errors():
    r = subprocess.run(PYSOCAT + ["--completion", "zsh"], capture_output=True, timeout=30)
    assert r.returncode == 0 and b"compdef _pysocat pysocat" in r.stdout
    r = subprocess.run(PYSOCAT + ["--completion", "fish"], capture_output=True, timeout=30)
    assert r.returncode == 0 and b"complete -c pysocat" in r.stdout
    r = subprocess.run(PYSOCAT + ["--completion", "tcsh"], capture_output=True, timeout=30)
    assert r.returncode == 1
    assert b'E --completion: unknown shell "tcsh" (bash, zsh or fish)' in r.stderr
