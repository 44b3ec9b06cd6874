//! Against a Python `http.server` upstream (`tests/scripts/upstream_http_server.py`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use coreline_http::client::Client;
use coreline_http::Body;
use http::{header, Request, StatusCode};

use crate::on_core;

/// The Python upstream, killed on drop.
struct Python {
    child: Child,
    port: u16,
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_python() -> Python {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/upstream_http_server.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the script prints its port");
    Python { child, port }
}

#[test]
fn python_upstream_both_framings_both_ways() {
    let python = start_python();
    let base = format!("http://127.0.0.1:{}", python.port);
    on_core(move || async move {
        let client = Client::builder().build();
        let uri: http::Uri = base.parse().unwrap();

        let res = client
            .request(
                Request::get(format!("{base}/file"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.into_body().collect(1 << 20).await.unwrap();
        assert_eq!(body.len(), 65536);
        assert!(body.iter().all(|&b| b == b'p'));
        assert_eq!(client.idle_connections(&uri), 1);

        let res = client
            .request(
                Request::get(format!("{base}/chunked"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            res.headers().get(header::TRANSFER_ENCODING).unwrap(),
            "chunked"
        );
        let expected: String = (0..100).map(|i| format!("part {i};")).collect();
        let body = res.into_body().collect(1 << 20).await.unwrap();
        assert_eq!(body, expected.as_bytes());
        assert_eq!(
            client.idle_connections(&uri),
            1,
            "the same connection again"
        );

        // A chunked upload (a stream of unknown length), then a Content-Length one.
        let parts: Vec<std::io::Result<Bytes>> = (0..20)
            .map(|i| Ok(Bytes::from(format!("up {i};"))))
            .collect();
        let expected: String = (0..20).map(|i| format!("up {i};")).collect();
        let stream = futures_stream(parts);
        let req = Request::post(format!("{base}/echo"))
            .body(Body::from_stream(stream))
            .unwrap();
        let res = client.request(req).await.unwrap();
        let body = res.into_body().collect(1 << 20).await.unwrap();
        assert_eq!(body, expected.as_bytes());

        let req = Request::put(format!("{base}/echo"))
            .body(Body::from(vec![b'q'; 100_000]))
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.headers().get("x-method").unwrap(), "PUT");
        assert_eq!(
            res.into_body().collect(1 << 20).await.unwrap().len(),
            100_000
        );
    });
}

/// A `Vec` of results as a body stream.
fn futures_stream(
    items: Vec<std::io::Result<Bytes>>,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
    struct Iter(std::vec::IntoIter<std::io::Result<Bytes>>);
    impl futures_core::Stream for Iter {
        type Item = std::io::Result<Bytes>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.get_mut().0.next())
        }
    }
    Iter(items.into_iter())
}
