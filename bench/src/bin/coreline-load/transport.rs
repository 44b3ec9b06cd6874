//! One connection's byte transport: plain TCP, or TLS driven by a rustls client over the
//! runtime's stream. Received chunks come from the core's provided-buffer ring; plain
//! chunks are parsed in place, TLS records are decrypted into one reused buffer.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use coreline_runtime::net::TcpStream;
use coreline_runtime::RecvBuf;
use coreline_tls::rustls::pki_types::ServerName;
use coreline_tls::rustls::{ClientConfig, ClientConnection};

/// Plaintext decrypted per step (rustls' own buffer limit is larger; this is just a view).
const PLAINTEXT_STEP: usize = 16 * 1024;

/// What a TLS connection is made with.
#[derive(Clone)]
pub struct TlsSetup {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// A connected transport.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsClient>),
}

/// A rustls client connection over a runtime stream.
pub struct TlsClient {
    tcp: TcpStream,
    conn: ClientConnection,
    /// Records to send; moved to the kernel and back.
    out: Vec<u8>,
    /// Decrypted plaintext handed to the parser.
    plain: Vec<u8>,
}

/// Why delivering a chunk failed.
pub enum Fail {
    /// TLS record or alert error (counted as a read error).
    Read(io::Error),
    /// The response could not be parsed.
    Parse(String),
}

impl Transport {
    /// Connects (with `fastopen`, by TCP Fast Open: see [`TcpStream::connect_fastopen`])
    /// and for TLS, completes the handshake.
    pub async fn connect(
        addr: SocketAddr,
        tls: Option<&TlsSetup>,
        fastopen: bool,
    ) -> io::Result<Transport> {
        let tcp = match fastopen {
            true => TcpStream::connect_fastopen(addr).await?,
            false => TcpStream::connect(addr).await?,
        };
        match tls {
            None => Ok(Transport::Plain(tcp)),
            Some(setup) => Ok(Transport::Tls(Box::new(
                TlsClient::handshake(tcp, setup).await?,
            ))),
        }
    }

    /// Polls for the next received chunk (`None`: the peer closed).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RecvBuf>>> {
        match self {
            Transport::Plain(tcp) => tcp.poll_recv(cx),
            Transport::Tls(t) => t.tcp.poll_recv(cx),
        }
    }

    /// Hands the plaintext of a received chunk to `parse`, which returns whether to go on.
    /// `Ok(false)`: stop (the parser saw the last response, or the TLS peer sent
    /// close_notify and `eof` is then set).
    pub fn deliver(
        &mut self,
        chunk: &[u8],
        eof: &mut bool,
        mut parse: impl FnMut(&[u8]) -> Result<bool, String>,
    ) -> Result<bool, Fail> {
        match self {
            Transport::Plain(_) => parse(chunk).map_err(Fail::Parse),
            Transport::Tls(t) => t.deliver(chunk, eof, &mut parse),
        }
    }

    /// Sends a batch of requests.
    pub async fn send(&mut self, batch: Rc<[u8]>) -> io::Result<()> {
        match self {
            Transport::Plain(tcp) => tcp.send_all(batch).await.0,
            Transport::Tls(t) => {
                t.conn.writer().write_all(&batch)?;
                t.flush().await
            }
        }
    }

    /// Sends anything TLS still owes the peer (e.g. a KeyUpdate answer).
    pub async fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(t) => t.flush().await,
        }
    }

    /// Whether [`flush`](Self::flush) has something to send.
    pub fn wants_flush(&self) -> bool {
        matches!(self, Transport::Tls(t) if t.conn.wants_write())
    }
}

impl TlsClient {
    async fn handshake(tcp: TcpStream, setup: &TlsSetup) -> io::Result<TlsClient> {
        let conn = ClientConnection::new(setup.config.clone(), setup.name.clone())
            .map_err(io::Error::other)?;
        let mut client = TlsClient {
            tcp,
            conn,
            out: Vec::with_capacity(4096),
            plain: vec![0; PLAINTEXT_STEP],
        };
        loop {
            client.flush().await?;
            if !client.conn.is_handshaking() {
                return Ok(client);
            }
            let chunk = client.tcp.recv().await?.ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "closed in TLS handshake")
            })?;
            client.absorb(&chunk)?;
        }
    }

    /// Feeds a chunk of records to rustls (plaintext is left in rustls for the caller).
    fn absorb(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        while !chunk.is_empty() {
            self.conn.read_tls(&mut chunk)?;
            self.conn.process_new_packets().map_err(io::Error::other)?;
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        mut chunk: &[u8],
        eof: &mut bool,
        parse: &mut impl FnMut(&[u8]) -> Result<bool, String>,
    ) -> Result<bool, Fail> {
        while !chunk.is_empty() {
            self.conn.read_tls(&mut chunk).map_err(Fail::Read)?;
            self.conn
                .process_new_packets()
                .map_err(|e| Fail::Read(io::Error::other(e)))?;
            // Drain the plaintext now: rustls refuses more records while it holds too much.
            loop {
                match self.conn.reader().read(&mut self.plain) {
                    Ok(0) => {
                        *eof = true; // close_notify: a clean end
                        return Ok(false);
                    }
                    Ok(n) => {
                        if !parse(&self.plain[..n]).map_err(Fail::Parse)? {
                            return Ok(false);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(Fail::Read(e)),
                }
            }
        }
        Ok(true)
    }

    async fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.out)?;
            let (result, out) = self.tcp.send_all(std::mem::take(&mut self.out)).await;
            self.out = out;
            self.out.clear();
            result?;
        }
        Ok(())
    }
}
