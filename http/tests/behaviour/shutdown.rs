//! Graceful shutdown: idle connections half-close (and the server reads until the client
//! closes), busy ones finish with `Connection: close`,
//! new connections are refused, `run` returns Ok.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{start_default, Client};

#[test]
fn graceful_shutdown() {
    let server = start_default();
    let mut idle = Client::connect(server.addr);
    idle.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.response(false).status, 200);
    let mut busy = Client::connect(server.addr);
    busy.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let addr = server.addr;
    let t = Instant::now();
    let stopper = std::thread::spawn(move || server.stop());
    assert!(
        idle.closed_within(Duration::from_secs(2)),
        "idle connection closed"
    );
    // The server half-closed it and reads until the client closes its side too.
    drop(idle);
    let r = busy.response(false);
    assert_eq!(
        (r.status, r.body_str()),
        (200, "slow\n"),
        "in-flight request finished"
    );
    assert!(r.closes(), "{}", r.head);
    assert!(busy.closed_within(Duration::from_secs(2)));
    stopper.join().unwrap().expect("run returns Ok");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(TcpStream::connect(addr).is_err(), "no longer accepting");
}
