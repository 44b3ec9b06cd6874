//! The msghdr a core's multishot recvmsg operations point at.

/// The msghdr template every multishot recvmsg of a core points at: no name, no iovec
/// (the provided buffer is the payload), a fixed amount of control data. The kernel
/// reads it each time a receive is armed, so the driver keeps it for the ring's life.
pub(crate) struct MsgTemplate(Box<libc::msghdr>);

impl MsgTemplate {
    /// A template asking for `control_len` bytes of control data per receive.
    pub(crate) fn new(control_len: usize) -> Self {
        // SAFETY: msghdr is plain old data; all-zero is a valid empty header.
        let mut msg: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        msg.msg_controllen = control_len as _;
        MsgTemplate(msg)
    }

    /// Stable while the template lives (boxed).
    pub(crate) fn as_ptr(&self) -> *const libc::msghdr {
        &*self.0
    }
}
