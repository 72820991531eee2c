"""Shared fixtures: how tests run the pysocat command and, when present, real socat."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin", "pysocat")
PYSOCAT = [VENV_BIN] if os.path.exists(VENV_BIN) else [sys.executable, "-m", "pysocat"]
SOCAT = shutil.which("socat")

# The tests written against socat 1.7.4.4 (the /usr/bin/socat of Debian 12) run
# pysocat under that profile; tests of 1.8 behaviour use run_pysocat18 and
# run_socat18 (classic 1.8.1.3, built by `make classic` into the cache).
os.environ.setdefault("PYSOCAT_COMPAT", "1.7.4.4")
_CACHE = os.environ.get("PYSOCAT_CLASSIC_CACHE") or os.path.join(
    os.path.expanduser("~"), ".cache", "pysocat")
SOCAT18 = os.path.join(_CACHE, "socat-1.8.1.3", "socat")
if not os.access(SOCAT18, os.X_OK):
    SOCAT18 = None
ENV17 = {**os.environ, "PYSOCAT_COMPAT": "1.7.4.4"}
ENV18 = {**os.environ, "PYSOCAT_COMPAT": "1.8.1.3"}


def run_pysocat(*args, input=b"", timeout=20, **kw):
    """Run pysocat with args; returns CompletedProcess (bytes)."""
    return subprocess.run(PYSOCAT + list(args), input=input, capture_output=True,
                          timeout=timeout, **kw)


def run_socat(*args, input=b"", timeout=20, **kw):
    return subprocess.run([SOCAT] + list(args), input=input, capture_output=True,
                          timeout=timeout, **kw)


def run_pysocat18(*args, input=b"", timeout=20, env=None, **kw):
    """pysocat under the 1.8.1.3 profile."""
    return subprocess.run(PYSOCAT + list(args), input=input, capture_output=True,
                          timeout=timeout, env={**ENV18, **(env or {})}, **kw)


def run_socat18(*args, input=b"", timeout=20, **kw):
    """classic socat 1.8.1.3 (the cache build)."""
    return subprocess.run([SOCAT18] + list(args), input=input, capture_output=True,
                          timeout=timeout, **kw)


def log_texts(stderr: bytes) -> list[str]:
    """Strip time, program name and pid: 'L text' per line."""
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and "[" in parts[2]:
            out.append(parts[3])
    return out


needs_socat = pytest.mark.skipif(SOCAT is None and not os.environ.get("CI"),
                                 reason="real socat 1.7.4.4 is not installed")
needs_socat18 = pytest.mark.skipif(SOCAT18 is None and not os.environ.get("CI"),
                                   reason="classic socat 1.8.1.3 is not built (make classic)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


# Rows socat 1.7.4.4 has in its source but leaves out of a build without the
# feature: the reference socat here is built without readline (-V shows
# "#undef WITH_READLINE"). These are the lines its xiohelp.c prints for them
# when built with it (from the descriptors in xio-readline.c and the names in
# xioopts.c); socat_help() puts them in where that build would have them.
UNBUILT_HELP = {
    "READLINE": {
        "address": ["      readline\tgroups=FD,READLINE,TERMIOS"],
        "-hh": ["      history\tgroups=READLINE\tphase=LATE\ttype=STRING",
                "      noecho\tgroups=READLINE\tphase=LATE\ttype=STRING",
                "      noprompt\tgroups=READLINE\tphase=LATE\ttype=BOOL",
                "      prompt\tgroups=READLINE\tphase=LATE\ttype=STRING"],
        "-hhh": ["      history is an alias for history-file",
                 "      history-file\tgroups=READLINE\tphase=LATE\ttype=STRING",
                 "      noecho\tgroups=READLINE\tphase=LATE\ttype=STRING",
                 "      noprompt\tgroups=READLINE\tphase=LATE\ttype=BOOL",
                 "      prompt\tgroups=READLINE\tphase=LATE\ttype=STRING"],
    },
}


def _help_name(line: str) -> bytes:
    return line.strip().split("\t")[0].split(" ")[0].split(":")[0].encode()


def _insert_sorted(lines: list, start: int, end: int, new: str) -> int:
    """Put ``new`` into lines[start:end] before the first line named after it."""
    at = end
    for i in range(start, end):
        if not lines[i].strip().startswith("<") and _help_name(lines[i]) > _help_name(new):
            at = i
            break
    lines.insert(at, new)
    return end + 1


def socat_help(flag: str) -> list:
    """Real socat's -h/-hh/-hhh lines, plus the rows of features it was built without."""
    lines = run_socat(flag).stdout.decode().splitlines()
    version = run_socat("-V").stdout.decode()
    for feature, rows in UNBUILT_HELP.items():
        if f"#undef WITH_{feature}" not in version:
            continue
        start = lines.index("   address-head:") + 1
        end = next((i for i in range(start, len(lines))
                    if lines[i].startswith("         <num>") or lines[i] == "   opts:"),
                   len(lines))
        for new in rows["address"]:
            end = _insert_sorted(lines, start, end, new)
        if flag in rows and "   opt:" in lines:
            start = lines.index("   opt:") + 1
            end = len(lines)
            for new in rows[flag]:
                end = _insert_sorted(lines, start, end, new)
    return lines


