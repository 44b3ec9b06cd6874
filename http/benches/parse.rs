//! Head parsing and chunked decoding: the per-request cost of the parse layer.
//!
//! `cargo bench -p coreline-http --bench parse`

use std::hint::black_box;

use coreline_http::__fuzz::parse::{
    parse_head, ChunkLimits, ChunkedDecoder, HeadLimits, HeaderSlots, RequestHead,
};
use criterion::{Criterion, Throughput};

/// What wrk sends for TechEmpower's plaintext test.
const WRK: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

/// A typical browser navigation: 12 fields, ~600 bytes.
const BROWSER: &[u8] = b"GET /articles/2024/parsing-http?page=2&sort=new HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/articles/2024/\r\n\
Connection: keep-alive\r\n\
Cookie: session=4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a; theme=dark; consent=yes\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\r\n";

fn parse_heads(c: &mut Criterion) {
    let limits = HeadLimits::default();
    let mut group = c.benchmark_group("parse_head");
    for (name, request) in [("wrk", WRK), ("browser", BROWSER)] {
        group.throughput(Throughput::Bytes(request.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut slots = HeaderSlots::new();
                let head = parse_head(black_box(request), &mut slots, &limits);
                summarize(head.ok().flatten())
            })
        });
    }
    group.finish();
}

/// Uses the fields a connection would, so none of the work is optimized away.
fn summarize(head: Option<RequestHead<'_, '_>>) -> usize {
    head.map_or(0, |head| {
        head.head_len + usize::from(head.keep_alive) + head.headers.len() + head.target.len()
    })
}

fn decode_chunked(c: &mut Criterion) {
    const CHUNK: usize = 4 * 1024;
    let mut body = Vec::new();
    for _ in 0..16 {
        body.extend_from_slice(format!("{CHUNK:x}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b'x', CHUNK));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(16 * CHUNK as u64));
    group.bench_function("64KiB_in_4KiB_chunks", |b| {
        b.iter(|| {
            let mut decoder = ChunkedDecoder::new(ChunkLimits::default());
            let (mut at, mut data) = (0, 0);
            while !decoder.is_done() {
                let decoded = decoder.decode(black_box(&body[at..])).expect("valid body");
                data += decoded.data.len();
                at += decoded.consumed;
            }
            data
        })
    });
    group.finish();
}

// By hand rather than `criterion_main!`, whose generated functions have no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    parse_heads(&mut criterion);
    decode_chunked(&mut criterion);
    criterion.final_summary();
}
