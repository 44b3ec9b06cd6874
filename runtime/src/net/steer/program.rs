//! The steering program, hand-assembled: for a new connection, pick the core with the
//! lowest load among those whose entry in the loads map is fresh enough to trust, select
//! that core's listener from the sockets map, and count the connection as on its way to
//! that core. Ties go to the first core in an order rotated by the connection's hash, so
//! equal loads still spread. When no entry is fresh the program selects nothing and the
//! kernel falls back to its hash.
//!
//! Each core's entry in the loads map is [`VALUE_SIZE`] bytes of `u64`s: at [`OPEN`] its
//! open connections and at [`STAMP`] when it wrote them (`CLOCK_MONOTONIC` nanoseconds,
//! the clock of `bpf_ktime_get_ns`), at [`ACCEPTED`] how many it accepted, all written by
//! the core; at [`STEERED`] how many this program sent it (atomic adds). A core's load is
//! its open connections plus those steered to it and not accepted yet: a core that is
//! not running (preempted, or busy in one long task) cannot lower its open count, but
//! its unaccepted ones still count against it.

use std::os::fd::{AsRawFd, OwnedFd};

/// Bytes of one core's entry in the loads map.
pub(super) const VALUE_SIZE: u32 = 32;
/// Offsets in a core's entry (see the module's doc).
pub(super) const OPEN: usize = 0;
/// When the core last wrote its entry.
pub(super) const STAMP: usize = 8;
/// Connections the program sent to the core.
pub(super) const STEERED: usize = 16;
/// Connections the core accepted.
pub(super) const ACCEPTED: usize = 24;

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
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const FP: u8 = 10;

/// Stack slots: the key passed to helpers, and the rotation's start.
const KEY: i16 = -4;
const START: i16 = -16;

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

/// The program for `cores` cores: `loads` is the array map of the cores' loads, `sockets`
/// the `REUSEPORT_SOCKARRAY` of their listeners; an entry older than `stale_ns` is not
/// trusted.
pub(super) fn steering(cores: u32, loads: &OwnedFd, sockets: &OwnedFd, stale_ns: i32) -> Vec<Insn> {
    let mut a = Asm { insns: Vec::new() };
    a.push(insn(MOV64_X, R6, R1, 0, 0));
    a.push(insn(LDX_W, R1, R6, CTX_HASH, 0));
    a.push(insn(MOD64_K, R1, 0, 0, cores as i32));
    a.push(insn(STX_DW, FP, R1, START, 0));
    a.push(insn(CALL, 0, 0, 0, KTIME_GET_NS));
    a.push(insn(MOV64_X, R9, R0, 0, 0));
    a.push(insn(MOV64_K, R7, 0, 0, -1));
    a.push(insn(MOV64_K, R8, 0, 0, -1));
    for step in 0..cores {
        // key = (start + step) % cores
        a.push(insn(LDX_DW, R1, FP, START, 0));
        a.push(insn(ADD64_K, R1, 0, 0, step as i32));
        a.push(insn(JLT_K, R1, 0, 1, cores as i32));
        a.push(insn(SUB64_K, R1, 0, 0, cores as i32));
        a.push(insn(STX_W, FP, R1, KEY, 0));
        a.push(insn(MOV64_X, R2, FP, 0, 0));
        a.push(insn(ADD64_K, R2, 0, 0, KEY as i32));
        a.load_map(R1, loads);
        a.push(insn(CALL, 0, 0, 0, MAP_LOOKUP_ELEM));
        let missing = a.push(insn(JEQ_K, R0, 0, 0, 0));
        // Skip an entry not written within `stale_ns` (a stamp from the future is fresh).
        a.push(insn(LDX_DW, R1, R0, STAMP as i16, 0));
        a.push(insn(MOV64_X, R2, R9, 0, 0));
        a.push(insn(SUB64_X, R2, R1, 0, 0));
        let stale = a.push(insn(JSGT_K, R2, 0, 0, stale_ns));
        // load = open + max(0, steered - accepted)
        a.push(insn(LDX_DW, R1, R0, STEERED as i16, 0));
        a.push(insn(LDX_DW, R2, R0, ACCEPTED as i16, 0));
        a.push(insn(SUB64_X, R1, R2, 0, 0));
        a.push(insn(JSGT_K, R1, 0, 1, 0));
        a.push(insn(MOV64_K, R1, 0, 0, 0));
        a.push(insn(LDX_DW, R2, R0, OPEN as i16, 0));
        a.push(insn(ADD64_X, R1, R2, 0, 0));
        let not_lower = a.push(insn(JGE_X, R1, R7, 0, 0));
        a.push(insn(MOV64_X, R7, R1, 0, 0));
        a.push(insn(LDX_W, R8, FP, KEY, 0));
        for at in [missing, stale, not_lower] {
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
    // Selected: count it as on its way to that core (the key is still on the stack).
    a.push(insn(MOV64_X, R2, FP, 0, 0));
    a.push(insn(ADD64_K, R2, 0, 0, KEY as i32));
    a.load_map(R1, loads);
    a.push(insn(CALL, 0, 0, 0, MAP_LOOKUP_ELEM));
    let missing = a.push(insn(JEQ_K, R0, 0, 0, 0));
    a.push(insn(MOV64_K, R1, 0, 0, 1));
    a.push(insn(ATOMIC_DW, R0, R1, STEERED as i16, 0)); // imm 0: BPF_ADD
    for at in [none, not_selected, missing] {
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
