//! The configuration of a [`Server`](crate::Server) ([`Limits`], [`Timeouts`],
//! [`FileBodyMethod`]) and [`Config`], the copy each core's connections read.

use std::time::Duration;

use crate::parse::{ChunkLimits, HeadLimits};

/// Size and count limits. Exceeding one gets the matching 4xx and the connection closed.
///
/// Start from the defaults and change what you need with the setters (one per field):
///
/// ```
/// let limits = coreline_http::Limits::default().max_body(16 << 20).max_headers(50);
/// assert_eq!(limits.max_body, 16 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request head (request line + header fields + blank line): 16 KiB. Over it:
    /// 431 (or 414 while still in the request line).
    pub max_head: usize,
    /// Most header fields in one request: 100. Over it: 431.
    pub max_headers: usize,
    /// Longest request target: 8 KiB. Over it: 414.
    pub max_target: usize,
    /// Largest request body: 1 MiB. A larger `Content-Length` gets 413 before the handler
    /// runs and without the body being read; a chunked body that grows past it gets 413
    /// as soon as it does.
    pub max_body: u64,
    /// Longest chunk-size line of a chunked body, extensions included: 4 KiB.
    pub max_chunk_line: usize,
    /// Largest trailer section of a chunked body: 8 KiB.
    pub max_trailers: usize,
    /// Chunk-extension bytes (from each `;` to the end of its size line) one chunked body
    /// may carry in all: 16 KiB. Each size line is bounded by `max_chunk_line` as well.
    /// Over it: 400.
    pub max_chunk_extensions: usize,
    /// Requests served on one connection before the server answers with
    /// `Connection: close` (0 = unlimited): 1,000,000 (as the reference nginx config's
    /// `keepalive_requests`).
    pub max_requests_per_connection: u64,
    /// Unread request body the server will read and discard after a handler answered
    /// without reading it, to keep the connection: 64 KiB. More than that, and the
    /// connection is closed instead.
    pub max_discard: u64,
    /// Connections one core serves at once (0 = unlimited): 16,384, as the reference nginx
    /// configuration's `worker_connections`. One more is answered `503` with
    /// `Connection: close` and closed, without reaching the handler.
    pub max_connections_per_core: usize,
    /// TLS handshakes one core runs at once (0 = unlimited): 256. A connection to a TLS
    /// listener counts against [`max_connections_per_core`](Self::max_connections_per_core)
    /// from accept, and against this until its handshake ends. One more closes the oldest
    /// pending handshake (a client that stalls is the likeliest to have waited longest).
    /// Why 256: a core completes on the order of a thousand full handshakes a second, and a
    /// real client finishes within a round trip or two, so 256 in progress is more than a
    /// busy core has in flight; it caps what silent connects can hold (fds, tasks, rustls
    /// sessions) at a few MiB per core, far from the fd limit the plain listener needs.
    pub max_handshakes_per_core: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 16 * 1024,
            max_headers: 100,
            max_target: 8 * 1024,
            max_body: 1024 * 1024,
            max_chunk_line: 4 * 1024,
            max_trailers: 8 * 1024,
            max_chunk_extensions: 16 * 1024,
            max_requests_per_connection: 1_000_000,
            max_discard: 64 * 1024,
            max_connections_per_core: 16_384,
            max_handshakes_per_core: 256,
        }
    }
}

impl Limits {
    pub(crate) fn head(&self) -> HeadLimits {
        HeadLimits {
            max_head: self.max_head,
            max_headers: self.max_headers,
            max_target: self.max_target,
        }
    }

    pub(crate) fn chunks(&self) -> ChunkLimits {
        ChunkLimits {
            max_line: self.max_chunk_line,
            max_trailers: self.max_trailers,
            max_extensions: self.max_chunk_extensions,
        }
    }
}

