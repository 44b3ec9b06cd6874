//! The stress run's fixtures: the listeners, connected streams, pipes and scratch file the
//! operations act on, created once per run, and the upkeep between iterations (re-arming
//! multishot ops, refilling the write pipe, waiting for the ring to settle).

use std::fs::File;
use std::io::Write;
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::SharedFd;

use crate::harness::{localhost, pattern};
use crate::io::{drain_socket, into_file, pipe_pair, set_sock_buf, stream_pair, with_dup};
use crate::probe::{poll_noop, settle, settle_with};

/// Pipe capacity on Linux by default (16 pages).
pub(crate) const PIPE_CAPACITY: usize = 64 * 1024;
/// Size of the scratch file.
pub(crate) const FILE_LEN: usize = 4096;

/// Everything the operations act on, created once per run.
pub(crate) struct Fixtures {
    /// Multishot accept target; its accept op is always armed.
    pub(crate) listener: TcpListener,
    /// Connect target; a plain non-blocking listener that the test drains.
    pub(crate) sink: StdListener,
    /// Makes stream pairs.
    pub(crate) pairs: StdListener,
    /// Multishot recv (always armed) and its peer.
    pub(crate) rx: TcpStream,
    pub(crate) rx_peer: StdStream,
    /// Single-shot `TcpStream::read` and its peer.
    pub(crate) rd: TcpStream,
    pub(crate) rd_peer: StdStream,
    /// Sends, with a small send buffer so that filling the socket is cheap and makes the
    /// next send wait; non-blocking peer that the test drains.
    pub(crate) tx: TcpStream,
    pub(crate) tx_peer: StdStream,
    /// Shutdown target.
    pub(crate) sh: TcpStream,
    _sh_peer: StdStream,
    /// `read_at` on an empty pipe; the test writes into it.
    pub(crate) rpipe: SharedFd,
    pub(crate) rpipe_reader: File,
    pub(crate) rpipe_writer: File,
    /// `write_at` into a pipe kept full; the test drains it.
    pub(crate) wpipe: SharedFd,
    pub(crate) wpipe_writer: File,
    pub(crate) wpipe_reader: File,
    /// splice source pipe (empty; the test writes into it) and destination pipe.
    pub(crate) splice_in: SharedFd,
    pub(crate) splice_in_writer: File,
    pub(crate) splice_out: SharedFd,
    pub(crate) splice_out_reader: File,
    /// A scratch file, read/write.
    pub(crate) file: SharedFd,
    pub(crate) path: PathBuf,
    /// Source of fresh fds for `close`.
    pub(crate) dup_src: File,
    /// Operations the fixtures keep in the ring between iterations: the armed multishot
    /// accept and multishot recv.
    pub(crate) resident_ops: usize,
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Polls a multishot accept once so it is armed (and stays armed in the listener).
pub(crate) fn arm_accept(listener: &mut TcpListener) {
    let mut f = Box::pin(listener.accept());
    assert!(
        poll_noop(f.as_mut()).is_pending(),
        "no connection is queued"
    );
}

/// Polls a multishot recv once so it is armed (and stays armed in the stream).
pub(crate) fn arm_recv(stream: &mut TcpStream) {
    let mut f = Box::pin(stream.recv());
    assert!(poll_noop(f.as_mut()).is_pending(), "no data is queued");
}

impl Fixtures {
    pub(crate) async fn new(tag: u64) -> Fixtures {
        let mut listener = TcpListener::bind(localhost()).expect("bind");
        arm_accept(&mut listener);
        let sink = StdListener::bind(localhost()).expect("bind sink");
        sink.set_nonblocking(true).unwrap();
        let pairs = StdListener::bind(localhost()).expect("bind pairs");
        let (mut rx, rx_peer) = stream_pair(&pairs).await;
        arm_recv(&mut rx);
        let (rd, rd_peer) = stream_pair(&pairs).await;
        let (tx, tx_peer) = stream_pair(&pairs).await;
        // A small send buffer keeps filling cheap. The peer's receive buffer stays at its
        // default: one smaller than the loopback MSS makes the receiver advertise a zero
        // window until the persist timer fires (200 ms+ per stall).
        set_sock_buf(tx.as_raw_fd(), libc::SO_SNDBUF, 4096);
        tx_peer.set_nonblocking(true).unwrap();
        let (sh, sh_peer) = stream_pair(&pairs).await;

        let (r, w) = pipe_pair();
        let (rpipe, rpipe_reader) = with_dup(r);
        let rpipe_writer = into_file(w);
        let (r, w) = pipe_pair();
        let (wpipe, wpipe_writer) = with_dup(w);
        let wpipe_reader = into_file(r);
        let (splice_in, w) = pipe_pair();
        let splice_in_writer = into_file(w);
        let (r, splice_out) = pipe_pair();
        let splice_out_reader = into_file(r);

        let path =
            std::env::temp_dir().join(format!("coreline-cancel-{}-{tag}.tmp", std::process::id()));
        std::fs::write(&path, pattern(FILE_LEN, 7)).expect("scratch file");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open scratch file");
        let dup_src = file.try_clone().unwrap();
        let file = SharedFd::new(OwnedFd::from(file));

        let mut fx = Fixtures {
            listener,
            sink,
            pairs,
            rx,
            rx_peer,
            rd,
            rd_peer,
            tx,
            tx_peer,
            sh,
            _sh_peer: sh_peer,
            rpipe,
            rpipe_reader,
            rpipe_writer,
            wpipe,
            wpipe_writer,
            wpipe_reader,
            splice_in,
            splice_in_writer,
            splice_out,
            splice_out_reader,
            file,
            path,
            dup_src,
            resident_ops: 2,
        };
        fx.fill_wpipe(0);
        settle(fx.resident_ops).await;
        fx
    }

    /// Tops the write pipe up to full (it holds `held` bytes now).
    pub(crate) fn fill_wpipe(&mut self, held: usize) {
        // The pipe has exactly this much room, so the blocking write cannot block.
        self.wpipe_writer
            .write_all(&vec![0x77; PIPE_CAPACITY - held])
            .expect("filling the write pipe");
    }

    /// Waits until only the resident ops are left in the ring.
    pub(crate) async fn settle(&self) {
        let peer = self.tx_peer.as_raw_fd();
        settle_with(self.resident_ops, || {
            drain_socket(peer);
        })
        .await;
    }

    pub(crate) async fn new_rx(&mut self) {
        let (mut rx, peer) = stream_pair(&self.pairs).await;
        arm_recv(&mut rx);
        // The old stream goes here, with its multishot recv armed (and maybe completions
        // holding provided buffers queued): that recv is cancelled.
        self.rx = rx;
        self.rx_peer = peer;
    }

    pub(crate) fn new_listener(&mut self) {
        let mut listener = TcpListener::bind(localhost()).expect("bind");
        arm_accept(&mut listener);
        // The old listener goes here, with its multishot accept armed (and maybe an
        // accepted connection queued): the accept is cancelled, the connection closed.
        self.listener = listener;
    }
}
