#!/usr/bin/env bash
# io_uring features, each with and without, in the `ceiling` example: requests per server
# CPU-second (utime + stime of the server from /proc/PID/stat around a fixed number of
# requests), the user/kernel split, for keep-alive and pipelined ×16 load from h2load.
#
# Server pinned to SERVER_CPU, h2load to LOAD_CPU; variants interleaved in each repeat so
# a change of machine load hits them alike. Writes OUT (default
# bench/results/uring-features.md) with the exact commands.
#
#   bench/scripts/uring_features.sh                      # quiet machine: the defaults
#   REPEATS=3 PLAIN_REQUESTS=40000 PIPE_REQUESTS=400000 LABEL="busy machine, for direction" \
#     bench/scripts/uring_features.sh
#
# Variants (environment of the ceiling, see runtime/examples/ceiling.rs):
#   baseline     CEILING_SQARRAY=1 CEILING_FIXED_FILES=0     (SQ array kept, real fds)
#   no_sqarray   CEILING_SQARRAY=0 CEILING_FIXED_FILES=0     (IORING_SETUP_NO_SQARRAY)
#   fixed_files  CEILING_SQARRAY=1 CEILING_FIXED_FILES=4096  (direct descriptors)
#   both         CEILING_SQARRAY=0 CEILING_FIXED_FILES=4096
# and, each on top of no_sqarray (the runtime's default) and compared with it:
#   recv_bundle  CEILING_RECV_BUNDLE=1   (IORING_RECVSEND_BUNDLE on the multishot receive)
#   buf_inc      CEILING_BUF_INC=1       (IOU_PBUF_RING_INC provided-buffer ring)
#   fixed_buf    CEILING_FIXED_BUF=1     (responses sent from a registered buffer)
#   send_bundle  CEILING_SEND_BUNDLE=1   (each response in its own send-ring buffer, one
#                                         IORING_RECVSEND_BUNDLE send per read)
#   kernel_cc    CEILING_CC=kernel       (the kernel's congestion control on the loopback
#                                         listener, BBR here, instead of reno)
#   metrics      CEILING_METRICS=1       (the runtime's loop metrics recorded)
#   busy_poll    CEILING_BUSY_POLL_US=50 (an idle core polls 50 µs before it sleeps)
# Every variant runs with the listener and runtime settings of `coreline serve`
# (CEILING_CC=auto: reno on loopback; CEILING_METRICS=0; CEILING_BUSY_POLL_US=0) unless it
# names them.
# VARIANTS="no_sqarray fixed_buf" runs only those (space-separated).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/examples/ceiling}
OUT=${OUT:-$ROOT/bench/results/uring-features.md}
REPEATS=${REPEATS:-3}
PLAIN_REQUESTS=${PLAIN_REQUESTS:-1000000}
PIPE_REQUESTS=${PIPE_REQUESTS:-4000000}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
LABEL=${LABEL:-quiet machine}
read -r -a VARIANTS <<<"${VARIANTS:-baseline no_sqarray fixed_files both recv_bundle buf_inc fixed_buf send_bundle kernel_cc metrics busy_poll}"

if [[ -z ${NO_BUILD:-} ]]; then
    (cd "$ROOT" && cargo build --release -p coreline-runtime --example ceiling >&2)
fi
command -v h2load >/dev/null || { echo "uring_features.sh: needs h2load (nghttp2)" >&2; exit 1; }

