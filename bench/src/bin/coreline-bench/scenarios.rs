//! The fixed scenarios of issue 6: what each one sends, and which servers and load tools can
//! run it.

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
}

/// One scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its fixed name (`plain64`, `tls-resume`, ...).
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
        }
    }

    /// One line saying what the scenario does, for the report header.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "`{}`: GET {}, {} connections",
            self.name,
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
        if let Some(f) = self.open_fraction {
            s += &format!(", open loop at {:.0} % of nginx's plain64 req/s", f * 100.0);
        }
        s
    }

    /// Why `server` cannot run this scenario, if it cannot.
    pub fn unsupported_by(&self, server: Kind) -> Option<&'static str> {
        match server {
            Kind::Coreline | Kind::Nginx => None,
            Kind::Hyper if self.tls => Some("hyper-peer serves plain HTTP only"),
            Kind::Hyper if matches!(self.target, Target::File(_)) => {
                Some("hyper-peer serves no files")
            }
            Kind::Hyper => None,
            Kind::Ceiling if self.tls || self.close || self.target != Target::Plaintext => {
                Some("the ceiling answers keep-alive heads only (no TLS, close or files)")
            }
            Kind::Ceiling => None,
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
    ]
}

/// The scenarios named in a comma list, in the canonical run order.
pub fn parse(list: &str) -> Result<Vec<Scenario>, Fail> {
    let every = all();
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = names.iter().find(|n| !every.iter().any(|s| s.name == **n)) {
        let known: Vec<&str> = every.iter().map(|s| s.name).collect();
        return Err(usage(format!(
            "unknown scenario '{bad}' (known: {})",
            known.join(", ")
        )));
    }
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
    }
}
