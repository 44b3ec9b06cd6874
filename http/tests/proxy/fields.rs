//! What the proxy changes in the head: hop-by-hop fields removed both ways (also those
//! `Connection` names), forwarding fields added, `Host` rewritten or kept, the path mapped.

use crate::{one, proxy, start_python};

/// The upstream's view of one request: its target and fields.
struct Seen {
    path: String,
    fields: Vec<(String, String)>,
}

impl Seen {
    fn parse(body: &str) -> Seen {
        let path = between(body, "\"path\": \"", "\"");
        let list = &body[body.find("\"headers\": ").unwrap() + 11..];
        let fields = list
            .split("], [")
            .map(|pair| {
                let pair = pair.trim_matches(|c| c == '[' || c == ']' || c == '}');
                let (name, value) = pair.split_once("\", \"").unwrap();
                (
                    name.trim_matches('"').to_ascii_lowercase(),
                    value.trim_matches('"').replace("\\\"", "\""),
                )
            })
            .collect();
        Seen { path, fields }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn between(s: &str, start: &str, end: &str) -> String {
    let from = s.find(start).unwrap() + start.len();
    let len = s[from..].find(end).unwrap();
    s[from..from + len].to_owned()
}

#[test]
fn hop_by_hop_fields_go_both_ways_and_forwarding_fields_are_added() {
    let python = start_python();
    let upstream = format!("127.0.0.1:{}", python.port);
    let front = proxy(&[format!("/api/=http://{upstream}/v1/")], &[]);
    let res = one(
        front.addr,
        "GET /api/headers?q=1 HTTP/1.1\r\nHost: front.example\r\n\
         Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=9\r\n\
         TE: trailers\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n\
         X-Forwarded-For: 10.9.8.7\r\nForwarded: for=10.9.8.7\r\n\
         X-Forwarded-Proto: gopher\r\nAuthorization: Bearer kept\r\n\r\n",
    );
    assert_eq!(res.status, 200, "{}", res.body_str());
    let seen = Seen::parse(res.body_str());
    assert_eq!(
        seen.path, "/v1/headers?q=1",
        "the prefix is replaced by the URL's path"
    );
    for gone in [
        "x-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
    ] {
        assert_eq!(seen.get(gone), None, "{gone} reached the upstream");
    }
    // The proxy's own connection field, if any, is about its own connection only.
    assert!(seen
        .get("connection")
        .is_none_or(|v| !v.to_ascii_lowercase().contains("secret")));
    assert_eq!(seen.get("authorization"), Some("Bearer kept"));
    assert_eq!(seen.get("host"), Some(upstream.as_str()), "nginx's default");
    assert_eq!(seen.get("x-forwarded-for"), Some("10.9.8.7, 127.0.0.1"));
    assert_eq!(seen.get("x-forwarded-proto"), Some("http"));
    assert_eq!(
        seen.get("forwarded"),
        Some("for=10.9.8.7, for=127.0.0.1;host=front.example;proto=http")
    );

    // The upstream's own hop-by-hop fields stop at the proxy.
    assert_eq!(res.header("x-up-secret"), None);
    assert_eq!(res.header("keep-alive"), None);
    assert_eq!(res.header("proxy-authenticate"), None);
    assert_eq!(res.header("x-up-kept"), Some("1"));
    assert_eq!(res.header("content-type"), Some("application/json"));
}

#[test]
fn proxy_host_keep_forwards_the_clients_host_and_longest_prefix_wins() {
    let python = start_python();
    let rules = [
        format!("/=http://127.0.0.1:{}/short/", python.port),
        format!("/a/b/=http://127.0.0.1:{}/long/", python.port),
        format!("/a/=http://127.0.0.1:{}/middle/", python.port),
    ];
    let front = proxy(&rules, &["--proxy-host", "keep"]);
    let seen = |target: &str| {
        let res = one(
            front.addr,
            &format!("GET {target} HTTP/1.1\r\nHost: front.example:81\r\n\r\n"),
        );
        assert_eq!(res.status, 200, "{target}: {}", res.body_str());
        Seen::parse(res.body_str())
    };
    let long = seen("/a/b/headers");
    assert_eq!(long.path, "/long/headers");
    assert_eq!(long.get("host"), Some("front.example:81"));
    assert_eq!(seen("/a/headers").path, "/middle/headers");
    assert_eq!(seen("/headers").path, "/short/headers");
    // A prefix over a fixed route of `coreline serve` (answered from the head otherwise)
    // forwards it too: the upstream has no `/short/plaintext`.
    for target in ["/plaintext", "/"] {
        let res = one(
            front.addr,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
        assert_eq!(res.status, 404, "{target}: {}", res.body_str());
    }
}

#[test]
fn a_head_request_gets_the_upstreams_length_and_no_body() {
    let python = start_python();
    let front = proxy(&[format!("/=http://127.0.0.1:{}", python.port)], &[]);
    let mut client = crate::common::Client::connect(front.addr);
    client.send(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n");
    let res = client.response(true);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("65536"));
    client.send(b"HEAD /other HTTP/1.1\r\nHost: x\r\n\r\n");
    let res = client.response(true);
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    assert_eq!(res.header("content-length"), None);
    // The connection is still in step: a GET after the two heads.
    client.send(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(client.response(false).body.len(), 65536);
}

#[test]
fn a_request_over_tls_is_forwarded_as_https() {
    let python = start_python();
    let certs = std::env::temp_dir().join(format!("coreline-proxy-tls-{}", std::process::id()));
    let (cert, key) = coreline_tls::generate_self_signed(&certs, &[]).unwrap();
    let rule = format!("/=http://127.0.0.1:{}", python.port);
    let front = crate::served::Served::start_tls(
        &cert,
        &key,
        &["--proxy", &rule],
        std::process::Stdio::null,
    );
    let body = crate::run("curl", &["-sSk", "--fail", &front.https_url("/headers")]);
    let _ = std::fs::remove_dir_all(&certs);
    let seen = Seen::parse(&body);
    assert_eq!(seen.get("x-forwarded-proto"), Some("https"));
    let forwarded = seen.get("forwarded").unwrap();
    assert!(forwarded.ends_with(";proto=https"), "{forwarded}");
}
