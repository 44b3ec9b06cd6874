//! The axum example's router (examples/axum/routes.rs) served through
//! `Builder::build_service`, as `examples/axum.rs` serves it, driven by real clients: curl
//! (a path parameter, a JSON body in and out, gzip with `--compressed`, 404, a chunked
//! request body) and Python's `http.client` over one keep-alive connection.
#![cfg(feature = "tower")]

#[path = "../examples/axum/routes.rs"]
#[allow(dead_code)]
mod routes;

use std::net::SocketAddr;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

use coreline_http::{Server, ServerHandle};
use coreline_runtime::Cores;
use serde_json::{json, Value};

/// The router on one core, on a thread of its own; shut down on drop.
struct Served {
    addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Served {
    fn start() -> Served {
        let router = routes::router();
        let server = Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::Count(1))
            .build_service(move || router.clone())
            .expect("build server");
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run());
        assert!(
            handle.wait_ready(Duration::from_secs(10)),
            "server did not start"
        );
        Served {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A response as curl saw it.
struct Curled {
    status: u16,
    /// Header lines, lower-cased.
    headers: Vec<String>,
    body: String,
}

impl Curled {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn has_header(&self, line: &str) -> bool {
        self.headers.iter().any(|h| h == line)
    }
}

/// Runs curl with `args` (the URL among them), with the response head written to stdout
/// before the body.
fn curl(args: &[&str]) -> Curled {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    Curled {
        status,
        headers: lines.map(|l| l.trim().to_ascii_lowercase()).collect(),
        body: body.to_string(),
    }
}

#[test]
fn path_parameter_route_answers_json() {
    let s = Served::start();
    let res = curl(&[&s.url("/users/1")]);
    assert_eq!(res.status, 200);
    assert!(res.has_header("content-type: application/json"));
    assert_eq!(
        res.json(),
        json!({"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"})
    );
}

#[test]
fn json_body_creates_a_user_in_the_shared_state() {
    let s = Served::start();
    let body = r#"{"name":"Grace Hopper","email":"grace@example.com"}"#;
    let json_type = "content-type: application/json";
    let res = curl(&["-H", json_type, "-d", body, &s.url("/users")]);
    assert_eq!(res.status, 201, "{}", res.body);
    let created = res.json();
    assert_eq!(created["name"], "Grace Hopper");
    let id = created["id"].as_u64().unwrap();
    // Another request sees it: the state outlives the request.
    let again = curl(&[&s.url(&format!("/users/{id}"))]);
    assert_eq!((again.status, again.json()), (200, created));
    assert_eq!(
        curl(&[&s.url("/stats")]).json(),
        json!({"users": 2, "created": 1})
    );
    // A chunked request body is read whole before the router gets it, like any other.
    let chunked = curl(&[
        "-H",
        json_type,
        "-H",
        "transfer-encoding: chunked",
        "-d",
        r#"{"name":"Chunked","email":"c@example.com"}"#,
        &s.url("/users"),
    ]);
    assert_eq!(
        (chunked.status, &chunked.json()["name"]),
        (201, &json!("Chunked"))
    );
}

#[test]
fn bad_json_gets_axums_rejections() {
    let s = Served::start();
    let res = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        "{",
        &s.url("/users"),
    ]);
    assert_eq!(res.status, 400, "{}", res.body);
    let res = curl(&[
        "-H",
        "content-type: text/plain",
        "-d",
        "{}",
        &s.url("/users"),
    ]);
    assert_eq!(res.status, 415, "{}", res.body);
    let res = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        "{}",
        &s.url("/users"),
    ]);
    assert_eq!(res.status, 422, "{}", res.body);
}

#[test]
fn compression_layer_gzips_for_clients_that_accept_it() {
    let s = Served::start();
    let plain = curl(&[&s.url("/users")]);
    assert_eq!(plain.status, 200);
    assert!(!plain
        .headers
        .iter()
        .any(|h| h.starts_with("content-encoding")));
    let gzipped = curl(&["--compressed", &s.url("/users")]);
    assert_eq!(gzipped.status, 200);
    assert!(
        gzipped.has_header("content-encoding: gzip"),
        "{:?}",
        gzipped.headers
    );
    // curl decoded it: the same JSON as the uncompressed one.
    assert_eq!(gzipped.json(), plain.json());
}

#[test]
fn unknown_routes_and_users_are_404() {
    let s = Served::start();
    assert_eq!(curl(&[&s.url("/nope")]).status, 404);
    assert_eq!(curl(&[&s.url("/users/999")]).status, 404);
    // A path parameter that is not a number: axum's Path rejection.
    assert_eq!(curl(&[&s.url("/users/abc")]).status, 400);
}

/// One keep-alive connection: each line printed is `STATUS BODY`.
const PY_CLIENT: &str = r#"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
def ask(method, path, body=None, headers={}):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    print(r.status, r.read().decode())
ask("GET", "/users/1")
ask("POST", "/users", json.dumps({"name": "Py", "email": "py@example.com"}),
    {"Content-Type": "application/json"})
ask("GET", "/users/2")
ask("GET", "/stats")
ask("GET", "/missing")
ask("POST", "/greeting", '{"name":"Py"}', {"Content-Type": "application/json"})
ask("GET", "/plaintext")
"#;

#[test]
fn python_http_client_on_one_connection() {
    let s = Served::start();
    let out = Command::new("python3")
        .args(["-c", PY_CLIENT, &s.addr.port().to_string()])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py = r#"{"id":2,"name":"Py","email":"py@example.com"}"#;
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            r#"200 {"id":1,"name":"Ada Lovelace","email":"ada@example.com"}"#,
            &format!("201 {py}"),
            &format!("200 {py}"),
            r#"200 {"created":1,"users":2}"#,
            "404 ",
            r#"200 {"greeting":"Hello, Py!"}"#,
            "200 Hello, World!",
        ]
    );
}
