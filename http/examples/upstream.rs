//! A handler that calls an upstream through `coreline_http::client::Client`: `cargo run
//! --release -p coreline-http --example upstream -- http://127.0.0.1:9000`, then
//! `curl -i localhost:8080/some/path`. Each request is forwarded to the upstream (same
//! method, path and body; the upstream's status and body come back). One client per core,
//! built in the handler factory, so its keep-alive pool needs no lock and calls never
//! leave the core. A failed upstream call answers 502, a timed-out one 504.

use std::rc::Rc;
use std::time::Duration;

use coreline_http::client::Client;
use coreline_http::{Body, Server};
use http::{header, Request, Response, StatusCode, Uri};

fn main() -> std::io::Result<()> {
    let upstream: Uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:9000".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let settings = Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(10));
    let server = Server::builder()
        .listen("127.0.0.1:8080".parse().unwrap())
        .build(move || {
            // Runs once per core: this core's client and pool.
            let client = settings.build();
            let upstream = Rc::new(upstream.clone());
            move |req: Request<Body>| call(client.clone(), Rc::clone(&upstream), req)
        })?;
    println!("listening on http://{}/", server.local_addrs()[0]);
    server.run()
}

/// Sends `req` to `upstream` with the same method, path, query and body.
async fn call(client: Client, upstream: Rc<Uri>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = Request::builder().method(parts.method).uri(format!(
        "{}{}",
        upstream.to_string().trim_end_matches('/'),
        path
    ));
    if let Some(kind) = parts.headers.get(header::CONTENT_TYPE) {
        outgoing = outgoing.header(header::CONTENT_TYPE, kind);
    }
    let outgoing = match outgoing.body(body) {
        Ok(request) => request,
        Err(_) => return status(StatusCode::BAD_REQUEST, "bad request\n"),
    };
    match client.request(outgoing).await {
        Ok(response) => {
            let (head, body) = response.into_parts();
            let mut answer = Response::new(body);
            *answer.status_mut() = head.status;
            if let Some(kind) = head.headers.get(header::CONTENT_TYPE) {
                answer
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, kind.clone());
            }
            answer
        }
        Err(e) if e.is_timeout() => status(StatusCode::GATEWAY_TIMEOUT, "upstream timed out\n"),
        Err(e) => {
            eprintln!("upstream call failed: {e}");
            status(StatusCode::BAD_GATEWAY, "upstream unavailable\n")
        }
    }
}

fn status(code: StatusCode, text: &'static str) -> Response<Body> {
    let mut res = Response::new(Body::from_static(text.as_bytes()));
    *res.status_mut() = code;
    res
}
