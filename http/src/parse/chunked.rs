//! An incremental, allocation-free decoder for chunked request bodies (RFC 9112 §7.1).
//!
//! Strict: CRLF ends every line; sizes are hex digits only (whitespace is allowed only as BWS
//! before a `;` that starts an extension); extensions are skipped but bounded; trailer fields
//! are checked for syntax, bounded, and discarded.

use super::charset::is_token_byte;
use super::HeadError;

/// Bounds on the framing a chunked body may carry besides its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most bytes in one chunk-size line, extensions and CRLF included.
    pub max_line: usize,
    /// Most bytes in the trailer section, its final CRLF included.
    pub max_trailers: usize,
    /// Most chunk-extension bytes (whitespace before the `;`, the `;` and what follows up
    /// to the CR) in the whole body. Each line is also bounded by `max_line`; this bounds
    /// a body of many small chunks each carrying extensions.
    pub max_extensions: usize,
}

impl Default for ChunkLimits {
    /// 4 KiB size lines, 16 KiB of trailers, 16 KiB of extensions in all.
    fn default() -> Self {
        Self {
            max_line: 4 * 1024,
            max_trailers: 16 * 1024,
            max_extensions: 16 * 1024,
        }
    }
}

/// The result of one [`ChunkedDecoder::decode`] call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input used (framing and data); continue with `input[consumed..]`.
    pub consumed: usize,
    /// Body data found, as a range of the input slice (empty if none).
    pub data: std::ops::Range<usize>,
}

/// Decodes a chunked body incrementally, from any split of the input into pieces.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    limits: ChunkLimits,
    /// Bytes of the current size line, or of the trailer section, so far.
    framing_len: usize,
    /// Chunk-extension bytes in the body so far.
    extensions_len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In the hex digits of a chunk size.
    Size {
        size: u64,
        has_digits: bool,
    },
    /// In whitespace after the size, which must lead to `;`.
    SpaceBeforeExtension {
        size: u64,
    },
    /// In chunk extensions, which are ignored.
    Extension {
        size: u64,
    },
    /// After the CR that ends a size line.
    SizeLf {
        size: u64,
    },
    /// In chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data: its CRLF.
    DataCr,
    DataLf,
    /// At the start of a trailer field line or of the final empty line.
    TrailerLineStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// After the CR of the final empty line.
    FinalLf,
    Done,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(limits: ChunkLimits) -> Self {
        Self {
            state: State::Size {
                size: 0,
                has_digits: false,
            },
            limits,
            framing_len: 0,
            extensions_len: 0,
        }
    }

    /// Decodes from `input`: consumes framing bytes and at most one contiguous run of body
    /// data, returned as a range of `input`. Stops after the body's last byte (the final CRLF
    /// of the trailer section), leaving anything after it unconsumed.
    ///
    /// `consumed == 0`, empty `data` and `!is_done()` means more input is needed. Errors are
    /// always 400; the connection must then be closed.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, HeadError> {
        let mut at = 0;
        while at < input.len() {
            match self.state {
                State::Done => break,
                State::Data { remaining } => {
                    // `remaining` may exceed usize on 32-bit targets; `available` cannot.
                    let available = input.len() - at;
                    let taken = usize::try_from(remaining).map_or(available, |r| r.min(available));
                    let left = remaining - taken as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    return Ok(Decoded {
                        consumed: at + taken,
                        data: at..at + taken,
                    });
                }
                _ => {
                    self.framing_byte(input[at])?;
                    at += 1;
                }
            }
        }
        Ok(Decoded {
            consumed: at,
            data: at..at,
        })
    }

    /// Whether the whole body, trailers included, has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Advances the state machine over one byte that is not chunk data.
    fn framing_byte(&mut self, b: u8) -> Result<(), HeadError> {
        use State::*;
        let in_trailers = matches!(
            self.state,
            TrailerLineStart | TrailerName | TrailerValue | TrailerLf | FinalLf
        );
        let limit = if in_trailers {
            self.limits.max_trailers
        } else {
            self.limits.max_line
        };
        self.framing_len += 1;
        if self.framing_len > limit {
            return Err(error(if in_trailers {
                "chunked trailers too large"
            } else {
                "chunk size line too long"
            }));
        }
        self.state = match (self.state, b) {
            (Size { size, .. }, _) if b.is_ascii_hexdigit() => {
                if size > u64::MAX >> 4 {
                    return Err(error("chunk size overflows"));
                }
                let digit = (b as char).to_digit(16).unwrap_or(0);
                Size {
                    size: (size << 4) | u64::from(digit),
                    has_digits: true,
                }
            }
            (
                Size {
                    has_digits: false, ..
                },
                _,
            ) => return Err(error("chunk size is not hex")),
            (Size { size, .. } | SpaceBeforeExtension { size }, b' ' | b'\t') => {
                SpaceBeforeExtension { size }
            }
            (Size { size, .. } | SpaceBeforeExtension { size } | Extension { size }, b';') => {
                Extension { size }
            }
            (Size { size, .. } | Extension { size }, b'\r') => SizeLf { size },
            (Extension { size }, _) if is_text_byte(b) => Extension { size },
            (SizeLf { size: 0 }, b'\n') => {
                self.framing_len = 0;
                TrailerLineStart
            }
            (SizeLf { size }, b'\n') => {
                // The data's CRLF counts towards the next size line.
                self.framing_len = 0;
                Data { remaining: size }
            }
            (DataCr, b'\r') => DataLf,
            (DataCr, _) => return Err(error("chunk data longer than its size")),
            (DataLf, b'\n') => Size {
                size: 0,
                has_digits: false,
            },
            (TrailerLineStart, b'\r') => FinalLf,
            (TrailerLineStart | TrailerName, _) if is_token_byte(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if is_text_byte(b) => TrailerValue,
            (TrailerLf, b'\n') => TrailerLineStart,
            (FinalLf, b'\n') => Done,
            _ => return Err(error("malformed chunked framing")),
        };
        if matches!(self.state, SpaceBeforeExtension { .. } | Extension { .. }) {
            self.extensions_len += 1;
            if self.extensions_len > self.limits.max_extensions {
                return Err(error("chunk extensions too large"));
            }
        }
        Ok(())
    }
}

/// Bytes allowed in extensions and field values: HTAB, SP, VCHAR, obs-text.
fn is_text_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

fn error(reason: &'static str) -> HeadError {
    HeadError::bad_request(reason)
}
