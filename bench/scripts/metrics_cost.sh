#!/usr/bin/env bash
# Userspace instructions of the HTTP server with latency metrics on versus off (or on with
# kernel receive timestamps: rx), counted by
# callgrind (repeatable on a busy machine, unlike req/s): `http/examples/metrics_cost`
# serves /plaintext on CPU 0 under valgrind while h2load (pipelined) or ab -k (keep-alive)
# sends a fixed number of requests from CPU 1; the totals are dumped with
# callgrind_control and the process is killed.
#
# usage: bench/scripts/metrics_cost.sh on|off|rx pipe|ka N
# Needs valgrind, h2load, ab, curl. Build first:
#   cargo build --release -p coreline-http --example metrics_cost
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=$1 load=$2 n=$3
bin=target/release/examples/metrics_cost
port=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" "127.0.0.1:$port" "$mode" \
    2>"$work/valgrind.log" &
vg=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "127.0.0.1:$port/plaintext" && break
    sleep 0.2
done
if [ "$load" = pipe ]; then
    taskset -c 1 h2load --h1 -m 16 -c 16 -n "$n" "http://127.0.0.1:$port/plaintext" | grep '^requests:'
else
    taskset -c 1 ab -k -q -n "$n" -c 16 "http://127.0.0.1:$port/plaintext" | grep -E '^(Complete|Failed) requests'
fi
callgrind_control -d "$vg" >/dev/null
sleep 1
kill -9 "$vg"
wait "$vg" 2>/dev/null || true
echo "metrics $mode, $load, $n requests: $(grep -h '^summary' "$work"/cg* | awk '{s += $2} END {print s}') instructions"
