//! Starting and stopping the servers under test, each pinned to the server CPUs (`taskset`
//! plus its own pinning: coreline and the axum example `--cpus`, the peers' CPUS argument,
//! nginx `worker_cpu_affinity`), and knowing which processes to measure.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::fail::{run, setup, Fail};
pub use crate::kinds::Kind;
use crate::nginx::{derive_config, NginxSetup};
use crate::scenarios::PROXY_PREFIX;

/// What every server of a run shares.
#[derive(Debug)]
pub struct Setup<'a> {
    /// Temp directory of the run: `www/`, `cert/`, logs, nginx's prefix.
    pub tmp: &'a Path,
    /// Server CPUs.
    pub cpus: &'a [usize],
    /// RLIMIT_NOFILE (for nginx's `worker_rlimit_nofile`).
    pub nofile: u64,
    /// The reference nginx config text.
    pub nginx_reference: &'a str,
    /// Whether any selected scenario needs TLS.
    pub want_tls: bool,
    /// The upstream coreline's port, when a proxy scenario runs: coreline gets
    /// `--proxy /proxy/=http://127.0.0.1:PORT/`, nginx the reference's `location /proxy/`.
    pub upstream_port: Option<u16>,
}

impl Setup<'_> {
    /// The document root served by coreline and nginx.
    pub fn www(&self) -> PathBuf {
        self.tmp.join("www")
    }

    /// Where `cert.pem` and `key.pem` are.
    pub fn cert_dir(&self) -> PathBuf {
        self.tmp.join("cert")
    }

    fn cpu_list(&self) -> String {
        let v: Vec<String> = self.cpus.iter().map(usize::to_string).collect();
        v.join(",")
    }
}

/// A running server; stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Server {
    /// Which server.
    pub kind: Kind,
    /// Plain HTTP port.
    pub port: u16,
    /// TLS port, when it serves TLS.
    pub tls_port: Option<u16>,
    /// The processes whose CPU and memory are measured (nginx: its workers).
    pub pids: Vec<u32>,
    /// Why it serves less than asked (coreline without TLS support), for the report.
    pub note: Option<String>,
    child: Child,
}

impl Server {
    /// Starts `kind` with plain port `port` (and TLS on `port + 1` where it can), waits until
    /// it accepts connections.
    pub fn start(
        kind: Kind,
        binary: Option<&Path>,
        port: u16,
        s: &Setup<'_>,
    ) -> Result<Server, Fail> {
        for p in [port, port + 1].into_iter().chain(kind.admin_port(port)) {
            if accepts(p) {
                return Err(setup(format!(
                    "port {p} is already in use (try --port-base)"
                )));
            }
        }
        let tls = s.want_tls && (kind.is_coreline() || kind == Kind::Nginx);
        let attempt = launch(kind, binary, port, tls, s);
        let (mut server, note) = match attempt {
            Ok(server) => (server, None),
            // A coreline without the --tls-* flags still runs every plain scenario.
            Err(Fail::Run(why)) if kind.is_coreline() && tls => {
                let server = launch(kind, binary, port, false, s)?;
                (
                    server,
                    Some(format!(
                        "{} could not start with TLS ({why}); TLS scenarios skipped",
                        kind.name()
                    )),
                )
            }
            Err(e) => return Err(e),
        };
        server.note = note;
        Ok(server)
    }

