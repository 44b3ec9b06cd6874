//! HTTPS from the `coreline` binary, checked with real clients: curl `--cacert` over TLS
//! 1.2 and 1.3 (forced) and keep-alive reuse, `openssl s_client` session resumption,
//! Python `ssl` with SNI, h2load `--h1`. Every certificate is made by `coreline gen-cert`
//! (or the same generator, for the SNI names).

#[path = "common/served.rs"]
mod served;
#[path = "common/tls_bin.rs"]
mod tls_bin;
#[path = "common/tools.rs"]
mod tools;

use std::process::{Command, Stdio};
use std::time::Duration;

use served::Served;
use tls_bin::{curl, gen_cert, s, Dir, LIMIT};
use tools::{field, run};

#[test]
fn curl_over_tls_12_and_13_forced_serves_every_route() {
    let dir = Dir::new("curl");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    for (force, version) in [
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1.2"),
        (&["--tlsv1.3"][..], "TLSv1.3"),
    ] {
        let mut args = force.to_vec();
        let url = server.https_url("/plaintext");
        args.extend(["-v", url.as_str()]);
        let out = curl(&cert, &args);
        assert!(out.success, "{}", out.describe());
        assert_eq!(out.stdout, "Hello, World!");
        assert!(
            out.stderr
                .contains(&format!("SSL connection using {version}")),
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("ALPN: server accepted http/1.1"),
            "{}",
            out.stderr
        );
        // /echo and / answer as over plain HTTP.
        let echo_url = server.https_url("/echo");
        let mut args = force.to_vec();
        args.extend(["--data-binary", "ping over tls", echo_url.as_str()]);
        let out = curl(&cert, &args);
        assert_eq!(out.stdout, "ping over tls", "{}", out.describe());
        let index_url = server.https_url("/");
        let mut args = force.to_vec();
        args.extend(["-w", "%{http_code}", "-o", "/dev/null", index_url.as_str()]);
        assert_eq!(curl(&cert, &args).stdout, "200");
    }
    // The plain listener beside it serves the same.
    let out = run(
        "curl",
        &["-sS", "-m", "20", &server.url("/plaintext")],
        LIMIT,
    );
    assert_eq!(out.stdout, "Hello, World!");
}

#[test]
fn curl_reuses_one_tls_connection_for_two_requests() {
    let dir = Dir::new("reuse");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let url = server.https_url("/plaintext");
    let out = curl(&cert, &["-v", "-w", "[%{num_connects}]", &url, &url]);
    assert!(out.success, "{}", out.describe());
    assert_eq!(out.stdout, "Hello, World![1]Hello, World![0]");
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("SSL connection using").count(),
        1,
        "one handshake"
    );
}

/// `openssl s_client` with `args`; sends one request, keeps stdin open briefly so the
/// TLS 1.3 tickets (sent after the handshake) arrive before it exits.
fn s_client(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-ign_eof"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (run ci/test.sh)");
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    // The server closes after the response (Connection: close); -ign_eof keeps s_client
    // reading until then, so the session (and its ticket) is complete.
    let waited = std::thread::spawn(move || child.wait_with_output());
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = waited.join().unwrap().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openssl_s_client_resumes_with_sess_out_then_sess_in() {
    let dir = Dir::new("resume");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let addr = server.tls_addr.unwrap();
    for version in ["-tls1_3", "-tls1_2"] {
        let sess = dir.path(&format!("sess{version}"));
        let first = s_client(addr, &[version, "-CAfile", s(&cert), "-sess_out", s(&sess)]);
        assert!(first.contains("\nNew, TLSv1."), "{first}");
        assert!(first.contains("Verify return code: 0 (ok)"), "{first}");
        assert!(first.contains("Hello, World!"), "{first}");
        let second = s_client(addr, &[version, "-CAfile", s(&cert), "-sess_in", s(&sess)]);
        assert!(second.contains("\nReused, TLSv1."), "{version}: {second}");
        assert!(second.contains("Hello, World!"), "{second}");
    }
}

/// For each NAME=CAFILE argument, connects with Python's ssl trusting only CAFILE and
/// prints NAME, the certificate's CN, the body and the ALPN protocol.
const PY_SNI: &str = include_str!("scripts/python_sni.py");

#[test]
fn python_ssl_gets_the_certificate_of_each_server_name() {
    let dir = Dir::new("sni");
    let (cert, key) = gen_cert(&dir.path("default"));
    let (a_cert, a_key) = coreline_tls::generate_self_signed(&dir.path("a"), &["a.test"]).unwrap();
    let (b_cert, b_key) = coreline_tls::generate_self_signed(&dir.path("b"), &["b.test"]).unwrap();
    let sni_a = format!("a.test={}:{}", s(&a_cert), s(&a_key));
    let sni_b = format!("--tls-sni=b.test={}:{}", s(&b_cert), s(&b_key));
    let server = Served::start_tls(&cert, &key, &["--tls-sni", &sni_a, &sni_b], Stdio::null);
    let port = server.tls_addr.unwrap().port().to_string();
    let a = format!("a.test={}", s(&a_cert));
    let b = format!("b.test={}", s(&b_cert));
    let other = format!("unknown.test={}", s(&cert));
    let out = run("python3", &["-c", PY_SNI, &port, &a, &b, &other], LIMIT);
    assert!(out.success, "{}", out.describe());
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "a.test a.test Hello, World! http/1.1",
            "b.test b.test Hello, World! http/1.1",
            "unknown.test localhost Hello, World! http/1.1",
        ],
        "{}",
        out.describe()
    );
}

#[test]
fn h2load_h1_over_tls_all_2xx() {
    let dir = Dir::new("h2load");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let url = format!("https://{}/plaintext", server.tls_addr.unwrap());
    let out = run(
        "h2load",
        &["--h1", "-n", "2000", "-c", "8", "-m", "4", &url],
        LIMIT,
    );
    assert!(out.success, "{}", out.describe());
    assert!(
        out.stdout.contains("2000 succeeded, 0 failed, 0 errored"),
        "{}",
        out.describe()
    );
    assert!(
        field(&out.stdout, "status codes").is_some_and(|s| s.starts_with("2000 2xx")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Application protocol: http/1.1"),
        "{}",
        out.stdout
    );
}
