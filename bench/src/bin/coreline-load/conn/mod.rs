//! One load connection: connect, keep up to `pipeline` requests outstanding (closed loop)
//! or send them when due (open loop), parse the responses, record their latencies, and
//! reconnect after errors, server closes and (with `--close`) every response.
//!
//! Requests owed but not yet answered are kept in `owed` with their start times (send time
//! in the closed loop, due time in the open loop). A server close resends them on the next
//! connection with their original start times, so the reconnect shows in their latency.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use coreline_runtime::time;

use crate::request::Requests;
use crate::response::Parser;
use crate::schedule::{Plan, RECONNECT_BACKOFF};
use crate::stats::{ErrorKind, Stats};
use crate::transport::{TlsSetup, Transport};

mod receive;

/// What one core's connections share.
pub struct Core {
    pub addr: SocketAddr,
    pub requests: Requests,
    pub tls: Option<TlsSetup>,
    /// `--fastopen`: connect with `TCP_FASTOPEN_CONNECT`.
    pub fastopen: bool,
    pub plan: Plan,
    pub stats: RefCell<Stats>,
    /// `-n`: the measured requests every core may still start, shared by all.
    pub budget: Option<Arc<AtomicUsize>>,
}

/// How a connection ended.
enum End {
    /// Connect again (after an error, a server close, or a `--close` response).
    Reconnect,
    /// The run is over for this connection.
    Finished,
}

/// One connection's state across reconnects.
struct Load {
    core: Rc<Core>,
    parser: Parser,
    /// Start times of the requests owed, oldest first; the first `sent` went out on the
    /// current connection.
    owed: VecDeque<Instant>,
    sent: usize,
    /// Open loop: when the next request is due.
    next_due: Instant,
    /// When the current wait for a response began (for the timeout).
    waiting_since: Instant,
}

/// Runs connection number `global_index` of the run until the plan's end (and drain).
pub async fn run(core: Rc<Core>, global_index: usize) {
    let plan = core.plan;
    let mut load = Load {
        parser: Parser::new(core.requests.head),
        owed: VecDeque::with_capacity(plan.pipeline),
        sent: 0,
        next_due: plan.first_due(global_index),
        waiting_since: plan.start,
        core,
    };
    loop {
        if plan.close {
            // --close connects as part of each request, so not before the start.
            time::sleep_until(plan.start).await;
        }
        let now = Instant::now();
        let over = now >= plan.end || load.spent();
        if over && (load.owed.is_empty() || now >= plan.drain_end) {
            return;
        }
        if plan.close && plan.period.is_none() {
            load.fill(now); // --close measures from before the connect
        }
        let connect = time::timeout(
            plan.timeout,
            Transport::connect(load.core.addr, load.core.tls.as_ref(), load.core.fastopen),
        );
        let mut transport = match connect.await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                load.error(ErrorKind::Connect, 1, &e);
                time::sleep(RECONNECT_BACKOFF).await;
                continue;
            }
            Err(_) => {
                let e = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                load.error(ErrorKind::Connect, 1, &e);
                continue;
            }
        };
        // Keep-alive connections are made before the start, so the first requests do
        // not pay for the connect.
        time::sleep_until(plan.start).await;
        load.parser.reset();
        load.sent = 0;
        if let End::Finished = load.session(&mut transport).await {
            return;
        }
    }
}

impl Load {
    /// Adds the requests that may start now: up to the pipeline depth, those due by now
    /// (open loop) or all (closed loop, before the end).
    fn fill(&mut self, now: Instant) {
        let plan = &self.core.plan;
        match plan.period {
            None if now < plan.end => {
                while self.owed.len() < plan.pipeline && self.take(now) {
                    self.owed.push_back(now);
                }
            }
            None => {}
            Some(period) => {
                while self.owed.len() < plan.pipeline
                    && self.next_due <= now
                    && self.next_due < plan.end
                    && self.take(self.next_due)
                {
                    self.owed.push_back(self.next_due);
                    self.next_due += period;
                }
            }
        }
    }

    /// Takes a request starting at `at` from the `-n` budget (warm-up requests are free);
    /// false when it is spent.
    fn take(&self, at: Instant) -> bool {
        match &self.core.budget {
            Some(left) if at >= self.core.plan.measure_from => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
            _ => true,
        }
    }

    /// Whether `-n` requests have all been started.
    fn spent(&self) -> bool {
        (self.core.budget.as_ref()).is_some_and(|left| left.load(Ordering::Relaxed) == 0)
    }

    fn error(&self, kind: ErrorKind, n: u64, e: &io::Error) {
        self.core.stats.borrow_mut().errors.add_io(kind, n, e);
    }

    /// Serves one connection until it must be replaced or the run is over.
    async fn session(&mut self, transport: &mut Transport) -> End {
        let plan = self.core.plan;
        let mut sleep = time::sleep_until(plan.end);
        loop {
            let now = Instant::now();
            let over = now >= plan.end || self.spent();
            if (over && self.owed.is_empty()) || now >= plan.drain_end {
                return End::Finished;
            }
            // Send what may start now, in one batch.
            if !(plan.close && self.sent > 0) {
                self.fill(now);
            }
            if self.owed.len() > self.sent {
                if self.sent == 0 {
                    self.waiting_since = now;
                }
                let k = self.owed.len() - self.sent;
                self.sent = self.owed.len();
                if let Err(e) = transport.send(self.core.requests.batch(k)).await {
                    self.error(ErrorKind::Write, 1, &e);
                    return End::Reconnect;
                }
            }
            // Wait for data or the next deadline (moved only when it comes earlier, so
            // the common path does not touch the timer structure).
            let deadline = self.deadline();
            if deadline < sleep.deadline() || sleep.deadline() <= now {
                sleep.reset(deadline);
            }
            let wake = poll_fn(|cx| {
                if let Poll::Ready(r) = transport.poll_recv(cx) {
                    return Poll::Ready(Some(r));
                }
                Pin::new(&mut sleep).poll(cx).map(|()| None)
            })
            .await;
            match wake {
                None => {
                    if self.timed_out(Instant::now()) {
                        return End::Reconnect;
                    }
                }
                Some(Ok(Some(chunk))) => {
                    if let Some(end) = self.received(transport, chunk) {
                        return end;
                    }
                    if transport.wants_flush() {
                        if let Err(e) = transport.flush().await {
                            self.error(ErrorKind::Write, 1, &e);
                            return End::Reconnect;
                        }
                    }
                }
                Some(Ok(None)) => return self.closed_by_peer(),
                Some(Err(e)) => {
                    self.error(ErrorKind::Read, 1, &e);
                    return End::Reconnect;
                }
            }
        }
    }

    /// The earliest time something must happen without data arriving.
    fn deadline(&self) -> Instant {
        let plan = &self.core.plan;
        let mut at = plan.drain_end;
        if self.sent > 0 {
            at = at.min(self.waiting_since + plan.timeout);
        }
        if plan.period.is_some() && self.owed.len() < plan.pipeline && self.next_due < plan.end {
            at = at.min(self.next_due);
        }
        if self.owed.is_empty() {
            at = at.min(plan.end);
        }
        at
    }
}
