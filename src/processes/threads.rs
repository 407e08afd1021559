//! [`ThreadRanks`]: the ranks of a process group as threads of one process (tests of the
//! data-parallel path, and the reference every other implementation's sums must equal).

use super::ProcessGroup;
use std::sync::{Arc, Barrier, Mutex};

/// What the ranks of a [`ThreadRanks`] group exchange through.
#[derive(Debug)]
struct Exchange {
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
    bytes: Mutex<Vec<u8>>,
}

/// One rank of a group of ranks that are threads of this process: each thread holds its own
/// `ThreadRanks` (from [`ThreadRanks::group`]) and the threads meet at every collective
/// operation. Sums are formed by every rank from all ranks' buffers in rank order, the same
/// arithmetic as any other implementation of [`ProcessGroup::sum_f64`].
#[derive(Debug, Clone)]
pub struct ThreadRanks {
    rank: usize,
    size: usize,
    exchange: Arc<Exchange>,
}

impl ThreadRanks {
    /// The `size` ranks of a new group, rank `r` at index `r`; hand one to each thread.
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn group(size: usize) -> Vec<ThreadRanks> {
        assert!(size >= 1, "a process group has at least one rank");
        let exchange = Arc::new(Exchange {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
            bytes: Mutex::new(Vec::new()),
        });
        (0..size)
            .map(|rank| ThreadRanks {
                rank,
                size,
                exchange: Arc::clone(&exchange),
            })
            .collect()
    }

    /// The rank-order sum of every rank's `values`, each partial sum rounded to `T`: the
    /// exchange holds `f64`, and an `f32` sum formed in `f64` then rounded to `f32` is the
    /// correctly rounded `f32` sum (double rounding is innocuous at 53 ≥ 2·24 + 2 bits).
    fn sum_with<T: Copy>(&self, values: &mut [T], to: fn(T) -> f64, from: fn(f64) -> T) {
        self.exchange.slots.lock().expect("slots")[self.rank] =
            values.iter().map(|v| to(*v)).collect();
        self.exchange.barrier.wait();
        {
            let slots = self.exchange.slots.lock().expect("slots");
            for (i, v) in values.iter_mut().enumerate() {
                *v = from(slots[0][i]);
            }
            for slot in &slots[1..] {
                for (i, v) in values.iter_mut().enumerate() {
                    *v = from(to(*v) + slot[i]);
                }
            }
        }
        self.exchange.barrier.wait();
    }
}

impl ProcessGroup for ThreadRanks {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum_f32(&self, values: &mut [f32]) {
        self.sum_with(values, |v| v as f64, |v| v as f32);
    }

    fn sum_f64(&self, values: &mut [f64]) {
        self.sum_with(values, |v| v, |v| v);
    }

    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        if self.rank == root {
            *self.exchange.bytes.lock().expect("bytes") = bytes.clone();
        }
        self.exchange.barrier.wait();
        if self.rank != root {
            *bytes = self.exchange.bytes.lock().expect("bytes").clone();
        }
        self.exchange.barrier.wait();
    }
}
