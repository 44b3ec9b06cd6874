//! What a handler learns about the connection a request came on: [`ConnectInfo`] (both
//! addresses) and, over TLS, [`TlsInfo`] (SNI name, ALPN protocol, TLS version), in every
//! request's extensions.
//!
//! Both are worked out once per connection, at its first request, and copied into each
//! request's extensions. The extension maps are pooled per core like header maps: a
//! request given back with [`recycle`](crate::recycle) returns its map, whose entries the
//! next request's info overwrites in place, so the request path stays allocation-free.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;

use coreline_tls::rustls::ProtocolVersion;
use coreline_tls::TlsStream;
use http::Extensions;

/// The addresses of the connection a request came on, in every request's extensions.
///
/// ```
/// # use coreline_http::{Body, ConnectInfo};
/// # fn handler(req: http::Request<Body>) {
/// if let Some(info) = req.extensions().get::<ConnectInfo>() {
///     println!("{} -> {}", info.peer, info.local);
/// }
/// # }
/// ```
///
/// This is coreline's own type: axum's `ConnectInfo<SocketAddr>` extractor looks for
/// axum's type, which a layer in front of an axum router can insert from this one
/// (`axum::extract::ConnectInfo(info.peer)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ConnectInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client connected to (the listener's, with a wildcard
    /// listen address resolved to the interface's).
    pub local: SocketAddr,
}

impl ConnectInfo {
    /// Info for a connection from `peer` to `local` (for tests of handlers).
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        ConnectInfo { peer, local }
    }
}

/// What the TLS handshake of a request's connection settled, in every request's
/// extensions on an HTTPS listener (absent on plain HTTP). Cheap to clone: the values are
/// shared by all requests of the connection.
///
/// ```
/// # use coreline_http::{Body, TlsInfo};
/// # fn handler(req: http::Request<Body>) {
/// if let Some(tls) = req.extensions().get::<TlsInfo>() {
///     println!("SNI {:?}, ALPN {:?}", tls.server_name(), tls.alpn_protocol());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo(Arc<TlsFacts>);

#[derive(Debug, PartialEq, Eq)]
struct TlsFacts {
    server_name: Option<Box<str>>,
    alpn_protocol: Option<Box<[u8]>>,
    protocol_version: Option<ProtocolVersion>,
}

impl TlsInfo {
    /// Info with these values (for tests of handlers).
    pub fn new(
        server_name: Option<&str>,
        alpn_protocol: Option<&[u8]>,
        protocol_version: Option<ProtocolVersion>,
    ) -> Self {
        TlsInfo(Arc::new(TlsFacts {
            server_name: server_name.map(Into::into),
            alpn_protocol: alpn_protocol.map(Into::into),
            protocol_version,
        }))
    }

    /// The info of an established TLS stream.
    pub(crate) fn of(tls: &TlsStream) -> Self {
        TlsInfo::new(
            tls.server_name(),
            tls.alpn_protocol(),
            tls.protocol_version(),
        )
    }

    /// The server name the client asked for with SNI (lowercase), if it sent one.
    pub fn server_name(&self) -> Option<&str> {
        self.0.server_name.as_deref()
    }

    /// The protocol agreed on with ALPN (`b"http/1.1"`), if the client offered ALPN.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.0.alpn_protocol.as_deref()
    }

    /// The negotiated TLS version (`TLSv1_3` or `TLSv1_2`).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.protocol_version
    }
}

/// One connection's info, as its requests' extensions carry it. Kept by the connection
/// for its whole life, so it is compact: the common case (plain IPv4) in 16 bytes inline,
/// anything else boxed. (An idle keep-alive connection must stay under 1 KiB in all.)
#[derive(Debug)]
pub(crate) enum ConnInfo {
    /// A plain connection between IPv4 addresses.
    PlainV4 {
        peer: SocketAddrV4,
        local: SocketAddrV4,
    },
    /// IPv6 or TLS.
    Boxed(Box<(ConnectInfo, Option<TlsInfo>)>),
}

