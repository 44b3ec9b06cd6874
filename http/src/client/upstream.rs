//! [`Upstream`]: the scheme, host and port a request goes to (the pool's key), taken from
//! the request's absolute URI, and how its name becomes a socket address.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use http::Uri;

use super::Error;
use crate::fnv::Fnv;

/// Where a request goes: one keep-alive pool per distinct value.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    pub(super) https: bool,
    /// `host[:port]` as the request's `Host` field says it (an IPv6 host in brackets, the
    /// port only when not the scheme's default): written once, not per request.
    authority: Rc<str>,
    /// Where the host (without brackets) is in `authority`.
    host_start: usize,
    host_end: usize,
    pub(super) port: u16,
    /// The authority's hash, computed once: the pool looks an upstream up twice per
    /// request (take, then put back).
    key: u64,
}

/// Equal scheme and authority (the other fields follow from them); the clones of one
/// route's upstream share their authority, which is then not compared byte by byte.
impl PartialEq for Upstream {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && self.https == other.https
            && (Rc::ptr_eq(&self.authority, &other.authority) || self.authority == other.authority)
    }
}

impl Eq for Upstream {}

impl Hash for Upstream {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.key);
    }
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
        let default_port = if https { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        let mut authority = String::with_capacity(host.len() + 8);
        let bracketed = host.contains(':');
        if bracketed {
            authority.push('[');
        }
        let host_start = authority.len();
        authority.push_str(host);
        let host_end = authority.len();
        if bracketed {
            authority.push(']');
        }
        if port != default_port {
            let _ = write!(authority, ":{port}");
        }
        let mut key = Fnv::default();
        key.write(authority.as_bytes());
        Ok(Upstream {
            https,
            key: key.finish(),
            authority: authority.into(),
            host_start,
            host_end,
            port,
        })
    }

    /// The host as written in the URI, without IPv6 brackets (the TLS server name).
    pub(super) fn host(&self) -> &str {
        &self.authority[self.host_start..self.host_end]
    }

    /// `host[:port]` for the `Host` field.
    pub(super) fn authority(&self) -> &str {
        &self.authority
    }

    /// The socket address to connect to: the host itself if it is an IP address, else its
    /// first address from the system resolver (run on the blocking pool, since
    /// `getaddrinfo` blocks).
    pub(super) async fn resolve(&self) -> io::Result<SocketAddr> {
        if let Ok(ip) = self.host().parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let target = (self.host().to_string(), self.port);
        coreline_runtime::spawn_blocking(move || target.to_socket_addrs())
            .await
            .map_err(io::Error::other)??
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "name has no address"))
    }
}
