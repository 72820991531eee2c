# make conformance: score pysocat with socat 1.7.4.4's own test.sh (issue 5).
# Runs as root, each binary in a private network namespace; see conformance/README.md.
#   BASELINE=1          also run classic socat (/usr/bin/socat) in the same way
#   CONF_TESTS="1 2 3"  only these test numbers / names / keywords
#   CONF_T=0.2          test.sh -t value;  CONF_BOUND=3600  wall-clock bound per run (s)
#   CONF_ARGS=...       more conformance.py options (--chunk 1, --chunk-bound 60, --no-retry)
CONF_T     ?= 0.2
CONF_BOUND ?= 3600
CONF_TESTS ?=
BASELINE   ?=

.PHONY: conformance conformance-classic conformance-scorecard
conformance:
	@test -x $(VENV)/bin/pysocat || $(MAKE) install
	$(PYTHON) conformance/conformance.py -t $(CONF_T) --bound $(CONF_BOUND) \
	    $(if $(BASELINE),--baseline) $(if $(CONF_TESTS),--tests "$(CONF_TESTS)") $(CONF_ARGS)

# Classic socat only (refreshes the classic column of the scorecard).
conformance-classic:
	$(PYTHON) conformance/conformance.py --no-pysocat -t $(CONF_T) --bound $(CONF_BOUND) \
	    $(if $(CONF_TESTS),--tests "$(CONF_TESTS)")

# Rebuild scorecard.json/.md from the last runs in conformance/work/ without running.
conformance-scorecard:
	$(PYTHON) conformance/conformance.py --from-runs
