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


def run_pysocat(*args, input=b"", timeout=20, **kw):
    """Run pysocat with args; returns CompletedProcess (bytes)."""
    return subprocess.run(PYSOCAT + list(args), input=input, capture_output=True,
                          timeout=timeout, **kw)


def run_socat(*args, input=b"", timeout=20, **kw):
    return subprocess.run([SOCAT] + list(args), input=input, capture_output=True,
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
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
