//! Scene sampling and the train/validation/test split.
//!
//! Scene `k` is drawn from its own random stream seeded by `(data.seed, k)`, so a scene is
//! the same whatever the batch size, thread count or method. Indices `0..test_count` are the
//! test set, the next `validation_count` the validation set, then the training pool; fresh
//! training scenes use indices from [`FRESH_OFFSET`] on.

pub mod settings;

pub use settings::{DataSpec, InitialSpec, SceneSource, TargetSpec, TrainSet};

use crate::sim::{Physics, Scene, Vector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// First scene index of fresh training scenes (disjoint from test, validation and pool).
pub const FRESH_OFFSET: u64 = 1 << 32;

/// The scene indices of the split: `test`, then `validation`, then the training `pool`
/// (empty for fresh training scenes), consecutive from 0 and all below [`FRESH_OFFSET`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneSplit {
    /// `0..test_count`.
    pub test: Range<u64>,
    /// The next `validation_count` indices.
    pub validation: Range<u64>,
    /// The next `count` indices of `Pool(count)`; empty for `Fresh`.
    pub pool: Range<u64>,
}

/// Why the counts of a [`DataSpec`] do not fit into the index space below [`FRESH_OFFSET`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SplitError {
    /// The field whose count no longer fits (`data.test_count`, `data.validation_count` or
    /// `data.train`).
    pub field: &'static str,
    /// What went wrong, with the counts.
    pub message: String,
}

impl SceneSplit {
    /// The index ranges of `data`, computed with checked arithmetic: the test, validation and
    /// pool counts together must stay at most [`FRESH_OFFSET`] (2³²), so that no range wraps
    /// around or runs into the fresh training scenes, and a pool holds at least one scene.
    pub fn of(data: &DataSpec) -> Result<SceneSplit, SplitError> {
        let pool = match data.train {
            TrainSet::Fresh => 0,
            TrainSet::Pool(0) => {
                return Err(SplitError {
                    field: "data.train",
                    message: "a pool needs at least one scene".into(),
                })
            }
            TrainSet::Pool(count) => count,
        };
        let counts = [
            ("data.test_count", data.test_count),
            ("data.validation_count", data.validation_count),
            ("data.train", pool),
        ];
        let mut ends = [0u64; 3];
        let mut end = 0u64;
        for (i, (field, count)) in counts.into_iter().enumerate() {
            end = u64::try_from(count)
                .ok()
                .and_then(|c| end.checked_add(c))
                .filter(|e| *e <= FRESH_OFFSET)
                .ok_or_else(|| SplitError {
                    field,
                    message: format!(
                        "test_count ({}) + validation_count ({}) + training pool ({pool}) \
                         scenes must be at most 2³² = {FRESH_OFFSET} (scene indices from 2³² \
                         on are the fresh training scenes)",
                        data.test_count, data.validation_count
                    ),
                })?;
            ends[i] = end;
        }
        Ok(SceneSplit {
            test: 0..ends[0],
            validation: ends[0]..ends[1],
            pool: ends[1]..ends[2],
        })
    }
}

/// Draws scenes for one scenario.
#[derive(Debug, Clone)]
pub struct SceneSampler {
    physics: Physics,
    data: DataSpec,
    steps: usize,
    split: SceneSplit,
    /// The training pool's scenes once drawn, by position in the pool (shared by clones);
    /// empty when the pool would take more than [`KEPT_POOL_BYTES`].
    kept: Arc<[OnceLock<Scene>]>,
}

/// Most memory the training pool's scenes are kept in once drawn. A pool scene is drawn
/// again every time a batch picks it otherwise, which for a generator that simulates its
/// targets costs a simulation per scene: 3 % of a Burgers SIP iteration.
pub const KEPT_POOL_BYTES: usize = 64 << 20;

/// Bytes a scene of `n` states, `steps` steps and `m` controls takes, about: the initial state,
/// the target and reference controls, with the vectors' own sizes.
fn scene_bytes(n: usize, m: usize, steps: usize) -> usize {
    let vector = std::mem::size_of::<Vector>();
    let f64s = 2 * n + steps * m;
    f64s * std::mem::size_of::<f64>() + (2 + steps) * vector + std::mem::size_of::<Scene>()
}

/// SplitMix64 finaliser: decorrelates nearby `(seed, index)` pairs.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// First fresh scene index of iteration `iteration` with batches of `batch`, if the whole
/// batch `FRESH_OFFSET + iteration·batch + (0..batch)` fits into `u64`.
pub fn fresh_start(iteration: u64, batch: usize) -> Option<u64> {
    let batch = u64::try_from(batch).ok()?;
    let start = iteration.checked_mul(batch)?.checked_add(FRESH_OFFSET)?;
    start.checked_add(batch).map(|_| start)
}

