# The classic socat oracles the differential tests and `make conformance` compare with:
# 1.7.4.4 is Debian 12's package, 1.8.1.3 is built once into $(CLASSIC_CACHE).
CLASSIC_CACHE ?= $(HOME)/.cache/pysocat
.PHONY: classic deps
classic:
	PYSOCAT_CLASSIC_CACHE=$(CLASSIC_CACHE) tools/classic.sh 1.7.4.4
	PYSOCAT_CLASSIC_CACHE=$(CLASSIC_CACHE) tools/classic.sh 1.8.1.3

# What the tests use from Debian: installed as root, else the command is printed.
deps:
	@tools/deps.sh
