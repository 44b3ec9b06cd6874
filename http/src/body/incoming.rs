//! The request body as the handler sees it: a handle on the connection that reads and
//! decodes on demand.
//!
//! The connection is reached through [`BodySource`], which the connection layer
//! implements, so this module names no connection type.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;

/// A body read that has to wait for the socket (boxed: only the waiting case allocates).
pub(crate) type ReadLater<'a> = Pin<Box<dyn Future<Output = io::Result<Option<Bytes>>> + 'a>>;

/// What a request body needs from its connection. Every call names the request by its
/// sequence number, so a body kept past its request gets errors, never the next request's
/// bytes.
pub(crate) trait BodySource {
    /// Bytes left to read, if the framing says (Content-Length).
    fn remaining(&self, seq: u32) -> Option<u64>;
    /// The next piece if no wait is needed: `Some` with data, the end or an error; `None`
    /// if the socket must be read first.
    fn read_buffered(&self, seq: u32) -> Option<io::Result<Option<Bytes>>>;
    /// The next piece, reading from the socket as needed.
    fn read(&self, seq: u32) -> ReadLater<'_>;
    /// The handler refused the body as too large: the server answers 413.
    fn refuse_too_large(&self, seq: u32);
    /// The sequence number of the request the connection is serving now.
    fn current_seq(&self) -> u32;
}

/// Which connection a body reads from: its address, compared, never dereferenced.
pub(crate) type SourceId = *const ();

/// Reads the body of request number `seq` of a connection. Once that request is over
/// (the handler returned and the server moved on), reads fail instead of stealing the
/// next request's bytes.
pub(crate) struct Incoming {
    source: Rc<dyn BodySource>,
    seq: u32,
}

impl Incoming {
    pub(crate) fn new(source: Rc<dyn BodySource>, seq: u32) -> Self {
        Incoming { source, seq }
    }

    /// Bytes left to read, if the framing says (Content-Length).
    pub(crate) fn len(&self) -> Option<u64> {
        self.source.remaining(self.seq)
    }

    pub(crate) async fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        // Data already received is taken without a wait (and without the boxed read).
        match self.source.read_buffered(self.seq) {
            Some(ready) => ready,
            None => self.source.read(self.seq).await,
        }
    }

    /// The next piece if no wait is needed (see [`BodySource::read_buffered`]).
    #[cfg(feature = "http-body")]
    pub(crate) fn try_buffered(&self) -> Option<io::Result<Option<Bytes>>> {
        self.source.read_buffered(self.seq)
    }

    /// The handler refused the body as too large: the server answers 413.
    pub(crate) fn refuse_too_large(&self) {
        self.source.refuse_too_large(self.seq);
    }

    /// Whether this is the body of the request connection `source` is serving now.
    pub(crate) fn is_current(&self, source: SourceId) -> bool {
        std::ptr::eq(Rc::as_ptr(&self.source).cast::<()>(), source)
            && self.source.current_seq() == self.seq
    }
}
