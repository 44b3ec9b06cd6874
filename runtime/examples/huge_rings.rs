//! Probe: can a core's rings live in one transparent huge page? Sets up a ring the size
//! of a core's (1024 SQEs, 4096 CQEs, `NO_SQARRAY`) with `IORING_SETUP_NO_MMAP` over a
//! 2 MiB-aligned anonymous mapping advised `MADV_HUGEPAGE`, runs one `NOP` through it,
//! prints whether the mapping is a huge page (`AnonHugePages` in smaps), and whether the
//! ring can be mapped the way the `io-uring` crate builds every `IoUring` (an `mmap` of
//! the ring fd at `IORING_OFF_SQ_RING`, also in `IoUring::from_fd`).
//!
//! `cargo run --release -p coreline-runtime --example huge_rings [--no-hugepage]`

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

const HUGE: usize = 2 << 20;
const SETUP_CQSIZE: u32 = 1 << 3;
const SETUP_SINGLE_ISSUER: u32 = 1 << 12;
const SETUP_NO_MMAP: u32 = 1 << 14;
const SETUP_NO_SQARRAY: u32 = 1 << 16;
const ENTER_GETEVENTS: u32 = 1;

/// `struct io_sqring_offsets` / `struct io_cqring_offsets` (same shape).
#[repr(C)]
#[derive(Default)]
struct RingOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags_or_overflow: u32,
    dropped_or_cqes: u32,
    array_or_flags: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_uring_params`.
#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: RingOffsets,
    cq_off: RingOffsets,
}

fn main() -> io::Result<()> {
    let hugepage = std::env::args().nth(1).as_deref() != Some("--no-hugepage");
    // SAFETY: an anonymous private mapping with no address hint has no preconditions; it
    // is never unmapped (the process ends after the probe).
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let mem = (raw as usize).next_multiple_of(HUGE) as *mut u8;
    // SAFETY: [mem, mem + HUGE) lies inside the 4 MiB mapping above.
    if hugepage && unsafe { libc::madvise(mem.cast(), HUGE, libc::MADV_HUGEPAGE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the same range, ours and writable; zeroing it faults it in.
    unsafe { std::ptr::write_bytes(mem, 0, HUGE) };
    // Rings (SQ and CQ headers, CQEs) in the first half, SQEs in the second.
    let sqes = mem.wrapping_add(HUGE / 2);
    let mut p = Params {
        cq_entries: 4096,
        flags: SETUP_NO_MMAP | SETUP_NO_SQARRAY | SETUP_SINGLE_ISSUER | SETUP_CQSIZE,
        ..Params::default()
    };
    p.cq_off.user_addr = mem as u64;
    p.sq_off.user_addr = sqes as u64;
    // SAFETY: io_uring_setup reads and fills `p`, a live io_uring_params; the memory it
    // names stays mapped for the life of the process.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1024u32, &mut p as *mut Params) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        println!("io_uring_setup with IORING_SETUP_NO_MMAP: refused ({e})");
        return Ok(());
    }
    let fd = fd as i32;
    println!(
        "io_uring_setup with IORING_SETUP_NO_MMAP over {} memory: ok ({} SQEs, {} CQEs)",
        if hugepage {
            "MADV_HUGEPAGE"
        } else {
            "ordinary"
        },
        p.sq_entries,
        p.cq_entries
    );
    // One NOP, user_data 42, through the user memory (no SQ array: SQE index = tail).
    // SAFETY: SQE 0 is the first 64 bytes of the SQE half; nothing else writes it.
    unsafe { sqes.add(32).cast::<u64>().write_unaligned(42) };
    // SAFETY: the kernel put the SQ tail at this offset of the ring memory, 4-aligned;
    // it is shared with the kernel, so it is accessed atomically.
    let sq_tail = unsafe { &*mem.add(p.sq_off.tail as usize).cast::<AtomicU32>() };
    sq_tail.store(1, Ordering::Release);
    // SAFETY: io_uring_enter on our ring fd with no signal mask.
    let entered = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            fd,
            1u32,
            1u32,
            ENTER_GETEVENTS,
            std::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    // SAFETY: the CQ tail and the first CQE lie at these kernel-given offsets of the ring
    // memory; the tail is read atomically, the CQE after it (acquire).
    let (cq_tail, user_data) = unsafe {
        let tail = (*mem.add(p.cq_off.tail as usize).cast::<AtomicU32>()).load(Ordering::Acquire);
        let cqe = mem.add(p.cq_off.dropped_or_cqes as usize);
        (tail, cqe.cast::<u64>().read_unaligned())
    };
    println!("NOP: enter returned {entered}, CQ tail {cq_tail}, user_data {user_data}");
    println!("ring memory {}", anon_huge_pages(mem as usize)?);
    // SAFETY: a shared mapping of our ring fd, as the crate makes; unmapped at exit.
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            0, // IORING_OFF_SQ_RING
        )
    };
    if mapped == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        println!("mmap of the ring fd at IORING_OFF_SQ_RING (what io-uring's IoUring needs): {e}");
    } else {
        println!("mmap of the ring fd at IORING_OFF_SQ_RING: ok");
    }
    Ok(())
}

/// The `AnonHugePages` line of the mapping that holds `addr`, from /proc/self/smaps.
fn anon_huge_pages(addr: usize) -> io::Result<String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = range.split_once('-') {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = lo <= addr && addr < hi;
                continue;
            }
        }
        if inside && line.starts_with("AnonHugePages:") {
            return Ok(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    Ok("not found in smaps".into())
}
