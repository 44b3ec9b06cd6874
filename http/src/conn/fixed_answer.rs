//! Answering a request with the handler's [`FixedResponse`] straight from its parsed head,
//! for requests `take_request` did not build (see `Handler::fixed_response`).
//!
//! It does what the ordinary path does for such a request, in the same order, minus the
//! request and response structs: the send-rate clock and the body state are reset, the
//! start is stamped, the response is counted, and the head and body are appended to the
//! output. The access log is off whenever this runs (its line needs the request).

use super::io::ConnIo;
use super::request::Head;
use super::response::After;
use crate::encode::Persistence;
use crate::metrics::ResponseKind;
use crate::FixedResponse;

impl ConnIo {
    /// Queues `fixed` as the answer to the request of `head`; `keep`: the connection may
    /// stay open after it (the client's wish, shutdown and the request limit).
    pub(super) fn answer_fixed(&self, fixed: &FixedResponse, head: &Head, keep: bool) -> After {
        self.reset_send_rate();
        self.end_body();
        self.stamp_started();
        self.clear_deadline();
        let status = fixed.status();
        if let Some(m) = self.registry.metrics.as_deref() {
            m.responded(status, ResponseKind::Handler);
        }
        let keep = keep && !fixed.closes();
        let persistence = Persistence::of(keep, head.version);
        self.with_out(|out| {
            super::response::head_start(self, out, status);
            fixed.write_rest(out, persistence, head.is_head);
        });
        if keep {
            After::KeepAlive
        } else {
            After::Close
        }
    }
}
