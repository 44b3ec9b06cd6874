//! The connection's access-log hooks: the request's facts are kept from its start until
//! its response is finished, then written as one line into the core's buffer. Each hook
//! returns at once when the access log is off (one branch).

use std::time::Instant;

use http::{header, HeaderValue, Method, Request, StatusCode, Uri, Version};

use super::io::ConnIo;
use crate::access_log::{Record, RequestLine};

/// The first line of a refused head is logged up to this many bytes.
const RAW_LINE_MAX: usize = 8 * 1024;

/// The request whose response is in progress (the connection answers one at a time).
pub(crate) struct Pending {
    method: Method,
    /// Shares the request head's buffer: dropped when the line is written, so an idle
    /// connection keeps no receive buffer alive.
    target: Uri,
    version: Version,
    referer: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
    started: Instant,
    status: StatusCode,
    body_bytes: u64,
}

impl ConnIo {
    /// A request starts: keeps what its line needs.
    #[inline]
    pub(super) fn access_begin<B>(&self, req: &Request<B>) {
        if self.registry.access_log.is_some() {
            self.access_keep(req);
        }
    }

    /// The work of [`access_begin`](Self::access_begin) when the access log is on (out of
    /// line: the hooks are inlined into the request path, where the log is usually off).
    #[inline(never)]
    fn access_keep<B>(&self, req: &Request<B>) {
        let headers = req.headers();
        self.access.set(Some(Box::new(Pending {
            method: req.method().clone(),
            target: req.uri().clone(),
            version: req.version(),
            referer: headers.get(header::REFERER).cloned(),
            user_agent: headers.get(header::USER_AGENT).cloned(),
            started: Instant::now(),
            status: StatusCode::OK,
            body_bytes: 0,
        })));
    }

    /// Changes the pending request's facts, if there is one.
    #[inline]
    fn access_update(&self, change: impl FnOnce(&mut Pending)) {
        if self.registry.access_log.is_none() {
            return;
        }
        let mut pending = self.access.take();
        if let Some(p) = pending.as_deref_mut() {
            change(p);
        }
        self.access.set(pending);
    }

    /// The response's status is settled.
    #[inline]
    pub(super) fn access_status(&self, status: StatusCode) {
        self.access_update(|p| p.status = status);
    }

    /// `n` more body bytes of the response were queued or sent.
    #[inline]
    pub(super) fn access_body_sent(&self, n: u64) {
        self.access_update(|p| p.body_bytes += n);
    }

    /// The response is finished (sent, or failed part way): writes its line.
    #[inline]
    pub(super) fn access_end(&self) {
        if self.registry.access_log.is_some() {
            self.access_write();
        }
    }

    /// The work of [`access_end`](Self::access_end) when the access log is on.
    #[inline(never)]
    fn access_write(&self) {
        let Some(log) = self.registry.access_log.as_deref() else {
            return;
        };
        let Some(p) = self.access.take() else {
            return;
        };
        log.write(&Record {
            peer: self.conn_info().connect().peer.ip(),
            request: RequestLine::Parsed {
                method: &p.method,
                target: &p.target,
                version: p.version,
            },
            status: p.status.as_u16(),
            body_bytes: p.body_bytes,
            referer: p.referer.as_ref().map(HeaderValue::as_bytes),
            user_agent: p.user_agent.as_ref().map(HeaderValue::as_bytes),
            duration_us: p.started.elapsed().as_micros() as u64,
        });
    }

    /// An error response with `status` and a body of `body_bytes` is queued: the line of
    /// the request in progress, or, for a head refused before it was parsed, of its first
    /// line as received.
    pub(super) fn access_refused(&self, status: StatusCode, body_bytes: u64) {
        let Some(log) = self.registry.access_log.as_deref() else {
            return;
        };
        if let Some(mut p) = self.access.take() {
            (p.status, p.body_bytes) = (status, body_bytes);
            self.access.set(Some(p));
            return self.access_end();
        }
        let inbuf = self.inbuf.borrow();
        let head = &inbuf[..inbuf.len().min(RAW_LINE_MAX)];
        let end = head
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(head.len());
        log.write(&Record {
            peer: self.conn_info().connect().peer.ip(),
            request: RequestLine::Raw(&head[..end]),
            status: status.as_u16(),
            body_bytes,
            referer: None,
            user_agent: None,
            duration_us: 0,
        });
    }
}
