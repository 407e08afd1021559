//! Scene sampling and the train/validation/test split.
//!
//! Scene `k` is drawn from its own random stream seeded by `(data.seed, k)`, so a scene is
//! the same whatever the batch size, thread count or method. Indices `0..test_count` are the
//! test set, the next `validation_count` the validation set, then the training pool; fresh
//! training scenes use indices from [`FRESH_OFFSET`] on.

use crate::scenario::{DataSpec, InitialSpec, SceneSource, TargetSpec, TrainSet};
use crate::sim::{Physics, Scene, Vector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::ops::Range;

/// First scene index of fresh training scenes (disjoint from test, validation and pool).
pub const FRESH_OFFSET: u64 = 1 << 32;

/// Draws scenes for one scenario.
#[derive(Debug, Clone)]
pub struct SceneSampler {
    physics: Physics,
    data: DataSpec,
    steps: usize,
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
    pub fn new(physics: Physics, data: DataSpec, steps: usize) -> Self {
        SceneSampler {
            physics,
            data,
            steps,
        }
    }

    /// Scene number `index`.
    pub fn scene(&self, index: u64) -> crate::Result<Scene> {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.data.seed, index));
        let sim = self.physics.sim();
        let n = sim.state_dim();
        match &self.data.scenes {
            SceneSource::Generator(name) => {
                let generator = self.physics.scenes().ok_or_else(|| {
                    crate::Error::Config(format!(
                        "simulator '{}' has no scene generators",
                        self.physics.name()
                    ))
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
                        (end, Some(controls))
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

    /// Scenes for a list of indices, drawn in parallel; order follows `indices`.
    pub fn scenes(&self, indices: &[u64]) -> crate::Result<Vec<Scene>> {
        indices
            .par_iter()
            .with_min_len(crate::pool::MIN_EPISODES_PER_TASK)
            .map(|&k| self.scene(k))
            .collect()
    }

    /// Indices of the test scenes.
    pub fn test_indices(&self) -> Range<u64> {
        0..self.data.test_count as u64
    }

    /// Indices of the validation scenes.
    pub fn validation_indices(&self) -> Range<u64> {
        let start = self.data.test_count as u64;
        start..start + self.data.validation_count as u64
    }

    /// Indices of the training pool (empty for fresh training scenes).
    pub fn pool_indices(&self) -> Range<u64> {
        let start = self.validation_indices().end;
        match self.data.train {
            TrainSet::Fresh => start..start,
            TrainSet::Pool(count) => start..start + count as u64,
        }
    }

    /// Indices of the training scenes of iteration `iteration` (counting from 0).
    /// Pool batches are drawn with replacement from `rng`; fresh batches are consecutive
    /// new indices.
    pub fn train_indices(&self, iteration: u64, batch: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
        match self.data.train {
            TrainSet::Fresh => {
                let start = FRESH_OFFSET + iteration * batch as u64;
                (start..start + batch as u64).collect()
            }
            TrainSet::Pool(_) => {
                let pool = self.pool_indices();
                (0..batch).map(|_| rng.gen_range(pool.clone())).collect()
            }
        }
    }
}
