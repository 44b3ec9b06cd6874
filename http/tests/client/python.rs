//! Against a Python `http.server` upstream (`tests/scripts/upstream_http_server.py`).

use bytes::Bytes;
use coreline_http::client::Client;
use coreline_http::Body;
use http::{header, Request, StatusCode};

use crate::on_core;
use crate::python_upstream::Python;

fn start_python() -> Python {
    crate::python_upstream::start("upstream_http_server.py")
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
