//! The metrics text parser: see `checks/metrics_text.rs`.
#![no_main]

#[path = "../checks/metrics_text.rs"]
mod metrics_text;

libfuzzer_sys::fuzz_target!(|data: &[u8]| metrics_text::check(data));
