//! An upgraded exchange (WebSocket and the like): the upstream's `101` goes to the client,
//! then bytes are copied both ways until both sides have closed (each half-close passed
//! on with `shutdown(SHUT_WR)`), either side fails, or nothing moves for the idle
//! timeout (nginx's `proxy_read_timeout` plays that part for its WebSocket proxying).
//!
//! A pipe holds no permit of the route's limiter: it is not an exchange the upstream
//! serves in turn but a connection held open, bounded by the server's connection limit
//! (the client side stays counted until the pipe ends) and by the idle timeout, as in
//! nginx, which has no separate limit for them either.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{header, Response};

use super::headers;
use crate::upgrade::{self, OnUpgrade, Upgraded};
use crate::Body;

/// The upstream's `101` as the client gets it (hop-by-hop fields gone, `Upgrade` kept;
/// the server adds `Connection: upgrade`), with the pipe spawned to run once the server
/// has sent it.
pub(super) fn switch(
    response: Response<Body>,
    downstream: OnUpgrade,
    idle: Duration,
    origin: String,
) -> Response<Body> {
    let (mut parts, _) = response.into_parts();
    let upstream = upgrade::on(&mut parts.extensions);
    let protocol = parts.headers.get(header::UPGRADE).cloned();
    headers::remove_hop_by_hop(&mut parts.headers);
    if let Some(protocol) = protocol {
        parts.headers.insert(header::UPGRADE, protocol);
    }
    coreline_runtime::spawn_local(async move {
        // The client side resolves once the 101 is sent; the upstream side is ready.
        let (down, up) = match (downstream.await, upstream.await) {
            (Ok(down), Ok(up)) => (down, up),
            (Err(e), _) | (_, Err(e)) => {
                return log::debug!("proxy {origin}: upgrade not completed: {e}");
            }
        };
        match run(down, up, idle).await {
            Ok(End::Closed) => {}
            Ok(End::Idle) => {
                log::debug!("proxy {origin}: upgraded connection idle for {idle:?}; closed")
            }
            Err(e) => log::debug!("proxy {origin}: upgraded connection ended: {e}"),
        }
    });
    Response::from_parts(parts, Body::empty())
}

/// How a pipe ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Both sides closed.
    Closed,
    /// Nothing moved for the idle timeout.
    Idle,
}

type Pending = Pin<Box<dyn Future<Output = io::Result<()>>>>;

/// One direction of the pipe.
enum Flow {
    Reading,
    Writing(Pending),
    /// The source closed: the half-close is being passed on.
    Closing(Pending),
    Done,
}

/// Copies `a` to `b` and `b` to `a` until both directions are done, one fails, or
/// neither moves for `idle`.
async fn run(mut a: Upgraded, mut b: Upgraded, idle: Duration) -> io::Result<End> {
    let (mut a_to_b, mut b_to_a) = (Flow::Reading, Flow::Reading);
    loop {
        if matches!((&a_to_b, &b_to_a), (Flow::Done, Flow::Done)) {
            return Ok(End::Closed);
        }
        let moved = poll_fn(|cx| {
            let forth = step(&mut a, &b, &mut a_to_b, cx);
            let back = step(&mut b, &a, &mut b_to_a, cx);
            match (forth, back) {
                (Poll::Ready(Err(e)), _) | (_, Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
                (Poll::Pending, Poll::Pending) => Poll::Pending,
                _ => Poll::Ready(Ok(())),
            }
        });
        match coreline_runtime::time::timeout(idle, moved).await {
            Ok(result) => result?,
            Err(_) => return Ok(End::Idle),
        }
    }
}

/// Advances one direction by one step: `Ready(Ok)` when it moved (read, wrote or closed
/// something), `Pending` when it waits.
fn step(
    from: &mut Upgraded,
    to: &Upgraded,
    flow: &mut Flow,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let next = match flow {
        Flow::Reading => match from.poll_read(cx)? {
            Poll::Ready(Some(bytes)) => Flow::Writing(Box::pin(to.write_all(bytes))),
            Poll::Ready(None) => Flow::Closing(Box::pin(to.shutdown_write())),
            Poll::Pending => return Poll::Pending,
        },
        Flow::Writing(write) => {
            std::task::ready!(write.as_mut().poll(cx))?;
            Flow::Reading
        }
        Flow::Closing(shutdown) => {
            // The peer may be gone already: the direction is done either way.
            let _ = std::task::ready!(shutdown.as_mut().poll(cx));
            Flow::Done
        }
        Flow::Done => return Poll::Pending,
    };
    *flow = next;
    Poll::Ready(Ok(()))
}
