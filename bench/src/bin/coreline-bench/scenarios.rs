//! The scenarios: the fifteen named ones, plus a static file of any size (`fileN`, `fileNk`,
//! `fileNm`); what each one sends, and which servers and load tools can run it.

use crate::args::LoadTool;
use crate::fail::{usage, Fail};
use crate::servers::Kind;

/// What a scenario requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `GET /plaintext` (13 bytes, `Hello, World!`).
    Plaintext,
    /// `GET /f<SIZE>.bin`, a file of SIZE random bytes in the shared root.
    File(u64),
    /// `GET /users/1` of the axum example's router: a path parameter, a JSON answer.
    UserById,
    /// `POST /greeting` of the axum example's router with [`GREETING_BODY`]: a JSON body in
    /// (read whole before the router runs, on coreline), a JSON answer.
    Greeting,
    /// `GET /proxy/plaintext`: the server forwards it to an upstream coreline.
    ProxyPlaintext,
    /// `GET /proxy/f<SIZE>.bin`: a file of the upstream coreline, through the server.
    ProxyFile(u64),
}

/// The path prefix the servers forward to the upstream coreline (`--proxy` and nginx's
/// `location /proxy/`), which is stripped on the way.
pub const PROXY_PREFIX: &str = "/proxy/";

/// The JSON body the `axum-json` scenario posts.
pub const GREETING_BODY: &str = r#"{"name":"coreline-bench"}"#;

/// One scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name (`plain64`, `tls-resume`, `file4k`, ...).
    pub name: &'static str,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests per write (1: no pipelining).
    pub pipeline: usize,
    /// `Connection: close`: a new connection per request.
    pub close: bool,
    /// Over TLS.
    pub tls: bool,
    /// With `close` over TLS: resume sessions (tickets / cache) instead of full handshakes.
    pub resume: bool,
    /// What is requested.
    pub target: Target,
    /// Open loop at this fraction of nginx's measured capacity (`None`: closed loop).
    pub open_fraction: Option<f64>,
}

impl Scenario {
    const fn closed(name: &'static str, connections: usize) -> Scenario {
        Scenario {
            name,
            connections,
            pipeline: 1,
            close: false,
            tls: false,
            resume: true,
            target: Target::Plaintext,
            open_fraction: None,
        }
    }

    /// The request path.
    pub fn path(&self) -> String {
        match self.target {
            Target::Plaintext => "/plaintext".into(),
            Target::File(size) => format!("/f{size}.bin"),
            Target::UserById => "/users/1".into(),
            Target::Greeting => "/greeting".into(),
            Target::ProxyPlaintext => format!("{PROXY_PREFIX}plaintext"),
            Target::ProxyFile(size) => format!("{PROXY_PREFIX}f{size}.bin"),
        }
    }

    /// Whether the server forwards it to the upstream coreline.
    pub fn is_proxy(&self) -> bool {
        matches!(self.target, Target::ProxyPlaintext | Target::ProxyFile(_))
    }

    /// The file the server (or, proxied, the upstream) must have, if any.
    pub fn file_size(&self) -> Option<u64> {
        match self.target {
            Target::File(size) | Target::ProxyFile(size) => Some(size),
            _ => None,
        }
    }

