# make bench: pysocat side by side with real socat (bench/bench.py; not part of make test).
#   make bench                 full run
#   make bench QUICK=1         the same in under two minutes (also: make bench-quick)
#   make bench BENCH_ARGS='--json bench.json --only tcp'
.PHONY: bench bench-quick bench-deps

BENCH_ARGS ?=
BENCH_FLAGS = $(if $(QUICK),--quick) $(BENCH_ARGS)

bench: bench-deps
	$(PY) bench/bench.py $(BENCH_FLAGS)

bench-quick:
	$(MAKE) bench QUICK=1

# a fresh machine: the venv, real socat and GNU time (peak RSS) are installed on demand
bench-deps:
	@test -x $(VENV)/bin/pysocat || $(MAKE) install
	@command -v socat >/dev/null && test -x /usr/bin/time || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat time iproute2 iputils-ping; \
	    else echo "bench: needs socat and GNU time (apt-get install socat time)"; fi; }
