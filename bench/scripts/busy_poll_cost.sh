#!/usr/bin/env bash
# What `coreline serve --busy-poll-us N` costs in CPU: for each N, a fresh server on one
# CPU, its CPU seconds (/proc/PID/stat utime + stime) over 10 s idle, then over a 10 s
# `coreline-load -c 4 -R 1000` run of a small file (a light load: a gap after every
# request, each spending up to the polling window).
#
#   bench/scripts/busy_poll_cost.sh
#
# Runs in a private network namespace (unshare -n). Writes OUT (default
# bench/results/busy-poll-cost.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release}
OUT=${OUT:-$ROOT/bench/results/busy-poll-cost.txt}
WINDOWS=${WINDOWS:-0 50 200 1000}
LABEL=${LABEL:-quiet machine}

if [ "${BUSY_POLL_IN_NETNS:-}" != 1 ]; then
    BUSY_POLL_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up
TMP=$(mktemp -d /tmp/coreline-busy-poll.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir "$TMP/www"
echo small > "$TMP/www/small.txt"
CLK=$(getconf CLK_TCK)
cpu() { awk -v c="$CLK" '{ printf "%.2f", ($14 + $15) / c }' "/proc/$1/stat"; }

{
    echo "# coreline serve --busy-poll-us N: CPU seconds idle and under a light load ($LABEL)"
    echo "# command: bench/scripts/busy_poll_cost.sh (WINDOWS=\"$WINDOWS\")"
    echo "# date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC; kernel $(uname -r)"
    echo "# server: coreline serve --cpus 0 --root DIR --busy-poll-us N; load: coreline-load --cpus 1 -c 4 -R 1000 -d 10s (small file)"
} > "$OUT"
for us in $WINDOWS; do
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BIN/coreline" serve --cpus 0 --root "$TMP/www" --listen "127.0.0.1:$PORT" \
        --busy-poll-us "$us" >/dev/null 2>&1 &
    SERVER=$!
    sleep 1
    a=$(cpu "$SERVER")
    sleep 10
    b=$(cpu "$SERVER")
    "$BIN/coreline-load" --cpus 1 -c 4 -R 1000 -d 10s --quiet \
        "http://127.0.0.1:$PORT/small.txt" > "$TMP/out" 2>&1
    c=$(cpu "$SERVER")
    rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/out")
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
    awk -v us="$us" -v a="$a" -v b="$b" -v c="$c" -v rps="$rps" 'BEGIN {
        printf "busy-poll-us %4d: idle 10 s: %.2f CPU-s; light load (%s req/s, 10 s): %.2f CPU-s\n",
            us, b - a, rps, c - b }' | tee -a "$OUT"
done
