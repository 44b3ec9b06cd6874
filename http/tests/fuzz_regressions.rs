//! Every input under `fuzz/corpus/` (the minimized corpus each fuzz target has grown) and
//! `fuzz/regressions/` (inputs that once failed a fuzz target, kept so the bug stays
//! fixed) run through the fuzz targets' checks on stable Rust, in CI. The checks are the
//! fuzz crate's own source files.

#[path = "../../fuzz/checks/chunked_body.rs"]
mod chunked_body;
#[path = "../../fuzz/checks/head.rs"]
mod head;
#[path = "../../fuzz/checks/http_date.rs"]
mod http_date;
#[path = "../../fuzz/checks/load_response.rs"]
mod load_response;
#[path = "../../fuzz/checks/metrics_text.rs"]
mod metrics_text;
#[path = "../../fuzz/checks/range.rs"]
mod range;
/// coreline-load's parser, compiled in by path as the `load_response` target does (its
/// unit tests come with it).
#[path = "../../bench/src/bin/coreline-load/response.rs"]
mod response;
#[path = "../../fuzz/checks/response_head.rs"]
mod response_head;
#[path = "../../fuzz/checks/static_path.rs"]
mod static_path;
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

/// One test per fuzz target: its corpus and regressions pass its check, and the corpus is
/// there (at least `min` inputs: the grown, minimized corpus, not only the seeds).
macro_rules! replays {
    ($($test:ident: $target:literal, $check:path, $min:literal;)*) => {$(
        #[test]
        fn $test() {
            let count = replay($target, $check);
            assert!(count >= $min, "fuzz/corpus/{} holds {count} inputs", $target);
        }
    )*};
}

replays! {
    request_head_inputs_pass: "request_head", head::check, 100;
    tls_http_inputs_pass: "tls_http", tls_http::check, 100;
    chunked_body_inputs_pass: "chunked_body", chunked_body::check, 100;
    static_path_inputs_pass: "static_path", static_path::check, 100;
    http_date_inputs_pass: "http_date", http_date::check, 100;
    range_inputs_pass: "range", range::check, 100;
    metrics_text_inputs_pass: "metrics_text", metrics_text::check, 100;
    load_response_inputs_pass: "load_response", load_response::check, 100;
    response_head_inputs_pass: "response_head", response_head::check, 100;
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
