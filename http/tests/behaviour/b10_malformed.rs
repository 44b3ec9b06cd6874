//! Item 10. Malformed input: the right 4xx and a close, never a panic, other
//! connections unaffected.

use std::io::Write;
use std::time::Duration;

use crate::addr;
use crate::common::{still_serves, Client};

#[test]
fn a_malformed_connection_does_not_disturb_a_good_one() {
    let mut bad = Client::connect(addr());
    let mut good = Client::connect(addr());
    bad.send(b"GET /plaintext HTTP/1.1\r\nHo");
    good.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(good.response(false).status, 200);
    bad.send(b"st x\r\n\x01Bad\x02: \xff\r\n\r\n");
    let r = bad.response(false);
    assert_eq!(r.status, 400);
    assert!(bad.closed_within(Duration::from_secs(3)));
    good.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(good.response(false).status, 200);
}

#[test]
fn a_panicking_handler_gets_a_500_and_the_core_keeps_serving() {
    let mut c = Client::connect(addr());
    c.send(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 500);
    assert!(r.closes());
    still_serves(addr());
}

/// xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_garbage_and_mutated_requests_never_break_the_server() {
    let base = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let mut input = base.to_vec();
        if round % 3 == 0 {
            input = (0..(rng.next() % 300)).map(|_| rng.next() as u8).collect();
        } else {
            for _ in 0..(1 + rng.next() % 4) {
                let at = (rng.next() as usize) % input.len();
                match rng.next() % 3 {
                    0 => input[at] = rng.next() as u8,
                    1 => {
                        input.remove(at);
                    }
                    _ => input.insert(at, rng.next() as u8),
                }
            }
        }
        let mut c = Client::connect(addr());
        let _ = c.stream.write_all(&input);
        let _ = c.stream.shutdown(std::net::Shutdown::Write);
        // Whatever comes back must be well-formed responses; then the server closes.
        while let Some(r) = c.try_response(input.starts_with(b"HEAD")) {
            assert!(
                (200..600).contains(&r.status),
                "round {round}: status {} for {:?}",
                r.status,
                String::from_utf8_lossy(&input)
            );
            if [400, 408, 413, 414, 417, 431, 501, 505].contains(&r.status) {
                assert!(r.closes(), "round {round}: {}", r.head);
            }
        }
    }
    still_serves(addr());
}
