use std::path::PathBuf;

use coreline_http::{FileBodyMethod, ListenAddr, ListenerMode};
use coreline_runtime::Cores;
use log::LevelFilter;

use super::*;
use crate::log_sink::LogFormat;

fn p(args: &[&str]) -> Result<Command, Exit> {
    parse(args.iter().copied())
}

fn serve(args: &[&str]) -> Serve {
    match p(args) {
        Ok(Command::Serve(s)) => *s,
        other => panic!("{args:?} gave {other:?}"),
    }
}

fn err(args: &[&str]) -> String {
    match p(args) {
        Err(Exit::Usage(e)) => {
            assert!(!e.contains('\n'), "{args:?}: {e}");
            e
        }
        other => panic!("{args:?} gave {other:?}"),
    }
}

fn addr(s: &str) -> ListenAddr {
    s.parse().unwrap()
}

#[test]
fn defaults_and_flags() {
    let s = serve(&["serve"]);
    assert_eq!(s.listen, vec![addr("127.0.0.1:8080")]);
    assert_eq!(
        (s.cpus, s.backlog, s.root, s.tls),
        (Cores::All, 4096, None, None)
    );
    let s = serve(&[
        "serve",
        "--listen",
        "0.0.0.0:1",
        "--cpus=0,1",
        "--backlog",
        "7",
        "--root",
        "/x",
    ]);
    assert_eq!(s.listen, vec![addr("0.0.0.0:1")]);
    assert_eq!(s.cpus, Cores::List(vec![0, 1]));
    assert_eq!(s.backlog, 7);
    assert_eq!(s.root, Some(PathBuf::from("/x")));
    assert_eq!(p(&[]).unwrap(), p(&["serve"]).unwrap());
    // Flags without a command: serve. A single-value flag given twice: the last wins.
    let s = serve(&["--cpus", "0", "--cpus", "1"]);
    assert_eq!(s.cpus, Cores::List(vec![1]));
}

#[test]
fn repeatable_listeners_in_every_form() {
    let s = serve(&[
        "serve",
        "--listen",
        "127.0.0.1:80",
        "--listen=[::1]:81",
        "--listen",
        ":82",
        "--listen",
        "localhost:83",
    ]);
    assert_eq!(
        s.listen,
        vec![
            addr("127.0.0.1:80"),
            addr("[::1]:81"),
            ListenAddr::AllInterfaces(82),
            addr("localhost:83")
        ]
    );
    let e = err(&["serve", "--listen", "localhost"]);
    assert!(e.contains("--listen") && e.contains(":PORT"), "{e}");
}

