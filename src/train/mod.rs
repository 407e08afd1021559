//! Training: update rules and the loop that applies them.
//!
//! Every update rule reduces a batch of episodes to a cotangent on every network output (or,
//! for closed-loop back-propagation through time, directly to parameter gradients); the
//! trainer applies the result with a first-order optimizer. The rule is the only difference
//! between methods:
//! - [`sip`]: Newton step of the loss, physics inversion, proxy loss `½‖u − sg(ũ)‖²`;
//! - [`bptt`]: back-propagation through the simulator (through time);
//! - [`supervised`]: regression on ground-truth controls;
//! - [`hig`]: half-inverse gradients and Gauss-Newton, network and physics inverted jointly.
//!
//! Rules are plug-ins ([`rules`]): a scenario names one, the registry's table builds its
//! [`rules::RuleSpec`], and the spec builds the [`UpdateRule`]. The built-in rules are
//! registered in [`builtin`] the way a user's crate registers its own.

pub mod bptt;
pub mod builtin;
pub mod checkpoint;
pub mod evaluate;
pub mod gathered;
pub mod groups;
pub mod hig;
pub mod method;
pub mod residuals;
pub mod rules;
pub mod setup;
pub mod sip;
pub mod supervised;
pub mod trainer;

use crate::episode::{rollout, stack_for_backward, CotangentUnits, Policy, Rollout};
use crate::net::{Network, ParamGrads};
use crate::objective::Objective;
use crate::processes::{ProcessGroup, SingleProcess};
use crate::sim::{Physics, Scene, Vector};
use crate::values::NamedValues;
use method::MethodSpec;

pub use checkpoint::Checkpoint;
pub use trainer::{Observer, TrainControl, TrainOutcome, Trainer};

/// What an update rule sees of the problem.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The simulator.
    pub physics: &'a Physics,
    /// How the network is wired into the episode.
    pub policy: &'a Policy,
    /// The episode objective.
    pub objective: &'a Objective,
    /// Whether this update's diagnostics will be recorded. The trainer sets it on the
    /// iterations it logs; a rule may skip diagnostics that cost time (SIP's Gramian
    /// eigenvalue range) when it is `false`. It must not change the update itself.
    pub diagnose: bool,
    /// A stop request (SIGINT/SIGTERM) to honour inside an update that can take long (the
    /// residual Jacobian and spectrum of HIG and Gauss-Newton): such a rule returns
    /// [`crate::Error::Stopped`], and the trainer ends the run after the previous iteration,
    /// as if the request had come before this one. `None` in a run of several processes, which
    /// must stop together (they agree between iterations).
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
}

impl Context<'_> {
    /// Whether a stop was requested ([`Context::stop`]).
    pub fn stopped(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// [`crate::Error::Stopped`] if a stop was requested.
    pub fn check_stop(&self) -> crate::Result<()> {
        if self.stopped() {
            Err(crate::Error::Stopped)
        } else {
            Ok(())
        }
    }
}

/// Counters an update reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpdateStats {
    /// Episodes whose physics inverse failed and fell back to the gradient step.
    pub inverse_failures: usize,
    /// Episodes whose iterative inverse stopped short of its tolerance (result still used).
    pub inverse_unconverged: usize,
    /// Episodes whose iterative inverse ended on a line search that found no decrease (also
    /// counted as unconverged).
    #[serde(default)]
    pub line_search_failures: usize,
}

impl UpdateStats {
    /// The counters summed over the ranks of `processes` (exact: counts below 2⁵³).
    pub fn summed(self, processes: &dyn ProcessGroup) -> UpdateStats {
        let mut counts = [
            self.inverse_failures as f64,
            self.inverse_unconverged as f64,
            self.line_search_failures as f64,
        ];
        processes.sum_f64(&mut counts);
        UpdateStats {
            inverse_failures: counts[0] as usize,
            inverse_unconverged: counts[1] as usize,
            line_search_failures: counts[2] as usize,
        }
    }
}

impl std::ops::AddAssign for UpdateStats {
    fn add_assign(&mut self, other: Self) {
        self.inverse_failures += other.inverse_failures;
        self.inverse_unconverged += other.inverse_unconverged;
        self.line_search_failures += other.line_search_failures;
    }
}

/// Parameter gradients of one iteration and its counters.
#[derive(Debug, Clone)]
pub struct Update {
    /// Gradient to hand to the optimizer.
    pub grads: ParamGrads,
    /// Counters.
    pub stats: UpdateStats,
    /// Named diagnostics of this iteration (e.g. SIP's inversion quality); the trainer adds
    /// the gradient norm.
    pub diagnostics: NamedValues,
}

/// An update rule: batch of episodes → parameter gradient.
pub trait UpdateRule: Send + Sync {
    /// Computes the update for `rollout` of `scenes` produced by `net`.
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update>;

    /// The rule as a mean over groups of episodes, if it is one ([`groups::Grouped`]):
    /// training then unrolls and updates each group in one task
    /// ([`groups::rollout_and_update`]). `None` by default.
    fn grouped(&self) -> Option<&dyn groups::Grouped> {
        None
    }

    /// The rule as a whole-batch step from per-rank parts, if it is one
    /// ([`gathered::Gathered`]): it then splits over the ranks of a data-parallel run by
    /// gathering the parts. `None` by default (such a rule runs in one process only).
    fn gathered(&self) -> Option<&dyn gathered::Gathered> {
        None
    }
}

