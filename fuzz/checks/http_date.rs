//! HTTP-dates: coreline's `Date` formatter (`date::format_imf_fixdate`, `DateCache`) and the
//! parser its conditional requests use (`httpdate`, all three RFC 9110 formats), on
//! arbitrary bytes. Shared by the `http_date` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! The first 8 bytes are an instant: its IMF-fixdate has the fixed shape, equals what
//! `httpdate` writes for it, and parses back to the same second (years past 9999 are
//! clamped, and still have the shape). The rest is text: whatever date it parses to
//! formats and parses back to the same second, and the cache reformats exactly when the
//! second changes.

use std::time::{Duration, UNIX_EPOCH};

use coreline_http::__fuzz::date::{format_imf_fixdate, DateCache, DATE_LEN};

/// 10000-01-01T00:00:00Z: the first second an IMF-fixdate cannot show.
const YEAR_10000: u64 = 253_402_300_800;

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let (head, text) = data.split_at(data.len().min(8));
    let mut raw = [0u8; 8];
    raw[..head.len()].copy_from_slice(head);
    let secs = u64::from_le_bytes(raw);
    let formatted = format_imf_fixdate(secs);
    assert_shape(&formatted);
    if secs < YEAR_10000 {
        round_trip(secs);
    } else {
        assert_eq!(&formatted[12..16], b"9999", "{secs}: year clamped");
    }
    round_trip(secs % YEAR_10000);

    let text = String::from_utf8_lossy(text);
    if let Ok(t) = httpdate::parse_http_date(&text) {
        let parsed = t
            .duration_since(UNIX_EPOCH)
            .expect("HTTP-dates start in 1970");
        round_trip(parsed.as_secs());
    }

    let mut cache = DateCache::new();
    let mut last = 0;
    for chunk in data.chunks(4) {
        let mut raw = [0u8; 4];
        raw[..chunk.len()].copy_from_slice(chunk);
        let now = u64::from(u32::from_le_bytes(raw) % 4);
        assert_eq!(cache.update(now), now != last, "update({now}) after {last}");
        assert_eq!(cache.value(), &format_imf_fixdate(now));
        last = now;
    }
}

/// `secs` formats as `httpdate` does and parses back to itself.
fn round_trip(secs: u64) {
    let formatted = format_imf_fixdate(secs);
    let text = std::str::from_utf8(&formatted).expect("ASCII");
    let instant = UNIX_EPOCH + Duration::from_secs(secs);
    assert_eq!(text, httpdate::fmt_http_date(instant), "{secs}");
    let back = httpdate::parse_http_date(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(back, instant, "{text}");
}

/// `Ddd, DD Mon YYYY HH:MM:SS GMT` with a real day and month name and in-range fields.
fn assert_shape(d: &[u8; DATE_LEN]) {
    let text = std::str::from_utf8(d).expect("ASCII");
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(days.contains(&&text[0..3]), "{text}");
    assert!(months.contains(&&text[8..11]), "{text}");
    assert_eq!(
        (&text[3..5], &text[7..8], &text[11..12]),
        (", ", " ", " "),
        "{text}"
    );
    assert_eq!(
        (&text[16..17], &text[19..20], &text[22..23]),
        (" ", ":", ":"),
        "{text}"
    );
    assert_eq!(&text[25..], " GMT", "{text}");
    let num = |r: std::ops::Range<usize>| -> u32 {
        assert!(
            text[r.clone()].bytes().all(|b| b.is_ascii_digit()),
            "{text}"
        );
        text[r].parse().unwrap()
    };
    assert!((1..=31).contains(&num(5..7)), "{text}");
    assert!(
        num(17..19) < 24 && num(20..22) < 60 && num(23..25) < 60,
        "{text}"
    );
    num(12..16);
}
