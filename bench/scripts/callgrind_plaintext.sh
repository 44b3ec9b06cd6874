#!/usr/bin/env bash
# Userspace instructions per request of `coreline serve` answering pipelined /plaintext,
# counted by callgrind (repeatable on a busy machine, unlike req/s or CPU time).
#
# The server runs on CPU 0 under valgrind; h2load sends N/10 requests as a warm-up (pools
# filled, buffers grown), the counters are zeroed, then h2load sends N more (16 connections,
# 16 requests in flight on each) from CPU 1, the counters are dumped and the process is
# killed. Instructions per request = the dumped total ÷ N: start-up and warm-up are not in it.
#
# usage: bench/scripts/callgrind_plaintext.sh N [OUT]
#   OUT: also write the callgrind_annotate profile (top 40 functions, exclusive) to OUT,
#        with this command at its top.
#   KEEP=FILE in the environment: keep the raw callgrind profile as FILE.
# Needs valgrind, h2load, curl. Build first: cargo build --release -p coreline-http --bin coreline
set -euo pipefail
cd "$(dirname "$0")/../.."
n=$1 out=${2:-}
bin=target/release/coreline
source bench/scripts/callgrind_common.sh
port=$(free_port)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" serve --cpus 0 \
    --listen "127.0.0.1:$port" 2>"$work/valgrind.log" &
# MODE=keepalive (callgrind_keepalive.sh): one request in flight on each of 64 connections.
if [[ ${MODE:-pipelined} == keepalive ]]; then
    label="keep-alive /plaintext, one request per receive" flags=(-m 1 -c 64)
else
    label="pipelined /plaintext" flags=(-m 16 -c 16)
fi
callgrind_count $! "$port" /plaintext "$label" \
    "coreline serve --cpus 0 under valgrind --tool=callgrind" "${flags[@]}"
