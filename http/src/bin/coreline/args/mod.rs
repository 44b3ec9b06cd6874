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
                      [--metrics ADDR [--metrics-hlog DIR] [--metrics-rx-timestamps]
                       [--metrics-public]]
                      [--reuse-port] [--max-connections N] [--max-handshakes N]
                      [--drain-timeout SECS]
                      [--tcp-nodelay on|off] [--tcp-fastopen QLEN] [--notsent-lowat BYTES|off]
                      [--file-body auto|splice|read|send-zc]
                      [--min-body-rate BYTES_PER_S] [--min-send-rate BYTES_PER_S]
       coreline gen-cert DIR [--days N] [--force]
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
             --metrics-public: allow --metrics on an address other than loopback (the
             admin listener has no authentication; without it such an address is refused).
             --reuse-port: listen even where another coreline listens (SO_REUSEPORT), for
             a zero-downtime restart: start the new one with it, then SIGTERM the old one.
             --max-connections: connections per core (default 16384, 0 = unlimited); one
             more is answered 503 and closed (on a TLS listener: closed). TLS connections
             count from accept.
             --max-handshakes: TLS handshakes in progress per core (default 256, 0 =
             unlimited); one more closes the oldest pending one.
             --drain-timeout: the bound on graceful shutdown (SIGTERM/SIGINT; default 10):
             listeners close first, requests in flight are answered with Connection:
             close, idle connections half-close; what is left then is dropped.
             --tcp-nodelay: TCP_NODELAY on accepted connections (default on; off lets Nagle
             delay the second of two small writes until the client's ACK).
             --tcp-fastopen: accept requests in the SYN (TCP Fast Open) with QLEN pending
             (default off; needs net.ipv4.tcp_fastopen 2 or 3).
             --notsent-lowat: TCP_NOTSENT_LOWAT on accepted connections (default 131072):
             about the most a connection queues in the kernel that is not sent yet, so a
             slow reader cannot pin megabytes of TCP memory; off: the kernel's default.
             --file-body: how files under --root are sent on plain connections (default
             auto: read+send below 8 KiB, splice above; the others use one method at every
             size, to measure them: read+send, splice, or read+SEND_ZC).
             --min-body-rate: a request body (or the discard of one left unread) must
             arrive at this many bytes/s, counted over the time spent waiting for it less a
             5 s grace (default 240, as Kestrel; 0 = none); slower gets 408 and a close.
             --min-send-rate: likewise for a client taking a response (default 240; 0 =
             none); slower is closed.
  gen-cert   write a self-signed DIR/cert.pem and DIR/key.pem for localhost, 127.0.0.1
             and ::1 (creates DIR), valid from now for --days N (default 90, at most 398).
             Existing files (or symlinks) are refused unless --force, which replaces them;
             a symlink is never followed.
  stats      poll a server's admin listener (URL = http://ADDR) and print its percentile
             table every second (--count N: N times, then exit); reads at most 4 MiB per
             poll and prints control characters escaped";

/// The one-line form of the usage, for error messages.
pub const USAGE_SHORT: &str = "see coreline --help";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve(Box<Serve>),
    /// Write a self-signed certificate and key.
    GenCert(GenCert),
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

/// What `gen-cert` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenCert {
    /// Where `cert.pem` and `key.pem` go.
    pub dir: PathBuf,
    /// `--days N`: validity from now (default 90, at most 398).
    pub days: u32,
    /// `--force`: replace existing files (a symlink is replaced, never followed).
    pub force: bool,
}

fn gen_cert(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut dir = None;
    let mut days = coreline_tls::DEFAULT_VALID_DAYS;
    let mut force = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        match name.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--force" => force = true,
            "--days" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or("--days needs a value")?;
                days = value
                    .parse()
                    .ok()
                    .filter(|d| (1..=coreline_tls::MAX_VALID_DAYS).contains(d))
                    .ok_or_else(|| {
                        let max = coreline_tls::MAX_VALID_DAYS;
                        format!("--days '{value}' is not a number of days from 1 to {max}")
                    })?;
            }
            a if a.starts_with('-') => return Err(format!("gen-cert: unknown argument '{a}'")),
            _ if dir.is_some() => return Err(format!("gen-cert: unexpected argument '{name}'")),
            _ => dir = Some(PathBuf::from(name)),
        }
    }
    let dir = dir.ok_or("gen-cert needs a directory")?;
    Ok(Command::GenCert(GenCert { dir, days, force }))
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
const SWITCHES: &[&str] = &[
    "--help",
    "-h",
    "--reuse-port",
    "--metrics-rx-timestamps",
    "--metrics-public",
];

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
