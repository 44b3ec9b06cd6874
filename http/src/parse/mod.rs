//! Request-head parsing and request-body framing (and, with the same rules, an upstream's
//! response heads for the client): pure functions over bytes, no I/O, no
//! allocation. `httparse` tokenizes; the validation and framing rules (RFC 9112) are ours.
//!
//! Decisions beyond the letter of the RFCs (all in the direction of rejecting ambiguity):
//! - Lines end in CRLF, in the head and in chunked framing; a bare LF or bare CR is a 400.
//! - Up to [`MAX_LEADING_EMPTY_LINES`] empty lines before the request line are skipped.
//! - The request target must be visible ASCII and start with `/` (origin-form), be `*` (only
//!   for OPTIONS), be `scheme://authority...` (absolute-form, with a non-empty authority and
//!   no userinfo), or, for CONNECT and only there, `host:port` (authority-form); a CONNECT
//!   with any other form is a 400 too.
//! - `HTTP/1.x` with x > 1 is 1.1; `HTTP/d.d` with a major other than 1 is a 505; any other
//!   version text (no version, `HTTP/1.10`, `HTTP/2`) is a 400.
//! - Transfer-Encoding: the final coding must be `chunked` (else 400) and appear once (else
//!   400); any other coding before it is a 501, since we decode no content codings.
//! - Content-Length: digits only; a comma list or repeated field must agree on one value.
//! - Chunk sizes: hex digits only; whitespace only before a `;` that starts an extension.

mod charset;
mod chunked;
mod error;
mod fields;
mod head;
mod request_line;
mod response;
mod semantics;
mod target;

pub use chunked::{ChunkLimits, ChunkedDecoder, Decoded};
pub use error::HeadError;
pub use fields::{HeaderFields, HeaderFieldsIter};
pub use head::{
    parse_head, HeadLimits, HeaderSlots, RequestHead, MAX_HEADERS, MAX_LEADING_EMPTY_LINES,
};
pub use response::{parse_response_head, ResponseFraming, ResponseHead};
pub use semantics::{Expect, RequestFraming};
pub use target::use_target_host;

#[cfg(test)]
mod tests;
