//! Every input under `fuzz/corpus/` (the seeds) and `fuzz/regressions/` (inputs that once
//! crashed a fuzz target, kept so the bug stays fixed) run through the fuzz targets'
//! checks on stable Rust, in CI. The checks are the fuzz crate's own source files.

#[path = "../../fuzz/checks/head.rs"]
mod head;
#[path = "../../fuzz/checks/tls_http.rs"]
mod tls_http;

use std::path::Path;

/// Runs `check` on every file in `fuzz/{corpus,regressions}/TARGET`; returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        let dir = fuzz.join(kind).join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("fuzz input {} fails its check", path.display());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn request_head_inputs_pass() {
    assert!(
        replay("request_head", head::check) >= 9,
        "the seed corpus is there"
    );
}

#[test]
fn tls_http_inputs_pass() {
    assert!(
        replay("tls_http", tls_http::check) >= 6,
        "the seed corpus is there"
    );
}

#[test]
fn the_checks_catch_a_split_dependent_parse() {
    // The property the head check relies on, shown on a known head: every prefix of a
    // valid head is incomplete, and the whole is a head.
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(matches!(
        head::outcome(get),
        head::Outcome::Head { len: 27, .. }
    ));
    assert_eq!(head::outcome(&get[..20]), head::Outcome::Partial);
    assert_eq!(
        head::outcome(b"GET / HTTP/1.1\r\nHost: x\n\r\n"),
        head::Outcome::Refused(400)
    );
}
