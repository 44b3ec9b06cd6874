//! [`Upstream`]: the scheme, host and port a request goes to (the pool's key), taken from
//! the request's absolute URI, and how its name becomes a socket address.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use http::Uri;

use super::Error;

/// Where a request goes: one keep-alive pool per distinct value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Upstream {
    pub(super) https: bool,
    /// The host as written in the URI, without IPv6 brackets (the TLS server name).
    pub(super) host: Rc<str>,
    pub(super) port: u16,
}

impl Upstream {
    /// The upstream of an absolute `http://` or `https://` URI.
    pub(crate) fn of(uri: &Uri) -> Result<Self, Error> {
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(Error::InvalidRequest("URI scheme is not http or https")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or(Error::InvalidRequest("URI has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Upstream {
            https,
            host: host.into(),
            port,
        })
    }

    /// The socket address to connect to: the host itself if it is an IP address, else its
    /// first address from the system resolver (run on the blocking pool, since
    /// `getaddrinfo` blocks).
    pub(super) async fn resolve(&self) -> io::Result<SocketAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let target = (self.host.to_string(), self.port);
        coreline_runtime::spawn_blocking(move || target.to_socket_addrs())
            .await
            .map_err(io::Error::other)??
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "name has no address"))
    }
}
