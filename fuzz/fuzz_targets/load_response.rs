//! coreline-load's response parser: see `checks/load_response.rs`.
#![no_main]

#[path = "../checks/load_response.rs"]
mod load_response;
#[path = "../../bench/src/bin/coreline-load/response.rs"]
mod response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| load_response::check(data));
