//! Response encoding and the `Date` cache: what the server spends per response outside
//! the kernel. `cargo bench -p coreline-http --bench encode`

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::StatusCode;

use coreline_http::__fuzz::date::{self, DateCache};
use coreline_http::__fuzz::encode::{self, Persistence, ResponseFraming};

const DATE: &[u8; date::DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";
/// The `Server` value the `coreline` binary sends.
const SERVER: Option<&[u8]> = Some(b"coreline");

fn encoding(c: &mut Criterion) {
    let mut plaintext = HeaderMap::new();
    plaintext.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    let mut several = plaintext.clone();
    for (n, v) in [
        ("cache-control", "no-cache"),
        ("x-request-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("vary", "accept-encoding"),
        ("etag", "\"33a64df551425fcc55e4d42a148795d9f25f89d4\""),
    ] {
        several.insert(
            http::HeaderName::from_static(n),
            HeaderValue::from_static(v),
        );
    }
    let mut out = Vec::with_capacity(64 * 1024);
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("plaintext head + 13 B body", |b| {
        b.iter(|| {
            out.clear();
            encode::response_head(
                &mut out,
                StatusCode::OK,
                SERVER,
                black_box(&plaintext),
                ResponseFraming::Length(13),
                Persistence::KeepAlive,
                DATE,
            );
            out.extend_from_slice(b"Hello, World!");
            black_box(out.len())
        })
    });
    group.bench_function("404 head, 5 fields, close", |b| {
        b.iter(|| {
            out.clear();
            encode::response_head(
                &mut out,
                StatusCode::NOT_FOUND,
                SERVER,
                black_box(&several),
                ResponseFraming::Length(1234),
                Persistence::Close,
                DATE,
            );
            black_box(out.len())
        })
    });
    group.bench_function("error response", |b| {
        b.iter(|| {
            out.clear();
            encode::error_response(
                &mut out,
                StatusCode::BAD_REQUEST,
                SERVER,
                "bad header field",
                DATE,
            );
            black_box(out.len())
        })
    });
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 pipelined plaintext responses", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..16 {
                encode::response_head(
                    &mut out,
                    StatusCode::OK,
                    SERVER,
                    &plaintext,
                    ResponseFraming::Length(13),
                    Persistence::KeepAlive,
                    DATE,
                );
                out.extend_from_slice(b"Hello, World!");
            }
            black_box(out.len())
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("chunk head", |b| {
        b.iter(|| {
            out.clear();
            encode::chunk_head(&mut out, black_box(0x1f40));
            black_box(out.len())
        })
    });
    group.finish();
}

fn dates(c: &mut Criterion) {
    let mut group = c.benchmark_group("date");
    group.bench_function("format IMF-fixdate", |b| {
        let mut t = 1_700_000_000u64;
        b.iter(|| {
            t += 1;
            black_box(date::format_imf_fixdate(black_box(t)))
        })
    });
    group.bench_function("cache hit (same second)", |b| {
        let mut cache = DateCache::new();
        cache.update(1_700_000_000);
        b.iter(|| {
            cache.update(black_box(1_700_000_000));
            black_box(cache.value()[0])
        })
    });
    group.bench_function("refresh from the coarse clock + read", |b| {
        b.iter(|| {
            date::refresh();
            black_box(date::current()[0])
        })
    });
    group.finish();
}

// By hand rather than `criterion_main!`, whose generated functions have no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    encoding(&mut criterion);
    dates(&mut criterion);
    criterion.final_summary();
}
