//! The direct (non-ring) system calls in `ops` against the real kernel: `statx_fd_now`,
//! `is_cached`, `splice_now`, `send_now`, and what makes them safe on a core: accepted
//! streams are non-blocking, and `writable` waits (through the ring) for room.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{fs, ops, time, AsSharedFd, Cores, Runtime, SharedFd};

fn one_core() -> Runtime {
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .expect("one core")
}

fn scratch(name: &str) -> std::path::PathBuf {
    // Under target/: a disk filesystem, where evicting pages from the cache works.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("direct-{name}-{}", std::process::id()))
}

/// Accepted server side and a blocking std client.
async fn pair() -> (TcpStream, std::net::TcpStream) {
    let mut listener = TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr()).unwrap();
    let server = listener.accept().await.unwrap();
    (server, client)
}

/// Fills the socket's send buffer with direct sends until `WouldBlock`; returns bytes.
fn fill(fd: &SharedFd) -> usize {
    let chunk = vec![7u8; 256 * 1024];
    let mut total = 0;
    loop {
        match ops::direct::send_now(fd, &chunk, false) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
            Err(e) => panic!("send_now: {e}"),
        }
    }
}

#[test]
fn accepted_streams_are_non_blocking() {
    one_core()
        .block_on(|| async {
            let (server, _client) = pair().await;
            let flags =
                nix::fcntl::fcntl(server.as_shared_fd().raw(), nix::fcntl::FcntlArg::F_GETFL)
                    .unwrap();
            assert_ne!(flags & libc::O_NONBLOCK, 0);
        })
        .unwrap();
}

#[test]
fn statx_fd_now_sees_size_changes_and_unlink() {
    let path = scratch("statx");
    std::fs::write(&path, b"12345").unwrap();
    one_core()
        .block_on(move || async move {
            let file = fs::File::open(&path).await.unwrap();
            let st = ops::direct::statx_fd_now(file.as_shared_fd()).unwrap();
            assert_eq!((st.size, st.nlink), (5, 1));
            assert!(st.is_file());
            std::fs::write(&path, b"123").unwrap();
            assert_eq!(
                ops::direct::statx_fd_now(file.as_shared_fd()).unwrap().size,
                3
            );
            std::fs::remove_file(&path).unwrap();
            assert_eq!(
                ops::direct::statx_fd_now(file.as_shared_fd())
                    .unwrap()
                    .nlink,
                0
            );
        })
        .unwrap();
}

#[test]
fn is_cached_tells_resident_from_evicted_pages() {
    let path = scratch("cached");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    let std_file = std::fs::File::open(&path).unwrap();
    std_file.sync_all().unwrap();
    let at = path.clone();
    one_core()
        .block_on(move || async move {
            let path = at;
            let file = fs::File::open(&path).await.unwrap();
            let fd = file.as_shared_fd();
            assert!(ops::direct::is_cached(fd, 0, 1 << 20), "just written");
            assert!(
                ops::direct::is_cached(fd, 4095, 2),
                "a range across a page boundary"
            );
            assert!(ops::direct::is_cached(fd, 0, 0), "an empty range");
            nix::fcntl::posix_fadvise(
                std_file.as_raw_fd(),
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
            )
            .unwrap();
            // tmpfs pages cannot be dropped (they are the file): only disk files evict.
            let fs = nix::sys::statfs::fstatfs(&std_file).unwrap();
            if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
                assert!(!ops::direct::is_cached(fd, 0, 1 << 20), "evicted");
            }
            let (res, _) = file.read_at(Vec::with_capacity(4096), 0).await;
            res.unwrap();
            assert!(ops::direct::is_cached(fd, 0, 4096), "read back");
        })
        .unwrap();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn splice_now_moves_file_bytes_and_never_waits() {
    let path = scratch("splice");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let at = path.clone();
    one_core()
        .block_on(move || async move {
            let path = at;
            let (server, mut client) = pair().await;
            let sock = server.as_shared_fd();
            let file = fs::File::open(&path).await.unwrap();
            let (r, w) = ops::direct::pipe().unwrap();
            // An empty pipe does not wait.
            let empty = ops::direct::splice_now(&r, None, sock, 100, false).unwrap_err();
            assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
            // File → pipe → socket, from an offset.
            let n = ops::direct::splice_now(&file, Some(1000), &w, 50_000, false).unwrap();
            assert!(n > 0 && n <= 50_000);
            let mut sent = 0;
            while sent < n {
                sent += ops::direct::splice_now(&r, None, sock, (n - sent) as u32, false).unwrap();
            }
            let mut got = vec![0u8; n];
            client.read_exact(&mut got).unwrap();
            assert_eq!(got, &data[1000..1000 + n]);

            // A full socket buffer: WouldBlock, then `writable` once the peer reads.
            let filled = fill(sock);
            let n = ops::direct::splice_now(&file, Some(0), &w, 4096, false).unwrap();
            let full = ops::direct::splice_now(&r, None, sock, n as u32, false).unwrap_err();
            assert_eq!(full.kind(), io::ErrorKind::WouldBlock);
            let reader = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                let mut buf = vec![0u8; filled + n];
                client.read_exact(&mut buf).unwrap();
                buf[filled..].to_vec()
            });
            let waited = time::timeout(Duration::from_secs(10), ops::writable(sock)).await;
            waited.expect("writable in time").unwrap();
            let mut sent = 0;
            while sent < n {
                match ops::direct::splice_now(&r, None, sock, (n - sent) as u32, true) {
                    Ok(k) => sent += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ops::writable(sock).await.unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            // The last bytes were sent with SPLICE_F_MORE: a FIN must push them out.
            ops::shutdown(sock, std::net::Shutdown::Write)
                .await
                .unwrap();
            assert_eq!(reader.join().unwrap(), &data[..n]);
        })
        .unwrap();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn send_now_and_send_more() {
    one_core()
        .block_on(|| async {
            let (server, mut client) = pair().await;
            let sock = server.as_shared_fd();
            assert_eq!(ops::direct::send_now(sock, b"head ", true).unwrap(), 5);
            let (res, _) = ops::send_more(sock, b"more ".to_vec()).await;
            assert_eq!(res.unwrap(), 5);
            assert_eq!(ops::direct::send_now(sock, b"body", false).unwrap(), 4);
            let mut got = [0u8; 14];
            client.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"head more body");
        })
        .unwrap();
}
