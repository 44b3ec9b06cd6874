//! Every behaviour test of `behaviour/` again, over TLS: the same modules (not copies),
//! with the test server on an HTTPS listener and the raw-byte client speaking through a
//! rustls client, so each request and response crosses `TlsStream` in both directions.

/// This target runs over TLS (read by `common`: server listener and client stream).
pub const OVER_TLS: bool = true;

include!("../behaviour/suite.rs");
