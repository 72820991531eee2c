# Long reliability runs kept out of make test (issue 9): 1000 connections, 1 GiB
# through every stream pairing (pipe, file, TCP, UNIX, EXEC, PTY),
# through a fork server, the fuzzers with many more examples.
.PHONY: soak fuzz
soak:
	PYSOCAT_SOAK=1 $(PY) -m pytest -q tests/test_fork_load.py tests/test_reliability.py tests/test_pairings.py

fuzz:
	PYSOCAT_FUZZ=1 $(PY) -m pytest -q tests/test_grammar.py tests/test_reliability.py -k "never or resolve or fast_path"
