//! coreline-tls: rustls driven over coreline runtime streams.
//!
//! Empty for now: the issue "TLS with rustls on the runtime" fills it.
