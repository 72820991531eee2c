"""test.sh 1.8.1.3 defects of issue 14, against classic 1.8.1.3 and 1.7.4.4.

Each test runs the same command through the classic binary and pysocat of one
profile and compares exit codes and log lines.
"""
import os
import re
import subprocess

import pytest

from conftest import ENV17, ENV18, PYSOCAT, SOCAT, SOCAT18, log_texts, needs_socat, needs_socat18

pytestmark = [needs_socat, needs_socat18]

PROFILES = {"1.8": (lambda: SOCAT18, ENV18), "1.7": (lambda: SOCAT, ENV17)}


def both(profile, *args, input=b"", timeout=20):
    """The same command through the classic and pysocat of one profile."""
    binary, penv = PROFILES[profile]
    out = []
    for cmd, e in (([binary()], os.environ), (PYSOCAT, penv)):
        out.append(subprocess.run(["timeout", "-s", "TERM", "1"] + cmd + list(args),
                                  input=input, capture_output=True, timeout=timeout, env=e))
    return out


def errors(r):
    return [t for t in log_texts(r.stderr) if not t.startswith(("N ", "I ", "D "))]


# test.sh 554/556 V1800_UDP(LITE)_DATAGRAM_RANGE: 1.8 takes the default IP
# version before parsing range=, 1.7 has none and wants addr:mask
@pytest.mark.parametrize("profile", ["1.8", "1.7"])
@pytest.mark.parametrize("args", [
    ("UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8",),
    ("UDPLITE-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8",),
    ("-0", "UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8"),
    ("-6", "UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1/8"),
    ("UDP-DATAGRAM:[::1]:45614",),
    ("UDP-DATAGRAM:1.2.3.4:45614,range=127.0.0.1:255.0.0.0",),
])
def test_datagram_range_default_ip(profile, args):
    if profile == "1.7" and args[0] in ("-0", "-6"):
        pytest.skip("-0 is new in 1.8; 1.7's -6 is covered by its own tests")
    if "UDPLITE" in args[-1] and profile == "1.7":
        pytest.skip("UDPLITE is new in 1.8")
    if profile == "1.7" and "255.0.0.0" in args[-1]:
        pytest.skip("classic 1.7.4.4 aborts (free(): invalid pointer)")
    classic, ours = both(profile, *args, "PIPE")
    assert ours.returncode == classic.returncode, (classic.stderr, ours.stderr)
    assert errors(ours) == errors(classic)


# test.sh 480 INTERFACE_IGNOREOUTGOING: 1.8 sets PACKET_IGNORE_OUTGOING, so a
# ping sent out of the interface is not read back; 1.7 reads it
_IF_SCRIPT = r"""
set -u
sleep 3 | "$TUNBIN" TUN:10.255.255.1/24,iff-up=1,tun-type=tun,tun-name=tun9 - >/dev/null 2>&1 &
for i in $(seq 50); do ip link show tun9 >/dev/null 2>&1 && break; sleep 0.05; done
timeout 2.5 "$@" -u INTERFACE:tun9 - >"$OUT" 2>/dev/null &
reader=$!
sleep 1
ping -c 1 -w 1 -b 10.255.255.255 >/dev/null 2>&1
wait $reader
wait
"""


@pytest.mark.parametrize("profile", ["1.8", "1.7"])
def test_interface_ignores_outgoing(tmp_path, profile):
    from netns import Netns, have_netns
    if not have_netns():
        pytest.skip("needs root, ip and /dev/net/tun")
    binary, penv = PROFILES[profile]
    sizes = []
    with Netns("if") as ns:
        for n, cmd in enumerate(([binary()], PYSOCAT)):
            out = tmp_path / f"out{n}"
            ns.run("env", f"PYSOCAT_COMPAT={penv['PYSOCAT_COMPAT']}", f"TUNBIN={SOCAT18}",
                   f"OUT={out}", "bash", "-c", _IF_SCRIPT, "x", *cmd, timeout=30)
            sizes.append(out.stat().st_size if out.exists() else -1)
    assert sizes[1] == sizes[0]
    assert sizes[0] == (0 if profile == "1.8" else 84)
