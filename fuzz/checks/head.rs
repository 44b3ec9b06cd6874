//! Properties of request-head parsing with body framing, checked on arbitrary bytes.
//! Shared by the `request_head` fuzz target and `http/tests/fuzz_regressions.rs`.
//!
//! Besides "never panics", a parse must not depend on how the bytes arrived: a complete
//! head is reported as incomplete (never as an error, never as another head) for every
//! shorter prefix, and a chunked body decodes to the same bytes and the same outcome
//! whether it is fed whole, byte by byte, or in pieces cut where the input says.

use coreline_http::__fuzz::parse::{
    parse_head, ChunkLimits, ChunkedDecoder, HeadLimits, HeaderSlots, RequestFraming,
};

/// What parsing a buffer gave, reduced to comparable values.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Incomplete: more bytes needed.
    Partial,
    /// Refused with this status.
    Refused(u16),
    /// A head of this many bytes with this framing.
    Head {
        len: usize,
        framing: RequestFraming,
        keep_alive: bool,
    },
}

/// Parses `buf` with the default limits.
pub fn outcome(buf: &[u8]) -> Outcome {
    let mut slots = HeaderSlots::new();
    match parse_head(buf, &mut slots, &HeadLimits::default()) {
        Ok(None) => Outcome::Partial,
        Err(e) => Outcome::Refused(e.status.as_u16()),
        Ok(Some(head)) => {
            assert!(head.head_len <= buf.len(), "head longer than its input");
            Outcome::Head {
                len: head.head_len,
                framing: head.framing,
                keep_alive: head.keep_alive,
            }
        }
    }
}

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let whole = outcome(data);
    if let Outcome::Head { len, framing, .. } = whole {
        for cut in prefix_cuts(len) {
            let part = outcome(&data[..cut]);
            assert_eq!(
                part,
                Outcome::Partial,
                "prefix of {cut}/{len} bytes of a valid head"
            );
        }
        if framing == RequestFraming::Chunked {
            check_chunked(&data[len..]);
        }
    }
    // The body decoder on its own, from the start of the input.
    check_chunked(data);
}

/// A few prefix lengths below `len`: every one for short heads, a spread for long ones.
fn prefix_cuts(len: usize) -> Vec<usize> {
    if len <= 64 {
        (0..len).collect()
    } else {
        let mut cuts: Vec<usize> = (0..len).step_by(len / 32 + 1).collect();
        cuts.extend([len - 1, len - 2, len / 2]);
        cuts
    }
}

/// The body bytes, the bytes consumed, and whether it ended (or the error status).
type Decoding = Result<(Vec<u8>, usize, bool), u16>;

fn decode_in_pieces(input: &[u8], piece: impl Fn(usize) -> usize) -> Decoding {
    let mut decoder = ChunkedDecoder::new(ChunkLimits::default());
    let (mut body, mut at, mut step) = (Vec::new(), 0, 0);
    while at < input.len() && !decoder.is_done() {
        let end = (at + piece(step).max(1)).min(input.len());
        step += 1;
        // Offer everything from `at` to `end`, as a reader would after a receive.
        let mut offered = at;
        loop {
            let d = decoder
                .decode(&input[offered..end])
                .map_err(|e| e.status.as_u16())?;
            body.extend_from_slice(&input[offered..end][d.data.clone()]);
            offered += d.consumed;
            if d.consumed == 0 || offered == end || decoder.is_done() {
                break;
            }
        }
        at = offered;
    }
    Ok((body, at, decoder.is_done()))
}

fn check_chunked(input: &[u8]) {
    let whole = decode_in_pieces(input, |_| usize::MAX);
    let bytewise = decode_in_pieces(input, |_| 1);
    let seed = input.first().copied().unwrap_or(7) as usize;
    let cut = decode_in_pieces(input, |i| (seed * 31 + i * 17) % 97 + 1);
    assert_eq!(whole, bytewise, "chunked: whole vs byte by byte");
    assert_eq!(whole, cut, "chunked: whole vs pieces");
}
