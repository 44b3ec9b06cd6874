//! Ring setup: probe the fast setup flags, fall back step by step, record what was chosen.

use std::fmt;

use io_uring::{opcode, IoUring, Probe};

use crate::error::{explain_setup_failure, Error};

/// Which io_uring setup flags a core's ring was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingFlags {
    /// `IORING_SETUP_SINGLE_ISSUER`: only the owning thread submits.
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN`: completion work runs only when we enter the ring.
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN`: no IPI to interrupt us for completion work.
    pub coop_taskrun: bool,
    /// `IORING_SETUP_TASKRUN_FLAG`: the kernel flags pending completion work in the SQ ring.
    pub taskrun_flag: bool,
    /// `IORING_SETUP_NO_SQARRAY` (Linux 6.6): the kernel reads SQEs in order, without the
    /// index array between the SQ tail and the entries (one memory read less per SQE).
    pub no_sqarray: bool,
}

impl fmt::Display for RingFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.single_issuer, "SINGLE_ISSUER"),
            (self.defer_taskrun, "DEFER_TASKRUN"),
            (self.coop_taskrun, "COOP_TASKRUN"),
            (self.taskrun_flag, "TASKRUN_FLAG"),
            (self.no_sqarray, "NO_SQARRAY"),
        ];
        let chosen: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        if chosen.is_empty() {
            f.write_str("(no optional flags)")
        } else {
            f.write_str(&chosen.join("|"))
        }
    }
}

/// What the ring on one core looks like: flags chosen and, if any were dropped, why.
#[derive(Debug, Clone)]
pub struct RingInfo {
    /// Submission queue entries.
    pub sq_entries: u32,
    /// Completion queue entries.
    pub cq_entries: u32,
    /// The setup flags in force.
    pub flags: RingFlags,
    /// The flag sets that were tried and refused before `flags` worked.
    pub refused: Vec<RingFlags>,
    /// Whether the kernel supports `IORING_OP_SEND_ZC`.
    pub send_zc: bool,
    /// Slots in the ring's table of direct (registered) descriptors; 0 when the runtime
    /// asked for none or the kernel refused the table.
    pub fixed_files: u32,
    /// Whether the kernel has `IORING_FEAT_RECVSEND_BUNDLE` (Linux 6.10): receives and
    /// sends that take several provided buffers at once.
    pub bundles_supported: bool,
    /// Whether multishot receives use bundles (asked for with
    /// [`Builder::recv_bundles`](crate::Builder::recv_bundles), and supported).
    pub recv_bundles: bool,
    /// Whether the provided-buffer ring is consumed incrementally (`IOU_PBUF_RING_INC`,
    /// Linux 6.12; asked for with
    /// [`Builder::incremental_recv_buffers`](crate::Builder::incremental_recv_buffers)).
    pub incremental_buffers: bool,
    /// Buffers registered for sends on this core ([`RegisteredBuf`](crate::ops::RegisteredBuf)).
    pub registered_buffers: u32,
    /// The operation sends from registered buffers use (stepped down at the first refusal).
    pub registered_send: RegisteredSendOp,
    /// Whether sends from a [`SendRing`](crate::ops::SendRing) go out as bundles
    /// (`IORING_RECVSEND_BUNDLE` on `IORING_OP_SEND`): the kernel has them and has not
    /// refused one; otherwise its buffers go out one plain send each.
    pub send_bundles: bool,
}

/// How this core sends from a [`RegisteredBuf`](crate::ops::RegisteredBuf): tried in this
/// order, each kept until the kernel refuses it with `EINVAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegisteredSendOp {
    /// `IORING_OP_SEND` with `IORING_RECVSEND_FIXED_BUF` (kernels after 6.18).
    #[default]
    Send,
    /// `IORING_OP_SEND_ZC` with `IORING_RECVSEND_FIXED_BUF` (Linux 6.0): two completions
    /// per send, the second when the kernel let go of the pages.
    SendZc,
    /// A plain send of the same bytes (registration refused, or neither of the above).
    Plain,
}

/// The flag sets we try, best first. DEFER_TASKRUN needs SINGLE_ISSUER. Each set is tried
/// with NO_SQARRAY first (when wanted), then without: kernels before 6.6 refuse it alone.
fn candidates(wanted: RingFlags) -> Vec<RingFlags> {
    let all = [
        RingFlags {
            single_issuer: true,
            defer_taskrun: true,
            coop_taskrun: true,
            taskrun_flag: true,
            no_sqarray: false,
        },
        RingFlags {
            single_issuer: true,
            defer_taskrun: false,
            coop_taskrun: true,
            taskrun_flag: true,
            no_sqarray: false,
        },
        RingFlags {
            single_issuer: false,
            defer_taskrun: false,
            coop_taskrun: true,
            taskrun_flag: true,
            no_sqarray: false,
        },
        RingFlags::default(),
    ];
    all.into_iter()
        .filter(|c| {
            (!c.single_issuer || wanted.single_issuer)
                && (!c.defer_taskrun || wanted.defer_taskrun)
                && (!c.coop_taskrun || wanted.coop_taskrun)
                && (!c.taskrun_flag || wanted.taskrun_flag)
        })
        .flat_map(|c| {
            let with = RingFlags {
                no_sqarray: true,
                ..c
            };
            wanted.no_sqarray.then_some(with).into_iter().chain([c])
        })
        .collect()
}

