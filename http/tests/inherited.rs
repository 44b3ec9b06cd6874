//! `Builder::listen_inherited`: a socket bound elsewhere is served by every core (each
//! accepting from its own duplicate), gets the accepted-connection options, stops
//! listening once the server has shut down, and a socket that does not listen is refused
//! by `build` with one clear error.

#[path = "common/mod.rs"]
mod common;

/// These tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;

use common::{run_on_thread, still_serves, test_handler};
use coreline_http::Server;
use coreline_runtime::Cores;

#[test]
fn an_inherited_listener_serves_on_two_cores_until_shutdown() {
    let bound = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = bound.local_addr().unwrap();
    let server = Server::builder()
        .cores(Cores::Count(2))
        .listen_inherited(OwnedFd::from(bound))
        .build(|| test_handler)
        .expect("build");
    assert_eq!(server.local_addrs(), &[addr][..]);
    let running = run_on_thread(server);
    for _ in 0..20 {
        still_serves(addr);
    }
    running.stop().unwrap();
    // The server held the only copies: with every core's closed, nothing listens.
    assert!(TcpStream::connect(addr).is_err(), "still listening");
}

#[test]
fn a_socket_that_does_not_listen_is_refused_by_build() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = Server::builder()
        .cores(Cores::Count(1))
        .listen_inherited(OwnedFd::from(socket))
        .build(|| test_handler)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(message.starts_with("inherited fd "), "{message}");
    assert!(message.contains("not a listening TCP socket"), "{message}");
}
