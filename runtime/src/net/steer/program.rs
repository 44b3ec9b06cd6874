//! The steering program, hand-assembled: for a new connection, pick the core with the
//! lowest load among those that are running, select that core's listener from the
//! sockets map, and count the connection as on its way to that core. Ties go to the first
//! core in an order rotated by the connection's hash, so equal loads still spread. When
//! no core qualifies the program selects nothing and the kernel falls back to its hash.
//!
//! Each core's entry in the loads map is [`VALUE_SIZE`] bytes of `u64`s (times are
//! `CLOCK_MONOTONIC` nanoseconds, the clock of `bpf_ktime_get_ns`). Written by the core:
//! at [`OPEN`] its open connections, at [`ACCEPTED`] how many it accepted, at [`STAMP`]
//! when it wrote them, at [`LAG`] its remembered lag (how long it recently waited for a
//! CPU) measured at [`LAG_AT`] (sampled when the core publishes and on a periodic tick,
//! so that a starved core that is sent nothing still shows its lag). Written by this program: at [`STEERED`] how many it sent
//! the core (atomic adds), at [`PENDING_SINCE`] when it sent one while none was pending.
//!
//! The rules, per core:
//! - Its load is its open connections plus its pending ones (steered, not accepted): a
//!   core that is not running cannot lower its open count, but its pending ones count.
//! - Its lag is the larger of its remembered lag (halving every `2^lag_shift` ns since
//!   it was measured) and how long its pending connections have waited since it last
//!   published. A core with nothing pending waits for nothing, however old its entry:
//!   it is idle, sleeping in its ring, and the kernel wakes it with the connection.
//!   Cores publish only when they have work, so an old entry alone says nothing.
//!   Pending connections older than the settle time are taken for handshakes that never
//!   completed and add no wait (the core forgets them when it next publishes).
//! - Only the cores whose lag is at most twice the lowest lag plus a slack compete, and
//!   the lowest load among them wins. A core that runs only in rare slices looks idle
//!   right after each slice; its remembered lag is what tells it apart. A core that is
//!   not running now (preempted, or busy in one long task) shows it by the wait of the
//!   connections already sent to it. The core with the lowest lag always competes, so no
//!   rule leaves no core: the kernel's hash decides only when no entry can be read.

use std::os::fd::{AsRawFd, OwnedFd};

/// Bytes of one core's entry in the loads map.
pub(super) const VALUE_SIZE: u32 = 64;
/// Offsets in a core's entry (see the module's doc).
pub(super) const OPEN: usize = 0;
/// When the core last wrote its entry.
pub(super) const STAMP: usize = 8;
/// Connections the program sent to the core.
pub(super) const STEERED: usize = 16;
/// Connections the core accepted.
pub(super) const ACCEPTED: usize = 24;
/// When the program sent the core a connection while none was pending.
pub(super) const PENDING_SINCE: usize = 32;
/// The core's remembered lag, in nanoseconds.
pub(super) const LAG: usize = 40;
/// When the core measured its lag.
pub(super) const LAG_AT: usize = 48;

/// One `struct bpf_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct Insn {
    code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

// Opcodes (class | operation | source).
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const ADD64_K: u8 = 0x07;
const SUB64_K: u8 = 0x17;
const SUB64_X: u8 = 0x1f;
const ADD64_X: u8 = 0x0f;
const ATOMIC_DW: u8 = 0xdb;
const JNE_K: u8 = 0x55;
const MOD64_K: u8 = 0x97;
const LD_IMM64: u8 = 0x18;
const LDX_W: u8 = 0x61;
const LDX_DW: u8 = 0x79;
const STX_W: u8 = 0x63;
const STX_DW: u8 = 0x7b;
const JEQ_K: u8 = 0x15;
const JGE_X: u8 = 0x3d;
const JLT_K: u8 = 0xa5;
const JSGT_K: u8 = 0x65;
const JSLE_K: u8 = 0xd5;
const JGT_X: u8 = 0x2d;
const RSH64_K: u8 = 0x77;
const RSH64_X: u8 = 0x7f;
const LSH64_K: u8 = 0x67;
const ST_DW: u8 = 0x7a;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

// Helpers.
const MAP_LOOKUP_ELEM: i32 = 1;
const KTIME_GET_NS: i32 = 5;
const SK_SELECT_REUSEPORT: i32 = 82;

/// `BPF_PSEUDO_MAP_FD`: the 64-bit immediate is a map's fd.
const PSEUDO_MAP_FD: u8 = 1;
/// `offsetof(struct sk_reuseport_md, hash)`.
const CTX_HASH: i16 = 32;
/// `SK_PASS`.
const SK_PASS: i32 = 1;

/// Registers: r6 the context, r7 the lowest load so far, r8 its core (or -1), r9 now.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const FP: u8 = 10;

