"""The README's Python API examples are tests: every ```python block runs as written."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text[text.index("## Python API"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_has_examples():
    assert len(_blocks()) >= 4


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(index, tmp_path):
    code = _blocks()[index]
    env = {**os.environ, "PYTHONPATH": ROOT}
    if "def test_" in code:
        path = tmp_path / f"test_readme_{index}.py"
        path.write_text(code)
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        from importlib.metadata import entry_points
        if not any(ep.value == "pysocat.pytest_plugin" for ep in entry_points(group="pytest11")):
            args += ["-p", "pysocat.pytest_plugin"]
    else:
        path = tmp_path / f"readme_{index}.py"
        path.write_text(code)
        args = [sys.executable, str(path)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert r.returncode == 0, f"README example {index} failed:\n{code}\n{r.stdout}{r.stderr}"
