//! [`Body`] as an `http_body::Body` (http-body 1.0), and any `http_body::Body` as a
//! response body ([`Body::from_http_body`]).
//!
//! Frames carry data only. A request body's chunked trailers are read and dropped by the
//! server, and a response body's trailer frames are dropped too: responses are sent
//! without trailers, which HTTP/1.1 clients may only get when they sent `TE: trailers`
//! and which almost none read.

use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use http_body::{Frame, SizeHint};

use super::{Body, Kind};

/// One read of a request or file body in flight; it owns the body until it completes.
type Read = Pin<Box<dyn Future<Output = (io::Result<Option<Bytes>>, Body)>>>;

/// A request or file body read through `poll_frame`, which has no `&mut self` across
/// polls to hold `Body::chunk`'s future: the read owns the body while it waits.
pub(crate) struct Polled {
    /// The body between reads (`None` while `read` holds it).
    body: Option<Body>,
    read: Option<Read>,
    /// Bytes left before the read in flight (what [`Body::len`] says meanwhile).
    len: Option<u64>,
}

impl Polled {
    pub(crate) fn len(&self) -> Option<u64> {
        self.body.as_ref().map_or(self.len, Body::len)
    }

    pub(crate) fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        if self.read.is_none() {
            let mut body = self.body.take().expect("the body is here between reads");
            if let Kind::Incoming(incoming) = &body.kind {
                // Data already received is taken without boxing a read.
                if let Some(ready) = incoming.try_buffered() {
                    self.body = Some(body);
                    return Poll::Ready(ready);
                }
            }
            self.len = body.len();
            self.read = Some(Box::pin(async move {
                let chunk = body.chunk().await;
                (chunk, body)
            }));
        }
        let read = self.read.as_mut().expect("a read in flight");
        let (chunk, body) = ready!(read.as_mut().poll(cx));
        self.read = None;
        self.body = Some(body);
        Poll::Ready(chunk)
    }
}

impl Body {
    /// The next chunk without waiting in `Body::chunk`'s future (see [`Polled`]).
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        match &mut self.kind {
            Kind::Empty | Kind::Omitted(_) => Poll::Ready(Ok(None)),
            Kind::Bytes(b) => {
                let b = std::mem::take(b);
                self.kind = Kind::Empty;
                Poll::Ready(Ok(Some(b)))
            }
            Kind::Static(s) => {
                let b = Bytes::from_static(s);
                self.kind = Kind::Empty;
                Poll::Ready(Ok(Some(b)))
            }
            Kind::Stream { stream, .. } => stream.as_mut().poll_next(cx).map(Option::transpose),
            Kind::Socket(s) => s.poll_next(cx).map(Option::transpose),
            Kind::Polled(p) => p.poll_chunk(cx),
            Kind::Incoming(incoming) => match incoming.try_buffered() {
                Some(ready) => Poll::Ready(ready),
                None => self.start_polled(cx),
            },
            Kind::File { .. } => self.start_polled(cx),
        }
    }

    fn start_polled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        let kind = std::mem::replace(&mut self.kind, Kind::Empty);
        let mut polled = Box::new(Polled {
            body: Some(Body { kind }),
            read: None,
            len: None,
        });
        let first = polled.poll_chunk(cx);
        self.kind = Kind::Polled(polled);
        first
    }

    /// A response body that streams the data frames of `body`: with `Content-Length` when
    /// its size hint is exact, else chunked (HTTP/1.1) or until close (HTTP/1.0). Trailer
    /// frames are dropped. An error from `body` aborts the connection, as for
    /// [`Body::from_stream`].
    pub fn from_http_body<B>(body: B) -> Body
    where
        B: http_body::Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let len = body.size_hint().exact();
        Body {
            kind: Kind::Stream {
                stream: Box::pin(DataFrames(Box::pin(body))),
                len,
            },
        }
    }

    /// [`Body::from_http_body`], but a body whose data is all there at once (the usual
    /// case of a buffered JSON or text response) becomes a bytes body: copied behind the
    /// head like any small response, so pipelined responses still leave in one send.
    pub async fn from_http_body_ready<B>(body: B) -> Body
    where
        B: http_body::Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let Some(len) = body.size_hint().exact() else {
            return Body::from_http_body(body);
        };
        if len == 0 && body.is_end_stream() {
            return Body::empty();
        }
        let mut body = Box::pin(body);
        // One poll, with this task's waker: a body that is not ready is streamed instead.
        let first = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
        let data = match first {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().ok(),
            _ => None,
        };
        match data {
            Some(mut data) if data.remaining() as u64 == len => {
                Body::from(data.copy_to_bytes(len as usize))
            }
            data => {
                let first = data.map(|mut d| d.copy_to_bytes(d.remaining()));
                Body {
                    kind: Kind::Stream {
                        stream: Box::pin(Prefixed {
                            first,
                            rest: DataFrames(body),
                        }),
                        len: Some(len),
                    },
                }
            }
        }
    }
}

/// The data of an `http_body::Body`'s frames as a stream of chunks.
struct DataFrames<B>(Pin<Box<B>>);

impl<B> Stream for DataFrames<B>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match ready!(self.0.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(io::Error::other(e.into())))),
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        let n = data.remaining();
                        return Poll::Ready(Some(Ok(data.copy_to_bytes(n))));
                    }
                    // A trailers frame: dropped (see the module doc).
                }
            }
        }
    }
}

/// A first chunk already taken off `rest`, then the rest.
struct Prefixed<B> {
    first: Option<Bytes>,
    rest: DataFrames<B>,
}

impl<B> Stream for Prefixed<B>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.first.take() {
            Some(first) => Poll::Ready(Some(Ok(first))),
            None => Pin::new(&mut self.rest).poll_next(cx),
        }
    }
}

/// The request body as an `http_body::Body`: data frames as the connection delivers
/// them, an exact size hint when the length is known (Content-Length: the part not read
/// yet; bytes, static and file bodies; a sized stream: its declared length), none for a
/// chunked body. Errors are those of [`Body::chunk`].
impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            return match ready!(this.poll_chunk(cx)) {
                Ok(Some(data)) if data.is_empty() => continue,
                Ok(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(None) => Poll::Ready(None),
                Err(e) => Poll::Ready(Some(Err(e))),
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, Kind::Empty | Kind::Omitted(_)) || self.len() == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.len() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::new(),
        }
    }
}
