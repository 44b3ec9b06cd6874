#!/usr/bin/env bash
# Runs every test of the workspace: installs what the tests need when it is missing, then
# formatting, clippy (warnings are errors) and all tests. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v curl >/dev/null || need_apt+=(curl)
command -v ab >/dev/null || need_apt+=(apache2-utils)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v python3 >/dev/null || need_apt+=(python3)
command -v openssl >/dev/null || need_apt+=(openssl)
# coreline-bench compare (bench/tests/compare_quick/) pins servers and load with taskset.
command -v taskset >/dev/null || need_apt+=(util-linux)
# Tests read sockets' state with ss and make network namespaces with ip.
command -v ss >/dev/null || need_apt+=(iproute2)
# The metrics tests parse /metrics with the reference parser, under Debian's python (the
# package installs there, whatever python3 comes first on PATH).
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need_apt+=(python3-prometheus-client)
# The proxy's WebSocket tests (http/tests/proxy/websocket.rs) run a `websockets` client and
# echo server under the same python.
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need_apt+=(python3-websockets)
# A real Prometheus server scrapes the admin listener (http/tests/metrics/prometheus_server.rs).
command -v prometheus >/dev/null || need_apt+=(prometheus)
# Socket activation through the binary (http/tests/binary_systemd.rs) and the units' checks.
command -v systemd-socket-activate >/dev/null || need_apt+=(systemd)
if ((${#need_apt[@]})); then
    echo "ci: installing ${need_apt[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "ci: not root; install ${need_apt[*]} yourself" >&2
    fi
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy

# Tests hold both ends of thousands of connections: 2 fds each.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "ci: cargo fmt --check"
cargo fmt --all -- --check
echo "ci: cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The runtime's optional features (`bytes`, `futures-io`, `tokio`) and the tests gated on them.
cargo clippy -p coreline-runtime --all-targets --all-features -- -D warnings
# coreline-http's feature `tokio` (the runtime's, forwarded): its test and example.
cargo clippy -p coreline-http --all-targets --features tokio -- -D warnings
# The http crate's `tower` feature (and `http-body`, which it turns on): the axum example and
# the tests gated on them.
cargo clippy -p coreline-http --all-targets --features tower -- -D warnings
# The TLS crate's optional feature (`futures-io`) and its test.
cargo clippy -p coreline-tls --all-targets --all-features -- -D warnings
echo "ci: cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p coreline-runtime -p coreline-tls -p coreline-http --all-features
echo "ci: kernel-tuning scripts (inside private network namespaces)"
if [ "$(id -u)" -eq 0 ]; then
    bash kernel-tuning/tests/run.sh
else
    echo "ci: not root; skipping the kernel-tuning namespace tests"
fi
echo "ci: cargo test"
# Release mode: the load tests (1,000 clients, 100,000 cancellations) are bounded in
# count, and debug builds would make them slow, not more thorough.
cargo test --workspace --release -- --test-threads=1
echo "ci: cargo test (runtime features)"
cargo test --release -p coreline-runtime --all-features --test bytes_buf --test futures_io --test tokio_compat -- --test-threads=1
cargo test --release -p coreline-tls --all-features --test futures_io -- --test-threads=1
echo "ci: cargo test (coreline-http features tokio and tower)"
# One build for both features: each feature set is a full release build of the crate.
cargo test --release -p coreline-http --features tokio,tower --test tokio_client --test axum_example --test http_body -- --test-threads=1
cargo test --release -p coreline-http --features tokio,tower --doc service
echo "ci: fuzzing (each target briefly)"
bash fuzz/run.sh 30
