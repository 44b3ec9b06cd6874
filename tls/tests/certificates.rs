//! SNI (the right certificate per server name, the default otherwise) checked with Python
//! ssl, PEM loading: chains, PKCS#8 / SEC1 / PKCS#1 keys, and one-line errors, and
//! certificates reloaded while serving.

mod common;

use std::path::Path;
use std::process::Command;

use common::{python, Event, Server, TempDir};
use coreline_tls::{ConfigError, TlsAcceptor};

/// Prints the peer certificate's DNS subjectAltNames, comma-separated.
const PEER_SAN: &str = r#"
import socket, ssl, sys
port, cafile, name, verify_name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = verify_name
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname=name) as s:
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"
        print(",".join(v for k, v in s.getpeercert()["subjectAltName"] if k == "DNS"))
        s.unwrap()
"#;

fn peer_san(server: &Server, cafile: &Path, name: &str, verify_name: bool) -> String {
    let port = server.addr.port().to_string();
    let verify = if verify_name { "1" } else { "0" };
    python(PEER_SAN, &[&port, cafile.to_str().unwrap(), name, verify])
        .trim()
        .to_owned()
}

fn concat(dir: &TempDir, name: &str, files: &[&Path]) -> std::path::PathBuf {
    let mut all = Vec::new();
    for f in files {
        all.extend(std::fs::read(f).unwrap());
    }
    let path = dir.path(name);
    std::fs::write(&path, all).unwrap();
    path
}

#[test]
fn sni_picks_the_certificate_by_name_and_falls_back_to_default() {
    let dir = TempDir::new();
    let (dc, dk) = dir.cert("default", &["default.test"]);
    let (ac, ak) = dir.cert("a", &["a.test"]);
    let (bc, bk) = dir.cert("b", &["b.test"]);
    let tls = TlsAcceptor::builder()
        .default_cert(&dc, &dk)
        .sni_cert("a.test", &ac, &ak)
        .sni_cert("B.Test", &bc, &bk) // names match in any case
        .build()
        .unwrap();
    let server = Server::echo(tls);
    let ca = concat(&dir, "all.pem", &[&dc, &ac, &bc]);
    assert_eq!(peer_san(&server, &ca, "a.test", true), "a.test");
    assert_eq!(peer_san(&server, &ca, "b.test", true), "b.test");
    assert_eq!(peer_san(&server, &ca, "other.test", false), "default.test");
    for want in ["a.test", "b.test", "other.test"] {
        match server.handshake() {
            Event::Handshake { sni, .. } => assert_eq!(sni.as_deref(), Some(want)),
            other => panic!("{other:?}"),
        }
    }
}

