#!/usr/bin/env bash
# Zero-downtime restart under continuous load, inside a private network namespace:
#
#   unshare -n bash bench/scripts/restart.sh [--no-migrate] [--old BINARY] [--alone]
#
# Brings up `lo` in the namespace and sets net.ipv4.tcp_migrate_req=1 there (--no-migrate:
# 0); starts `coreline serve` (the old process, on CPU 0), runs two coreline-load instances
# for 4 s (64 keep-alive connections, and 32 that open a connection per request), starts a
# new `coreline serve --reuse-port` on the same port after 1 s, sends the old one SIGTERM
# after 2 s, waits for it to exit, and prints each load's requests and errors. Exit status
# 0 when no request failed. A refused connect is reported but not counted as a failed
# request: nothing was sent, so a client retries it safely. (Without a successor every
# reconnect is refused; with one, a SYN that races the old socket's close can rarely be
# refused: once in ten runs of 90,000 connections here.) --old runs another binary as the old process (e.g. an older
# build, to see what the drain fixes). --alone starts no new process: a plain graceful
# shutdown under keep-alive load, where refused reconnects are expected (nobody listens any
# more) and every other error is a failure. (Without a successor, the connection-per-request
# load is left out: connections the kernel queued after the server's last accept are reset
# when the socket closes, and a client cannot tell those from accepted ones.) Needs target/release/{coreline,coreline-load}.
# Never touches the host's sysctls: run it under `unshare -n` (it refuses otherwise).
set -euo pipefail
cd "$(dirname "$0")/../.."
migrate=1
alone=0
bin=target/release/coreline
old_bin=$bin
load=target/release/coreline-load
while (($#)); do
    case $1 in
        --no-migrate) migrate=0 ;;
        --old) old_bin=$2; shift ;;
        --alone) alone=1 ;;
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
if [ "$alone" = 0 ]; then
    "$bin" serve --listen 127.0.0.1:8080 --cpus 1 --reuse-port 2>"$work/new.err" & new=$!
fi
sleep 1
start=$(date +%s%N)
kill -TERM "$old"
old_status=0
wait "$old" || old_status=$?
old_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $ka $cl || true
if [ -n "$new" ]; then
    kill -TERM "$new"
    wait "$new" || true
fi
python3 - "$work" "$migrate" "$old_status" "$old_ms" "$alone" <<'PY'
import json, sys
work, migrate, status, ms, alone = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
secs = ms / 1000
failed = 0
for name in ("keep-alive",) if alone else ("keep-alive", "close"):
    r = json.load(open(f"{work}/{name}.json"))
    errors = sum(n for kind, n in r["errors"].items() if kind != "connect")
    refused = r["errors"]["connect"]
    failed += errors
    print(f"restart: {name}: {r['requests']} requests, {errors} failed, {refused} connects refused"
          + (f"; first errors: {r.get('first_errors')}" if errors else ""))
print(f"restart: {'alone' if alone else 'with a new process'}; tcp_migrate_req={int(migrate)}; old process exited {status} after {secs:.3f} s "
      f"of draining; {'PASS' if failed == 0 and status == 0 else 'FAIL'}")
sys.exit(0 if failed == 0 and status == 0 else 1)
PY
