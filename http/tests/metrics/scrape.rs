//! Scrapes of an admin listener share one gather: many clients scraping at once ask the
//! observed cores for their copies once, and a snapshot answers for a second after it.

use std::time::{Duration, Instant};

use coreline_http::metrics::MetricsAdmin;
use coreline_http::Server;
use coreline_runtime::Cores;

use crate::common::metrics::fetch_metrics;
use crate::common::{run_on_thread, Client};
use crate::{handler, one_core};

#[test]
fn concurrent_scrapes_share_one_gather() {
    let observed = run_on_thread(
        one_core()
            .listen("127.0.0.1:0".parse().unwrap())
            .metrics(true)
            .build(|| handler)
            .unwrap(),
    );
    let metrics = MetricsAdmin::new(observed.handle.clone());
    let admin = run_on_thread(
        Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::Count(1))
            .build({
                let metrics = metrics.clone();
                move || metrics.clone()
            })
            .unwrap(),
    );
    // Block the observed core for a while, so that the first scrape's gather is still
    // waiting for it when the others arrive.
    let mut busy = Client::connect(observed.addr);
    busy.send(b"GET /block/300 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::thread::sleep(Duration::from_millis(20));
    let started = Instant::now();
    let scrapers: Vec<_> = (0..20)
        .map(|_| std::thread::spawn(move || fetch_metrics(admin.addr)))
        .collect();
    let texts: Vec<String> = scrapers.into_iter().map(|t| t.join().unwrap()).collect();
    let took = started.elapsed();
    assert_eq!(busy.response(false).status, 200);
    assert!(texts
        .iter()
        .all(|t| t.contains("coreline_http_requests_total")));
    let gathers = metrics.gathers();
    if took < Duration::from_millis(900) {
        assert_eq!(gathers, 1, "20 scrapes within {took:?}");
    } else {
        assert!(gathers <= 2, "{gathers} gathers for 20 scrapes in {took:?}");
    }
    // Once the snapshot is older than a second, the next scrape gathers anew and sees
    // the request that finished meanwhile.
    std::thread::sleep(Duration::from_millis(1100));
    let text = fetch_metrics(admin.addr);
    assert_eq!(metrics.gathers(), gathers + 1);
    assert!(
        text.contains("coreline_http_requests_total{core=\"0\"} 1"),
        "{text}"
    );
}
