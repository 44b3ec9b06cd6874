//! Cross-core channels: values and wake-ups between two cores and from a plain thread.

use std::sync::Mutex;
use std::time::Duration;

use coreline_runtime::sync::{mpsc, oneshot};
use coreline_runtime::{current_core, Cores, Runtime};

mod common;

const PER_SENDER: u32 = 2000;

/// Core 0 and a plain thread send through a small channel to core 1, which waits on an
/// empty channel most of the time (so every wake-up crosses threads) and answers core 0
/// through a oneshot.
#[test]
fn mpsc_and_oneshot_carry_values_between_two_cores_and_a_thread() {
    let _guard = common::watchdog(Duration::from_secs(60), "channels across cores");
    let (tx, rx) = mpsc::channel::<(u8, u32)>(4);
    let (answer_tx, answer_rx) = oneshot::channel::<(usize, u64)>();
    let mut thread_tx = tx.clone();
    let thread = std::thread::spawn(move || {
        for i in 0..PER_SENDER {
            thread_tx.blocking_send((2, i)).unwrap();
        }
    });
    let core0 = Mutex::new(Some((tx, answer_rx)));
    let core1 = Mutex::new(Some((rx, answer_tx)));
    let out = Runtime::builder()
        .cores(Cores::Count(2))
        .build()
        .unwrap()
        .run(|core| {
            let mine0 = if core.index == 0 {
                core0.lock().unwrap().take()
            } else {
                None
            };
            let mine1 = if core.index == 1 {
                core1.lock().unwrap().take()
            } else {
                None
            };
            async move {
                if let Some((mut tx, answer)) = mine0 {
                    for i in 0..PER_SENDER {
                        tx.send((0, i)).await.unwrap();
                    }
                    drop(tx);
                    let (from_core, sum) = answer.await.unwrap();
                    assert_eq!(from_core, 1);
                    return sum;
                }
                let (mut rx, answer) = mine1.unwrap();
                let mut next = [0u32; 3];
                let mut sum = 0u64;
                while let Some((sender, i)) = rx.recv().await {
                    assert_eq!(
                        i, next[sender as usize],
                        "values of one sender stay in order"
                    );
                    next[sender as usize] += 1;
                    sum += u64::from(i);
                }
                assert_eq!(next, [PER_SENDER, 0, PER_SENDER]);
                answer.send((current_core().index, sum)).unwrap();
                sum
            }
        })
        .unwrap();
    thread.join().unwrap();
    let expected = 2 * u64::from(PER_SENDER) * u64::from(PER_SENDER - 1) / 2;
    assert_eq!(out, vec![expected, expected]);
}

#[test]
fn a_full_channel_refuses_and_a_closed_one_gives_values_back() {
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .unwrap()
        .block_on(|| async {
            let (mut tx, mut rx) = mpsc::channel::<u32>(2);
            // Capacity 2 plus one slot for the single sender.
            for i in 0..3 {
                tx.try_send(i).unwrap();
            }
            assert_eq!(tx.try_send(3), Err(mpsc::TrySendError::Full(3)));
            assert_eq!(rx.recv().await, Some(0));
            assert_eq!(rx.try_recv(), Ok(1));
            rx.close();
            assert_eq!(tx.send(9).await, Err(mpsc::SendError(9)));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, None);

            let (tx, rx) = oneshot::channel::<u8>();
            drop(tx);
            assert!(rx.await.is_err(), "a dropped sender cancels the oneshot");
        })
        .unwrap();
}

#[test]
fn a_thread_outside_the_runtime_receives_from_a_core() {
    let (mut tx, mut rx) = mpsc::channel::<u32>(1);
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(v) = rx.blocking_recv() {
            got.push(v);
        }
        got
    });
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .unwrap()
        .block_on(move || async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        })
        .unwrap();
    assert_eq!(reader.join().unwrap(), (0..100).collect::<Vec<_>>());
}
