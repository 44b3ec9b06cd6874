//! Opening a new connection to an upstream: resolve, TCP connect within the connect
//! timeout (to a loopback address, optionally unpaced), then for HTTPS the TLS handshake
//! (its name checked against the certificate).

use std::time::Duration;

use coreline_runtime::net::TcpStream;
use coreline_runtime::time;
use coreline_tls::TlsConnector;

use super::conn::{Conn, Transport};
use super::upstream::Upstream;
use super::Error;

/// A fresh connection to `upstream`; `tls` must be given for an HTTPS upstream.
/// `unpaced_loopback`: see [`ClientBuilder::unpaced_loopback`](super::ClientBuilder::unpaced_loopback).
pub(super) async fn connect(
    upstream: &Upstream,
    tls: Option<&TlsConnector>,
    timeout: Duration,
    unpaced_loopback: bool,
) -> Result<Box<Conn>, Error> {
    let tcp = time::timeout(timeout, async {
        let addr = upstream.resolve().await?;
        let tcp = TcpStream::connect(addr).await?;
        if unpaced_loopback {
            // A socket that refuses keeps its algorithm: the connection works either way.
            if let Err(e) = tcp.unpace_on_loopback() {
                log::debug!("loopback upstream connection keeps its congestion control ({e})");
            }
        }
        Ok::<_, std::io::Error>(tcp)
    })
    .await
    .map_err(|_| Error::Timeout("connect did not finish within the connect timeout"))?
    .map_err(Error::Connect)?;
    if !upstream.https {
        // Non-blocking, so that a direct splice of a response body from it (see
        // `socket_body.rs`) says `WouldBlock` instead of waiting on the core; the ring's
        // operations work on it all the same.
        set_nonblocking(&tcp).map_err(Error::Connect)?;
        return Ok(Conn::new(Transport::Plain(tcp)));
    }
    let tls = tls.ok_or(Error::InvalidRequest(
        "HTTPS upstream without a TLS connector",
    ))?;
    match tls.connect(upstream.host(), tcp).await {
        Ok(stream) => Ok(Conn::new(Transport::Tls(Box::new(stream)))),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(Error::Timeout("TLS handshake did not finish in time"))
        }
        Err(e) => Err(Error::Tls(e)),
    }
}

fn set_nonblocking(tcp: &TcpStream) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let flags = OFlag::from_bits_retain(fcntl(tcp.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(
        tcp.as_raw_fd(),
        FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}
