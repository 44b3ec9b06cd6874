//! The ten behaviour items (RFC 9112 / 9110), end to end: raw bytes over a
//! `std::net::TcpStream` to a running server, checking status, headers, body and whether
//! the connection closes. One module per item.

#[path = "../common/mod.rs"]
mod common;

mod b01_framing;
mod b02_chunked;
mod b03_request_line;
mod b04_headers;
mod b05_persistence;
mod b06_head_and_bodiless;
mod b07_expect;
mod b08_body_limit;
mod b09_date_server;
mod b10_malformed;
mod shutdown;

use std::net::SocketAddr;
use std::sync::OnceLock;

/// The shared default server (default limits and timeouts), started once.
pub fn addr() -> SocketAddr {
    static SERVER: OnceLock<(SocketAddr, coreline_http::ServerHandle)> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let running = common::start_default();
            let out = (running.addr, running.handle.clone());
            std::mem::forget(running); // lives for the whole test process
            out
        })
        .0
}
