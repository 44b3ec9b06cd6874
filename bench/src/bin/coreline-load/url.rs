//! The target URL: `http://HOST[:PORT]/path?query` or `https://...`, split into what the
//! request and the connection need.

use std::net::{SocketAddr, ToSocketAddrs};

/// Where to send requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The original URL, for reports.
    pub url: String,
    /// `https`.
    pub tls: bool,
    /// Host as written (without IPv6 brackets): the TLS server name.
    pub host: String,
    /// The `Host` header value: the URL's authority as written (`host[:port]`).
    pub authority: String,
    pub port: u16,
    /// Path and query (the request target), at least `/`.
    pub path: String,
}

impl Target {
    /// Parses an http or https URL.
    pub fn parse(url: &str) -> Result<Target, String> {
        let bad = |why: &str| format!("URL '{url}': {why}");
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad("only http:// and https:// URLs are supported"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let path = path.split('#').next().unwrap_or("/").to_string();
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("the path has spaces or control characters"));
        }
        if authority.contains('@') {
            return Err(bad("user info is not supported"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("junk after ']'")),
            };
            (h, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| bad("the port is not a number"))?,
            None => default_port,
        };
        // The Host header is the authority as written (an explicit default port stays).
        let authority = authority.to_string();
        Ok(Target {
            url: url.to_string(),
            tls,
            host: host.to_string(),
            authority,
            port,
            path,
        })
    }

    /// Resolves the host (once, before the run; the first address is used).
    pub fn resolve(&self) -> Result<SocketAddr, String> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve '{}': {e}", self.host))?
            .next()
            .ok_or_else(|| format!("'{}' has no address", self.host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let t = Target::parse("http://127.0.0.1:8080/plaintext?a=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("127.0.0.1", 8080, false));
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8080", "/plaintext?a=1")
        );
        let t = Target::parse("https://localhost").unwrap();
        assert_eq!((t.port, t.path.as_str(), t.tls), (443, "/", true));
        let t = Target::parse("http://[::1]:9000?x").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 9000, "/?x")
        );
        assert_eq!(t.authority, "[::1]:9000");
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://a:x/").is_err());
        assert!(Target::parse("http://a/b c").is_err());
        assert!(Target::parse("ftp://a/").is_err());
    }
}
