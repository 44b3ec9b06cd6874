#!/usr/bin/env bash
# Userspace instructions per proxied /plaintext request of `coreline serve --proxy`, counted
# by callgrind (repeatable on a busy machine, unlike req/s or CPU time). Only the proxy
# process is counted: the upstream (also `coreline serve`) runs natively.
#
# The upstream runs on CPU 1, the proxy on CPU 0 under valgrind, forwarding /proxy/ to the
# upstream (as proxy64 of `coreline-bench compare`). h2load sends N/10 requests to
# /proxy/plaintext as a warm-up (client pool and server pools filled), the counters are
# zeroed, then h2load sends N more (16 keep-alive connections, one request in flight on
# each) from CPU 1, the counters are dumped and both servers are killed. Instructions per
# request = the dumped total ÷ N: start-up and warm-up are not in it.
#
# usage: bench/scripts/callgrind_proxy.sh N [OUT]
#   OUT: also write the callgrind_annotate profile (top 40 functions, exclusive) to OUT,
#        with this command at its top.
#   KEEP=FILE in the environment: keep the raw callgrind profile as FILE.
# Needs valgrind, h2load, curl. Build first: cargo build --release -p coreline-http --bin coreline
set -euo pipefail
cd "$(dirname "$0")/../.."
n=$1 out=${2:-}
bin=target/release/coreline
free_port() {
    python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"
}
up_port=$(free_port)
port=$(free_port)
work=$(mktemp -d)
"$bin" serve --cpus 1 --listen "127.0.0.1:$up_port" 2>"$work/upstream.log" &
up=$!
trap 'kill -9 "$up" 2>/dev/null || true; rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" serve --cpus 0 \
    --listen "127.0.0.1:$port" --proxy "/proxy/=http://127.0.0.1:$up_port/" \
    2>"$work/valgrind.log" &
vg=$!
for _ in $(seq 1 100); do
    curl -sf -o /dev/null "127.0.0.1:$port/proxy/plaintext" && break
    sleep 0.2
done
load() {
    taskset -c 1 h2load --h1 -c 16 -n "$1" "http://127.0.0.1:$port/proxy/plaintext" |
        grep '^requests:'
}
load $((n / 10)) >/dev/null
callgrind_control -z "$vg" >/dev/null
done_line=$(load "$n")
callgrind_control -d "$vg" >/dev/null
sleep 1
kill -9 "$vg"
wait "$vg" 2>/dev/null || true
dump=$(ls -t "$work"/cg* | grep -v '^$' | head -1)
total=$(grep -h '^summary' "$dump" | awk '{print $2}')
if [ -n "${KEEP:-}" ]; then cp "$dump" "$KEEP"; fi # the raw profile, for callgrind_annotate
per=$(awk -v t="$total" -v n="$n" 'BEGIN {printf "%.0f", t / n}')
echo "proxied /plaintext, $n requests ($done_line): $total instructions, $per per request"
if [ -n "$out" ]; then
    {
        echo "# bench/scripts/callgrind_proxy.sh $n $out"
        echo "# coreline serve --cpus 0 --proxy /proxy/=http://127.0.0.1:UP/ under valgrind --tool=callgrind, upstream coreline serve --cpus 1 natively; load: taskset -c 1 h2load --h1 -c 16 -n $n .../proxy/plaintext after a warm-up of $((n / 10)), counters zeroed in between"
        echo "# $done_line"
        echo "# $total instructions, $per per request (userspace only, proxy process); callgrind_annotate --inclusive=no, top 40 (paths shortened)"
        callgrind_annotate --inclusive=no --threshold=100 "$dump" |
            sed -n '/file:function/,$p' | grep -v '(100.0%)' |
            sed -E "s#[^ ]*/registry/src/[^/]*/##g; s#/rustc/[0-9a-f]+/##g; s#$PWD/##g" |
            grep -v '^$' | head -42
    } >"$out"
fi
