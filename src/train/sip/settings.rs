//! SIP's parameters as a scenario writes them, `update: Sip(eta: …, inverse: …, proxy: …)`:
//! how the physics is inverted and where the closed-loop proxy is fitted, with their checks
//! and memory estimate.

use super::{default_eta, Sip};
use crate::episode::settings::PolicyKind;
use crate::inverse::episode::DENSE_MAX_STATE_DIM;
use crate::inverse::settings::{ChainSpec, EpisodeInverseSpec, LinearSolver};
use crate::inverse::InverseMethod;
use crate::memory::{product, MemoryPart, F64_BYTES};
use crate::sim::ParamError;
use crate::train::rules::{ensure, non_negative, require, Problem, RuleSpec};
use crate::train::{Context, UpdateRule};
use serde::{Deserialize, Serialize};

/// Where the closed-loop SIP proxy is fitted (docs/method.md §4.1).
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
    /// Inversion across time (docs/method.md §2): Gramian of per-step Jacobians, regularised least
    /// squares, repeated Gauss-Newton with backtracking to `tolerance`.
    Episode(EpisodeInverseSpec),
    /// The per-step chain (docs/method.md §4.2): one Gramian solve plans state targets that the
    /// dynamics can follow, then each step is inverted on its own, forward in time from the
    /// state actually reached (the simulator's per-step control inverse, or one pseudo-inverse
    /// Gauss-Newton step).
    Chain(ChainSpec),
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
        let physics = problem.physics;
        let eta = self.eta.unwrap_or(1.0);
        ensure(
            eta > 0.0 && eta <= 1.0,
            "eta",
            format!("must be in (0, 1], got {eta}"),
        )?;
        ensure(
            problem.objective.tracking_weight == 0.0,
            "",
            "SIP inverts the terminal objective; per-step tracking terms \
             (objective.tracking_weight > 0) are supported by Bptt only",
        )?;
        if matches!(self.inverse, SipInverse::Episode(_) | SipInverse::Chain(_)) {
            ensure(
                problem
                    .objective
                    .terminal_weight
                    .as_ref()
                    .is_none_or(|w| w.iter().any(|x| *x != 0.0)),
                "inverse",
                "objective.terminal_weight is 0 for every component: the inversion has no \
                 terminal state to reach (give at least one component a weight > 0)",
            )?;
        }
        match &self.inverse {
            SipInverse::Step(method) => {
                ensure(
                    problem.episode.steps == 1,
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
                non_negative(c.mu, "inverse.mu")?;
                non_negative(c.damping, "inverse.damping")?;
                c.alpha.map_or(Ok(()), |a| non_negative(a, "inverse.alpha"))
            }
            SipInverse::Episode(e) => {
                require(physics, true, true)?;
                non_negative(e.mu, "inverse.mu")?;
                non_negative(e.damping, "inverse.damping")?;
                e.alpha
                    .map_or(Ok(()), |a| non_negative(a, "inverse.alpha"))?;
                ensure(
                    !e.feedback || problem.episode.policy == PolicyKind::ClosedLoop,
                    "inverse.feedback",
                    "feedback linearises a closed-loop policy; this episode is open loop",
                )?;
                ensure(e.tolerance > 0.0, "inverse.tolerance", "must be > 0")?;
                ensure(
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
    fn memory(&self, problem: &Problem<'_>) -> Vec<MemoryPart> {
        let sizes = &problem.sizes;
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
        let eta = self.eta.unwrap_or_else(|| default_eta(ctx));
        Box::new(Sip::new(
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
        ensure(
            tolerance > 0.0,
            "inverse.solver",
            "CG tolerance must be > 0",
        )?;
        ensure(
            max_iterations >= 1,
            "inverse.solver",
            "CG max_iterations must be ≥ 1",
        )?;
    }
    Ok(())
}
