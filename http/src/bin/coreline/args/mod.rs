//! Command-line parsing (hand-rolled): the command, then its flags.
//!
//! Each command has its own module that turns `--flag VALUE` / `--flag=VALUE` pairs
//! (split by [`Flags`]) into its settings; adding a flag is one match arm there.

mod serve;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use serve::{Serve, Tls};

use crate::metrics_args::{self, Stats};

/// The usage text (`--help`).
pub const USAGE: &str = "\
usage: coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR]
                      [--tls-listen ADDR --tls-cert FILE --tls-key FILE [--tls-sni NAME=CERT:KEY]...]
                      [--metrics ADDR [--metrics-hlog DIR] [--metrics-rx-timestamps]]
                      [--reuse-port] [--max-connections N]
                      [--tcp-nodelay on|off] [--tcp-fastopen QLEN]
                      [--file-body auto|splice|read|send-zc]
       coreline gen-cert DIR
       coreline stats URL [--count N]
  serve      plain HTTP on --listen (default 127.0.0.1:8080) and, with --tls-listen, HTTPS
             with the same routes. --tls-listen without --listen serves HTTPS only.
             --tls-cert/--tls-key: the default certificate chain and key (PEM);
             --tls-sni (repeatable): another certificate for clients asking for NAME.
             --metrics: record latency histograms and serve /metrics (Prometheus) and
             /debug/latency on an admin listener at ADDR; SIGUSR1 and shutdown write
             HdrHistogram interval logs to --metrics-hlog DIR (default: the current one).
             --metrics-rx-timestamps: also record kernel receive timestamp → reap
             (SO_TIMESTAMPING through a multishot recvmsg; off by default, costs CPU).
             --reuse-port: listen even where another coreline listens (SO_REUSEPORT), for
             a zero-downtime restart: start the new one with it, then SIGTERM the old one.
             --max-connections: connections per core (default 16384, 0 = unlimited); one
             more is answered 503 and closed.
             --tcp-nodelay: TCP_NODELAY on accepted connections (default on; off lets Nagle
             delay the second of two small writes until the client's ACK).
             --tcp-fastopen: accept requests in the SYN (TCP Fast Open) with QLEN pending
             (default off; needs net.ipv4.tcp_fastopen 2 or 3).
             --file-body: how files under --root are sent on plain connections (default
             auto: read+send below 8 KiB, splice above; the others use one method at every
             size, to measure them: read+send, splice, or read+SEND_ZC).
  gen-cert   write a self-signed DIR/cert.pem and DIR/key.pem for localhost, 127.0.0.1
             and ::1 (creates DIR)
  stats      poll a server's admin listener (URL = http://ADDR) and print its percentile
             table every second (--count N: N times, then exit)";

/// The one-line form of the usage, for error messages.
pub const USAGE_SHORT: &str = "see coreline --help";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve(Box<Serve>),
    /// Write a self-signed certificate and key into this directory.
    GenCert(PathBuf),
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
        Some("gen-cert") => {
            args.next();
            return gen_cert(args);
        }
        Some("stats") => {
            args.next();
            return metrics_args::parse_stats(args).map(Command::Stats);
        }
        Some("--help" | "-h" | "help") => return Ok(Command::Help),
        Some(s) if !s.starts_with('-') => return Err(format!("unknown command '{s}'")),
        _ => {} // no command: serve
    }
    serve::parse(Flags(args))
}

fn gen_cert(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    match (args.next(), args.next()) {
        (Some(h), _) if h == "--help" || h == "-h" => Ok(Command::Help),
        (Some(dir), None) if !dir.starts_with('-') => Ok(Command::GenCert(PathBuf::from(dir))),
        (None, _) => Err("gen-cert needs a directory".into()),
        (Some(a), None) => Err(format!("gen-cert: unknown argument '{a}'")),
        (Some(_), Some(extra)) => Err(format!("gen-cert: unexpected argument '{extra}'")),
    }
}

/// One flag of a command line, with its value if it has one.
pub struct Flag {
    /// The flag as written (`--listen`).
    pub name: String,
    value: Option<String>,
}

impl Flag {
    /// The flag's value (`--flag=VALUE` or the next argument), or why there is none.
    pub fn value(self) -> Result<String, String> {
        self.value
            .ok_or_else(|| format!("{} needs a value", self.name))
    }
}

/// The flags that take no value.
const SWITCHES: &[&str] = &["--help", "-h", "--reuse-port", "--metrics-rx-timestamps"];

/// Splits the arguments into flags. Every flag takes a value (`--flag=VALUE`, or the
/// next argument) except the [`SWITCHES`].
pub struct Flags<I: Iterator<Item = String>>(std::iter::Peekable<I>);

impl<I: Iterator<Item = String>> Iterator for Flags<I> {
    type Item = Flag;

    fn next(&mut self) -> Option<Flag> {
        let arg = self.0.next()?;
        let (name, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        let value = match inline {
            Some(v) => Some(v),
            None if name.starts_with('-') && !SWITCHES.contains(&name.as_str()) => self.0.next(),
            None => None,
        };
        Some(Flag { name, value })
    }
}
