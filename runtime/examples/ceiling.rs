//! The ceiling: answers every complete request head it reads with one fixed 200 response
//! (13 body bytes), without parsing. No HTTP server on this machine can beat it, so it
//! shows how much of a server's cost is the kernel's and how much is the runtime's.
//!
//! `cargo run --release -p coreline-runtime --example ceiling -- ADDR [CPUS]`
//!
//! Kernel features, for measuring each with and without (environment variables):
//! - `CEILING_FIXED_FILES=N`: accept into a table of N direct descriptors per core and
//!   receive/send with `IOSQE_FIXED_FILE` (default 0: real fds);
//! - `CEILING_SQARRAY=1`: keep the SQ index array (default: `IORING_SETUP_NO_SQARRAY`
//!   where the kernel has it);
//! - `CEILING_RECV_BUNDLE=1`: multishot receives with `IORING_RECVSEND_BUNDLE`;
//! - `CEILING_BUF_INC=1`: incremental provided-buffer consumption (`IOU_PBUF_RING_INC`);
//! - `CEILING_FIXED_BUF=1`: the response, 64 times over, in a registered buffer, sent with
//!   `IORING_RECVSEND_FIXED_BUF` instead of from a per-connection `Vec`;
//! - `CEILING_SEND_BUNDLE=1`: each response in its own buffer of a per-connection send
//!   ring, the responses of one read sent as one bundle (`IORING_RECVSEND_BUNDLE`)
//!   instead of one coalesced `Vec`;
//!
//! and the settings `coreline serve` runs with, so that the two differ only in the request
//! path:
//! - `CEILING_CC`: congestion control of accepted connections: `auto` (default: reno on a
//!   loopback listener when the kernel's default paces, as `--congestion-control auto`),
//!   `kernel` (the kernel's default, BBR on the benchmark host), or an algorithm's name;
//! - `CEILING_NOTSENT_LOWAT=BYTES`: `TCP_NOTSENT_LOWAT` on accepted sockets (default 0:
//!   the kernel's; the server sets 128 KiB, which a 96-byte response never reaches);
//! - `CEILING_METRICS=1`: the runtime's loop metrics recorded (default off, as in the
//!   server without `--metrics`);
//! - `CEILING_BUSY_POLL_US=N`: an idle core polls for completions N µs before it sleeps
//!   (default 0, as `--busy-poll-us`).
//!
//! Each core prints its `ring_info()` to stderr at start.

use std::io;
use std::process::ExitCode;

#[path = "support/args.rs"]
mod args;
#[path = "support/ceiling_settings.rs"]
mod ceiling_settings;

use std::ops::Range;

use ceiling_settings::Settings;
use coreline_runtime::net::{FixedListener, FixedStream, TcpListener, TcpStream};
use coreline_runtime::ops::{self, RegisteredBuf, SendRing};
use coreline_runtime::{ring_info, spawn_local, time, AsSharedFd, RecvBuf};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: coreline\r\nContent-Type: text/plain\r\n\
Content-Length: 13\r\n\r\nHello, World!";

/// Responses in the registered buffer (`CEILING_FIXED_BUF`): one send covers up to this
/// many pipelined requests.
const REGISTERED_RESPONSES: usize = 64;

/// Buffers of a connection's send ring (`CEILING_SEND_BUNDLE`): one bundle covers up to
/// this many pipelined requests.
const BUNDLE_RESPONSES: u16 = 64;
/// Bytes per send-ring buffer: one response fits.
const BUNDLE_BUF_SIZE: u32 = 128;
const _: () = assert!(RESPONSE.len() <= BUNDLE_BUF_SIZE as usize);

/// Where a connection's responses are written and sent from.
#[derive(Clone)]
enum Output {
    /// All responses of one read in one `Vec`, one send.
    Coalesced,
    /// Ranges of the registered buffer.
    Registered(RegisteredBuf),
    /// Each response in its own buffer of a send ring, one bundle.
    Bundle,
}

