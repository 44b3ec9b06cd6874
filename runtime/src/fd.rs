//! `SharedFd`: an fd that stays open while any in-flight operation still names it.
//!
//! An SQE names its file by number. If the owner closed the fd while the SQE was queued
//! or running, the number could be reused by another core's accept and the op would act
//! on the wrong file. Every op therefore holds a clone of the `SharedFd`; the fd closes
//! when the last clone (the owner's or an abandoned op's) goes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

/// A reference-counted owned fd, shared by its owner and the ops that use it.
#[derive(Debug, Clone)]
pub struct SharedFd(Rc<OwnedFd>);

impl SharedFd {
    /// Takes ownership of `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        SharedFd(Rc::new(fd))
    }

    /// The raw fd number (valid while this `SharedFd` lives).
    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// The `OwnedFd` if no op holds it any more, else a duplicate of it (the original
    /// closes when the last op lets go).
    pub(crate) fn into_owned(self) -> std::io::Result<OwnedFd> {
        match self.try_unwrap() {
            Ok(fd) => Ok(fd),
            Err(shared) => crate::sys::dup(shared.raw()),
        }
    }

    /// Gives back the `OwnedFd` if no op holds it any more.
    pub fn try_unwrap(self) -> Result<OwnedFd, SharedFd> {
        Rc::try_unwrap(self.0).map_err(SharedFd)
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.raw()
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<OwnedFd> for SharedFd {
    fn from(fd: OwnedFd) -> Self {
        SharedFd::new(fd)
    }
}

/// Types that own a [`SharedFd`] and can lend it to operations such as
/// [`splice`](crate::ops::splice).
pub trait AsSharedFd {
    /// The shared fd.
    fn as_shared_fd(&self) -> &SharedFd;
}

impl AsSharedFd for SharedFd {
    fn as_shared_fd(&self) -> &SharedFd {
        self
    }
}

/// A direct descriptor: a slot of the core's registered file table, named in SQEs with
/// `IOSQE_FIXED_FILE` (no per-operation file lookup or reference count in the kernel).
/// It is not a real fd: system calls (`setsockopt`, `getpeername`, `splice`) cannot use it.
///
/// Like [`SharedFd`], clones are held by the ops in flight; the slot is closed (through
/// the ring, at the core's next enter) when the last clone goes.
#[derive(Debug, Clone)]
pub struct FixedFd(Rc<FixedSlot>);

#[derive(Debug)]
struct FixedSlot {
    index: u32,
    /// The driver's queue of slots to close; the drop may run inside the driver.
    closes: Rc<std::cell::RefCell<Vec<u32>>>,
}

impl FixedFd {
    /// Owns slot `index` of the current core's table.
    pub(crate) fn new(index: u32) -> Self {
        let closes = crate::context::with_driver(|d| d.fixed_closes.clone());
        FixedFd(Rc::new(FixedSlot { index, closes }))
    }

    /// The slot's index in the core's table.
    pub fn index(&self) -> u32 {
        self.0.index
    }
}

impl Drop for FixedSlot {
    fn drop(&mut self) {
        self.closes.borrow_mut().push(self.index);
    }
}
