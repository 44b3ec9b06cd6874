//! A file whose pages are not in the page cache: spliced through the ring while the disk
//! is read, and still byte-exact.

use std::process::Command;

use crate::serve_under;

#[test]
fn a_file_not_in_the_page_cache_arrives_intact() {
    // Evicted pages make `cachestat` say no: those chunks are spliced through the ring
    // (an io-wq thread waits for the disk), the rest directly. A tmpfs file is always in
    // memory, so the file goes under the target directory, on a disk.
    let parent = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let fs = nix::sys::statfs::statfs(parent).unwrap();
    if fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
        eprintln!(
            "skipped: {} is on tmpfs, its pages cannot be evicted",
            parent.display()
        );
        return;
    }
    let s = serve_under(parent, "cold");
    let path = s.root.join("cold.bin");
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    for range in [None, Some("1000000-2999999")] {
        assert_eq!(evict(&path), 0, "the file is still in the page cache");
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-m", "30"]);
        if let Some(r) = range {
            cmd.args(["-r", r]);
        }
        let got = cmd.arg(s.url("/cold.bin")).output().unwrap().stdout;
        let want = match range {
            None => &data[..],
            Some(_) => &data[1_000_000..3_000_000],
        };
        assert!(got == want, "{range:?}: {} bytes", got.len());
    }
}

/// Drops `path` from the page cache and returns the bytes still there (0 when it left).
/// Pages still referenced elsewhere (a previous response's splice still in a socket
/// buffer, writeback) stay until released, so it asks again for a while.
fn evict(path: &std::path::Path) -> u64 {
    let f = std::fs::File::open(path).unwrap();
    f.sync_all().unwrap();
    let mut resident = u64::MAX;
    for _ in 0..100 {
        nix::fcntl::posix_fadvise(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .unwrap();
        resident = resident_bytes(path);
        if resident == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    resident
}

/// Bytes of `path` in the page cache, as `fincore` (util-linux, through mincore) reports.
fn resident_bytes(path: &std::path::Path) -> u64 {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--raw", "--output", "RES"])
        .arg(path)
        .output()
        .expect("fincore (util-linux)");
    assert!(out.status.success(), "fincore: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("fincore said {text:?}"))
}
