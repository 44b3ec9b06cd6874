//! 1,000 connections downloading a 10 MiB file through a 4 KiB receive window, reading a
//! few bytes now and then, with more requests pipelined behind the download: their tasks
//! wait in the file's send while those requests arrive. The ring keeps more than half its
//! provided buffers free; the kernel send queues of the server's sockets stay bounded
//! (the server's default `TCP_NOTSENT_LOWAT`: a download queues about 128 KiB; without
//! it each socket's queue grows to megabytes, 1,000 of them reach the host's `tcp_mem`
//! limit, and the TCP memory pressure delays every connection by hundreds of ms); and a
//! fresh client's 200 requests all succeed with a p99 near the one it had before the
//! attack.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/send_queues.rs"]
mod send_queues;
#[path = "common/stalled.rs"]
mod stalled;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coreline_http::static_files::StaticFiles;
use coreline_http::{Builder, Server};
use coreline_runtime::Cores;

const READERS: usize = 1_000;
const FRESH_REQUESTS: usize = 200;
/// Requests pipelined behind each download: eight provided buffers' worth.
const PIPELINED: usize = 32 * 1024;

/// The most the server's sockets may hold in their send queues in all during the attack:
/// per download, twice the not-sent low-water mark. The kernel checks the mark before it
/// starts each new segment, so one send can pass it by up to a segment (64 KiB on
/// loopback); the 4 KiB window in flight adds the rest. Without the mark a loopback
/// socket's send buffer grows to about 4 MiB, and 1,000 of them fill up to the host's
/// `tcp_mem` limit (gigabytes).
const QUEUED_BOUND: u64 = READERS as u64 * 2 * Builder::DEFAULT_NOTSENT_LOWAT as u64;

#[test]
fn slow_file_readers_leave_the_receive_buffers_to_others() {
    coreline_http::raise_fd_limit().unwrap();
    let dir = std::env::temp_dir().join(format!("coreline-slow-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: Vec<u8> = (0..10 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(dir.join("f10M.bin"), file).unwrap();
    let files = StaticFiles::new(&dir).unwrap();
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .metrics(true)
        .build(move || {
            let files = files.clone();
            move |req: http::Request<coreline_http::Body>| {
                let files = files.clone();
                async move {
                    if req.uri().path() == "/plaintext" {
                        common::test_handler(req).await
                    } else {
                        files.serve(req).await
                    }
                }
            }
        })
        .expect("build server");
    let server = common::run_on_thread(server);
    let baseline = stalled::fresh_latencies(server.addr, "/plaintext", FRESH_REQUESTS).unwrap();
    let host_pages_before = send_queues::host_tcp_mem_pages().unwrap_or(0);

    let queues = send_queues::QueueWatch::start(server.addr.port());
    let mut readers = stalled::connect_small_window(server.addr, READERS);
    let sent = stalled::pipeline_without_reading(&mut readers, "/f10M.bin", PIPELINED);
    assert!(
        sent >= READERS * PIPELINED / 2,
        "the readers sent only {sent} bytes"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = stalled::trickle_reads(readers, 16, Duration::from_secs(1), stop.clone());

    let watch = stalled::BufferWatch::start(server.handle.clone());
    let attacked = stalled::fresh_latencies(server.addr, "/plaintext", FRESH_REQUESTS);
    let (max_in_use, total) = watch.stop();
    let queued = queues.stop();
    stop.store(true, Ordering::Relaxed);
    drop(trickle.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let attacked = attacked.expect("every fresh request is answered during the attack");

    let (before, during) = (stalled::p99(&baseline), stalled::p99(&attacked));
    eprintln!(
        "fresh client p99: {before} µs before, {during} µs during the attack \
         (max {} µs); ring buffers in use at most {max_in_use} of {total}; send queues \
         at most {} KiB over {} sockets (bound {} KiB); host TCP memory {} pages before, \
         at most {} during",
        attacked[attacked.len() - 1],
        queued.bytes / 1024,
        queued.sockets,
        QUEUED_BOUND / 1024,
        host_pages_before,
        queued.host_pages,
    );
    assert!(
        max_in_use < total / 2,
        "slow readers held {max_in_use} of {total} provided buffers"
    );
    // The measurement saw the attack: every download's socket, each with its queue filled
    // to the mark or so (the readers take 16 bytes a second).
    assert!(
        queued.sockets >= READERS && queued.bytes >= READERS as u64 * 16 * 1024,
        "the attack queued only {} bytes over {} sockets",
        queued.bytes,
        queued.sockets
    );
    assert!(
        queued.bytes <= QUEUED_BOUND,
        "the slow readers' sockets queued {} KiB in the kernel (bound {} KiB)",
        queued.bytes / 1024,
        QUEUED_BOUND / 1024
    );
    // Ten times the p99 before the attack, or 50 ms: room for a loaded 2-core machine
    // (the readers' thread and the server share it); TCP memory pressure showed 243 ms.
    let bound = (10 * before).max(50_000);
    assert!(
        during <= bound,
        "fresh client p99 {during} µs during the attack (before: {before} µs; bound {bound} µs)"
    );
}
