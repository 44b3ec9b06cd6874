//! Opening a new connection to an upstream: resolve, TCP connect within the connect
//! timeout, then for HTTPS the TLS handshake (its name checked against the certificate).

use std::time::Duration;

use coreline_runtime::net::TcpStream;
use coreline_runtime::time;
use coreline_tls::TlsConnector;

use super::conn::{Conn, Transport};
use super::upstream::Upstream;
use super::Error;

/// A fresh connection to `upstream`; `tls` must be given for an HTTPS upstream.
pub(super) async fn connect(
    upstream: &Upstream,
    tls: Option<&TlsConnector>,
    timeout: Duration,
) -> Result<Conn, Error> {
    let tcp = time::timeout(timeout, async {
        let addr = upstream.resolve().await?;
        TcpStream::connect(addr).await
    })
    .await
    .map_err(|_| Error::Timeout("connect did not finish within the connect timeout"))?
    .map_err(Error::Connect)?;
    if !upstream.https {
        return Ok(Conn::new(Transport::Plain(tcp)));
    }
    let tls = tls.ok_or(Error::InvalidRequest(
        "HTTPS upstream without a TLS connector",
    ))?;
    match tls.connect(&upstream.host, tcp).await {
        Ok(stream) => Ok(Conn::new(Transport::Tls(Box::new(stream)))),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(Error::Timeout("TLS handshake did not finish in time"))
        }
        Err(e) => Err(Error::Tls(e)),
    }
}
