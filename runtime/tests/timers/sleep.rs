//! Timers waking on time: many timers in deadline order and never early, `sleep` latency,
//! and `interval` ticking on a fixed grid.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use coreline_runtime::time::{interval, sleep, sleep_until};
use coreline_runtime::{core_stats, spawn_local, yield_now};

use crate::common::{self, Rng};
use crate::support::{median, on_one_core, serial, two_core_runtime};

#[test]
fn many_timers_wake_in_deadline_order_and_never_early() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(60), "many timers");
    const PER_CORE: usize = 5_000;
    const MAX_DELAY_US: u64 = 200_000;
    const REGISTER_WITHIN: Duration = Duration::from_secs(1);
    let rt = two_core_runtime();
    let per_core = rt
        .run(|core| async move {
            // (deadline, woke at) in the order the tasks woke up.
            let log: Rc<RefCell<Vec<(Instant, Instant)>>> = Rc::default();
            // Deadlines count from a common base set after all tasks are spawned, so every
            // timer is registered before the first one is due and the wake order must be
            // the deadline order (not the spawn order).
            let base: Rc<Cell<Option<Instant>>> = Rc::default();
            let mut rng = Rng::new(core.index as u64 + 1);
            let handles: Vec<_> = (0..PER_CORE)
                .map(|_| {
                    let delay = Duration::from_micros(rng.range(0, MAX_DELAY_US));
                    let (log, base) = (log.clone(), base.clone());
                    spawn_local(async move {
                        let deadline = base.get().expect("base set") + delay;
                        sleep_until(deadline).await;
                        log.borrow_mut().push((deadline, Instant::now()));
                    })
                })
                .collect();
            // Registering takes a few ms; a second leaves room for a loaded machine.
            let base_at = Instant::now() + REGISTER_WITHIN;
            base.set(Some(base_at));
            yield_now().await; // every spawned task runs (and registers its timer) first
            let registered = core_stats().timers;
            let registered_by = Instant::now();
            for h in handles {
                h.await.expect("timer task");
            }
            let timers_after = core_stats().timers;
            let log = Rc::try_unwrap(log).unwrap().into_inner();
            (registered, registered_by < base_at, timers_after, log)
        })
        .expect("runtime");
    for (core, (registered, in_time, timers_after, log)) in per_core.into_iter().enumerate() {
        assert_eq!(registered, PER_CORE, "core {core}: timers registered");
        assert!(
            in_time,
            "core {core}: registering {PER_CORE} timers took over {REGISTER_WITHIN:?}"
        );
        assert_eq!(timers_after, 0, "core {core}: timers left registered");
        assert_eq!(log.len(), PER_CORE);
        let mut lateness = Vec::with_capacity(PER_CORE);
        for (i, &(deadline, woke)) in log.iter().enumerate() {
            assert!(woke >= deadline, "core {core}: timer {i} woke early");
            lateness.push(woke - deadline);
            if i > 0 {
                assert!(
                    log[i - 1].0 <= deadline,
                    "core {core}: wake #{i} has an earlier deadline than wake #{}",
                    i - 1
                );
            }
        }
        let med = median(&mut lateness);
        let max = *lateness.last().unwrap();
        eprintln!(
            "core {core}: {PER_CORE} timers in deadline order, lateness median {med:?}, max {max:?}"
        );
        // Each loop iteration fires every due timer, so a timer is late by about one
        // iteration. Held against the spread of the deadlines (not an absolute figure, which
        // a descheduled thread exceeds now and then): timers fired in coarse batches, or only
        // when something else woke the core, would be late by a sizable part of it.
        let spread = Duration::from_micros(MAX_DELAY_US);
        assert!(
            med < spread / 20,
            "core {core}: median lateness {med:?} of timers spread over {spread:?}"
        );
    }
}

