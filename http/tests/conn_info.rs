//! Connection info in request extensions, seen through curl: a handler echoes the
//! `ConnectInfo` (both addresses) and `TlsInfo` (SNI name, ALPN protocol, TLS version) of
//! each request, over plain HTTP and HTTPS (the SNI name through `--resolve`), and curl's
//! own local port must be the peer port the handler saw. The handler gives every request
//! back with `recycle`, so later connections reuse pooled extension maps: each must still
//! see its own values.

#[path = "common/tools.rs"]
mod tools;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use coreline_http::{recycle, response, Body, ConnectInfo, Server, TlsInfo};
use coreline_runtime::Cores;
use coreline_tls::TlsAcceptor;
use http::{Request, StatusCode};
use tools::run;

const NAME: &str = "conninfo.test";

/// `peer local sni alpn version`, `-` for what is absent.
async fn echo_info(req: Request<Body>) -> http::Response<Body> {
    let connect = req.extensions().get::<ConnectInfo>().copied();
    let tls = req.extensions().get::<TlsInfo>().cloned();
    recycle(req);
    let text = match connect {
        None => "no ConnectInfo".to_string(),
        Some(c) => {
            let (sni, alpn, version) = match &tls {
                None => ("-".into(), "-".into(), "-".into()),
                Some(t) => (
                    t.server_name().unwrap_or("-").to_string(),
                    String::from_utf8_lossy(t.alpn_protocol().unwrap_or(b"-")).into_owned(),
                    t.protocol_version()
                        .map_or("-".into(), |v| format!("{v:?}")),
                ),
            };
            format!("{} {} {sni} {alpn} {version}", c.peer, c.local)
        }
    };
    response(StatusCode::OK, Body::from(text))
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One request with curl; returns the handler's fields and curl's local port.
fn curl(args: &[&str]) -> (Vec<String>, u16) {
    let mut all = vec!["-sS", "-m", "20", "--http1.1", "-w", " %{local_port}"];
    all.extend_from_slice(args);
    let out = run("curl", &all, Duration::from_secs(30));
    assert!(out.success, "{}", out.describe());
    let mut fields: Vec<String> = out.stdout.split(' ').map(String::from).collect();
    let port = fields.pop().unwrap().parse().expect("curl's local port");
    (fields, port)
}

fn addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| panic!("an address: {text}"))
}

#[test]
fn plain_and_tls_requests_carry_their_connection_s_info() {
    let dir = Dir(std::env::temp_dir().join(format!("coreline-conninfo-{}", std::process::id())));
    let (cert, key) = coreline_tls::generate_self_signed(&dir.0, &[NAME]).unwrap();
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .tls_listen(
            "127.0.0.1:0".parse().unwrap(),
            TlsAcceptor::from_pem_files(&cert, &key).unwrap(),
        )
        .cores(Cores::Count(1))
        .build(|| echo_info)
        .unwrap();
    let plain = server.local_addrs()[0];
    let tls = server.tls_local_addrs()[0];
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));

    // Twice each, alternating: pooled maps from earlier connections are overwritten.
    for _ in 0..2 {
        let (fields, port) = curl(&[&format!("http://{plain}/")]);
        assert_eq!(fields.len(), 5, "{fields:?}");
        assert_eq!(addr(&fields[0]), SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(addr(&fields[1]), plain);
        assert_eq!(fields[2..], ["-", "-", "-"]);

        let (fields, port) = https(&cert, tls, &["--tlsv1.3"]);
        assert_eq!(addr(&fields[0]), SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(addr(&fields[1]), tls);
        assert_eq!(fields[2..], [NAME, "http/1.1", "TLSv1_3"]);

        let (fields, _) = https(&cert, tls, &["--tlsv1.2", "--tls-max", "1.2"]);
        assert_eq!(fields[2..], [NAME, "http/1.1", "TLSv1_2"]);
    }
    // Two requests on one connection: both carry it.
    let url = format!("http://{plain}/");
    let out = run(
        "curl",
        &["-sS", "-m", "20", "-w", " %{local_port}\n", &url, &url],
        Duration::from_secs(30),
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.describe());
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(addr(fields[0]).port().to_string(), fields[5], "{line}");
    }

    handle.shutdown();
    thread.join().unwrap().unwrap();
}

/// One HTTPS request to `NAME` (resolved to `addr` with `--resolve`, so curl sends it as
/// SNI), trusting only `cert`.
fn https(cert: &Path, addr: SocketAddr, extra: &[&str]) -> (Vec<String>, u16) {
    let port = addr.port();
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let url = format!("https://{NAME}:{port}/");
    let mut args = vec!["--cacert", cert.to_str().unwrap(), "--resolve", &resolve];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}