#[test]
fn tls_flags() {
    let s = serve(&[
        "serve",
        "--tls-listen",
        "127.0.0.1:8443",
        "--tls-listen",
        ":8444",
        "--tls-cert",
        "c.pem",
        "--tls-key=k.pem",
        "--tls-sni",
        "a.example=a/cert.pem:a/key.pem",
        "--tls-sni=b.example=C:\\b.pem:b:key.pem",
    ]);
    // --tls-listen without --listen: HTTPS only.
    assert!(s.listen.is_empty());
    let tls = s.tls.unwrap();
    assert_eq!(
        tls.listen,
        vec![addr("127.0.0.1:8443"), ListenAddr::AllInterfaces(8444)]
    );
    assert_eq!((tls.cert, tls.key), ("c.pem".into(), "k.pem".into()));
    let sni: Vec<_> = (tls.sni.iter())
        .map(|s| {
            (
                s.name.as_str(),
                s.cert.to_str().unwrap(),
                s.key.to_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sni,
        [
            ("a.example", "a/cert.pem", "a/key.pem"),
            ("b.example", "C:\\b.pem:b", "key.pem")
        ]
    );
    let s = serve(&[
        "serve",
        "--listen=127.0.0.1:80",
        "--tls-listen=127.0.0.1:443",
        "--tls-cert=c",
        "--tls-key=k",
    ]);
    assert_eq!(s.listen, vec![addr("127.0.0.1:80")]);
    assert!(s.tls.is_some());
}

#[test]
fn gen_cert() {
    let made = |dir: &str, days, force| {
        Command::GenCert(GenCert {
            dir: PathBuf::from(dir),
            days,
            force,
        })
    };
    assert_eq!(
        p(&["gen-cert", "/tmp/d"]).unwrap(),
        made("/tmp/d", 90, false)
    );
    assert_eq!(
        p(&["gen-cert", "--force", "/tmp/d", "--days", "7"]).unwrap(),
        made("/tmp/d", 7, true)
    );
    assert_eq!(
        p(&["gen-cert", "/tmp/d", "--days=398"]).unwrap(),
        made("/tmp/d", 398, false)
    );
    assert!(matches!(p(&["gen-cert", "--help"]), Err(Exit::Print(_))));
    for bad in [
        &["gen-cert"][..],
        &["gen-cert", "a", "b"],
        &["gen-cert", "--nope"],
        &["gen-cert", "a", "--days"],
        &["gen-cert", "a", "--days", "0"],
        &["gen-cert", "a", "--days", "399"],
        &["gen-cert", "a", "--days=x"],
        &["gen-cert", "a", "--days", "-1"],
    ] {
        err(bad);
    }
}

#[test]
fn help_version_and_errors() {
    for asks in [
        &["serve", "--help"][..],
        &["-h"],
        &["check-config", "--help"],
        &["stats", "-h"],
    ] {
        match p(asks) {
            Err(Exit::Print(text)) => assert!(text.starts_with("usage: coreline"), "{text}"),
            other => panic!("{asks:?} gave {other:?}"),
        }
    }
    for asks in [&["-V"][..], &["--version"], &["serve", "--version"]] {
        let version = format!("coreline {}\n", env!("CARGO_PKG_VERSION"));
        assert_eq!(p(asks), Err(Exit::Print(version)));
    }
    for (bad, names) in [
        (&["serve", "--nope"][..], "--nope"),
        (&["serve", "--listen"], "--listen"),
        (&["serve", "--backlog", "0"], "--backlog"),
        (&["serve", "--backlog", "-3"], "--backlog"),
        (&["serve", "--cpus", "x"], "--cpus"),
        (&["frobnicate"], "frobnicate"),
        (&["serve", "--tls-listen", "127.0.0.1:1"], "--tls-cert"),
        (
            &["serve", "--tls-listen", "127.0.0.1:1", "--tls-cert", "c"],
            "--tls-key",
        ),
        (
            &["serve", "--tls-cert", "c", "--tls-key", "k"],
            "--tls-listen",
        ),
        (&["serve", "--tls-sni", "a=c:k"], "--tls-listen"),
        (&["serve", "--tls-listen", "x"], "--tls-listen"),
        (&["serve", "--tls-sni=nofiles"], "--tls-sni"),
        (&["serve", "--tls-sni=a=nokey"], "--tls-sni"),
        (&["serve", "--max-connections", "lots"], "--max-connections"),
        (&["serve", "--max-handshakes", "x"], "--max-handshakes"),
        (&["serve", "--drain-timeout", "-1"], "--drain-timeout"),
        (&["serve", "--tcp-nodelay", "yes"], "--tcp-nodelay"),
        (&["serve", "--tcp-nodelay"], "--tcp-nodelay"),
        (&["serve", "--tcp-fastopen", "0"], "--tcp-fastopen"),
        (&["serve", "--tcp-fastopen", "-1"], "--tcp-fastopen"),
        (&["serve", "--tcp-fastopen", "3000000000"], "--tcp-fastopen"),
        (&["serve", "--file-body", "sendfile"], "--file-body"),
        (&["serve", "--listener-mode", "hash"], "--listener-mode"),
        (&["serve", "--min-body-rate", "fast"], "--min-body-rate"),
        (&["serve", "--metrics-public"], "--metrics"),
        (&["stats"], "admin URL"),
        (&["stats", "127.0.0.1:1", "--count", "0"], "--count"),
    ] {
        let e = err(bad);
        assert!(e.contains(names), "{bad:?}: {e}");
    }
}

#[test]
fn server_settings() {
    let s = serve(&["serve"]);
    assert_eq!((s.reuse_port, s.max_connections), (false, None));
    assert_eq!((s.max_handshakes, s.drain_timeout), (None, None));
    assert_eq!((s.tcp_nodelay, s.tcp_fastopen), (true, None));
    assert_eq!((s.min_body_rate, s.min_send_rate), (None, None));
    assert_eq!(s.file_body, FileBodyMethod::Auto);
    assert_eq!(s.listener_mode, ListenerMode::ReusePort);
    for (name, mode) in [
        ("shared", ListenerMode::Shared),
        ("steered", ListenerMode::Steered),
        ("reuseport", ListenerMode::ReusePort),
    ] {
        assert_eq!(
            serve(&["serve", "--listener-mode", name]).listener_mode,
            mode
        );
        assert_eq!(mode.name(), name);
    }
    let s = serve(&[
        "serve",
        "--reuse-port",
        "--max-connections",
        "64",
        "--max-handshakes",
        "32",
        "--drain-timeout",
        "2.5",
        "--tcp-nodelay",
        "off",
        "--tcp-fastopen=256",
        "--file-body",
        "send-zc",
        "--min-body-rate",
        "0",
        "--min-send-rate=1000",
    ]);
    assert_eq!((s.reuse_port, s.max_connections), (true, Some(64)));
    assert_eq!(s.max_handshakes, Some(32));
    assert_eq!(
        s.drain_timeout,
        Some(std::time::Duration::from_millis(2500))
    );
    assert_eq!((s.tcp_nodelay, s.tcp_fastopen), (false, Some(256)));
    assert_eq!(s.file_body, FileBodyMethod::SendZc);
    assert_eq!((s.min_body_rate, s.min_send_rate), (Some(0), Some(1000)));
}

#[test]
fn max_body_flag() {
    let max_body = |args: &[&str]| serve(args).max_body;
    assert_eq!(max_body(&["serve"]), None);
    for (given, bytes) in [
        ("65536", 65536),
        ("64k", 64 << 10),
        ("16M", 16 << 20),
        ("2g", 2 << 30),
        ("0", u64::MAX),
    ] {
        assert_eq!(
            max_body(&["serve", "--max-body", given]),
            Some(bytes),
            "{given}"
        );
    }
    for bad in ["", "m", "1.5m", "-1", "12x", "99999999999999999999g"] {
        let e = err(&["serve", "--max-body", bad]);
        assert!(e.contains("is not a size"), "{bad:?}: {e}");
    }
}

#[test]
fn notsent_lowat_flag() {
    let lowat = |args: &[&str]| serve(args).notsent_lowat;
    assert_eq!(
        lowat(&["serve"]),
        Some(coreline_http::Builder::DEFAULT_NOTSENT_LOWAT)
    );
    assert_eq!(lowat(&["serve", "--notsent-lowat", "16384"]), Some(16384));
    assert_eq!(lowat(&["serve", "--notsent-lowat=off"]), None);
    for bad in [
        &["serve", "--notsent-lowat", "0"][..],
        &["serve", "--notsent-lowat", "3000000000"],
        &["serve", "--notsent-lowat", "on"],
        &["serve", "--notsent-lowat"],
    ] {
        assert!(err(bad).contains("--notsent-lowat"), "{bad:?}");
    }
}

#[test]
fn busy_poll_flag() {
    let window = |args: &[&str]| serve(args).busy_poll;
    assert_eq!(window(&["serve"]), std::time::Duration::ZERO);
    assert_eq!(
        window(&["serve", "--busy-poll-us", "50"]),
        std::time::Duration::from_micros(50)
    );
    assert!(err(&["serve", "--busy-poll-us", "-1"]).contains("--busy-poll-us"));
}

#[test]
fn log_flags() {
    let s = serve(&["serve"]);
    assert_eq!(
        (s.log_level, s.log_format),
        (LevelFilter::Info, LogFormat::Text)
    );
    let s = serve(&["serve", "--log-level", "debug", "--log-format", "json"]);
    assert_eq!(
        (s.log_level, s.log_format),
        (LevelFilter::Debug, LogFormat::Json)
    );
    for bad in [
        &["serve", "--log-level", "off"][..],
        &["serve", "--log-level", "loud"],
        &["serve", "--log-format", "xml"],
    ] {
        assert!(err(bad).contains("--log-"), "{bad:?}");
    }
}
