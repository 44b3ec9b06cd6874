//! An upstream that answers (413 and close) while a large request body is still being
//! sent: its answer reaches the client, not a 502 for the failed send. The proxy runs in
//! process with a body limit above the upload (the binary's is 1 MiB).

use std::future::Future;
use std::pin::Pin;
use std::process::Command;

use coreline_http::proxy::ProxyBuilder;
use coreline_http::{Body, Handler, Limits, Server};
use coreline_runtime::Cores;
use http::{Request, Response};

use crate::python_upstream;

const UPLOAD: usize = 10 << 20;

#[test]
fn an_early_413_reaches_the_client_during_a_large_upload() {
    let upstream = python_upstream::start("early_answer_upstream.py");
    let proxy = ProxyBuilder::new(vec![format!("/=http://127.0.0.1:{}", upstream.port)
        .parse()
        .unwrap()]);
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .limits(Limits::default().max_body(2 * UPLOAD as u64))
        .build(move || {
            let proxy = proxy.build();
            move |req: Request<Body>| -> Pin<Box<dyn Future<Output = Response<Body>>>> {
                proxy.call(req)
            }
        })
        .expect("build server");
    let front = crate::common::run_on_thread(server);
    let dir = std::env::temp_dir().join(format!("coreline-early-answer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let upload = dir.join("upload");
    std::fs::write(&upload, vec![b'u'; UPLOAD]).unwrap();
    // `Expect:` off: curl sends the body at once instead of waiting for 100 Continue.
    let out = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-H", "Expect:"])
        .arg("--data-binary")
        .arg(format!("@{}", upload.display()))
        .arg(format!("http://{}/upload", front.addr))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "too large\n\n413",
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
