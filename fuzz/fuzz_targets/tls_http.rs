//! The TLS-to-HTTP path: see `checks/tls_http.rs`.
#![no_main]

#[path = "../checks/head.rs"]
mod head;
#[path = "../checks/tls_http.rs"]
mod tls_http;

libfuzzer_sys::fuzz_target!(|data: &[u8]| tls_http::check(data));
