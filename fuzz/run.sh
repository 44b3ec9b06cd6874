#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 30 s each; `fuzz/run.sh SECS`), starting
# from the seed corpus and the regression inputs, writing new inputs to a scratch directory
# so the repository stays clean. Installs what it needs (nightly, cargo-fuzz) when missing.
# A crash fails the run; libFuzzer leaves the input under fuzz/artifacts/TARGET/: copy it to
# fuzz/regressions/TARGET/ (http/tests/fuzz_regressions.rs then replays it in every test run)
# and fix the bug.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
    scratch=$(mktemp -d)
    echo "fuzz: $target for ${secs}s"
    status=0
    cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" "regressions/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$scratch.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY' "$scratch.log" || true
    [ "$status" -eq 0 ] || tail -40 "$scratch.log" >&2
    rm -f "$scratch.log"
    rm -rf "$scratch"
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
