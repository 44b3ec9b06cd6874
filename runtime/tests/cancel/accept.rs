//! Accept: a connection accepted into the ring but never handed out is closed (not reset)
//! when the listener goes, and an accept future dropped in flight loses no connection.

use std::io::Read;
use std::net::TcpStream as StdStream;
use std::time::Duration;

use coreline_runtime::net::TcpListener;
use coreline_runtime::{time, yield_now};

use crate::alloc::thread_live;
use crate::harness::{localhost, on_core0, open_fds, serial};
use crate::probe::{poll_noop, poll_probe, settle, wait_fired};

#[test]
fn accept_dropped_after_connection_was_accepted_closes_the_fd() {
    let _serial = serial();
    on_core0(|| async {
        // Warm up (first accept, first connection) so the measurement sees steady state.
        {
            let mut l = TcpListener::bind(localhost()).unwrap();
            let c = StdStream::connect(l.local_addr()).unwrap();
            drop(l.accept().await.unwrap());
            drop(c);
        }
        time::sleep(Duration::from_micros(1)).await; // creates the timer map's root node
        settle(0).await;
        let fds0 = open_fds();
        let heap0 = thread_live();
        for _ in 0..100 {
            let mut listener = TcpListener::bind(localhost()).unwrap();
            let addr = listener.local_addr();
            let mut fut = Box::pin(listener.accept());
            let probe = poll_probe(fut.as_mut()).expect("nothing to accept yet");
            let client = StdStream::connect(addr).unwrap();
            wait_fired(&probe, "accept", || {}).await;
            drop(fut);
            // listener + client + the accepted socket, held by the ring's completion queue.
            assert_eq!(
                open_fds(),
                fds0 + 3,
                "the connection was accepted into the op"
            );
            drop(listener);
            settle(0).await;
            assert_eq!(open_fds(), fds0 + 1, "only the client is left");
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let r = (&client).read(&mut [0_u8; 1]);
            assert!(matches!(r, Ok(0)), "closed, not reset: {r:?}");
        }
        assert_eq!(open_fds(), fds0);
        assert_eq!(thread_live(), heap0, "heap grew");
    });
}

#[test]
fn accept_future_dropped_in_flight_loses_no_connection() {
    let _serial = serial();
    on_core0(|| async {
        let mut listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr();
        for _ in 0..100 {
            let mut fut = Box::pin(listener.accept());
            assert!(poll_noop(fut.as_mut()).is_pending());
            yield_now().await;
            let client = StdStream::connect(addr).unwrap();
            drop(fut);
            let stream = time::timeout(Duration::from_secs(5), listener.accept())
                .await
                .expect("connection lost")
                .unwrap();
            assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        }
    });
}
