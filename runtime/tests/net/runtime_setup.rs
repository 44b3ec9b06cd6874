//! Building a runtime: how core-selection and configuration errors read, and the ring's
//! setup flags.

use std::time::{Duration, Instant};

use coreline_runtime::{Cores, Error, Runtime};

use crate::one_core;

#[test]
fn core_selection_errors_say_what_is_wrong() {
    let err = Runtime::builder()
        .cores(Cores::List(vec![4095]))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Cores(_)));
    assert!(
        err.to_string().contains("CPU 4095 is not available"),
        "{err}"
    );
    let err = Runtime::builder()
        .cores(Cores::Count(10_000))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("asked for 10000 cores"), "{err}");
    let err = Cores::parse_list("0,x").unwrap_err();
    assert!(err.to_string().contains("'x'"), "{err}");
    assert_eq!(
        Cores::parse_list("0-2,5").unwrap(),
        Cores::List(vec![0, 1, 2, 5])
    );
    let err = Runtime::builder()
        .recv_buffers(1000, 4096)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("power of two"), "{err}");
}

#[test]
fn ring_uses_the_fast_setup_flags_on_this_kernel() {
    let started = Instant::now();
    let info = one_core()
        .block_on(|| async { coreline_runtime::ring_info() })
        .unwrap();
    // This project targets Linux 6.x, where all four flags exist; a fallback here means
    // the probe is wrong.
    assert!(
        info.flags.single_issuer && info.flags.defer_taskrun,
        "{info:?}"
    );
    assert!(info.refused.is_empty(), "{info:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
