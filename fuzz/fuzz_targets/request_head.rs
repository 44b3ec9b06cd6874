//! Request-head parsing with body framing (Content-Length, chunked): see `checks/head.rs`.
#![no_main]

#[path = "../checks/head.rs"]
mod head;

libfuzzer_sys::fuzz_target!(|data: &[u8]| head::check(data));
