#!/usr/bin/env bash
# Run socat's test.sh against one binary, as root, inside a private network
# namespace made for this run, under a wall-clock bound.
#
#   netns-run.sh SUITE_DIR SOCAT_BINARY OUT_DIR BOUND_SECONDS [test.sh args...]
#   CONF_CHUNKS=FILE netns-run.sh ... : one bounded test.sh run per line of FILE
#
# SUITE_DIR is an unpacked socat source tree (it holds test.sh and the helper
# scripts test.sh calls); it is copied so that runs never share a working dir.
# OUT_DIR receives stdout, stderr, rc and env.txt.  Everything test.sh does
# happens in namespace "pyconf-<pid>": loopback up, one veth end with
# 10.231.0.1/24 (fd00:231::1/64) and a default route through the other end,
# which lives in a second namespace "pyconf-<pid>-peer" with 10.231.0.2.
# Nothing can leave: the peer namespace has no further links.
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 SUITE_DIR SOCAT_BINARY OUT_DIR BOUND_SECONDS [test.sh args...]" >&2
    exit 2
fi
SUITE_DIR=$(cd "$1" && pwd) || exit 2
SOCAT_BIN=$2
OUT_DIR=$3
BOUND=$4
shift 4

if [ "$(id -u)" != 0 ]; then
    echo "$0: must run as root (network namespaces, privileged tests)" >&2
    exit 2
fi
if ! [ -x "$SOCAT_BIN" ]; then
    echo "$0: $SOCAT_BIN is not executable" >&2
    exit 2
fi
case "$SOCAT_BIN" in /*) ;; *) SOCAT_BIN="$(pwd)/$SOCAT_BIN" ;; esac

# --- tools test.sh needs ------------------------------------------------------
need=()
command -v ip      >/dev/null 2>&1 || need+=(iproute2)
command -v ping    >/dev/null 2>&1 || need+=(iputils-ping)
command -v od      >/dev/null 2>&1 || need+=(coreutils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v procan  >/dev/null 2>&1 || need+=(socat)   # procan/filan come with it
command -v timeout >/dev/null 2>&1 || need+=(coreutils)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing missing packages: ${need[*]}" >&2
    timeout 600 apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${need[@]}" >&2 || {
        echo "$0: could not install ${need[*]}" >&2; exit 2; }
fi

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

NS="pyconf-$$"
PEER="pyconf-$$-peer"
VIN="pyc$$i"      # interface names must stay under 16 characters
VOUT="pyc$$o"
RUN_DIR=$(mktemp -d /tmp/pyconf.XXXXXX)

cleanup() {
    local ns pid i
    for ns in "$NS" "$PEER"; do
        ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
        # Whatever still runs in our namespace was started by this run.
        for i in 1 2 3; do
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] && break
            for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
            sleep 1
        done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    unplant_stderr2
    rm -rf "$RUN_DIR"
}

# 1.8.1.3's test 566 READLINE_SH_OVERWRITE plants /tmp/$USER/stderr2 as a symlink
# into its temp directory; 1.7.4.4's readline.sh (test 102) writes its log through
# that very name and fails once the target is gone. Remove the symlink (ours, or one
# a run cut short left dangling) before and after each run.
unplant_stderr2() {
    local l=/tmp/root/stderr2
    if [ -L "$l" ]; then
        case "$(readlink "$l")" in
        "$RUN_DIR"/*|/tmp/pyconf.*) rm -f "$l" ;;
        esac
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

unplant_stderr2
set -e
ip netns add "$NS"
ip netns add "$PEER"
ip -n "$NS" link set lo up
ip -n "$PEER" link set lo up
ip link add "$VIN" netns "$NS" type veth peer name "$VOUT" netns "$PEER"
ip -n "$NS"   addr add 10.231.0.1/24 dev "$VIN"
ip -n "$PEER" addr add 10.231.0.2/24 dev "$VOUT"
ip -n "$NS"   addr add fd00:231::1/64 dev "$VIN" nodad 2>/dev/null || true
ip -n "$PEER" addr add fd00:231::2/64 dev "$VOUT" nodad 2>/dev/null || true
ip -n "$NS"   link set "$VIN" up
ip -n "$PEER" link set "$VOUT" up
ip -n "$NS"   route add default via 10.231.0.2
ip -n "$NS" -6 route add default via fd00:231::2 2>/dev/null || true
set +e

# A private copy of the suite: test.sh writes certificates into its cwd.
cp -a "$SUITE_DIR" "$RUN_DIR/suite"
mkdir -p "$RUN_DIR/tmp"

{
    echo "socat=$SOCAT_BIN"
    echo "args=$*"
    echo "bound=$BOUND"
    echo "started=$(date -u +%FT%TZ)"
    echo "namespace=$NS interface=$VIN"
    echo "PYSOCAT_COMPAT=${PYSOCAT_COMPAT-}"
} >"$OUT_DIR/env.txt"

# test.sh makes testcert.dh (openssl dhparam, $RSABITS bits) the first time a test
# needs certificates. That can take minutes on a loaded machine; in chunked mode it
# would eat one test's bound. Make it the same way once, up front, and keep a copy
# beside the run directories for the next run.
DH_CACHE="$(dirname "$OUT_DIR")/testcert.dh"
if [ -n "${CONF_CHUNKS:-}" ] && [ ! -f "$RUN_DIR/suite/testcert.dh" ]; then
    if [ -s "$DH_CACHE" ]; then
        cp "$DH_CACHE" "$RUN_DIR/suite/testcert.dh"
    else
        bits=$(sed -n 's/^RSABITS=\([0-9][0-9]*\).*/\1/p' "$RUN_DIR/suite/test.sh" | head -n 1)
        if (cd "$RUN_DIR/suite" && timeout 900 openssl dhparam -out testcert.dh "${bits:-2048}" \
                >/dev/null 2>&1); then
            cp "$RUN_DIR/suite/testcert.dh" "$DH_CACHE" 2>/dev/null
        else
            rm -f "$RUN_DIR/suite/testcert.dh"
        fi
    fi