    /// `Some(status)` if the server has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM: coreline and hyper-peer exit, nginx's master stops its workers.
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let end = Instant::now() + Duration::from_secs(5);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn launch(
    kind: Kind,
    binary: Option<&Path>,
    port: u16,
    tls: bool,
    s: &Setup<'_>,
) -> Result<Server, Fail> {
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let bin = || {
        binary
            .expect("binary resolved for this server")
            .display()
            .to_string()
    };
    let cpus = s.cpu_list();
    let cert = s.cert_dir();
    let mut cmd: Vec<String> = match kind {
        k if k.is_coreline() => {
            let mut c = vec![
                bin(),
                "serve".into(),
                "--listen".into(),
                addr(port),
                "--cpus".into(),
                cpus.clone(),
            ];
            c.extend(["--root".into(), s.www().display().to_string()]);
            c.extend(k.coreline_flags(port, s.tmp));
            if let Some(up) = s.upstream_port {
                let rule = format!("{PROXY_PREFIX}=http://127.0.0.1:{up}/");
                c.extend(["--proxy".into(), rule]);
            }
            // Each start begins a new access log: a pipelined run writes hundreds of MB.
            let _ = fs::remove_file(Kind::access_log(s.tmp));
            if tls {
                c.extend(["--tls-listen".into(), addr(port + 1)]);
                c.extend([
                    "--tls-cert".into(),
                    cert.join("cert.pem").display().to_string(),
                ]);
                c.extend([
                    "--tls-key".into(),
                    cert.join("key.pem").display().to_string(),
                ]);
            }
            c
        }
        Kind::AxumCoreline => vec![
            bin(),
            "--listen".into(),
            addr(port),
            "--cpus".into(),
            cpus.clone(),
        ],
        Kind::Nginx => {
            let prefix = s.tmp.join("nginx");
            for d in ["logs", "tmp"] {
                fs::create_dir_all(prefix.join(d))
                    .map_err(|e| run(format!("{}: {e}", prefix.display())))?;
            }
            let conf = derive_config(
                s.nginx_reference,
                &NginxSetup {
                    port,
                    tls_port: port + 1,
                    root: &s.www(),
                    cert_dir: &cert,
                    prefix: &prefix,
                    cpus: s.cpus,
                    nofile: s.nofile,
                    upstream_port: s.upstream_port,
                },
            )?;
            let file = prefix.join("nginx.conf");
            fs::write(&file, conf).map_err(|e| run(format!("{}: {e}", file.display())))?;
            vec![
                "nginx".into(),
                "-p".into(),
                prefix.display().to_string(),
                "-c".into(),
                file.display().to_string(),
            ]
        }
        _ => vec![bin(), addr(port), cpus.clone()],
    };
    cmd.splice(0..0, ["taskset".to_string(), "-c".into(), cpus]);
    let log = s.tmp.join(format!("{}.log", kind.name()));
    let err = File::create(&log).map_err(|e| run(format!("{}: {e}", log.display())))?;
    // taskset execs the server: the child's pid is the server's (nginx: its master).
    let child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .map_err(|e| run(format!("cannot start {}: {e}", cmd.join(" "))))?;
    let mut server = Server {
        kind,
        port,
        tls_port: tls.then_some(port + 1),
        pids: Vec::new(),
        note: None,
        child,
    };
    let ports: Vec<u16> = server.tls_port.into_iter().chain([port]).collect();
    wait_listening(&mut server, &ports, &log)?;
    server.pids = match kind {
        Kind::Nginx => nginx_workers(server.child.id(), s.cpus.len())?,
        _ => vec![server.child.id()],
    };
    Ok(server)
}

fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn wait_listening(server: &mut Server, ports: &[u16], log: &Path) -> Result<(), Fail> {
    let end = Instant::now() + Duration::from_secs(10);
    let said = || {
        let text = fs::read_to_string(log).unwrap_or_default();
        let line = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        if line.is_empty() {
            String::new()
        } else {
            format!(": {line}")
        }
    };
    loop {
        if let Some(status) = server.exited() {
            return Err(run(format!(
                "{} exited ({status}) before listening{}",
                server.kind.name(),
                said()
            )));
        }
        if ports.iter().all(|p| accepts(*p)) {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(run(format!(
                "{} did not listen on {ports:?} within 10 s{}",
                server.kind.name(),
                said()
            )));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn nginx_workers(master: u32, count: usize) -> Result<Vec<u32>, Fail> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let workers = crate::procstat::children(master);
        if workers.len() >= count {
            return Ok(workers);
        }
        if Instant::now() >= end {
            return Err(run(format!(
                "nginx started {} of {count} worker processes",
                workers.len()
            )));
        }
        thread::sleep(Duration::from_millis(50));
    }
}