impl ConnInfo {
    /// The info of a connection between `connect`'s addresses, with `tls` over TLS.
    pub(crate) fn new(connect: ConnectInfo, tls: Option<TlsInfo>) -> Self {
        match (connect.peer, connect.local, tls) {
            (SocketAddr::V4(peer), SocketAddr::V4(local), None) => {
                ConnInfo::PlainV4 { peer, local }
            }
            (_, _, tls) => ConnInfo::Boxed(Box::new((connect, tls))),
        }
    }

    /// The addresses.
    pub(crate) fn connect(&self) -> ConnectInfo {
        match self {
            ConnInfo::PlainV4 { peer, local } => ConnectInfo::new((*peer).into(), (*local).into()),
            ConnInfo::Boxed(b) => b.0,
        }
    }

    /// The TLS facts, over TLS.
    pub(crate) fn tls(&self) -> Option<&TlsInfo> {
        match self {
            ConnInfo::PlainV4 { .. } => None,
            ConnInfo::Boxed(b) => b.1.as_ref(),
        }
    }

    /// Puts this info into `ext`, overwriting entries of the same types in place (no
    /// allocation when they are there).
    pub(crate) fn fill(&self, ext: &mut Extensions) {
        let connect = self.connect();
        match ext.get_mut::<ConnectInfo>() {
            Some(slot) => *slot = connect,
            None => drop(ext.insert(connect)),
        }
        if let Some(tls) = self.tls() {
            match ext.get_mut::<TlsInfo>() {
                Some(slot) => slot.clone_from(tls),
                None => drop(ext.insert(tls.clone())),
            }
        }
    }

    /// Whether `ext` holds exactly what [`fill`](Self::fill) puts in (for some
    /// connection), and whether that includes a [`TlsInfo`].
    ///
    /// The length decides which lookups are needed: a plain connection's map (one entry)
    /// costs one lookup, not two.
    pub(crate) fn only_ours(ext: &Extensions) -> Option<bool> {
        let tls = match ext.len() {
            1 => false,
            2 if ext.get::<TlsInfo>().is_some() => true,
            _ => return None,
        };
        ext.get::<ConnectInfo>().is_some().then_some(tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(port: u16, tls: Option<&str>) -> ConnInfo {
        ConnInfo::new(
            ConnectInfo::new(
                SocketAddr::from(([127, 0, 0, 2], port)),
                SocketAddr::from(([127, 0, 0, 1], 443)),
            ),
            tls.map(|name| TlsInfo::new(Some(name), Some(b"http/1.1"), None)),
        )
    }

    #[test]
    fn plain_ipv4_is_inline_and_small() {
        assert!(matches!(info(1, None), ConnInfo::PlainV4 { .. }));
        assert!(std::mem::size_of::<ConnInfo>() <= 16);
        let v6 = ConnectInfo::new("[::1]:1".parse().unwrap(), "[::1]:2".parse().unwrap());
        assert_eq!(ConnInfo::new(v6, None).connect(), v6);
        assert_eq!(info(7, None).connect().peer.port(), 7);
    }

    #[test]
    fn fill_overwrites_in_place() {
        let mut ext = Extensions::new();
        info(1, Some("a.test")).fill(&mut ext);
        assert_eq!(ConnInfo::only_ours(&ext), Some(true));
        info(2, Some("b.test")).fill(&mut ext);
        assert_eq!(ext.len(), 2);
        assert_eq!(ext.get::<ConnectInfo>().unwrap().peer.port(), 2);
        let tls = ext.get::<TlsInfo>().unwrap();
        assert_eq!(tls.server_name(), Some("b.test"));
        assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    }

    #[test]
    fn foreign_entries_are_not_ours() {
        let mut ext = Extensions::new();
        assert_eq!(ConnInfo::only_ours(&ext), None);
        info(1, None).fill(&mut ext);
        assert_eq!(ConnInfo::only_ours(&ext), Some(false));
        ext.insert(7u32);
        assert_eq!(ConnInfo::only_ours(&ext), None);
    }
}
