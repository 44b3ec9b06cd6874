#!/usr/bin/env bash
# Where the TCP congestion control of a proxied /plaintext request runs: the share of the
# congestion-control and pacing functions (bbr_*, tcp_reno_*, tcp_rate_*, pacing) among the
# cpu-clock samples of the proxy process and, in a second run, of the upstream process, for
# each proxy binary given (e.g. builds before and after a change). Sampling shares are for
# direction: they move by a few tenths of a percent between runs.
#
# The upstream (`coreline serve`, this tree's build) runs on CPU 1 with the load, the proxy
# (`BIN serve --proxy`) on CPU 0, as in proxy64 of `coreline-bench compare`; N/10 requests
# as a warm-up, then perf records one process while coreline-load sends N more (64
# keep-alive connections).
#
# usage: bench/scripts/proxy_cc_profile.sh N OUT BIN...
# Needs perf. Build first: cargo build --release -p coreline-http --bin coreline
#   -p coreline-bench --bin coreline-load
set -euo pipefail
cd "$(dirname "$0")/../.."
n=$1 out=$2
shift 2
up_bin=target/release/coreline
load=target/release/coreline-load
source bench/scripts/callgrind_common.sh # free_port
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# profile BIN WHICH: one run, perf on the proxy (WHICH=proxy) or the upstream; one line out.
profile() {
    local bin=$1 which=$2
    local up_port port
    up_port=$(free_port)
    port=$(free_port)
    taskset -c 1 "$up_bin" serve --cpus 1 --listen "127.0.0.1:$up_port" 2>/dev/null &
    local up=$!
    "$bin" serve --cpus 0 --listen "127.0.0.1:$port" \
        --proxy "/proxy/=http://127.0.0.1:$up_port/" 2>/dev/null &
    local px=$!
    local url="http://127.0.0.1:$port/proxy/plaintext"
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$url" && break
        sleep 0.1
    done
    taskset -c 1 "$load" -c 64 -n $((n / 10)) --quiet "$url" >/dev/null
    local pid=$px
    [ "$which" = upstream ] && pid=$up
    perf record -q -e cpu-clock -F 4999 -o "$work/p.data" -p "$pid" 2>/dev/null &
    local rec=$!
    sleep 0.3
    taskset -c 1 "$load" -c 64 -n "$n" --quiet "$url" >/dev/null
    kill -INT "$rec"
    wait "$rec" || true
    kill "$px" "$up"
    wait "$px" "$up" 2>/dev/null || true
    perf report -i "$work/p.data" --no-children --sort sym --stdio 2>/dev/null | grep -v '^#' |
        awk -v who="$bin, samples of the $which" '
            /\[k\]/ { k += $1 }
            /\[k\] (bbr|tcp_reno|tcp_slow_start|tcp_rate|tcp_update_pacing|tcp_pace|tcp_internal_pacing)/ {
                cc += $1; f = f " " $3 " " $1 }
            END { printf "%s: kernel %.1f %%; congestion control and pacing %.2f %%:%s\n", who, k, cc, f }'
}

{
    echo "# bench/scripts/proxy_cc_profile.sh $n $out $*"
    echo "# $(uname -r); kernel default $(cat /proc/sys/net/ipv4/tcp_congestion_control); busy machine, for direction"
    for bin in "$@"; do
        profile "$bin" proxy
        profile "$bin" upstream
    done
} | tee "$out"
