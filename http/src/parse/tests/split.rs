//! Property-style tests: however the input is split, the result is the same as all at once.

use super::chunked::decode_all;
use crate::parse::*;

/// A comparable summary of a parse result.
fn summary(bytes: &[u8]) -> Result<Option<String>, HeadError> {
    let mut slots = HeaderSlots::new();
    let head = parse_head(bytes, &mut slots, &HeadLimits::default())?;
    Ok(head.map(|head| {
        let fields: Vec<_> = head.headers.iter().map(|f| (f.name, f.value)).collect();
        format!(
            "{} {} {:?} {} {:?} {} {:?} {:?} {fields:?}",
            head.method,
            head.target,
            head.version,
            head.head_len,
            head.framing,
            head.keep_alive,
            head.expect,
            head.host
        )
    }))
}

#[test]
fn head_parses_the_same_from_every_prefix() {
    let requests: [&[u8]; 4] = [
        b"POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n\
          Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n\r\n",
        b"\r\n\r\nGET /index.html HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n",
        b"GET http://a/b HTTP/1.2\r\nHost: a\r\nAccept: */*\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    ];
    for request in requests {
        let whole = summary(request);
        let with_next = summary(&[request, b"GET / HTTP/1.1\r\n"].concat());
        assert_eq!(with_next, whole, "pipelined bytes change nothing");
        // Every prefix is incomplete until the head is, and an error never goes away.
        let complete_at = match &whole {
            Ok(_) => request.len(),
            Err(_) => (0..=request.len())
                .find(|&n| summary(&request[..n]).is_err())
                .expect("fails somewhere"),
        };
        for n in 0..request.len() {
            let expected = if n < complete_at {
                Ok(None)
            } else {
                whole.clone()
            };
            assert_eq!(summary(&request[..n]), expected, "prefix of {n} bytes");
        }
    }
}

#[test]
fn chunked_decodes_the_same_from_every_split() {
    let body: &[u8] = b"5;ext=1\r\nHello\r\n1\r\n,\r\nB \t;x\r\n 0123456789\r\n\
        0\r\nX-Trailer: yes\r\n\r\nnext request";
    let limits = ChunkLimits::default();
    let whole = decode_all(body, limits).expect("valid body");
    for split in 0..=body.len() {
        assert_eq!(decode_in_pieces(body, &[split]), whole, "split at {split}");
    }
    let every_byte: Vec<usize> = (1..body.len()).collect();
    assert_eq!(decode_in_pieces(body, &every_byte), whole);
}

/// Feeds `input` to a decoder as it would arrive, cut at `cuts`, carrying unconsumed bytes
/// over to the next piece like a connection's buffer would.
fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> (Vec<u8>, usize) {
    let mut decoder = ChunkedDecoder::new(ChunkLimits::default());
    let (mut body, mut consumed) = (Vec::new(), 0);
    let ends = cuts.iter().copied().chain([input.len()]);
    for end in ends {
        while !decoder.is_done() {
            let available = &input[consumed..end.max(consumed)];
            let decoded = decoder.decode(available).expect("valid body");
            body.extend_from_slice(&available[decoded.data]);
            consumed += decoded.consumed;
            if decoded.consumed == 0 {
                break;
            }
        }
    }
    assert!(decoder.is_done());
    (body, consumed)
}
