//! Forward passes kept for the backward passes that follow them ([`KeptPasses`]).
//!
//! Training runs a network forward in the rollout and then backward on the same inputs (the
//! proxy's or the loss's cotangent). A grid network's backward pass needs the forward pass's
//! tape, and recomputing it is a third of a training step; so a training-mode forward pass
//! keeps its tape, and a backward pass on exactly the same inputs takes it instead of running
//! the forward again. The result is the same to the bit: the tape was made by the same
//! parameters (changing them empties the kept passes) from the same inputs (compared in
//! full).
//!
//! Kept passes are bounded by [`MAX_KEPT_BYTES`], the oldest dropped first: the groups of a
//! batch that are unrolled and updated in parallel each find theirs, and a closed-loop
//! episode's backward sweep (last step first) finds its latest steps' passes.

use super::pass::Tape;
use nalgebra::DMatrix;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Most bytes of tapes kept at once.
pub const MAX_KEPT_BYTES: usize = 256 << 20;

/// Forward passes, each with the inputs that made it, oldest first.
#[derive(Default)]
pub struct KeptPasses {
    passes: Mutex<VecDeque<(DMatrix<f64>, Tape)>>,
}

/// Bytes of a tape's values.
fn bytes(tape: &Tape) -> usize {
    tape.values.iter().map(|v| v.len() * size_of::<f32>()).sum()
}

impl KeptPasses {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(DMatrix<f64>, Tape)>> {
        self.passes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `tape`, the pass of `inputs`, dropping the oldest passes beyond
    /// [`MAX_KEPT_BYTES`]; a tape larger than that is not kept.
    pub fn keep(&self, inputs: &DMatrix<f64>, tape: Tape) {
        let size = bytes(&tape);
        if size > MAX_KEPT_BYTES {
            return;
        }
        let mut passes = self.lock();
        let mut total: usize = passes.iter().map(|(_, t)| bytes(t)).sum::<usize>() + size;
        while total > MAX_KEPT_BYTES {
            match passes.pop_front() {
                Some((_, old)) => total -= bytes(&old),
                None => break,
            }
        }
        passes.push_back((inputs.clone(), tape));
    }

    /// The kept pass of exactly `inputs`, removed, if there is one (the latest, if several).
    pub fn take(&self, inputs: &DMatrix<f64>) -> Option<Tape> {
        let mut passes = self.lock();
        let i = passes.iter().rposition(|(kept, _)| kept == inputs)?;
        passes.remove(i).map(|(_, tape)| tape)
    }

    /// Drops every kept pass (the parameters or statistics they were made with changed).
    pub fn clear(&mut self) {
        self.passes
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Number of passes kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::conv::batch_norm::Source;

    fn tape(values: usize, mark: f32) -> Tape {
        Tape {
            batch: 1,
            values: vec![vec![mark; values]],
            stats: Vec::new(),
            source: Source::Batch,
        }
    }

    fn inputs(v: f64) -> DMatrix<f64> {
        DMatrix::from_element(3, 2, v)
    }

    #[test]
    fn a_pass_is_found_by_its_inputs_once_and_the_oldest_goes_first() {
        let mut kept = KeptPasses::default();
        kept.keep(&inputs(1.0), tape(4, 1.0));
        kept.keep(&inputs(2.0), tape(4, 2.0));
        assert!(kept.take(&inputs(3.0)).is_none());
        let found = kept.take(&inputs(1.0)).expect("kept");
        assert_eq!(found.values[0][0], 1.0);
        assert!(kept.take(&inputs(1.0)).is_none(), "taken once");
        assert_eq!(kept.len(), 1);
        // A quarter of the bound each: the fifth drops the oldest two of the first four…
        let quarter = MAX_KEPT_BYTES / 4 / size_of::<f32>();
        for k in 0..5 {
            kept.keep(&inputs(10.0 + f64::from(k)), tape(quarter, k as f32));
        }
        assert_eq!(kept.len(), 4);
        assert!(kept.take(&inputs(2.0)).is_none());
        assert!(kept.take(&inputs(10.0)).is_none());
        assert!(kept.take(&inputs(14.0)).is_some());
        // …and a tape beyond the bound is not kept at all.
        kept.keep(
            &inputs(20.0),
            tape(MAX_KEPT_BYTES / size_of::<f32>() + 1, 0.0),
        );
        assert!(kept.take(&inputs(20.0)).is_none());
        kept.clear();
        assert!(kept.is_empty());
    }
}
