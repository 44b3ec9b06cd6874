//! Steering against the real kernel: the program loads and attaches, and new connections
//! land on the listener of the core with the lower load (open connections plus those
//! steered to it and not accepted); a core whose connections wait, or that lags far
//! behind the others, is passed over.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

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

/// Opens `n` connections one by one, calling `refresh` (which publishes the cores' loads
/// again, as running cores do) before each: without it, the wait of the connections
/// pending unaccepted counts as their core's lag.
fn connect_running(addr: SocketAddr, n: usize, refresh: impl Fn()) -> Vec<std::net::TcpStream> {
    (0..n)
        .map(|_| {
            refresh();
            std::net::TcpStream::connect(addr).unwrap()
        })
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

/// Two listeners joined to `group` as cores 0 and 1.
fn joined(group: &SteerGroup) -> (TcpListener, TcpListener, SocketAddr) {
    let (zero, one, addr) = two_listeners();
    group.join(0, &zero).unwrap();
    group.join(1, &one).unwrap();
    (zero, one, addr)
}

/// Core 0 idle and core 1 holding 7: one connection, which the program sends to core 0.
fn one_sent_to_idle_core_zero(
    loads: &SteerLoads,
    addr: SocketAddr,
    (zero, one): (&TcpListener, &TcpListener),
) -> Vec<std::net::TcpStream> {
    loads.publish(0, 0, 0);
    loads.publish(1, 7, 0);
    let first = connect(addr, 1);
    assert_eq!(depths(zero, one), (1, 0));
    first
}

#[test]
fn connections_land_on_the_core_with_the_lower_load() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // Core 0 holds 5 open: the first 5 go to core 1; from then on, as nothing is accepted,
    // each one counts against its core and they alternate.
    let shared = &loads;
    let publish = |open: [u64; 2]| {
        move || {
            let loads = shared;
            loads.publish(0, open[0], 0);
            loads.publish(1, open[1], 0);
        }
    };
    let _first = connect_running(addr, 5, publish([5, 0]));
    assert_eq!(depths(&zero, &one), (0, 5));
    let _second = connect_running(addr, 10, publish([5, 0]));
    assert_eq!(depths(&zero, &one), (5, 10));
    assert_eq!((loads.load(0), loads.load(1)), (10, 10));

    // Core 1 now holds 9 open too (19 in all): core 0 takes the next 9.
    let _third = connect_running(addr, 9, publish([5, 9]));
    assert_eq!(depths(&zero, &one), (14, 10));

    // Accepted ones stop counting as on their way; settled ones are forgotten.
    loads.publish(0, 0, 4);
    assert_eq!(loads.load(0), 10);
    loads.settle(0);
    assert_eq!(loads.load(0), 0);
}

#[test]
fn an_idle_core_is_taken_however_old_its_load() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // Core 1 published "nothing open" long ago and has slept since; core 0 holds 7.
    loads.publish(1, 0, 0);
    std::thread::sleep(Duration::from_millis(50));
    let _first = connect_running(addr, 3, || loads.publish(0, 7, 0));
    assert_eq!(depths(&zero, &one), (0, 3));
}

#[test]
fn a_core_whose_connections_wait_is_passed_over_until_they_settle() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // Core 0 is idle and gets the first; it never accepts it, so once that one has
    // waited longer than the slack, core 0 lags, however loaded core 1.
    let _first = one_sent_to_idle_core_zero(&loads, addr, (&zero, &one));
    std::thread::sleep(SteerLoads::LAG_SLACK * 3);
    let _second = connect_running(addr, 10, || loads.publish(1, 7, 0));
    assert_eq!(depths(&zero, &one), (1, 10));

    // Past the settle time the waiting one is taken for a lost handshake: core 0 competes
    // again (1 + 1 pending against 17), and forgets it when it publishes.
    std::thread::sleep(SteerLoads::SETTLE);
    let _third = connect_running(addr, 1, || loads.publish(1, 7, 0));
    assert_eq!(depths(&zero, &one), (2, 10));
    loads.publish(0, 0, 0);
    assert_eq!(loads.load(0), 0);
}

#[test]
fn a_lagging_core_is_passed_over_unless_all_lag() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // Core 0 is idle but waited 100 ms for its CPU a moment ago; core 1 holds 9.
    loads.publish_lag(0, Duration::from_millis(100));
    assert!(loads.lag(0) >= Duration::from_millis(50));
    let _first = connect_running(addr, 5, || {
        loads.publish(0, 0, 0);
        loads.publish(1, 9, 0);
    });
    assert_eq!(depths(&zero, &one), (0, 5));

    // Core 1 lags as much: the load decides again.
    loads.publish_lag(1, Duration::from_millis(100));
    let _second = connect_running(addr, 3, || {
        loads.publish(0, 0, 0);
        loads.publish(1, 9, 0);
    });
    assert_eq!(depths(&zero, &one), (3, 5));
}

#[test]
fn when_every_core_has_connections_waiting_the_shorter_wait_wins() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // One connection each, never accepted; core 1 then publishes again (it runs), core 0
    // does not: core 0's connection has waited far longer.
    loads.publish(0, 0, 0);
    loads.publish(1, 0, 0);
    let _first = connect(addr, 2);
    assert_eq!(depths(&zero, &one), (1, 1));
    std::thread::sleep(SteerLoads::LAG_SLACK * 10);
    loads.publish(1, 0, 0);
    let _second = connect(addr, 3);
    assert_eq!(depths(&zero, &one), (1, 4));
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

#[test]
fn a_peer_takes_over_the_queue_of_a_lagging_core() {
    let Some(group) = group(2) else { return };
    let (zero, one, addr) = joined(&group);
    let loads = group.loads().clone();

    // Core 0 is idle and gets one it never accepts: once that one has waited longer than
    // the slack, core 0 lags by the program's test, and core 1 sees it.
    let _first = one_sent_to_idle_core_zero(&loads, addr, (&zero, &one));
    assert!(!loads.lagging(0));
    std::thread::sleep(SteerLoads::LAG_SLACK * 3);
    assert!(loads.lagging(0));
    assert_eq!(loads.lagging_peer(1), Some(0));
    assert_eq!(loads.lagging_peer(0), None);
    let mark = loads.publish_mark(0);
    assert!(!loads.is_back(0, mark));

    // Core 1 accepts it from core 0's listener; it is no longer pending there, and the
    // queue is empty (without blocking).
    let peer = group.peer(0).expect("core 0 joined");
    assert!(peer.try_accept().unwrap().is_some());
    loads.took_over(0);
    assert_eq!(loads.load(0), 0);
    assert!(!loads.lagging(0));
    assert!(peer.try_accept().unwrap().is_none());
    assert_eq!(depths(&zero, &one), (0, 0));
    // Not back until core 0 publishes.
    assert!(!loads.is_back(0, mark));
    loads.publish(0, 0, 0);
    assert!(loads.is_back(0, mark));

    // Leaving drops the group's copy: no peer to take over from.
    group.leave(0);
    assert!(!group.has(0));
    assert!(group.peer(0).is_none());
}
