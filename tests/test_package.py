"""pysocat as a real package: wheel and sdist build, pass twine check, and a wheel
installed into a fresh venv works from another directory (grammar, schema, man page
and family index from the installed files, not from this source tree)."""
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import ROOT

VENV = os.path.join(ROOT, ".venv")
WHEELHOUSE = os.path.join(VENV, "wheelhouse")
PY = os.path.join(VENV, "bin", "python")

def _have(*mods):
    r = subprocess.run([PY, "-c", "import " + ",".join(mods)], capture_output=True)
    return r.returncode == 0


pytestmark = pytest.mark.skipif(
    not _have("build", "twine", "wheel") and not os.environ.get("CI"),
    reason="build, twine or wheel missing from .venv (make install adds them)")

needs_wheelhouse = pytest.mark.skipif(
    not os.path.isdir(WHEELHOUSE) and not os.environ.get("CI"),
    reason="no .venv/wheelhouse (make install builds it)")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([PY, "-m", "build", "--no-isolation", "-o", str(out), ROOT],
                       capture_output=True, timeout=300, cwd=str(out))
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    wheels = [p for p in os.listdir(out) if p.endswith(".whl")]
    sdists = [p for p in os.listdir(out) if p.endswith(".tar.gz")]
    assert len(wheels) == 1 and len(sdists) == 1
    return out / wheels[0], out / sdists[0]


def test_twine_accepts_both(dist):
    r = subprocess.run([PY, "-m", "twine", "check", "--strict", str(dist[0]), str(dist[1])],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert r.stdout.decode().count("PASSED") == 2


def test_wheel_carries_data_and_metadata(dist):
    names = zipfile.ZipFile(dist[0]).namelist()
    for want in ("pysocat/grammar/socat.lark", "pysocat/explain.schema.json",
                 "pysocat/py.typed", "pysocat-0.1.0.data/data/share/man/man1/pysocat.1"):
        assert want in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names)
    meta = zipfile.ZipFile(dist[0]).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.11" in meta
    assert "Classifier: License :: OSI Approved :: GNU General Public License v2 (GPLv2)" in meta
    assert "Project-URL: Source" in meta
    for dep in ("lark", "dnspython", "pyOpenSSL"):
        assert f"Requires-Dist: {dep}" in meta
    requires = [ln for ln in meta.splitlines() if ln.startswith("Requires-Dist:")]
    assert not [r for r in requires if "pyroute2" in r]   # netlink: one request, plain socket
    assert "Requires-Dist: pyOpenSSL" in meta      # DTLS (addresses/dtls.py)
    sdist = tarfile.open(dist[1]).getnames()
    for want in ("LICENSE", "man/pysocat.1", "pysocat/grammar/socat.lark", "setup.cfg"):
        assert f"pysocat-0.1.0/{want}" in sdist


@needs_wheelhouse
def test_wheel_in_a_fresh_venv(dist, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
           "--find-links", WHEELHOUSE, str(dist[0])]
    r = subprocess.run(pip, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "PYSOCAT_COMPAT": "1.8.1.3"}
    run = lambda *a, **kw: subprocess.run(a, capture_output=True, timeout=60,
                                          cwd=str(elsewhere), env=env, **kw)
    # the package is the installed one, not this checkout
    r = run(str(venv / "bin" / "python"), "-c", "import pysocat; print(pysocat.__file__)")
    assert r.stdout.decode().startswith(str(venv)), r.stdout
    # the seed's --explain needs the grammar path (bind=a:b) and the family index
    r = run("pysocat", "--explain", "TUN:172.30.0.1/16,iff-up",
            "UDP-DATAGRAM:10.0.0.2:9090,bind=10.0.0.1:9090")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "option iff-up" in out and "10.0.0.2" in out
    r = run("pysocat", "--explain", "--json", "-", "-")
    assert r.returncode == 0 and r.stdout.startswith(b"{")
    r = run("pysocat", "-u", "STDIN", "STDOUT", input=b"through the wheel\n")
    assert (r.returncode, r.stdout) == (0, b"through the wheel\n")
    r = run("pysocat", "-V")
    assert b"socat version 1.8.1.3" in r.stdout
    r = run("pysocat", "NOSUCH:x", "-")
    assert r.returncode == 1 and b'E unknown device/address "NOSUCH"' in r.stderr
    # man finds the page next to the venv's bin (man-db derives it from PATH)
    if os.path.exists("/usr/bin/man"):
        r = run("man", "-w", "pysocat")
        assert r.returncode == 0 and str(venv) in r.stdout.decode(), r.stderr
