//! HTTP-date formatting and parsing: see `checks/http_date.rs`.
#![no_main]

#[path = "../checks/http_date.rs"]
mod http_date;

libfuzzer_sys::fuzz_target!(|data: &[u8]| http_date::check(data));
