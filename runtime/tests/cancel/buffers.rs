//! Buffers of abandoned operations: a read dropped in flight and a SEND_ZC dropped before
//! its notification keep their buffers until the kernel is done with them.

use std::future::Future;
use std::io::Write;
use std::net::TcpListener as StdListener;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coreline_runtime::{core_stats, ops, time, yield_now};

use crate::alloc::thread_live;
use crate::harness::{localhost, on_core0, serial};
use crate::io::{drain_pipe, drain_socket, fill_socket, into_file, pipe_pair, set_sock_buf};
use crate::io::{stream_pair, with_dup};
use crate::probe::{poll_noop, settle};
use crate::tracked::{TrackLog, Tracked, MARK};

#[test]
fn read_abandoned_in_flight_keeps_its_buffer_until_the_kernel_is_done() {
    let _serial = serial();
    on_core0(|| async {
        let pairs = StdListener::bind(localhost()).unwrap();
        let (stream, mut peer) = stream_pair(&pairs).await;
        let (r, w) = pipe_pair();
        let (pipe_r, mut pipe_reader) = with_dup(r);
        let mut pipe_w = into_file(w);
        time::sleep(Duration::from_micros(1)).await; // creates the timer map's root node
        let mut heap0 = 0;
        // Rounds 0..4 warm up (both fds, with and without a prior ring entry).
        for round in 0..404_u32 {
            if round == 4 {
                settle(0).await;
                heap0 = thread_live();
            }
            let on_pipe = round % 2 == 1;
            let log = Arc::new(TrackLog::default());
            let buf = Tracked::for_read(4096, &log);
            let mut fut: Pin<Box<dyn Future<Output = (std::io::Result<usize>, Tracked)> + '_>> =
                if on_pipe {
                    Box::pin(ops::read_at(&pipe_r, buf, u64::MAX))
                } else {
                    Box::pin(stream.read(buf))
                };
            assert!(poll_noop(fut.as_mut()).is_pending());
            if round % 4 < 2 {
                yield_now().await; // the kernel has armed the read
            }
            drop(fut);
            assert_eq!(
                log.drops.load(Ordering::SeqCst),
                0,
                "buffer freed while the kernel may still write into it"
            );
            // Data arrives while the cancel is still queued: the abandoned read may take it,
            // writing into the buffer after its future is gone.
            let sent = 1000;
            if on_pipe {
                pipe_w.write_all(&[MARK; 1000]).unwrap();
            } else {
                peer.write_all(&[MARK; 1000]).unwrap();
            }
            settle(0).await;
            assert_eq!(
                log.drops.load(Ordering::SeqCst),
                1,
                "freed once, after the CQE"
            );
            let landed = log.marked.load(Ordering::SeqCst);
            let rest = if on_pipe {
                drain_pipe(&mut pipe_reader)
            } else {
                drain_socket(stream.as_raw_fd())
            };
            assert!(
                landed == 0 || landed == sent,
                "partial data in the buffer: {landed}"
            );
            assert_eq!(landed + rest, sent, "bytes lost");
            drop(log);
            if round >= 4 {
                assert_eq!(thread_live(), heap0, "round {round}: heap grew");
            }
        }
    });
}

#[test]
fn send_zc_abandoned_keeps_its_buffer_until_the_notification() {
    let _serial = serial();
    on_core0(|| async {
        if !coreline_runtime::ring_info().send_zc {
            eprintln!("kernel lacks SEND_ZC; skipped");
            return;
        }
        let pairs = StdListener::bind(localhost()).unwrap();
        let (stream, peer) = stream_pair(&pairs).await;
        set_sock_buf(stream.as_raw_fd(), libc::SO_SNDBUF, 4096);
        let mut still_owned_by_kernel = 0;
        for round in 0..100 {
            // Half the rounds the send waits for space (and is cancelled); the others it
            // sends part of the buffer at once, and the pages stay referenced by the socket
            // until the peer has the data: the buffer must outlive that too.
            if round % 2 == 0 {
                fill_socket(stream.as_raw_fd());
            }
            let log = Arc::new(TrackLog::default());
            let mut fut = Box::pin(stream.send_zc(Tracked::for_send(64 * 1024, &log)));
            assert!(poll_noop(fut.as_mut()).is_pending());
            yield_now().await;
            drop(fut);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                // The buffer lives exactly as long as the ring holds the op.
                let in_flight = core_stats().ops_in_flight;
                let dropped = log.drops.load(Ordering::SeqCst);
                assert_eq!(
                    dropped,
                    usize::from(in_flight == 0),
                    "buffer dropped {dropped} times with {in_flight} ops in flight"
                );
                if in_flight == 0 {
                    break;
                }
                still_owned_by_kernel += 1;
                drain_socket(peer.as_raw_fd());
                let _ = time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
                assert!(Instant::now() < deadline, "SEND_ZC never finished");
            }
            drain_socket(peer.as_raw_fd());
        }
        assert!(
            still_owned_by_kernel > 0,
            "no round dropped a send in flight"
        );
    });
}
