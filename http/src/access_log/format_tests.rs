use std::net::{IpAddr, Ipv4Addr};

use http::{Method, Uri, Version};

use super::format::{json_escape, nginx_escape, write_line, Record, RequestLine, TimeCache};
use super::AccessLogFormat;

fn line(format: AccessLogFormat, record: &Record<'_>) -> String {
    let mut time = TimeCache::default();
    time.update(1_796_545_534); // 2026-12-06 08:25:34 UTC
    let mut out = Vec::new();
    write_line(&mut out, format, &time, record);
    String::from_utf8(out).unwrap()
}

fn record<'a>(method: &'a Method, target: &'a Uri) -> Record<'a> {
    Record {
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        request: RequestLine::Parsed {
            method,
            target,
            version: Version::HTTP_11,
        },
        status: 200,
        body_bytes: 13,
        referer: None,
        user_agent: Some(b"curl/8.5.0"),
        duration_us: 41,
    }
}

#[test]
fn combined_is_nginx_format() {
    let (m, t) = (Method::GET, Uri::from_static("/plaintext?a=1"));
    assert_eq!(
        line(AccessLogFormat::Combined, &record(&m, &t)),
        "127.0.0.1 - - [06/Dec/2026:08:25:34 +0000] \"GET /plaintext?a=1 HTTP/1.1\" 200 13 \
         \"-\" \"curl/8.5.0\"\n"
    );
}

#[test]
fn combined_escapes_as_nginx() {
    let mut out = Vec::new();
    nginx_escape(&mut out, b"a\"b\\c\x01\x7f\xc3\xa9 ~");
    assert_eq!(out, b"a\\x22b\\x5Cc\\x01\\x7F\\xC3\\xA9 ~");
    let (m, t) = (Method::POST, Uri::from_static("http://h:1/x"));
    let mut r = record(&m, &t);
    r.referer = Some(b"");
    r.user_agent = Some(b"say \"hi\"");
    assert_eq!(
        line(AccessLogFormat::Combined, &r),
        "127.0.0.1 - - [06/Dec/2026:08:25:34 +0000] \"POST http://h:1/x HTTP/1.1\" 200 13 \
         \"\" \"say \\x22hi\\x22\"\n"
    );
    r.request = RequestLine::Raw(b"GET /\x00 HT");
    r.status = 400;
    assert!(line(AccessLogFormat::Combined, &r).contains("] \"GET /\\x00 HT\" 400 13 "));
}

#[test]
fn json_line() {
    let (m, t) = (Method::HEAD, Uri::from_static("/a\"b"));
    let mut r = record(&m, &t);
    assert_eq!(
        line(AccessLogFormat::Json, &r),
        "{\"time\":\"2026-12-06T08:25:34+00:00\",\"remote_addr\":\"127.0.0.1\",\
         \"request\":\"HEAD /a\\\"b HTTP/1.1\",\"method\":\"HEAD\",\"target\":\"/a\\\"b\",\
         \"version\":\"HTTP/1.1\",\"status\":200,\"body_bytes_sent\":13,\"referer\":null,\
         \"user_agent\":\"curl/8.5.0\",\"duration_us\":41}\n"
    );
    r.request = RequestLine::Raw(b"BAD");
    assert!(line(AccessLogFormat::Json, &r)
        .contains("\"request\":\"BAD\",\"method\":null,\"target\":null,\"version\":null,"));
}

#[test]
fn json_escaping() {
    let mut out = Vec::new();
    json_escape(&mut out, "q\"\\\n\t\x01\x7fé".as_bytes());
    assert_eq!(out, b"q\\\"\\\\\\n\\t\\u0001\\u007F\xc3\xa9");
    out.clear();
    json_escape(&mut out, b"a\xffb\xc3");
    assert_eq!(out, b"a\\u00FFb\\u00C3");
}

#[test]
fn time_fields() {
    let mut time = TimeCache::default();
    time.update(951_782_400); // 2000-02-29 00:00:00
    let mut out = Vec::new();
    let (m, t) = (Method::GET, Uri::from_static("/"));
    write_line(&mut out, AccessLogFormat::Json, &time, &record(&m, &t));
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("{\"time\":\"2000-02-29T00:00:00+00:00\""));
}
