//! Files that are not plain or not steady: FIFOs (never opened, never a hang) and a file
//! cut short while it is being sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::{curl, raw, serve};

#[test]
fn fifo_does_not_hang_a_worker() {
    let s = serve("fifo");
    let (out, took) = raw(
        s.served.addr,
        b"GET /fifo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(curl(&["-w", "%{http_code}", "-o", "/dev/null", &s.url("/f1.bin")]) == "200");
}

/// A request for a FIFO must not open it for reading: that would release a writer
/// blocked in `open(O_WRONLY)` (and let it write into whatever reads the FIFO next).
#[test]
fn a_fifo_writer_stays_blocked_while_the_fifo_is_requested() {
    let s = serve("fifo-writer");
    let fifo = s.root.join("fifo");
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let opened = std::fs::OpenOptions::new().write(true).open(&writer_path);
        let _ = opened_tx.send(opened.is_ok());
    });
    std::thread::sleep(Duration::from_millis(100)); // the writer is in open(2) by now
    for path in ["/fifo", "/fifo"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (out, _) = raw(s.served.addr, request.as_bytes());
        assert!(
            out.starts_with("HTTP/1.1 404") || out.starts_with("HTTP/1.1 400"),
            "{out}"
        );
    }
    let released = opened_rx.recv_timeout(Duration::from_millis(300));
    // Release the writer (a reader of our own) before asserting, so the thread ends.
    let reader = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    writer.join().unwrap();
    let _ = nix::unistd::close(reader);
    assert!(
        released.is_err(),
        "the server opened the FIFO: its writer's open returned"
    );
}

#[test]
fn a_file_that_shrinks_mid_send_closes_the_connection() {
    let s = serve("shrink");
    let path = s.root.join("shrinking.bin");
    let len = 64u64 << 20;
    std::fs::write(&path, vec![b'x'; len as usize]).unwrap();
    let mut c = TcpStream::connect(s.served.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = c.read(&mut buf).unwrap() as u64;
    // The server is now blocked on the full socket; cut the file short under it.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) => panic!("connection not closed: {e}"),
        }
    }
    assert!(got < len, "fewer bytes than announced, then EOF ({got})");
}
