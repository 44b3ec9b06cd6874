//! One access-log line: the [`Record`] of a response and its two formats, nginx's
//! `combined` and one JSON object, each with its escaping.

use std::io::Write;
use std::net::IpAddr;

use http::{Method, Uri, Version};

use super::AccessLogFormat;
use crate::date::civil_from_days;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The request a line is about.
pub(crate) enum RequestLine<'a> {
    /// A parsed request head.
    Parsed {
        method: &'a Method,
        target: &'a Uri,
        version: Version,
    },
    /// A head refused before it was parsed: its first line as received (maybe cut short).
    Raw(&'a [u8]),
}

/// What one line says about one response.
pub(crate) struct Record<'a> {
    pub(crate) peer: IpAddr,
    pub(crate) request: RequestLine<'a>,
    pub(crate) status: u16,
    /// Body bytes sent (no head), as nginx's `$body_bytes_sent`.
    pub(crate) body_bytes: u64,
    pub(crate) referer: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
    /// From the parsed head to the finished response; 0 for a refused head.
    pub(crate) duration_us: u64,
}

/// The time fields of one second, formatted once per second per core.
pub(crate) struct TimeCache {
    secs: u64,
    /// `06/Dec/2026:08:25:34 +0000` (nginx's `$time_local`, in UTC).
    local: [u8; 26],
    /// `2026-12-06T08:25:34+00:00` (nginx's `$time_iso8601`, in UTC).
    iso: [u8; 25],
}

impl Default for TimeCache {
    fn default() -> Self {
        let mut cache = TimeCache {
            secs: 1,
            local: [0; 26],
            iso: [0; 25],
        };
        cache.update(0);
        cache
    }
}

fn digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

impl TimeCache {
    /// Brings the cache to `unix_secs` (reformats only when the second changed).
    pub(crate) fn update(&mut self, unix_secs: u64) {
        if unix_secs == self.secs {
            return;
        }
        self.secs = unix_secs;
        let (year, month, day) = civil_from_days(unix_secs / 86_400);
        let year = year.min(9999);
        let s = unix_secs % 86_400;
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
        let mut local = *b"01/Jan/1970:00:00:00 +0000";
        digits(&mut local[0..2], day);
        local[3..6].copy_from_slice(MONTHS[(month - 1) as usize]);
        digits(&mut local[7..11], year);
        digits(&mut local[12..14], h);
        digits(&mut local[15..17], m);
        digits(&mut local[18..20], sec);
        self.local = local;
        let mut iso = *b"1970-01-01T00:00:00+00:00";
        digits(&mut iso[0..4], year);
        digits(&mut iso[5..7], month);
        digits(&mut iso[8..10], day);
        digits(&mut iso[11..13], h);
        digits(&mut iso[14..16], m);
        digits(&mut iso[17..19], sec);
        self.iso = iso;
    }
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_09 => "HTTP/0.9",
        _ => "HTTP/1.1",
    }
}

/// Appends `line` in `format` (with its newline) to `out`.
pub(crate) fn write_line(
    out: &mut Vec<u8>,
    format: AccessLogFormat,
    time: &TimeCache,
    line: &Record<'_>,
) {
    match format {
        AccessLogFormat::Combined => combined(out, time, line),
        AccessLogFormat::Json => json(out, time, line),
    }
}

/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent"`.
fn combined(out: &mut Vec<u8>, time: &TimeCache, r: &Record<'_>) {
    let _ = write!(out, "{} - - [", r.peer);
    out.extend_from_slice(&time.local);
    out.extend_from_slice(b"] \"");
    match &r.request {
        RequestLine::Parsed {
            method,
            target,
            version,
        } => {
            nginx_escape(out, method.as_str().as_bytes());
            out.push(b' ');
            target_pieces(target, |piece| nginx_escape(out, piece));
            out.push(b' ');
            out.extend_from_slice(version_str(*version).as_bytes());
        }
        RequestLine::Raw(raw) => nginx_escape(out, raw),
    }
    let _ = write!(out, "\" {} {} \"", r.status, r.body_bytes);
    header_or_dash(out, r.referer);
    out.extend_from_slice(b"\" \"");
    header_or_dash(out, r.user_agent);
    out.extend_from_slice(b"\"\n");
}

fn header_or_dash(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => nginx_escape(out, v),
        None => out.push(b'-'),
    }
}

/// nginx's access-log escaping: `"`, `\`, control bytes, DEL and every byte from 0x80 as
/// `\xHH` (upper-case hex); the rest as it is.
pub(crate) fn nginx_escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\' {
            out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        } else {
            out.push(b);
        }
    }
}

/// One JSON object; the keys are listed in [`AccessLogFormat::Json`].
fn json(out: &mut Vec<u8>, time: &TimeCache, r: &Record<'_>) {
    out.extend_from_slice(b"{\"time\":\"");
    out.extend_from_slice(&time.iso);
    let _ = write!(out, "\",\"remote_addr\":\"{}\",\"request\":\"", r.peer);
    match &r.request {
        RequestLine::Parsed {
            method,
            target,
            version,
        } => {
            let (method, version) = (method.as_str().as_bytes(), version_str(*version));
            json_escape(out, method);
            out.push(b' ');
            target_pieces(target, |piece| json_escape(out, piece));
            let _ = write!(out, " {version}\",\"method\":\"");
            json_escape(out, method);
            out.extend_from_slice(b"\",\"target\":\"");
            target_pieces(target, |piece| json_escape(out, piece));
            let _ = write!(out, "\",\"version\":\"{version}\"");
        }
        RequestLine::Raw(raw) => {
            json_escape(out, raw);
            out.push(b'"');
            out.extend_from_slice(b",\"method\":null,\"target\":null,\"version\":null");
        }
    }
    let _ = write!(
        out,
        ",\"status\":{},\"body_bytes_sent\":{},\"referer\":",
        r.status, r.body_bytes
    );
    json_string(out, r.referer);
    out.extend_from_slice(b",\"user_agent\":");
    json_string(out, r.user_agent);
    let _ = writeln!(out, ",\"duration_us\":{}}}", r.duration_us);
}

/// The request target as received, in pieces (`Uri`'s own `Display`, without its
/// formatting machinery).
fn target_pieces(uri: &Uri, mut piece: impl FnMut(&[u8])) {
    if let Some(scheme) = uri.scheme_str() {
        piece(scheme.as_bytes());
        piece(b"://");
    }
    if let Some(authority) = uri.authority() {
        piece(authority.as_str().as_bytes());
    }
    piece(uri.path().as_bytes());
    if let Some(query) = uri.query() {
        piece(b"?");
        piece(query.as_bytes());
    }
}

/// A JSON string, or `null` for `None`.
fn json_string(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            out.push(b'"');
            json_escape(out, v);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// JSON string escaping (RFC 8259): `"` and `\` with a backslash, control bytes and DEL as
/// `\u00XX` (`\n`, `\r`, `\t` short); valid UTF-8 as it is. A byte that is not part of
/// valid UTF-8 (header values may hold any octet) is read as Latin-1: `\u00XX`, so the
/// line stays valid JSON and the byte can be told.
pub(crate) fn json_escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..0x20 | 0x7f => unicode_escape(out, b),
                _ => out.push(b),
            }
        }
        for &b in chunk.invalid() {
            unicode_escape(out, b);
        }
    }
}

fn unicode_escape(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(b"\\u00");
    out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}
