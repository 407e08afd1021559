//! One training method as the scenario lists it — update rule, optimizer, clipping, schedule,
//! batch — and the training block shared by all methods (batch, budget, logging, seed). The
//! scenario schema re-exports these types; the trainer reads them.

use super::rules::UpdateSpec;
use crate::net::OptimizerConfig;
use serde::{Deserialize, Serialize};

/// One training method to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Display name (default: derived from update and optimizer, e.g. `sip+adam`).
    #[serde(default)]
    pub name: Option<String>,
    /// The update rule.
    pub update: UpdateSpec,
    /// First-order optimizer applied to the network.
    pub optimizer: OptimizerConfig,
    /// Clip the global gradient norm to this value.
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
    /// Learning-rate schedule over iterations (default: constant).
    #[serde(default)]
    pub lr_decay: Option<LrDecay>,
    /// Episodes per iteration for this method (default `training.batch`), e.g. a small batch
    /// for `Hig` beside large first-order batches, as in the references.
    #[serde(default)]
    pub batch: Option<usize>,
}

impl MethodSpec {
    /// Episodes per iteration: the method's own `batch`, else `training.batch`.
    pub fn batch_size(&self, training: &TrainingSpec) -> usize {
        self.batch.unwrap_or(training.batch)
    }
}

/// Learning-rate schedule, a function of the iteration count only (so runs stay
/// deterministic and resumable whatever the wall-clock budget).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LrDecay {
    /// `lr = lr₀ · factor^⌊iteration / every⌋`.
    Step {
        /// Iterations between decays.
        every: usize,
        /// Multiplier per decay, in (0, 1].
        factor: f64,
    },
    /// `lr = lr₀ · 2^(−iteration / half_life)`.
    Exponential {
        /// Iterations over which the rate halves.
        half_life: f64,
    },
}

impl LrDecay {
    /// Learning rate at `iteration` for base rate `base`.
    pub fn lr(&self, base: f64, iteration: usize) -> f64 {
        match *self {
            LrDecay::Step { every, factor } => {
                base * factor.powi((iteration / every.max(1)) as i32)
            }
            LrDecay::Exponential { half_life } => base * (-(iteration as f64) / half_life).exp2(),
        }
    }
}

/// Batch size, budget, logging and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Episodes per iteration.
    pub batch: usize,
    /// Number of iterations (at least one of `iterations` and `budget_s` must be given;
    /// with both, training stops at whichever comes first).
    #[serde(default)]
    pub iterations: Option<usize>,
    /// Wall-clock budget in seconds of training time (evaluation excluded).
    #[serde(default)]
    pub budget_s: Option<f64>,
    /// Evaluate and log every this many iterations.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// Seed of network initialisation and of training-scene draws.
    #[serde(default)]
    pub seed: u64,
    /// Every this many iterations, also compute the back-propagation-through-time gradient on
    /// the same rollout and log its cosine with the method's parameter gradient
    /// (`cosine_bptt`); 0 never. Costs one BPTT update per use.
    #[serde(default)]
    pub cosine_every: usize,
    /// Divergence rule: a method stops with an error once its logged loss or main metric (on
    /// the validation scenes, or the test scenes without them) exceeds this factor times its
    /// first logged value, the value of the untrained network. Must be > 1; default 10⁶; `inf` turns
    /// the rule off. Non-finite gradients and states stop a method regardless.
    #[serde(default = "default_divergence_factor")]
    pub divergence_factor: f64,
    /// Which validation value chooses the network a method keeps: `Loss` (default, the
    /// objective `L`, the quantity every method is asked to lower) or `Metric("final_error")`
    /// (any metric the run reports). Without validation scenes the last network is kept.
    #[serde(default)]
    pub select: Selection,
}

/// What chooses the kept network on the validation scenes ([`TrainingSpec::select`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selection {
    /// The objective's loss `L`.
    #[default]
    Loss,
    /// A named metric of the evaluation (lower is better).
    Metric(String),
}

impl Selection {
    /// The name of the metric that chooses.
    pub fn metric(&self) -> &str {
        match self {
            Selection::Loss => "loss",
            Selection::Metric(name) => name,
        }
    }
}

fn default_log_every() -> usize {
    10
}

fn default_divergence_factor() -> f64 {
    1e6
}
