//! Refusing a connection over the per-core limit ([`Limits::max_connections_per_core`]):
//! a `503` with `Connection: close`, a half-close, and a short drain of whatever the client
//! already sent, so that it reads the answer instead of a reset. Bounded to one second
//! altogether; the connection never reaches the connection registry or a handler.
//!
//! [`Limits::max_connections_per_core`]: crate::Limits::max_connections_per_core

use std::net::Shutdown;
use std::time::Duration;

use coreline_runtime::net::TcpStream;
use coreline_runtime::time;
use http::{HeaderValue, StatusCode};

use crate::{date, encode};

/// How long a refused connection may take in all.
const REFUSE_WITHIN: Duration = Duration::from_secs(1);
/// Discard at most this much of what the client sent before closing.
const DRAIN_MAX: usize = 64 * 1024;

/// Answers `503 Service Unavailable` (with the server's `Server` field, if any) and closes.
pub(crate) async fn refuse(mut stream: TcpStream, server: Option<HeaderValue>) {
    let answer = answer_and_close(&mut stream, server);
    let _ = time::timeout(REFUSE_WITHIN, answer).await;
}

async fn answer_and_close(
    stream: &mut TcpStream,
    server: Option<HeaderValue>,
) -> std::io::Result<()> {
    date::refresh();
    let mut out = Vec::with_capacity(192);
    encode::error_response(
        &mut out,
        StatusCode::SERVICE_UNAVAILABLE,
        server.as_ref().map(HeaderValue::as_bytes),
        "too many connections; try again later",
        &date::current(),
    );
    stream.send_all(out).await.0?;
    stream.shutdown(Shutdown::Write).await?;
    let mut drained = 0;
    while let Some(buf) = stream.recv().await? {
        drained += buf.len();
        if drained > DRAIN_MAX {
            break;
        }
    }
    Ok(())
}
