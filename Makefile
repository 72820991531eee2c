# pysocat: a socat 1.8.1.3 (and 1.7.4.4) compatible relay in Python.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: install test clean
install:
	@tools/deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# compat: a plain path entry in a .pth; the default editable finder costs
	# every start-up ~20 ms (pathlib, re, …). Byte-compiled so that start-up does not
	# compile (PYTHONDONTWRITEBYTECODE may be set).
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat || \
	  $(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q pysocat
	$(PY) -m pysocat -V >/dev/null    # builds the family index (pysocat/addresses/__pycache__)
	# wheels of the run-time dependencies: tests install the built pysocat wheel
	# into a fresh venv from here, without asking an index
	$(PY) -m pip wheel -q -w $(VENV)/wheelhouse 'lark>=1.1' 'dnspython>=2.0' 'pyOpenSSL>=23.0'

# Tests run in 3 processes (pytest-xdist; a file's tests stay in one process) when
# the venv has xdist: most of the suite waits on sockets and children, not the CPU.
# PYTEST_ARGS= (empty) runs them in one process.
PYTEST_ARGS ?= $(shell $(PY) -c 'import xdist' 2>/dev/null && echo --dist loadfile -n 3)
test:
	$(PY) -m pytest -q -ra $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Further targets (conformance, bench, man, fuzz, soak) live in mk/*.mk.
-include mk/*.mk
