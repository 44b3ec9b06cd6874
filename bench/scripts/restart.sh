#!/usr/bin/env bash
# Zero-downtime restart under continuous load, inside a private network namespace:
#
#   unshare -n bash bench/scripts/restart.sh [--no-migrate] [--old BINARY] [--alone]
#
# Brings up `lo` in the namespace and sets net.ipv4.tcp_migrate_req=1 there (--no-migrate:
# 0); starts `coreline serve` (the old process, on CPU 0), runs two coreline-load instances
# for 4 s (64 keep-alive connections, and 32 that open a connection per request), starts a
# new `coreline serve --reuse-port --metrics ...` on the same port after 1 s, sends the old
# one SIGTERM after 2 s, waits for it to exit, and prints each load's requests and errors.
#
# Exit status 0 when all of these hold:
# - no request failed, and the old process exited 0;
# - the new process served requests after the old one stopped accepting (counted from its
#   /metrics: requests_total once only the new process's listener is left, and again when
#   the load ends), and exited 0 on its own SIGTERM;
# - refused connects stay within MAX_REFUSED (with tcp_migrate_req=1). A refused connect is
#   not a failed request (nothing was sent, so a client retries it safely), but without a
#   successor every reconnect is refused. With one, a SYN that races the old socket's close
#   can rarely be refused: seen once in ten runs of 90,000 connections here.
#
# --old runs another binary as the old process (e.g. an older build, to see what the drain
# fixes). --alone starts no new process: a plain graceful shutdown under keep-alive load,
# where refused reconnects are expected (nobody listens any more) and every other error is
# a failure. (Without a successor, the connection-per-request load is left out: connections
# the kernel queued after the server's last accept are reset when the socket closes, and a
# client cannot tell those from accepted ones.) --skip-new is a restart run whose new
# process is never started: it must FAIL (bench/tests/restart.rs checks that the checks
# above catch a restart that did not happen). Needs target/release/{coreline,coreline-load}.
# Never touches the host's sysctls: run it under `unshare -n` (it refuses otherwise).
set -euo pipefail
cd "$(dirname "$0")/../.."
migrate=1
alone=0
skip_new=0
# Refused connects a restart with tcp_migrate_req=1 may cause (see above: about one in
# 900,000 connections; a run makes about 90,000).
MAX_REFUSED=2
bin=target/release/coreline
old_bin=$bin
load=target/release/coreline-load
while (($#)); do
    case $1 in
        --no-migrate) migrate=0 ;;
        --old) old_bin=$2; shift ;;
        --alone) alone=1 ;;
        --skip-new) skip_new=1 ;;
        *) echo "restart.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if ip -o link show | grep -qv ' lo:'; then
    echo "restart.sh: run it in a fresh network namespace: unshare -n bash $0" >&2
    exit 2
fi
for b in "$bin" "$old_bin" "$load"; do
    [ -x "$b" ] || { echo "restart.sh: $b is missing (cargo build --release --workspace)" >&2; exit 2; }
done
ip link set lo up
echo "$migrate" > /proc/sys/net/ipv4/tcp_migrate_req
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
url=http://127.0.0.1:8080/plaintext
admin=127.0.0.1:9090

wait_listening() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && return; sleep 0.02; done; }
"$old_bin" serve --listen 127.0.0.1:8080 --cpus 0 2>"$work/old.err" & old=$!
wait_listening
"$load" -c 64 -d 4 --cpus 1 --quiet --json "$work/keep-alive.json" "$url" >/dev/null &
ka=$!
cl=
if [ "$alone" = 0 ]; then
    "$load" -c 32 -d 4 --close --cpus 1 --quiet --json "$work/close.json" "$url" >/dev/null &
    cl=$!
