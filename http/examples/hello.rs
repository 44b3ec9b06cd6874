//! Embeds a server with a custom handler: `cargo run --release -p coreline-http --example
//! hello`, then `curl -i 'localhost:8080/?name=you'`. The answer names the client's
//! address (the request's `ConnectInfo` extension) and carries `Server: hello`.

use std::cell::Cell;
use std::rc::Rc;

use coreline_http::{Body, ConnectInfo, Server};
use http::{HeaderValue, Request, Response};

fn main() -> std::io::Result<()> {
    let server = Server::builder()
        .listen("127.0.0.1:8080".parse().unwrap())
        .server_header(Some(HeaderValue::from_static("hello")))
        .build(|| {
            // Runs once per core: per-core state needs no lock and may be `!Send`.
            let count = Rc::new(Cell::new(0u64));
            move |req: Request<Body>| {
                count.set(count.get() + 1);
                let name = req.uri().query().and_then(|q| q.strip_prefix("name="));
                let from = req.extensions().get::<ConnectInfo>().map(|c| c.peer);
                let text = format!(
                    "hello, {}! (#{} on this core, from {from:?})\n",
                    name.unwrap_or("world"),
                    count.get()
                );
                async move { Response::new(Body::from(text)) }
            }
        })?;
    println!("listening on http://{}/", server.local_addrs()[0]);
    server.run() // Ctrl-C ends the process; `server.handle().shutdown()` is graceful
}
