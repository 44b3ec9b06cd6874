//! Helpers for the tests that run the `coreline` binary with TLS: temporary directories,
//! `coreline gen-cert`, and curl trusting a generated certificate.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::tools::{run, Output};

pub const LIMIT: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(name: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coreline-tls-bin-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.0.join(sub)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn coreline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run coreline")
}

/// `coreline gen-cert DIR` (DIR not existing yet): (cert, key).
pub fn gen_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let out = coreline(&["gen-cert", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// curl with the generated certificate as the only trust anchor.
pub fn curl(cert: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-sS", "-m", "20", "--cacert", s(cert)];
    all.extend_from_slice(args);
    run("curl", &all, LIMIT)
}
