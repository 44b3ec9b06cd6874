# shellcheck shell=bash
# Shared helpers for apply.sh, revert.sh and check.sh. Sourced, not executed.
# The caller sets PROG before sourcing.

KT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
KT_CONF_DEFAULT="$KT_DIR/sysctl.d/60-coreline.conf"
# shellcheck disable=SC2034
KT_RESTORE_DEFAULT=/var/lib/coreline/sysctl-restore.conf
NETNS=""

# Parsed by read_conf: parallel arrays.
CONF_KEYS=()
CONF_VALS=()
CONF_POLICY=()

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 2; }
note() { printf '%s: note: %s\n' "$PROG" "$*" >&2; }

require_root() {
  [[ $(id -u) -eq 0 ]] || die "must be run as root (try: sudo $PROG ...)"
}

require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found (install package: $2)"
}

# Validates --netns NAME: the namespace must exist in `ip netns list`.
check_netns() {
  [[ -n $NETNS ]] || return 0
  require_cmd ip iproute2
  case $NETNS in
    */* | . | ..) die "invalid network namespace name '$NETNS'" ;;
  esac
  if ! ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$NETNS"; then
    die "unknown network namespace '$NETNS' (see: ip netns list)"
  fi
}

# Runs a command in the selected network namespace (or on the host).
in_ns() {
  if [[ -n $NETNS ]]; then
    ip netns exec "$NETNS" "$@"
  else
    "$@"
  fi
}

key_path() { printf '/proc/sys/%s' "${1//.//}"; }

# Normalises whitespace: "4096\t131072\t6291456" -> "4096 131072 6291456".
norm() { printf '%s' "$1" | tr -s '\t ' '  ' | sed -e 's/^ //' -e 's/ $//'; }

# Prints the current value of KEY (in the namespace if --netns); fails if absent.
get_value() {
  local p
  p=$(key_path "$1")
  in_ns test -e "$p" || return 1
  local v
  v=$(in_ns cat "$p" 2>/dev/null) || return 1
  norm "$v"
}

# Writes VALUE to KEY (in the namespace if --netns).
set_value() {
  in_ns sysctl -q -w "$1=$2" >/dev/null
}

# True when KEY can be set where we operate. On the host: always.
# In a namespace: only net.* keys that exist there and are writable (the kernel
# exposes e.g. net.core.rmem_max read-only and hides netdev_max_backlog in
# non-initial namespaces; fs.* is never per network namespace).
is_settable_here() {
  [[ -z $NETNS ]] && return 0
  [[ $1 == net.* ]] || return 1
  local p mode
  p=$(key_path "$1")
  mode=$(in_ns stat -c %A "$p" 2>/dev/null) || return 1
  [[ ${mode:2:1} == w ]]
}

# Parses a sysctl.d-style file into CONF_KEYS/CONF_VALS/CONF_POLICY.
# "# check: min|max|exact" applies to the next key.
read_conf() {
  local file=$1 line key val policy=exact n=0
  [[ -e $file ]] || die "config file not found: $file"
  [[ -r $file ]] || die "config file not readable: $file"
  CONF_KEYS=(); CONF_VALS=(); CONF_POLICY=()
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ $line =~ ^[[:space:]]*#[[:space:]]*check:[[:space:]]*(min|max|exact)[[:space:]]*$ ]]; then
      policy=${BASH_REMATCH[1]}
      continue
    fi
    [[ $line =~ ^[[:space:]]*([#\;].*)?$ ]] && continue
    if [[ $line =~ ^[[:space:]]*-?([A-Za-z0-9_.-]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]]; then
      key=${BASH_REMATCH[1]}
      val=$(norm "${BASH_REMATCH[2]}")
    else
      die "$file:$n: cannot parse line: $line"
    fi
    CONF_KEYS+=("$key"); CONF_VALS+=("$val"); CONF_POLICY+=("$policy")
    policy=exact
  done <"$file"
  [[ ${#CONF_KEYS[@]} -gt 0 ]] || die "no settings found in $file"
}

# Reads the "# netns: NAME" header of a restore file ("" for the host).
restore_file_netns() {
  sed -n 's/^# netns: //p' "$1" | head -n 1 | sed 's/^(host)$//'
}