/// The update of `rule` for a batch of `scenes`, rollout included, in one process
/// ([`batch_update_in`] with [`SingleProcess`]). What a training iteration runs between drawing
/// the scenes and the optimizer step.
///
/// # Errors
/// Those of the rollout and of the rule.
pub fn batch_update(
    rule: &dyn UpdateRule,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
) -> crate::Result<Update> {
    batch_update_in(rule, ctx, net, scenes, scenes.len(), &SingleProcess)
}

/// The update of `rule` for a batch of `batch` episodes of which this rank of `processes`
/// holds `scenes` (its slice, [`crate::processes::slice()`]), rollout included. A
/// [`groups::Grouped`] rule forms this rank's share — each group's rollout and share in one
/// task where that gives the same numbers ([`groups::rollout_and_share`]) — which is summed
/// over the ranks ([`groups::reduce`]) and scaled once by the whole batch; every rank gets the
/// same update. A rule that is not grouped but gathered (HIG's and Gauss-Newton's single SVD
/// over the batch) computes its ranks' parts and gathers them ([`gathered`]); a rule that is
/// neither runs in one process only.
///
/// # Errors
/// Those of the rollout and of the rule; on a rank whose own part succeeded,
/// [`crate::Error::RankFailed`] when another rank's failed (all ranks agree first, so none waits
/// for a failed one); [`crate::Error::NotSplittable`] for an ungrouped rule on several ranks.
pub fn batch_update_in(
    rule: &dyn UpdateRule,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    batch: usize,
    processes: &dyn ProcessGroup,
) -> crate::Result<Update> {
    if let Some(grouped) = rule.grouped() {
        let local = groups::rollout_and_share(grouped, ctx, net, scenes).unwrap_or_else(|| {
            let episodes = rollout(ctx.physics, ctx.policy, net, scenes)?;
            groups::share(grouped, ctx, net, scenes, &episodes)
        });
        let share = agreed(processes, local)?;
        return Ok(groups::finish(
            grouped,
            groups::reduce(grouped, processes, share),
            batch,
        ));
    }
    let episodes = rollout(ctx.physics, ctx.policy, net, scenes)?;
    rollout_update_in(rule, ctx, net, scenes, &episodes, batch, processes)
}

/// The update of `rule` for an unrolled batch of `batch` episodes of which this rank holds
/// `scenes` and `episodes` (see [`batch_update_in`]).
///
/// # Errors
/// As [`batch_update_in`].
pub fn rollout_update_in(
    rule: &dyn UpdateRule,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    episodes: &Rollout,
    batch: usize,
    processes: &dyn ProcessGroup,
) -> crate::Result<Update> {
    match rule.grouped() {
        Some(grouped) => {
            let local = groups::share(grouped, ctx, net, scenes, episodes);
            let share = agreed(processes, local)?;
            Ok(groups::finish(
                grouped,
                groups::reduce(grouped, processes, share),
                batch,
            ))
        }
        None if processes.size() == 1 => rule.update(ctx, net, scenes, episodes),
        None => match rule.gathered() {
            Some(gathered) => {
                let part = agreed(processes, gathered.part(ctx, net, scenes, episodes))?;
                let parts = processes.gather_f64(&part);
                drop(part);
                gathered.combine(ctx, net, parts, batch)
            }
            None => Err(crate::Error::NotSplittable {
                processes: processes.size(),
            }),
        },
    }
}

/// `result` once every rank of `processes` knows whether any rank failed: this rank's own
/// error, else [`crate::Error::RankFailed`] if another rank's part failed. The identity in one
/// process.
///
/// # Errors
/// As described.
pub fn agreed<T>(processes: &dyn ProcessGroup, result: crate::Result<T>) -> crate::Result<T> {
    let failed = processes.any(result.is_err());
    match result {
        Ok(_) if failed => Err(crate::Error::RankFailed {
            rank: processes.rank(),
        }),
        other => other,
    }
}

/// The rule whose update is the exact loss gradient (back-propagation through time), which the
/// `cosine_bptt` diagnostic compares a method's update with.
pub fn loss_gradient() -> Box<dyn UpdateRule> {
    Box::new(bptt::Bptt::default())
}

/// Builds the rule a method names, for the problem `ctx`.
pub fn rule_for(method: &MethodSpec, ctx: &Context<'_>) -> Box<dyn UpdateRule> {
    method.update.rule().build(ctx)
}

/// Parameter gradient of `Σ_b Σ_t ⟨g[b][t], u_t⟩` in one stacked backward pass, averaged over
/// the batch.
pub fn backward_control_cotangents(
    ctx: &Context<'_>,
    net: &dyn Network,
    rollout: &Rollout,
    control_cotangents: &[Vec<Vector>],
) -> ParamGrads {
    let mut grads = backward_cotangent_sum(
        ctx,
        net,
        rollout,
        control_cotangents,
        CotangentUnits::Control,
    );
    grads.scale(1.0 / rollout.batch() as f32);
    grads
}

/// Parameter gradient of `Σ_b Σ_t ⟨g[b][t], ·⟩` in one stacked backward pass, summed over the
/// batch, for cotangents with respect to the controls or the network's outputs (`units`):
/// the contribution of one group of episodes to a batch's sum ([`groups`]).
pub fn backward_cotangent_sum(
    ctx: &Context<'_>,
    net: &dyn Network,
    rollout: &Rollout,
    cotangents: &[Vec<Vector>],
    units: CotangentUnits,
) -> ParamGrads {
    let (inputs, cot) = stack_for_backward(ctx.policy, rollout, cotangents, units);
    net.backward(&inputs, &cot)
}
