//! The operations the stress run exercises, and the dispatch from a case to the code that
//! drives it (simple cases inline, the rest in `net_cases` and `pipe_cases`).

use std::os::fd::OwnedFd;
use std::time::Duration;

use coreline_runtime::{core_stats, fs, ops, time, AsSharedFd};

use crate::drop_point::{exercise, exercise_plain, At};
use crate::fixtures::{Fixtures, FILE_LEN};
use crate::harness::{pattern, Rng};
use crate::io::drain_socket;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Accept,
    Connect,
    Recv,
    ReadSocket,
    ReadPipe,
    ReadFile,
    WritePipe,
    WriteFile,
    Send,
    SendVectored,
    SendZc,
    SendMore,
    Writable,
    SplicePipe,
    SpliceFile,
    OpenAt,
    OpenAt2,
    FileOpen,
    Statx,
    StatxFd,
    Close,
    Shutdown,
    Timeout,
    Sleep,
}

pub(crate) const KINDS: [Kind; 24] = [
    Kind::Accept,
    Kind::Connect,
    Kind::Recv,
    Kind::ReadSocket,
    Kind::ReadPipe,
    Kind::ReadFile,
    Kind::WritePipe,
    Kind::WriteFile,
    Kind::Send,
    Kind::SendVectored,
    Kind::SendZc,
    Kind::SendMore,
    Kind::Writable,
    Kind::SplicePipe,
    Kind::SpliceFile,
    Kind::OpenAt,
    Kind::OpenAt2,
    Kind::FileOpen,
    Kind::Statx,
    Kind::StatxFd,
    Kind::Close,
    Kind::Shutdown,
    Kind::Timeout,
    Kind::Sleep,
];

impl Fixtures {
    pub(crate) async fn run(&mut self, kind: Kind, at: At, rng: &mut Rng, salt: u64) {
        match kind {
            Kind::Accept => self.accept(at, rng).await,
            Kind::Connect => self.connect(at).await,
            Kind::Recv => self.recv(at, rng, salt).await,
            Kind::ReadSocket => self.read_socket(at, rng, salt).await,
            Kind::ReadPipe => self.read_pipe(at, rng, salt).await,
            Kind::ReadFile => {
                let buf = Vec::with_capacity(rng.range(1, 8192));
                let offset = rng.below(FILE_LEN as u64);
                exercise_plain(ops::read_at(&self.file, buf, offset), at, "read_at file").await;
            }
            Kind::WritePipe => self.write_pipe(at, rng, salt).await,
            Kind::WriteFile => {
                let buf = pattern(rng.range(1, FILE_LEN), salt);
                let offset = rng.below(FILE_LEN as u64);
                exercise_plain(ops::write_at(&self.file, buf, offset), at, "write_at file").await;
            }
            Kind::Send => {
                let buf = pattern(rng.range(1, 16 * 1024), salt);
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(self.tx.send(buf), at, "send", || {}, pump).await;
            }
            Kind::SendVectored => {
                let bufs: Vec<Vec<u8>> = (0..rng.range(1, 4))
                    .map(|i| pattern(rng.range(1, 3000), salt + i as u64))
                    .collect();
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(
                    self.tx.send_vectored(bufs),
                    at,
                    "send_vectored",
                    || {},
                    pump,
                )
                .await;
            }
            Kind::SendZc => {
                let buf = pattern(rng.range(1, 16 * 1024), salt);
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(self.tx.send_zc(buf), at, "send_zc", || {}, pump).await;
            }
            Kind::SendMore => {
                let buf = pattern(rng.range(1, 16 * 1024), salt);
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                let send = ops::send_more(self.tx.as_shared_fd(), buf);
                exercise(send, at, "send_more", || {}, pump).await;
            }
            Kind::Writable => {
                // In flight only while the socket buffer is full (prepare_send may fill it).
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                let wait = ops::writable(self.tx.as_shared_fd());
                exercise(wait, at, "writable", || {}, pump).await;
            }
            Kind::SplicePipe => self.splice_pipe(at, rng, salt).await,
            Kind::SpliceFile => self.splice_file(at, rng).await,
            Kind::OpenAt => {
                let flags = if rng.bit() {
                    libc::O_RDONLY
                } else {
                    libc::O_RDWR
                };
                exercise_plain(ops::open_at(&self.path, flags, 0), at, "open_at").await;
            }
            Kind::OpenAt2 => {
                // Relative to the scratch file's directory, confined beneath it.
                let dir = self.path.parent().expect("scratch dir");
                let dir = std::fs::File::open(dir).expect("open scratch dir");
                let dir = coreline_runtime::SharedFd::new(OwnedFd::from(dir));
                let name = self.path.file_name().expect("scratch name").to_owned();
                let open = ops::open_at2(&dir, name, libc::O_RDONLY, libc::RESOLVE_BENEATH);
                exercise_plain(open, at, "open_at2").await;
            }
            Kind::FileOpen => exercise_plain(fs::File::open(&self.path), at, "File::open").await,
            Kind::Statx => {
                exercise_plain(ops::statx(&self.path, rng.bit()), at, "statx").await;
            }
            Kind::StatxFd => exercise_plain(ops::statx_fd(&self.file), at, "statx_fd").await,
            Kind::Close => {
                let fd = OwnedFd::from(self.dup_src.try_clone().expect("dup"));
                exercise_plain(ops::close(fd), at, "close").await;
            }
            Kind::Shutdown => {
                let how = match rng.below(3) {
                    0 => std::net::Shutdown::Read,
                    1 => std::net::Shutdown::Write,
                    _ => std::net::Shutdown::Both,
                };
                exercise_plain(self.sh.shutdown(how), at, "shutdown").await;
            }
            Kind::Timeout => {
                let d = if at == At::AfterCompletion || rng.bit() {
                    Duration::from_micros(rng.below(100))
                } else {
                    Duration::from_secs(3600)
                };
                exercise_plain(ops::timeout_op(d), at, "timeout_op").await;
            }
            Kind::Sleep => {
                let d = if at == At::AfterCompletion || rng.bit() {
                    Duration::from_micros(1 + rng.below(100))
                } else {
                    Duration::from_secs(3600)
                };
                // (A sleep may be over by its first poll already; that is fine.)
                exercise(time::sleep(d), at, "sleep", || {}, || {}).await;
                assert_eq!(
                    core_stats().timers,
                    0,
                    "a dropped Sleep left its timer behind"
                );
            }
        }
    }
}
