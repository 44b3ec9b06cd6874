//! Kernel receive timestamps (opt-in, [`Builder::rx_timestamps`](crate::Builder::rx_timestamps)):
//! how long received bytes waited between the kernel's receive and the core's reap of
//! their completion.
//!
//! Listeners get `SO_TIMESTAMPING` with `SOF_TIMESTAMPING_RX_SOFTWARE |
//! SOF_TIMESTAMPING_SOFTWARE` when bound (accepted sockets inherit it; other streams get it
//! when their receive is first armed), and streams receive with a
//! multishot `IORING_OP_RECVMSG` on the same provided buffers instead of a multishot
//! recv. Each buffer then starts with an `io_uring_recvmsg_out` header and a control area
//! holding the `SCM_TIMESTAMPING` message (a `CLOCK_REALTIME` stamp); the payload follows.
//! The delay is that stamp against the realtime clock at the reap (derived from the loop
//! clock: the loop reads the realtime clock too, once per iteration, only when this is on).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use crate::buf_ring::RecvBuf;
use crate::context::{with_core, with_driver};
use crate::driver::MsgTemplate;

/// `SO_TIMESTAMPING` (= `SCM_TIMESTAMPING`, the "old" one with native 64-bit `timespec`s
/// on 64-bit targets; the libc crate does not export it for Linux).
const SO_TIMESTAMPING: i32 = 37;
/// `struct io_uring_recvmsg_out`: name, control and payload lengths, and flags (4 × u32).
const HEADER_LEN: usize = 16;
/// `struct cmsghdr`: length (usize), level and type (i32 each), on 64-bit Linux.
const CMSG_HEADER_LEN: usize = 16;
/// `struct scm_timestamping`: three timespecs (software, deprecated, hardware).
const SCM_TIMESTAMPING_LEN: usize = 48;
/// Control area reserved in each buffer: `CMSG_SPACE(sizeof(struct scm_timestamping))`.
const CONTROL_LEN: usize = CMSG_HEADER_LEN + SCM_TIMESTAMPING_LEN;
/// Where the payload starts in a buffer filled by the multishot recvmsg.
pub(crate) const PAYLOAD_OFFSET: usize = HEADER_LEN + CONTROL_LEN;

/// The msghdr template of a core whose receives bring timestamps: room for one
/// `SCM_TIMESTAMPING` control message ([`CONTROL_LEN`] bytes).
pub(crate) fn msg_template() -> MsgTemplate {
    MsgTemplate::new(CONTROL_LEN)
}

/// Whether receive timestamps are on for the calling core (false outside a runtime).
pub(crate) fn on_this_core() -> bool {
    crate::context::try_with_core(|c| c.driver.borrow().rx_msg.is_some()).unwrap_or(false)
}

/// Turns software receive timestamps on for `fd`.
pub(crate) fn enable(fd: RawFd) -> io::Result<()> {
    let flags = (libc::SOF_TIMESTAMPING_RX_SOFTWARE | libc::SOF_TIMESTAMPING_SOFTWARE) as i32;
    crate::sys::set_int_opt(fd, libc::SOL_SOCKET, SO_TIMESTAMPING, flags)
}

