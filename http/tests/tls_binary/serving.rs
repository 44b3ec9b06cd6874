//! Serving over TLS: static files and ranges (read and encrypted, not spliced), and
//! `--tls-listen` alone serving HTTPS only.

use std::process::{Command, Stdio};

use crate::served::Served;
use crate::tls_bin::{curl, gen_cert, s, Dir};

fn sha256(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn static_files_over_tls_are_byte_exact_and_ranges_work() {
    let dir = Dir::new("files");
    let (cert, key) = gen_cert(&dir.path("c"));
    let root = dir.path("root");
    std::fs::create_dir_all(&root).unwrap();
    // 1 MiB (spliced over plain HTTP, read and encrypted over TLS), 100 KiB, 1 byte, 0.
    let mut files = Vec::new();
    for len in [1usize << 20, 100 * 1024, 1, 0] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(root.join(format!("f{len}.bin")), &data).unwrap();
        files.push((len, data));
    }
    let server = Served::start_tls(&cert, &key, &["--root", s(&root)], Stdio::null);
    // All downloads on one keep-alive connection, each written to its own file.
    let mut args = vec!["-w".to_string(), "%{http_code} %{num_connects}\\n".into()];
    for (len, _) in &files {
        args.push(server.https_url(&format!("/f{len}.bin")));
        args.push("-o".into());
        args.push(s(&dir.path(&format!("got{len}"))).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = curl(&cert, &args);
    assert!(out.success, "{}", out.describe());
    assert_eq!(out.stdout, "200 1\n200 0\n200 0\n200 0\n", "one connection");
    for (len, data) in &files {
        let got = std::fs::read(dir.path(&format!("got{len}"))).unwrap();
        assert_eq!(got.len(), *len);
        assert_eq!(sha256(&got), sha256(data), "f{len}.bin byte-exact");
    }
    // Ranges: middle, suffix, past the end.
    let big = &files[0].1;
    let url = server.https_url("/f1048576.bin");
    let out = curl(
        &cert,
        &[
            "-r",
            "1000-1999",
            "-o",
            s(&dir.path("r1")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(std::fs::read(dir.path("r1")).unwrap(), &big[1000..2000]);
    let out = curl(
        &cert,
        &[
            "-r",
            "-500",
            "-o",
            s(&dir.path("r2")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(
        std::fs::read(dir.path("r2")).unwrap(),
        &big[big.len() - 500..]
    );
    let out = curl(
        &cert,
        &[
            "-r",
            "2000000-",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "416");
    // A large range crosses several TLS sends (read in chunks, sealed, sent).
    let out = curl(
        &cert,
        &[
            "-r",
            "5-900004",
            "-o",
            s(&dir.path("r3")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(std::fs::read(dir.path("r3")).unwrap(), &big[5..900005]);
}

#[test]
fn tls_listen_without_listen_serves_https_only() {
    let dir = Dir::new("only");
    let (cert, key) = gen_cert(&dir.path("c"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(["serve", "--cpus", "0", "--tls-listen", &port.to_string()])
        .args(["--tls-cert", s(&cert), "--tls-key", s(&key)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let out = curl(
        &cert,
        &[&format!("https://127.0.0.1:{}/plaintext", port.port())],
    );
    let _ = child.kill();
    let _ = child.wait();
    // After the log line's time and level.
    let serving = format!(" INFO  coreline: serving https://{port}/ on 1 core(s) (Ctrl-C to stop)");
    assert!(line.trim_end().ends_with(&serving), "{line}");
    assert_eq!(out.stdout, "Hello, World!", "curl: {}", out.stderr);
}
