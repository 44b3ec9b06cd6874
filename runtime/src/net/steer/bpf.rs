//! The few `bpf(2)` commands steering needs, made with raw syscalls: create a map, put a
//! socket into a map, load a program (with the verifier's log on failure), and map an
//! array's values into memory.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::program::Insn;

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_PROG_LOAD: libc::c_long = 5;

/// `BPF_MAP_TYPE_ARRAY`.
pub(super) const MAP_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`.
pub(super) const MAP_REUSEPORT_SOCKARRAY: u32 = 20;
/// `BPF_F_MMAPABLE`: the array's values can be mapped into the process.
pub(super) const F_MMAPABLE: u32 = 1 << 10;
/// `BPF_PROG_TYPE_SK_REUSEPORT`.
const PROG_SK_REUSEPORT: u32 = 21;

/// `union bpf_attr` for `BPF_MAP_CREATE` (the leading fields; the kernel zeroes the rest).
#[repr(C)]
#[derive(Default)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// `union bpf_attr` for `BPF_MAP_UPDATE_ELEM`.
#[repr(C)]
#[derive(Default)]
struct MapElem {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr` for `BPF_PROG_LOAD` (up to the program's name).
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// Runs one `bpf(2)` command whose result is a new fd.
fn bpf_fd<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: the commands passed here return a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live `repr(C)` prefix of `union bpf_attr` and we pass its exact
    // size; the kernel reads only that much and treats the rest as zero. Every pointer
    // in it points to memory that outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Copies `name` into a kernel object name (15 bytes and a NUL at most).
fn object_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

/// Creates a map with 4-byte keys.
pub(super) fn map_create(
    map_type: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: &str,
) -> io::Result<OwnedFd> {
    let mut attr = MapCreate {
        map_type,
        key_size: 4,
        value_size,
        max_entries,
        map_flags,
        map_name: object_name(name),
        ..MapCreate::default()
    };
    bpf_fd(BPF_MAP_CREATE, &mut attr)
}

/// Puts socket `socket` at `index` of a `REUSEPORT_SOCKARRAY` map.
pub(super) fn sockarray_set(map: &OwnedFd, index: u32, socket: RawFd) -> io::Result<()> {
    let value = socket as u64;
    let mut attr = MapElem {
        map_fd: map.as_raw_fd() as u32,
        key: &index as *const u32 as u64,
        value: &value as *const u64 as u64,
        ..MapElem::default()
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
}

/// Loads a `SK_REUSEPORT` program. When the verifier refuses it, the error carries the
/// last line of the verifier's log that says why.
pub(super) fn prog_load(insns: &[Insn], name: &str) -> io::Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = ProgLoad {
        prog_type: PROG_SK_REUSEPORT,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: object_name(name),
        ..ProgLoad::default()
    };
    bpf_fd(BPF_PROG_LOAD, &mut attr).map_err(|e| {
        let text = String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(0)])
            .into_owned();
        // The log ends with statistics ("processed N insns ..."); the reason is above them.
        let reason = text.lines().rev().find(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time")
        });
        match reason {
            Some(last) => io::Error::new(e.kind(), format!("{e}; the verifier says: {last}")),
            None => e,
        }
    })
}

/// An array map's values, mapped into this process: reads and writes here are the
/// program's map lookups, without a syscall.
pub(super) struct MappedArray {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory, accessed only through atomics.
unsafe impl Send for MappedArray {}
// SAFETY: as above.
unsafe impl Sync for MappedArray {}

impl MappedArray {
    /// Maps the values of `map` (created with [`F_MMAPABLE`]), `len` bytes.
    pub(super) fn new(map: &OwnedFd, len: usize) -> io::Result<MappedArray> {
        // SAFETY: a fresh shared mapping of the map's fd; the kernel checks `len` against
        // the map's size and we never touch memory beyond it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(MappedArray {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The 8-byte word at `offset`, which must be 8-aligned and within the mapping.
    pub(super) fn word(&self, offset: usize) -> &std::sync::atomic::AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.len);
        // SAFETY: in bounds and aligned (checked above; the mapping is page-aligned), and
        // the memory lives as long as `self`. The program reads it concurrently with
        // plain loads, which is why every access from here is atomic.
        unsafe { &*(self.ptr.add(offset) as *const std::sync::atomic::AtomicU64) }
    }
}

impl Drop for MappedArray {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no reference outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Attaches program `prog` to the reuseport group of listening socket `socket`
/// (`SO_ATTACH_REUSEPORT_EBPF`).
pub(super) fn attach_reuseport(socket: RawFd, prog: &OwnedFd) -> io::Result<()> {
    crate::sys::set_int_opt(
        socket,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_REUSEPORT_EBPF,
        prog.as_raw_fd(),
    )
}
