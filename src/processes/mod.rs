//! Process groups: the ranks a data-parallel run is split over, and the few collective
//! operations training needs of them.
//!
//! A run of `size` ranks splits every batch (and every held-out evaluation) into `size`
//! consecutive slices ([`slice()`]); rank `r` works on slice `r`, and the partial results are
//! combined through a [`ProcessGroup`]: sums of `f32`/`f64` buffers in rank order (gradients,
//! counters, evaluation sums), broadcasts (rank 0's clock, a rank's diagnostics) and agreement
//! on a flag (stop, failure). Every rank receives the same combined result, so every rank
//! applies the same optimizer step and the parameters stay identical.
//!
//! [`SingleProcess`] is the default: one rank, every operation the identity, no cost, and the
//! numbers of a run are exactly those of a run without a group. [`ThreadRanks`] runs several
//! ranks as threads of one process (tests of the data-parallel path, and a reference for other
//! implementations); `MpiProcesses` (cargo feature `mpi`) runs them as the processes of an
//! MPI job, on one machine or many.

pub mod launch;
#[cfg(feature = "mpi")]
pub mod mpi;
mod threads;

#[cfg(feature = "mpi")]
pub use self::mpi::MpiProcesses;
pub use threads::ThreadRanks;

use std::fmt;
use std::ops::Range;

/// The collective operations of a group of ranks. Every rank must call the same operations
/// in the same order (they are collective); a rank that stops calling them leaves the others
/// waiting, so failures are agreed on first ([`ProcessGroup::any`]).
pub trait ProcessGroup: fmt::Debug + Send + Sync {
    /// This rank, `0..size`.
    fn rank(&self) -> usize;

    /// Number of ranks.
    fn size(&self) -> usize;

    /// Replaces `values` on every rank by the element-wise sum over the ranks, added in rank
    /// order (`((v₀ + v₁) + v₂) + …`), so the result does not depend on timing.
    fn sum_f32(&self, values: &mut [f32]);

    /// [`ProcessGroup::sum_f32`] for `f64` values.
    fn sum_f64(&self, values: &mut [f64]);

    /// Replaces `bytes` on every rank by rank `root`'s.
    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>);

    /// Every rank's `bytes`, in rank order, on every rank (lengths may differ between ranks).
    /// The default broadcasts each rank's bytes in turn; an implementation with a native
    /// all-gather overrides it.
    fn gather_bytes(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        (0..self.size())
            .map(|root| {
                let mut mine = if root == self.rank() {
                    bytes.to_vec()
                } else {
                    Vec::new()
                };
                self.broadcast(root, &mut mine);
                mine
            })
            .collect()
    }

    /// Every rank's `values` concatenated in rank order, on every rank (lengths may differ
    /// between ranks), through [`ProcessGroup::gather_bytes`].
    fn gather_f64(&self, values: &[f64]) -> Vec<f64> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.gather_bytes(&bytes)
            .iter()
            .flat_map(|part| part.chunks_exact(8))
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    }

    /// Whether `flag` is set on any rank (the same answer on every rank).
    fn any(&self, flag: bool) -> bool {
        let mut value = [if flag { 1.0 } else { 0.0 }];
        self.sum_f64(&mut value);
        value[0] > 0.0
    }

    /// Rank 0's `value` on every rank (rank 0 decides: clocks, budgets).
    fn rank0_value(&self, value: f64) -> f64 {
        let mut value = [if self.rank() == 0 { value } else { 0.0 }];
        self.sum_f64(&mut value);
        value[0]
    }
}

/// One process, one rank: every collective operation is the identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleProcess;

impl ProcessGroup for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _values: &mut [f32]) {}
    fn sum_f64(&self, _values: &mut [f64]) {}
    fn broadcast(&self, _root: usize, _bytes: &mut Vec<u8>) {}
    fn gather_bytes(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        vec![bytes.to_vec()]
    }
    fn any(&self, flag: bool) -> bool {
        flag
    }
    fn rank0_value(&self, value: f64) -> f64 {
        value
    }
}

/// Rank `rank` of `size`'s slice of `0..len`: consecutive, disjoint, covering `0..len` in rank
/// order, sizes differing by at most one (`len·r/size .. len·(r+1)/size`).
pub fn slice(len: usize, rank: usize, size: usize) -> Range<usize> {
    let size = size.max(1);
    let at = |r: usize| ((len as u128 * r as u128) / size as u128) as usize;
    at(rank)..at(rank + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_in_rank_order() {
        assert_eq!(slice(10, 0, 3), 0..3);
        assert_eq!(slice(10, 1, 3), 3..6);
        assert_eq!(slice(10, 2, 3), 6..10);
        assert_eq!(slice(5, 0, 1), 0..5);
        assert_eq!(slice(usize::MAX, 1, 2).end, usize::MAX);
    }

    #[test]
    fn thread_ranks_sum_in_rank_order_and_broadcast() {
        let ranks = ThreadRanks::group(3);
        type Seen = (Vec<f32>, Vec<f64>, Vec<u8>, bool, f64, Vec<f64>);
        let results: Vec<Seen> = std::thread::scope(|s| {
            let handles: Vec<_> = ranks
                .iter()
                .map(|group| {
                    s.spawn(move || {
                        let r = group.rank() as f32;
                        // 1e8 + 1 + (−1e8) in rank order is 0 in f32; any other order may differ.
                        let mut a = [[1e8f32, 1.0, -1e8][group.rank()], r];
                        group.sum_f32(&mut a);
                        let mut b = [group.rank() as f64 + 0.5];
                        group.sum_f64(&mut b);
                        let mut bytes = vec![group.rank() as u8; group.rank() + 1];
                        group.broadcast(2, &mut bytes);
                        let any = group.any(group.rank() == 1);
                        let clock = group.rank0_value(10.0 + group.rank() as f64);
                        let gathered = group.gather_f64(&vec![group.rank() as f64; group.rank()]);
                        (a.to_vec(), b.to_vec(), bytes, any, clock, gathered)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("rank"))
                .collect()
        });
        for (a, b, bytes, any, clock, gathered) in results {
            assert_eq!(a, vec![(1e8f32 + 1.0) + -1e8, 3.0]);
            assert_eq!(b, vec![4.5]);
            assert_eq!(bytes, vec![2, 2, 2]);
            assert!(any);
            assert_eq!(clock, 10.0);
            assert_eq!(gathered, vec![1.0, 2.0, 2.0]);
        }
    }

    #[test]
    fn a_single_process_is_the_identity() {
        let group = SingleProcess;
        let mut a = [1.5f32, -2.0];
        group.sum_f32(&mut a);
        assert_eq!(a, [1.5, -2.0]);
        assert!(!group.any(false));
        assert_eq!(group.rank0_value(3.0), 3.0);
        assert_eq!(group.gather_f64(&[1.0, 2.0]), vec![1.0, 2.0]);
        assert_eq!(slice(7, 0, group.size()), 0..7);
    }
}
