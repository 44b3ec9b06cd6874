#!/usr/bin/env bash
# What a reverse proxy asks of the kernel per proxied /plaintext request: io_uring
# submissions by opcode, completions, io_uring_enter calls and the other system calls of
# the proxy process, counted by kernel tracepoints (perf), for `coreline serve --proxy` and
# nginx's `proxy_pass` (the reference config's location /proxy/, its worker counted).
#
# The upstream (`coreline serve`) runs on CPU 1 with the load, the proxy on CPU 0, as in
# proxy64 of `coreline-bench compare`. coreline-load sends N/10 requests as a warm-up over
# 64 keep-alive connections (so both sides' connections and pools are open), then the
# counters are attached and N more requests go over 64 new connections: the counts include
# those 64 connections' set-up and close (a few calls per connection, shown apart), and
# nothing of the upstream's side, which has no new connections after the warm-up.
#
# usage: bench/scripts/proxy_ops.sh N [OUT]   (OUT: also write the table there)
#   SERVERS="coreline nginx" in the environment picks the proxies (the default: both);
#   `coreline-kernel-cc` is coreline with --congestion-control kernel.
#   FILE=BYTES in the environment: ask for /proxy/fBYTES.bin instead, a file of that many
#   bytes the upstream serves (FILE=1048576: proxy1m's request).
# Counts of one build are deterministic per request except the enters, completions per
# enter and epoll_wait calls, which follow the timing (how many completions or events one
# call finds): on a busy machine there are fewer of them per request than on a quiet one.
# Needs perf, nginx, curl. Build first:
#   cargo build --release -p coreline-http --bin coreline -p coreline-bench --bin coreline-load
set -euo pipefail
cd "$(dirname "$0")/../.."
n=$1 out=${2:-}
bin=target/release/coreline
load=target/release/coreline-load
source bench/scripts/callgrind_common.sh # free_port
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

events="io_uring:io_uring_submit_req,io_uring:io_uring_complete,raw_syscalls:sys_enter"
calls="io_uring_enter epoll_wait epoll_pwait read readv recvfrom recvmsg write writev sendto
sendmsg sendfile64 splice socket connect setsockopt getsockopt getsockname getpeername accept4
close ioctl fcntl"
for c in $calls; do events+=",syscalls:sys_enter_$c"; done

wait_for() {
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    exit 1
}

# measure NAME PID PORT: warm-up, then the counted run; appends a row to $work/rows.
measure() {
    local name=$1 pid=$2 port=$3
    local url="http://127.0.0.1:$port/proxy/$target"
    wait_for "$url"
    taskset -c 1 "$load" -c 64 -n $((n / 10)) --quiet "$url" >/dev/null
    perf record -q -o "$work/$name.data" -e "$events" -p "$pid" 2>"$work/$name.perf" &
    local rec=$!
    sleep 0.5
    local done_line
    done_line=$(taskset -c 1 "$load" -c 64 -n "$n" --quiet "$url" | grep 'Status codes')
    kill -INT "$rec"
    wait "$rec" || true
    echo "# $name: $done_line" >>"$work/notes"
    perf script -i "$work/$name.data" -F event,trace 2>/dev/null |
        awk -v n="$n" -v name="$name" '
            /io_uring_submit_req/ { match($0, /opcode [A-Z_]+/); op[substr($0, RSTART + 7, RLENGTH - 7)]++ }
            /io_uring_complete/ { cqe++ }
            /raw_syscalls:sys_enter/ { all++ }
            /syscalls:sys_enter_/ && !/raw_syscalls/ { sub(/:$/, "", $1); sub(/.*sys_enter_/, "", $1); sc[$1]++ }
            END {
                ops = ""
                for (o in op) ops = ops sprintf("%s %.3f, ", o, op[o] / n)
                calls = ""
                for (c in sc) calls = calls sprintf("%s %.3f, ", c, sc[c] / n)
                printf "| %s | %s | %.3f | %s | %.3f |\n", name, (ops == "" ? "none, " : ops), cqe / n, calls, all / n
            }' | sed -E 's/, +\|/ |/g' >>"$work/rows"
}

target=plaintext
mkdir -p "$work/www"
if [ -n "${FILE:-}" ]; then
    target="f$FILE.bin"
    head -c "$FILE" /dev/urandom >"$work/www/$target"
fi
up_port=$(free_port)
taskset -c 1 "$bin" serve --cpus 1 --listen "127.0.0.1:$up_port" --root "$work/www" \
    2>"$work/upstream.log" &
pids+=($!)

for server in ${SERVERS:-coreline nginx}; do
    port=$(free_port)
    case $server in
    coreline | coreline-kernel-cc)
        cc=auto
        [ "$server" = coreline-kernel-cc ] && cc=kernel
        "$bin" serve --cpus 0 --listen "127.0.0.1:$port" --congestion-control "$cc" \
            --proxy "/proxy/=http://127.0.0.1:$up_port/" 2>"$work/$server.log" &
        pids+=($!)
        measure "$server" $! "$port"
        ;;
    nginx)
        mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
        sed -e "s/UPSTREAM_PORT/$up_port/; s#WWW_ROOT#$work#; s/listen 127.0.0.1:8082/listen 127.0.0.1:$port/" \
            -e "s/worker_processes 1;/worker_processes 1; worker_cpu_affinity 01;/" \
            -e "s#^http {#http { proxy_temp_path $work/nginx/tmp; client_body_temp_path $work/nginx/tmp;#" \
            bench/nginx/nginx.conf |
            perl -0pe 's/    server \{\n        listen 127\.0\.0\.1:8443.*?\n    \}\n//s' >"$work/nginx.conf"
        nginx -p "$work/nginx" -c "$work/nginx.conf" 2>"$work/nginx.log" &
        pids+=($!)
        wait_for "http://127.0.0.1:$port/plaintext"
        worker=$(pgrep -P "${pids[-1]}" | head -1)
        measure nginx "$worker" "$port"
        ;;
    *)
        echo "unknown server $server" >&2
        exit 2
        ;;
    esac
done

{
    echo "# ${FILE:+FILE=$FILE }bench/scripts/proxy_ops.sh $n${out:+ $out}"
    echo "# per proxied request of /proxy/$target over $n keep-alive requests (64 connections; load and upstream on CPU 1, proxy on CPU 0); $(uname -r); tree $(git rev-parse --short HEAD)"
    cat "$work/notes"
    echo
    echo "| proxy | io_uring submissions by opcode | io_uring completions | system calls by name | system calls in all |"
    echo "|---|---|---:|---|---:|"
    cat "$work/rows"
} | tee ${out:+"$out"}
