//! coreline-load against a real nginx (OpenSSL on the TLS side): keep-alive connections that
//! nginx closes every 10 requests, chunked (gzip) bodies, and TLS resumption as nginx's own
//! `$ssl_session_reused` reports it. Counts are checked against nginx's access log.

mod load_support;

use load_support::nginx::Nginx;
use load_support::{load, temp_dir};

#[test]
fn http_against_nginx_counts_match_its_access_log() {
    let dir = temp_dir("nginx-http");
    let nginx = Nginx::start(&dir);

    // Keep-alive: nginx closes each connection after 10 requests (Connection: close).
    let url = format!("http://{}/plaintext", nginx.http);
    let run = load(&dir, &["-c", "4", "-d", "1", &url]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 40, "{requests}");
    assert_eq!(nginx.take_log().len() as u64, requests);
    assert_eq!(
        run.json["errors"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_u64())
            .sum::<u64>(),
        0
    );

    // gzip makes nginx send the text file chunked; pipelined 4 deep.
    let url = format!("http://{}/text.txt", nginx.http);
    let run = load(
        &dir,
        &[
            "-c",
            "2",
            "-d",
            "1",
            "--pipeline",
            "4",
            "-H",
            "Accept-Encoding: gzip",
            &url,
        ],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 20, "{requests}");
    assert_eq!(nginx.take_log().len() as u64, requests);
    assert_eq!(run.int("errors.parse") + run.int("errors.read"), 0);
}

#[test]
fn https_against_nginx_resumes_unless_told_not_to() {
    let dir = temp_dir("nginx-https");
    let nginx = Nginx::start(&dir);
    let url = format!("https://{}/plaintext", nginx.https);
    let cacert = nginx.cert.to_str().unwrap().to_string();

    let run = load(
        &dir,
        &["-c", "2", "-d", "1", "--close", "--cacert", &cacert, &url],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let log = nginx.take_log();
    assert_eq!(log.len() as u64, run.int("requests"));
    let reused = log.iter().filter(|l| l.starts_with("r ")).count();
    assert!(
        log.len() > 10 && reused + 2 >= log.len(),
        "{reused} of {} resumed",
        log.len()
    );

    let run = load(
        &dir,
        &["-c", "2", "-d", "1", "--close", "--no-tls-resume", &url],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let log = nginx.take_log();
    assert!(log.len() > 10);
    assert!(
        log.iter().all(|l| l.starts_with(". ")),
        "a session was resumed"
    );
}
