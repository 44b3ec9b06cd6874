//! Upgrades over TLS: the server offers none (its TLS stream cannot read and write at
//! once), so `upgrade::on` resolves to an error, a handler that answers `101` anyway gets
//! `501 Not Implemented` sent in its place, and the connection stays HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};

use coreline_http::upgrade;
use coreline_http::{Body, Server};
use coreline_runtime::Cores;
use http::header::{HeaderValue, UPGRADE};
use http::{Request, Response, StatusCode};

#[path = "common/mod.rs"]
mod common;

/// The tests speak TLS through `common`.
pub const OVER_TLS: bool = true;

/// `OnUpgrade`s that resolved to an error.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// `/upgrade` answers 101 as a WebSocket server would; other paths answer 200.
fn handler(mut req: Request<Body>) -> Response<Body> {
    let on_upgrade = upgrade::on(&mut req);
    coreline_runtime::spawn_local(async move {
        if on_upgrade.await.is_err() {
            REFUSED.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut res = Response::new(Body::from_static(b"plain answer"));
    if req.uri().path() == "/upgrade" {
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        res.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
    }
    res
}

#[test]
fn a_101_over_tls_becomes_a_501_and_the_connection_stays_http() {
    let server = Server::builder()
        .tls_listen(
            "127.0.0.1:0".parse().unwrap(),
            common::transport::test_acceptor(),
        )
        .cores(Cores::Count(1))
        .build(|| |req| std::future::ready(handler(req)))
        .unwrap();
    let server = common::run_on_thread(server);
    let mut c = common::Client::connect(server.addr);
    c.send(
        b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    let res = c.response(false);
    assert_eq!(res.status, 501, "{:?}", res.body_str());
    assert!(res.header("upgrade").is_none(), "no upgrade was made");
    c.send(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
    let res = c.response(false);
    assert_eq!((res.status, res.body_str()), (200, "plain answer"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while REFUSED.load(Ordering::SeqCst) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "both OnUpgrades resolve to an error"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