fi
sleep 1
new=
new_listeners=0
if [ "$alone" = 0 ] && [ "$skip_new" = 0 ]; then
    new_listeners=1 # one core
    "$bin" serve --listen 127.0.0.1:8080 --cpus 1 --reuse-port --metrics "$admin" --metrics-hlog "$work" \
        2>"$work/new.err" & new=$!
fi
sleep 1
start=$(date +%s%N)
kill -TERM "$old"
# The old process stops accepting (closes its listener) at once and then drains, which can
# take longer than the load lasts on a loaded machine: count the new process's requests
# from the moment only its listener is left, not from the old process's exit.
listeners() { ss -Hltn 'sport = :8080' | wc -l; }
for _ in $(seq 500); do
    [ "$(listeners)" -le $((new_listeners)) ] && break
    sleep 0.01
done
# The new process's request count once the old listener is gone, and again when the load
# ends: the difference was served after the old process stopped accepting. "none" when it does not answer.
# Plain bash and awk: a scrape must take milliseconds even on a loaded machine, or the
# load could end before the first one.
requests_served() {
    local text
    text=$( (exec 3<>"/dev/tcp/${admin%:*}/${admin#*:}" &&
        printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 &&
        cat <&3) 2>/dev/null) || { echo none; return; }
    awk '/^coreline_http_requests_total\{/ && !/core="all"/ { sum += $NF; n++ }
         END { if (n) printf "%d\n", sum; else print "none" }' <<<"$text"
}
new_at_old_stop=none
[ "$alone" = 1 ] || new_at_old_stop=$(requests_served)
old_status=0
wait "$old" || old_status=$?
old_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $ka $cl || true
new_at_end=none
[ "$alone" = 1 ] || new_at_end=$(requests_served)
new_status=none
if [ -n "$new" ]; then
    kill -TERM "$new" 2>/dev/null || true
    new_status=0
    wait "$new" || new_status=$?
fi
python3 - "$work" "$migrate" "$old_status" "$old_ms" "$alone" "$new_at_old_stop" "$new_at_end" \
    "$new_status" "$MAX_REFUSED" "$skip_new" <<'PY'
import json, sys
work, migrate, status, ms, alone = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
at_old_stop, at_end, new_status, max_refused = sys.argv[6], sys.argv[7], sys.argv[8], int(sys.argv[9])
skip_new = sys.argv[10] == "1"
secs = ms / 1000
failed = 0
refused_total = 0
for name in ("keep-alive",) if alone else ("keep-alive", "close"):
    r = json.load(open(f"{work}/{name}.json"))
    errors = sum(n for kind, n in r["errors"].items() if kind != "connect")
    refused = r["errors"]["connect"]
    failed += errors
    refused_total += refused
    print(f"restart: {name}: {r['requests']} requests, {errors} failed, {refused} connects refused"
          + (f"; first errors: {r.get('first_errors')}" if errors else ""))
problems = []
if failed:
    problems.append(f"{failed} requests failed")
if status != 0:
    problems.append(f"the old process exited {status}")
if not alone:
    if "none" in (at_old_stop, at_end):
        problems.append("the new process's /metrics did not answer (not running?)")
        served = 0
    else:
        served = int(float(at_end) - float(at_old_stop))
    print(f"restart: the new process served {served} requests after the old one stopped accepting; "
          f"it exited {new_status}")
    if served <= 0:
        problems.append("the new process served no request after the old one stopped accepting")
    if new_status != "0":
        problems.append(f"the new process exited {new_status}")
    if migrate and refused_total > max_refused:
        problems.append(f"{refused_total} connects refused (at most {max_refused} with "
                        "tcp_migrate_req=1)")
verdict = "FAIL: " + "; ".join(problems) if problems else "PASS"
mode = "alone" if alone else "new process skipped" if skip_new else "with a new process"
print(f"restart: {mode}; tcp_migrate_req={int(migrate)}; old process exited {status} after {secs:.3f} s "
      f"of draining; {verdict}")
sys.exit(1 if problems else 0)
PY
