"""man/pysocat.1: generated sections up to date, renders without warnings, installed."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

from pysocat import manpage
from pysocat.addresses import registry
from pysocat.options import table

PAGE = os.path.join(ROOT, "man", "pysocat.1")


def _plain(out: bytes) -> str:
    """Rendered text without overstrike and justification."""
    import re
    return " ".join(re.sub(rb".\x08", b"", out).decode().split())


def _text():
    with open(PAGE, encoding="utf-8") as f:
        return f.read()


def test_generated_sections_are_fresh():
    text = _text()
    assert manpage.render(text) == text, "man/pysocat.1 is stale: run make man"


def test_every_row_is_in_the_page():
    text = _text()
    registry.load_all()
    table.load_all()
    for row in registry.ROWS:
        assert f"\\fB{manpage.esc(row.name.upper())}\\fP" in text
    for row in table.ROWS:
        assert f"\\fB{manpage.esc(row.name)}\\fP" in text


def test_hand_written_sections_exist():
    heads = [line[4:].strip('"') for line in _text().splitlines() if line.startswith(".SH ")]
    assert heads == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ADDRESS SPECIFICATIONS",
                     "ADDRESS TYPES", "ADDRESS OPTIONS", "DATA VALUES", "EXAMPLES",
                     "DIAGNOSTICS", "SIGNALS", "DIFFERENCES FROM SOCAT", "SEE ALSO"]


def test_stale_page_is_detected(tmp_path):
    page = tmp_path / "p.1"
    page.write_text(_text().replace("\\fBOPEN\\fP", "\\fBOPEN2\\fP"))
    assert manpage.main(["--check", str(page)]) == 1
    assert manpage.main([str(page)]) == 0
    assert manpage.main(["--check", str(page)]) == 0


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_groff_renders_without_warnings():
    r = subprocess.run(["groff", "-ww", "-man", "-Tutf8", PAGE], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stderr == b""
    assert "relay bytes between two addresses" in _plain(r.stdout)


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
def test_man_renders():
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80")
    r = subprocess.run(["man", "-l", PAGE], capture_output=True, timeout=60, env=env)
    assert r.returncode == 0 and r.stderr == b""
    assert "relay bytes between two addresses" in _plain(r.stdout)


def test_installed_with_the_package():
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        cfg = f.read()
    assert "share/man/man1 = man/pysocat.1" in cfg
