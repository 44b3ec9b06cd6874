#!/usr/bin/env bash
# What the kernel is asked per request by the `ceiling` example and by `coreline serve`,
# side by side under the same keep-alive load: SQEs submitted, CQEs posted,
# `io_uring_enter` calls and context switches of the server (perf tracepoints on its pid),
# its user and kernel CPU (/proc/PID/stat), and the load generator's CPU per request.
# Counts are per request and do not depend on the machine being quiet; the times do.
#
# Server pinned to SERVER_CPU, `wrk -t 1 -c CONNS -d SECS` to LOAD_CPU; servers
# interleaved in each repeat. Needs root (perf tracepoints), wrk and perf. Writes OUT
# (default bench/results/ceiling-counts.md) with the exact command.
#
#   bench/scripts/ceiling_counts.sh
#   REPEATS=5 LABEL="busy machine, for direction" bench/scripts/ceiling_counts.sh
#
# SERVERS="ceiling coreline" by default; `ceiling-kernel-cc` is the ceiling on the
# kernel's congestion control (CEILING_CC=kernel) and `ceiling-metrics` with the runtime's
# loop metrics on (CEILING_METRICS=1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
OUT=${OUT:-$ROOT/bench/results/ceiling-counts.md}
REPEATS=${REPEATS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
LABEL=${LABEL:-quiet machine}
read -r -a SERVERS <<<"${SERVERS:-ceiling coreline}"
EVENTS=io_uring:io_uring_submit_req,io_uring:io_uring_complete
EVENTS=$EVENTS,syscalls:sys_enter_io_uring_enter,sched:sched_switch

if [[ -z ${NO_BUILD:-} ]]; then
    (cd "$ROOT" && cargo build --release -p coreline-runtime --example ceiling >&2 &&
        cargo build --release -p coreline-http --bin coreline >&2)
fi
for tool in wrk perf; do
    command -v "$tool" >/dev/null || { echo "ceiling_counts.sh: needs $tool" >&2; exit 1; }
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The server's command line for PORT.
server_cmd() {
    case $1 in
        ceiling) echo "$BIN_DIR/examples/ceiling 127.0.0.1:$2 $SERVER_CPU" ;;
        ceiling-kernel-cc) echo "env CEILING_CC=kernel $BIN_DIR/examples/ceiling 127.0.0.1:$2 $SERVER_CPU" ;;
        ceiling-metrics) echo "env CEILING_METRICS=1 $BIN_DIR/examples/ceiling 127.0.0.1:$2 $SERVER_CPU" ;;
        coreline) echo "$BIN_DIR/coreline serve --listen 127.0.0.1:$2 --cpus $SERVER_CPU --root $WWW" ;;
        *) echo "ceiling_counts.sh: unknown server $1" >&2; exit 1 ;;
    esac
}

# One run: prints "requests req/s user_ticks system_ticks load_seconds sqes cqes enters
# switches".
run_one() {
    local port pid before after stat wrk_out
    port=$(free_port)
    # shellcheck disable=SC2046 # the command line is split on purpose
    taskset -c "$SERVER_CPU" $(server_cmd "$1" "$port") >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    stat=$(mktemp)
    wrk_out=$(mktemp)
    before=$(awk '{print $14, $15}' "/proc/$pid/stat")
    perf stat -x, -e "$EVENTS" -p "$pid" -o "$stat" -- sleep "$SECS" &
    local perf_pid=$!
    /usr/bin/time -f "%U %S" -o "$wrk_out.time" taskset -c "$LOAD_CPU" \
        wrk -t 1 -c "$CONNS" -d "${SECS}s" "http://127.0.0.1:$port/plaintext" >"$wrk_out"
    after=$(awk '{print $14, $15}' "/proc/$pid/stat")
    wait "$perf_pid"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    read -r u0 s0 <<<"$before"
    read -r u1 s1 <<<"$after"
    echo "$(awk '/requests in/ {print $1}' "$wrk_out")" \
        "$(awk '/^Requests\/sec/ {print $2}' "$wrk_out") $((u1 - u0)) $((s1 - s0))" \
        "$(awk '{print $1 + $2}' "$wrk_out.time")" \
        "$(awk -F, '/^[0-9]/ {printf "%s ", $1}' "$stat")"
    rm -f "$stat" "$wrk_out" "$wrk_out.time"
}

WWW=$(mktemp -d)
RUNS=$(mktemp)
trap 'rm -rf "$RUNS" "$WWW"' EXIT
for r in $(seq "$REPEATS"); do
    for s in "${SERVERS[@]}"; do
        line=$(run_one "$s")
        echo "$s $line" >>"$RUNS"
        echo "repeat $r $s: $line" >&2
    done
done

TICK=$(getconf CLK_TCK)
{
    echo "# Kernel work per request: the ceiling example and coreline serve"
    echo
    echo "- label: $LABEL"
    echo "- command: \`REPEATS=$REPEATS SECS=$SECS CONNS=$CONNS SERVERS=\"${SERVERS[*]}\" bench/scripts/ceiling_counts.sh\`"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- kernel: $(uname -r); TCP congestion control $(cat /proc/sys/net/ipv4/tcp_congestion_control)"
    echo "- server pinned to CPU $SERVER_CPU; \`wrk -t 1 -c $CONNS -d ${SECS}s\` GET /plaintext pinned to CPU $LOAD_CPU; perf tracepoints on the server's pid (io_uring_submit_req, io_uring_complete, sys_enter_io_uring_enter, sched_switch); server CPU from /proc/PID/stat ($TICK ticks/s), wrk's from time(1); medians of $REPEATS interleaved repeats, per request"
    echo
    python3 - "$TICK" "$RUNS" "${SERVERS[@]}" <<'PY'
import statistics, sys
tick, path, servers = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
runs = {}
for line in open(path):
    f = line.split()
    runs.setdefault(f[0], []).append([float(x) for x in f[1:]])
print("| server | req/s | SQEs | CQEs | enters | CQEs per enter | context switches | server user µs | server kernel µs | server CPU µs | wrk CPU µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in servers:
    rs = runs[s]
    med = lambda f: statistics.median(f(*r) for r in rs)
    req_s = med(lambda n, rps, u, k, w, sq, cq, en, sw: rps)
    cells = [
        med(lambda n, rps, u, k, w, sq, cq, en, sw: sq / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: cq / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: en / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: cq / en),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: sw / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: u / tick * 1e6 / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: k / tick * 1e6 / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: (u + k) / tick * 1e6 / n),
        med(lambda n, rps, u, k, w, sq, cq, en, sw: w * 1e6 / n),
    ]
    print(f"| {s} | {req_s:,.0f} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
PY
    echo
    echo "Runs in order (server, requests, req/s, user ticks, system ticks, wrk CPU s, SQEs, CQEs, enters, context switches):"
    echo
    echo '```'
    cat "$RUNS"
    echo '```'
} >"$OUT"
echo "wrote $OUT" >&2
