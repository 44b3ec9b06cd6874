//! Chunked body decoding rules, on raw bytes.

use crate::parse::*;

/// Decodes `input` in one piece: the body data and the bytes consumed, or the error reason.
pub(super) fn decode_all(input: &[u8], limits: ChunkLimits) -> Result<(Vec<u8>, usize), String> {
    let mut decoder = ChunkedDecoder::new(limits);
    let (mut body, mut at) = (Vec::new(), 0);
    while !decoder.is_done() {
        let decoded = decoder.decode(&input[at..]).map_err(|e| e.to_string())?;
        if decoded.consumed == 0 {
            return Err("incomplete".into());
        }
        body.extend_from_slice(&input[at..][decoded.data]);
        at += decoded.consumed;
    }
    Ok((body, at))
}

fn decode(input: &[u8]) -> Result<(Vec<u8>, usize), String> {
    decode_all(input, ChunkLimits::default())
}

fn assert_rejected(input: &[u8]) {
    let result = decode(input);
    assert!(
        result.as_ref().is_err_and(|e| e.starts_with("400")),
        "{:?}: expected a 400, got {result:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn decodes_chunks_and_stops_at_the_end() {
    let input = b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1";
    assert_eq!(decode(input), Ok((b"Wikipedia".to_vec(), input.len() - 14)));
}

#[test]
fn sizes_are_hex_of_any_case_with_leading_zeros() {
    let input = b"A\r\n0123456789\r\n0000000000000000000b\r\nabcdefghijk\r\n00\r\n\r\n";
    let (body, _) = decode(input).expect("valid");
    assert_eq!(body, b"0123456789abcdefghijk");
    assert_eq!(decode(b"1a\r\n").unwrap_err(), "incomplete");
}

#[test]
fn sizes_that_are_not_plain_hex_are_400() {
    for input in [
        &b"0x4\r\nWiki\r\n0\r\n\r\n"[..],
        b"+4\r\nWiki\r\n0\r\n\r\n",
        b"-4\r\nWiki\r\n0\r\n\r\n",
        b" 4\r\nWiki\r\n0\r\n\r\n",
        b"4 \r\nWiki\r\n0\r\n\r\n",
        b"\r\nWiki\r\n0\r\n\r\n",
        b";x\r\n0\r\n\r\n",
        b"g\r\n",
        b"4\r\nWiki\r\n0 \r\n\r\n",
    ] {
        assert_rejected(input);
    }
}

#[test]
fn size_overflow_is_400() {
    assert_rejected(b"10000000000000000\r\n");
    let mut decoder = ChunkedDecoder::new(ChunkLimits::default());
    let decoded = decoder
        .decode(b"ffffffffffffffff\r\n")
        .expect("fits in u64");
    assert_eq!(decoded.consumed, 18);
}

#[test]
fn extensions_are_ignored_but_bounded() {
    let input = b"4;a=b;c=\"d e\"\r\nWiki\r\n5 ;x\r\npedia\r\n0\t; last\r\n\r\n";
    assert_eq!(decode(input).expect("valid").0, b"Wikipedia");
    let limits = ChunkLimits {
        max_line: 8,
        max_trailers: 16,
        ..ChunkLimits::default()
    };
    assert!(decode_all(b"4;abcd\r\nWiki\r\n0\r\n\r\n", limits).is_ok());
    assert!(decode_all(b"4;abcde\r\nWiki\r\n0\r\n\r\n", limits).is_err());
    assert_rejected(b"4;a\x01\r\nWiki\r\n0\r\n\r\n");
    assert_rejected(b"4;a\nb\r\nWiki\r\n0\r\n\r\n");
}

#[test]
fn extensions_are_bounded_over_the_whole_body() {
    // Each line is short, but together they carry more extension bytes than allowed.
    let limits = ChunkLimits {
        max_extensions: 10,
        ..ChunkLimits::default()
    };
    assert!(decode_all(b"1;abcd\r\nW\r\n1;abcd\r\nW\r\n0\r\n\r\n", limits).is_ok());
    let many = b"1;abcd\r\nW\r\n1;abcd\r\nW\r\n1;a\r\nW\r\n0\r\n\r\n";
    assert!(decode_all(many, limits).is_err());
    // The default bounds a body of many one-byte chunks, each with an extension.
    let mut body = Vec::new();
    for _ in 0..2000 {
        body.extend_from_slice(b"1;trickle=yes\r\nx\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    assert!(decode_all(&body, ChunkLimits::default()).is_err());
}

#[test]
fn line_endings_must_be_crlf() {
    for input in [
        &b"4\nWiki\r\n0\r\n\r\n"[..],
        b"4\rWiki\r\n0\r\n\r\n",
        b"4\r\nWiki\n0\r\n\r\n",
        b"4\r\nWiki\r0\r\n\r\n",
        b"4\r\nWiki\r\n0\n\r\n",
        b"4\r\nWiki\r\n0\r\n\n",
        b"4\r\nWiki\r\n0\r\n\r\r",
    ] {
        assert_rejected(input);
    }
}

#[test]
fn data_longer_than_its_size_is_400() {
    assert_rejected(b"4\r\nWikip\r\n0\r\n\r\n");
    assert_rejected(b"4\r\nWiki \r\n0\r\n\r\n");
}

#[test]
fn trailers_are_checked_and_bounded() {
    let input = b"4\r\nWiki\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n";
    assert_eq!(decode(input), Ok((b"Wiki".to_vec(), input.len())));
    for trailers in [
        &b"X-A : b\r\n"[..],
        b"X-A: b\r\n folded\r\n",
        b"NoColon\r\n",
        b": empty-name\r\n",
        b"X-A: nul\0\r\n",
        b"X-A: b\n",
    ] {
        assert_rejected(&[&b"0\r\n"[..], trailers, b"\r\n"].concat());
    }
    let limits = ChunkLimits {
        max_line: 8,
        max_trailers: 9,
        ..ChunkLimits::default()
    };
    assert!(decode_all(b"0\r\nX: 12\r\n\r\n", limits).is_ok());
    assert!(decode_all(b"0\r\nX: 123\r\n\r\n", limits).is_err());
}

#[test]
fn reports_need_for_more_input_and_stays_done() {
    let mut decoder = ChunkedDecoder::new(ChunkLimits::default());
    let need_more = Decoded {
        consumed: 0,
        data: 0..0,
    };
    assert_eq!(decoder.decode(b""), Ok(need_more.clone()));
    assert_eq!(decoder.decode(b"0\r\n\r\n").map(|d| d.consumed), Ok(5));
    assert!(decoder.is_done());
    assert_eq!(decoder.decode(b"more"), Ok(need_more));
}
