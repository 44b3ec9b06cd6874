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
source bench/scripts/callgrind_common.sh
up_port=$(free_port)
port=$(free_port)
work=$(mktemp -d)
"$bin" serve --cpus 1 --listen "127.0.0.1:$up_port" 2>"$work/upstream.log" &
up=$!
trap 'kill -9 "$up" 2>/dev/null || true; rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" serve --cpus 0 \
    --listen "127.0.0.1:$port" --proxy "/proxy/=http://127.0.0.1:$up_port/" \
    2>"$work/valgrind.log" &
callgrind_count $! "$port" /proxy/plaintext "proxied /plaintext" \
    "coreline serve --cpus 0 --proxy /proxy/=http://127.0.0.1:UP/ under valgrind --tool=callgrind, upstream coreline serve --cpus 1 natively (only the proxy process counted)" -c 16
