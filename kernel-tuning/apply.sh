#!/usr/bin/env bash
# Applies the recommended sysctls from sysctl.d/60-coreline.conf.
# Saves the current values to a restore file first (revert.sh undoes the change).
set -euo pipefail
PROG=$(basename "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
usage: $PROG [--conf FILE] [--restore-file FILE] [--netns NAME] [--dry-run]
  --conf FILE          settings to apply (default: $KT_CONF_DEFAULT)
  --restore-file FILE  where the current values are saved first
                       (default: $KT_RESTORE_DEFAULT); if it exists, its saved
                       values are kept and only missing keys are added
  --netns NAME         apply inside network namespace NAME (ip netns exec);
                       keys that are not per-netns (fs.*, global net.core.*) are skipped
  --dry-run            print name: old -> new, change nothing
USAGE
}

CONF=$KT_CONF_DEFAULT
RESTORE=$KT_RESTORE_DEFAULT
DRY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --conf) [[ $# -ge 2 ]] || die "--conf needs a file"; CONF=$2; shift 2 ;;
    --restore-file) [[ $# -ge 2 ]] || die "--restore-file needs a file"; RESTORE=$2; shift 2 ;;
    --netns) [[ $# -ge 2 && -n $2 ]] || die "--netns needs a name"; NETNS=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# A dry run on the host only reads /proc/sys; everything else needs root.
if [[ $DRY -eq 0 || -n $NETNS ]]; then require_root; fi
read_conf "$CONF"
check_netns
require_cmd sysctl procps

where=${NETNS:+netns $NETNS}
where=${where:-host}

# Plan: keys we will set, with their current values.
plan_keys=(); plan_old=(); plan_new=()
for i in "${!CONF_KEYS[@]}"; do
  key=${CONF_KEYS[$i]}; new=${CONF_VALS[$i]}
  if ! is_settable_here "$key"; then
    note "$key: skipped (not per-netns: set it on the host)"
    continue
  fi
  if ! old=$(get_value "$key"); then
    note "$key: skipped (not present on this kernel)"
    continue
  fi
  plan_keys+=("$key"); plan_old+=("$old"); plan_new+=("$new")
done

if [[ $DRY -eq 1 ]]; then
  echo "# dry run ($where): nothing is changed"
  for i in "${!plan_keys[@]}"; do
    echo "${plan_keys[$i]}: ${plan_old[$i]} -> ${plan_new[$i]}"
  done
  exit 0
fi

# Save current values before changing anything.
if [[ -e $RESTORE ]]; then
  saved_ns=$(restore_file_netns "$RESTORE")
  [[ $saved_ns == "$NETNS" ]] ||
    die "restore file $RESTORE belongs to ${saved_ns:+netns }${saved_ns:-the host}, not $where; pass --restore-file"
  added=0
  for i in "${!plan_keys[@]}"; do
    if ! grep -qE "^${plan_keys[$i]//./\\.}[[:space:]]*=" "$RESTORE"; then
      echo "${plan_keys[$i]} = ${plan_old[$i]}" >>"$RESTORE"
      added=$((added + 1))
    fi
  done
  note "restore file $RESTORE exists: kept its saved values, added $added key(s)"
else
  mkdir -p "$(dirname "$RESTORE")" || die "cannot create directory for $RESTORE"
  tmp="$RESTORE.tmp.$$"
  {
    echo "# coreline sysctl restore file: values before apply.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# netns: ${NETNS:-(host)}"
    echo "# undo with: revert.sh --restore-file $RESTORE${NETNS:+ --netns $NETNS}"
    for i in "${!plan_keys[@]}"; do
      echo "${plan_keys[$i]} = ${plan_old[$i]}"
    done
  } >"$tmp" || die "cannot write restore file $RESTORE"
  mv -f "$tmp" "$RESTORE"
  note "saved current values to $RESTORE"
fi

echo "# applying ($where)"
failed=0
for i in "${!plan_keys[@]}"; do
  key=${plan_keys[$i]}
  if set_value "$key" "${plan_new[$i]}" 2>/dev/null; then
    echo "$key: ${plan_old[$i]} -> ${plan_new[$i]}"
  else
    echo "$key: ${plan_old[$i]} -> ${plan_new[$i]} FAILED" >&2
    failed=$((failed + 1))
  fi
done
if [[ $failed -gt 0 ]]; then
  printf '%s: error: %d setting(s) failed; undo with revert.sh --restore-file %s%s\n' \
    "$PROG" "$failed" "$RESTORE" "${NETNS:+ --netns $NETNS}" >&2
  exit 1
fi
