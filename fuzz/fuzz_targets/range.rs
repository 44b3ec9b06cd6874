//! Range, If-Range and conditional requests for static files: see `checks/range.rs`.
#![no_main]

#[path = "../checks/range.rs"]
mod range;

libfuzzer_sys::fuzz_target!(|data: &[u8]| range::check(data));
