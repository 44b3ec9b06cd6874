//! [`Body`]: the body of a request (streamed from the connection) or of a response
//! (empty, bytes, static, streamed, or a file).

mod incoming;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use coreline_runtime::fs::File;
use futures_core::Stream;

pub(crate) use incoming::{BodySource, Incoming, ReadLater, SourceId};

/// Bytes read from a file per chunk when a file body is read through [`Body::chunk`].
pub(crate) const FILE_CHUNK: usize = 64 * 1024;

/// A request or response body.
///
/// **Request bodies** arrive as [`Body`]s that read from the connection on demand: call
/// [`chunk`](Body::chunk) for the next piece of decoded data (Content-Length or chunked
/// framing already removed) or [`collect`](Body::collect) for all of it up to a limit.
/// Nothing is read until the handler asks, which is also when an `Expect: 100-continue`
/// client is sent `100 Continue`. A handler that answers without reading the body is fine:
/// the server discards a small remainder, or closes the connection.
///
/// **Response bodies** are built with [`Body::empty`], `From<Bytes>` (and `Vec<u8>`,
/// `String`, `&'static str`, `&'static [u8]`), [`Body::from_stream`] (sent chunked unless
/// [`Body::from_stream_sized`] gives its length), or [`Body::file`]. A request body may
/// also be returned as the response body (it is then streamed back).
pub struct Body {
    pub(crate) kind: Kind,
}

/// A boxed stream of body chunks.
pub(crate) type BoxStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>>>>;

pub(crate) enum Kind {
    Empty,
    Bytes(Bytes),
    Static(&'static [u8]),
    Stream {
        stream: BoxStream,
        len: Option<u64>,
    },
    File {
        file: File,
        offset: u64,
        len: u64,
    },
    Incoming(Incoming),
    /// A client response body the server can splice from its upstream socket.
    Socket(Box<crate::client::SocketBody>),
    /// A body that is not sent (a HEAD response's) of which only the length is kept.
    Omitted(Option<u64>),
    /// A request or file body being read through `http_body::Body::poll_frame`.
    #[cfg(feature = "http-body")]
    Polled(Box<http_body_impl::Polled>),
}

impl Body {
    /// No body.
    pub const fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body of static bytes (sent without copying them anywhere first).
    pub const fn from_static(bytes: &'static [u8]) -> Body {
        Body {
            kind: Kind::Static(bytes),
        }
    }

    /// A body produced by `stream`, of unknown length: sent with
    /// `Transfer-Encoding: chunked` to HTTP/1.1 clients, and delimited by closing the
    /// connection for HTTP/1.0 ones. An error from the stream aborts the connection (the
    /// status line has already gone out).
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: Stream<Item = io::Result<Bytes>> + 'static,
    {
        Body {
            kind: Kind::Stream {
                stream: Box::pin(stream),
                len: None,
            },
        }
    }

    /// A body of exactly `len` bytes produced by `stream`, sent with `Content-Length`.
    /// A stream that yields a different amount aborts the connection.
    pub fn from_stream_sized<S>(len: u64, stream: S) -> Body
    where
        S: Stream<Item = io::Result<Bytes>> + 'static,
    {
        Body {
            kind: Kind::Stream {
                stream: Box::pin(stream),
                len: Some(len),
            },
        }
    }

    /// The first `len` bytes of an open file. As a response body it is sent zero-copy
    /// from 8 KiB (spliced file → per-core pipe → socket by non-blocking calls; pages not
    /// in memory go through the ring), and read and sent with the head below. The file
    /// must not shrink meanwhile: if it does, the connection is closed.
    pub fn file(file: File, len: u64) -> Body {
        Self::file_range(file, 0, len)
    }

    /// `len` bytes of an open file starting at `offset`.
    pub fn file_range(file: File, offset: u64, len: u64) -> Body {
        Body {
            kind: Kind::File { file, offset, len },
        }
    }

    /// Whether this is the body of the request connection `source` is serving now.
    pub(crate) fn is_incoming_of(&self, source: SourceId) -> bool {
        matches!(&self.kind, Kind::Incoming(i) if i.is_current(source))
    }

    /// The whole body, if it is held in memory (empty, bytes or static): a cheap copy that
    /// can be sent again, as the client does when it retries a request.
    pub(crate) fn in_memory(&self) -> Option<Bytes> {
        match &self.kind {
            Kind::Empty => Some(Bytes::new()),
            Kind::Bytes(b) => Some(b.clone()),
            Kind::Static(s) => Some(Bytes::from_static(s)),
            _ => None,
        }
    }

