//! The header fields of a parsed head, as a cheap copyable view.

use httparse::Header;

/// The header fields of a [`RequestHead`](super::RequestHead), in the order sent. Iterating
/// yields `httparse::Header { name, value }` with the value's surrounding whitespace trimmed.
#[derive(Clone, Copy, Debug)]
pub struct HeaderFields<'h, 'b> {
    repr: Repr<'h, 'b>,
}

#[derive(Clone, Copy, Debug)]
enum Repr<'h, 'b> {
    /// The common case: httparse's output in the caller's slots.
    Parsed(&'h [Header<'b>]),
    /// Heads that took the slow path (e.g. `HTTP/1.2`): the field lines themselves, already
    /// validated, up to and including the blank line.
    Raw { block: &'b [u8], count: usize },
}

impl<'h, 'b> HeaderFields<'h, 'b> {
    pub(super) fn parsed(fields: &'h [Header<'b>]) -> Self {
        Self {
            repr: Repr::Parsed(fields),
        }
    }

    pub(super) fn raw(block: &'b [u8], count: usize) -> Self {
        Self {
            repr: Repr::Raw { block, count },
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Parsed(fields) => fields.len(),
            Repr::Raw { count, .. } => count,
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields in order.
    pub fn iter(&self) -> HeaderFieldsIter<'h, 'b> {
        HeaderFieldsIter {
            repr: self.repr,
            remaining: self.len(),
        }
    }

    /// The value of the first field called `name` (compared case-insensitively).
    pub fn get(&self, name: &str) -> Option<&'b [u8]> {
        self.iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .map(|field| field.value)
    }
}

impl<'h, 'b> IntoIterator for HeaderFields<'h, 'b> {
    type Item = Header<'b>;
    type IntoIter = HeaderFieldsIter<'h, 'b>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'h, 'b> IntoIterator for &HeaderFields<'h, 'b> {
    type Item = Header<'b>;
    type IntoIter = HeaderFieldsIter<'h, 'b>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over [`HeaderFields`].
#[derive(Clone, Debug)]
pub struct HeaderFieldsIter<'h, 'b> {
    repr: Repr<'h, 'b>,
    remaining: usize,
}

impl<'b> Iterator for HeaderFieldsIter<'_, 'b> {
    type Item = Header<'b>;

    fn next(&mut self) -> Option<Header<'b>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match &mut self.repr {
            Repr::Parsed(fields) => {
                let (first, rest) = fields.split_first()?;
                *fields = rest;
                Some(*first)
            }
            Repr::Raw { block, .. } => {
                let (field, rest) = split_field_line(block)?;
                *block = rest;
                Some(field)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for HeaderFieldsIter<'_, '_> {}

/// Splits one validated `name: value CRLF` line off the front of `block`.
fn split_field_line(block: &[u8]) -> Option<(Header<'_>, &[u8])> {
    let colon = block.iter().position(|&b| b == b':')?;
    let line_end = block.iter().position(|&b| b == b'\r')?;
    let name = std::str::from_utf8(&block[..colon]).ok()?;
    let value = block[colon + 1..line_end].trim_ascii();
    Some((Header { name, value }, block.get(line_end + 2..)?))
}
