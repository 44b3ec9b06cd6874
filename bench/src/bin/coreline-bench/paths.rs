//! Where things are: the workspace, the reference config, the results folder, and the binaries
//! a comparison runs (built with cargo when asked to).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fail::{note, setup, Fail};

/// The workspace root this binary was built from (`bench/..`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

/// `bench/nginx/nginx.conf`: the reference nginx config the comparisons use.
pub fn default_nginx_conf() -> PathBuf {
    workspace().join("bench/nginx/nginx.conf")
}

/// `bench/results/` of the workspace.
pub fn default_results_dir() -> PathBuf {
    workspace().join("bench/results")
}

/// The directory of this executable (`target/release` when built by cargo).
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| workspace().join("target/release"))
}

/// A binary a comparison runs, and the cargo command that builds it.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// Path relative to the bin dir.
    pub file: &'static str,
    /// `cargo build --release` arguments after `--release`.
    pub cargo: &'static [&'static str],
}

/// The `coreline` server.
pub const CORELINE: Binary = Binary {
    file: "coreline",
    cargo: &["-p", "coreline-http", "--bin", "coreline"],
};
/// The hyper peer.
pub const HYPER_PEER: Binary = Binary {
    file: "hyper-peer",
    cargo: &["-p", "coreline-hyper-peer", "--bin", "hyper-peer"],
};
/// The runtime's canned-response ceiling.
pub const CEILING: Binary = Binary {
    file: "examples/ceiling",
    cargo: &["-p", "coreline-runtime", "--example", "ceiling"],
};
/// The axum example's router on coreline (the `tower` feature).
pub const AXUM_EXAMPLE: Binary = Binary {
    file: "examples/axum",
    cargo: &[
        "-p",
        "coreline-http",
        "--example",
        "axum",
        "--features",
        "tower",
    ],
};
/// The same router on `axum::serve`.
pub const AXUM_PEER: Binary = Binary {
    file: "axum-peer",
    cargo: &["-p", "coreline-axum-peer", "--bin", "axum-peer"],
};
/// The load generator.
pub const CORELINE_LOAD: Binary = Binary {
    file: "coreline-load",
    cargo: &["-p", "coreline-bench", "--bin", "coreline-load"],
};

impl Binary {
    /// The command that builds it, as the user would type it.
    pub fn build_command(&self) -> String {
        format!("cargo build --release {}", self.cargo.join(" "))
    }

    /// Builds it with cargo (unless `no_build`), then returns its path in `bin_dir`, or says
    /// which command to run (exit 2).
    pub fn ensure(&self, bin_dir: &Path, no_build: bool) -> Result<PathBuf, Fail> {
        let path = bin_dir.join(self.file);
        if !no_build && workspace().join("Cargo.toml").is_file() {
            note(format!("building: {}", self.build_command()));
            // cargo's own progress and errors go to our stderr: a cold build takes minutes.
            let status = Command::new("cargo")
                .args(["build", "--release"])
                .args(self.cargo)
                .current_dir(workspace())
                .stdout(Stdio::null())
                .status()
                .map_err(|e| {
                    setup(format!(
                        "cannot run cargo ({e}): run `{}` yourself and pass --no-build",
                        self.build_command()
                    ))
                })?;
            if !status.success() {
                return Err(setup(format!(
                    "`{}` failed (its errors are above)",
                    self.build_command()
                )));
            }
        }
        if path.is_file() {
            Ok(path)
        } else {
            Err(setup(format!(
                "{} not found: run `{}` (or pass --bin-dir DIR)",
                path.display(),
                self.build_command()
            )))
        }
    }
}