variant_env() {
    local off="CEILING_RECV_BUNDLE=0 CEILING_BUF_INC=0 CEILING_FIXED_BUF=0 CEILING_SEND_BUNDLE=0"
    off="$off CEILING_CC=auto CEILING_METRICS=0 CEILING_BUSY_POLL_US=0"
    case $1 in
        baseline) echo "CEILING_SQARRAY=1 CEILING_FIXED_FILES=0 $off" ;;
        no_sqarray) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off" ;;
        fixed_files) echo "CEILING_SQARRAY=1 CEILING_FIXED_FILES=4096 $off" ;;
        both) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=4096 $off" ;;
        recv_bundle) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_RECV_BUNDLE=1" ;;
        buf_inc) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_BUF_INC=1" ;;
        fixed_buf) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_FIXED_BUF=1" ;;
        send_bundle) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_SEND_BUNDLE=1" ;;
        kernel_cc) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_CC=kernel" ;;
        metrics) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_METRICS=1" ;;
        busy_poll) echo "CEILING_SQARRAY=0 CEILING_FIXED_FILES=0 $off CEILING_BUSY_POLL_US=50" ;;
        *) echo "uring_features.sh: unknown variant $1" >&2; exit 1 ;;
    esac
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# utime and stime of PID, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# One run: prints "user_ticks system_ticks requests_done".
run_one() {
    local variant=$1 workload=$2 port pid before after done
    port=$(free_port)
    env $(variant_env "$variant") taskset -c "$SERVER_CPU" "$BIN" "127.0.0.1:$port" "$SERVER_CPU" \
        2>/dev/null &
    pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    local args=(--h1 -t 1 -c "$CONNS")
    case $workload in
        plain) args+=(-n "$PLAIN_REQUESTS") ;;
        pipelined) args+=(-n "$PIPE_REQUESTS" -m 16) ;;
    esac
    before=$(cpu_ticks "$pid")
    done=$(taskset -c "$LOAD_CPU" h2load "${args[@]}" "http://127.0.0.1:$port/" |
        awk '/^requests:/ {print $8}')
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    read -r u0 s0 <<<"$before"
    read -r u1 s1 <<<"$after"
    echo "$((u1 - u0)) $((s1 - s0)) $done"
}

TICK=$(getconf CLK_TCK)
RUNS=$(mktemp)
trap 'rm -f "$RUNS"' EXIT
for r in $(seq "$REPEATS"); do
    for workload in plain pipelined; do
        for v in "${VARIANTS[@]}"; do
            read -r u s d <<<"$(run_one "$v" "$workload")"
            echo "$workload $v $u $s $d" >>"$RUNS"
            echo "repeat $r $workload $v: user $u sys $s ticks, $d requests" >&2
        done
    done
done

{
    echo "# io_uring features in the ceiling example: requests per server CPU-second"
    echo
    echo "- label: $LABEL"
    echo "- command: \`REPEATS=$REPEATS PLAIN_REQUESTS=$PLAIN_REQUESTS PIPE_REQUESTS=$PIPE_REQUESTS VARIANTS=\"${VARIANTS[*]}\" bench/scripts/uring_features.sh\`"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- kernel: $(uname -r)"
    echo "- ceiling pinned to CPU $SERVER_CPU; \`h2load --h1 -t 1 -c $CONNS -n N\` (pipelined: \`-m 16\`) pinned to CPU $LOAD_CPU; server CPU = utime + stime from /proc/PID/stat ($TICK ticks/s) around the h2load run; medians of $REPEATS interleaved repeats"
    echo
    python3 - "$TICK" "$RUNS" "${VARIANTS[@]}" <<'PY'
import statistics, sys
tick, path, variants = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
runs = {}
for line in open(path):
    workload, variant, u, s, d = line.split()
    runs.setdefault((workload, variant), []).append((int(u), int(s), int(d)))
# The newer features sit on top of no_sqarray (the runtime's default): compared with it.
on_no_sqarray = {"recv_bundle", "buf_inc", "fixed_buf", "send_bundle", "kernel_cc", "metrics",
                 "busy_poll"}
def reference(variant):
    ref = "no_sqarray" if variant in on_no_sqarray else "baseline"
    return ref if ref in variants else variants[0]
print("| workload | variant | req per server CPU-s | user µs/req | kernel µs/req | vs | |")
print("|---|---|---:|---:|---:|---:|---|")
for workload in ("plain", "pipelined"):
    rates = {}
    for variant in variants:
        rs = runs[(workload, variant)]
        rates[variant] = statistics.median(d / ((u + s) / tick) for u, s, d in rs)
    for variant in variants:
        rs = runs[(workload, variant)]
        rate = rates[variant]
        user = statistics.median(u / tick * 1e6 / d for u, s, d in rs)
        kern = statistics.median(s / tick * 1e6 / d for u, s, d in rs)
        ref = reference(variant)
        print(f"| {workload} | {variant} | {rate:,.0f} | {user:.3f} | {kern:.3f} | {rate / rates[ref]:.2f}× | {ref} |")
PY
    echo
    echo "Runs in order (workload, variant, user ticks, system ticks, requests):"
    echo
    echo '```'
    cat "$RUNS"
    echo '```'
} >"$OUT"
echo "wrote $OUT" >&2
