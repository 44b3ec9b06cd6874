#!/usr/bin/env bash
# CI test for kernel-tuning/ (run as root). Everything happens inside network
# namespaces created here; the host's sysctls are never written, and the test
# asserts that they are identical before and after.
# Prints "N passed, M failed" as its last line; exits non-zero on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KT=$(cd "$HERE/.." && pwd)
PASS=0
FAIL=0
NS_LIST=()
TMP=""
SUMMARY=0

del_namespaces() {
  local ns
  for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  NS_LIST=()
}
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local rc=$?
  if [[ $SUMMARY -eq 0 ]]; then
    echo "run.sh: error: aborted (exit $rc) before the end of the test" >&2
    echo "$PASS passed, $((FAIL + 1)) failed"
  fi
  del_namespaces
  [[ -n $TMP ]] && rm -rf -- "$TMP"
  return 0
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

finish() {
  SUMMARY=1
  echo "$PASS passed, $FAIL failed"
  if [[ $FAIL -eq 0 ]]; then exit 0; fi
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: error: must be run as root (creates network namespaces)" >&2
  SUMMARY=1
  echo "0 passed, 1 failed"
  exit 1
fi
if ! command -v ip >/dev/null || ! command -v ss >/dev/null || ! command -v nstat >/dev/null; then
  echo "run.sh: installing iproute2 (ip, ss, nstat)" >&2
  apt-get install -y iproute2 >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y iproute2 >/dev/null 2>&1; } || true
fi
for c in ip ss nstat tc sysctl python3 sha256sum; do
  command -v "$c" >/dev/null || { echo "run.sh: error: '$c' not found" >&2; exit 1; }
done
PY=$(command -v python3)
TMP=$(mktemp -d)

# Host sysctls: every net.* and fs.* value, minus kernel counters that change
# on their own (they are statistics, not settings). tcp_fastopen_key is compared too:
# the kernel generates it at the first TCP Fast Open use in a namespace, so a change
# means something used Fast Open on the host (the experiments and tests keep it to
# their own namespaces).
VOLATILE='^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\.[a-z_]+)|net\.netfilter\.nf_conntrack_count) '
host_snapshot() { sysctl -a 2>/dev/null | grep -E '^(net|fs)\.' | grep -vE "$VOLATILE" || true; }
ns_snapshot() { ip netns exec "$1" sysctl -a 2>/dev/null | grep -E '^net\.' | grep -vE "$VOLATILE" || true; }

host_snapshot >"$TMP/host.before"
HOST_HASH=$(sha256sum <"$TMP/host.before" | cut -d' ' -f1)
echo "# host net.*/fs.* sysctls: $(wc -l <"$TMP/host.before") values, sha256 ${HOST_HASH:0:16}"

# new_ns SUFFIX: creates namespace kt-test-PID-SUFFIX (lo up), name in $NEW_NS
NEW_NS=""
new_ns() {
  NEW_NS="kt-test-$$-$1"
  ip netns add "$NEW_NS"
  NS_LIST+=("$NEW_NS")
  ip netns exec "$NEW_NS" ip link set lo up
}

# --- scripts: error handling --------------------------------------------------
set +e
out=$("$KT/check.sh" --netns "kt-no-such-ns-$$" 2>&1); rc=$?
set -e
check "check.sh --netns unknown: exit 2 with one-line error" \
  test "$rc" -eq 2 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1 -a -n "$(printf '%s' "$out" | grep 'unknown network namespace')"
set +e
out=$("$KT/apply.sh" --conf "$TMP/missing.conf" --dry-run 2>&1); rc=$?
set -e
check "apply.sh with a missing conf: exit 2, 'config file not found'" \
  test "$rc" -eq 2 -a -n "$(printf '%s' "$out" | grep 'config file not found')"

# --- apply / check / revert inside a namespace ---------------------------------
new_ns main
NS=$NEW_NS
ns_snapshot "$NS" >"$TMP/ns.before"
RESTORE="$TMP/restore.conf"

set +e
"$KT/check.sh" --netns "$NS" >"$TMP/check1.txt" 2>&1; rc=$?
set -e
check "check.sh --netns on kernel defaults exits 1 (values differ)" test "$rc" -eq 1

"$KT/apply.sh" --netns "$NS" --restore-file "$RESTORE" --dry-run >"$TMP/dry.txt" 2>&1
ns_snapshot "$NS" >"$TMP/ns.dry"
check "apply.sh --dry-run changes nothing and writes no restore file" \
  test ! -e "$RESTORE" -a "$(sha256sum <"$TMP/ns.dry")" = "$(sha256sum <"$TMP/ns.before")"

set +e
"$KT/apply.sh" --netns "$NS" --restore-file "$RESTORE" >"$TMP/apply.txt" 2>&1; rc=$?
set -e
check "apply.sh --netns succeeds" test "$rc" -eq 0
check "apply.sh prints 'name: old -> new' lines" grep -qE '^net\.ipv4\.tcp_fastopen: [0-9]+ -> 3$' "$TMP/apply.txt"
check "apply.sh --netns skips non-namespaced keys with a note" grep -q 'fs.nr_open: skipped (not per-netns' "$TMP/apply.txt"
check "restore file saved, for the namespace, without fs.* keys" \
  bash -c "grep -q '^# netns: $NS\$' '$RESTORE' && grep -q '^net.ipv4.tcp_fastopen = ' '$RESTORE' && ! grep -q '^fs\.' '$RESTORE'"
check "value really set in the namespace (tcp_migrate_req = 1)" \
  test "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/tcp_migrate_req)" = 1

set +e
"$KT/check.sh" --netns "$NS" >"$TMP/check2.txt" 2>&1; rc=$?
set -e
check "check.sh --netns after apply exits 0 (global keys reported as skipped)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || cat "$TMP/check2.txt"

