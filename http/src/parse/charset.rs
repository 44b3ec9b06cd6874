//! Byte classes as lookup tables: one load per byte on the hot path.

/// A 256-entry membership table: `table[b as usize]` says whether `b` is in the class.
pub(super) type ByteClass = [bool; 256];

/// The class of ASCII letters, digits, and the bytes in `extra`.
const fn alphanumeric_and(extra: &[u8]) -> ByteClass {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// RFC 9110 `tchar`: method names, field names, codings.
pub(super) static TOKEN: ByteClass = alphanumeric_and(b"!#$%&'*+-.^_`|~");

/// RFC 3986 `uri-host [ ":" port ]`: reg-name, IPv4 and IP-literal bytes, and the colon.
pub(super) static HOST: ByteClass = alphanumeric_and(b"-._~%!$&'()*+,;=:[]");

/// Whether `b` is a `tchar`.
pub(super) fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}