fn main() -> ExitCode {
    let (addr, cores) = match args::addr_and_cores("ceiling", "127.0.0.1:8080") {
        Ok(parsed) => parsed,
        Err(code) => return ExitCode::from(code),
    };
    let (builder, settings) = ceiling_settings::from_env(cores);
    let run = builder.build().and_then(|rt| {
        rt.run(|_| {
            let Settings {
                listen,
                fixed_buf,
                send_bundle,
            } = settings.clone();
            async move {
                let output = match fixed_buf
                    .then(|| RegisteredBuf::new(RESPONSE.repeat(REGISTERED_RESPONSES)))
                {
                    Some(Ok(buf)) => Output::Registered(buf),
                    Some(Err(e)) => return e,
                    None if send_bundle => Output::Bundle,
                    None => Output::Coalesced,
                };
                let info = ring_info();
                eprintln!(
                    "ceiling: {} fixed_files={} recv_bundles={} incremental_buffers={} \
                     registered_buffers={} registered_send={:?} send_bundles={}",
                    info.flags,
                    info.fixed_files,
                    info.recv_bundles,
                    info.incremental_buffers,
                    info.registered_buffers,
                    info.registered_send,
                    info.send_bundles
                );
                if info.fixed_files > 0 {
                    match FixedListener::bind_with(addr, &listen) {
                        Ok(l) => accept_loop(FixedAccept(l), output).await,
                        Err(e) => e,
                    }
                } else {
                    match TcpListener::bind_with(addr, &listen) {
                        Ok(l) => accept_loop(l, output).await,
                        Err(e) => e,
                    }
                }
            }
        })
    });
    match run {
        Ok(errors) => {
            for e in errors {
                eprintln!("ceiling: {e}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The two kinds of listener (real fds, direct descriptors) as one.
trait Accept {
    type Stream: Stream + 'static;
    async fn accept(&mut self) -> io::Result<Self::Stream>;
}

/// The two kinds of stream as one.
trait Stream {
    async fn recv(&mut self) -> io::Result<Option<RecvBuf>>;
    async fn send_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>);
    async fn send_registered(&self, buf: &RegisteredBuf, range: Range<usize>) -> io::Result<()>;
    async fn send_ring(&self, ring: &mut SendRing) -> io::Result<()>;
}

impl Accept for TcpListener {
    type Stream = TcpStream;
    async fn accept(&mut self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await
    }
}

struct FixedAccept(FixedListener);

impl Accept for FixedAccept {
    type Stream = FixedStream;
    async fn accept(&mut self) -> io::Result<FixedStream> {
        self.0.accept().await
    }
}

impl Stream for TcpStream {
    async fn recv(&mut self) -> io::Result<Option<RecvBuf>> {
        TcpStream::recv(self).await
    }
    async fn send_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        TcpStream::send_all(self, buf).await
    }
    async fn send_registered(&self, buf: &RegisteredBuf, range: Range<usize>) -> io::Result<()> {
        ops::send_registered(self.as_shared_fd(), buf, range).await
    }
    async fn send_ring(&self, ring: &mut SendRing) -> io::Result<()> {
        ring.send(self.as_shared_fd()).await
    }
}

impl Stream for FixedStream {
    async fn recv(&mut self) -> io::Result<Option<RecvBuf>> {
        FixedStream::recv(self).await
    }
    async fn send_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        FixedStream::send_all(self, buf).await
    }
    async fn send_registered(&self, buf: &RegisteredBuf, range: Range<usize>) -> io::Result<()> {
        ops::send_registered_fixed(self.fixed_fd(), buf, range).await
    }
    async fn send_ring(&self, ring: &mut SendRing) -> io::Result<()> {
        ring.send_fixed(self.fixed_fd()).await
    }
}

/// Accepts forever, one task per connection; returns only if binding failed.
async fn accept_loop<L: Accept>(mut listener: L, output: Output) -> io::Error {
    loop {
        match listener.accept().await {
            Ok(stream) => drop(spawn_local(serve(stream, output.clone()))),
            Err(e) => {
                eprintln!("ceiling: accept failed: {e}");
                time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Counts request heads (`\r\n\r\n`) as they stream in, and answers all heads that
/// completed in one received chunk with one send (from the registered buffer, up to
/// [`REGISTERED_RESPONSES`] per send; or as one bundle of up to [`BUNDLE_RESPONSES`]).
async fn serve<S: Stream>(mut stream: S, output: Output) {
    let mut matched = 0usize; // how much of "\r\n\r\n" the previous chunk ended with
    let mut out: Vec<u8> = Vec::with_capacity(RESPONSE.len() * 16);
    let mut ring = match output {
        Output::Bundle => match SendRing::new(BUNDLE_RESPONSES, BUNDLE_BUF_SIZE) {
            Ok(ring) => Some(ring),
            Err(e) => return eprintln!("ceiling: no send ring: {e}"),
        },
        _ => None,
    };
    while let Ok(Some(data)) = stream.recv().await {
        let heads = count_heads(&data, &mut matched);
        drop(data); // give the buffer back to the ring before waiting on the send
        if heads == 0 {
            continue;
        }
        if let Some(ring) = &mut ring {
            let mut left = heads;
            while left > 0 {
                while left > 0 && ring.push(RESPONSE) {
                    left -= 1;
                }
                if stream.send_ring(ring).await.is_err() {
                    return;
                }
            }
            continue;
        }
        if let Output::Registered(canned) = &output {
            let mut left = heads;
            while left > 0 {
                let n = left.min(REGISTERED_RESPONSES);
                if stream
                    .send_registered(canned, 0..n * RESPONSE.len())
                    .await
                    .is_err()
                {
                    return;
                }
                left -= n;
            }
            continue;
        }
        out.clear();
        for _ in 0..heads {
            out.extend_from_slice(RESPONSE);
        }
        let (res, buf) = stream.send_all(out).await;
        out = buf;
        if res.is_err() {
            break;
        }
    }
}

/// Counts occurrences of `\r\n\r\n`, carrying partial matches across chunks.
fn count_heads(data: &[u8], matched: &mut usize) -> usize {
    const END: &[u8; 4] = b"\r\n\r\n";
    let mut heads = 0;
    for &b in data {
        if b == END[*matched] {
            *matched += 1;
            if *matched == 4 {
                heads += 1;
                *matched = 0;
            }
        } else {
            *matched = usize::from(b == b'\r');
        }
    }
    heads
}
