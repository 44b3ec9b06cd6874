//! Client faults against the `coreline` binary: a reset mid-response, a half-close after
//! the request, a disconnect during a chunked upload, during a file download and during a
//! TLS handshake, 10,000 of them in all, while another client keeps making requests. None of those requests may
//! fail, and afterwards the server's fd count and memory are back where they started.

#[path = "common/served.rs"]
mod served;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::socket::{setsockopt, sockopt};
use served::Served;

const EVENTS: usize = 10_000;
const WARM_UP: usize = 1_000;
const FILE_SIZE: usize = 1 << 20;

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(&stream.as_fd(), sockopt::Linger, &linger).unwrap();
    drop(stream);
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// A real TLS 1.3 ClientHello (recorded from a rustls client; the first byte is the
/// `tls_http` fuzz target's mode byte, which this test skips).
fn client_hello() -> Vec<u8> {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/client_hello_tls13");
    std::fs::read(seed).unwrap()[1..].to_vec()
}

/// One fault of kind `n % 7`; the TLS ones go to `tls`.
fn fault(addr: SocketAddr, tls: SocketAddr, hello: &[u8], n: usize) {
    if n % 7 >= 5 {
        // Mid-handshake: half a ClientHello then a reset, or a whole one then a FIN
        // without waiting for the server's answer.
        let mut s = connect(tls);
        if n % 7 == 5 {
            s.write_all(&hello[..hello.len() / 2]).unwrap();
            reset(s);
        } else {
            s.write_all(hello).unwrap();
            drop(s);
        }
        return;
    }
    let mut s = connect(addr);
    match n % 7 {
        0 => {
            // Reset after the first bytes of a 1 MiB response.
            s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).unwrap();
            reset(s);
        }
        1 => {
            // Half-close after the request: the response must still arrive in full.
            s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            assert!(all.starts_with(b"HTTP/1.1 200") && all.ends_with(b"Hello, World!"));
        }
        2 | 3 => {
            // Disconnect in the middle of a chunked upload: FIN, or a reset.
            s.write_all(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc",
            )
            .unwrap();
            if n % 7 == 2 {
                drop(s);
            } else {
                reset(s);
            }
        }
        _ => {
            // Disconnect during a file download without reading anything.
            s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            drop(s);
        }
    }
}

/// What the server holds open, by kind, and its resident memory.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Usage {
    /// Sockets: listeners and connections. Every fault's connection must be gone.
    sockets: usize,
    /// Pipe ends. The core's splice pipe is made when a file body first needs it, and
    /// dropped (to be made afresh on next use) when a reset leaves bytes in it, so it
    /// comes and goes: 0 or 2 on the one core (plus any pipe inherited from the test
    /// runner, such as cargo's jobserver).
    pipes: usize,
    /// Everything else: the io_uring and eventfd, std streams, the root directory and the
    /// open-file cache's files.
    other: usize,
    rss_kib: u64,
}

/// The server's open fds by kind and its resident memory.
fn usage(pid: u32) -> Usage {
    let mut u = Usage {
        sockets: 0,
        pipes: 0,
        other: 0,
        rss_kib: 0,
    };
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        // An fd closed between the listing and the readlink is simply not counted.
        let Ok(target) = std::fs::read_link(entry.unwrap().path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if target.starts_with("socket:") {
            u.sockets += 1;
        } else if target.starts_with("pipe:") {
            u.pipes += 1;
        } else {
            u.other += 1;
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    u.rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    u
}

/// Waits until the server has closed every connection it was serving.
///
/// Usually that takes milliseconds. But loopback drops packets when a CPU's input queue
/// (`net.core.netdev_max_backlog`, 1,000 by default and not settable per namespace) is
/// full, which a loaded CI box reaches: a dropped FIN is retransmitted, a dropped reset
/// never is, and the server then keeps that connection until one of its timeouts ends it
/// (the longest that applies here, the 30 s body read). So wait past those timeouts: a
/// connection the server really leaked never closes.
fn settled(pid: u32, sockets: usize) -> Usage {
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        let now = usage(pid);
        if now.sockets <= sockets || Instant::now() > end {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ten_thousand_client_faults_leave_no_trace() {
    let root = std::env::temp_dir().join(format!("coreline-faults-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("big.bin"), vec![7u8; FILE_SIZE]).unwrap();
    let certs = root.join("tls");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(["gen-cert", certs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let server = Served::start_tls(
        &certs.join("cert.pem"),
        &certs.join("key.pem"),
        &["--root", root.to_str().unwrap()],
        std::process::Stdio::null,
    );
    let (addr, tls, pid) = (server.addr, server.tls_addr.unwrap(), server.child.id());
    let hello = client_hello();

    // A well-behaved client on one keep-alive connection throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let steady = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut s = connect(addr);
            let mut served = 0u64;
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::Relaxed) {
                s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                    .expect("the steady client's request was refused");
                let n = s.read(&mut buf).expect("the steady client got no answer");
                assert!(
                    buf[..n].starts_with(b"HTTP/1.1 200"),
                    "steady client failed"
                );
                served += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            served
        })
    };

    let idle_sockets = usage(pid).sockets;
    for n in 0..WARM_UP {
        fault(addr, tls, &hello, n);
    }
    let before = settled(pid, idle_sockets + 1);
    for n in WARM_UP..WARM_UP + EVENTS {
        fault(addr, tls, &hello, n);
    }
    let after = settled(pid, before.sockets);
    stop.store(true, Ordering::Relaxed);
    let steady_served = steady.join().expect("the steady client saw a failure");
    let _ = std::fs::remove_dir_all(&root);

    eprintln!(
        "faults: {EVENTS} events; before {before:?}, after {after:?}; steady client served {steady_served}"
    );
    assert!(
        steady_served > 10,
        "the steady client was served throughout"
    );
    assert_eq!(
        after.sockets, before.sockets,
        "sockets: {before:?} -> {after:?}"
    );
    assert!(
        after.pipes.abs_diff(before.pipes) <= 2,
        "pipes beyond the one splice pipe: {before:?} -> {after:?}"
    );
    // The open-file cache holds at most one fd per file (there is one) on the one core.
    assert!(
        after.other <= before.other + 1 && after.other + 1 >= before.other,
        "files and other fds: {before:?} -> {after:?}"
    );
    // Pools and allocator caches may settle a little differently; a leak of even 100
    // bytes per event would show as ~1 MiB.
    assert!(
        after.rss_kib <= before.rss_kib + 512,
        "RSS grew from {} KiB to {} KiB over {EVENTS} faults",
        before.rss_kib,
        after.rss_kib
    );
}