    /// The JSON body to POST (`None`: a GET).
    pub fn json_body(&self) -> Option<&'static str> {
        (self.target == Target::Greeting).then_some(GREETING_BODY)
    }

    /// Whether it requests a route only the axum example's router has.
    fn is_axum_route(&self) -> bool {
        matches!(self.target, Target::UserById | Target::Greeting)
    }

    /// One line saying what the scenario does, for the report header.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "`{}`: {} {}, {} connections",
            self.name,
            if self.json_body().is_some() {
                "POST (JSON)"
            } else {
                "GET"
            },
            self.path(),
            self.connections
        );
        if self.pipeline > 1 {
            s += &format!(", {} pipelined requests per write", self.pipeline);
        }
        s += match (self.tls, self.close, self.resume) {
            (false, false, _) => ", keep-alive",
            (false, true, _) => ", `Connection: close` (a new connection per request)",
            (true, false, _) => ", TLS keep-alive",
            (true, true, false) => ", TLS full handshake per request (no resumption)",
            (true, true, true) => ", TLS resumed handshake per request",
        };
        if self.is_proxy() {
            s += ", through the server to an upstream coreline (keep-alive)";
        }
        if let Some(f) = self.open_fraction {
            s += &format!(", open loop at {:.0} % of nginx's plain64 req/s", f * 100.0);
        }
        s
    }

    /// Why `server` cannot run this scenario, if it cannot.
    pub fn unsupported_by(&self, server: Kind) -> Option<&'static str> {
        match server {
            _ if self.is_axum_route() && !server.is_axum() => {
                Some("only the axum servers have the axum example's routes")
            }
            Kind::Nginx if self.is_proxy() => None,
            k if self.is_proxy() && !k.is_coreline() => {
                Some("only coreline and nginx are run as proxies")
            }
            k if k.is_axum() && (self.tls || matches!(self.target, Target::File(_))) => {
                Some("the axum servers serve plain HTTP and no files")
            }
            Kind::Nginx => None,
            k if k.is_coreline() => None,
            Kind::Hyper if self.tls => Some("hyper-peer serves plain HTTP only"),
            Kind::Hyper if matches!(self.target, Target::File(_)) => {
                Some("hyper-peer serves no files")
            }
            Kind::Hyper => None,
            Kind::Ceiling if self.tls || self.close || self.target != Target::Plaintext => {
                Some("the ceiling answers keep-alive heads only (no TLS, close or files)")
            }
            _ => None,
        }
    }

    /// Why `tool` cannot run this scenario, if it cannot.
    pub fn unsupported_by_tool(&self, tool: LoadTool) -> Option<&'static str> {
        match tool {
            LoadTool::CorelineLoad => None,
            LoadTool::Wrk if self.open_fraction.is_some() => {
                Some("wrk has no open-loop mode (use --load coreline-load)")
            }
            LoadTool::Wrk if self.tls && self.close && self.resume => {
                Some("wrk never resumes TLS sessions (use --load coreline-load)")
            }
            LoadTool::Wrk => None,
        }
    }
}

/// Every scenario, in run order: closed-loop ones first, so that the open-loop rates can be
/// derived from nginx's plain64 in the same run.
pub fn all() -> Vec<Scenario> {
    let tls = |name, close, resume| Scenario {
        tls: true,
        close,
        resume,
        ..Scenario::closed(name, 64)
    };
    let open = |name, fraction| Scenario {
        open_fraction: Some(fraction),
        ..Scenario::closed(name, 64)
    };
    vec![
        Scenario::closed("plain64", 64),
        Scenario::closed("plain1024", 1024),
        Scenario {
            pipeline: 16,
            ..Scenario::closed("pipelined16", 64)
        },
        Scenario {
            close: true,
            ..Scenario::closed("close", 64)
        },
        Scenario {
            target: Target::File(65536),
            ..Scenario::closed("file64k", 64)
        },
        Scenario {
            target: Target::File(1 << 20),
            ..Scenario::closed("file1m", 64)
        },
        tls("tls", false, true),
        tls("tls-handshake", true, false),
        tls("tls-resume", true, true),
        open("open50", 0.5),
        open("open90", 0.9),
        Scenario {
            target: Target::Greeting,
            ..Scenario::closed("axum-json", 64)
        },
        Scenario {
            target: Target::UserById,
            ..Scenario::closed("axum-user", 64)
        },
        Scenario {
            target: Target::ProxyPlaintext,
            ..Scenario::closed("proxy64", 64)
        },
        Scenario {
            target: Target::ProxyFile(1 << 20),
            ..Scenario::closed("proxy1m", 64)
        },
    ]
}

/// The scenarios run when none are named: all but the axum routes' (only the axum servers
/// have those) and the proxy ones (they start an upstream coreline too).
pub fn defaults() -> Vec<Scenario> {
    all()
        .into_iter()
        .filter(|s| !s.is_axum_route() && !s.is_proxy())
        .collect()
}

