//! The built-in update rules as scenarios write them — `Sip(…)`, `Dp(…)`, `Supervised`,
//! `Hig(…)`, `GaussNewton(…)` — each a parameter struct implementing [`RuleSpec`], registered
//! for [`Rules::builtin`] the same way a user's crate registers its own rules.

use super::rules::{require, Problem, RuleSpec, Rules};
use super::{dp, hig, sip, supervised, Context, UpdateRule};
use crate::inverse::episode::DENSE_MAX_STATE_DIM;
use crate::scenario::limits::{product, MemoryPart, RunSizes, F64_BYTES};
use crate::scenario::{LinearSolver, PolicyKind, ProxyInputs, ScenarioSpec, SipInverse};
use crate::sim::ParamError;
use serde::{Deserialize, Serialize};

/// Registers the built-in rules in `rules`.
pub(crate) fn register(rules: &mut Rules) {
    rules.register::<SipSpec>(
        "Sip",
        "scale-invariant physics: Newton step of the loss, physics inverse, proxy loss",
    );
    rules.register::<DpSpec>(
        "Dp",
        "differentiable physics: back-propagation through the simulator (through time)",
    );
    rules.register::<SupervisedSpec>(
        "Supervised",
        "regression on the scenes' ground-truth controls",
    );
    rules.register::<HigSpec>(
        "Hig",
        "half-inverse gradients: network and physics inverted jointly by a truncated SVD",
    );
    rules.register::<GaussNewtonSpec>(
        "GaussNewton",
        "Gauss-Newton: the truncated pseudo-inverse of the residual Jacobian",
    );
}

fn check(ok: bool, field: &str, message: impl Into<String>) -> Result<(), ParamError> {
    if ok {
        Ok(())
    } else {
        Err(ParamError::new(field, message))
    }
}

fn check_non_negative(value: f64, field: &str) -> Result<(), ParamError> {
    check(value >= 0.0 && value.is_finite(), field, "must be ≥ 0")
}

/// `update: Sip(eta: …, inverse: …, proxy: …)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSpec {
    /// Newton step size `η ∈ (0, 1]` in state space (default: 1, and 0.5 for closed-loop
    /// episodes, where the corrected-trajectory iteration at `η = 1` can overshoot).
    #[serde(default)]
    pub eta: Option<f64>,
    /// How the physics is inverted.
    pub inverse: SipInverse,
    /// Closed loop: where the proxy `½‖u − sg(ũ)‖²` is fitted (default `Corrected`).
    /// Ignored open loop, where the network input does not depend on the states.
    #[serde(default)]
    pub proxy: ProxyInputs,
}

impl RuleSpec for SipSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        let (spec, physics) = (problem.spec, problem.physics);
        let eta = self.eta.unwrap_or(1.0);
        check(
            eta > 0.0 && eta <= 1.0,
            "eta",
            format!("must be in (0, 1], got {eta}"),
        )?;
        check(
            spec.objective.tracking_weight == 0.0,
            "",
            "SIP inverts the terminal objective; per-step tracking terms \
             (objective.tracking_weight > 0) are supported by Dp only",
        )?;
        match &self.inverse {
            SipInverse::Step(method) => {
                check(
                    spec.episode.steps == 1,
                    "inverse",
                    "Step(…) inverts a single step; for episodes with steps > 1 use Episode(…) or Chain(…)",
                )?;
                method
                    .validate()
                    .map_err(|msg| ParamError::new("inverse", msg))?;
                method
                    .check_capabilities(physics)
                    .map_err(|e| ParamError::new("inverse", e.to_string()))
            }
            SipInverse::Chain(c) => {
                require(physics, true, true)?;
                check_non_negative(c.mu, "inverse.mu")?;
                check_non_negative(c.damping, "inverse.damping")?;
                c.alpha
                    .map_or(Ok(()), |a| check_non_negative(a, "inverse.alpha"))
            }
            SipInverse::Episode(e) => {
                require(physics, true, true)?;
                check_non_negative(e.mu, "inverse.mu")?;
                check_non_negative(e.damping, "inverse.damping")?;
                e.alpha
                    .map_or(Ok(()), |a| check_non_negative(a, "inverse.alpha"))?;
                check(
                    !e.feedback || spec.episode.policy == PolicyKind::ClosedLoop,
                    "inverse.feedback",
                    "feedback linearises a closed-loop policy; this episode is open loop",
                )?;
                check(e.tolerance > 0.0, "inverse.tolerance", "must be > 0")?;
                check(
                    e.max_iterations >= 1,
                    "inverse.max_iterations",
                    "must be ≥ 1",
                )?;
                check_solver(e.solver)
            }
        }
    }

    /// An `n×n` Gramian per episode for dense episode inversions and chain plans, and `T`
    /// feedback gains `m×n` per episode.
    fn memory(&self, _spec: &ScenarioSpec, sizes: &RunSizes) -> Vec<MemoryPart> {
        let n = sizes.state_dim;
        let dense = |solver: LinearSolver| match solver {
            LinearSolver::Dense => true,
            LinearSolver::Auto => n <= DENSE_MAX_STATE_DIM as u64,
            LinearSolver::Cg { .. } => false,
        };
        let gramian = product(&[n, n, F64_BYTES]);
        let per_episode = match &self.inverse {
            SipInverse::Episode(e) => {
                let gains = product(&[sizes.steps, sizes.control_dim, n, F64_BYTES]);
                (if dense(e.solver) { gramian } else { 0 }).saturating_add(if e.feedback {
                    gains
                } else {
                    0
                })
            }
            SipInverse::Chain(c) if dense(c.solver) => gramian,
            _ => 0,
        };
        vec![MemoryPart {
            what: "inversion Gramians".to_string(),
            driven_by: "training.batch × state dimension²",
            bytes: sizes.batch.saturating_mul(per_episode),
        }]
    }

    fn build(&self, ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        let eta = self.eta.unwrap_or_else(|| sip::default_eta(ctx));
        Box::new(sip::Sip::new(
            eta,
            self.inverse.clone(),
            self.proxy,
            ctx.objective,
        ))
    }
}

