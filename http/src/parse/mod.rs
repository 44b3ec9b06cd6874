//! Request-head parsing and request-body framing: pure functions over bytes, no I/O, no
//! allocation. `httparse` tokenizes; the validation and framing rules (RFC 9112) are ours.
