//! SIGHUP's reload: the config file read again (with the command line over it, as at
//! start) and checked whole. Nothing changes unless all of it is valid and every
//! certificate loads; then the reloadable settings apply (`log-level`, the `tls-cert`,
//! `tls-key` and `tls-sni` files) and each other key that changed is logged as taking a
//! restart, its old value staying in force. Without `--config`, the certificate files
//! are read again. Either way the hooks added with [`Reload::on_reload`] run afterwards.

use std::ffi::OsString;

use coreline_tls::{TlsAcceptor, TlsAcceptorBuilder};

use crate::args::{self, Serve};
use crate::log_sink;

/// The keys a reload applies while serving; any other key takes a restart.
const RELOADABLE: &[&str] = &["log-level", "tls-cert", "tls-key", "tls-sni"];

/// A hook run after each reload.
type Hook = Box<dyn FnMut() + Send>;

/// What SIGHUP reloads, and the settings in force.
pub struct Reload {
    /// `serve`'s command line as given at start, parsed again with the file it names.
    argv: Vec<OsString>,
    /// The settings in force.
    current: Serve,
    /// The HTTPS listeners' acceptor (its copies share the certificates).
    tls: Option<TlsAcceptor>,
    hooks: Vec<Hook>,
}

impl Reload {
    /// Reloads for a server started with `argv` (the arguments after the program name)
    /// into `current`, serving certificates through `tls`.
    pub fn new(argv: Vec<OsString>, current: Serve, tls: Option<TlsAcceptor>) -> Reload {
        Reload {
            argv,
            current,
            tls,
            hooks: Vec::new(),
        }
    }

    /// Runs `hook` after every reload, whatever its outcome (for files to reopen, such as
    /// logs).
    pub fn on_reload(&mut self, hook: impl FnMut() + Send + 'static) {
        self.hooks.push(Box::new(hook));
    }

    /// The whole of SIGHUP's work: settings, then the hooks.
    pub fn run(&mut self) {
        match &self.current.config {
            Some(_) => self.reload_config(),
            None => self.reload_certificates(),
        }
        for hook in &mut self.hooks {
            hook();
        }
    }

    /// Without a config file: the certificate files again, or a line saying why not.
    fn reload_certificates(&self) {
        let Some(acceptor) = &self.tls else {
            if !self.hooks.is_empty() {
                return; // the hooks (the access log's reopening) are SIGHUP's work
            }
            log::warn!(
                "coreline: SIGHUP: nothing to reload without --config or --tls-cert (other \
                 settings take a restart); still serving"
            );
            return;
        };
        match acceptor.reload_certificates() {
            Ok(()) => log_certificates_reloaded(),
            Err(e) => log::error!(
                "coreline: SIGHUP: certificates not reloaded, still serving the previous ones: {e}"
            ),
        }
    }

    fn reload_config(&mut self) {
        let fresh = match args::parse(self.argv.clone()) {
            Ok(args::Command::Serve(fresh)) => *fresh,
            Ok(_) | Err(args::Exit::Print(_)) => unreachable!("the same command line as at start"),
            Err(args::Exit::Usage(e)) => {
                log::error!("coreline: SIGHUP: {e}; nothing reloaded, still serving as before");
                return;
            }
        };
        log::debug!("coreline: SIGHUP: settings given: {}", fresh.keys);
        let changed = self.current.keys.changed(&fresh.keys);
        // Certificates can change only where HTTPS was and still is configured.
        let both_tls = self.current.tls.is_some() && fresh.tls.is_some();
        let applies =
            |key: &str| RELOADABLE.contains(&key) && (both_tls || !key.starts_with("tls-"));
        if let (Some(acceptor), Some(tls)) = (&self.tls, &fresh.tls) {
            if let Err(e) = acceptor.reload_certificates_from(&cert_files(tls)) {
                log::error!(
                    "coreline: SIGHUP: certificates not reloaded, still serving the previous \
                     ones and settings: {e}"
                );
                return;
            }
            log_certificates_reloaded();
        }
        for key in changed.iter().filter(|key| !applies(key)) {
            log::warn!(
                "coreline: SIGHUP: {key} changed: takes a restart (still serving with the \
                 previous value)"
            );
        }
        if fresh.log_level != self.current.log_level {
            log_sink::set_level(fresh.log_level);
            let level = fresh.log_level.as_str().to_lowercase();
            log::info!("coreline: SIGHUP: log-level is now {level}");
        }
        let applied: Vec<&str> = changed.iter().copied().filter(|k| applies(k)).collect();
        self.current.keys = self.current.keys.with(&fresh.keys, &applied);
        self.current.log_level = fresh.log_level;
        if let (Some(now), Some(tls)) = (&mut self.current.tls, fresh.tls) {
            (now.cert, now.key, now.sni) = (tls.cert, tls.key, tls.sni);
        }
        if let Some(path) = &self.current.config {
            log::info!("coreline: SIGHUP: {} reloaded", path.display());
        }
    }
}

fn log_certificates_reloaded() {
    log::info!("coreline: SIGHUP: certificates reloaded (new handshakes get them)");
}

/// The certificate and key files of `tls`, as an acceptor builder names them.
pub fn cert_files(tls: &args::Tls) -> TlsAcceptorBuilder {
    let mut builder = TlsAcceptor::builder().default_cert(&tls.cert, &tls.key);
    for sni in &tls.sni {
        builder = builder.sni_cert(&sni.name, &sni.cert, &sni.key);
    }
    builder
}
