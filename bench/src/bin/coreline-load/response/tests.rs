//! Parser tests: every framing, and every split of a pipelined stream into two chunks and
//! into single bytes, must give the same responses.

use super::*;

/// Pipelined responses of every framing; the last one closes.
const STREAM: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n\
HTTP/1.1 304 Not Modified\r\n\r\n\
HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok\
HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye\
HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nignored";

fn expected() -> Vec<Done> {
    let d = |status, close| Done { status, close };
    vec![
        d(200, false),
        d(404, false),
        d(200, false),
        d(204, false),
        d(304, false),
        d(200, false),
        d(503, true),
    ]
}

/// Feeds `chunks` and returns the responses and the last flow.
fn run(chunks: &[&[u8]]) -> (Vec<Done>, Flow) {
    let mut p = Parser::new(false);
    let mut out = Vec::new();
    let mut flow = Flow::More;
    for c in chunks {
        flow = p.feed(c, &mut |d| out.push(d)).expect("parse");
        if flow == Flow::Closed {
            break;
        }
    }
    (out, flow)
}

#[test]
fn whole_stream() {
    assert_eq!(run(&[STREAM]), (expected(), Flow::Closed));
}

#[test]
fn every_split_point() {
    for at in 0..=STREAM.len() {
        let (a, b) = STREAM.split_at(at);
        assert_eq!(run(&[a, b]), (expected(), Flow::Closed), "split at {at}");
    }
}

#[test]
fn byte_by_byte() {
    let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(run(&bytes), (expected(), Flow::Closed));
}

#[test]
fn until_close_body_ends_at_eof() {
    let mut p = Parser::new(false);
    let mut out = Vec::new();
    let flow = p.feed(b"HTTP/1.1 200 OK\r\n\r\nsome body", &mut |d| out.push(d));
    assert_eq!(flow, Ok(Flow::More));
    assert!(out.is_empty());
    assert!(p.eof(&mut |d| out.push(d)));
    assert_eq!(
        out,
        vec![Done {
            status: 200,
            close: true
        }]
    );
}

#[test]
fn cut_short_is_not_clean() {
    let mut p = Parser::new(false);
    let mut out = Vec::new();
    p.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
        &mut |d| out.push(d),
    )
    .unwrap();
    assert!(!p.eof(&mut |d| out.push(d)));
    assert!(out.is_empty());
    let mut p = Parser::new(false);
    assert!(
        p.eof(&mut |d| out.push(d)),
        "EOF between responses is clean"
    );
}

#[test]
fn head_responses_have_no_body() {
    let mut p = Parser::new(true);
    let mut out = Vec::new();
    let two = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    p.feed(two, &mut |d| out.push(d)).unwrap();
    assert_eq!(out.len(), 2);
    assert!(p.idle());
}

#[test]
fn malformed_input_is_an_error() {
    let bad: &[&[u8]] = &[
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"NOTHTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ];
    for input in bad {
        let mut p = Parser::new(false);
        let r = p.feed(input, &mut |_| {});
        assert!(
            r.is_err(),
            "{:?} gave {r:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut p = Parser::new(false);
    let huge = vec![b'a'; MAX_HEAD + 10];
    p.feed(b"HTTP/1.1 200 OK\r\nX: ", &mut |_| {}).unwrap();
    assert!(
        p.feed(&huge, &mut |_| {}).is_err(),
        "an endless head is refused"
    );
}
