//! coreline-http: a minimal, strict HTTP/1.1 keep-alive server on the coreline runtime.

pub mod parse;
