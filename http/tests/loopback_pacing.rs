//! `coreline serve --congestion-control`'s default, `auto`: listeners on a loopback address
//! give their connections `reno` where the kernel's default is BBR (which paces each
//! loopback connection with its own timer), listeners on other addresses keep the kernel's
//! choice, and `kernel` keeps it everywhere. The proxy's connections to its upstreams
//! follow the same rule under `auto`: reno to a loopback upstream, the kernel's to others.
//!
//! Each case runs in a private network namespace (`unshare -n`, root) whose default is set
//! to BBR, so the result does not depend on the host's setting and the host is untouched.
//! The namespace's `lo` also carries 10.200.0.1, a non-loopback address.

use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

/// Starts the server with `args` on 127.0.0.1:8080 and 10.200.0.1:8080, holds one connection
/// to each, and prints `ss -tin` of the server's side.
const LISTENERS: &str = r#"
set -e
ip link set lo up
ip addr add 10.200.0.1/32 dev lo
echo bbr > /proc/sys/net/ipv4/tcp_congestion_control
"$BIN" serve --cpus 0 --listen 127.0.0.1:8080 --listen 10.200.0.1:8080 "$@" &
pid=$!
for i in $(seq 200); do (exec 3<>/dev/tcp/10.200.0.1/8080) 2>/dev/null && break; sleep 0.05; done
exec 3<>/dev/tcp/127.0.0.1/8080
exec 4<>/dev/tcp/10.200.0.1/8080
sleep 0.2
ss -tinH state established '( sport = :8080 )'
kill $pid
wait $pid || true
"#;

/// Starts an upstream on 127.0.0.1:9000 and 10.200.0.1:9000 and a proxy with `args` routing
/// /l/ to the first and /o/ to the second, sends one request through each route (the
/// proxy then holds one pooled connection to each upstream address), and prints `ss -tin`
/// of the proxy's side of those connections.
const UPSTREAMS: &str = r#"
set -e
ip link set lo up
ip addr add 10.200.0.1/32 dev lo
echo bbr > /proc/sys/net/ipv4/tcp_congestion_control
"$BIN" serve --cpus 0 --listen 127.0.0.1:9000 --listen 10.200.0.1:9000 &
up=$!
"$BIN" serve --cpus 0 --listen 127.0.0.1:8080 --proxy /l/=http://127.0.0.1:9000/ \
    --proxy /o/=http://10.200.0.1:9000/ "$@" &
pid=$!
for i in $(seq 200); do curl -sf -o /dev/null http://127.0.0.1:8080/l/plaintext && break; sleep 0.05; done
curl -sf -o /dev/null http://127.0.0.1:8080/o/plaintext
ss -tinH state established '( dport = :9000 )'
kill $pid $up
wait || true
"#;

/// The algorithm per address of the sockets `script` lists with `ss -tin` (`column` 2: the
/// local address, 3: the peer's): each socket's line names the addresses, the indented
/// line after it starts with the algorithm. `None` (skipped) where the namespace cannot be
/// made.
fn algorithms(script: &str, column: usize, args: &[&str]) -> Option<BTreeMap<String, String>> {
    let available = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .unwrap_or_default();
    let can_unshare = Command::new("unshare").args(["-n", "true"]).status();
    if !available.split_whitespace().any(|a| a == "bbr") || !can_unshare.is_ok_and(|s| s.success())
    {
        eprintln!("skipped: needs root (unshare -n) and the kernel's bbr ({available:?})");
        return None;
    }
    let out = Command::new("unshare")
        .args(["-n", "bash", "-c", script, "script"])
        .args(args)
        .env("BIN", BIN)
        .output()
        .expect("unshare (util-linux), ip and ss (iproute2), curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = BTreeMap::new();
    let mut addr = None;
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) {
            let name = line.split_whitespace().next().unwrap_or_default();
            found.insert(
                addr.take().expect("an info line after a socket's"),
                name.to_owned(),
            );
        } else {
            addr = line.split_whitespace().nth(column).map(str::to_owned);
        }
    }
    Some(found)
}

/// Checks the algorithm of the loopback and of the other listener's connection under
/// `args` (skipped where the namespace cannot be made).
fn check(args: &[&str], loopback: &str, other: &str) {
    let Some(found) = algorithms(LISTENERS, 2, args) else {
        return;
    };
    let on = |addr: &str| found.get(addr).map(String::as_str);
    assert_eq!(on("127.0.0.1:8080"), Some(loopback), "{found:?}");
    assert_eq!(on("10.200.0.1:8080"), Some(other), "{found:?}");
}

/// Checks the algorithm of the proxy's connection to the loopback and to the other
/// upstream address under `args` (skipped where the namespace cannot be made).
fn check_upstreams(args: &[&str], loopback: &str, other: &str) {
    let Some(found) = algorithms(UPSTREAMS, 3, args) else {
        return;
    };
    let to = |addr: &str| found.get(addr).map(String::as_str);
    assert_eq!(to("127.0.0.1:9000"), Some(loopback), "{found:?}");
    assert_eq!(to("10.200.0.1:9000"), Some(other), "{found:?}");
}

#[test]
fn by_default_loopback_listeners_use_reno_instead_of_bbr_and_others_keep_it() {
    check(&[], "reno", "bbr");
}

#[test]
fn kernel_keeps_bbr_on_every_listener() {
    check(&["--congestion-control", "kernel"], "bbr", "bbr");
}

#[test]
fn a_named_algorithm_applies_to_every_listener() {
    check(&["--congestion-control", "reno"], "reno", "reno");
}

#[test]
fn by_default_the_proxy_uses_reno_to_loopback_upstreams_and_keeps_bbr_to_others() {
    check_upstreams(&[], "reno", "bbr");
}

#[test]
fn kernel_keeps_bbr_on_the_proxys_upstream_connections() {
    check_upstreams(&["--congestion-control", "kernel"], "bbr", "bbr");
}
