//! The test clients: openssl s_client, Python ssl, a blocking rustls client, raw TCP.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Runs `openssl s_client -connect ADDR ARGS`, sends `marker` + newline, waits until the
/// server echoed it (or 5 s), closes stdin (s_client then sends close_notify and exits),
/// and returns everything s_client printed (stdout + stderr).
pub fn s_client(addr: SocketAddr, args: &[&str], marker: &str) -> String {
    let mut child = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client (is openssl installed?)");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            let _ = tx.send(all.clone());
        }
        all
    });
    let _ = stdin.write_all(format!("{marker}\n").as_bytes());
    let _ = stdin.flush();
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(seen) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if String::from_utf8_lossy(&seen).contains(marker) {
            break;
        }
    }
    drop(stdin);
    let wait_until = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    let out = reader.join().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    format!("{}\n{err}", String::from_utf8_lossy(&out))
}

/// Runs `python3 -c SCRIPT ARGS...` and returns stdout; panics with stderr on failure.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A rustls client config trusting the certificates in `ca_files`.
pub fn client_config(ca_files: &[&Path]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for f in ca_files {
        for cert in coreline_tls::load_certs(f).unwrap() {
            roots.add(cert).unwrap();
        }
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(coreline_tls::provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A blocking rustls client connection over std TCP.
pub type Client = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

/// Connects and completes the handshake.
pub fn connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>, name: &str) -> Client {
    let sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config), server_name).unwrap();
    let mut client = rustls::StreamOwned::new(conn, sock);
    while client.conn.is_handshaking() {
        client.conn.complete_io(&mut client.sock).unwrap();
    }
    client
}

/// Sends `data` and reads the same number of bytes back.
pub fn round_trip(client: &mut Client, data: &[u8]) -> Vec<u8> {
    client.write_all(data).unwrap();
    client.flush().unwrap();
    let mut back = vec![0u8; data.len()];
    client.read_exact(&mut back).unwrap();
    back
}

/// Reads from a raw socket until EOF or error; returns (bytes, how long it took).
pub fn read_until_closed(sock: &mut std::net::TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    sock.set_read_timeout(Some(limit)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                panic!("connection still open after {limit:?}")
            }
            Err(_) => break, // reset counts as closed
        }
    }
    (all, start.elapsed())
}
