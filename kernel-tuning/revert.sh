#!/usr/bin/env bash
# Restores the sysctl values saved by apply.sh.
set -euo pipefail
PROG=$(basename "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
usage: $PROG [--restore-file FILE] [--netns NAME] [--dry-run] [--keep]
  --restore-file FILE  values saved by apply.sh (default: $KT_RESTORE_DEFAULT)
  --netns NAME         restore inside network namespace NAME; must match the
                       namespace the restore file was written for
  --dry-run            print name: current -> saved, change nothing
  --keep               keep the restore file (default: removed after a full restore)
USAGE
}

RESTORE=$KT_RESTORE_DEFAULT
DRY=0
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --restore-file) [[ $# -ge 2 ]] || die "--restore-file needs a file"; RESTORE=$2; shift 2 ;;
    --netns) [[ $# -ge 2 && -n $2 ]] || die "--netns needs a name"; NETNS=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [[ $DRY -eq 0 || -n $NETNS ]]; then require_root; fi
[[ -e $RESTORE ]] || die "restore file not found: $RESTORE (nothing to revert?)"
check_netns
require_cmd sysctl procps
saved_ns=$(restore_file_netns "$RESTORE")
if [[ $saved_ns != "$NETNS" ]]; then
  if [[ -n $saved_ns ]]; then
    die "restore file $RESTORE was written for netns '$saved_ns'; pass --netns $saved_ns"
  else
    die "restore file $RESTORE was written for the host; run without --netns"
  fi
fi
read_conf "$RESTORE"

where=${NETNS:+netns $NETNS}
where=${where:-host}
if [[ $DRY -eq 1 ]]; then
  echo "# dry run ($where): nothing is changed"
else
  echo "# restoring ($where)"
fi
failed=0
for i in "${!CONF_KEYS[@]}"; do
  key=${CONF_KEYS[$i]}; val=${CONF_VALS[$i]}
  cur=$(get_value "$key") || cur="?"
  if [[ $DRY -eq 1 ]]; then
    echo "$key: $cur -> $val"
  elif set_value "$key" "$val" 2>/dev/null; then
    echo "$key: $cur -> $val"
  else
    echo "$key: $cur -> $val FAILED" >&2
    failed=$((failed + 1))
  fi
done
[[ $DRY -eq 1 ]] && exit 0
if [[ $failed -gt 0 ]]; then
  printf '%s: error: %d setting(s) could not be restored; %s kept\n' "$PROG" "$failed" "$RESTORE" >&2
  exit 1
fi
if [[ $KEEP -eq 0 ]]; then
  rm -f -- "$RESTORE"
  note "restored; removed $RESTORE"
fi
