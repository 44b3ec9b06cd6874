//! The config file through `serve --config` and `check-config`.

use std::path::PathBuf;

use coreline_http::ListenAddr;
use coreline_runtime::Cores;

use super::*;

fn serve(args: &[&str]) -> Serve {
    match parse(args.iter().copied()) {
        Ok(Command::Serve(s)) => *s,
        other => panic!("{args:?} gave {other:?}"),
    }
}

fn err(args: &[&str]) -> String {
    match parse(args.iter().copied()) {
        Err(Exit::Usage(e)) => e,
        other => panic!("{args:?} gave {other:?}"),
    }
}

fn addr(s: &str) -> ListenAddr {
    s.parse().unwrap()
}

/// A config file in a fresh temporary directory.
fn config_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coreline-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_file_values_and_flags_over_them() {
    let path = config_file(
        "values.toml",
        "listen = [\"127.0.0.1:1\", \":2\"]\nmax-connections = 10000\nreuse-port = true\n\
         tcp-nodelay = false\ndrain-timeout = 2.5\ncpus = 0\nmetrics = \"127.0.0.1:9\"\n",
    );
    let file = path.to_str().unwrap();
    let s = serve(&["serve", "--config", file]);
    assert_eq!(s.listen, vec![addr("127.0.0.1:1"), addr(":2")]);
    assert_eq!((s.max_connections, s.reuse_port), (Some(10000), true));
    assert_eq!((s.tcp_nodelay, s.cpus), (false, Cores::List(vec![0])));
    assert_eq!(
        s.drain_timeout,
        Some(std::time::Duration::from_millis(2500))
    );
    assert!(s.metrics.admin.is_some());
    // A flag wins; a repeatable one replaces the file's list.
    let s = serve(&[
        "serve",
        "--max-connections",
        "5",
        "--config",
        file,
        "--listen",
        "127.0.0.1:3",
    ]);
    assert_eq!(s.max_connections, Some(5));
    assert_eq!(s.listen, vec![addr("127.0.0.1:3")]);
    assert_eq!(check_config(&path).unwrap().max_connections, Some(10000));
}

#[test]
fn config_file_errors_name_the_key_and_line() {
    for (text, says) in [
        (
            "backlog = 5\nlisten-on = \":1\"\n",
            ":2: unknown key 'listen-on'",
        ),
        ("\n\nbacklog = 0\n", ":3: invalid value '0' for '--backlog"),
        (
            "reuse-port = \"yes\"\n",
            ":1: reuse-port: takes true or false",
        ),
        ("cpus = [0, 1]\n", ":1: cpus: takes a single value"),
        ("config = \"x\"\n", ":1: unknown key 'config'"),
        ("backlog = \n", ":1:"),
    ] {
        let path = config_file("bad.toml", text);
        let e = check_config(&path).unwrap_err();
        assert!(e.contains(says) && !e.contains('\n'), "{text:?}: {e}");
        let e = err(&["serve", "--config", path.to_str().unwrap()]);
        assert!(e.contains(says), "{text:?}: {e}");
    }
    let path = config_file("combo.toml", "tls-listen = \":1\"\n");
    assert!(check_config(&path).unwrap_err().contains("--tls-cert"));
    let e = check_config(std::path::Path::new("/nonexistent/coreline.toml")).unwrap_err();
    assert!(e.contains("/nonexistent/coreline.toml"), "{e}");
}
