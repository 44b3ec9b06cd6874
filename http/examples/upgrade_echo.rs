//! A server that takes connections over with `101 Switching Protocols` and echoes every
//! byte back: `cargo run --release -p coreline-http --example upgrade_echo`, then
//! `curl -i -N -H 'Connection: upgrade' -H 'Upgrade: echo' localhost:8080/` and type.
//! Requests without `Connection: upgrade` and `Upgrade` get a 426.

use coreline_http::upgrade::{self, Upgraded};
use coreline_http::{Body, Server};
use http::header::{HeaderValue, UPGRADE};
use http::{Request, Response, StatusCode};

/// Echoes what the peer sends until it closes its side, then closes ours.
async fn echo(mut io: Upgraded) -> std::io::Result<()> {
    while let Some(bytes) = io.read().await? {
        io.write_all(bytes).await?;
    }
    io.shutdown_write().await
}

fn answer(mut req: Request<Body>) -> Response<Body> {
    let on_upgrade = upgrade::on(&mut req);
    let mut res = Response::new(Body::empty());
    if req.headers().get(UPGRADE) != Some(&HeaderValue::from_static("echo")) {
        *res.status_mut() = StatusCode::UPGRADE_REQUIRED;
        res.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("echo"));
        return res;
    }
    // Runs once the server has sent the 101 (fails if it could not: e.g. over TLS).
    coreline_runtime::spawn_local(async move {
        match on_upgrade.await {
            Ok(io) => {
                if let Err(e) = echo(io).await {
                    eprintln!("echo ended: {e}");
                }
            }
            Err(e) => eprintln!("no upgrade: {e}"),
        }
    });
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    res.headers_mut()
        .insert(UPGRADE, HeaderValue::from_static("echo"));
    res
}

fn main() -> std::io::Result<()> {
    let server = Server::builder()
        .listen("127.0.0.1:8080".parse().unwrap())
        .build(|| |req| std::future::ready(answer(req)))?;
    println!("listening on http://{}/", server.local_addrs()[0]);
    server.run()
}
