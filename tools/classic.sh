#!/bin/sh
# Get a classic socat oracle into the cache and print the path of its binary.
#
#   tools/classic.sh 1.7.4.4   Debian 12's package (/usr/bin/socat; installed when root)
#   tools/classic.sh 1.8.1.3   built from Debian unstable's source package into
#                              $PYSOCAT_CLASSIC_CACHE (default ~/.cache/pysocat)
#   tools/classic.sh --src V   print the unpacked source tree (test.sh, docs) instead
#
# The 1.8.1.3 build needs root for apt-get (a deb-src entry for sid, gcc, libssl-dev,
# libreadline-dev); it takes about two minutes and is done once per machine.
# Nothing here is committed: the source and the binary stay in the cache.
set -eu
want=bin
if [ "${1:-}" = --src ]; then want=src; shift; fi
ver=${1:?usage: $0 [--src] 1.7.4.4|1.8.1.3}
cache=${PYSOCAT_CLASSIC_CACHE:-${HOME:-/root}/.cache/pysocat}
say() { echo "classic.sh: $*" >&2; }
as_root() { [ "$(id -u)" = 0 ] || { say "needs root: $*"; exit 2; }; }

apt_install() {
    missing=""
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    [ -z "$missing" ] && return 0
    as_root "apt-get install$missing"
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
}

# A deb-src twin of the distribution's deb entry, for suite $1 (file $2).
deb_src() {
    [ -f "/etc/apt/sources.list.d/$2.sources" ] && return 0
    as_root "adding a deb-src entry"
    grep -v '^#' /etc/apt/sources.list.d/debian.sources | sed -n '/^Types: deb$/,/^$/p' | head -5 |
        sed -e 's/^Types: deb$/Types: deb-src/' -e "s/^Suites: .*/Suites: $1/" \
        > "/etc/apt/sources.list.d/$2.sources"
    apt-get update -qq >&2 || true
}

case "$ver" in
1.7.4.4)
    if [ $want = bin ]; then
        command -v socat >/dev/null 2>&1 || apt_install socat
        command -v socat; exit 0
    fi
    dir="$cache/src-1.7.4.4"
    if ! [ -f "$dir/socat-1.7.4.4/test.sh" ]; then
        apt_install dpkg-dev
        deb_src bookworm pysocat-bookworm-src
        mkdir -p "$dir" && cd "$dir" && apt-get source -qq socat/bookworm >&2
        [ -f "$dir/socat-1.7.4.4/test.sh" ] || { say "apt-get source socat/bookworm gave no test.sh"; exit 1; }
    fi
    echo "$dir/socat-1.7.4.4"; exit 0 ;;
1.8.1.3)
    dir="$cache/socat-1.8.1.3"
    if ! [ -f "$dir/test.sh" ]; then
        apt_install dpkg-dev
        deb_src sid pysocat-sid-src
        mkdir -p "$cache/dl" && cd "$cache/dl"
        [ -f socat_1.8.1.3.orig.tar.bz2 ] || apt-get source --download-only socat=1.8.1.3-2 >&2 || true
        [ -f socat_1.8.1.3.orig.tar.bz2 ] || { say "could not download socat 1.8.1.3's source"; exit 1; }
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        tar xjf socat_1.8.1.3.orig.tar.bz2 -C "$dir.tmp"
        mv "$dir.tmp/socat-1.8.1.3" "$dir" && rmdir "$dir.tmp"
    fi
    [ $want = src ] && { echo "$dir"; exit 0; }
    if ! [ -x "$dir/socat" ] || ! [ -x "$dir/filan" ]; then
        apt_install gcc make libssl-dev libreadline-dev
        cd "$dir"
        { ./configure >/dev/null && make -j2 >/dev/null; } >&2 || { say "build of 1.8.1.3 failed"; exit 1; }
    fi
    echo "$dir/socat"; exit 0 ;;
*)
    say "unknown version $ver (1.7.4.4 or 1.8.1.3)"; exit 2 ;;
esac
