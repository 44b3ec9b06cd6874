//! Tests of the command-line parsing.

use super::*;

fn p(args: &[&str]) -> Result<Command, String> {
    parse(args.iter().map(|s| s.to_string()))
}

fn cfg(args: &[&str]) -> Config {
    match p(args) {
        Ok(Command::Run(c)) => *c,
        other => panic!("{args:?} gave {other:?}"),
    }
}

#[test]
fn flags_and_defaults() {
    let c = cfg(&["-c", "64", "-d", "3", "http://127.0.0.1:8080/plaintext"]);
    assert_eq!(
        (c.connections, c.duration.as_secs(), c.pipeline),
        (64, 3, 1)
    );
    assert!(c.rate.is_none() && !c.close && c.tls_resume && c.cpus.is_none());
    assert!(!c.fastopen);
    assert!(cfg(&["-c", "1", "-d", "1", "--close", "--fastopen", "http://a/"]).fastopen);
    assert_eq!(c.timeout, Duration::from_secs(10));
    let c = cfg(&[
        "--connections=4",
        "-d",
        "500ms",
        "-R",
        "2000",
        "--pipeline",
        "16",
        "--cpus",
        "0-1,3",
        "-H",
        "X-A: b",
        "-m",
        "POST",
        "--body",
        "hi",
        "https://localhost/x",
        "--no-tls-resume",
    ]);
    assert_eq!(c.duration, Duration::from_millis(500));
    assert_eq!(c.rate, Some(2000.0));
    assert_eq!(c.cpus, Some(vec![0, 1, 3]));
    assert_eq!(c.headers, vec![("X-A".into(), "b".into())]);
    assert!(c.target.tls && !c.tls_resume);
    assert!(matches!(p(&["--help"]), Ok(Command::Print(_))));
    assert!(matches!(p(&["-V"]), Ok(Command::Print(_))));
}

#[test]
fn requests_threads_and_warmup() {
    let c = cfg(&[
        "-c",
        "4",
        "-n",
        "100",
        "-t",
        "2",
        "--warmup",
        "1",
        "http://a/",
    ]);
    assert_eq!((c.requests, c.threads), (Some(100), Some(2)));
    assert_eq!(
        (c.duration, c.warmup),
        (REQUESTS_ONLY_LIMIT, Duration::from_secs(1))
    );
    let c = cfg(&["-c", "1", "-d", "2", "--requests=5", "http://a/"]);
    assert_eq!((c.duration, c.requests), (Duration::from_secs(2), Some(5)));
    assert_eq!((c.warmup, c.threads), (Duration::ZERO, None));
    let e = |args: &[&str]| p(args).unwrap_err();
    assert!(e(&["-c", "2", "-t", "2", "--cpus", "0", "-d", "1", "http://a/"]).contains("--cpus"));
    assert!(e(&["-c", "1", "-t", "0", "-d", "1", "http://a/"]).contains("-t"));
    assert!(e(&["-c", "1", "-n", "x", "http://a/"]).contains("--requests"));
    assert!(e(&["-c", "1", "-d", "1", "--warmup", "1.5", "http://a/"]).contains("--warmup"));
    assert!(e(&["-c", "1", "-d", "1", "--cpus", "0,0", "http://a/"]).contains("twice"));
    for args in [
        &["-c", "1", "http://a/"][..],
        &["-c", "x", "-d", "1", "http://a/"],
    ] {
        assert!(!e(args).contains('\n'), "{args:?}");
    }
}

#[test]
fn errors_name_the_problem() {
    let e = |args: &[&str]| p(args).unwrap_err();
    assert!(e(&["-d", "1", "http://a/"]).contains("-c"));
    assert!(e(&["-c", "1", "http://a/"]).contains("-d"));
    assert!(e(&["-c", "1", "-d", "1"]).contains("URL"));
    assert!(e(&["-c", "0", "-d", "1", "http://a/"]).contains("positive"));
    assert!(e(&["-c", "1", "-d", "x", "http://a/"]).contains("duration"));
    assert!(e(&["-c", "1", "-d", "1", "--cpus", "1-0", "http://a/"]).contains("CPU list"));
    assert!(e(&["-c", "1", "-d", "1", "--cpus", "0-999999", "http://a/"]).contains("CPU"));
    assert!(e(&["-c", "1", "-d", "1", "--cpus", "0,1", "http://a/"]).contains("fewer"));
    assert!(e(&["-c", "1", "-d", "1", "-H", "bad", "http://a/"]).contains("header"));
    assert!(e(&["-c", "1", "-d", "1", "--pipeline", "999", "http://a/"]).contains("256"));
    assert!(e(&[
        "-c",
        "1",
        "-d",
        "1",
        "--close",
        "--pipeline",
        "2",
        "http://a/"
    ])
    .contains("exclude"));
    assert!(e(&["-c", "1", "-d", "1", "--frob", "http://a/"]).contains("--frob"));
    assert!(e(&["-c", "1", "-d", "1", "ftp://a/"]).contains("http"));
    assert!(e(&["-c", "1", "-d", "1", "http://a/", "http://b/"])
        .contains("unexpected argument 'http://b/'"));
    assert!(e(&["-c", "1", "-d", "1", "--cacert", "x", "http://a/"]).contains("https"));
    assert!(e(&["-c", "1", "-d", "1", "-R", "0", "http://a/"]).contains("rate"));
    assert!(e(&["-c", "1", "-d", "1", "-R", "1e-300", "http://a/"]).contains("rate"));
    assert!(e(&["-c", "9999999", "-d", "1", "http://a/"]).contains("more than"));
}

#[test]
fn recv_buffers_flag() {
    let url = "http://127.0.0.1:8080/";
    assert_eq!(cfg(&["-c", "1", "-d", "1", url]).recv_buffers, None);
    let c = cfg(&["-c", "1", "-d", "1", "--recv-buffers", "1024", url]);
    assert_eq!(c.recv_buffers, Some(1024));
    for bad in ["0", "1000", "65536", "x"] {
        let e = p(&["-c", "1", "-d", "1", "--recv-buffers", bad, url]).unwrap_err();
        assert!(e.contains("--recv-buffers"), "{bad}: {e}");
    }
}

#[test]
fn busy_poll_flag() {
    let url = "http://127.0.0.1:8080/";
    assert_eq!(cfg(&["-c", "1", "-d", "1", url]).busy_poll, Duration::ZERO);
    let c = cfg(&["-c", "1", "-d", "1", "--busy-poll-us", "100", url]);
    assert_eq!(c.busy_poll, Duration::from_micros(100));
    assert!(p(&["-c", "1", "-d", "1", "--busy-poll-us", "-1", url]).is_err());
}
