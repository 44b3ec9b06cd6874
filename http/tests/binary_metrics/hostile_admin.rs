//! `coreline stats` against admin servers that misbehave: an endless body, terminal
//! escapes in a label, the status line and a malformed line.

use std::net::{SocketAddr, TcpListener};

use crate::run;

/// A one-connection HTTP server that answers anything with `response` (then `tail`
/// repeated until the peer goes away, if given). Returns its address.
fn fake_admin(response: Vec<u8>, tail: Option<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = conn.read(&mut request);
        if conn.write_all(&response).is_err() {
            return;
        }
        if let Some(tail) = tail {
            while conn.write_all(&tail).is_ok() {}
        }
    });
    addr
}

#[test]
fn stats_reads_a_bounded_response_and_prints_no_terminal_escapes() {
    let endless = fake_admin(
        b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
        Some(vec![b'#'; 64 * 1024]),
    );
    let out = run(&["stats", &format!("http://{endless}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("more than"), "{err}");

    let body = "coreline_http_service_seconds_count{core=\"\x1b[2J\x1b]2;owned\x07\"} 3\n";
    let hostile = fake_admin(
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{body}").into_bytes(),
        None,
    );
    let out = run(&["stats", &format!("http://{hostile}"), "--count", "1"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !printed.contains('\x1b') && !printed.contains('\x07'),
        "{printed:?}"
    );
    assert!(printed.contains("\\u{1b}[2J"), "{printed}");

    let bad_status = fake_admin(b"HTTP/1.1 500 \x1b[2Jboom\r\n\r\n".to_vec(), None);
    let out = run(&["stats", &format!("http://{bad_status}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains('\x1b') && err.contains("500"), "{err:?}");
    let bad_line = fake_admin(
        b"HTTP/1.1 200 OK\r\n\r\n\x1b[31mnot metrics\x1b[0m\n".to_vec(),
        None,
    );
    let out = run(&["stats", &format!("http://{bad_line}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        !err.contains('\x1b') && err.contains("malformed"),
        "{err:?}"
    );
}
