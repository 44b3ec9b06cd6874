//! Command-line parsing for `coreline serve` (hand-rolled: four flags).

use std::net::SocketAddr;
use std::path::PathBuf;

use coreline_runtime::Cores;

use crate::metrics_args::{self, MetricsFlags, Stats};

/// The usage line.
pub const USAGE: &str =
    "usage: coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR]";

/// What `serve` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// Address to listen on (default 127.0.0.1:8080).
    pub listen: SocketAddr,
    /// CPUs to serve on (default: all).
    pub cpus: Cores,
    /// Listen backlog (default 4096).
    pub backlog: u32,
    /// Directory whose files are served, if any.
    pub root: Option<PathBuf>,
    /// Metrics and the admin listener.
    pub metrics: MetricsFlags,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve(Serve),
    /// Poll an admin listener.
    Stats(Stats),
    /// Print the usage.
    Help,
}

/// Parses the arguments after the program name. `Err` is a one-line description of what
/// is wrong.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    match args.peek().map(String::as_str) {
        Some("serve") => {
            args.next();
        }
        Some("--help" | "-h" | "help") => return Ok(Command::Help),
        Some("stats") => {
            args.next();
            return metrics_args::parse_stats(args).map(Command::Stats);
        }
        Some(s) if !s.starts_with('-') => return Err(format!("unknown command '{s}'")),
        _ => {} // no command: serve
    }
    let mut serve = Serve {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        cpus: Cores::All,
        backlog: 4096,
        root: None,
        metrics: MetricsFlags::default(),
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        let value = || inline.clone().or_else(|| args.next());
        if let Some(done) = metrics_args::parse_flag(&mut serve.metrics, &flag, value) {
            done?;
            continue;
        }
        if !matches!(
            flag.as_str(),
            "--listen" | "--cpus" | "--backlog" | "--root"
        ) {
            return Err(format!("unknown argument '{arg}'"));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--listen" => {
                serve.listen = value
                    .parse()
                    .map_err(|_| format!("--listen '{value}' is not an IP:PORT address"))?;
            }
            "--cpus" => {
                serve.cpus = Cores::parse_list(&value).map_err(|e| format!("--cpus: {e}"))?;
            }
            "--backlog" => {
                serve.backlog = value
                    .parse()
                    .ok()
                    .filter(|&n: &u32| n > 0 && n <= i32::MAX as u32)
                    .ok_or_else(|| format!("--backlog '{value}' is not a positive number"))?;
            }
            _ => serve.root = Some(PathBuf::from(value)),
        }
    }
    metrics_args::check(&serve.metrics)?;
    Ok(Command::Serve(serve))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let Command::Serve(s) = p(&["serve"]).unwrap() else {
            panic!()
        };
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((s.cpus, s.backlog, s.root), (Cores::All, 4096, None));
        let Command::Serve(s) = p(&[
            "serve",
            "--listen",
            "0.0.0.0:1",
            "--cpus=0,1",
            "--backlog",
            "7",
            "--root",
            "/x",
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(s.listen, "0.0.0.0:1".parse().unwrap());
        assert_eq!(s.cpus, Cores::List(vec![0, 1]));
        assert_eq!(s.backlog, 7);
        assert_eq!(s.root, Some(PathBuf::from("/x")));
        assert_eq!(p(&[]).unwrap(), p(&["serve"]).unwrap());
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(p(&["serve", "--help"]).unwrap(), Command::Help);
        assert_eq!(p(&["-h"]).unwrap(), Command::Help);
        for bad in [
            &["serve", "--nope"][..],
            &["serve", "--listen"],
            &["serve", "--listen", "localhost"],
            &["serve", "--backlog", "0"],
            &["serve", "--cpus", "x"],
            &["frobnicate"],
        ] {
            let e = p(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