set +e
"$KT/check.sh" --netns "$NS" --json >"$TMP/check.json" 2>"$TMP/check.json.err"
set -e
check "check.sh --json parses and has the drop counters" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and d["netns"] == sys.argv[2], d
st = {s["name"]: s["status"] for s in d["sysctls"]}
assert st["fs.file-max"] == "skipped" and st["net.core.somaxconn"] == "ok", st
assert set(d["counters"]) >= {"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop",
                              "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent"}, d["counters"]
' "$TMP/check.json" "$NS"

set +e
"$KT/revert.sh" --restore-file "$RESTORE" >"$TMP/revert-wrong.txt" 2>&1; rc=$?
set -e
check "revert.sh refuses a namespace restore file without --netns" test "$rc" -eq 2

"$KT/revert.sh" --netns "$NS" --restore-file "$RESTORE" >"$TMP/revert.txt" 2>&1 || true
ns_snapshot "$NS" >"$TMP/ns.after"
if cmp -s "$TMP/ns.before" "$TMP/ns.after"; then
  ok "revert.sh --netns restores every net.* value of the namespace"
else
  bad "revert.sh --netns restores every net.* value of the namespace"
  diff "$TMP/ns.before" "$TMP/ns.after" | head -20 || true
fi
check "revert.sh removes the restore file" test ! -e "$RESTORE"

# --- experiment (quick): accept-queue overflow under a connect burst ------------
new_ns burst
EXP=$NEW_NS
ip netns exec "$EXP" sysctl -qw net.core.somaxconn=4
r=$(ip netns exec "$EXP" "$PY" "$HERE/listen_burst.py" 4 64)
echo "# somaxconn=4, listen(4), 64 connects: $r"
check "somaxconn 4 / backlog 4: 64-connect burst raises ListenOverflows" \
  bash -c "[[ '$r' =~ backlog=4\ overflows=([0-9]+) ]] && (( BASH_REMATCH[1] > 0 ))"
r=$(ip netns exec "$EXP" "$PY" "$HERE/listen_burst.py" 4096 64)
echo "# somaxconn=4, listen(4096), 64 connects: $r"
check "somaxconn 4 clamps listen(4096) to a backlog of 4 (ss Send-Q)" \
  bash -c "[[ '$r' == backlog=4\ * ]]"
ip netns exec "$EXP" sysctl -qw net.core.somaxconn=4096
r=$(ip netns exec "$EXP" "$PY" "$HERE/listen_burst.py" 4096 64)
echo "# somaxconn=4096, listen(4096), 64 connects: $r"
check "somaxconn 4096 / backlog 4096: no overflow, all 64 established" \
  bash -c "[[ '$r' == 'backlog=4096 overflows=0 drops=0 established=64' ]]"

# --- experiments (quick mode): coreline + coreline-load in namespaces -------------
# Each script asserts its findings and prints "ok - ..." / "FAIL - ..." lines, counted
# here; its namespaces are kt-exp-<its pid>-*, deleted by the script itself.
REPO=$(cd "$KT/.." && pwd)
BIN_DIR=${CARGO_TARGET_DIR:-$REPO/target}/release
built() {
  if command -v cargo >/dev/null; then
    echo "# building coreline, coreline-load and the small_writes example (release)"
    cargo build --release -q --manifest-path "$REPO/Cargo.toml" -p coreline-http --bin coreline \
      --example small_writes -p coreline-bench --bin coreline-load
  else # e.g. under sudo without cargo on PATH: use what is built
    echo "# cargo not found: using $BIN_DIR/coreline, coreline-load, examples/small_writes"
    [[ -x $BIN_DIR/coreline && -x $BIN_DIR/coreline-load && -x $BIN_DIR/examples/small_writes ]]
  fi
}
# Experiments 1-3 (accept and SYN queues), 4-6 (socket options, ephemeral ports), 7
# (listener modes), then 8-11 (tcp_migrate_req, tcp_notsent_lowat, tcp_fin_timeout,
# buffers and input queue).
if built; then
  ok "coreline, coreline-load and small_writes built"
  for exp in listen_backlog abort_on_overflow syn_flood nodelay fastopen port_range \
    reuseport_balance buffers migrate_req notsent_lowat fin_timeout; do
    set +e
    KT_NO_BUILD=1 "$PY" "$KT/experiments/$exp.py" --quick >"$TMP/$exp.out" 2>&1 &
    pid=$!
    wait "$pid"; rc=$?
    set -e
    grep -vE '^(ok|FAIL) - ' "$TMP/$exp.out" | sed 's/^/# /'
    while IFS= read -r line; do
      case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "FAIL - "*) bad "${line#FAIL - }" ;;
      esac
    done <"$TMP/$exp.out"
    check "$exp --quick exits 0" test "$rc" -eq 0
    check "$exp deleted its namespaces" bash -c "! ip netns list | grep -q '^kt-exp-$pid-'"
  done
else
  bad "coreline, coreline-load and small_writes built (cargo build --release -p coreline-http --bin coreline --example small_writes -p coreline-bench --bin coreline-load)"
fi

# --- the host is untouched ------------------------------------------------------
del_namespaces
check "test namespaces deleted" bash -c "! ip netns list | grep -q 'kt-test-$$-'"
host_snapshot >"$TMP/host.after"
if [[ $(sha256sum <"$TMP/host.after" | cut -d' ' -f1) == "$HOST_HASH" ]]; then
  ok "host net.*/fs.* sysctls identical before and after"
else
  bad "host net.*/fs.* sysctls identical before and after"
  diff "$TMP/host.before" "$TMP/host.after" | head -20 || true
fi
finish
