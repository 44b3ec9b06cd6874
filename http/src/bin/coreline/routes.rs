//! The routes of `coreline serve`: `--proxy` prefixes first (the longest matching one
//! forwards the request), then `/plaintext`, `/echo`, and files under `--root`; `/` is the
//! root's `index.html` with `--root`, else a page listing the routes.
//!
//! With `--root`, files win: `/plaintext` and `/echo` are the fixed routes only while the
//! root has no entry of that name (looked up once at start, see [`Root`]).
//!
//! `GET`/`HEAD /plaintext` and the route list at `/` are [`FixedResponse`]s: encoded once
//! per core, and sent from the parsed head without building the request
//! ([`Handler::fixed_response`]).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use coreline_http::proxy::{Proxy, ProxyBuilder};
use coreline_http::{recycle, response, Body, FixedResponse, Handler, Limits};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::files::{Files, Root};

const HELLO: &[u8] = b"Hello, World!";
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");

/// One core's router.
pub struct Router {
    files: Option<Rc<Files>>,
    /// `/plaintext` is the fixed route (no file of that name under the root).
    plaintext_route: bool,
    /// `/echo` is the fixed route (no file of that name under the root).
    echo_route: bool,
    /// `--proxy` routes, if any.
    proxy: Option<Proxy>,
    /// `GET /plaintext`.
    plaintext: Rc<FixedResponse>,
    /// `GET /` without `--root`.
    index: Rc<FixedResponse>,
}

impl Router {
    /// A router forwarding the routes of `proxy` (if any) and serving the files of `root`
    /// (if any) besides the fixed routes.
    pub fn new(root: Option<Root>, proxy: Option<&ProxyBuilder>) -> Self {
        let proxy = proxy.map(ProxyBuilder::build);
        let (files, plaintext_route, echo_route) = match root {
            Some(root) => (
                Some(Rc::new(root.files)),
                !root.has_plaintext,
                !root.has_echo,
            ),
            None => (None, true, true),
        };
        Router {
            files,
            plaintext_route,
            echo_route,
            proxy,
            plaintext: Rc::new(fixed(HELLO, "text/plain")),
            index: Rc::new(fixed(INDEX_PAGE, "text/html; charset=utf-8")),
        }
    }
}

/// A `200 OK` of `body` with `content_type`, encoded once.
fn fixed(body: &'static [u8], content_type: &'static str) -> FixedResponse {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    FixedResponse::new(res).expect("a small 200 is a valid fixed response")
}

/// The response future. Fixed routes are a small tag or a pointer to their encoded
/// response, built into a `Response` when polled (no allocation, and a future of a few
/// words: it lives inside every connection's task). Routes that do I/O (echo, files) are
/// boxed.
pub enum RouteFuture {
    Fixed(Rc<FixedResponse>),
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
            RouteFuture::Fixed(fixed) => fixed.to_response(),
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

impl Router {
    /// The fixed route's response for `path`, whatever the method: `/plaintext`, and `/`
    /// without `--root`, unless a `--proxy` prefix takes the path.
    fn fixed_route(&self, path: &str) -> Option<&Rc<FixedResponse>> {
        let fixed = match path {
            "/plaintext" if self.plaintext_route => &self.plaintext,
            "/" if self.files.is_none() => &self.index,
            _ => return None, // (no prefix lookup for the paths of every other request)
        };
        match &self.proxy {
            Some(proxy) if proxy.route(path).is_some() => None,
            _ => Some(fixed),
        }
    }
}

impl Handler for Router {
    type Future = RouteFuture;

    fn fixed_response(&self, method: &Method, path: &str) -> Option<&FixedResponse> {
        if method != Method::GET && method != Method::HEAD {
            return None; // (405 from `call`)
        }
        self.fixed_route(path).map(|fixed| &**fixed)
    }

    fn call(&self, req: Request<Body>) -> RouteFuture {
        if let Some(proxy) = &self.proxy {
            if let Some(route) = proxy.route(req.uri().path()) {
                return RouteFuture::Boxed(proxy.forward_boxed(route, req));
            }
        }
        let get_or_head = req.method() == Method::GET || req.method() == Method::HEAD;
        // (The server sends `GET`/`HEAD` of a fixed route itself, see `fixed_response`.)
        if let Some(fixed) = self.fixed_route(req.uri().path()) {
            let answer = if get_or_head {
                RouteFuture::Fixed(fixed.clone())
            } else {
                RouteFuture::MethodNotAllowed
            };
            recycle(req);
            return answer;
        }
        let fixed = match req.uri().path() {
            "/echo" if self.echo_route => return RouteFuture::Boxed(Box::pin(echo(req))),
            _ => match &self.files {
                Some(files) if get_or_head => {
                    return RouteFuture::Boxed(Box::pin(crate::files::serve(files.clone(), req)));
                }
                Some(_) => RouteFuture::MethodNotAllowed,
                None => RouteFuture::NotFound,
            },
        };
        recycle(req);
        fixed
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

/// `/` without `--root`. It names no filesystem path (the page is public).
const INDEX_PAGE: &[u8] = b"<!doctype html>\n\
<html><head><meta charset=\"utf-8\"><title>coreline</title></head>\n\
<body><h1>coreline</h1>\n<p>A thread-per-core io_uring HTTP/1.1 server. Routes:</p>\n\
<ul><li><code>GET /plaintext</code>: <code>Hello, World!</code> (text/plain)</li>\n\
<li><code>/echo</code> (any method): the request body back (application/octet-stream)</li>\n\
<li>no file root (start with <code>--root DIR</code> to serve files)</li></ul>\n\
</body></html>\n";
