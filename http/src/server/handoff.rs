//! Handing accepted connections to a healthy core in `steered` mode: a core that finds
//! itself lagging when a batch of accepts arrives passes that batch to the healthy core
//! with the lowest load instead of serving it in its own later slices (the rule:
//! `coreline_runtime::net::SteerLoads::hand_off_target`). Each core, for each steered
//! listener, runs [`adopt_loop`], which serves what other cores hand it as its own
//! accepted connections.
//!
//! Counting: the lagging core counts the connection as handed off (metric
//! `coreline_http_connections_handed_off_total`) and removes it from its pending count
//! in the steering map (`SteerLoads::took_over`); the target counts it as accepted, as
//! for any connection it serves. Nothing is served twice: the fd moves through the inbox
//! once. At shutdown a core closes its inbox before its connections drain and serves
//! what was left in it; a hand-off to a closed inbox comes back, and the lagging core
//! serves the connection itself.

use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use coreline_runtime::net::{SteerGroup, TcpStream};

use super::accept::{start_connection, Stop};
use super::steal::Steal;
use crate::conn::ConnRegistry;
use crate::Handler;

/// A listener's hand-off decision for the current batch of accepts.
pub(crate) struct BatchHandOff {
    /// The core this batch goes to; `None`: this core serves it.
    target: Option<usize>,
}

impl BatchHandOff {
    /// Decides for a batch that starts now: asks the registry whether this core lags
    /// (one look at the steering map when nobody does).
    pub(crate) fn decide(core: &ConnRegistry) -> BatchHandOff {
        BatchHandOff {
            target: core.hand_off_target(),
        }
    }

    /// Hands `stream` to the batch's target, or gives it back to be served here (no
    /// target, or the target stopped adopting).
    pub(crate) fn pass(
        &self,
        group: &SteerGroup,
        me: usize,
        core: &ConnRegistry,
        stream: TcpStream,
    ) -> Option<TcpStream> {
        let Some(to) = self.target else {
            return Some(stream);
        };
        match group.hand_off(to, stream) {
            Ok(()) => {
                group.loads().took_over(me);
                if let Some(m) = core.metrics.as_deref() {
                    m.handed_off();
                }
                None
            }
            Err(stream) => Some(stream),
        }
    }
}

/// Serves the connections other cores hand this core for one steered listener until
/// `stop`; then closes this core's inbox and serves what was still in it.
pub(crate) async fn adopt_loop<H: Handler>(steal: Steal<H>, stop: Rc<Stop>) {
    loop {
        let handed = poll_fn(|cx| {
            if stop.is_stopped() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(streams) = steal.group.poll_handed(steal.me, cx) {
                return Poll::Ready(Some(streams));
            }
            stop.set_waker(cx.waker());
            Poll::Pending
        })
        .await;
        let Some(streams) = handed else { break };
        for stream in streams {
            start_connection(stream, &steal.tls, &steal.core, &steal.handler);
        }
    }
    for stream in steal.group.close_inbox(steal.me) {
        start_connection(stream, &steal.tls, &steal.core, &steal.handler);
    }
}
