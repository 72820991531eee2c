"""Start-up cost: what the fast paths must not import (issue 7).

``pysocat -V`` and a run with plain addresses are measured by ``make bench``;
these tests guard the imports that made them slow: the lark parser (only for
addresses with quotes/brackets/backslashes), pyroute2 and ssl (only for the
addresses that use them), ``dataclasses`` (imports inspect, ~12 ms: use
``pysocat._struct``), ``enum`` via ``signal`` (use ``_signal``), and the
setuptools editable finder (``make install`` uses a plain path entry).
"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")
PY = VENV_PY if os.path.exists(VENV_PY) else sys.executable

ALWAYS_HEAVY = {"lark", "pyroute2", "ssl", "dataclasses", "inspect", "pathlib", "pysocat.api"}


def imported(*args):
    code = ("import sys; from pysocat.cli import main; "
            f"sys.exit(main(['pysocat'] + {list(args)!r}))")
    r = subprocess.run([PY, "-X", "importtime", "-c", code], capture_output=True,
                       timeout=30, cwd="/", stdin=subprocess.DEVNULL)
    names = set()
    for line in r.stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return r, names


def test_version_imports_little():
    imported("-V")          # the first run after a change builds the family index
    r, names = imported("-V")
    assert r.returncode == 0
    bad = (ALWAYS_HEAVY | {"enum", "re", "socket", "typing", "threading", "pysocat.relay.engine"}) & names
    assert not bad, f"pysocat -V imports {sorted(bad)}"


def test_help_imports_no_parser():
    r, names = imported("-h")
    assert r.returncode == 0
    bad = ALWAYS_HEAVY & names
    assert not bad, f"pysocat -h imports {sorted(bad)}"


def test_plain_addresses_import_no_parser():
    r, names = imported("/dev/null", "/dev/null")
    assert r.returncode == 0, r.stderr[-500:]
    bad = (ALWAYS_HEAVY | {"enum", "typing", "threading"}) & names
    assert not bad, f"pysocat /dev/null /dev/null imports {sorted(bad)}"


def test_quoted_address_uses_grammar():
    # the lark path still works when it is needed
    r, names = imported("-u", "OPEN:'/dev/null'", "/dev/null")
    assert r.returncode == 0, r.stderr[-500:]
    assert "lark" in names


def test_struct_dataclass_semantics():
    from pysocat._struct import FrozenInstanceError, dataclass, field, replace

    @dataclass(frozen=True)
    class P:
        a: int
        b: str = "x"

    @dataclass
    class Q:
        items: list = field(default_factory=list)
        n: int = 0

    p = P(1)
    assert p == P(1, "x") and p != P(2) and hash(p) == hash(P(1))
    assert repr(p) == "test_struct_dataclass_semantics.<locals>.P(a=1, b='x')"
    with pytest.raises(FrozenInstanceError):
        p.a = 2
    with pytest.raises(TypeError):
        P()
    with pytest.raises(TypeError):
        P(1, b="y", c=3)
    q1, q2 = Q(), Q()
    q1.items.append(1)
    assert q2.items == [] and Q(n=3).n == 3 and Q([1]) == q1
    assert replace(p, b="z") == P(1, "z")


def test_family_index_matches_the_tables():
    """The cached family index names exactly the rows load_all() registers."""
    from pysocat.addresses import registry
    names, feats = registry._build_index()
    for name, mod in names.items():
        assert mod.startswith("pysocat."), (name, mod)
    assert set(names) == set(registry.ADDRESSES)
    assert feats == {r.feature for r in registry.ROWS} | registry.EXTRA_FEATURES
    cached_names, cached_feats = registry.index()
    assert cached_names == names and cached_feats == feats


def test_version_lists_the_same_features_with_a_fresh_index(tmp_path):
    """-V from the cached index equals -V computed from every family."""
    from pysocat.addresses import registry
    path = registry._index_path()
    if os.path.exists(path):
        os.unlink(path)
    first = subprocess.run([PY, "-m", "pysocat", "-V"], capture_output=True, timeout=30)
    second = subprocess.run([PY, "-m", "pysocat", "-V"], capture_output=True, timeout=30)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    from pysocat.versions import ACTIVE
    feats = {r.feature for r in registry.rows()} | registry.EXTRA_FEATURES
    for f in feats & set(ACTIVE.version_features):     # the lines this version's -V has
        assert f"#define WITH_{f} 1".encode() in second.stdout
