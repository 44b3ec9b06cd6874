//! An HTTPS server on coreline-tls (self-signed certificate from the tls crate) that
//! answers every request head with `Hello, World!` and counts handshakes, resumed
//! handshakes and requests.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use bytes::BytesMut;
use coreline_runtime::net::TcpListener;
use coreline_runtime::{spawn_local, Cores, Runtime};
use coreline_tls::{generate_self_signed, TlsAcceptor, TlsStream};

#[derive(Debug, Default)]
pub struct TlsCounts {
    pub handshakes: AtomicU64,
    pub resumed: AtomicU64,
    pub requests: AtomicU64,
}

/// The running server; stopped on drop.
pub struct Https {
    pub addr: SocketAddr,
    pub cert: PathBuf,
    pub counts: Arc<TlsCounts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Https {
    pub fn start(dir: &std::path::Path) -> Https {
        let (cert, key) = generate_self_signed(dir, &[]).expect("self-signed certificate");
        let acceptor = TlsAcceptor::from_pem_files(&cert, &key).expect("acceptor");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let counts = Arc::new(TlsCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = Runtime::builder()
                .cores(Cores::List(vec![0]))
                .build()
                .unwrap();
            rt.run(|_| {
                let (tls, c, s) = (acceptor.per_core(), c.clone(), s.clone());
                let ready = ready_tx.clone();
                async move {
                    let mut listener = TcpListener::bind(addr).expect("bind");
                    let _ = ready.send(());
                    while let Ok(tcp) = listener.accept().await {
                        if s.load(Ordering::Relaxed) {
                            break;
                        }
                        let (tls, c) = (tls.clone(), c.clone());
                        spawn_local(async move {
                            if let Ok(stream) = tls.accept(tcp).await {
                                c.handshakes.fetch_add(1, Ordering::Relaxed);
                                if stream.is_resumed() {
                                    c.resumed.fetch_add(1, Ordering::Relaxed);
                                }
                                answer(stream, &c).await;
                            }
                        });
                    }
                }
            })
            .expect("runtime");
        });
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("TLS server ready");
        Https {
            addr,
            cert,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}/", self.addr)
    }

    pub fn get(&self, which: fn(&TlsCounts) -> &AtomicU64) -> u64 {
        which(&self.counts).load(Ordering::Relaxed)
    }
}

/// Answers each request head; closes after one that asked for it.
async fn answer(mut stream: TlsStream, c: &TlsCounts) {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        match stream.recv_into(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf.split_to(end + 4);
            c.requests.fetch_add(1, Ordering::Relaxed);
            let close = String::from_utf8_lossy(&head)
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n");
            let res: &[u8] = if close {
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\nHello, World!"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
            };
            if stream.send_all(res).await.is_err() {
                return;
            }
            if close {
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop, which then ends
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
