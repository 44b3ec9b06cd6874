//! Listen addresses as an operator writes them: `IP:PORT`, `[IPv6]:PORT`, `:PORT` (every
//! interface) and `HOST:PORT` (a name, resolved when the server starts).

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// Where to listen, as written on a command line or in a config file.
///
/// Parse one with [`str::parse`]; [`resolve`](Self::resolve) gives the socket addresses to
/// bind ([`Builder::listen`](crate::Builder::listen) takes each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `IP:PORT` or `[IPv6]:PORT`: exactly this address.
    Socket(SocketAddr),
    /// `:PORT`: every interface, IPv4 and IPv6. Bound as one `[::]:PORT` socket that also
    /// takes IPv4 connections (`IPV6_V6ONLY` off, whatever the host's default), so port 0
    /// gives one port for both families; `0.0.0.0:PORT` on a host without IPv6.
    AllInterfaces(u16),
    /// `HOST:PORT`: every address the name resolves to (e.g. `localhost`: `127.0.0.1` and
    /// `::1`).
    Host {
        /// The name, as written.
        host: String,
        /// The port.
        port: u16,
    },
}

impl FromStr for ListenAddr {
    type Err = String;

    /// Accepts `IP:PORT`, `[IPv6]:PORT`, `:PORT` and `HOST:PORT`; the error says which
    /// forms there are.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(ListenAddr::Socket(addr));
        }
        let bad = || format!("'{s}' is not IP:PORT, [IPv6]:PORT, :PORT or HOST:PORT");
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Ok(ListenAddr::AllInterfaces(port));
        }
        // All digits and dots is a mistyped IPv4 address, not a name to look up.
        let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if numeric || !is_host_name(host) {
            return Err(bad());
        }
        Ok(ListenAddr::Host {
            host: host.to_string(),
            port,
        })
    }
}

/// Letters, digits and `-` in dot-separated labels of 1 to 63 bytes (RFC 1123).
fn is_host_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl ListenAddr {
    /// The socket addresses to bind, each once. A name is looked up now; an error names it.
    pub fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        match self {
            ListenAddr::Socket(addr) => Ok(vec![*addr]),
            ListenAddr::AllInterfaces(port) => {
                let ip = match ipv6_available() {
                    true => Ipv6Addr::UNSPECIFIED.into(),
                    false => Ipv4Addr::UNSPECIFIED.into(),
                };
                Ok(vec![SocketAddr::new(ip, *port)])
            }
            ListenAddr::Host { host, port } => {
                let found = (host.as_str(), *port).to_socket_addrs().map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot resolve '{host}': {e}"))
                })?;
                let mut addrs: Vec<SocketAddr> = Vec::new();
                for addr in found {
                    if !addrs.contains(&addr) {
                        addrs.push(addr);
                    }
                }
                if addrs.is_empty() {
                    let message = format!("'{host}' resolves to no address");
                    return Err(io::Error::new(io::ErrorKind::NotFound, message));
                }
                Ok(addrs)
            }
        }
    }
}

/// Whether this host can open an IPv6 socket at all (a kernel booted with `ipv6.disable=1`
/// cannot).
fn ipv6_available() -> bool {
    std::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).is_ok()
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Socket(addr) => write!(f, "{addr}"),
            ListenAddr::AllInterfaces(port) => write!(f, ":{port}"),
            ListenAddr::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form() {
        let p = |s: &str| s.parse::<ListenAddr>();
        assert_eq!(
            p("127.0.0.1:80"),
            Ok(ListenAddr::Socket("127.0.0.1:80".parse().unwrap()))
        );
        assert_eq!(
            p("[::1]:8443"),
            Ok(ListenAddr::Socket("[::1]:8443".parse().unwrap()))
        );
        assert_eq!(p(":8080"), Ok(ListenAddr::AllInterfaces(8080)));
        let host = |h: &str, port| ListenAddr::Host {
            host: h.into(),
            port,
        };
        assert_eq!(p("localhost:0"), Ok(host("localhost", 0)));
        assert_eq!(p("web-1.example.org:80"), Ok(host("web-1.example.org", 80)));
        for bad in [
            "",
            "80",
            ":",
            ":x",
            ":65536",
            "127.0.0.1",
            "1.2.3.4.5:80",
            "999.0.0.1:80",
            "::1:80",
            "[::1]",
            "-a:80",
            "a b:80",
            "a..b:80",
            "a_b:1",
        ] {
            let e = p(bad).unwrap_err();
            assert!(e.contains(":PORT") && e.contains(bad), "{bad}: {e}");
        }
        for s in ["127.0.0.1:80", "[::1]:1", ":9", "localhost:7"] {
            assert_eq!(p(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn resolves_to_what_to_bind() {
        let p = |s: &str| s.parse::<ListenAddr>().unwrap().resolve().unwrap();
        assert_eq!(p("127.0.0.1:5"), vec!["127.0.0.1:5".parse().unwrap()]);
        let all = p(":5");
        assert_eq!((all.len(), all[0].port()), (1, 5));
        assert!(all[0].ip().is_unspecified());
        let local = p("localhost:5");
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 5));
        assert!(local.contains(&"127.0.0.1:5".parse().unwrap()), "{local:?}");
        let e = "no-such-host.invalid:5"
            .parse::<ListenAddr>()
            .unwrap()
            .resolve()
            .unwrap_err();
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    }
}