/// One setter per field, each taking and returning the value (the structs are
/// `#[non_exhaustive]`, so code outside this crate builds them from `default()`).
macro_rules! setters {
    ($ty:ident { $($field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see the field).")]
                #[must_use]
                pub fn $field(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters!(Limits {
    max_head: usize,
    max_headers: usize,
    max_target: usize,
    max_body: u64,
    max_chunk_line: usize,
    max_trailers: usize,
    max_chunk_extensions: usize,
    max_requests_per_connection: u64,
    max_discard: u64,
    max_connections_per_core: usize,
    max_handshakes_per_core: usize,
});

setters!(Timeouts {
    header_read: Duration,
    keep_alive: Duration,
    body_read: Duration,
    min_body_rate: u32,
    min_send_rate: u32,
    min_rate_grace: Duration,
    write: Duration,
    linger: Duration,
    shutdown_grace: Duration,
    tls_handshake: Duration,
});

/// Timeouts. Each is enforced by a per-core sweeper with a resolution of about a tenth of
/// the shortest timeout (at least 10 ms, at most 500 ms), so setting a deadline costs a
/// field write and no timer operation on the request path.
///
/// Start from the defaults and change what you need with the setters (one per field):
///
/// ```
/// use std::time::Duration;
/// let timeouts = coreline_http::Timeouts::default().keep_alive(Duration::from_secs(5));
/// assert_eq!(timeouts.keep_alive, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// From a request head's first byte (or from accept, for the first request) until the
    /// head is complete: 10 s. Expired with part of a head received: 408 and close; with
    /// nothing received on a new connection: close silently.
    pub header_read: Duration,
    /// How long an idle keep-alive connection (no bytes of a next request) stays open:
    /// 75 s (nginx's default). Then it is closed silently.
    pub keep_alive: Duration,
    /// Longest wait for more request-body bytes: 30 s. Expired: the handler's body read
    /// fails with `TimedOut`, the client gets 408 and the connection closes.
    pub body_read: Duration,
    /// Minimum rate of a request body, in bytes per second (0 = no minimum): 240, as
    /// Kestrel's `MinRequestBodyDataRate`. Every byte received while the server waits for
    /// the body counts (chunked framing included), against the time spent waiting for it
    /// less [`min_rate_grace`](Self::min_rate_grace): a body (or the discard of a body the
    /// handler left unread) that falls below it fails like an expired
    /// [`body_read`](Self::body_read): 408 if a response can still be sent, else close.
    /// So a client cannot hold a connection by trickling a byte now and then.
    pub min_body_rate: u32,
    /// Minimum rate at which a client must take a response, in bytes per second (0 = no
    /// minimum): 240, as Kestrel's `MinResponseDataRate`. Bytes handed to the socket count
    /// against the time spent waiting for room in it, less
    /// [`min_rate_grace`](Self::min_rate_grace), per response. Below it, the connection
    /// closes. So a client reading a few bytes now and then cannot keep a response (and its
    /// buffers) forever by restarting the [`write`](Self::write) timeout.
    pub min_send_rate: u32,
    /// How long the minimum rates wait before they apply, for each body and each
    /// response: 5 s.
    pub min_rate_grace: Duration,
    /// Longest wait for one send to make progress: 30 s. Expired: the connection closes.
    pub write: Duration,
    /// Lingering close: after an error response the server half-closes and reads (and
    /// discards) what the client still sends for at most this long: 2 s.
    pub linger: Duration,
    /// Graceful shutdown (the drain timeout, `--drain-timeout`): the bound on the whole
    /// shutdown, from closing the listeners through answering the requests in flight and
    /// the half-close of idle connections, after which whatever is still open is dropped:
    /// 10 s. Also set by [`Builder::drain_timeout`](crate::Builder::drain_timeout).
    pub shutdown_grace: Duration,
    /// TLS listeners: how long a client may take to finish the handshake (counted from
    /// accept; the header timeout starts after it): 10 s. Expired: the socket is closed.
    /// It replaces the handshake timeout of the acceptors given to
    /// [`Builder::tls_listen`](crate::Builder::tls_listen).
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            keep_alive: Duration::from_secs(75),
            body_read: Duration::from_secs(30),
            min_body_rate: 240,
            min_send_rate: 240,
            min_rate_grace: Duration::from_secs(5),
            write: Duration::from_secs(30),
            linger: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(10),
            tls_handshake: coreline_tls::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The sweep period: a tenth of the shortest timeout, within 10..=500 ms.
    pub(crate) fn sweep_period(&self) -> Duration {
        let shortest = [
            self.header_read,
            self.keep_alive,
            self.body_read,
            self.write,
            self.linger,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1));
        (shortest / 10).clamp(Duration::from_millis(10), Duration::from_millis(500))
    }
}

/// How file bodies ([`Body::file`](crate::Body::file)) are sent on plain connections (over
/// TLS they are always read and sent encrypted). Set with
/// [`Builder::file_body_method`](crate::Builder::file_body_method).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileBodyMethod {
    /// By size (the default): bodies under 8 KiB are read into the output buffer and leave
    /// with the head in one send; larger ones are spliced file → pipe → socket.
    #[default]
    Auto,
    /// Spliced at every size.
    Splice,
    /// Read into the output buffer and sent, at every size.
    Read,
    /// Read, then sent with `IORING_OP_SEND_ZC` (the kernel sends from the buffer), at
    /// every size.
    SendZc,
}

/// Everything a core needs to serve connections.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
    /// How file bodies are sent.
    pub(crate) file_body: FileBodyMethod,
    /// Whether the HTTP and runtime metrics are recorded.
    pub(crate) metrics: bool,
    /// Whether the runtime records kernel receive timestamps (with `metrics` only).
    pub(crate) rx_timestamps: bool,
    /// How long an idle core polls for completions before it sleeps.
    pub(crate) busy_poll: std::time::Duration,
    /// The `Server` field's value on every response, if any.
    pub(crate) server_header: Option<http::HeaderValue>,
    /// Where each response's access-log line goes, if anywhere.
    pub(crate) access_log: Option<crate::AccessLog>,
}

impl Config {
    /// The `Server` value to encode, if any.
    pub(crate) fn server(&self) -> Option<&[u8]> {
        self.server_header.as_ref().map(|v| v.as_bytes())
    }
}
