#!/usr/bin/env bash
# Where coreline-load's CPU goes per 1 MiB response, for receive-buffer rings of different
# sizes: one `coreline serve --cpus 0` serving a 1 MiB file from the page cache,
# `coreline-load -c 16 -d 3s --cpus 1 --recv-buffers N` against it, the ring sizes
# interleaved in each round so a change of machine load hits them alike. Per run: req/s,
# the client's CPU per response (perf's task-clock), the part of it in the kernel's
# receive copy (`_copy_to_iter`, from a cpu-clock profile: no hardware counters needed),
# the rest, io_uring_enter calls and completions per response (tracepoints), page faults.
#
#   bench/scripts/recv_copy.sh                                    # quiet machine
#   ROUNDS=3 LABEL="busy machine, for direction" chrt -r 10 bench/scripts/recv_copy.sh
#
# Runs in a private network namespace (unshare -n); needs root and perf. Writes OUT
# (default bench/results/recv-copy.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release}
OUT=${OUT:-$ROOT/bench/results/recv-copy.txt}
ROUNDS=${ROUNDS:-5}
RINGS=${RINGS:-1024 128 32}
LABEL=${LABEL:-quiet machine}

if [ "${RECV_COPY_IN_NETNS:-}" != 1 ]; then
    RECV_COPY_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up
TMP=$(mktemp -d /tmp/coreline-recv-copy.XXXXXX)
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir "$TMP/www"
head -c 1048576 /dev/urandom > "$TMP/www/file.bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/coreline" serve --cpus 0 --root "$TMP/www" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER=$!
sleep 0.5

{
    echo "# coreline-load's CPU per 1 MiB response by receive-buffer ring ($LABEL)"
    echo "# command: bench/scripts/recv_copy.sh (ROUNDS=$ROUNDS RINGS=\"$RINGS\")"
    echo "# date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC; kernel $(uname -r); scheduling $(chrt -p $$ | head -1 | sed 's/.*: //')"
    echo "# server: coreline serve --cpus 0 --root DIR; client: coreline-load --cpus 1 -c 16 -d 3s --recv-buffers N (16 KiB each)"
    echo "# columns: round, buffers, req/s, client CPU us/response, of it in _copy_to_iter, the rest, io_uring_enter/response, completions/response, page faults"
} > "$OUT"
for round in $(seq 1 "$ROUNDS"); do
    for ring in $RINGS; do
        perf record -q -e cpu-clock -F 2999 -o "$TMP/perf.data" -- \
            perf stat -x, -o "$TMP/stat" \
            -e task-clock,page-faults,syscalls:sys_enter_io_uring_enter,io_uring:io_uring_complete -- \
            "$BIN/coreline-load" --cpus 1 -c 16 -d 3s --quiet --recv-buffers "$ring" \
            "http://127.0.0.1:$PORT/file.bin" > "$TMP/out" 2>&1
        rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/out")
        field() { awk -F, -v e="$1" '$3 ~ e {print $1}' "$TMP/stat"; }
        copy=$(perf report -i "$TMP/perf.data" --no-children --sort sym --stdio 2>/dev/null \
            | awk '/\] _copy_to_iter$/ && !seen {sub("%", "", $1); print $1; seen = 1}')
        awk -v r="$round" -v ring="$ring" -v rps="$rps" -v tc="$(field task-clock)" \
            -v pf="$(field page-faults)" -v en="$(field sys_enter_io_uring_enter)" \
            -v co="$(field io_uring_complete)" -v cp="${copy:-0}" 'BEGIN {
                n = rps * 3; us = tc * 1000 / n
                printf "round %d buffers %5d req/s %6.0f cpu %4.0f us copy %4.0f us rest %4.0f us enters %.2f completions %.1f faults %d\n",
                    r, ring, rps, us, us * cp / 100, us * (1 - cp / 100), en / n, co / n, pf }' | tee -a "$OUT"
    done
done
