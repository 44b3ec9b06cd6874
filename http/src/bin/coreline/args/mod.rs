//! The command line (clap): the command, then its flags. `serve.rs` has `serve`'s flags,
//! `config.rs` reads a config file into the same flags, `merge.rs` puts the two together
//! and checks the result, `values.rs` has the value parsers.
//!
//! Every error is one line that names the flag (or the file and line) and what to fix.

mod config;
#[cfg(test)]
mod config_tests;
mod keys;
mod merge;
mod serve;
#[cfg(test)]
mod tests;
mod values;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use keys::Keys;
pub use merge::{Serve, Tls};
pub use serve::ServeArgs;
pub use values::CongestionControl;

use crate::metrics_args::{self, Stats};

/// The one-line pointer to the usage, for error messages.
pub const USAGE_SHORT: &str = "see coreline --help";

/// Every command's help starts with its usage line, as `usage: coreline serve ...`.
const HELP_TEMPLATE: &str = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}";

/// coreline: a thread-per-core io_uring HTTP/1.1 server. Without a command: serve.
#[derive(Debug, Parser)]
#[command(
    name = "coreline",
    version,
    propagate_version = true,
    color = clap::ColorChoice::Never,
    help_template = HELP_TEMPLATE
)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Serve plain HTTP on --listen and, with --tls-listen, HTTPS with the same routes.
    /// SIGTERM/SIGINT shut down gracefully; SIGHUP reloads the certificates and --config's
    /// log-level; SIGUSR1 writes an interval log (--metrics). Logs go to stderr (journald
    /// collects them under systemd).
    #[command(
        args_override_self = true,
        allow_negative_numbers = true,
        help_template = HELP_TEMPLATE
    )]
    Serve(Box<ServeArgs>),
    /// Write a self-signed DIR/cert.pem and DIR/key.pem for localhost, 127.0.0.1 and ::1
    /// (creates DIR). Existing files (or symlinks) are refused unless --force, which
    /// replaces them; a symlink is never followed.
    #[command(
        args_override_self = true,
        allow_negative_numbers = true,
        help_template = HELP_TEMPLATE
    )]
    GenCert {
        /// Where the files go.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Validity from now, at most 398 days.
        #[arg(long, value_name = "N", value_parser = values::days,
              default_value_t = coreline_tls::DEFAULT_VALID_DAYS)]
        days: u32,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Poll a server's admin listener (URL = http://ADDR) and print its percentile table
    /// every second; reads at most 4 MiB per poll and prints control characters escaped.
    #[command(
        args_override_self = true,
        allow_negative_numbers = true,
        help_template = HELP_TEMPLATE
    )]
    Stats {
        /// The admin listener, http://HOST:PORT.
        #[arg(value_name = "URL")]
        url: Option<String>,
        /// Print N tables, then exit [default: until interrupted].
        #[arg(long, value_name = "N", value_parser = values::positive)]
        count: Option<u64>,
    },
    /// Check a config file as `serve --config FILE` would, without serving: prints
    /// "configuration FILE is ok" and exits 0, or one line and exits 1.
    #[command(help_template = HELP_TEMPLATE)]
    CheckConfig {
        /// The TOML file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve(Box<Serve>),
    /// Write a self-signed certificate and key.
    GenCert(GenCert),
    /// Poll an admin listener.
    Stats(Stats),
    /// Check a config file.
    CheckConfig(PathBuf),
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

/// Why parsing ended without a command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `--help` or `--version`: print this on stdout, exit 0.
    Print(String),
    /// A bad command line: one line, exit 2.
    Usage(String),
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Command, Exit> {
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // No command, only flags: serve.
    let first = args.first().and_then(|a| a.to_str());
    let asks_top_level = matches!(first, Some("-h" | "--help" | "-V" | "--version"));
    let only_flags = match first {
        None => true,
        Some(a) => a.starts_with('-') && !asks_top_level,
    };
    if only_flags {
        args.insert(0, "serve".into());
    }
    let command = Cli::command();
    let argv = std::iter::once(OsString::from("coreline")).chain(args.iter().cloned());
    let matches = command.clone().try_get_matches_from(argv).map_err(exit)?;
    if let Some(("serve", sub)) = matches.subcommand() {
        let serve = command.find_subcommand("serve").expect("serve exists");
        let merged = merge::with_config(serve, sub, &args[1..]).map_err(Exit::Usage)?;
        let flags = ServeArgs::from_arg_matches(&merged).map_err(|e| Exit::Usage(one_line(&e)))?;
        let mut settings = Serve::from_args(flags).map_err(Exit::Usage)?;
        settings.keys = Keys::of(serve, &merged);
        return Ok(Command::Serve(Box::new(settings)));
    }
    let cli = Cli::from_arg_matches(&matches).map_err(exit)?;
    match cli.command {
        CliCommand::Serve(_) => unreachable!("handled above"),
        CliCommand::GenCert { dir, days, force } => {
            let dir = dir.ok_or_else(|| Exit::Usage("gen-cert needs a directory".into()))?;
            Ok(Command::GenCert(GenCert { dir, days, force }))
        }
        CliCommand::Stats { url, count } => {
            let url = url.ok_or_else(|| {
                Exit::Usage("stats needs the admin URL, e.g. http://127.0.0.1:9090".into())
            })?;
            let addr = metrics_args::resolve(&url).map_err(Exit::Usage)?;
            Ok(Command::Stats(Stats { addr, count }))
        }
        CliCommand::CheckConfig { file } => Ok(Command::CheckConfig(file)),
    }
}

/// `check-config FILE`: the file's settings, checked. `Err` is one line.
pub fn check_config(path: &Path) -> Result<Serve, String> {
    let command = Cli::command();
    let serve = command.find_subcommand("serve").expect("serve exists");
    merge::check_file(serve, path)
}

/// Help and version are printed; every other error becomes one line.
fn exit(e: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp => {
            let text = e.render().to_string();
            Exit::Print(format!("{}\n", text.trim_end()))
        }
        // The same line for every command (clap would name a subcommand `coreline-serve`).
        ErrorKind::DisplayVersion => {
            Exit::Print(format!("coreline {}\n", env!("CARGO_PKG_VERSION")))
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Exit::Usage("a command is needed: serve, gen-cert, stats or check-config".into())
        }
        _ => Exit::Usage(one_line(&e)),
    }
}

/// clap's message on one line: its first paragraph (a list it names, such as missing
/// arguments, joined), without the `error:` prefix, the tips and the usage.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first: Vec<&str> = (text.lines())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    first.join(" ").trim_start_matches("error: ").to_string()
}