    /// Replaces the body by its length alone (for a response whose body is not sent).
    pub(crate) fn omit(&mut self) {
        self.kind = Kind::Omitted(self.len());
    }

    pub(crate) fn incoming(incoming: Incoming) -> Body {
        Body {
            kind: Kind::Incoming(incoming),
        }
    }

    /// The exact length in bytes, if known: `Some` for empty, bytes, static and file
    /// bodies, sized streams and Content-Length request bodies (the part not read yet).
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::Static(s) => Some(s.len() as u64),
            Kind::Stream { len, .. } => *len,
            Kind::Socket(s) => Some(s.len()),
            Kind::File { len, .. } => Some(*len),
            Kind::Incoming(i) => i.len(),
            Kind::Omitted(len) => *len,
            #[cfg(feature = "http-body")]
            Kind::Polled(p) => p.len(),
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The next chunk of data, or `Ok(None)` at the end.
    ///
    /// For a request body this reads from the connection (sending `100 Continue` first if
    /// the client asked for it). Errors: `InvalidData` for a malformed chunked body or one
    /// larger than the server's limit, `TimedOut` after the body-read timeout,
    /// `UnexpectedEof` if the client closed mid-body. After such an error the server
    /// answers with the matching 4xx itself and closes the connection, whatever the
    /// handler returns.
    pub async fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        match &mut self.kind {
            Kind::Empty => Ok(None),
            Kind::Bytes(_) => {
                let Kind::Bytes(b) = std::mem::replace(&mut self.kind, Kind::Empty) else {
                    unreachable!()
                };
                Ok(Some(b).filter(|b| !b.is_empty()))
            }
            Kind::Static(s) => {
                let s = *s;
                self.kind = Kind::Empty;
                Ok(Some(Bytes::from_static(s)).filter(|b| !b.is_empty()))
            }
            Kind::Stream { stream, .. } => poll_fn(|cx| stream.as_mut().poll_next(cx))
                .await
                .transpose(),
            Kind::Socket(s) => poll_fn(|cx| s.poll_next(cx)).await.transpose(),
            Kind::File { file, offset, len } => {
                if *len == 0 {
                    return Ok(None);
                }
                let want = (*len).min(FILE_CHUNK as u64) as usize;
                let (res, buf) = file.read_at(Vec::with_capacity(want), *offset).await;
                let n = res?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file is shorter than its body length",
                    ));
                }
                *offset += n as u64;
                *len -= n as u64;
                Ok(Some(Bytes::from(buf)))
            }
            Kind::Incoming(i) => i.chunk().await,
            Kind::Omitted(_) => Ok(None),
            #[cfg(feature = "http-body")]
            Kind::Polled(p) => poll_fn(|cx| p.poll_chunk(cx)).await,
        }
    }

    /// Reads the whole body into one buffer. Fails with `InvalidData` if it is longer
    /// than `limit` bytes; for a request body whose Content-Length already says so, this
    /// happens before anything is read (and the server then answers 413).
    pub async fn collect(mut self, limit: usize) -> io::Result<Bytes> {
        let too_large = || io::Error::new(io::ErrorKind::InvalidData, "body exceeds the limit");
        if let Some(len) = self.len() {
            if len > limit as u64 {
                if let Kind::Incoming(i) = &self.kind {
                    i.refuse_too_large();
                }
                return Err(too_large());
            }
        }
        if let Kind::Bytes(b) = &mut self.kind {
            return Ok(std::mem::take(b));
        }
        let mut first: Option<Bytes> = None;
        let mut all = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            let total = all.len() + first.as_ref().map_or(0, Bytes::len) + chunk.len();
            if total > limit {
                if let Kind::Incoming(i) = &self.kind {
                    i.refuse_too_large();
                }
                return Err(too_large());
            }
            // A body that arrives in one chunk is returned as that chunk (no copy).
            match first.take() {
                None if all.is_empty() => first = Some(chunk),
                prev => {
                    if let Some(prev) = prev {
                        all.extend_from_slice(&prev);
                    }
                    all.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| all.freeze()))
    }
}

mod convert;
#[cfg(feature = "http-body")]
mod http_body_impl;
#[cfg(test)]
mod tests;
