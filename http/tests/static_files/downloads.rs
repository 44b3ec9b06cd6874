//! Whole files, ranges, conditional requests and HEAD, fetched with curl.

use std::process::Command;

use crate::{curl, serve, sha256};

#[test]
fn downloads_are_byte_exact_over_one_keep_alive_connection() {
    let s = serve("exact");
    let out = s.root.parent().unwrap().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let names = [
        "f0.bin",
        "f1.bin",
        "f4095.bin",
        "f4096.bin",
        "f65536.bin",
        "f1048576.bin",
        "sparse.bin",
    ];
    let mut args = vec![
        "-w".to_string(),
        "%{http_code} %{num_connects}\n".to_string(),
    ];
    for n in names {
        args.push("-o".into());
        args.push(out.join(n).display().to_string());
        args.push(s.url(&format!("/{n}")));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = curl(&args);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), names.len(), "{report}");
    assert!(lines.iter().all(|l| l.starts_with("200 ")), "{report}");
    let connects: u32 = lines.iter().map(|l| l[4..].parse::<u32>().unwrap()).sum();
    assert_eq!(
        connects, 1,
        "all downloads on one keep-alive connection: {report}"
    );
    for n in names {
        assert_eq!(sha256(&out.join(n)), sha256(&s.root.join(n)), "{n}");
    }
}

#[test]
fn two_hundred_concurrent_downloads_are_byte_exact() {
    let s = serve("concurrent");
    let want = sha256(&s.root.join("f10485760.bin"));
    let url = s.url("/f10485760.bin");
    let workers: Vec<_> = (0..200)
        .map(|_| {
            let cmd = format!("curl -s -m 120 '{url}' | sha256sum");
            std::thread::spawn(move || {
                let out = Command::new("sh").args(["-c", &cmd]).output().unwrap();
                String::from_utf8_lossy(&out.stdout)[..64].to_string()
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap(), want);
    }
}

#[test]
fn ranges() {
    let s = serve("ranges");
    let url = s.url("/f65536.bin");
    let data = std::fs::read(s.root.join("f65536.bin")).unwrap();
    let fetch = |r: &str| {
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-D", "-", "-r", r, &url])
            .output()
            .unwrap()
            .stdout;
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        (
            String::from_utf8_lossy(&out[..split]).to_lowercase(),
            out[split..].to_vec(),
        )
    };
    let (head, body) = fetch("0-99");
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(head.contains("content-range: bytes 0-99/65536"), "{head}");
    assert_eq!(body, &data[..100]);
    let (head, body) = fetch("1000-30000");
    assert!(
        head.contains("content-range: bytes 1000-30000/65536"),
        "{head}"
    );
    assert_eq!(body, &data[1000..=30000]);
    let (head, body) = fetch("-500");
    assert!(
        head.contains("content-range: bytes 65036-65535/65536"),
        "{head}"
    );
    assert_eq!(body, &data[65036..]);
    let (head, _) = fetch("70000-");
    assert!(head.starts_with("http/1.1 416"), "{head}");
    assert!(head.contains("content-range: bytes */65536"), "{head}");
    // Several ranges: the whole file with 200 (documented choice).
    let (head, body) = fetch("0-1,5-6");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, data);
    // A large range is spliced from the middle of a file.
    let big = std::fs::read(s.root.join("f10485760.bin")).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-r", "12345-5000000", &s.url("/f10485760.bin")])
        .output()
        .unwrap();
    assert_eq!(out.stdout, &big[12345..=5_000_000]);
}

#[test]
fn conditional_requests_and_head() {
    let s = serve("cond");
    let url = s.url("/f4096.bin");
    let original = curl(&["-I", &url]);
    let head = original.to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-length: 4096"), "{head}");
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    let field = |name: &str| {
        original
            .lines()
            .find(|l| l.to_lowercase().starts_with(name))
            .map(|l| &l[name.len()..])
            .unwrap()
            .trim()
            .to_string()
    };
    let etag = field("etag:");
    let modified = field("last-modified:");
    assert!(
        etag.starts_with('"') && !etag.starts_with("w/"),
        "strong: {etag}"
    );
    let code = |extra: &[&str]| {
        let mut args = vec!["-o", "/dev/null", "-w", "%{http_code} %{size_download}"];
        args.extend_from_slice(extra);
        args.push(&url);
        curl(&args)
    };
    assert_eq!(code(&["-H", &format!("If-None-Match: {etag}")]), "304 0");
    assert_eq!(
        code(&["-H", &format!("If-None-Match: \"x\", W/{etag}")]),
        "304 0"
    );
    assert_eq!(code(&["-H", "If-None-Match: \"other\""]), "200 4096");
    assert_eq!(
        code(&["-H", &format!("If-Modified-Since: {modified}")]),
        "304 0"
    );
    assert_eq!(
        code(&["-H", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"]),
        "200 4096"
    );
    let ir = format!("If-Range: {etag}");
    assert_eq!(code(&["-r", "0-9", "-H", &ir]), "206 10");
    assert_eq!(
        code(&["-r", "0-9", "-H", "If-Range: \"stale\""]),
        "200 4096"
    );
    // HEAD of a large file: the length and no body.
    let sparse = curl(&["-I", "-w", "%{size_download}", &s.url("/sparse.bin")]).to_lowercase();
    assert!(sparse.contains("content-length: 104857600"), "{sparse}");
    assert!(sparse.ends_with("\r\n0"), "{sparse}");
    let dir = curl(&["-w", " %{http_code}", &s.url("/dir/")]);
    assert_eq!(dir, "<p>index</p> 200");
    let dir = curl(&["-w", " %{http_code}", &s.url("/dir")]);
    assert_eq!(dir, "<p>index</p> 200");
    assert!(curl(&["-w", "%{http_code}", &s.url("/empty-dir/")]).ends_with("404"));
}
