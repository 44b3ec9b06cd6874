//! The routes of `coreline serve`: `/`, `/plaintext`, `/echo`, and files under `--root`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use coreline_http::{recycle, response, Body, Handler, Limits};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::files::Files;

const HELLO: &[u8] = b"Hello, World!";
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");

/// One core's router.
pub struct Router {
    index: Bytes,
    files: Option<Rc<Files>>,
}

impl Router {
    /// A router serving `files` (if any) besides the fixed routes.
    pub fn new(files: Option<Files>) -> Self {
        let index = index_page(files.as_ref());
        Router {
            index: Bytes::from(index),
            files: files.map(Rc::new),
        }
    }
}

/// The response future. Fixed routes are described by a small tag and their response is
/// built when polled (no allocation, and a future of a few words: it lives inside every
/// connection's task). Routes that do I/O (echo, files) are boxed.
pub enum RouteFuture {
    Plaintext,
    Index(Bytes),
    NotFound,
    MethodNotAllowed,
    Done,
    Boxed(Pin<Box<dyn Future<Output = Response<Body>>>>),
}

impl Future for RouteFuture {
    type Output = Response<Body>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let this = self.get_mut();
        if let RouteFuture::Boxed(f) = this {
            return f.as_mut().poll(cx);
        }
        Poll::Ready(match std::mem::replace(this, RouteFuture::Done) {
            RouteFuture::Plaintext => {
                let mut res = response(StatusCode::OK, Body::from_static(HELLO));
                res.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN);
                res
            }
            RouteFuture::Index(page) => {
                let mut res = response(StatusCode::OK, Body::from(page));
                res.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                res
            }
            RouteFuture::NotFound => text(StatusCode::NOT_FOUND, "not found\n"),
            RouteFuture::MethodNotAllowed => method_not_allowed("GET, HEAD"),
            RouteFuture::Done | RouteFuture::Boxed(_) => {
                response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty())
            }
        })
    }
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut res = response(
        StatusCode::METHOD_NOT_ALLOWED,
        Body::from_static(b"method not allowed\n"),
    );
    res.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    res.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN);
    res
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut res = response(status, Body::from(body));
    res.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN);
    res
}

impl Handler for Router {
    type Future = RouteFuture;

    fn call(&self, req: Request<Body>) -> RouteFuture {
        let get_or_head = req.method() == Method::GET || req.method() == Method::HEAD;
        let fixed = match req.uri().path() {
            "/plaintext" => RouteFuture::Plaintext,
            "/" => RouteFuture::Index(self.index.clone()),
            "/echo" => return RouteFuture::Boxed(Box::pin(echo(req))),
            _ => match &self.files {
                Some(files) if get_or_head => {
                    return RouteFuture::Boxed(Box::pin(crate::files::serve(files.clone(), req)));
                }
                Some(_) => RouteFuture::MethodNotAllowed,
                None => RouteFuture::NotFound,
            },
        };
        recycle(req);
        match fixed {
            RouteFuture::Plaintext | RouteFuture::Index(_) if !get_or_head => {
                RouteFuture::MethodNotAllowed
            }
            other => other,
        }
    }
}

/// `/echo`: the decoded request body back, whatever the method.
async fn echo(req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    drop(parts);
    // Over the limit or malformed: the server answers 413/400/408 itself.
    let limit = Limits::default().max_body as usize;
    let data = body.collect(limit).await.unwrap_or_default();
    let mut res = response(StatusCode::OK, Body::from(data));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    res
}

fn index_page(files: Option<&Files>) -> String {
    let files = match files {
        Some(f) => format!(
            "<li><code>GET /PATH</code>: files under <code>{}</code></li>",
            escape(&f.root().display().to_string())
        ),
        None => "<li>no file root (start with <code>--root DIR</code> to serve files)</li>".into(),
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>coreline</title></head>\n\
         <body><h1>coreline</h1>\n<p>A thread-per-core io_uring HTTP/1.1 server. Routes:</p>\n\
         <ul><li><code>GET /plaintext</code>: <code>Hello, World!</code> (text/plain)</li>\n\
         <li><code>/echo</code> (any method): the request body back \
         (application/octet-stream)</li>\n{files}</ul>\n</body></html>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