fn check_solver(solver: LinearSolver) -> Result<(), ParamError> {
    if let LinearSolver::Cg {
        tolerance,
        max_iterations,
    } = solver
    {
        check(
            tolerance > 0.0,
            "inverse.solver",
            "CG tolerance must be > 0",
        )?;
        check(
            max_iterations >= 1,
            "inverse.solver",
            "CG max_iterations must be ≥ 1",
        )?;
    }
    Ok(())
}

/// `update: Dp(truncation: …)`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpSpec {
    /// Only propagate the terminal adjoint through the last `truncation` steps.
    #[serde(default)]
    pub truncation: Option<usize>,
}

impl RuleSpec for DpSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        self.truncation
            .map_or(Ok(()), |k| check(k >= 1, "truncation", "must be ≥ 1"))
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(dp::Dp {
            truncation: self.truncation,
        })
    }

    fn is_loss_gradient(&self) -> bool {
        true
    }
}

/// `update: Supervised`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct SupervisedSpec;

impl RuleSpec for SupervisedSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        check(
            problem.spec.data.scenes.has_reference_controls(),
            "",
            "supervised training needs ground-truth controls: use target ReachedBy(…) or a scene generator",
        )
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(supervised::Supervised)
    }
}

/// `update: Hig(truncation: …, exponent: …)`: half-inverse gradients (METHOD §4.5), the network
/// and the physics inverted jointly by a truncated SVD of the residual Jacobian, direction
/// `V Σ^(−κ) Uᵀ g`. Use with `Sgd(lr: 1.0)` as the references do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HigSpec {
    /// Relative truncation `τ`: singular values below `τ · σ_max` are dropped
    /// (default 1e-10, the book's setting).
    #[serde(default = "default_hig_truncation")]
    pub truncation: f64,
    /// Exponent `κ` (default ½; 1 is Gauss-Newton).
    #[serde(default = "default_hig_exponent")]
    pub exponent: f64,
}

fn default_hig_truncation() -> f64 {
    1e-10
}

fn default_hig_exponent() -> f64 {
    hig::HIG_EXPONENT
}

impl RuleSpec for HigSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        check_truncation(self.truncation)?;
        let k = self.exponent;
        check(
            k.is_finite() && (0.0..=1.0).contains(&k),
            "exponent",
            format!("must be in [0, 1], got {k}"),
        )
    }

    fn memory(&self, spec: &ScenarioSpec, sizes: &RunSizes) -> Vec<MemoryPart> {
        jacobian_memory(spec, sizes)
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(hig::Hig {
            truncation: self.truncation,
            exponent: self.exponent,
        })
    }
}

/// `update: GaussNewton(truncation: …)`: the truncated pseudo-inverse of the residual
/// Jacobian (`Hig` with `κ = 1`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussNewtonSpec {
    /// Relative truncation `τ` (default 1e-6, the paper's rcond).
    #[serde(default = "default_gauss_newton_truncation")]
    pub truncation: f64,
}

fn default_gauss_newton_truncation() -> f64 {
    1e-6
}

impl RuleSpec for GaussNewtonSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        check_truncation(self.truncation)
    }

    fn memory(&self, spec: &ScenarioSpec, sizes: &RunSizes) -> Vec<MemoryPart> {
        jacobian_memory(spec, sizes)
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(hig::Hig {
            truncation: self.truncation,
            exponent: hig::GAUSS_NEWTON_EXPONENT,
        })
    }
}

fn check_truncation(t: f64) -> Result<(), ParamError> {
    check(
        t.is_finite() && (0.0..1.0).contains(&t),
        "truncation",
        format!("must be in [0, 1), got {t}"),
    )
}

/// Copies of the `(P × R)` residual Jacobian alive during a HIG iteration: the Jacobian,
/// faer's left singular vectors and the kept ones.
const JACOBIAN_COPIES: u64 = 3;

/// The residual Jacobian `R × P` (with `R = batch ×` rows per episode, see
/// [`super::residuals`]) and its SVD.
fn jacobian_memory(spec: &ScenarioSpec, sizes: &RunSizes) -> Vec<MemoryPart> {
    let objective = &spec.objective;
    let (n, m, steps) = (sizes.state_dim, sizes.control_dim, sizes.steps);
    let terminal = objective
        .terminal_weight
        .as_ref()
        .map_or(n, |w| w.iter().filter(|w| **w != 0.0).count() as u64);
    let force = if objective.force_weight > 0.0 {
        steps.saturating_mul(m)
    } else {
        0
    };
    let tracking = if objective.tracking_weight > 0.0 {
        steps.saturating_sub(1).saturating_mul(n)
    } else {
        0
    };
    let rows = sizes
        .batch
        .saturating_mul(terminal.saturating_add(force).saturating_add(tracking));
    vec![MemoryPart {
        what: format!(
            "residual Jacobian ({rows} rows × {} parameters) and its SVD",
            sizes.parameters
        ),
        driven_by: "batch × residual rows per episode × network parameters",
        bytes: product(&[JACOBIAN_COPIES, rows, sizes.parameters, F64_BYTES]),
    }]
}