/// What a buffer filled by the multishot recvmsg (`buf`: the bytes the CQE reported)
/// holds: the payload length and, if the kernel stamped it, the delay from its receive to
/// the reap at loop clock `reaped_us`, in µs. `origin_ns` is the realtime at loop clock 0
/// (0 while unknown: no delay).
pub(crate) fn parse(buf: &[u8], reaped_us: u64, origin_ns: u64) -> (usize, Option<u64>) {
    let payload = buf.len().saturating_sub(PAYLOAD_OFFSET);
    let u32_at = |at: usize| {
        buf.get(at..at + 4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
    };
    let controllen = u32_at(4).unwrap_or(0) as usize;
    if controllen < CONTROL_LEN {
        return (payload, None);
    }
    let control = &buf[HEADER_LEN..PAYLOAD_OFFSET];
    let i32_at = |at: usize| i32::from_ne_bytes(control[at..at + 4].try_into().unwrap());
    let i64_at = |at: usize| i64::from_ne_bytes(control[at..at + 8].try_into().unwrap());
    if i32_at(8) != libc::SOL_SOCKET || i32_at(12) != SO_TIMESTAMPING {
        return (payload, None);
    }
    let (sec, nsec) = (i64_at(CMSG_HEADER_LEN), i64_at(CMSG_HEADER_LEN + 8));
    if sec <= 0 || origin_ns == 0 {
        return (payload, None);
    }
    let kernel_ns = (sec as u64).saturating_mul(1_000_000_000) + nsec as u64;
    let reaped_ns = origin_ns + reaped_us * 1000;
    // A stamp after the reap means the realtime clock stepped: no sample.
    let delay = reaped_ns.checked_sub(kernel_ns).map(|d| d / 1000);
    (payload, delay)
}

/// The SQE of a stream's multishot receive: a recvmsg with timestamps if they are on for
/// this core and `setsockopt` took (decided on the first call, kept in `stamped`), else a
/// plain multishot recv.
pub(crate) fn recv_sqe(fd: RawFd, group: u16, stamped: &mut Option<bool>) -> squeue::Entry {
    let msg = with_driver(|d| d.rx_msg.as_ref().map(MsgTemplate::as_ptr));
    let on = *stamped.get_or_insert_with(|| msg.is_some() && enable(fd).is_ok());
    match msg.filter(|_| on) {
        Some(msg) => opcode::RecvMsgMulti::new(types::Fd(fd), msg, group).build(),
        None => opcode::RecvMulti::new(types::Fd(fd), group).build(),
    }
}

/// A recvmsg buffer's payload (`None`: empty, the peer's EOF); records its receive delay.
pub(crate) fn payload(mut buf: RecvBuf) -> Option<RecvBuf> {
    let reaped_us = buf.reaped_at_us();
    let len = with_core(|c| {
        let mut metrics = c.metrics.borrow_mut();
        let (len, delay) = parse(&buf, reaped_us, metrics.realtime_origin_ns());
        if let Some(us) = delay {
            metrics.record_rx_delay(us);
        }
        len
    });
    if len == 0 {
        return None;
    }
    buf.narrow(PAYLOAD_OFFSET, len);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer as the kernel lays it out: header, one SCM_TIMESTAMPING cmsg, payload.
    fn filled(controllen: u32, sec: i64, nsec: i64, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0u32, controllen, payload.len() as u32, 0] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        b.extend_from_slice(&(CONTROL_LEN as u64).to_ne_bytes());
        b.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        b.extend_from_slice(&SO_TIMESTAMPING.to_ne_bytes());
        b.extend_from_slice(&sec.to_ne_bytes());
        b.extend_from_slice(&nsec.to_ne_bytes());
        b.resize(PAYLOAD_OFFSET, 0);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn payload_and_delay_from_a_filled_buffer() {
        // Loop clock 0 = 1000 s after the epoch; reaped at loop clock 2 s.
        let origin = 1_000_000_000_000;
        let reaped_us = 2_000_000;
        // Stamped at 1001.5 s: 0.5 s before the reap.
        let buf = filled(CONTROL_LEN as u32, 1001, 500_000_000, b"GET /");
        assert_eq!(parse(&buf, reaped_us, origin), (5, Some(500_000)));
        // No control message: the payload, no sample.
        assert_eq!(
            parse(&filled(0, 1001, 0, b"xy"), reaped_us, origin),
            (2, None)
        );
        // A stamp after the reap (the realtime clock stepped back): no sample.
        assert_eq!(
            parse(
                &filled(CONTROL_LEN as u32, 1003, 0, b"z"),
                reaped_us,
                origin
            ),
            (1, None)
        );
        // EOF: header and control area only.
        assert_eq!(
            parse(&filled(CONTROL_LEN as u32, 1001, 0, b""), reaped_us, origin).0,
            0
        );
    }
}
