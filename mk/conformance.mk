# make conformance: score pysocat with socat's own test.sh suites (issues 5, 14).
# Runs as root, each binary in a private network namespace; see conformance/README.md.
#   CONF_VERSION=both   1.7.4.4 | 1.8.1.3 | both: which suite (each against pysocat under
#                       that version's profile, and the classic binary of that version)
#   BASELINE=1          also run classic socat in the same way
#   CONF_TESTS="1 2 3"  only these test numbers / names / keywords
#   CONF_T=0.2          test.sh -t value;  CONF_BOUND=3600  wall-clock bound per run (s)
#   CONF_ARGS=...       more conformance.py options (--chunk 5, --chunk-bound 240, --no-retry)
CONF_VERSION ?= both
CONF_T       ?= 0.2
CONF_BOUND   ?= 3600
CONF_TESTS   ?=
BASELINE     ?=
CONF_PY = $(PYTHON) conformance/conformance.py --version $(CONF_VERSION)

.PHONY: conformance conformance-classic conformance-scorecard
conformance:
	@test -x $(VENV)/bin/pysocat || $(MAKE) install
	$(CONF_PY) -t $(CONF_T) --bound $(CONF_BOUND) \
	    $(if $(BASELINE),--baseline) $(if $(CONF_TESTS),--tests "$(CONF_TESTS)") $(CONF_ARGS)

# Classic socat only (refreshes the classic column of the scorecards).
conformance-classic:
	$(CONF_PY) --no-pysocat -t $(CONF_T) --bound $(CONF_BOUND) \
	    $(if $(CONF_TESTS),--tests "$(CONF_TESTS)") $(CONF_ARGS)

# Rebuild the scorecards from the last runs in conformance/work/VERSION/ without running.
conformance-scorecard:
	$(CONF_PY) --from-runs
