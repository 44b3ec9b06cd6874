//! coreline-http: a minimal, strict HTTP/1.1 keep-alive server on the coreline runtime.
//!
//! Empty for now: the issue "The HTTP/1.1 keep-alive server" fills it.