# The classic 1.8.1.3 build in the cache has no libwrap ("#undef WITH_LIBWRAP").
# These are the lines socat 1.8.1.3's xiohelp.c prints for the tcpwrap options
# when built with it (descriptors in xio-tcpwrap.c, names in xioopts.c, tabs by
# xiohelp_option()); socat18_help() puts them in where that build would have them.
UNBUILT_HELP18 = {
    "LIBWRAP": {
        "address": [],
        "-hh": ["      allow-table\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING",
                "      deny-table\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING",
                "      tcpwrap\t\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING-NULL",
                "      tcpwrap-dir\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING"],
        "-hhh": ["      allow-table\tis an alias for tcpwrap-hosts-allow-table",
                 "      deny-table\tis an alias for tcpwrap-hosts-deny-table",
                 "      hosts-allow\tis an alias for tcpwrap-hosts-allow-table",
                 "      hosts-deny\tis an alias for tcpwrap-hosts-deny-table",
                 "      libwrap\t\tis an alias for tcpwrappers",
                 "      tcpwrap\t\tis an alias for tcpwrappers",
                 "      tcpwrap-dir\tis an alias for tcpwrap-etc",
                 "      tcpwrap-etc\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING",
                 "      tcpwrap-hosts-allow-table\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING",
                 "      tcpwrap-hosts-deny-table\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING",
                 "      tcpwrapper\tis an alias for tcpwrappers",
                 "      tcpwrappers\tgroups=RANGE\t\tphase=ACCEPT\t\ttype=STRING-NULL",
                 "      wrap\t\tis an alias for tcpwrappers"],
    },
}


def socat18_help(flag: str) -> list:
    """Classic 1.8.1.3's -h/-hh/-hhh lines, plus the rows of features it was built without."""
    lines = run_socat18(flag).stdout.decode().splitlines()
    version = run_socat18("-V").stdout.decode()
    if "   opt:" not in lines:
        return lines
    for feature, rows in UNBUILT_HELP18.items():
        if f"#undef WITH_{feature}" not in version or flag not in rows:
            continue
        start = lines.index("   opt:") + 1
        end = len(lines)
        for new in rows[flag]:
            end = _insert_sorted(lines, start, end, new)
    return lines


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The session's test certificates (tests/pki.py); needs the openssl command."""
    from pki import OPENSSL, make_pki
    if OPENSSL is None:
        pytest.skip("the openssl command is not installed")
    return make_pki(tmp_path_factory.mktemp("pki"))
