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

/// Handles `flag` if it is a metrics flag: `None` if it is not one, else the outcome.
/// `value` gives the flag's value (inline `--flag=v` or the next argument).
pub fn parse_flag(
    flags: &mut MetricsFlags,
    flag: &str,
    value: impl FnOnce() -> Option<String>,
) -> Option<Result<(), String>> {
    if flag == "--metrics-rx-timestamps" {
        flags.rx_timestamps = true;
        return Some(Ok(()));
    }
    if flag == "--metrics-public" {
        flags.public = true;
        return Some(Ok(()));
    }
    if flag != "--metrics" && flag != "--metrics-hlog" {
        return None;
    }
    let Some(value) = value() else {
        return Some(Err(format!("{flag} needs a value")));
    };
    Some(match flag {
        "--metrics" => value
            .parse()
            .map(|a| flags.admin = Some(a))
            .map_err(|_| format!("--metrics '{value}' is not an IP:PORT address")),
        _ => {
            flags.hlog_dir = Some(PathBuf::from(value));
            Ok(())
        }
    })
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

/// Parses the arguments after `stats`.
pub fn parse_stats(args: impl Iterator<Item = String>) -> Result<Stats, String> {
    let mut args = args.peekable();
    let url = args
        .next()
        .ok_or("stats needs the admin URL, e.g. http://127.0.0.1:9090")?;
    let addr = resolve(&url)?;
    let mut count = None;
    while let Some(arg) = args.next() {
        let value = match arg.split_once('=') {
            Some(("--count", v)) => v.to_string(),
            _ if arg == "--count" => args.next().ok_or("--count needs a value")?,
            _ => return Err(format!("unknown argument '{arg}'")),
        };
        count = Some(
            value
                .parse()
                .ok()
                .filter(|&n: &u64| n > 0)
                .ok_or_else(|| format!("--count '{value}' is not a positive number"))?,
        );
    }
    Ok(Stats { addr, count })
}

/// `http://HOST:PORT[/]` (or just `HOST:PORT`) to an address.
fn resolve(url: &str) -> Result<SocketAddr, String> {
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

    fn s(args: &[&str]) -> Result<Stats, String> {
        parse_stats(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn stats_arguments() {
        let st = s(&["http://127.0.0.1:9090/", "--count", "2"]).unwrap();
        assert_eq!(st.addr, "127.0.0.1:9090".parse().unwrap());
        assert_eq!(st.count, Some(2));
        assert_eq!(s(&["127.0.0.1:1", "--count=3"]).unwrap().count, Some(3));
        assert_eq!(s(&["http://127.0.0.1:1"]).unwrap().count, None);
        for bad in [
            &[][..],
            &["https://127.0.0.1:1"],
            &["http://127.0.0.1:1/metrics"],
            &["nohost"],
            &["127.0.0.1:1", "--count", "0"],
            &["127.0.0.1:1", "--count"],
            &["127.0.0.1:1", "--what"],
        ] {
            let e = s(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn serve_flags() {
        let mut f = MetricsFlags::default();
        assert!(parse_flag(&mut f, "--listen", || None).is_none());
        assert!(
            parse_flag(&mut f, "--metrics", || Some("127.0.0.1:9".into()))
                .unwrap()
                .is_ok()
        );
        assert_eq!(f.admin, Some("127.0.0.1:9".parse().unwrap()));
        assert!(parse_flag(&mut f, "--metrics", || Some("x".into()))
            .unwrap()
            .is_err());
        assert!(parse_flag(&mut f, "--metrics-hlog", || None)
            .unwrap()
            .is_err());
        let only_hlog = MetricsFlags {
            hlog_dir: Some("/tmp".into()),
            ..MetricsFlags::default()
        };
        assert!(check(&only_hlog).is_err());
        let mut rx = MetricsFlags::default();
        assert!(parse_flag(&mut rx, "--metrics-rx-timestamps", || None)
            .unwrap()
            .is_ok());
        assert!(rx.rx_timestamps);
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
        let mut alone = MetricsFlags::default();
        assert!(parse_flag(&mut alone, "--metrics-public", || None)
            .unwrap()
            .is_ok());
        assert_eq!(
            check(&alone).unwrap_err(),
            "--metrics-public needs --metrics ADDR"
        );
    }
}
