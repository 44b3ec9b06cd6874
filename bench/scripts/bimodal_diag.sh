#!/usr/bin/env bash
# What one large-file run does inside coreline: syscalls per request, pipe sizes, TCP state.
#
#     bench/scripts/bimodal_diag.sh [OUT]      (default OUT: bench/results/bimodal-diag.txt)
#
# One `coreline serve --cpus 0 --root DIR` with a 1 MiB file; a 1 s wrk warm-up, then a 2 s
# `wrk -t1 -c16` run on CPU 1 under `strace -c -f` (syscall counts and errors: how many
# splices per request, how many returned EAGAIN), `ss -tmi` of both ends one second in
# (cwnd, rtt, retransmissions, send and receive buffers), and F_GETPIPE_SZ of every pipe
# the server holds (did the 1 MiB resize succeed). Needs wrk, strace, ss, python3;
# never changes sysctls.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/bench/results/bimodal-diag.txt}
bin=${CARGO_TARGET_DIR:-$root/target}/release/coreline
tmp=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null || true; rm -rf "$tmp"' EXIT
head -c 1048576 /dev/urandom >"$tmp/file.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --cpus 0 --root "$tmp" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/file.bin"
taskset -c 1 wrk -t1 -c16 -d1s "$url" >/dev/null
strace -c -f -p "$srv" -o "$tmp/strace.txt" &
tracer=$!
sleep 0.5
taskset -c 1 wrk -t1 -c16 -d2s "$url" >"$tmp/wrk.txt" &
load=$!
sleep 1
ss -tmin state established "( sport = :$port or dport = :$port )" >"$tmp/ss.txt"
wait "$load"
kill -INT "$tracer"
wait "$tracer" || true
{
    echo "# command: bench/scripts/bimodal_diag.sh"
    echo "# date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC; kernel $(uname -r); load average $(cut -d' ' -f1 /proc/loadavg)"
    echo "# congestion control $(sysctl -n net.ipv4.tcp_congestion_control); fs.pipe-max-size $(cat /proc/sys/fs/pipe-max-size); fs.pipe-user-pages-soft $(cat /proc/sys/fs/pipe-user-pages-soft); user $(id -un)"
    echo
    echo "## wrk -t1 -c16 -d2s (under strace)"
    cat "$tmp/wrk.txt"
    echo
    echo "## strace -c -f of the server over that run"
    cat "$tmp/strace.txt"
    echo
    echo "## F_GETPIPE_SZ of the server's pipes (fd, pipe, bytes)"
    python3 - "$srv" <<'EOF'
import fcntl, os, sys
pid = sys.argv[1]
for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
    link = os.readlink(f"/proc/{pid}/fd/{fd}")
    if link.startswith("pipe:"):
        f = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
        print(fd, link, fcntl.fcntl(f, 1032))  # F_GETPIPE_SZ
        os.close(f)
EOF
    echo
    echo "## ss -tmi one second into the run (server port $port)"
    cat "$tmp/ss.txt"
} >"$out"
echo "wrote $out"
