//! coreline-load's response parser (`bench/src/bin/coreline-load/response.rs`, compiled in
//! by path: it is self-contained), on arbitrary bytes. Shared by the `load_response` fuzz
//! target and `http/tests/fuzz_regressions.rs`.
//!
//! The first byte says whether the responses answer HEAD requests and where to cut; the
//! rest is the byte stream from a server. What must hold:
//! - the responses, the final flow (or error) and the end-of-stream verdict do not depend
//!   on how the stream was cut into receives (whole, byte by byte, in pieces), for streams
//!   within the parser's line limit;
//! - interim (1xx) responses are never reported; only the last response reported may
//!   close the connection, and a stream that ends `Closed` ends with one that does;
//! - a stream of well-formed responses made from the input (Content-Length, chunked with
//!   extensions and trailers, 204/304, 100 Continue, read-until-close last) is reported
//!   exactly: statuses in order, the closing one last.

use super::response::{Done, Flow, Parser};

/// Longest chunk line the parser accepts: longer streams may be refused only when cut.
const MAX_LINE: usize = 4096;

/// What a stream gave: the responses, then `Err`, or the flow and (if `More`) whether
/// end-of-stream then was clean.
type Parse = (Vec<Done>, Result<(Flow, bool), ()>);

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let head_only = mode % 2 == 1;
    let whole = parse(stream, head_only, |_| usize::MAX);
    reported_well(&whole);
    if stream.len() <= MAX_LINE {
        let bytewise = parse(stream, head_only, |_| 1);
        let cut = parse(stream, head_only, |i| {
            (usize::from(mode) * 7 + i * 13) % 53 + 1
        });
        assert_eq!(whole, bytewise, "whole vs byte by byte");
        assert_eq!(whole, cut, "whole vs pieces");
    }
    let (generated, expected) = responses(stream);
    let got = parse(&generated, false, |i| (usize::from(mode) + i * 5) % 41 + 1);
    let statuses: Vec<u16> = got.0.iter().map(|d| d.status).collect();
    assert_eq!(statuses, expected, "responses of a well-formed stream");
    assert!(got.1.is_ok(), "a well-formed stream refused");
    assert!(
        got.0.last().is_some_and(|d| d.close),
        "the last response closes"
    );
}

fn parse(stream: &[u8], head_only: bool, piece: impl Fn(usize) -> usize) -> Parse {
    let mut parser = Parser::new(head_only);
    let mut dones = Vec::new();
    let (mut at, mut step) = (0, 0);
    let mut flow = Flow::More;
    while at < stream.len() {
        let end = (at + piece(step).max(1)).min(stream.len());
        step += 1;
        match parser.feed(&stream[at..end], &mut |d| dones.push(d)) {
            Err(_) => return (dones, Err(())),
            Ok(f) => flow = f,
        }
        at = end;
        if flow == Flow::Closed {
            return (dones, Ok((flow, true)));
        }
    }
    let clean = parser.eof(&mut |d| dones.push(d));
    (dones, Ok((flow, clean)))
}

fn reported_well((dones, end): &Parse) {
    for (i, d) in dones.iter().enumerate() {
        assert!(
            !(100..200).contains(&d.status),
            "interim response reported: {d:?}"
        );
        assert!(d.status <= 999, "{d:?}");
        assert!(
            !d.close || i == dones.len() - 1,
            "response {i} of {} closed",
            dones.len()
        );
    }
    if let Ok((Flow::Closed, _)) = end {
        assert!(
            dones.last().is_some_and(|d| d.close),
            "Closed without a closing response"
        );
    }
}

/// Well-formed responses made from `input`, and the statuses the parser must report.
fn responses(input: &[u8]) -> (Vec<u8>, Vec<u16>) {
    const STATUSES: [u16; 8] = [200, 201, 204, 301, 304, 404, 500, 503];
    let mut out = Vec::new();
    let mut statuses = Vec::new();
    let mut parts = input.chunks(23).peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        let (&pick, body) = part.split_first().unwrap();
        let status = STATUSES[usize::from(pick) % STATUSES.len()];
        statuses.push(status);
        if pick & 0x10 != 0 {
            out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        out.extend_from_slice(format!("HTTP/1.1 {status} X\r\n").as_bytes());
        if last {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        let bodiless = status == 204 || status == 304;
        match (bodiless, pick >> 5) {
            (true, _) => out.extend_from_slice(b"\r\n"),
            (false, 0..=2) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            (false, 3..=5) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in body.chunks(7) {
                    out.extend_from_slice(format!("{:X};ext=1\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\nTrailer: x\r\n\r\n");
            }
            (false, _) if last => {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(body);
            }
            (false, _) => {
                out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
        }
    }
    if statuses.is_empty() {
        out.extend_from_slice(b"HTTP/1.0 200 OK\r\n\r\n");
        statuses.push(200);
    }
    (out, statuses)
}
