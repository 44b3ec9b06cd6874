//! 1,000 connections downloading a 10 MiB file through a 4 KiB receive window, reading a
//! few bytes now and then, with more requests pipelined behind the download: their tasks
//! wait in the file's send while those requests arrive. A fresh client's 200 requests all
//! succeed (their p99 is printed beside the one before the attack; see the end of the test
//! for why it is not asserted), and the ring keeps more than half its provided buffers free.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/stalled.rs"]
mod stalled;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coreline_http::static_files::StaticFiles;
use coreline_http::Server;
use coreline_runtime::Cores;

const READERS: usize = 1_000;
const FRESH_REQUESTS: usize = 200;
/// Requests pipelined behind each download: eight provided buffers' worth.
const PIPELINED: usize = 32 * 1024;

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
    stop.store(true, Ordering::Relaxed);
    drop(trickle.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let attacked = attacked.expect("every fresh request is answered during the attack");

    let (before, during) = (stalled::p99(&baseline), stalled::p99(&attacked));
    eprintln!(
        "fresh client p99: {before} µs before, {during} µs during the attack \
         (max {} µs); ring buffers in use at most {max_in_use} of {total}",
        attacked[attacked.len() - 1]
    );
    assert!(
        max_in_use < total / 2,
        "slow readers held {max_in_use} of {total} provided buffers"
    );
    // The fresh client's p99 is printed, not asserted: with 1,000 downloads each holding
    // megabytes in its socket's send queue, the kernel enters TCP memory pressure
    // (`TcpExtTCPMemoryPressures`) and a fresh connection's sends can wait on that, for
    // hundreds of ms on a loaded machine (seen in CI: 243 ms), whatever the server does
    // with its buffers. Bounding what a slow reader may queue in the kernel is the open
    // part of this attack; this test holds the server to what it controls: the provided
    // buffers stay free and every fresh request is answered.
}