#[test]
fn sleep_10ms_never_wakes_early_and_is_not_systematically_late() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "sleep latency");
    let mut took = on_one_core(|| async {
        let mut took = Vec::new();
        for _ in 0..20 {
            let start = Instant::now();
            sleep(Duration::from_millis(10)).await;
            took.push(start.elapsed());
        }
        took
    });
    eprintln!("sleep(10 ms) took {took:?}");
    for t in &took {
        assert!(
            *t >= Duration::from_millis(10),
            "a 10 ms sleep woke early: {t:?}"
        );
    }
    // Every wake must be on time. Lateness is asserted on the median only: a loaded
    // machine may deschedule the core's thread for any one sleep (the runtime cannot
    // prevent that), while a timer that is systematically late shows up in the median.
    let med = median(&mut took);
    // Twice its length would be a timer that fires a whole sleep late.
    assert!(
        med < Duration::from_millis(20),
        "median 10 ms sleep took {med:?}"
    );
}

#[test]
fn interval_ticks_on_a_fixed_grid_and_skips_missed_ticks() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "interval");
    const PERIOD: Duration = Duration::from_millis(10);
    const TICKS: u32 = 20;
    let (created, ticks, blocked_until, late, after) = on_one_core(|| async {
        let created = Instant::now();
        let mut iv = interval(PERIOD);
        let mut ticks = Vec::new();
        for _ in 0..TICKS {
            let due = iv.tick().await;
            ticks.push((due, Instant::now()));
        }
        // Keep the core busy for 3.5 periods: the overdue tick comes at once, the ones
        // missed meanwhile are skipped rather than delivered in a burst.
        std::thread::sleep(PERIOD * 7 / 2);
        let blocked_until = Instant::now();
        let late = iv.tick().await;
        let after_due = iv.tick().await;
        (
            created,
            ticks,
            blocked_until,
            late,
            (after_due, Instant::now()),
        )
    });
    let first = ticks[0].0;
    assert!(
        first >= created + PERIOD,
        "the first tick is one period out"
    );
    // Every tick is on the grid laid out by the first one. A loaded CI box may deschedule
    // the core's thread for more than a period; then the interval rightly skips the ticks
    // it missed, so a gap wider than one period is allowed only right after a wake that
    // was itself at least a period late.
    let mut lateness = Vec::new();
    for (k, &(due, woke)) in ticks.iter().enumerate() {
        assert_eq!(
            (due - first).as_nanos() % PERIOD.as_nanos(),
            0,
            "tick {k} drifted off the grid"
        );
        assert!(woke >= due, "tick {k} came early");
        if k > 0 {
            let (prev_due, prev_woke) = ticks[k - 1];
            assert!(due > prev_due, "tick {k} repeated an earlier tick");
            if due - prev_due > PERIOD {
                assert!(
                    prev_woke >= prev_due + PERIOD,
                    "tick {k} skipped a tick that was not missed"
                );
            }
        }
        lateness.push(woke - due);
    }
    let last_woke = ticks.last().unwrap().1;
    let total = last_woke - created;
    let med = median(&mut lateness);
    let max = *lateness.last().unwrap();
    eprintln!(
        "interval: {TICKS} ticks of {PERIOD:?} in {total:?}; lateness median {med:?}, max {max:?}"
    );
    // A tick delivered a whole period late is a missed tick; the median of twenty stays
    // inside the period even when the thread is descheduled for some of them.
    assert!(med < PERIOD, "median tick lateness {med:?}");
    let last_due = ticks.last().unwrap().0;
    assert!(
        late > last_due && late <= blocked_until,
        "the overdue tick is delivered once, straight after the block"
    );
    assert_eq!(
        (late - first).as_nanos() % PERIOD.as_nanos(),
        0,
        "the overdue tick is on the grid"
    );
    let (after_due, after_woke) = after;
    assert!(
        after_due > blocked_until,
        "ticks missed while blocked were burst instead of skipped"
    );
    assert_eq!(
        (after_due - first).as_nanos() % PERIOD.as_nanos(),
        0,
        "after skipping, ticks stay on the grid"
    );
    assert!(
        after_woke >= after_due,
        "the tick after the skip came early"
    );
}