/// Opcodes the runtime cannot work without (multishot accept/recv come with these kernels).
const REQUIRED: &[(u8, &str)] = &[
    (opcode::Accept::CODE, "ACCEPT"),
    (opcode::Recv::CODE, "RECV"),
    (opcode::Send::CODE, "SEND"),
    (opcode::SendMsg::CODE, "SENDMSG"),
    (opcode::Read::CODE, "READ"),
    (opcode::Write::CODE, "WRITE"),
    (opcode::Connect::CODE, "CONNECT"),
    (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
    (opcode::Timeout::CODE, "TIMEOUT"),
    (opcode::OpenAt::CODE, "OPENAT"),
    (opcode::Statx::CODE, "STATX"),
    (opcode::Close::CODE, "CLOSE"),
    (opcode::Splice::CODE, "SPLICE"),
    (opcode::Shutdown::CODE, "SHUTDOWN"),
];

/// Creates the ring with the best flag set the kernel accepts.
///
/// All four taskrun/issuer flags together are preferred (DEFER_TASKRUN needs SINGLE_ISSUER; with it COOP is
/// implied, but asking costs nothing); older kernels fall back to COOP + TASKRUN_FLAG, then none.
pub(crate) fn setup(entries: u32, wanted: RingFlags) -> Result<(IoUring, RingInfo), Error> {
    let mut refused = Vec::new();
    let mut last_err = None;
    for flags in candidates(wanted) {
        let mut b = IoUring::builder();
        b.setup_cqsize(entries.saturating_mul(4)).setup_clamp();
        if flags.single_issuer {
            b.setup_single_issuer();
        }
        if flags.defer_taskrun {
            b.setup_defer_taskrun();
        }
        if flags.coop_taskrun {
            b.setup_coop_taskrun();
        }
        if flags.taskrun_flag {
            b.setup_taskrun_flag();
        }
        if flags.no_sqarray {
            b.setup_no_sqarray();
        }
        match b.build(entries) {
            Ok(ring) => {
                let send_zc = check_features(&ring)?;
                let info = RingInfo {
                    sq_entries: ring.params().sq_entries(),
                    cq_entries: ring.params().cq_entries(),
                    flags,
                    refused,
                    send_zc,
                    fixed_files: 0,
                    bundles_supported: ring.params().is_feature_recvsend_bundle(),
                    recv_bundles: false,
                    incremental_buffers: false,
                    registered_buffers: 0,
                    send_bundles: ring.params().is_feature_recvsend_bundle(),
                    registered_send: if send_zc {
                        RegisteredSendOp::Send
                    } else {
                        RegisteredSendOp::Plain
                    },
                };
                return Ok((ring, info));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                refused.push(flags);
                last_err = Some(e);
            }
            Err(e) => return Err(explain_setup_failure(e, entries)),
        }
    }
    Err(explain_setup_failure(
        last_err.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL)),
        entries,
    ))
}

/// Checks the kernel features and opcodes we rely on; returns whether SEND_ZC exists.
fn check_features(ring: &IoUring) -> Result<bool, Error> {
    let params = ring.params();
    if !params.is_feature_ext_arg() || !params.is_feature_nodrop() {
        return Err(Error::Unsupported(
            "IORING_FEAT_EXT_ARG and IORING_FEAT_NODROP (Linux 5.11+); this runtime needs 6.0+"
                .into(),
        ));
    }
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| Error::Unsupported(format!("io_uring opcode probe failed: {e}")))?;
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|(code, _)| !probe.is_supported(*code))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Unsupported(format!(
            "opcodes {} (needs Linux 6.0 or newer)",
            missing.join(", ")
        )));
    }
    Ok(probe.is_supported(opcode::SendZc::CODE))
}

/// Registers a sparse table of `slots` direct descriptors; returns the slots in force
/// (0 when none were asked for or the kernel refused: callers then use real fds).
pub(crate) fn register_fixed_table(ring: &IoUring, slots: u32) -> u32 {
    if slots == 0 {
        return 0;
    }
    match ring.submitter().register_files_sparse(slots) {
        Ok(()) => slots,
        Err(e) => {
            log::warn!("coreline: no table of {slots} direct descriptors ({e}); using fds");
            0
        }
    }
}
