#!/usr/bin/env bash
# Runs the fuzz targets. Installs what it needs (nightly, cargo-fuzz) when missing.
#
#   fuzz/run.sh [SECS]                   every target for SECS (default 30) from the
#                                        committed corpus and regressions; new inputs go
#                                        to a scratch directory, the repository stays clean
#   fuzz/run.sh --grow SECS [TARGET...]  grows the committed corpus: new inputs go into
#                                        corpus/TARGET, which is then minimized (cargo fuzz
#                                        cmin); commit the result
#
# A failing input fails the run; libFuzzer leaves it under fuzz/artifacts/TARGET/: copy it
# to fuzz/regressions/TARGET/ (http/tests/fuzz_regressions.rs then replays it in every
# test run) and fix the bug.
set -euo pipefail
cd "$(dirname "$0")"
grow=false
if [ "${1:-}" = "--grow" ]; then
    grow=true
    shift
fi
secs=${1:-30}
[ $# -gt 0 ] && shift
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build
targets=${*:-$(cargo +nightly fuzz list)}
# Inputs over 4 KiB add nothing the checks need and would bloat the committed corpus.
flags=(-max_len=4096 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1)
for target in $targets; do
    scratch=$(mktemp -d)
    echo "fuzz: $target for ${secs}s"
    if $grow; then
        dirs=("corpus/$target" "regressions/$target")
    else
        dirs=("$scratch" "corpus/$target" "regressions/$target")
    fi
    status=0
    cargo +nightly fuzz run "$target" "${dirs[@]}" -- -max_total_time="$secs" "${flags[@]}" \
        >"$scratch.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY' "$scratch.log" || true
    [ "$status" -eq 0 ] || tail -40 "$scratch.log" >&2
    rm -f "$scratch.log"
    rm -rf "$scratch"
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    if $grow; then
        cargo +nightly fuzz cmin "$target" "corpus/$target" -- -max_len=4096 >/dev/null 2>&1
        echo "fuzz: corpus/$target minimized to $(ls "corpus/$target" | wc -l) inputs"
    fi
done
