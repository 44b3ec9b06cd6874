//! The metrics flags of `coreline serve` and the `coreline stats` command, kept apart from
//! the other flags (`args/`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// `serve`'s metrics options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsFlags {
    /// `--metrics ADDR`: record metrics and serve them on an admin listener at ADDR.
    pub admin: Option<SocketAddr>,
    /// `--metrics-hlog DIR`: where interval logs go (default: the current directory).
    pub hlog_dir: Option<PathBuf>,
    /// `--metrics-rx-timestamps`: also record kernel receive → reap (`rx_wait`).
    pub rx_timestamps: bool,
    /// `--metrics-public`: allow `--metrics` on an address other than loopback.
    pub public: bool,
}

/// Checks the combination (after all flags are read).
pub fn check(flags: &MetricsFlags) -> Result<(), String> {
    if flags.hlog_dir.is_some() && flags.admin.is_none() {
        return Err("--metrics-hlog needs --metrics ADDR".into());
    }
    if flags.rx_timestamps && flags.admin.is_none() {
        return Err("--metrics-rx-timestamps needs --metrics ADDR".into());
    }
    if flags.public && flags.admin.is_none() {
        return Err("--metrics-public needs --metrics ADDR".into());
    }
    // The admin listener has no authentication: what it shows (traffic, latencies, loads)
    // is for the operator, so exposing it beyond the host must be asked for explicitly.
    match flags.admin {
        Some(addr) if !addr.ip().is_loopback() && !flags.public => Err(format!(
            "--metrics {addr} is not a loopback address and the admin listener has no \
             authentication; add --metrics-public to serve it there anyway"
        )),
        _ => Ok(()),
    }
}

/// What `coreline stats` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The admin listener (`http://HOST:PORT`, resolved).
    pub addr: SocketAddr,
    /// How many tables to print (`None`: until interrupted).
    pub count: Option<u64>,
}

/// `http://HOST:PORT[/]` (or just `HOST:PORT`) to an address.
pub fn resolve(url: &str) -> Result<SocketAddr, String> {
    if url.starts_with("https://") {
        return Err(format!("'{url}': the admin listener speaks plain http"));
    }
    let hostport = url.strip_prefix("http://").unwrap_or(url);
    let hostport = hostport.trim_end_matches('/');
    if hostport.contains('/') {
        return Err(format!(
            "'{url}': give the admin listener's address, without a path"
        ));
    }
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("'{url}' is not an http://HOST:PORT address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_urls() {
        let addr = resolve("http://127.0.0.1:9090/").unwrap();
        assert_eq!(addr, "127.0.0.1:9090".parse().unwrap());
        assert!(resolve("127.0.0.1:1").is_ok());
        for bad in [
            "https://127.0.0.1:1",
            "http://127.0.0.1:1/metrics",
            "nohost",
        ] {
            let e = resolve(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn combinations() {
        let only_hlog = MetricsFlags {
            hlog_dir: Some("/tmp".into()),
            ..MetricsFlags::default()
        };
        assert!(check(&only_hlog).is_err());
        let mut rx = MetricsFlags {
            rx_timestamps: true,
            ..MetricsFlags::default()
        };
        assert_eq!(
            check(&rx).unwrap_err(),
            "--metrics-rx-timestamps needs --metrics ADDR"
        );
        rx.admin = Some("127.0.0.1:9".parse().unwrap());
        assert!(check(&rx).is_ok());
    }

    #[test]
    fn metrics_beyond_loopback_needs_metrics_public() {
        let on = |addr: &str, public| MetricsFlags {
            admin: Some(addr.parse().unwrap()),
            public,
            ..MetricsFlags::default()
        };
        for loopback in ["127.0.0.1:9", "127.3.4.5:9", "[::1]:9"] {
            assert!(check(&on(loopback, false)).is_ok(), "{loopback}");
        }
        for public in ["0.0.0.0:9", "192.0.2.1:9", "[::]:9", "[2001:db8::1]:9"] {
            let e = check(&on(public, false)).unwrap_err();
            assert!(e.contains("--metrics-public") && !e.contains('\n'), "{e}");
            assert!(check(&on(public, true)).is_ok(), "{public}");
        }
        let alone = MetricsFlags {
            public: true,
            ..MetricsFlags::default()
        };
        assert_eq!(
            check(&alone).unwrap_err(),
            "--metrics-public needs --metrics ADDR"
        );
    }
}
