//! The reverse-proxy flags of `coreline serve` (`--proxy PREFIX=URL`, `--proxy-host`,
//! `--proxy-timeout`, `--proxy-max-connections`, `--proxy-queue`,
//! `--proxy-splice-min`), and the
//! [`ProxyBuilder`] they make.

use std::time::Duration;

use coreline_http::client::{Client, ClientBuilder};
use coreline_http::proxy::{HostHeader, ProxyBuilder, Route};

/// `serve`'s proxy options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyFlags {
    /// `--proxy PREFIX=URL`, each given.
    pub routes: Vec<Route>,
    /// `--proxy-host keep|upstream` (default upstream).
    pub host: Option<HostHeader>,
    /// `--proxy-timeout SECS`: each read from and write to the upstream, and an upgraded
    /// pipe's longest silence.
    pub timeout: Option<Duration>,
    /// `--proxy-max-connections N`: exchanges at once per core and route.
    pub max_connections: Option<usize>,
    /// `--proxy-queue N`: requests waiting per core and route.
    pub queue: Option<usize>,
    /// `--proxy-splice-min BYTES|off`: the smallest body spliced (`u64::MAX`: off).
    pub splice_min: Option<u64>,
}

impl ProxyFlags {
    /// Checks the combination (after all flags are read).
    pub fn check(&self) -> Result<(), String> {
        let tuned = self.host.is_some()
            || self.timeout.is_some()
            || self.max_connections.is_some()
            || self.queue.is_some()
            || self.splice_min.is_some();
        if tuned && self.routes.is_empty() {
            return Err(
                "--proxy-host, --proxy-timeout, --proxy-max-connections, --proxy-queue \
                        and --proxy-splice-min need --proxy PREFIX=URL"
                    .into(),
            );
        }
        Ok(())
    }

    /// The proxy these flags ask for, if any route was given; `unpaced_loopback`: its
    /// connections to loopback upstreams use reno instead of BBR
    /// (`ClientBuilder::unpaced_loopback`, `--congestion-control auto`).
    pub fn builder(&self, unpaced_loopback: bool) -> Option<ProxyBuilder> {
        if self.routes.is_empty() {
            return None;
        }
        let max_connections = self
            .max_connections
            .unwrap_or(ProxyBuilder::DEFAULT_MAX_CONNECTIONS);
        let timeout = self.timeout.unwrap_or(Duration::from_secs(60));
        // As many idle connections are kept as may be busy, so a steady load reuses them.
        let idle = if max_connections == 0 {
            ProxyBuilder::DEFAULT_MAX_CONNECTIONS
        } else {
            max_connections
        };
        let client = Client::builder()
            .read_timeout(timeout)
            .write_timeout(timeout)
            .max_idle_per_host(idle)
            .unpaced_loopback(unpaced_loopback)
            .splice_min(self.splice_min.unwrap_or(ClientBuilder::SPLICE_MIN));
        Some(
            ProxyBuilder::new(self.routes.clone())
                .host(self.host.unwrap_or_default())
                .client(client)
                .upgrade_idle_timeout(timeout)
                .max_connections(max_connections)
                .max_queue(self.queue.unwrap_or(ProxyBuilder::DEFAULT_MAX_QUEUE)),
        )
    }
}

/// `--proxy-timeout`: seconds, above 0 and up to 3600, fractions allowed.
pub fn timeout(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{value}' is not more than 0 and up to 3600 seconds"))
}

/// `--proxy-splice-min`: bytes, or `off` (never splice).
pub fn splice_min(value: &str) -> Result<u64, String> {
    if value == "off" {
        return Ok(u64::MAX);
    }
    value
        .parse()
        .map_err(|_| format!("'{value}' is not a number of bytes or off"))
}
