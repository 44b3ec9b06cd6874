use std::path::PathBuf;

use coreline_http::{Builder, FileBodyMethod};
use coreline_runtime::Cores;

use super::*;

fn p(args: &[&str]) -> Result<Command, String> {
    parse(args.iter().map(|s| s.to_string()))
}

fn serve(args: &[&str]) -> Serve {
    match p(args) {
        Ok(Command::Serve(s)) => *s,
        other => panic!("{args:?} gave {other:?}"),
    }
}

#[test]
fn defaults_and_flags() {
    let s = serve(&["serve"]);
    assert_eq!(s.listen, Some("127.0.0.1:8080".parse().unwrap()));
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
    assert_eq!(s.listen, Some("0.0.0.0:1".parse().unwrap()));
    assert_eq!(s.cpus, Cores::List(vec![0, 1]));
    assert_eq!(s.backlog, 7);
    assert_eq!(s.root, Some(PathBuf::from("/x")));
    assert_eq!(p(&[]).unwrap(), p(&["serve"]).unwrap());
}

#[test]
fn tls_flags() {
    let s = serve(&[
        "serve",
        "--tls-listen",
        "127.0.0.1:8443",
        "--tls-cert",
        "c.pem",
        "--tls-key=k.pem",
        "--tls-sni",
        "a.example=a/cert.pem:a/key.pem",
        "--tls-sni=b.example=C:\\b.pem:b:key.pem",
    ]);
    // --tls-listen without --listen: HTTPS only.
    assert_eq!(s.listen, None);
    let tls = s.tls.unwrap();
    assert_eq!(tls.listen, "127.0.0.1:8443".parse().unwrap());
    assert_eq!((tls.cert, tls.key), ("c.pem".into(), "k.pem".into()));
    assert_eq!(
        tls.sni,
        vec![
            ("a.example".into(), "a/cert.pem".into(), "a/key.pem".into()),
            ("b.example".into(), "C:\\b.pem:b".into(), "key.pem".into()),
        ]
    );
    // With --listen too: both.
    let s = serve(&[
        "serve",
        "--listen=127.0.0.1:80",
        "--tls-listen=127.0.0.1:443",
        "--tls-cert=c",
        "--tls-key=k",
    ]);
    assert_eq!(s.listen, Some("127.0.0.1:80".parse().unwrap()));
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
    assert_eq!(p(&["gen-cert", "--help"]).unwrap(), Command::Help);
    for bad in [
        &["gen-cert"][..],
        &["gen-cert", "a", "b"],
        &["gen-cert", "--nope"],
        &["gen-cert", "a", "--days"],
        &["gen-cert", "a", "--days", "0"],
        &["gen-cert", "a", "--days", "399"],
        &["gen-cert", "a", "--days", "-1"],
        &["gen-cert", "a", "--days=x"],
    ] {
        let e = p(bad).unwrap_err();
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn errors_and_help() {
    assert_eq!(p(&["serve", "--help"]).unwrap(), Command::Help);
    assert_eq!(p(&["-h"]).unwrap(), Command::Help);
    for bad in [
        &["serve", "--nope"][..],
        &["serve", "--listen"],
        &["serve", "--listen", "localhost"],
        &["serve", "--backlog", "0"],
        &["serve", "--cpus", "x"],
        &["frobnicate"],
        &["serve", "--tls-listen", "127.0.0.1:1"],
        &["serve", "--tls-listen", "127.0.0.1:1", "--tls-cert", "c"],
        &["serve", "--tls-listen", "127.0.0.1:1", "--tls-key", "k"],
        &["serve", "--tls-cert", "c", "--tls-key", "k"],
        &["serve", "--tls-sni", "a=c:k"],
        &[
            "serve",
            "--tls-listen",
            "x",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
        ],
        &[
            "serve",
            "--tls-listen=127.0.0.1:1",
            "--tls-cert=c",
            "--tls-key=k",
            "--tls-sni=nofiles",
        ],
        &[
            "serve",
            "--tls-listen=127.0.0.1:1",
            "--tls-cert=c",
            "--tls-key=k",
            "--tls-sni=a=nokey",
        ],
    ] {
        let e = p(bad).unwrap_err();
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn restart_and_connection_limit_flags() {
    let s = serve(&["serve"]);
    assert_eq!((s.reuse_port, s.max_connections), (false, None));
    // A switch takes no value: the next flag is still read as a flag.
    let s = serve(&[
        "serve",
        "--reuse-port",
        "--max-connections",
        "64",
        "--cpus",
        "0",
    ]);
    assert_eq!((s.reuse_port, s.max_connections), (true, Some(64)));
    assert_eq!(s.cpus, Cores::List(vec![0]));
    assert!(p(&["serve", "--max-connections", "lots"])
        .unwrap_err()
        .contains("--max-connections"));
}

#[test]
fn handshake_cap_and_drain_timeout_flags() {
    let s = serve(&["serve"]);
    assert_eq!((s.max_handshakes, s.drain_timeout), (None, None));
    let s = serve(&["serve", "--max-handshakes", "32", "--drain-timeout", "2.5"]);
    assert_eq!(s.max_handshakes, Some(32));
    assert_eq!(
        s.drain_timeout,
        Some(std::time::Duration::from_millis(2500))
    );
    for bad in [["--max-handshakes", "x"], ["--drain-timeout", "-1"]] {
        let e = p(&["serve", bad[0], bad[1]]).unwrap_err();
        assert!(e.contains(bad[0]), "{e}");
    }
}

#[test]
fn socket_option_flags() {
    let s = serve(&["serve"]);
    assert_eq!((s.tcp_nodelay, s.tcp_fastopen), (true, None));
    let s = serve(&["serve", "--tcp-nodelay", "off", "--tcp-fastopen=256"]);
    assert_eq!((s.tcp_nodelay, s.tcp_fastopen), (false, Some(256)));
    assert!(serve(&["serve", "--tcp-nodelay=on"]).tcp_nodelay);
    let lowat = |args: &[&str]| serve(args).notsent_lowat;
    assert_eq!(lowat(&["serve"]), Some(Builder::DEFAULT_NOTSENT_LOWAT));
    let stated = format!("(default {})", Builder::DEFAULT_NOTSENT_LOWAT);
    assert!(USAGE.contains(&stated), "the usage states the default");
    assert_eq!(lowat(&["serve", "--notsent-lowat", "16384"]), Some(16384));
    assert_eq!(lowat(&["serve", "--notsent-lowat=off"]), None);
    for (bad, names) in [
        (&["serve", "--tcp-nodelay", "yes"][..], "--tcp-nodelay"),
        (&["serve", "--tcp-nodelay"], "--tcp-nodelay"),
        (&["serve", "--tcp-fastopen", "0"], "--tcp-fastopen"),
        (&["serve", "--tcp-fastopen", "-1"], "--tcp-fastopen"),
        (&["serve", "--tcp-fastopen", "3000000000"], "--tcp-fastopen"),
        (&["serve", "--tcp-fastopen", "many"], "--tcp-fastopen"),
        (&["serve", "--notsent-lowat", "0"], "--notsent-lowat"),
        (
            &["serve", "--notsent-lowat", "3000000000"],
            "--notsent-lowat",
        ),
        (&["serve", "--notsent-lowat", "on"], "--notsent-lowat"),
        (&["serve", "--notsent-lowat"], "--notsent-lowat"),
    ] {
        let e = p(bad).unwrap_err();
        assert!(e.contains(names) && !e.contains('\n'), "{bad:?}: {e}");
    }
}

#[test]
fn file_body_flag() {
    assert_eq!(serve(&["serve"]).file_body, FileBodyMethod::Auto);
    for (value, method) in [
        ("auto", FileBodyMethod::Auto),
        ("splice", FileBodyMethod::Splice),
        ("read", FileBodyMethod::Read),
        ("send-zc", FileBodyMethod::SendZc),
    ] {
        assert_eq!(serve(&["serve", "--file-body", value]).file_body, method);
    }
    let e = p(&["serve", "--file-body", "sendfile"]).unwrap_err();
    assert!(e.contains("--file-body") && !e.contains('\n'), "{e}");
}

#[test]
fn minimum_rate_flags() {
    let s = serve(&["serve", "--min-body-rate", "0", "--min-send-rate=1000"]);
    assert_eq!((s.min_body_rate, s.min_send_rate), (Some(0), Some(1000)));
    let s = serve(&["serve"]);
    assert_eq!((s.min_body_rate, s.min_send_rate), (None, None));
    assert!(p(&["serve", "--min-body-rate", "fast"])
        .unwrap_err()
        .contains("--min-body-rate"));
}
