//! The scenario file format: serde structs that mirror the RON file one to one.
//!
//! These are *raw* settings; [`super::Scenario::load`] validates them and builds the runtime
//! objects. Every struct rejects unknown fields. Units are those of the simulator.

use crate::inverse::InverseMethod;
pub use crate::net::NetworkSpec;
use crate::net::OptimizerConfig;
use serde::{Deserialize, Serialize};

pub use crate::train::rules::UpdateSpec;

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Scenario name, used for the default output directory `runs/<name>/<timestamp>/`.
    pub name: String,
    /// Free text shown by `validate`.
    #[serde(default)]
    pub description: String,
    /// Which simulator and its parameters.
    pub simulator: SimulatorSpec,
    /// Episode length and how the network sees the system.
    #[serde(default)]
    pub episode: EpisodeSpec,
    /// Initial states, targets and the train/validation/test split.
    pub data: DataSpec,
    /// The episode objective.
    #[serde(default)]
    pub objective: ObjectiveSpec,
    /// The network's kind and parameters, e.g. `Mlp(hidden: [64, 64], activation: tanh)`
    /// (input/output sizes follow from the simulator; see [`crate::net::table`]).
    pub network: NetworkSpec,
    /// Training methods to run and compare, in order.
    pub methods: Vec<MethodSpec>,
    /// Batch size, budget, logging and seed.
    pub training: TrainingSpec,
}

/// Simulator name (as registered) and its parameter struct.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSpec {
    /// Registered name, e.g. `"rotating_sine"`.
    pub name: String,
    /// The simulator's parameters, e.g. `(xi: 32.0, phi_deg: 45.0)`; `()` for defaults.
    #[serde(default = "unit_value")]
    pub params: ron::Value,
}

fn unit_value() -> ron::Value {
    ron::Value::Unit
}

/// Whether the network acts at every step or plans all controls at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PolicyKind {
    /// `u_t = f(obs(s_t, s*, t/T))` at every step.
    #[default]
    ClosedLoop,
    /// `(u_0 … u_{T−1}) = f(s_0, s*)`: one network evaluation per episode.
    OpenLoop,
}

/// One block of the closed-loop network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// Current state `s_t / state_scale`.
    State,
    /// Target `s* / state_scale`.
    Target,
    /// Remaining error `(s* − s_t) / state_scale`.
    Error,
    /// Episode progress `t / T`.
    Time,
}

/// Episode length and the network's view of the system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeSpec {
    /// Number of time steps `T` (1 for single-prediction inverse problems).
    #[serde(default = "one")]
    pub steps: usize,
    /// Closed or open loop.
    #[serde(default)]
    pub policy: PolicyKind,
    /// Closed-loop input blocks, in order (open loop always sees `[s_0, s*]`).
    #[serde(default = "default_observe")]
    pub observe: Vec<Observation>,
    /// Per-component divisor applied to states and targets before the network sees them
    /// (length `n`); default all ones.
    #[serde(default)]
    pub state_scale: Option<Vec<f64>>,
    /// The network output is multiplied by this to give the control in physical units: one
    /// number for every component (`5.0`) or one per component (`[1.0, 1024.0]`). Default: the
    /// simulator's typical control magnitudes ([`crate::sim::Simulator::control_scale`]) if it
    /// has them, else 1.
    #[serde(default)]
    pub control_scale: Option<Scale>,
}

/// A scale factor: the same for every component, or one per component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    /// The same factor for every component.
    Uniform(f64),
    /// One factor per component.
    PerComponent(Vec<f64>),
}

impl Default for EpisodeSpec {
    fn default() -> Self {
        EpisodeSpec {
            steps: 1,
            policy: PolicyKind::ClosedLoop,
            observe: default_observe(),
            state_scale: None,
            control_scale: None,
        }
    }
}

fn one() -> usize {
    1
}
fn default_observe() -> Vec<Observation> {
    vec![Observation::State, Observation::Target, Observation::Time]
}

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

/// Objective `L = ½‖W (s_T − s*)‖² + ½ α Σ_t ‖u_t‖² + ½ β Σ_{t<T} ‖s_t − s*‖²`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Diagonal of `W` (length `n`); default all ones.
    #[serde(default)]
    pub terminal_weight: Option<Vec<f64>>,
    /// Force penalty `α ≥ 0`.
    #[serde(default)]
    pub force_weight: f64,
    /// Per-step tracking weight `β ≥ 0`.
    #[serde(default)]
    pub tracking_weight: f64,
}

