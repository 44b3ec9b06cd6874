//! The chunked request-body decoder (`parse::ChunkedDecoder`), with chunk extensions and
//! trailer fields, on arbitrary bytes. Shared by the `chunked_body` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! The first byte picks the limits (the defaults, or small ones so the limit paths run);
//! the rest is fed as a body. What must hold:
//! - every `decode` call uses at most its input, returns data inside what it used and
//!   ending where it stopped, and uses nothing once done; the body is never longer than
//!   the bytes used, and a finished body ends in CRLF;
//! - the outcome does not depend on how the input was split (whole, byte by byte, in
//!   pieces the input picks);
//! - larger limits accept whatever smaller ones accept, with the same result;
//! - the input itself, encoded as chunks cut where it says, with extensions and trailers
//!   made of its own bytes, decodes back to exactly itself and stops at the end of the
//!   encoding.

use coreline_http::__fuzz::parse::{ChunkLimits, ChunkedDecoder};

/// The body bytes, the bytes consumed, and whether it ended (or the error status).
pub type Decoding = Result<(Vec<u8>, usize, bool), u16>;

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let Some((&config, input)) = data.split_first() else {
        return;
    };
    let limits = if config % 2 == 0 {
        ChunkLimits::default()
    } else {
        ChunkLimits {
            max_line: 1 + usize::from(config >> 1) % 24,
            max_trailers: 1 + usize::from(config >> 3) % 48,
            max_extensions: 1 + usize::from(config >> 5) % 64,
        }
    };
    let whole = decode_in_pieces(input, limits, |_| usize::MAX);
    let bytewise = decode_in_pieces(input, limits, |_| 1);
    let cut = decode_in_pieces(input, limits, |i| {
        (usize::from(config) * 31 + i * 17) % 97 + 1
    });
    assert_eq!(whole, bytewise, "whole vs byte by byte");
    assert_eq!(whole, cut, "whole vs pieces");
    if let Ok((body, consumed, done)) = &whole {
        assert!(body.len() <= *consumed && *consumed <= input.len());
        if *done {
            assert!(input[..*consumed].ends_with(b"\r\n"), "ended without CRLF");
        }
        let roomy = decode_in_pieces(input, ChunkLimits::default(), |_| usize::MAX);
        assert_eq!(roomy, whole, "larger limits changed an accepted body");
    }
    round_trip(input, config);
}

/// Decodes `input` offered in pieces of `piece(step)` bytes, as a reader would after each
/// receive, checking each call's result.
pub fn decode_in_pieces(
    input: &[u8],
    limits: ChunkLimits,
    piece: impl Fn(usize) -> usize,
) -> Decoding {
    let mut decoder = ChunkedDecoder::new(limits);
    let (mut body, mut at, mut step) = (Vec::new(), 0, 0);
    while at < input.len() && !decoder.is_done() {
        let end = (at + piece(step).max(1)).min(input.len());
        step += 1;
        let mut offered = at;
        loop {
            let window = &input[offered..end];
            let d = decoder.decode(window).map_err(|e| e.status.as_u16())?;
            assert!(d.consumed <= window.len(), "used more than offered");
            assert!(
                d.data.start <= d.data.end && d.data.end <= d.consumed,
                "{d:?}"
            );
            assert!(
                d.data.is_empty() || d.data.end == d.consumed,
                "{d:?}: data not last"
            );
            body.extend_from_slice(&window[d.data.clone()]);
            offered += d.consumed;
            if d.consumed == 0 || offered == end || decoder.is_done() {
                break;
            }
        }
        at = offered;
    }
    if decoder.is_done() {
        let after = decoder
            .decode(b"0\r\n\r\n")
            .map_err(|e| e.status.as_u16())?;
        assert_eq!(
            (after.consumed, after.data.len()),
            (0, 0),
            "used bytes after the end"
        );
    }
    Ok((body, at, decoder.is_done()))
}

/// `body` chunked by sizes the input picks, with extensions and trailers made of its bytes.
fn encode(body: &[u8], seed: u8) -> Vec<u8> {
    let text = |b: u8| {
        if b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80 {
            b
        } else {
            b'x'
        }
    };
    let token = |b: u8| {
        if b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b) {
            b
        } else {
            b't'
        }
    };
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0usize);
    while at < body.len() {
        let len = ((usize::from(seed) + 1) * (i + 3) * 7 % 61 + 1).min(body.len() - at);
        let upper = i % 2 == 1;
        out.extend_from_slice(
            if upper {
                format!("{len:X}")
            } else {
                format!("{len:x}")
            }
            .as_bytes(),
        );
        if (usize::from(seed) + i) % 3 == 0 {
            out.extend_from_slice(if i % 2 == 0 { b" \t;" } else { b";" });
            out.extend(body[at..at + len].iter().take(12).map(|&b| text(b)));
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body[at..at + len]);
        out.extend_from_slice(b"\r\n");
        at += len;
        i += 1;
    }
    out.extend_from_slice(b"0\r\n");
    for field in body.chunks(9).take(usize::from(seed % 4)) {
        out.push(b'X');
        out.extend(field.iter().take(4).map(|&b| token(b)));
        out.push(b':');
        out.extend(field.iter().skip(4).map(|&b| text(b)));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn round_trip(body: &[u8], seed: u8) {
    let mut encoded = encode(body, seed);
    let len = encoded.len();
    encoded.extend_from_slice(b"GET / HTTP/1.1\r\n");
    for piece in [usize::MAX, 1, usize::from(seed % 13) + 2] {
        let got = decode_in_pieces(&encoded, ChunkLimits::default(), |_| piece);
        assert_eq!(
            got,
            Ok((body.to_vec(), len, true)),
            "round trip in pieces of {piece}"
        );
    }
}
