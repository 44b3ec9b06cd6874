#!/usr/bin/env bash
# Compares the running sysctls with sysctl.d/60-coreline.conf, lists listener
# backlogs (ss -lnt) and shows the listen-drop counters.
# Exit: 0 = everything ok, 1 = something is off, 2 = usage/environment error.
set -euo pipefail
PROG=$(basename "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
usage: $PROG [--conf FILE] [--netns NAME] [--ports LIST] [--json]
  --conf FILE    recommended values (default: $KT_CONF_DEFAULT)
  --netns NAME   check inside network namespace NAME (root). Keys that are not
                 per-netns (fs.*, net.core.netdev_max_backlog, net.core.rmem_max/
                 wmem_max on recent kernels) are reported as "skipped" and do not
                 affect the exit status there: check them on the host.
  --ports LIST   only check listeners on these local ports (comma-separated)
  --json         machine-readable report on stdout
Status per sysctl: ok, low, high, differs (non-numeric or mixed), missing.
Listeners are flagged "low" when their backlog (Send-Q) is below the
recommended net.core.somaxconn, "full" when their accept queue (Recv-Q) has
reached the backlog. Drop counters are cumulative and informational only.
USAGE
}

CONF=$KT_CONF_DEFAULT
JSON=0
PORTS=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --conf) [[ $# -ge 2 ]] || die "--conf needs a file"; CONF=$2; shift 2 ;;
    --netns) [[ $# -ge 2 && -n $2 ]] || die "--netns needs a name"; NETNS=$2; shift 2 ;;
    --ports) [[ $# -ge 2 && $2 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ports needs a list like 80,443"; PORTS=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[[ -n $NETNS ]] && require_root
read_conf "$CONF"
check_netns
require_cmd ss iproute2

# compare CURRENT RECOMMENDED POLICY -> ok | low | high | differs
compare() {
  local cur=$1 rec=$2 policy=$3
  [[ $cur == "$rec" ]] && { echo ok; return; }
  local -a c r
  read -r -a c <<<"$cur"
  read -r -a r <<<"$rec"
  if [[ ${#c[@]} -ne ${#r[@]} ]]; then echo differs; return; fi
  local lower=0 higher=0 i
  for i in "${!c[@]}"; do
    [[ ${c[$i]} =~ ^[0-9]+$ && ${r[$i]} =~ ^[0-9]+$ ]] || { echo differs; return; }
    # Compare as strings of digits without overflow: by length, then lexically.
    if ((${#c[$i]} < ${#r[$i]})) || { ((${#c[$i]} == ${#r[$i]})) && [[ ${c[$i]} < ${r[$i]} ]]; }; then
      lower=1
    elif [[ ${c[$i]} != "${r[$i]}" ]]; then
      higher=1
    fi
  done
  case $policy in
    min) ((lower)) || { echo ok; return; } ;;
    max) ((higher)) || { echo ok; return; } ;;
  esac
  if ((lower && higher)); then echo differs
  elif ((lower)); then echo low
  else echo high
  fi
}

json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

off=0

# --- sysctls -----------------------------------------------------------------
s_key=(); s_cur=(); s_rec=(); s_pol=(); s_st=()
somaxconn_rec=""
for i in "${!CONF_KEYS[@]}"; do
  key=${CONF_KEYS[$i]}; rec=${CONF_VALS[$i]}; pol=${CONF_POLICY[$i]}
  [[ $key == net.core.somaxconn ]] && somaxconn_rec=$rec
  if [[ -n $NETNS ]] && ! is_settable_here "$key"; then
    cur=$(get_value "$key") || cur=""
    st=skipped
  elif cur=$(get_value "$key"); then
    st=$(compare "$cur" "$rec" "$pol")
  else
    cur=""; st=missing
  fi
  [[ $st == ok || $st == skipped ]] || off=$((off + 1))
  s_key+=("$key"); s_cur+=("$cur"); s_rec+=("$rec"); s_pol+=("$pol"); s_st+=("$st")
done

# --- listeners (ss -lnt: for LISTEN sockets Send-Q = backlog, Recv-Q = queue) --
if [[ -z $somaxconn_rec ]]; then somaxconn_rec=$(get_value net.core.somaxconn || echo 4096); fi
l_addr=(); l_backlog=(); l_queue=(); l_st=()
while read -r _state recvq sendq local _rest; do
  [[ -n ${local:-} ]] || continue
  port=${local##*:}
  if [[ -n $PORTS ]] && [[ ",$PORTS," != *",$port,"* ]]; then continue; fi
  st=ok
  if ((sendq < somaxconn_rec)); then st=low; fi
  if ((sendq > 0 && recvq >= sendq)); then st=full; fi
  [[ $st == ok ]] || off=$((off + 1))
  l_addr+=("$local"); l_backlog+=("$sendq"); l_queue+=("$recvq"); l_st+=("$st")
done < <(in_ns ss -lntH 2>/dev/null)

# --- listen-drop counters (/proc/net/netstat of the namespace) ----------------
COUNTERS=(ListenOverflows ListenDrops TCPReqQFullDrop TCPReqQFullDoCookies SyncookiesSent)
declare -A cval=()
while read -r name value; do
  cval[$name]=$value
done < <(in_ns cat /proc/net/netstat | awk '
  /^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
               else { for (i = 2; i <= NF; i++) print n[i], $i } }')

where=${NETNS:+netns $NETNS}
where=${where:-host}

if [[ $JSON -eq 1 ]]; then
  printf '{\n  "scope": %s,\n  "netns": %s,\n  "conf": %s,\n' \
    "$(json_str "$where")" "$([[ -n $NETNS ]] && json_str "$NETNS" || echo null)" "$(json_str "$CONF")"
  printf '  "ok": %s,\n  "off": %d,\n  "sysctls": [' "$([[ $off -eq 0 ]] && echo true || echo false)" "$off"
  sep=""
  for i in "${!s_key[@]}"; do
    printf '%s\n    {"name": %s, "current": %s, "recommended": %s, "policy": %s, "status": %s}' "$sep" \
      "$(json_str "${s_key[$i]}")" "$([[ -n ${s_cur[$i]} ]] && json_str "${s_cur[$i]}" || echo null)" \
      "$(json_str "${s_rec[$i]}")" "$(json_str "${s_pol[$i]}")" "$(json_str "${s_st[$i]}")"
    sep=","
  done
  printf '\n  ],\n  "min_backlog": %d,\n  "listeners": [' "$somaxconn_rec"
  sep=""
  for i in "${!l_addr[@]}"; do
    printf '%s\n    {"local": %s, "backlog": %d, "queue": %d, "status": %s}' "$sep" \
      "$(json_str "${l_addr[$i]}")" "${l_backlog[$i]}" "${l_queue[$i]}" "$(json_str "${l_st[$i]}")"
    sep=","
  done
  printf '\n  ],\n  "counters": {'
  sep=""
  for c in "${COUNTERS[@]}"; do
    printf '%s\n    "TcpExt%s": %s' "$sep" "$c" "${cval[$c]:-null}"
    sep=","
  done
  printf '\n  }\n}\n'
else
  echo "coreline kernel check ($where), recommended values from $CONF"
  printf '\n%-30s %-26s %-26s %s\n' sysctl current recommended status
  for i in "${!s_key[@]}"; do
    st=${s_st[$i]}
    [[ $st == skipped ]] && st="skipped (not per-netns; check on the host)"
    [[ ${s_pol[$i]} != exact && ${s_st[$i]} != skipped ]] && st="$st [${s_pol[$i]}]"
    printf '%-30s %-26s %-26s %s\n' "${s_key[$i]}" "${s_cur[$i]:--}" "${s_rec[$i]}" "$st"
  done
  printf '\nlisteners (ss -lnt: Send-Q = backlog, Recv-Q = accept queue now; flagged below %s)\n' "$somaxconn_rec"
  if [[ ${#l_addr[@]} -eq 0 ]]; then
    echo "  (none${PORTS:+ on ports $PORTS})"
  else
    printf '  %-40s %8s %8s  %s\n' local backlog queue status
    for i in "${!l_addr[@]}"; do
      printf '  %-40s %8s %8s  %s\n' "${l_addr[$i]}" "${l_backlog[$i]}" "${l_queue[$i]}" "${l_st[$i]}"
    done
  fi
  printf '\nlisten-drop counters (/proc/net/netstat, cumulative since boot or netns creation)\n'
  for c in "${COUNTERS[@]}"; do
    printf '  %-28s %s\n' "TcpExt$c" "${cval[$c]:-n/a}"
  done
  echo
  if [[ $off -eq 0 ]]; then echo "result: ok"; else echo "result: $off item(s) off"; fi
fi
[[ $off -eq 0 ]] || exit 1
