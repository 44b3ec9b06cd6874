// The behaviour test modules and the shared server, included by `behaviour/main.rs`
// (plain HTTP) and `behaviour_tls/main.rs` (the same tests over TLS); the crate root
// defines `OVER_TLS` first. (Paths go through `..` so they resolve from both folders.)

#[path = "../common/mod.rs"]
mod common;

#[path = "../behaviour/b01_framing.rs"]
mod b01_framing;
#[path = "../behaviour/b02_chunked.rs"]
mod b02_chunked;
#[path = "../behaviour/b03_request_line.rs"]
mod b03_request_line;
#[path = "../behaviour/b04_headers.rs"]
mod b04_headers;
#[path = "../behaviour/b05_persistence.rs"]
mod b05_persistence;
#[path = "../behaviour/b06_head_and_bodiless.rs"]
mod b06_head_and_bodiless;
#[path = "../behaviour/b07_expect.rs"]
mod b07_expect;
#[path = "../behaviour/b08_body_limit.rs"]
mod b08_body_limit;
#[path = "../behaviour/b09_date_server.rs"]
mod b09_date_server;
#[path = "../behaviour/b10_malformed.rs"]
mod b10_malformed;
#[path = "../behaviour/shutdown.rs"]
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

/// Guards the TLS target against silently testing plain HTTP (and the reverse).
#[test]
fn the_transport_is_the_one_this_target_names() {
    let c = common::Client::connect(addr());
    let tls = match &c.stream {
        common::transport::Stream::Tls(tls) => {
            assert!(tls.conn.protocol_version().is_some());
            assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
            true
        }
        common::transport::Stream::Plain(_) => false,
    };
    assert_eq!(tls, OVER_TLS);
}
