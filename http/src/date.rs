//! The `Date` header (RFC 9110 §5.6.7, IMF-fixdate), cached per core.
//!
//! Every response carries a `Date`. Formatting one costs more than the rest of a small
//! response head, so each core keeps the formatted value of the current second and
//! reformats it only when the second changes. The connection loop calls [`refresh`] once
//! per batch of requests (not per response); it reads `CLOCK_REALTIME_COARSE`, a vDSO read
//! of a few nanoseconds whose millisecond-scale granularity is far below the header's
//! one-second resolution.

use std::cell::Cell;

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

const DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Formats `unix_secs` (seconds since 1970-01-01 UTC) as an IMF-fixdate. Years past 9999
/// are clamped to 9999 (the format has four digits).
pub fn format_imf_fixdate(unix_secs: u64) -> [u8; DATE_LEN] {
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let weekday = ((days + 4) % 7) as usize; // 1970-01-01 was a Thursday
    let (year, month, day) = civil_from_days(days);
    let year = year.min(9999);
    let (h, m, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(DAYS[weekday]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], h);
    two_digits(&mut out[20..22], m);
    two_digits(&mut out[23..25], s);
    out
}

fn two_digits(out: &mut [u8], v: u64) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Days since the epoch to (year, month 1..=12, day 1..=31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A formatted `Date` value that is reformatted only when the second changes.
#[derive(Debug, Clone)]
pub struct DateCache {
    secs: u64,
    value: [u8; DATE_LEN],
}

impl Default for DateCache {
    fn default() -> Self {
        DateCache {
            secs: 0,
            value: format_imf_fixdate(0),
        }
    }
}

impl DateCache {
    /// A cache holding the epoch; call [`update`](Self::update) before use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the time; reformats only if `unix_secs` differs from the cached second.
    /// Returns whether it reformatted.
    pub fn update(&mut self, unix_secs: u64) -> bool {
        if unix_secs == self.secs {
            return false;
        }
        self.secs = unix_secs;
        self.value = format_imf_fixdate(unix_secs);
        true
    }

    /// The formatted value.
    pub fn value(&self) -> &[u8; DATE_LEN] {
        &self.value
    }
}

thread_local! {
    static CURRENT: Cell<(u64, [u8; DATE_LEN])> = Cell::new((0, format_imf_fixdate(0)));
}

/// The wall clock in whole seconds (coarse clock: cheap, millisecond granularity).
pub fn now_unix_secs() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    match clock_gettime(ClockId::CLOCK_REALTIME_COARSE) {
        Ok(ts) => u64::try_from(ts.tv_sec()).unwrap_or(0),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

/// Brings this thread's (this core's) cached `Date` up to the current second.
pub fn refresh() {
    let now = now_unix_secs();
    CURRENT.with(|c| {
        if c.get().0 != now {
            c.set((now, format_imf_fixdate(now)));
        }
    });
}

/// This thread's cached `Date` value, as of the last [`refresh`].
pub fn current() -> [u8; DATE_LEN] {
    CURRENT.with(|c| c.get().1)
}

/// This thread's cached second (0 before the first [`refresh`]) and its `Date` value.
pub fn current_with_second() -> (u64, [u8; DATE_LEN]) {
    CURRENT.with(|c| c.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(&format_imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's example.
        assert_eq!(
            &format_imf_fixdate(784_111_777),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        // Leap day, end of century rules.
        assert_eq!(
            &format_imf_fixdate(951_782_400),
            b"Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            &format_imf_fixdate(4_133_980_799),
            b"Fri, 31 Dec 2100 23:59:59 GMT"
        );
        assert_eq!(
            &format_imf_fixdate(1_700_000_000),
            b"Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }

    #[test]
    fn every_day_for_three_centuries_matches_a_day_by_day_walk() {
        let mut weekday = 4; // Thursday
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..(366 * 300) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let text = format_imf_fixdate(days * 86_400 + 3_661);
            assert_eq!(&text[0..3], DAYS[weekday]);
            assert_eq!(&text[17..25], b"01:01:01");
            weekday = (weekday + 1) % 7;
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d += 1;
            if d > len[(m - 1) as usize] {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn cache_reformats_only_on_a_new_second() {
        let mut c = DateCache::new();
        assert!(c.update(784_111_777));
        assert!(!c.update(784_111_777));
        assert!(c.update(784_111_778));
        assert_eq!(c.value(), b"Sun, 06 Nov 1994 08:49:38 GMT");
    }

    #[test]
    fn refresh_gives_the_current_time() {
        // The cached second is one read of the clock between these two: it may lag the
        // later read (a second boundary in between), never lead it.
        let before = now_unix_secs();
        refresh();
        let after = now_unix_secs();
        let got = current();
        assert!(
            (before..=after).any(|s| format_imf_fixdate(s) == got),
            "cached {:?} is not a second in {before}..={after}",
            String::from_utf8_lossy(&got)
        );
    }
}
