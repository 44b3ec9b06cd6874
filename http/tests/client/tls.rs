//! HTTPS upstreams: coreline's TLS listener with a generated certificate, verified
//! against it as the only CA; an untrusted certificate is refused.

use coreline_http::client::{Client, Error};
use coreline_http::Body;
use coreline_tls::{TlsAcceptor, TlsConnector};
use http::{Request, StatusCode};

use crate::on_core;
use crate::peers::start_with;

#[test]
fn https_upstream_verified_against_a_given_ca() {
    let dir = std::env::temp_dir().join(format!("coreline-client-tls-{}", std::process::id()));
    let (cert, key) = coreline_tls::generate_self_signed(&dir, &[]).unwrap();
    let acceptor = TlsAcceptor::from_pem_files(&cert, &key).unwrap();
    let connector = TlsConnector::from_ca_file(&cert).unwrap();
    let untrusting = {
        // Another certificate as the only root: the upstream's is then untrusted.
        let other = dir.join("other");
        let (other_cert, _) = coreline_tls::generate_self_signed(&other, &[]).unwrap();
        TlsConnector::from_ca_file(other_cert).unwrap()
    };
    let _ = std::fs::remove_dir_all(&dir);
    let upstream = start_with(
        |b| b.tls_listen("127.0.0.1:0".parse().unwrap(), acceptor),
        true,
    );
    let port = upstream.addr.port();
    on_core(move || async move {
        let client = Client::builder().tls(connector).build();
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{port}/hello");
            let req = Request::get(&url).body(Body::empty()).unwrap();
            let res = client.request(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let body = res.into_body().collect(1024).await.unwrap();
            assert_eq!(&body[..], b"Hello, World!");
            assert_eq!(client.idle_connections(&url.parse().unwrap()), 1, "{host}");
        }
        // Pooled TLS connections carry on, chunked bodies included.
        let url = format!("https://localhost:{port}/stream/100000");
        let res = client
            .request(Request::get(&url).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            res.into_body().collect(1 << 20).await.unwrap().len(),
            100_000
        );

        let error = Client::builder()
            .tls(untrusting)
            .build()
            .request(
                Request::get(format!("https://localhost:{port}/hello"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .expect_err("certificate not trusted");
        assert!(matches!(error, Error::Tls(_)), "{error:?}");
    });
}