/// A file scenario of any size: `file256` (bytes), `file4k` (KiB), `file1m` (MiB); 64
/// keep-alive connections, like `file64k`.
fn file_scenario(name: &str) -> Option<Scenario> {
    let size = name.strip_prefix("file")?;
    let (digits, unit) = match size.as_bytes().last()? {
        b'k' => (&size[..size.len() - 1], 1 << 10),
        b'm' => (&size[..size.len() - 1], 1 << 20),
        _ => (size, 1),
    };
    let n: u64 = digits.parse().ok().filter(|n| *n >= 1)?;
    // Names live as long as the process: a handful, parsed once from the command line.
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    Some(Scenario {
        target: Target::File(n.checked_mul(unit)?),
        ..Scenario::closed(name, 64)
    })
}

/// The scenarios named in a comma list, in the canonical run order (files of other sizes than
/// the named ones right after `file1m`, in the order given).
pub fn parse(list: &str) -> Result<Vec<Scenario>, Fail> {
    let mut every = all();
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let after_files = every
        .iter()
        .position(|s| s.name == "file1m")
        .map_or(every.len(), |i| i + 1);
    let mut extra = Vec::new();
    for name in &names {
        if every
            .iter()
            .chain(&extra)
            .any(|s: &Scenario| s.name == *name)
        {
            continue;
        }
        match file_scenario(name) {
            Some(s) => extra.push(s),
            None => {
                let known: Vec<&str> = every.iter().map(|s| s.name).collect();
                return Err(usage(format!(
                    "unknown scenario '{name}' (known: {}; and fileN, fileNk, fileNm for a file of N bytes, KiB, MiB)",
                    known.join(", ")
                )));
            }
        }
    }
    every.splice(after_files..after_files, extra);
    if names.is_empty() {
        return Err(usage("--scenarios is empty"));
    }
    Ok(every
        .into_iter()
        .filter(|s| names.contains(&s.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_canonical_order_and_rejects_unknown() {
        let s = parse("open90,plain64").unwrap();
        assert_eq!(
            s.iter().map(|s| s.name).collect::<Vec<_>>(),
            ["plain64", "open90"]
        );
        assert!(parse("plain65").is_err());
        assert!(parse(",").is_err());
        assert!(parse("file0").is_err() && parse("filek").is_err());
        let files = parse("open50,file4k,file256,file64k").unwrap();
        assert_eq!(
            files.iter().map(|s| s.path()).collect::<Vec<_>>(),
            ["/f65536.bin", "/f4096.bin", "/f256.bin", "/plaintext"]
        );
    }

    #[test]
    fn peers_skip_what_they_cannot_serve() {
        let by_name = |n| all().into_iter().find(|s| s.name == n).unwrap();
        assert!(by_name("tls").unsupported_by(Kind::Hyper).is_some());
        assert!(by_name("file64k").unsupported_by(Kind::Hyper).is_some());
        assert!(by_name("open50").unsupported_by(Kind::Hyper).is_none());
        assert!(by_name("close").unsupported_by(Kind::Ceiling).is_some());
        assert!(by_name("tls-resume")
            .unsupported_by_tool(LoadTool::Wrk)
            .is_some());
        assert!(by_name("tls-handshake")
            .unsupported_by_tool(LoadTool::Wrk)
            .is_none());
        assert_eq!(by_name("file1m").path(), "/f1048576.bin");
        assert!(by_name("axum-json")
            .unsupported_by(Kind::Coreline)
            .is_some());
        assert!(by_name("axum-user")
            .unsupported_by(Kind::AxumTokio)
            .is_none());
        assert!(by_name("plain64")
            .unsupported_by(Kind::AxumCoreline)
            .is_none());
        assert!(by_name("tls").unsupported_by(Kind::AxumTokio).is_some());
        assert_eq!(by_name("axum-json").json_body(), Some(GREETING_BODY));
        let proxy1m = by_name("proxy1m");
        assert_eq!(proxy1m.path(), "/proxy/f1048576.bin");
        assert_eq!(proxy1m.file_size(), Some(1 << 20));
        assert!(proxy1m.unsupported_by(Kind::Nginx).is_none());
        assert!(proxy1m.unsupported_by(Kind::Coreline).is_none());
        assert!(proxy1m.unsupported_by(Kind::Hyper).is_some());
        assert!(!defaults().iter().any(Scenario::is_proxy));
    }
}
