//! The value parsers of `serve`'s flags (clap calls them for a flag and for a config-file
//! key alike). Each error says what the value should be; clap prefixes the flag's name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use coreline_http::{AccessLogFormat, FileBodyMethod, ListenerMode};
use coreline_runtime::Cores;

/// `--tls-sni NAME=CERT:KEY`: another certificate for clients asking for NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniCert {
    /// The server name.
    pub name: String,
    /// Its certificate chain (PEM).
    pub cert: PathBuf,
    /// Its key (PEM).
    pub key: PathBuf,
}

/// `all` or a CPU list (`0`, `0,1`, `0-3`).
pub fn cpus(value: &str) -> Result<Cores, String> {
    Cores::parse_list(value).map_err(|e| e.to_string())
}

/// A listen backlog: 1 to `i32::MAX`.
pub fn backlog(value: &str) -> Result<u32, String> {
    socket_int(value, "a positive number")
}

/// 1 to `i32::MAX` (what a socket option or `listen(2)` takes); else "'value' is not WHAT".
fn socket_int(value: &str, what: &str) -> Result<u32, String> {
    value
        .parse()
        .ok()
        .filter(|&n: &u32| n > 0 && n <= i32::MAX as u32)
        .ok_or_else(|| format!("'{value}' is not {what}"))
}

/// A connection or handshake limit: a count, 0 for unlimited.
pub fn limit(value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("'{value}' is not a number (0 = unlimited)"))
}

/// A body size: bytes, or a number with `k`, `m` or `g` (1024-based, as nginx's sizes);
/// 0 for unlimited.
pub fn body_size(value: &str) -> Result<u64, String> {
    let err =
        || format!("'{value}' is not a size (bytes, or a number with k, m or g; 0 = unlimited)");
    let lower = value.trim().to_ascii_lowercase();
    let (digits, shift) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 10),
        Some(b'm') => (&lower[..lower.len() - 1], 20),
        Some(b'g') => (&lower[..lower.len() - 1], 30),
        _ => (&lower[..], 0),
    };
    let n: u64 = digits.parse().map_err(|_| err())?;
    match n.checked_mul(1 << shift) {
        Some(0) => Ok(u64::MAX),
        Some(bytes) => Ok(bytes),
        None => Err(err()),
    }
}

/// Seconds, 0 to 3600, fractions allowed.
pub fn drain_timeout(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{value}' is not 0..3600 seconds"))
}

/// `on` or `off`.
pub fn on_off(value: &str) -> Result<bool, String> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("'{other}' is not on or off")),
    }
}

/// A log level: error, warn, info, debug or trace.
pub fn log_level(value: &str) -> Result<log::LevelFilter, String> {
    match value.parse() {
        Ok(log::LevelFilter::Off) | Err(_) => Err(format!(
            "'{value}' is not error, warn, info, debug or trace"
        )),
        Ok(level) => Ok(level),
    }
}

/// A Fast Open queue length: 1 to `i32::MAX`.
pub fn fastopen_queue(value: &str) -> Result<u32, String> {
    socket_int(value, "a positive queue length")
}

/// A `TCP_NOTSENT_LOWAT` in bytes (1 to `i32::MAX`), or `off` (`None`: the kernel's default).
pub fn notsent_lowat(value: &str) -> Result<NotsentLowat, String> {
    if value == "off" {
        return Ok(NotsentLowat(None));
    }
    socket_int(value, "a positive number of bytes or off").map(|b| NotsentLowat(Some(b)))
}

/// `--notsent-lowat`'s value: a newtype, because clap reads a field of type
/// `Option<Option<_>>` as a flag whose value is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotsentLowat(pub Option<u32>);

/// `--congestion-control`'s value: `auto`, `kernel` or an algorithm's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CongestionControl {
    /// The kernel's algorithm, except `reno` instead of BBR on loopback listeners
    /// (`Builder::unpaced_loopback`) and on the proxy's connections to loopback upstreams
    /// (`ClientBuilder::unpaced_loopback`).
    #[default]
    Auto,
    /// The kernel's `net.ipv4.tcp_congestion_control` on every listener.
    Kernel,
    /// This algorithm on every listener.
    Named(String),
}

/// `auto`, `kernel`, or an algorithm's name (checked against the kernel at start).
pub fn congestion_control(value: &str) -> Result<CongestionControl, String> {
    match value {
        "" => Err("an empty name: use auto, kernel or an algorithm such as reno".to_owned()),
        "auto" => Ok(CongestionControl::Auto),
        "kernel" => Ok(CongestionControl::Kernel),
        name => Ok(CongestionControl::Named(name.to_owned())),
    }
}

/// `auto`, `splice`, `read` or `send-zc`.
pub fn file_body(value: &str) -> Result<FileBodyMethod, String> {
    match value {
        "auto" => Ok(FileBodyMethod::Auto),
        "splice" => Ok(FileBodyMethod::Splice),
        "read" => Ok(FileBodyMethod::Read),
        "send-zc" => Ok(FileBodyMethod::SendZc),
        other => Err(format!("'{other}' is not auto, splice, read or send-zc")),
    }
}

/// An access-log format: `combined` or `json`.
pub fn access_log_format(value: &str) -> Result<AccessLogFormat, String> {
    match value {
        "combined" => Ok(AccessLogFormat::Combined),
        "json" => Ok(AccessLogFormat::Json),
        other => Err(format!("'{other}' is not combined or json")),
    }
}

/// `reuseport`, `shared` or `steered`.
pub fn listener_mode(value: &str) -> Result<ListenerMode, String> {
    match value {
        "reuseport" => Ok(ListenerMode::ReusePort),
        "shared" => Ok(ListenerMode::Shared),
        "steered" => Ok(ListenerMode::Steered),
        other => Err(format!("'{other}' is not reuseport, shared or steered")),
    }
}

/// Bytes per second, 0 for none.
pub fn rate(value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("'{value}' is not a number of bytes per second (0 = none)"))
}

/// The admin listener: an `IP:PORT` (it is one socket, on one address).
pub fn admin_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("'{value}' is not an IP:PORT address"))
}

/// `NAME=CERT:KEY` (the key path is what follows the last `:`).
pub fn sni(value: &str) -> Result<SniCert, String> {
    let bad = || format!("'{value}' is not NAME=CERT:KEY");
    let (name, files) = value.split_once('=').ok_or_else(bad)?;
    let (cert, key) = files.rsplit_once(':').ok_or_else(bad)?;
    if name.is_empty() || cert.is_empty() || key.is_empty() {
        return Err(bad());
    }
    Ok(SniCert {
        name: name.to_string(),
        cert: PathBuf::from(cert),
        key: PathBuf::from(key),
    })
}

/// `gen-cert --days N`: 1 to the longest validity browsers accept.
pub fn days(value: &str) -> Result<u32, String> {
    let max = coreline_tls::MAX_VALID_DAYS;
    value
        .parse()
        .ok()
        .filter(|d| (1..=max).contains(d))
        .ok_or_else(|| format!("'{value}' is not a number of days from 1 to {max}"))
}

/// `stats --count N`: a positive number.
pub fn positive(value: &str) -> Result<u64, String> {
    value
        .parse()
        .ok()
        .filter(|&n: &u64| n > 0)
        .ok_or_else(|| format!("'{value}' is not a positive number"))
}