fi

# test.sh's helper scripts (readline.sh, …) call "socat" with PATH=${SOCAT%socat}:$PATH:
# the binary under test is offered to it under that name, as a drop-in is installed.
case "$SOCAT_BIN" in
    */socat) ;;
    *) mkdir -p "$RUN_DIR/bin" && ln -s "$SOCAT_BIN" "$RUN_DIR/bin/socat" &&
       SOCAT_BIN="$RUN_DIR/bin/socat" ;;
esac

# test.sh's own lookup of filan/procan (socat's fd and process inspection tools)
# depends on where $SOCAT lives; name them for every binary alike (the caller
# passes the classic ones of the suite's version as FILAN= and PROCAN=).
FILAN_BIN=${FILAN:-$(command -v filan || echo false)}
PROCAN_BIN=${PROCAN:-$(command -v procan || echo false)}

# timeout puts test.sh and all it spawns in its own process group and ends that group.
run_chunk() {   # run_chunk BOUND OUT_SUFFIX ARGS...
    local bound=$1 sfx=$2; shift 2
    ip netns exec "$NS" env -C "$RUN_DIR/suite" \
        SOCAT="$SOCAT_BIN" FILAN="$FILAN_BIN" PROCAN="$PROCAN_BIN" TMPDIR="$RUN_DIR/tmp" USER=root TERM=dumb \
        timeout -k 20 "$bound" ./test.sh "$@" \
        </dev/null >"$OUT_DIR/stdout$sfx" 2>"$OUT_DIR/stderr$sfx"
}

if [ -n "${CONF_CHUNKS:-}" ]; then
    # One test.sh invocation per line of $CONF_CHUNKS (each line: test.sh arguments),
    # each bounded by CONF_CHUNK_BOUND, so one hanging test costs one chunk, not the run.
    # No chunk starts once BOUND seconds have passed.
    t0=$(date +%s); k=0; rc=0
    echo "chunks=$(grep -c . "$CONF_CHUNKS")" >>"$OUT_DIR/env.txt"
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        k=$((k+1))
        left=$(( BOUND - ($(date +%s) - t0) ))
        if [ "$left" -le 0 ]; then
            echo "wall-clock bound of ${BOUND}s reached before chunk $k" >&2
            echo "bound_reached=chunk $k" >>"$OUT_DIR/env.txt"
            rc=124; break
        fi
        cb=${CONF_CHUNK_BOUND:-60}; [ "$cb" -gt "$left" ] && cb=$left
        cs=$(date +%s)
        # shellcheck disable=SC2086
        run_chunk "$cb" ".$k" $line
        crc=$?
        echo "chunk $k rc=$crc secs=$(( $(date +%s) - cs )) args=$line" >>"$OUT_DIR/env.txt"
        [ "$crc" = 124 ] && echo "chunk $k hit its bound of ${cb}s" >&2
        [ "$crc" != 0 ] && [ "$crc" != 124 ] && [ "$rc" = 0 ] && rc=$crc
    done <"$CONF_CHUNKS"
    cat "$OUT_DIR"/stdout.* >"$OUT_DIR/stdout" 2>/dev/null
    cat "$OUT_DIR"/stderr.* >"$OUT_DIR/stderr" 2>/dev/null
else
    run_chunk "$BOUND" "" "$@"
    rc=$?
fi
echo "$rc" >"$OUT_DIR/rc"
echo "finished=$(date -u +%FT%TZ) rc=$rc" >>"$OUT_DIR/env.txt"
[ "$rc" = 124 ] && echo "test.sh hit the wall-clock bound" >&2
exit "$rc"
