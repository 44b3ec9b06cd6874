//! The request, encoded once, and batches of it for pipelining: `batch(k)` is `k` copies
//! back to back, so sending `k` requests is one send of a shared buffer, with no
//! per-request formatting or allocation.

use std::rc::Rc;

use crate::args::Config;

/// Pre-encoded request batches for one core (`Rc`: shared by that core's connections).
pub struct Requests {
    /// `batches[k - 1]` holds `k` requests.
    batches: Vec<Rc<[u8]>>,
    /// Whether responses have no body whatever their headers say (HEAD).
    pub head: bool,
}

impl Requests {
    /// Encodes the request of `cfg` and its batches up to the pipeline depth.
    pub fn new(cfg: &Config) -> Requests {
        let one = encode(cfg);
        let batches = (1..=cfg.pipeline)
            .map(|k| Rc::from(one.repeat(k).into_boxed_slice()))
            .collect();
        Requests {
            batches,
            head: cfg.method.eq_ignore_ascii_case("HEAD"),
        }
    }

    /// `k` requests (1 ≤ k ≤ pipeline depth) in one buffer.
    pub fn batch(&self, k: usize) -> Rc<[u8]> {
        self.batches[k - 1].clone()
    }
}

/// One request: method, target, Host (unless given with -H), the -H headers, Content-Length
/// for a body, `Connection: close` for `--close`.
pub fn encode(cfg: &Config) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", cfg.method, cfg.target.path);
    let has = |name: &str| {
        cfg.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has("host") {
        out.push_str(&format!("Host: {}\r\n", cfg.target.authority));
    }
    for (name, value) in &cfg.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = &cfg.body {
        if !has("content-length") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
    }
    if cfg.close && !has("connection") {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    if let Some(body) = &cfg.body {
        out.push_str(body);
    }
    out.into_bytes()
}