/// Stack slots: the key passed to helpers, the rotation's start, the lowest lag of the
/// available cores and the highest lag that still qualifies.
const KEY: i16 = -4;
const START: i16 = -16;
const MIN_LAG: i16 = -24;
const LAG_LIMIT: i16 = -32;

/// An instruction list with forward jumps patched once their target is known.
struct Asm {
    insns: Vec<Insn>,
}

impl Asm {
    fn push(&mut self, i: Insn) -> usize {
        self.insns.push(i);
        self.insns.len() - 1
    }

    fn load_map(&mut self, dst: u8, map: &OwnedFd) {
        self.push(insn(LD_IMM64, dst, PSEUDO_MAP_FD, 0, map.as_raw_fd()));
        self.push(insn(0, 0, 0, 0, 0));
    }

    /// Points the jump at `at` to the next instruction to be pushed.
    fn land(&mut self, at: usize) {
        self.insns[at].off = (self.insns.len() - at - 1) as i16;
    }
}

/// The thresholds of the program's rules (see the module's doc), in nanoseconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    /// When pending connections are taken for handshakes that never completed.
    pub(super) settle_ns: i32,
    /// Lag above twice the lowest that still counts as the same.
    pub(super) lag_slack_ns: i32,
    /// A remembered lag halves every `2^lag_shift` nanoseconds.
    pub(super) lag_shift: i32,
}

/// r0 = the `loads` entry of the core whose index is at `KEY` on the stack; returns the
/// jump taken when there is none (to be landed by the caller).
fn lookup_key(a: &mut Asm, loads: &OwnedFd) -> usize {
    a.push(insn(MOV64_X, R2, FP, 0, 0));
    a.push(insn(ADD64_K, R2, 0, 0, KEY as i32));
    a.load_map(R1, loads);
    a.push(insn(CALL, 0, 0, 0, MAP_LOOKUP_ELEM));
    a.push(insn(JEQ_K, R0, 0, 0, 0))
}

/// Emits the reading of one core's entry, the `step`th in the rotated order: leaves its
/// key at [`KEY`], its load in r1 and its lag in r2 (the larger of its remembered lag,
/// decayed, and how long its pending connections have waited), or jumps (the returned
/// jump, to be landed after the caller's use of them) when the core has no entry.
fn read_entry(a: &mut Asm, cores: u32, step: u32, loads: &OwnedFd, rules: Rules) -> usize {
    // key = (start + step) % cores
    a.push(insn(LDX_DW, R1, FP, START, 0));
    a.push(insn(ADD64_K, R1, 0, 0, step as i32));
    a.push(insn(JLT_K, R1, 0, 1, cores as i32));
    a.push(insn(SUB64_K, R1, 0, 0, cores as i32));
    a.push(insn(STX_W, FP, R1, KEY, 0));
    let missing = lookup_key(a, loads);
    // pending = max(0, steered - accepted)
    a.push(insn(LDX_DW, R1, R0, STEERED as i16, 0));
    a.push(insn(LDX_DW, R2, R0, ACCEPTED as i16, 0));
    a.push(insn(SUB64_X, R1, R2, 0, 0));
    a.push(insn(JSGT_K, R1, 0, 1, 0));
    a.push(insn(MOV64_K, R1, 0, 0, 0));
    // wait (r5) = now - max(stamp, pending since) when something is pending; 0 when
    // nothing is, when it is from the future, or past the settle time.
    a.push(insn(MOV64_K, R5, 0, 0, 0));
    let idle = a.push(insn(JEQ_K, R1, 0, 0, 0));
    a.push(insn(LDX_DW, R2, R0, STAMP as i16, 0));
    a.push(insn(LDX_DW, R3, R0, PENDING_SINCE as i16, 0));
    a.push(insn(JGE_X, R2, R3, 1, 0));
    a.push(insn(MOV64_X, R2, R3, 0, 0));
    a.push(insn(MOV64_X, R5, R9, 0, 0));
    a.push(insn(SUB64_X, R5, R2, 0, 0));
    a.push(insn(JSGT_K, R5, 0, 1, 0));
    a.push(insn(MOV64_K, R5, 0, 0, 0));
    a.push(insn(JSLE_K, R5, 0, 1, rules.settle_ns));
    a.push(insn(MOV64_K, R5, 0, 0, 0));
    a.land(idle);
    // load = open + pending
    a.push(insn(LDX_DW, R2, R0, OPEN as i16, 0));
    a.push(insn(ADD64_X, R1, R2, 0, 0));
    // lag = max(wait, lag >> min(63, max(0, now - lag_at) >> lag_shift))
    a.push(insn(LDX_DW, R2, R0, LAG as i16, 0));
    a.push(insn(LDX_DW, R3, R0, LAG_AT as i16, 0));
    a.push(insn(MOV64_X, R4, R9, 0, 0));
    a.push(insn(SUB64_X, R4, R3, 0, 0));
    a.push(insn(JSGT_K, R4, 0, 1, 0));
    a.push(insn(MOV64_K, R4, 0, 0, 0));
    a.push(insn(RSH64_K, R4, 0, 0, rules.lag_shift));
    a.push(insn(JLT_K, R4, 0, 1, 64));
    a.push(insn(MOV64_K, R4, 0, 0, 63));
    a.push(insn(RSH64_X, R2, R4, 0, 0));
    a.push(insn(JGE_X, R2, R5, 1, 0));
    a.push(insn(MOV64_X, R2, R5, 0, 0));
    missing
}

