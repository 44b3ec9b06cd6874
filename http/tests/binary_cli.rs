//! The `coreline` binary's command line as an operator uses it: `--version` and each
//! command's `--help`, several `--listen` flags in every address form, `--config FILE` with
//! flags over it, `check-config`, and one-line errors.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run coreline")
}

/// A port free on every interface of both families (a dual-stack `[::]` socket held it).
fn free_port() -> u16 {
    let probe = TcpListener::bind("[::]:0").expect("no free port");
    probe.local_addr().unwrap().port()
}

/// A running `coreline serve ...`, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `coreline serve --cpus 0 ARGS` and waits until `ready` accepts.
fn serve(args: &[&str], ready: SocketAddr) -> Running {
    let child = Command::new(BIN)
        .args(["serve", "--cpus", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start coreline");
    let mut running = Running(child);
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&ready, Duration::from_millis(200)).is_err() {
        let exited = running.0.try_wait().unwrap();
        assert!(exited.is_none(), "coreline {args:?} exited: {exited:?}");
        assert!(Instant::now() < end, "nothing accepted on {ready}");
        std::thread::sleep(Duration::from_millis(20));
    }
    running
}

/// The body of `GET /plaintext` at `addr`, or `None` if nothing answers there.
fn plaintext(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

fn answers(addr: &str) -> bool {
    plaintext(addr.parse().unwrap()).as_deref() == Some("Hello, World!")
}

fn one_line(out: &Output, code: i32, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(says), "{says} in {err}");
}

/// A file in this test run's own directory.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coreline-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn version_and_help_of_every_command() {
    let version = format!("coreline {}\n", env!("CARGO_PKG_VERSION"));
    for asks in [&["--version"][..], &["-V"], &["serve", "--version"]] {
        let out = run(asks);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout), version);
    }
    for command in ["serve", "gen-cert", "stats", "check-config"] {
        let out = run(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("usage: coreline {command}")),
            "{text}"
        );
    }
    let help = String::from_utf8_lossy(&run(&["serve", "--help"]).stdout).into_owned();
    for flag in ["--config", "--listen", "--tls-listen", "--max-connections"] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

#[test]
fn two_listen_flags_both_answer() {
    let (a, b) = (free_port(), free_port());
    let (a, b) = (format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}"));
    let _server = serve(&["--listen", &a, "--listen", &b], b.parse().unwrap());
    assert!(answers(&a) && answers(&b));
}

#[test]
fn all_interfaces_and_host_names() {
    // `:PORT`: one dual-stack socket, so IPv4 and IPv6 loopback both answer.
    let port = free_port();
    let v4 = format!("127.0.0.1:{port}");
    let _all = serve(&["--listen", &format!(":{port}")], v4.parse().unwrap());
    assert!(answers(&v4));
    assert!(answers(&format!("[::1]:{port}")));
    // `localhost:PORT`: every address the name resolves to.
    let port = free_port();
    let v4 = format!("127.0.0.1:{port}");
    let _named = serve(
        &["--listen", &format!("localhost:{port}")],
        v4.parse().unwrap(),
    );
    assert!(answers(&v4));
}

#[test]
fn bad_values_give_one_line_and_exit_2() {
    for (args, says) in [
        (&["serve", "--listen", "localhost"][..], "--listen"),
        (&["serve", "--listen", ":http"], ":http"),
        (&["serve", "--tls-listen", "[::1]"], "--tls-listen"),
        (&["serve", "--max-connections", "many"], "--max-connections"),
        (
            &["serve", "--listen", "no-such-host.invalid:80"],
            "no-such-host.invalid",
        ),
        (
            &["serve", "--config", "/nonexistent/c.toml"],
            "/nonexistent/c.toml",
        ),
        (&["check-config"], "<FILE>"),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--congestion-control",
                "no-such-cc",
            ],
            "TCP congestion control \"no-such-cc\": not in this kernel (available: ",
        ),
    ] {
        one_line(&run(args), 2, says);
    }
}

#[test]
fn config_file_values_are_used_and_flags_override_them() {
    let (in_file, on_flag) = (free_port(), free_port());
    let in_file = format!("127.0.0.1:{in_file}");
    let config = file(
        "serve.toml",
        &format!("listen = [\"{in_file}\"]\nmax-connections = 1000\ncpus = \"0\"\n"),
    );
    {
        let _server = serve(&["--config", s(&config)], in_file.parse().unwrap());
        assert!(answers(&in_file));
    }
    let on_flag = format!("127.0.0.1:{on_flag}");
    let _server = serve(
        &["--config", s(&config), "--listen", &on_flag],
        on_flag.parse().unwrap(),
    );
    assert!(answers(&on_flag));
    assert_eq!(
        plaintext(in_file.parse().unwrap()),
        None,
        "the flag replaced it"
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_line() {
    let config = file("unknown.toml", "backlog = 64\n\nlisten-on = \":1\"\n");
    one_line(
        &run(&["serve", "--config", s(&config)]),
        2,
        ":3: unknown key 'listen-on'",
    );
    one_line(
        &run(&["check-config", s(&config)]),
        1,
        ":3: unknown key 'listen-on'",
    );
    let config = file("value.toml", "# limits\nmax-handshakes = -5\n");
    one_line(
        &run(&["check-config", s(&config)]),
        1,
        ":2: invalid value '-5'",
    );
    let config = file("combo.toml", "tls-listen = [\":8443\"]\n");
    one_line(&run(&["check-config", s(&config)]), 1, "--tls-cert");
}

#[test]
fn check_config_accepts_a_good_file_and_the_shipped_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/coreline.toml");
    let good = file("good.toml", "listen = \":0\"\nreuse-port = true\n");
    for path in [example.as_path(), good.as_path()] {
        let out = run(&["check-config", s(path)]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(said, format!("configuration {} is ok\n", path.display()));
    }
}

#[test]
fn congestion_control_reaches_accepted_connections() {
    // An algorithm other than the kernel's default, so that the flag's effect shows.
    let default = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control").unwrap();
    let wanted = if default.trim() == "reno" {
        "cubic"
    } else {
        "reno"
    };
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _server = serve(
        &["--listen", &addr, "--congestion-control", wanted],
        addr.parse().unwrap(),
    );
    let _conn = TcpStream::connect(&addr).unwrap();
    // The server's side of the connection, as `ss -ti` shows it: its algorithm's name.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let filter = format!("( sport = :{port} )");
        let out = Command::new("ss")
            .args(["-tinH", "state", "established", &filter])
            .output()
            .expect("ss (iproute2)");
        let text = String::from_utf8_lossy(&out.stdout);
        if text.split_whitespace().any(|w| w == wanted) {
            break;
        }
        assert!(Instant::now() < deadline, "{wanted} not in: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