/// Runs a shell script in `dir` (openssl CLI), panicking with its output on failure.
fn sh(dir: &TempDir, script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(&dir.0)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rsa_pkcs1_sec1_and_chain_files_are_served() {
    let dir = TempDir::new();
    sh(
        &dir,
        r#"
        openssl genrsa -traditional -out rsa.key 2048 2>/dev/null
        openssl req -x509 -new -key rsa.key -subj /CN=rsa.test \
            -addext subjectAltName=DNS:rsa.test -days 2 -out rsa.crt
        openssl ecparam -name prime256v1 -genkey -noout -out ec.key
        openssl req -x509 -new -key ec.key -subj /CN=ec.test \
            -addext subjectAltName=DNS:ec.test -days 2 -out ec.crt
        # root -> intermediate -> leaf; the server sends leaf + intermediate.
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout root.key -subj /CN=root -days 2 -out root.crt 2>/dev/null
        printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n' > ca.ext
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout mid.key -subj /CN=intermediate -out mid.csr 2>/dev/null
        openssl x509 -req -in mid.csr -CA root.crt -CAkey root.key -CAcreateserial \
            -days 2 -extfile ca.ext -out mid.crt 2>/dev/null
        printf 'subjectAltName=DNS:chain.test\n' > leaf.ext
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout leaf.key -subj /CN=chain.test -out leaf.csr 2>/dev/null
        openssl x509 -req -in leaf.csr -CA mid.crt -CAkey mid.key -CAcreateserial \
            -days 2 -extfile leaf.ext -out leaf.crt 2>/dev/null
        cat leaf.crt mid.crt > chain.pem
        "#,
    );
    let key = |f: &str| std::fs::read_to_string(dir.path(f)).unwrap();
    assert!(key("rsa.key").contains("BEGIN RSA PRIVATE KEY"), "PKCS#1");
    assert!(key("ec.key").contains("BEGIN EC PRIVATE KEY"), "SEC1");
    assert!(key("leaf.key").contains("BEGIN PRIVATE KEY"), "PKCS#8");
    assert_eq!(
        coreline_tls::load_certs(dir.path("chain.pem"))
            .unwrap()
            .len(),
        2
    );

    let tls = TlsAcceptor::builder()
        .default_cert(dir.path("chain.pem"), dir.path("leaf.key"))
        .sni_cert("rsa.test", dir.path("rsa.crt"), dir.path("rsa.key"))
        .sni_cert("ec.test", dir.path("ec.crt"), dir.path("ec.key"))
        .build()
        .unwrap();
    let server = Server::echo(tls);
    assert_eq!(
        peer_san(&server, &dir.path("rsa.crt"), "rsa.test", true),
        "rsa.test"
    );
    assert_eq!(
        peer_san(&server, &dir.path("ec.crt"), "ec.test", true),
        "ec.test"
    );
    // Trusting only the root works only if the intermediate is sent too.
    assert_eq!(
        peer_san(&server, &dir.path("root.crt"), "chain.test", true),
        "chain.test"
    );
}

fn one_line(e: &ConfigError) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "not one line: {msg:?}");
    msg
}

#[test]
fn pem_errors_name_the_file_and_the_reason() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("a", &["a.test"]);
    let (_, other_key) = dir.cert("b", &["b.test"]);
    let missing = dir.path("nope/cert.pem");
    let empty = dir.path("empty.pem");
    std::fs::write(&empty, "").unwrap();

    let e = TlsAcceptor::from_pem_files(&missing, &key).unwrap_err();
    let msg = one_line(&e);
    assert!(msg.contains(missing.to_str().unwrap()), "{msg}");
    assert!(
        msg.contains("cannot read") && msg.contains("No such file"),
        "{msg}"
    );

    let e = TlsAcceptor::from_pem_files(&cert, dir.path("missing.key")).unwrap_err();
    assert!(one_line(&e).contains("missing.key: cannot read"), "{e}");

    // An empty file, and a key file given as the certificate: no certificate in either.
    for not_a_chain in [&empty, &key] {
        let e = TlsAcceptor::from_pem_files(not_a_chain, &key).unwrap_err();
        let msg = one_line(&e);
        assert!(msg.starts_with(not_a_chain.to_str().unwrap()), "{msg}");
        assert!(msg.contains("empty certificate chain"), "{msg}");
    }

    // A certificate given as the key.
    let e = TlsAcceptor::from_pem_files(&cert, &cert).unwrap_err();
    let msg = one_line(&e);
    assert!(msg.starts_with(cert.to_str().unwrap()), "{msg}");
    assert!(msg.contains("no private key"), "{msg}");

    // Another certificate's key.
    let e = TlsAcceptor::from_pem_files(&cert, &other_key).unwrap_err();
    let msg = one_line(&e);
    assert!(matches!(e, ConfigError::KeyMismatch { .. }), "{msg}");
    assert!(msg.contains(other_key.to_str().unwrap()), "{msg}");
    assert!(msg.contains(cert.to_str().unwrap()), "{msg}");
    assert!(msg.contains("does not match"), "{msg}");

    // Broken PEM.
    let broken = dir.path("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let msg = one_line(&TlsAcceptor::from_pem_files(&broken, &key).unwrap_err());
    assert!(msg.contains("broken.pem: not valid PEM"), "{msg}");

    // The SNI certificates are checked the same way, and names must be DNS names.
    let e = TlsAcceptor::builder()
        .default_cert(&cert, &key)
        .sni_cert("b.test", &cert, &other_key)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::KeyMismatch { .. }), "{e}");
    let e = TlsAcceptor::builder()
        .default_cert(&cert, &key)
        .sni_cert("not a name!", &cert, &key)
        .build()
        .unwrap_err();
    assert!(one_line(&e).contains("'not a name!'"), "{e}");
    let e = TlsAcceptor::builder().build().unwrap_err();
    assert!(matches!(e, ConfigError::NoDefaultCert), "{e}");
}

