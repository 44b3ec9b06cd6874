//! `coreline-bench compare`: checks the tools, builds the binaries, prepares the files and the
//! certificate, starts the servers, runs the session and writes the report.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::args::{CompareArgs, LoadTool};
use crate::fail::{note, run, setup, Fail};
use crate::host::{utc_now, versions, TempDir};
use crate::paths;
use crate::report::{self, Context};
use crate::servers::{Kind, Server, Setup};
use crate::session::Session;

/// File descriptors the run asks for (1,024 connections need both ends' fds and more).
const NOFILE: u64 = 65536;

/// Runs the comparison `a`; `command` is the command line for the report.
pub fn compare(a: &CompareArgs, command: String) -> Result<(), Fail> {
    require_tools(a)?;
    let nofile = raise_nofile();
    let most = a
        .scenarios
        .iter()
        .map(|s| s.connections as u64)
        .max()
        .unwrap_or(0);
    if most + 64 > nofile {
        return Err(setup(format!(
            "RLIMIT_NOFILE is {nofile}: too low for {most} connections (raise the hard limit)"
        )));
    }
    let bin_dir = a.bin_dir.clone().unwrap_or_else(paths::default_bin_dir);
    let mut bins: BTreeMap<Kind, PathBuf> = BTreeMap::new();
    for k in &a.servers {
        if let Some(b) = k.binary() {
            bins.insert(*k, b.ensure(&bin_dir, a.no_build)?);
        }
    }
    let load_bin = match a.load {
        LoadTool::CorelineLoad => paths::CORELINE_LOAD.ensure(&bin_dir, a.no_build)?,
        LoadTool::Wrk => PathBuf::from("wrk"),
    };
    let conf = a
        .nginx_conf
        .clone()
        .unwrap_or_else(paths::default_nginx_conf);
    let reference = if a.servers.contains(&Kind::Nginx) {
        fs::read_to_string(&conf).map_err(|e| {
            setup(format!(
                "cannot read the reference nginx config {}: {e} (pass --nginx-conf FILE)",
                conf.display()
            ))
        })?
    } else {
        String::new()
    };
    let tmp = TempDir::create()?;
    let want_tls = a.scenarios.iter().any(|s| s.tls);
    prepare_files(a, tmp.path())?;
    // The proxy scenarios' upstream: a coreline on its own CPUs, after the servers' ports.
    let upstream_port = a.port_base + 2 * a.servers.len() as u16;
    let upstream = match a.scenarios.iter().any(|s| s.is_proxy()) {
        true => Some(start_upstream(a, &bin_dir, upstream_port, &tmp, nofile)?),
        false => None,
    };
    let s = Setup {
        tmp: tmp.path(),
        cpus: &a.server_cpus,
        nofile,
        nginx_reference: &reference,
        want_tls,
        upstream_port: upstream.as_ref().map(|u| u.port),
    };
    let cx_base = Context {
        command,
        date: utc_now(),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        congestion_control: fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
            .unwrap_or_default()
            .trim()
            .to_string(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        versions: versions(a),
        servers: a.servers.clone(),
        server_notes: Vec::new(),
    };
    let mut servers = Vec::new();
    for (i, k) in a.servers.iter().enumerate() {
        let port = a.port_base + 2 * i as u16;
        let server = Server::start(*k, bins.get(k).map(PathBuf::as_path), port, &s)?;
        note(format!(
            "{} listening on 127.0.0.1:{port}{} (pids {:?})",
            k.name(),
            server
                .tls_port
                .map_or(String::new(), |p| format!(" and TLS :{p}")),
            server.pids
        ));
        servers.push(server);
    }
    let server_notes: Vec<String> = servers.iter().filter_map(|s| s.note.clone()).collect();
    for n in &server_notes {
        note(n);
    }
    let plots = a.load == LoadTool::CorelineLoad && help_mentions(&load_bin, "--plot");
    let work = tmp.path().join("load");
    fs::create_dir_all(&work).map_err(|e| run(format!("{}: {e}", work.display())))?;
    let outcome = Session {
        args: a,
        servers: &mut servers,
        load_bin: &load_bin,
        plots,
        work: &work,
        upstream_pids: upstream.as_ref().map_or(&[], |u| &u.pids),
    }
    .run_all()?;
    drop(servers);
    drop(upstream);
    let dir = a
        .results_dir
        .clone()
        .unwrap_or_else(paths::default_results_dir);
    let cx = Context {
        server_notes,
        ..cx_base
    };
    let written = report::write(&dir, a, &cx, &outcome)?;
    println!("{}", written.text);
    note(format!(
        "wrote {} and {}",
        written.markdown.display(),
        written.json.display()
    ));
    match outcome.failed.len() {
        0 => Ok(()),
        n => Err(run(format!(
            "{n} scenario/server load run(s) failed: see \"failed\" in {}",
            written.markdown.display()
        ))),
    }
}

/// The upstream coreline of the proxy scenarios, serving the run's files on
/// `--upstream-cpus`; its CPU time is not counted (the proxy's is what is measured).
fn start_upstream(
    a: &CompareArgs,
    bin_dir: &Path,
    port: u16,
    tmp: &TempDir,
    nofile: u64,
) -> Result<Server, Fail> {
    let bin = paths::CORELINE.ensure(bin_dir, a.no_build)?;
    let s = Setup {
        tmp: tmp.path(),
        cpus: &a.upstream_cpus,
        nofile,
        nginx_reference: "",
        want_tls: false,
        upstream_port: None,
    };
    let server = Server::start(Kind::Coreline, Some(&bin), port, &s)?;
    note(format!(
        "upstream coreline listening on 127.0.0.1:{port} (CPUs {:?})",
        a.upstream_cpus
    ));
    Ok(server)
}

/// One line per missing tool, saying how to install it (exit 2).
fn require_tools(a: &CompareArgs) -> Result<(), Fail> {
    let mut need = vec![("taskset", "util-linux")];
    if a.servers.contains(&Kind::Nginx) {
        need.push(("nginx", "nginx-light"));
    }
    if a.load == LoadTool::Wrk {
        need.push(("wrk", "wrk"));
    }
    for (tool, package) in need {
        if !on_path(tool) {
            return Err(setup(format!("`{tool}` not found: install it with `apt-get install -y {package}` (ci/test.sh does)")));
        }
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Raises RLIMIT_NOFILE (soft, and hard as root) for this process and so for every server
/// and load process it starts; returns the soft limit in force.
fn raise_nofile() -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if hard < NOFILE && setrlimit(Resource::RLIMIT_NOFILE, NOFILE, NOFILE).is_ok() {
        return NOFILE;
    }
    let want = NOFILE.min(hard).max(soft);
    if setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
        want
    } else {
        soft
    }
}

/// The files of the file scenarios (random bytes, readable by nginx's unprivileged workers)
/// and a self-signed certificate for 127.0.0.1 (nginx's TLS server needs one even when no TLS
/// scenario runs).
fn prepare_files(a: &CompareArgs, tmp: &Path) -> Result<(), Fail> {
    let www = tmp.join("www");
    let io = |p: &Path, e: std::io::Error| run(format!("{}: {e}", p.display()));
    fs::create_dir_all(&www).map_err(|e| io(&www, e))?;
    for d in [tmp, www.as_path()] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).map_err(|e| io(d, e))?;
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for s in &a.scenarios {
        if let Some(size) = s.file_size() {
            let file = www.join(format!("f{size}.bin"));
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    // xorshift64: incompressible enough, no dependency.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            fs::write(&file, bytes).map_err(|e| io(&file, e))?;
        }
    }
    coreline_tls::generate_self_signed(&tmp.join("cert"), &[])
        .map_err(|e| run(format!("certificate: {e}")))?;
    Ok(())
}

fn help_mentions(bin: &Path, flag: &str) -> bool {
    Command::new(bin).arg("--help").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).contains(flag)
            || String::from_utf8_lossy(&o.stderr).contains(flag)
    })
}
