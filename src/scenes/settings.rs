//! Where scenes come from and how they are split, as the scenario's `data` block gives it
//! (re-exported by the schema); [`super::SceneSampler`] draws them.

use serde::{Deserialize, Serialize};

/// Where scenes (initial state, target) come from, and how they are split.
///
/// Scene `k` is drawn from its own random stream seeded by `(seed, k)`: scenes
/// `0..test_count` are the test set, the next `validation_count` the validation set, then the
/// training pool. Fresh training scenes use indices from `2³²` on, disjoint from the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Seed of the scene streams (independent of the training seed).
    #[serde(default)]
    pub seed: u64,
    /// How one scene is drawn.
    pub scenes: SceneSource,
    /// Fresh scenes every iteration, or a fixed pool.
    #[serde(default)]
    pub train: TrainSet,
    /// Held-out scenes on which reported metrics are averaged.
    #[serde(default = "hundred")]
    pub test_count: usize,
    /// Validation scenes: the training curves are evaluated on them and they choose the
    /// network that is evaluated on the test scenes at the end (best so far). 0: curves on the
    /// test scenes and the last network is the result. Default 100.
    #[serde(default = "hundred")]
    pub validation_count: usize,
}

fn hundred() -> usize {
    100
}

/// How one scene is drawn.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum SceneSource {
    /// A generator supplied by the simulator, by name (e.g. Burgers' `"gaussian_clash"`).
    Generator(String),
    /// Initial state and target sampled independently.
    Sampled {
        /// Initial state `s_0`.
        initial: InitialSpec,
        /// Target `s*`.
        target: TargetSpec,
    },
}

impl SceneSource {
    /// Whether the scenes carry ground-truth controls (a generator's, or the controls a
    /// `ReachedBy` target was reached with).
    pub fn has_reference_controls(&self) -> bool {
        match self {
            SceneSource::Generator(_) => true,
            SceneSource::Sampled { target, .. } => matches!(target, TargetSpec::ReachedBy { .. }),
        }
    }
}

/// Initial-state distribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum InitialSpec {
    /// `s_0 = 0`.
    Zeros,
    /// The same `s_0` for every scene.
    Fixed(Vec<f64>),
    /// Each component uniform in `[low_i, high_i)`.
    Uniform {
        /// Lower bounds (length `n`).
        low: Vec<f64>,
        /// Upper bounds (length `n`).
        high: Vec<f64>,
    },
}

/// Target distribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TargetSpec {
    /// Return to the initial state (`s* = s_0`).
    Initial,
    /// The same target for every scene.
    Fixed(Vec<f64>),
    /// Each component uniform in `[low_i, high_i)`.
    Uniform {
        /// Lower bounds (length `n`).
        low: Vec<f64>,
        /// Upper bounds (length `n`).
        high: Vec<f64>,
    },
    /// The state reached from `s_0` under controls drawn uniformly per step; those controls
    /// are kept as ground truth (enables supervised training).
    ReachedBy {
        /// Lower bounds of each control component (length `m`).
        low: Vec<f64>,
        /// Upper bounds of each control component (length `m`).
        high: Vec<f64>,
    },
}

/// Training scenes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub enum TrainSet {
    /// New scenes every iteration.
    #[default]
    Fresh,
    /// A fixed pool of `count` scenes; each iteration samples a mini-batch from it.
    Pool(usize),
}
