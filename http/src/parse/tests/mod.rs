//! Tests of the request-head and chunked-body parsers, by subject.

mod chunked;
mod framing;
mod head;
mod request_line;
mod response;
mod split;
