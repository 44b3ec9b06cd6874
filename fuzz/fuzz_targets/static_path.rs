//! Static-file path percent-decoding: see `checks/static_path.rs`.
#![no_main]

#[path = "../checks/static_path.rs"]
mod static_path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| static_path::check(data));
