#!/bin/sh
# Install the Debian packages the tests use and the classic socat oracles.
# As root: installs what is missing. Otherwise: prints the one command to run.
set -u
cd "$(dirname "$0")/.."
need=""
for pair in socat:socat ping:iputils-ping ip:iproute2 groff:groff-base man:man-db \
            openssl:openssl gcc:gcc make:make procan:socat; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
done
for pkg in libssl-dev libreadline-dev dpkg-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ "$(id -u)" != 0 ]; then
    if [ -n "$need" ]; then
        echo "deps: not root; to install what the tests need, run as root:" >&2
        echo "  apt-get install -y$need && make classic" >&2
    fi
    exit 0
fi
if [ -n "$need" ]; then
    echo "deps: installing$need" >&2
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2 || {
        echo "deps: apt-get install$need failed" >&2; exit 1; }
fi
tools/classic.sh 1.7.4.4 >/dev/null && tools/classic.sh 1.8.1.3 >/dev/null || {
    echo "deps: could not get the classic socat oracles" >&2; exit 1; }
