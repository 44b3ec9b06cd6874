//! Ten behaviour areas of HTTP/1.1 (RFC 9112 / 9110), end to end: raw bytes over a
//! `std::net::TcpStream` to a running server, checking status, headers, body and whether
//! the connection closes. One module per area.

/// This target speaks plain HTTP (see `suite.rs`; `behaviour_tls` runs the same over TLS).
pub const OVER_TLS: bool = false;

include!("suite.rs");