fn uniform(rng: &mut ChaCha8Rng, low: &[f64], high: &[f64]) -> Vector {
    Vector::from_iterator(
        low.len(),
        low.iter()
            .zip(high)
            .map(|(l, h)| if h > l { rng.gen_range(*l..*h) } else { *l }),
    )
}

impl SceneSampler {
    /// A sampler for `data` on `physics` with episodes of `steps` steps.
    ///
    /// # Panics
    /// If the counts of `data` do not fit below [`FRESH_OFFSET`] ([`SceneSplit::of`] fails).
    /// Scenario validation rejects such counts, so a validated scenario never panics here;
    /// use [`SceneSampler::try_new`] for unvalidated settings.
    pub fn new(physics: Physics, data: DataSpec, steps: usize) -> Self {
        match Self::try_new(physics, data, steps) {
            Ok(sampler) => sampler,
            Err(e) => panic!("scene split of an unvalidated scenario: {e}"),
        }
    }

    /// A sampler for `data` on `physics` with episodes of `steps` steps, or why its counts do
    /// not fit into the scene index space.
    pub fn try_new(physics: Physics, data: DataSpec, steps: usize) -> Result<Self, SplitError> {
        let split = SceneSplit::of(&data)?;
        let sim = physics.sim();
        let bytes = scene_bytes(sim.state_dim(), sim.control_dim(), steps);
        let pool = usize::try_from(split.pool.end - split.pool.start).unwrap_or(usize::MAX);
        let kept = if pool.saturating_mul(bytes) <= KEPT_POOL_BYTES {
            (0..pool).map(|_| OnceLock::new()).collect()
        } else {
            Arc::from([])
        };
        Ok(SceneSampler {
            physics,
            data,
            steps,
            split,
            kept,
        })
    }

