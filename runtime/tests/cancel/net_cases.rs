//! Stress cases on sockets: accept, connect, multishot recv, single-shot read, and the
//! setup for sends; each checks that dropping the future lost or leaked nothing.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream as StdStream;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use coreline_runtime::buf_ring_stats;
use coreline_runtime::net::TcpStream;

use crate::drop_point::{exercise, exercise_plain, At};
use crate::fixtures::Fixtures;
use crate::harness::{pattern, Rng};
use crate::io::{drain_socket, fill_socket};

impl Fixtures {
    pub(crate) async fn accept(&mut self, at: At, rng: &mut Rng) {
        let addr = self.listener.local_addr();
        let mut client = None;
        let reaped = exercise(
            self.listener.accept(),
            at,
            "accept",
            || client = Some(StdStream::connect(addr).expect("connect to listener")),
            || {},
        )
        .await;
        match (at, client) {
            (At::AfterCompletion, Some(client)) => {
                assert!(reaped);
                if rng.bit() {
                    // The connection was accepted into the ring and never handed out.
                    // Dropping the listener must close it: the client then reads EOF (a
                    // connection still in the kernel's backlog would be reset instead).
                    self.new_listener();
                    client
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let r = (&client).read(&mut [0_u8; 1]);
                    assert!(
                        matches!(r, Ok(0)),
                        "accepted-but-dropped connection should be closed, got {r:?}"
                    );
                } else {
                    // Dropping the future loses nothing: the next accept gets it.
                    let stream = self.listener.accept().await.expect("accept");
                    assert_eq!(
                        stream.peer_addr().unwrap(),
                        client.local_addr().unwrap(),
                        "the connection accepted under the dropped future was lost"
                    );
                }
            }
            (At::InFlight { .. }, _) if rng.one_in(4) => self.new_listener(),
            _ => {}
        }
    }

    pub(crate) async fn connect(&mut self, at: At) {
        let addr = self.sink.local_addr().unwrap();
        exercise_plain(TcpStream::connect(addr), at, "connect").await;
        let mut accepted = 0;
        loop {
            match self.sink.accept() {
                Ok(_) => accepted += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("sink accept: {e}"),
            }
        }
        if at == At::AfterCompletion {
            // (More than one if an earlier, abandoned connect got through meanwhile.)
            assert!(
                accepted >= 1,
                "the completed connect never reached the listener"
            );
        }
    }

    pub(crate) async fn recv(&mut self, at: At, rng: &mut Rng, salt: u64) {
        let len = rng.range(1, 6000);
        let data = pattern(len, salt);
        let peer = &mut self.rx_peer;
        exercise(
            self.rx.recv(),
            at,
            "recv",
            || peer.write_all(&data).expect("peer write"),
            || {},
        )
        .await;
        match at {
            At::AfterCompletion => {
                assert!(
                    buf_ring_stats().in_use >= 1,
                    "the completion should hold a provided buffer"
                );
                if rng.bit() {
                    // Drop the stream with provided buffers queued in its recv.
                    self.new_rx().await;
                    assert_eq!(buf_ring_stats().in_use, 0, "queued buffers not returned");
                } else {
                    // Dropping the future loses no data: the next recv calls get it all.
                    let mut got = Vec::with_capacity(len);
                    while got.len() < len {
                        let buf = self.rx.recv().await.expect("recv").expect("not EOF");
                        got.extend_from_slice(&buf);
                    }
                    assert!(
                        got == data,
                        "data received under the dropped future was lost"
                    );
                }
            }
            At::InFlight { .. } if rng.one_in(4) => self.new_rx().await,
            _ => {}
        }
    }

    pub(crate) async fn read_socket(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            // An abandoned read whose cancel has not gone through yet could take the data.
            self.settle().await;
        }
        let len = rng.range(1, 4096);
        let buf = Vec::with_capacity(rng.range(1, 8192));
        let peer = &mut self.rd_peer;
        let data = pattern(len, salt);
        exercise(
            self.rd.read(buf),
            at,
            "TcpStream::read",
            || peer.write_all(&data).expect("peer write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            let left = drain_socket(self.rd.as_raw_fd());
            assert!(left < len, "the dropped read never took its data");
        }
    }

    /// Empties the send fixture's peer and, sometimes, fills the socket so the next send
    /// waits in the kernel for space. Returns the peer's fd for draining.
    pub(crate) fn prepare_send(&mut self, at: At, rng: &mut Rng) -> RawFd {
        drain_socket(self.tx_peer.as_raw_fd());
        if at != At::BeforeSubmit && rng.bit() {
            fill_socket(self.tx.as_raw_fd());
        }
        self.tx_peer.as_raw_fd()
    }
}
