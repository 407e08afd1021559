//! Settings of the inversion across time and of the per-step chain's plan (docs/method.md §2, §4.2,
//! §4.3), as a scenario writes them inside `Sip(inverse: Episode(…))` / `Chain(…)`.

use serde::{Deserialize, Serialize};

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
    /// from the rollout's (docs/method.md §4.3). Damping of the whole update is `eta < 1`, not `μ`.
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
#[serde(deny_unknown_fields)]
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
