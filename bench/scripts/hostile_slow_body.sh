#!/usr/bin/env bash
# Slow clients from slowhttptest (Debian package `slowhttptest`) against coreline and nginx,
# each on one core (CPU 0): slow body (-B: 1,000 connections announcing a 10,000-byte POST
# body and sending a few bytes every 2 s) and slowloris (-H: 1,000 connections sending a
# header line every 2 s). Prints a Markdown table of how many attack connections each
# server still holds, and whether slowhttptest's probe (a fresh request, answered within
# 3 s) found the service available.
#
# Run from the workspace root, after `cargo build --release -p coreline-http --bin coreline`:
#   bench/scripts/hostile_slow_body.sh [SECONDS] > bench/results/hostile-slow-body.md
# nginx runs with bench/nginx/nginx.conf's settings on its own ports; its /echo is proxied
# to a local upstream, so that nginx reads the whole request body first (proxy_request_buffering on)
# and its client_body_timeout (60 s between two reads) applies, as coreline's /echo reads it.
set -euo pipefail

SECONDS_EACH=${1:-30}
CORELINE=${CORELINE:-target/release/coreline}
CL_PORT=18090
NGX_PORT=18091
UP_PORT=18092
WORK=$(mktemp -d)
trap 'kill ${CL_PID:-} ${NGX_PID:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"

mkdir -p "$WORK/nginx"
# bench/nginx/nginx.conf's settings (one worker, its events and http tuning), plain HTTP
# only, with /echo proxied to an upstream in the same nginx.
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
error_log stderr error;
pid nginx.pid;
events { worker_connections 16384; use epoll; multi_accept on; }
http {
    access_log off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$NGX_PORT reuseport backlog=4096;
        location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
        location = /echo { proxy_pass http://127.0.0.1:$UP_PORT; }
    }
    server { listen 127.0.0.1:$UP_PORT; location / { return 200 "ok"; } }
}
NGINX
nginx -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"

taskset -c 0 "$CORELINE" serve --listen 127.0.0.1:$CL_PORT --cpus 0 2>"$WORK/coreline.log" &
CL_PID=$!
taskset -c 0 nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx.log" &
NGX_PID=$!
sleep 1

# One slowhttptest run; prints a table row from its CSV (Seconds,Closed,Pending,
# Connected,Service Available).
run() {
    local server=$1 port=$2 mode=$3
    local out="$WORK/$server$mode"
    local args=(-c 1000 -r 500 -i 2 -l "$SECONDS_EACH" -p 3 -g -o "$out")
    if [ "$mode" = "-B" ]; then
        args+=(-B -s 10000 -x 2 -t POST -u "http://127.0.0.1:$port/echo")
    else
        args+=(-H -x 2 -t GET -u "http://127.0.0.1:$port/plaintext")
    fi
    timeout $((SECONDS_EACH + 30)) slowhttptest "${args[@]}" >"$out.txt" 2>&1 || true
    python3 - "$out.csv" "$server" "$mode" "$out.txt" <<'PY'
import csv, re, sys
path, server, mode, log = sys.argv[1:5]
text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", open(log, errors="replace").read())
ended = re.findall(r"Test ended on (\d+)\w* second", text)
status = re.findall(r"Exit status: (.*)", text)
end = f"s {ended[-1]}: {status[-1].strip()}" if ended and status else "?"
rows = list(csv.DictReader(open(path)))
last = rows[-1]
def at(s):
    # The last sample at or before second s.
    best = rows[0]
    for r in rows:
        if int(r["Seconds"]) <= s:
            best = r
    return best
peak = max(int(r["Connected"]) for r in rows)
# A run that ended before 10 s ended because no attack connection was left.
held_10 = at(10)["Connected"] if int(last["Seconds"]) >= 10 or "No open connections" not in end else "0"
unavailable = sum(1 for r in rows if r["Service Available"] == "0")
print(f"| {server} | `{mode}` | {peak} | {held_10} | {last['Connected']} (s {last['Seconds']}) "
      f"| {unavailable} | {end} |")
PY
}

echo "slowhttptest $(slowhttptest -h 2>&1 | grep -o 'version [0-9.]*' | head -1), ${SECONDS_EACH} s per run, 1,000 connections, one core each"
echo
echo "| server | mode | peak held | held at 10 s | held at the last sample (its second) | seconds service unavailable | end of the run |"
echo "|---|---|---|---|---|---|---|"
for mode in -B -H; do
    run coreline $CL_PORT "$mode"
    run nginx $NGX_PORT "$mode"
done
