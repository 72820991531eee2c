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
	# wheels of the run-time dependencies: tests install the built pysocat wheel
	# into a fresh venv from here, without asking an index
	$(PY) -m pip wheel -q -w $(VENV)/wheelhouse 'lark>=1.1' 'pyroute2>=0.7'

test:
	$(PY) -m pytest -q -ra tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Further targets (conformance, bench, man, fuzz, soak) live in mk/*.mk.
-include mk/*.mk