/// The program for `cores` cores: `loads` is the array map of the cores' loads, `sockets`
/// the `REUSEPORT_SOCKARRAY` of their listeners. Two passes over the cores: the first
/// finds the lowest lag, the second the lowest load of the cores whose lag is close
/// enough to it.
pub(super) fn steering(cores: u32, loads: &OwnedFd, sockets: &OwnedFd, rules: Rules) -> Vec<Insn> {
    let mut a = Asm { insns: Vec::new() };
    a.push(insn(MOV64_X, R6, R1, 0, 0));
    a.push(insn(LDX_W, R1, R6, CTX_HASH, 0));
    a.push(insn(MOD64_K, R1, 0, 0, cores as i32));
    a.push(insn(STX_DW, FP, R1, START, 0));
    a.push(insn(CALL, 0, 0, 0, KTIME_GET_NS));
    a.push(insn(MOV64_X, R9, R0, 0, 0));
    a.push(insn(ST_DW, FP, 0, MIN_LAG, -1));
    for step in 0..cores {
        let mut skip = vec![read_entry(&mut a, cores, step, loads, rules)];
        a.push(insn(LDX_DW, R3, FP, MIN_LAG, 0));
        skip.push(a.push(insn(JGE_X, R2, R3, 0, 0)));
        a.push(insn(STX_DW, FP, R2, MIN_LAG, 0));
        for at in skip {
            a.land(at);
        }
    }
    // No core available: the kernel hashes.
    a.push(insn(LDX_DW, R1, FP, MIN_LAG, 0));
    let no_core = a.push(insn(JEQ_K, R1, 0, 0, -1));
    a.push(insn(LSH64_K, R1, 0, 0, 1));
    a.push(insn(ADD64_K, R1, 0, 0, rules.lag_slack_ns));
    a.push(insn(STX_DW, FP, R1, LAG_LIMIT, 0));
    a.push(insn(MOV64_K, R7, 0, 0, -1));
    a.push(insn(MOV64_K, R8, 0, 0, -1));
    for step in 0..cores {
        let mut skip = vec![read_entry(&mut a, cores, step, loads, rules)];
        a.push(insn(LDX_DW, R3, FP, LAG_LIMIT, 0));
        skip.push(a.push(insn(JGT_X, R2, R3, 0, 0)));
        skip.push(a.push(insn(JGE_X, R1, R7, 0, 0)));
        a.push(insn(MOV64_X, R7, R1, 0, 0));
        a.push(insn(LDX_W, R8, FP, KEY, 0));
        for at in skip {
            a.land(at);
        }
    }
    let none = a.push(insn(JEQ_K, R8, 0, 0, -1));
    a.push(insn(STX_W, FP, R8, KEY, 0));
    a.push(insn(MOV64_X, R1, R6, 0, 0));
    a.load_map(R2, sockets);
    a.push(insn(MOV64_X, R3, FP, 0, 0));
    a.push(insn(ADD64_K, R3, 0, 0, KEY as i32));
    a.push(insn(MOV64_K, R4, 0, 0, 0));
    a.push(insn(CALL, 0, 0, 0, SK_SELECT_REUSEPORT));
    let not_selected = a.push(insn(JNE_K, R0, 0, 0, 0));
    // Selected: count it as on its way to that core (the key is still on the stack), and
    // if none was pending there, note that one is from now.
    let missing = lookup_key(&mut a, loads);
    a.push(insn(LDX_DW, R1, R0, STEERED as i16, 0));
    a.push(insn(LDX_DW, R2, R0, ACCEPTED as i16, 0));
    a.push(insn(JGT_X, R1, R2, 1, 0));
    a.push(insn(STX_DW, R0, R9, PENDING_SINCE as i16, 0));
    a.push(insn(MOV64_K, R1, 0, 0, 1));
    a.push(insn(ATOMIC_DW, R0, R1, STEERED as i16, 0)); // imm 0: BPF_ADD
    for at in [no_core, none, not_selected, missing] {
        a.land(at);
    }
    // SK_PASS whether or not a listener was selected: without one, the kernel hashes.
    a.push(insn(MOV64_K, R0, 0, 0, SK_PASS));
    a.push(insn(EXIT, 0, 0, 0, 0));
    a.insns
}

/// A program that exits without setting its result, which the verifier refuses.
#[cfg(test)]
pub(super) fn exit_only() -> Vec<Insn> {
    vec![insn(EXIT, 0, 0, 0, 0)]
}
