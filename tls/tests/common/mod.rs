//! Helpers shared by the TLS integration tests: a temp dir with generated certificates, a
//! TLS server on a one-core runtime in a background thread that reports what happened on
//! each connection, and the clients (openssl s_client, Python ssl, a rustls client).
#![allow(dead_code)]

mod clients;

pub use clients::*;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use coreline_runtime::net::TcpListener;
use coreline_runtime::{spawn_local, time, Cores, Runtime};
use coreline_tls::{TlsAcceptor, TlsStream};

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coreline-tls-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A self-signed certificate for `names` in subdirectory `sub`: (cert, key).
    pub fn cert(&self, sub: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        coreline_tls::generate_self_signed(&self.0.join(sub), names).expect("generate cert")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the server saw on one connection.
#[derive(Debug)]
pub enum Event {
    /// Handshake done.
    Handshake {
        version: String,
        alpn: Option<String>,
        sni: Option<String>,
        resumed: bool,
    },
    /// Handshake failed after `elapsed`.
    HandshakeFailed {
        kind: io::ErrorKind,
        message: String,
        elapsed: Duration,
    },
    /// The connection ended: `Ok` on a clean close_notify, else the error kind.
    End(Result<(), io::ErrorKind>),
}

/// A TLS server on one core in a background thread; stopped on drop.
pub struct Server {
    pub addr: SocketAddr,
    pub events: mpsc::Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves with the echo handler ([`echo`]).
    pub fn echo(tls: TlsAcceptor) -> Server {
        Server::start(tls, echo)
    }

    /// Serves every handshaken connection with `handler`.
    pub fn start<H, Fut>(tls: TlsAcceptor, handler: H) -> Server
    where
        H: Fn(TlsStream, mpsc::Sender<Event>) -> Fut + Send + Clone + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let (tx, events) = mpsc::channel();
        let (addr_tx, addr_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let rt = Runtime::builder()
                .cores(Cores::Count(1))
                .build()
                .expect("runtime");
            rt.block_on(move || async move {
                let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
                addr_tx.send(listener.local_addr()).unwrap();
                let tls = tls.per_core();
                while !stop2.load(Ordering::Relaxed) {
                    let Ok(Ok(tcp)) =
                        time::timeout(Duration::from_millis(20), listener.accept()).await
                    else {
                        continue;
                    };
                    let (tls, tx, handler) = (tls.clone(), tx.clone(), handler.clone());
                    spawn_local(async move {
                        let start = Instant::now();
                        match tls.accept(tcp).await {
                            Ok(stream) => {
                                let _ = tx.send(Event::Handshake {
                                    version: format!("{:?}", stream.protocol_version().unwrap()),
                                    alpn: stream
                                        .alpn_protocol()
                                        .map(|p| String::from_utf8_lossy(p).into_owned()),
                                    sni: stream.server_name().map(str::to_owned),
                                    resumed: stream.is_resumed(),
                                });
                                handler(stream, tx).await;
                            }
                            Err(e) => {
                                let _ = tx.send(Event::HandshakeFailed {
                                    kind: e.kind(),
                                    message: e.to_string(),
                                    elapsed: start.elapsed(),
                                });
                            }
                        }
                    });
                }
            })
            .expect("server runtime");
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server address");
        Server {
            addr,
            events,
            stop,
            thread: Some(thread),
        }
    }

    /// The next event, waiting at most 5 s.
    pub fn event(&self) -> Event {
        self.events
            .recv_timeout(Duration::from_secs(5))
            .expect("no server event within 5 s")
    }

    /// The next handshake outcome (skipping `End` events of earlier connections).
    pub fn handshake(&self) -> Event {
        loop {
            match self.event() {
                Event::End(_) => continue,
                e => return e,
            }
        }
    }

    /// The next `End` event.
    pub fn end(&self) -> Result<(), io::ErrorKind> {
        loop {
            if let Event::End(r) = self.event() {
                return r;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Echoes until the peer ends; reports how it ended; answers close_notify with ours.
pub async fn echo(mut stream: TlsStream, tx: mpsc::Sender<Event>) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let end = loop {
        match stream.recv_into(&mut buf).await {
            Ok(0) => break Ok(()),
            Ok(_) => {
                if let Err(e) = stream.send_all(&buf).await {
                    break Err(e.kind());
                }
                buf.clear();
            }
            Err(e) => break Err(e.kind()),
        }
    };
    if end.is_ok() {
        let _ = stream.shutdown().await;
    }
    let _ = tx.send(Event::End(end));
}
