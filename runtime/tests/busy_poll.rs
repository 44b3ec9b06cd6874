//! `Builder::busy_poll`: a core that polls before sleeping still runs I/O, timers and
//! wake-ups from other threads, and once idle it sleeps (the window is spent per gap, not
//! for as long as nothing happens).

mod common;

use std::time::{Duration, Instant};

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{handle, spawn_local, time, Cores, Runtime};

const WINDOW: Duration = Duration::from_micros(500);

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn polling_core_serves_io_timers_and_remote_wakes_then_sleeps_when_idle() {
    let _watchdog = common::watchdog(Duration::from_secs(60), "busy_poll test");
    let rt = Runtime::builder()
        .cores(Cores::List(vec![0]))
        .busy_poll(WINDOW)
        .build()
        .expect("runtime");
    let out = rt
        .run(|_| async {
            // I/O: an echo round trip over loopback, a hundred times.
            let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
            let addr = listener.local_addr();
            let server = spawn_local(async move {
                let mut conn = listener.accept().await.expect("accept");
                while let Ok(Some(data)) = conn.recv().await {
                    let bytes = data.to_vec();
                    drop(data);
                    if conn.send_all(bytes).await.0.is_err() {
                        break;
                    }
                }
            });
            let mut client = TcpStream::connect(addr).await.expect("connect");
            for i in 0..100u32 {
                let msg = i.to_le_bytes().to_vec();
                client.send_all(msg.clone()).await.0.expect("send");
                let got = client.recv().await.expect("recv").expect("data");
                assert_eq!(&got[..], &msg[..]);
            }
            drop(client);
            server.await.expect("server task");

            // A timer fires on time, not a polling window late or never.
            let t0 = Instant::now();
            time::sleep(Duration::from_millis(20)).await;
            let slept = t0.elapsed();
            assert!(slept >= Duration::from_millis(20), "{slept:?}");
            assert!(slept < Duration::from_millis(200), "{slept:?}");

            // A wake from another thread reaches the core.
            let h = handle();
            let from_thread = std::thread::spawn(move || {
                common::block_on(h.spawn_on(0, || async { 7u32 })).expect("remote task")
            });
            // Idle: the core must sleep after one window, so 300 ms cost far less than
            // 300 ms of CPU.
            let cpu0 = thread_cpu();
            time::sleep(Duration::from_millis(300)).await;
            let idle_cpu = thread_cpu() - cpu0;
            (from_thread.join().expect("thread"), idle_cpu)
        })
        .expect("run");
    let (remote, idle_cpu) = out[0];
    assert_eq!(remote, 7);
    assert!(
        idle_cpu < Duration::from_millis(60),
        "idle core used {idle_cpu:?} of CPU in 300 ms"
    );
}
