//! Steering against the real kernel: the program loads and attaches, and new connections
//! land on the listener of the core with the lower load (open connections plus those
//! steered to it and not accepted); with every load stale the kernel's hash spreads them.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coreline_runtime::net::{ListenOptions, SteerGroup, SteerLoads, TcpListener};

/// Two listeners of one `SO_REUSEPORT` group on a free loopback port.
fn two_listeners() -> (TcpListener, TcpListener, SocketAddr) {
    let options = ListenOptions::default();
    let first = TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &options).unwrap();
    let addr = first.local_addr();
    let second = TcpListener::bind_with(addr, &options).unwrap();
    (first, second, addr)
}

/// Opens `n` connections (the kernel completes them into the accept queues) and keeps them.
fn connect(addr: SocketAddr, n: usize) -> Vec<std::net::TcpStream> {
    (0..n)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect()
}

fn depths(a: &TcpListener, b: &TcpListener) -> (u32, u32) {
    (a.queue_info().unwrap().depth, b.queue_info().unwrap().depth)
}

/// The group, or `None` (with a note) where this process may not load BPF programs.
fn group(cores: usize) -> Option<SteerGroup> {
    let loads = SteerLoads::new(cores);
    match loads.and_then(SteerGroup::new) {
        Ok(group) => Some(group),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            assert!(
                e.to_string().contains("needs CAP_BPF or CAP_SYS_ADMIN"),
                "{e}"
            );
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("the kernel refused the steering program: {e}"),
    }
}

#[test]
fn connections_land_on_the_core_with_the_lower_load() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = two_listeners();
    group.join(0, &zero).unwrap();
    group.join(1, &one).unwrap();
    let loads = group.loads().clone();

    // Core 0 holds 5 open: the first 5 go to core 1; from then on, as nothing is accepted,
    // each one counts against its core and they alternate.
    loads.publish(0, 5, 0);
    loads.publish(1, 0, 0);
    let _first = connect(addr, 5);
    assert_eq!(depths(&zero, &one), (0, 5));
    let _second = connect(addr, 10);
    assert_eq!(depths(&zero, &one), (5, 10));
    assert_eq!((loads.load(0), loads.load(1)), (10, 10));

    // Core 1 now holds 9 open too (19 in all): core 0 takes the next 9.
    loads.publish(1, 9, 0);
    let _third = connect(addr, 9);
    assert_eq!(depths(&zero, &one), (14, 10));

    // Accepted ones stop counting as on their way; settled ones are forgotten.
    loads.publish(0, 0, 4);
    assert_eq!(loads.load(0), 10);
    loads.settle(0);
    assert_eq!(loads.load(0), 0);
}

#[test]
fn a_stale_load_is_passed_over_and_all_stale_falls_back_to_the_hash() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = two_listeners();
    group.join(0, &zero).unwrap();
    group.join(1, &one).unwrap();
    let loads = group.loads().clone();

    // Core 1 published once, long enough ago; core 0 keeps publishing a higher load.
    loads.publish(1, 0, 0);
    let start = Instant::now();
    while start.elapsed() < SteerLoads::STALE + Duration::from_millis(100) {
        std::thread::sleep(Duration::from_millis(50));
    }
    loads.publish(0, 7, 0);
    let _first = connect(addr, 10);
    assert_eq!(depths(&zero, &one), (10, 0));

    // Nothing fresh: the kernel's hash, which uses both.
    std::thread::sleep(SteerLoads::STALE + Duration::from_millis(100));
    let _second = connect(addr, 64);
    let (a, b) = depths(&zero, &one);
    assert!(a > 10 && b > 0, "the hash did not spread them: {a} {b}");
}

#[test]
fn connections_the_hash_placed_are_counted_once_accepted() {
    let Some(group) = group(1) else { return };
    let loads = group.loads().clone();
    // Accepted 3 the program never saw: none is on its way.
    loads.publish(0, 1, 3);
    assert_eq!(loads.load(0), 1);
}

#[test]
fn a_core_out_of_range_is_refused() {
    let Some(group) = group(1) else { return };
    let (zero, one, _) = two_listeners();
    group.join(0, &zero).unwrap();
    let e = group.join(1, &one).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}
