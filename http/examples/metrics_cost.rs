//! `/plaintext` (as the `coreline` binary answers it) with the latency metrics on or off,
//! or on with kernel receive timestamps (`rx`), on one core, for instruction counts under
//! callgrind:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/metrics_cost 127.0.0.1:8080 on
//! ```
//!
//! Not the binary itself: `coreline serve --metrics` adds the admin listener, a second
//! ring thread, and valgrind (3.19) keeps its global lock while a thread waits in
//! `io_uring_enter`, so that thread starves the serving one. Here the only other thread
//! is the accept-queue sampler, which only reads `TCP_INFO` every 100 ms.

use coreline_http::{recycle, response, Body, Server};
use coreline_runtime::Cores;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, StatusCode};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mode = args.next().unwrap_or_else(|| "off".into());
    let (on, rx) = match mode.as_str() {
        "on" => (true, false),
        "off" => (false, false),
        "rx" => (true, true),
        other => {
            eprintln!("metrics_cost: second argument must be on, off or rx, not '{other}'");
            std::process::exit(2);
        }
    };
    let addr = addr.parse().map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "first argument: IP:PORT")
    })?;
    let server = Server::builder()
        .listen(addr)
        .cores(Cores::List(vec![0]))
        .metrics(on)
        .rx_timestamps(rx)
        .build(|| {
            |req: Request<Body>| {
                recycle(req);
                let mut res = response(StatusCode::OK, Body::from_static(b"Hello, World!"));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                async move { res }
            }
        })?;
    eprintln!("metrics_cost: http://{addr}/plaintext, metrics {mode}");
    server.run()
}
