//! curl and Python through the proxy, to a Python upstream and to coreline: both body
//! framings both ways.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{one, proxy, run, served::Served, start_python};

#[test]
fn curl_to_a_python_upstream_both_framings_both_ways() {
    let python = start_python();
    let front = proxy(&[format!("/py/=http://127.0.0.1:{}/", python.port)], &[]);

    let file = run("curl", &["-sS", "--fail", &front.url("/py/file")]);
    assert_eq!(file, "p".repeat(65536), "a Content-Length download");

    let chunked = run("curl", &["-sS", "--fail", &front.url("/py/chunked")]);
    let expected: String = (0..100).map(|i| format!("part {i};")).collect();
    assert_eq!(chunked, expected, "a chunked download");

    // A chunked upload (curl sends stdin as it reads it), answered chunked.
    let upload = "0123456789".repeat(20_000);
    let mut curl = Command::new("curl")
        .args(["-sS", "--fail", "-H", "Transfer-Encoding: chunked"])
        .args([
            "--data-binary",
            "@-",
            "-D",
            "/dev/stderr",
            &front.url("/py/echo"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = curl.stdin.take().unwrap();
    let sent = upload.clone();
    let writer = std::thread::spawn(move || stdin.write_all(sent.as_bytes()).unwrap());
    let out = curl.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), upload);
    let head = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        head.contains("x-request-framing: chunked"),
        "the upload stayed streamed: {head}"
    );
}

#[test]
fn python_to_a_python_upstream_with_a_content_length_upload() {
    let python = start_python();
    let front = proxy(&[format!("/=http://127.0.0.1:{}", python.port)], &[]);
    let script = format!(
        "import http.client\n\
         c = http.client.HTTPConnection('127.0.0.1', {port}, timeout=10)\n\
         body = bytes(range(256)) * 1000\n\
         c.request('PUT', '/x/echo', body=body)\n\
         r = c.getresponse(); got = r.read()\n\
         print(r.status, got == body, r.getheader('X-Request-Framing'))\n\
         c.request('GET', '/chunked'); r = c.getresponse(); got = r.read()\n\
         print(r.status, len(got), r.will_close)\n",
        port = front.addr.port()
    );
    let out = run("python3", &["-c", &script]);
    assert_eq!(out, "200 True length\n200 790 False\n");
}

#[test]
fn curl_and_python_to_a_coreline_upstream() {
    let upstream = Served::start(&[] as &[&str], Stdio::null);
    let front = proxy(&[format!("/={}", upstream.url(""))], &[]);

    let hello = run("curl", &["-sS", "--fail", &front.url("/plaintext")]);
    assert_eq!(hello, "Hello, World!");

    // The client script's keep-alive GETs and chunked /echo upload, through the proxy.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/python_client.py"
    );
    let out = run("python3", &[script, &front.addr.port().to_string()]);
    assert!(out.contains("get1 200 b'Hello, World!'"), "{out}");
    assert!(out.contains("keep-alive same-socket=True"), "{out}");
    assert!(
        out.contains("echo 200") && out.contains("equal=True"),
        "{out}"
    );

    let res = one(
        front.addr,
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!((res.status, res.body_str()), (200, "abcde"));
}

#[test]
fn max_body_raises_the_upload_limit_through_the_proxy() {
    let python = start_python();
    let rule = [format!("/py/=http://127.0.0.1:{}/", python.port)];
    let file = std::env::temp_dir().join(format!("coreline-max-body-{}", std::process::id()));
    let upload: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&file, &upload).unwrap();
    let data = format!("@{}", file.display());
    let post = |front: &Served| {
        Command::new("curl")
            .args([
                "-sS",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "--data-binary",
                &data,
            ])
            .arg(front.url("/py/echo"))
            .output()
            .unwrap()
    };

    // The default limit (1 MiB, as nginx's client_max_body_size) refuses 3 MiB.
    let out = post(&proxy(&rule, &[]));
    assert!(
        out.stdout.ends_with(b"\n413"),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = post(&proxy(&rule, &["--max-body", "4m"]));
    let _ = std::fs::remove_file(&file);
    let (body, code) = out.stdout.split_at(out.stdout.len() - 4);
    assert_eq!(code, b"\n200");
    assert!(
        body == upload.as_slice(),
        "the 3 MiB upload came back whole"
    );
}