impl Default for ObjectiveSpec {
    fn default() -> Self {
        ObjectiveSpec {
            terminal_weight: None,
            force_weight: 0.0,
            tracking_weight: 0.0,
        }
    }
}

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

impl ScenarioSpec {
    /// The largest batch of any method (what memory and scene numbering must allow for).
    pub fn largest_batch(&self) -> usize {
        self.methods
            .iter()
            .map(|m| m.batch_size(&self.training))
            .max()
            .unwrap_or(self.training.batch)
    }
}

/// Where the closed-loop SIP proxy is fitted (METHOD §4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyInputs {
    /// At the corrected trajectory `s̃_t` that the corrected controls produce: the network is
    /// asked for `ũ_t` at `obs(s̃_t, s*, t/T)`, so a zero proxy means the closed-loop rollout
    /// reproduces `s̃_t` and lands on `s̃_T`. One extra batched forward pass.
    #[default]
    Corrected,
    /// At the states the policy visited (the open-loop formula applied to a closed loop: the
    /// controls asked for are right only if the policy's feedback did not change the states).
    Visited,
}

/// Physics inversion used by SIP.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SipInverse {
    /// A step-level inverse (single-step problems, `steps: 1`).
    Step(InverseMethod),
    /// Inversion across time (METHOD §2): Gramian of per-step Jacobians, regularised least
    /// squares, repeated Gauss-Newton with backtracking to `tolerance`.
    Episode(EpisodeInverseSpec),
    /// The per-step chain (METHOD §4.2): one Gramian solve plans state targets that the
    /// dynamics can follow, then each step is inverted on its own, forward in time from the
    /// state actually reached (the simulator's per-step control inverse, or one pseudo-inverse
    /// Gauss-Newton step).
    Chain(ChainSpec),
}

/// Settings of the per-step chain's plan (one regularised Gauss-Newton solve at the rollout).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Prior weight `μ ≥ 0` on `½ μ ‖ũ − u⁰‖²`, as in `Episode`.
    #[serde(default)]
    pub mu: f64,
    /// Force weight `α ≥ 0` of the plan (default: the objective's `force_weight`).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Levenberg-Marquardt damping relative to `λ_max(G)`, as in `Episode`.
    #[serde(default)]
    pub damping: f64,
    /// Linear solver for the `n×n` system.
    #[serde(default)]
    pub solver: LinearSolver,
}

/// Settings of the inversion across time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeInverseSpec {
    /// Prior weight `μ ≥ 0`: penalises `½ μ ‖ũ − u⁰‖²`, the distance of the corrected controls
    /// from the rollout's (METHOD §4.3). Damping of the whole update is `eta < 1`, not `μ`.
    #[serde(default)]
    pub mu: f64,
    /// Force weight `α ≥ 0` of the inversion (default: the objective's `force_weight`).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Levenberg-Marquardt damping `τ ≥ 0` of each Gauss-Newton solve, relative to the
    /// Gramian's largest eigenvalue (`G + τ λ_max I`): for ill-conditioned Gramians (few
    /// actuators, diffusion). It does not move the solution, only shortens the steps along weak
    /// directions. Default 0.
    #[serde(default)]
    pub damping: f64,
    /// Stop when `‖s_T(ũ) − s̃_T‖ ≤ tolerance`.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Gauss-Newton iterations at most.
    #[serde(default = "default_gn_iterations")]
    pub max_iterations: usize,
    /// Linear solver for the `n×n` system.
    #[serde(default)]
    pub solver: LinearSolver,
    /// Closed loop only: invert the episode with the policy's linearised feedback
    /// `K_t = ∂u_t/∂s_t` in the loop (`Ã_t = A_t + B_t K_t`), so the corrections account for
    /// the policy's own reaction to the changed states. Costs `T·m` extra backward passes
    /// through the network per iteration.
    #[serde(default)]
    pub feedback: bool,
}

fn default_tolerance() -> f64 {
    1e-8
}
fn default_gn_iterations() -> usize {
    10
}

/// Linear solver for the Gramian system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum LinearSolver {
    /// Dense for `n ≤ 64`, conjugate gradients above.
    #[default]
    Auto,
    /// Dense Jacobians and Cholesky.
    Dense,
    /// Matrix-free conjugate gradients with JVP/VJP sweeps.
    Cg {
        /// Relative residual tolerance.
        tolerance: f64,
        /// Iterations at most.
        max_iterations: usize,
    },
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
}

fn default_log_every() -> usize {
    10
}

fn default_divergence_factor() -> f64 {
    1e6
}
