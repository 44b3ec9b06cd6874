//! `TlsStream` through the `futures-io` traits (feature `futures-io`) against a blocking
//! rustls client on a std thread: a line protocol read with `AsyncReadExt`, answers and a
//! 1 MiB reply written with `AsyncWriteExt`, then `close` (close_notify and FIN), which the
//! client must see as a clean end; and a client that vanishes without close_notify is a
//! truncation (`UnexpectedEof`), never a clean end.

mod common;

use std::io::{self, Read, Write};
use std::sync::mpsc;

use common::{client_config, connect, Event, Server, TempDir};
use coreline_tls::{TlsAcceptor, TlsStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

const BIG: usize = 1024 * 1024;

/// Reads 4-byte commands: `ping` gets `pong`, `big!` gets 1 MiB of `z`, `bye!` closes.
/// Reports how the stream ended.
async fn serve(mut stream: TlsStream, tx: mpsc::Sender<Event>) {
    let end = async {
        loop {
            let mut cmd = [0u8; 4];
            stream.read_exact(&mut cmd).await?;
            match &cmd {
                b"ping" => stream.write_all(b"pong").await?,
                b"big!" => stream.write_all(&vec![b'z'; BIG]).await?,
                b"bye!" => {
                    stream.close().await?;
                    return Ok(());
                }
                _ => return Err(io::Error::other("unknown command")),
            }
            stream.flush().await?;
        }
    };
    let result: io::Result<()> = end.await;
    let _ = tx.send(Event::End(result.map_err(|e| e.kind())));
}

#[test]
fn echo_big_reply_and_clean_close_through_futures_io() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::start(TlsAcceptor::from_pem_files(&cert, &key).unwrap(), serve);
    let config = client_config(&[&cert]);
    let mut client = connect(server.addr, &config, "localhost");
    for _ in 0..3 {
        client.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"pong");
    }
    client.write_all(b"big!").unwrap();
    let mut big = vec![0u8; BIG];
    client.read_exact(&mut big).unwrap();
    assert!(big.iter().all(|&b| b == b'z'));
    client.write_all(b"bye!").unwrap();
    // The server's close: close_notify, so a clean end of stream for the client.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert!(matches!(server.handshake(), Event::Handshake { .. }));
    assert_eq!(server.end(), Ok(()));
}

#[test]
fn a_peer_gone_without_close_notify_is_a_truncation() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::start(TlsAcceptor::from_pem_files(&cert, &key).unwrap(), serve);
    let config = client_config(&[&cert]);
    let mut client = connect(server.addr, &config, "localhost");
    client.write_all(b"pi").unwrap(); // half a command, then a bare FIN
    client.flush().unwrap();
    client.sock.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(matches!(server.handshake(), Event::Handshake { .. }));
    assert_eq!(server.end(), Err(io::ErrorKind::UnexpectedEof));
}