    /// Scene number `index`.
    pub fn scene(&self, index: u64) -> crate::Result<Scene> {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.data.seed, index));
        let sim = self.physics.sim();
        let n = sim.state_dim();
        match &self.data.scenes {
            SceneSource::Generator(name) => {
                let generator =
                    self.physics
                        .scenes()
                        .ok_or_else(|| crate::Error::MissingCapability {
                            simulator: self.physics.name().to_string(),
                            capability: "scene generators".to_string(),
                            needed_by: format!("data.scenes Generator(\"{name}\")"),
                        })?;
                generator.generate(name, self.steps, &mut rng)
            }
            SceneSource::Sampled { initial, target } => {
                let initial = match initial {
                    InitialSpec::Zeros => Vector::zeros(n),
                    InitialSpec::Fixed(v) => Vector::from_column_slice(v),
                    InitialSpec::Uniform { low, high } => uniform(&mut rng, low, high),
                };
                let (target, reference_controls) = match target {
                    TargetSpec::Initial => (initial.clone(), None),
                    TargetSpec::Fixed(v) => (Vector::from_column_slice(v), None),
                    TargetSpec::Uniform { low, high } => (uniform(&mut rng, low, high), None),
                    TargetSpec::ReachedBy { low, high } => {
                        let controls: Vec<Vector> = (0..self.steps)
                            .map(|_| uniform(&mut rng, low, high))
                            .collect();
                        let end = controls
                            .iter()
                            .fold(initial.clone(), |s, u| sim.step(&s, u));
                        (end, Some(controls.into()))
                    }
                };
                Ok(Scene {
                    initial,
                    target,
                    reference_controls,
                })
            }
        }
    }

    /// Scenes for a list of indices, drawn in parallel; order follows `indices`. A scene that
    /// is reached by simulation costs about `state_dim × steps` (a generator's, `ReachedBy`),
    /// which sizes the parallel tasks.
    pub fn scenes(&self, indices: &[u64]) -> crate::Result<Vec<Scene>> {
        // Kept scenes only (a training batch from a pool drawn before): copies, which cost
        // less than handing tasks to other threads.
        if let Some(kept) = indices
            .iter()
            .map(|&k| self.kept(k))
            .collect::<Option<Vec<_>>>()
        {
            return Ok(kept);
        }
        let work = self.physics.sim().state_dim() * self.steps;
        indices
            .par_iter()
            .with_min_len(crate::pool::episodes_per_task(work, 1))
            .map(|&k| self.kept_or_drawn(k))
            .collect()
    }

    /// Scene `index`: the kept one for a pool scene drawn before, else [`SceneSampler::scene`]
    /// (kept if it is a pool scene). Drawing is deterministic, so a scene drawn on two threads
    /// at once is the same scene whichever is kept.
    fn kept_or_drawn(&self, index: u64) -> crate::Result<Scene> {
        let Some(slot) = self.slot(index) else {
            return self.scene(index);
        };
        if let Some(scene) = slot.get() {
            return Ok(scene.clone());
        }
        let scene = self.scene(index)?;
        // Another thread may have kept the same scene meanwhile.
        let _ = slot.set(scene.clone());
        Ok(scene)
    }

    /// The slot that keeps pool scene `index` (`None` outside the pool, or when the pool is too
    /// large to keep).
    fn slot(&self, index: u64) -> Option<&OnceLock<Scene>> {
        index
            .checked_sub(self.split.pool.start)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.kept.get(i))
    }

    /// A copy of scene `index` if it is kept.
    fn kept(&self, index: u64) -> Option<Scene> {
        self.slot(index).and_then(OnceLock::get).cloned()
    }

    /// The index ranges of the split.
    pub fn split(&self) -> &SceneSplit {
        &self.split
    }

    /// Indices of the test scenes.
    pub fn test_indices(&self) -> Range<u64> {
        self.split.test.clone()
    }

    /// Indices of the validation scenes.
    pub fn validation_indices(&self) -> Range<u64> {
        self.split.validation.clone()
    }

    /// Indices of the training pool (empty for fresh training scenes).
    pub fn pool_indices(&self) -> Range<u64> {
        self.split.pool.clone()
    }

    /// Indices of the training scenes of iteration `iteration` (counting from 0).
    /// Pool batches are drawn with replacement from `rng`; fresh batches are consecutive
    /// new indices from [`FRESH_OFFSET`] on.
    ///
    /// # Panics
    /// If a fresh index would pass `u64::MAX` ([`fresh_start`] is `None`), which takes more
    /// than 2⁶⁴ − 2³² training scenes; validation rejects `iterations × batch` that large.
    pub fn train_indices(&self, iteration: u64, batch: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
        match self.data.train {
            TrainSet::Fresh => {
                let Some(start) = fresh_start(iteration, batch) else {
                    panic!(
                        "fresh scene index of iteration {iteration} (batch {batch}) overflows u64"
                    );
                };
                (start..start + batch as u64).collect()
            }
            TrainSet::Pool(_) => {
                let pool = self.pool_indices();
                (0..batch).map(|_| rng.gen_range(pool.clone())).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(test: usize, validation: usize, train: TrainSet) -> DataSpec {
        DataSpec {
            seed: 0,
            scenes: SceneSource::Sampled {
                initial: InitialSpec::Zeros,
                target: TargetSpec::Initial,
            },
            train,
            test_count: test,
            validation_count: validation,
        }
    }

    #[test]
    fn split_ranges_are_consecutive_and_below_the_fresh_scenes() {
        let split = SceneSplit::of(&data(3, 2, TrainSet::Pool(4))).unwrap();
        assert_eq!(split.test, 0..3);
        assert_eq!(split.validation, 3..5);
        assert_eq!(split.pool, 5..9);
        let fresh = SceneSplit::of(&data(3, 2, TrainSet::Fresh)).unwrap();
        assert_eq!(fresh.pool, 5..5);
        let full = FRESH_OFFSET as usize;
        assert!(SceneSplit::of(&data(full - 2, 1, TrainSet::Pool(1))).is_ok());
    }

    /// Counts whose sum passes 2³² (or wraps `u64`) are errors naming the count that no
    /// longer fits; the pool never wraps onto the test scenes.
    #[test]
    fn split_overflow_is_an_error_not_a_wrap() {
        let full = FRESH_OFFSET as usize;
        let cases = [
            (data(usize::MAX, 0, TrainSet::Fresh), "data.test_count"),
            (data(full + 1, 0, TrainSet::Fresh), "data.test_count"),
            (
                data(10, usize::MAX - 5, TrainSet::Pool(100)),
                "data.validation_count",
            ),
            (data(full - 2, 1, TrainSet::Pool(2)), "data.train"),
            (data(10, 0, TrainSet::Pool(usize::MAX)), "data.train"),
            (data(10, 0, TrainSet::Pool(0)), "data.train"),
        ];
        for (d, field) in cases {
            let e = SceneSplit::of(&d).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
    }

    #[test]
    fn fresh_indices_are_checked() {
        assert_eq!(fresh_start(0, 8), Some(FRESH_OFFSET));
        assert_eq!(fresh_start(2, 8), Some(FRESH_OFFSET + 16));
        assert_eq!(fresh_start(u64::MAX, 2), None);
        assert_eq!(fresh_start(1, usize::MAX), None);
        let last = (u64::MAX - FRESH_OFFSET) / 4 - 1;
        assert!(fresh_start(last, 4).is_some());
        assert_eq!(fresh_start(last + 1, 4), None);
    }
}
