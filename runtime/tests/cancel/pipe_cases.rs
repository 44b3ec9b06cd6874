//! Stress cases on pipes and the scratch file: reads and writes at a pipe's end, and splices
//! from a pipe or the file; each checks where the data went after the future was dropped.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use coreline_runtime::ops;

use crate::drop_point::{exercise, exercise_plain, At};
use crate::fixtures::{Fixtures, FILE_LEN, PIPE_CAPACITY};
use crate::harness::{pattern, Rng};
use crate::io::{drain_pipe, fionread};

impl Fixtures {
    pub(crate) async fn read_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            self.settle().await;
        }
        let len = rng.range(1, 4096);
        let buf = Vec::with_capacity(rng.range(1, 8192));
        let writer = &mut self.rpipe_writer;
        let data = pattern(len, salt);
        exercise(
            ops::read_at(&self.rpipe, buf, u64::MAX),
            at,
            "read_at pipe",
            || writer.write_all(&data).expect("pipe write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            let left = drain_pipe(&mut self.rpipe_reader);
            assert!(left < len, "the dropped read never took its data");
        }
    }

    pub(crate) async fn write_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            self.settle().await;
        }
        // The pipe is full: the write waits in the kernel until the test drains it.
        let len = rng.range(1, 4096);
        let reader = &mut self.wpipe_reader;
        exercise(
            ops::write_at(&self.wpipe, pattern(len, salt), u64::MAX),
            at,
            "write_at pipe",
            || {
                let mut all = vec![0_u8; PIPE_CAPACITY];
                reader.read_exact(&mut all).expect("draining the full pipe");
            },
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            assert_eq!(
                fionread(self.wpipe_reader.as_raw_fd()),
                len,
                "the dropped write completed"
            );
            self.fill_wpipe(len);
        }
    }

    pub(crate) async fn splice_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        // One splice at a time through these pipes: an abandoned one that still waits in
        // an io-wq worker would take the data meant for the next.
        self.settle().await;
        drain_pipe(&mut self.splice_out_reader);
        let len = rng.range(1, 4096);
        let writer = &mut self.splice_in_writer;
        let data = pattern(len, salt);
        exercise(
            ops::splice(&self.splice_in, None, &self.splice_out, None, 4096),
            at,
            "splice pipe",
            || writer.write_all(&data).expect("pipe write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            assert_eq!(
                drain_pipe(&mut self.splice_out_reader),
                len,
                "the dropped splice moved the data"
            );
        }
    }

    pub(crate) async fn splice_file(&mut self, at: At, rng: &mut Rng) {
        self.settle().await;
        drain_pipe(&mut self.splice_out_reader);
        let offset = rng.below(FILE_LEN as u64);
        let len = rng.range(1, 4096) as u32;
        exercise_plain(
            ops::splice(&self.file, Some(offset), &self.splice_out, None, len),
            at,
            "splice file",
        )
        .await;
        if at == At::AfterCompletion {
            assert!(
                drain_pipe(&mut self.splice_out_reader) > 0,
                "splice moved data"
            );
        }
    }
}
