//! [`ServiceBody`]: the request body a tower service gets.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// The body of a request handed to a tower service: the whole request body, read by the
/// server before the service is called (see the [module doc](super) for why). It is
/// `Send + 'static`, an `http_body::Body<Data = Bytes>` with an exact size hint and no
/// error, which is what axum and tower-http ask of a request body.
#[derive(Debug, Default)]
pub struct ServiceBody {
    /// The data not yet taken (`None` after the one frame, or for an empty body).
    data: Option<Bytes>,
}

impl ServiceBody {
    /// A body of `data`.
    pub fn new(data: Bytes) -> ServiceBody {
        ServiceBody {
            data: Some(data).filter(|d| !d.is_empty()),
        }
    }
}

impl From<Bytes> for ServiceBody {
    fn from(data: Bytes) -> Self {
        ServiceBody::new(data)
    }
}

impl http_body::Body for ServiceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}