#[test]
fn generated_files_load_and_the_key_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let (cert, key) = coreline_tls::generate_self_signed(&dir.0.join("new/sub"), &[]).unwrap();
    assert_eq!(cert.file_name().unwrap(), "cert.pem");
    assert_eq!(key.file_name().unwrap(), "key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    coreline_tls::load_certified_key(&cert, &key).unwrap();
    // Default names cover localhost by name and by address.
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    assert_eq!(peer_san(&server, &cert, "localhost", true), "localhost");
}

#[test]
fn reload_serves_the_new_files_and_keeps_the_old_on_an_error() {
    let dir = TempDir::new();
    let (c1, k1) = dir.cert("one", &["one.test"]);
    let (c2, k2) = dir.cert("two", &["two.test"]);
    let (cert, key) = (dir.path("cert.pem"), dir.path("key.pem"));
    std::fs::copy(&c1, &cert).unwrap();
    std::fs::copy(&k1, &key).unwrap();
    let tls = TlsAcceptor::builder()
        .default_cert(&cert, &key)
        .build()
        .unwrap();
    // The server's copy is a per-core one: the reload through this handle reaches it.
    let server = Server::echo(tls.clone());
    let ca = concat(&dir, "both.pem", &[&c1, &c2]);
    assert_eq!(peer_san(&server, &ca, "x.test", false), "one.test");

    std::fs::copy(&c2, &cert).unwrap();
    std::fs::copy(&k2, &key).unwrap();
    tls.reload_certificates().unwrap();
    assert_eq!(peer_san(&server, &ca, "x.test", false), "two.test");

    std::fs::copy(&k1, &key).unwrap(); // no longer matches the certificate
    let e = tls.reload_certificates().unwrap_err();
    assert!(matches!(e, ConfigError::KeyMismatch { .. }), "{e}");
    assert_eq!(peer_san(&server, &ca, "x.test", false), "two.test");

    let ready_made = TlsAcceptor::new(tls.config().clone());
    assert!(matches!(
        ready_made.reload_certificates(),
        Err(ConfigError::NotReloadable)
    ));
}

#[test]
fn reload_from_other_files_serves_them_and_reads_them_next_time() {
    let dir = TempDir::new();
    let (c1, k1) = dir.cert("one", &["one.test"]);
    let (c2, k2) = dir.cert("two", &["two.test"]);
    let (c3, k3) = dir.cert("three", &["three.test"]);
    let tls = TlsAcceptor::builder()
        .default_cert(&c1, &k1)
        .build()
        .unwrap();
    let server = Server::echo(tls.clone());
    let ca = concat(&dir, "all.pem", &[&c1, &c2, &c3]);
    assert_eq!(peer_san(&server, &ca, "x.test", false), "one.test");

    // A pair that does not match: nothing changes.
    let bad = TlsAcceptor::builder().default_cert(&c2, &k1);
    let e = tls.reload_certificates_from(&bad).unwrap_err();
    assert!(matches!(e, ConfigError::KeyMismatch { .. }), "{e}");
    assert_eq!(peer_san(&server, &ca, "x.test", false), "one.test");

    let moved = TlsAcceptor::builder()
        .default_cert(&c2, &k2)
        .sni_cert("three.test", &c3, &k3);
    tls.reload_certificates_from(&moved).unwrap();
    assert_eq!(peer_san(&server, &ca, "x.test", false), "two.test");
    assert_eq!(peer_san(&server, &ca, "three.test", false), "three.test");

    // A plain reload now reads the new files.
    std::fs::copy(&c1, &c2).unwrap();
    std::fs::copy(&k1, &k2).unwrap();
    tls.reload_certificates().unwrap();
    assert_eq!(peer_san(&server, &ca, "x.test", false), "one.test");
}
