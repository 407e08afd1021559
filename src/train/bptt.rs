//! Differentiable physics: the exact gradient of the episode objective by an adjoint sweep
//! backwards over the episode (back-propagation through time).
//!
//! With `λ_T = W²(s_T − s*)`, for `t = T−1 … 0`:
//! `∂L/∂u_t = B_tᵀ λ_{t+1} + α u_t`; closed loop, that cotangent goes through the network at
//! step `t`, giving parameter gradients and an input cotangent `g_t`, and
//! `λ_t = A_tᵀ λ_{t+1} + (∂obs/∂s_t)ᵀ g_t + β (s_t − s*)`. Open loop the controls do not see
//! the states, so the cotangents are collected and applied in one backward pass. With a
//! truncation window `k`, the adjoint is cut `k` steps before the end: `u_t` for
//! `t < T − k` only sees its own force penalty.
//!
//! The sweeps run on groups of episodes in parallel ([`groups`]), the groups' gradients summed
//! in order, a group per chunk of the rollout (see [`Bptt`]'s `group_size`). Closed loop,
//! the network's backward pass at each step gives the input cotangent at once and the
//! parameter gradient over all the steps at the end ([`crate::net::BackwardSequence`]).

use super::groups::{self, Grouped, Share};
use super::rules::{ensure, require, Problem, RuleSpec};
use super::{backward_cotangent_sum, Context, Update, UpdateRule, UpdateStats};
use crate::episode::settings::PolicyKind;
use crate::episode::{rollout_chunk, rollout_segment, CotangentUnits, Rollout};
use crate::net::{BackwardSequence, Network};
use crate::pool::{episodes_per_task, MIN_EPISODES_PER_TASK};
use crate::sim::ParamError;
use crate::sim::{Scene, Vector};
use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Range;

/// The back-propagation-through-time update rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bptt {
    /// Truncation window `k` (steps), or the full episode.
    pub truncation: Option<usize>,
    /// Closed loop: segment checkpointing with segments of this many steps (keep the state at
    /// every segment's start, unroll the segment again on the backward sweep), or keep the
    /// whole rollout.
    pub checkpoint_every: Option<usize>,
}

impl Bptt {
    /// Whether the state adjoint `λ_t` still carries the terminal information, so that the
    /// `k` controls `u_{T−k} … u_{T−1}` see the terminal error.
    fn within_window(&self, t: usize, steps: usize) -> bool {
        self.truncation.is_none_or(|k| steps - t < k)
    }
}

impl Grouped for Bptt {
    /// Episodes per group ([`groups`]): the rollout's chunks ([`rollout_chunk`]), so that
    /// training unrolls and updates a group in one task ([`groups::rollout_and_update`]).
    /// Closed loop, the network keeps the forward pass of every chunk and step, which the
    /// group's backward pass at that step then finds, and the parameter gradient is formed once
    /// over all of the group's steps ([`crate::net::BackwardSequence`]), so a group's per-step
    /// passes are only as wide as a chunk. Open loop, the group's cotangents meet the network
    /// in one pass of a row per episode, small against the adjoint sweeps when a chunk is small
    /// (chunks are sized by the physics' work: 43 oscillator episodes of 4 components × 24
    /// steps).
    fn group_size(&self, ctx: &Context<'_>) -> usize {
        rollout_chunk(ctx.physics.sim().state_dim(), ctx.policy.steps())
    }

    /// The share of episodes `range`: the parameter gradient of their adjoint sweeps, closed
    /// loop with the network's backward pass of the group at every step.
    fn share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
        range: Range<usize>,
    ) -> crate::Result<Share> {
        let states = &rollout.states[range.clone()];
        let controls = &rollout.controls[range.clone()];
        let scenes = &scenes[range.clone()];
        let steps = ctx.policy.steps();
        let batch = scenes.len();
        let mut sweep = Sweep::start(ctx, net, scenes, states.iter().map(|s| &s[steps]))?;
        let closed = sweep.backward.is_some();
        // Open loop the cotangents of every step meet the network at the end; closed loop
        // each step's are used at once, in a buffer reused over the steps.
        let mut control_cotangents: Vec<Vec<Vector>> = if closed {
            Vec::new()
        } else {
            vec![Vec::with_capacity(steps); batch]
        };
        let mut step_cotangents = vec![Vector::zeros(0); batch];
        for t in (0..steps).rev() {
            // The group's columns of the step's input (a copy unless the group is the batch).
            let inputs = closed.then(|| {
                let inputs = &rollout.inputs[t];
                if range.len() == inputs.ncols() {
                    Cow::Borrowed(inputs)
                } else {
                    Cow::Owned(inputs.columns(range.start, range.len()).into_owned())
                }
            });
            let step = StepPoint {
                t,
                states: at_step(states, t),
                controls: at_step(controls, t),
                inputs: inputs.as_deref(),
            };
            self.sweep_step(ctx, &mut sweep, scenes, &step, &mut step_cotangents);
            if !closed {
                for (all, c) in control_cotangents.iter_mut().zip(&mut step_cotangents) {
                    all.push(std::mem::take(c));
                }
            }
        }
        let grads = match sweep.backward {
            Some(backward) => backward.finish(),
            None => {
                // Collected last step first.
                control_cotangents.iter_mut().for_each(|c| c.reverse());
                let rollout = rollout.part(range);
                backward_cotangent_sum(
                    ctx,
                    net,
                    &rollout,
                    &control_cotangents,
                    CotangentUnits::Control,
                )
            }
        };
        Ok(Share {
            grads,
            stats: UpdateStats::default(),
            diagnostics: Default::default(),
        })
    }

    /// With segment checkpointing (closed loop), the group is unrolled keeping only the states
    /// at the segments' starts, and each segment is unrolled again on the way back
    /// (`Bptt::checkpointed_share`); otherwise the rollout and [`Grouped::share`].
    fn unrolled_share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        first: usize,
    ) -> crate::Result<Share> {
        match self.checkpoint_every {
            Some(every) if ctx.policy.kind() == PolicyKind::ClosedLoop => {
                self.checkpointed_share(ctx, net, scenes, first, every)
            }
            _ => groups::unroll_and_share(self, ctx, net, scenes, first),
        }
    }
}

/// Entry `t` of every episode's sequence.
fn at_step(episodes: &[Vec<Vector>], t: usize) -> Vec<&Vector> {
    episodes.iter().map(|e| &e[t]).collect()
}

/// What one step `t` of the adjoint sweep reads of a group's episodes.
struct StepPoint<'a> {
    /// The step.
    t: usize,
    /// `s_t` of every episode.
    states: Vec<&'a Vector>,
    /// `u_t` of every episode.
    controls: Vec<&'a Vector>,
    /// Closed loop: the group's network input at `t` (`inputs × episodes`).
    inputs: Option<&'a DMatrix<f64>>,
}

/// An adjoint sweep over a group of episodes, carried backwards step by step (and, with
/// segment checkpointing, across segments).
struct Sweep<'n> {
    /// `λ_{t+1}` of every episode before a step, `λ_t` after it.
    lambda: Vec<Vector>,
    /// The buffer each episode's VJP is written into (swapped with `lambda` after a step).
    pulled: Vec<Vector>,
    /// The observation VJP of one episode, reused.
    observed: Vector,
    /// Closed loop: the network's backward pass over the steps.
    backward: Option<Box<dyn BackwardSequence + 'n>>,
}

impl<'n> Sweep<'n> {
    /// The sweep at the end of the episodes whose terminal states are `last`: `λ_T` of the
    /// objective; closed loop, with an empty backward sequence through `net`.
    fn start<'s>(
        ctx: &Context<'_>,
        net: &'n dyn Network,
        scenes: &[Scene],
        last: impl Iterator<Item = &'s Vector>,
    ) -> crate::Result<Self> {
        ctx.physics
            .require_vjp("back-propagation through the simulator")?;
        let lambda: Vec<Vector> = scenes
            .iter()
            .zip(last)
            .map(|(scene, s)| ctx.objective.terminal_gradient(s, &scene.target))
            .collect();
        let n = ctx.physics.sim().state_dim();
        let closed = ctx.policy.kind() == PolicyKind::ClosedLoop;
        Ok(Sweep {
            pulled: vec![Vector::zeros(n); lambda.len()],
            lambda,
            observed: Vector::zeros(n),
            backward: closed.then(|| net.backward_sequence()),
        })
    }
}

impl Bptt {
    /// Step `point.t` of the adjoint sweep, going backwards: writes each episode's control
    /// cotangent `Bᵀλ + α u` into `cotangents[b]`, takes `λ` one step back (`Aᵀλ`, closed loop
    /// plus the network's input cotangent through the observation, and the tracking term),
    /// and closed loop feeds the step's control cotangents to the network's backward pass.
    fn sweep_step(
        &self,
        ctx: &Context<'_>,
        sweep: &mut Sweep<'_>,
        scenes: &[Scene],
        point: &StepPoint<'_>,
        cotangents: &mut [Vector],
    ) {
        let vjp = ctx.physics.vjp().expect("checked when the sweep started");
        let n = ctx.physics.sim().state_dim();
        let (t, steps) = (point.t, ctx.policy.steps());
        let objective = ctx.objective;
        let force_weight = objective.force_weight;
        sweep
            .lambda
            .par_iter_mut()
            .zip(sweep.pulled.par_iter_mut())
            .zip(cotangents.par_iter_mut())
            .with_min_len(episodes_per_task(n, MIN_EPISODES_PER_TASK))
            .enumerate()
            .for_each(|(b, ((l, ls), lu))| {
                let u = point.controls[b];
                vjp.vjp_into(point.states[b], u, l, ls, lu);
                // `Bᵀλ + α u`, as `lu + objective.force_gradient(u)`.
                lu.iter_mut()
                    .zip(u.iter())
                    .for_each(|(g, x)| *g += x * force_weight);
                std::mem::swap(l, ls);
            });
        if let (Some(backward), Some(inputs)) = (sweep.backward.as_mut(), point.inputs) {
            let scale = ctx.policy.control_scale();
            let m = cotangents.first().map_or(0, Vector::len);
            let cot = DMatrix::from_fn(m, cotangents.len(), |i, b| cotangents[b][i] * scale[i]);
            let input_cot = backward.input_cotangent(inputs, &cot);
            for (b, l) in sweep.lambda.iter_mut().enumerate() {
                ctx.policy.observation_state_vjp_into(
                    input_cot.column(b).as_slice(),
                    &mut sweep.observed,
                );
                *l += &sweep.observed;
            }
        }
        for (b, l) in sweep.lambda.iter_mut().enumerate() {
            if !self.within_window(t, steps) {
                l.fill(0.0);
            }
            if t > 0 && objective.tracking_weight > 0.0 {
                *l += objective.tracking_gradient(point.states[b], &scenes[b].target);
            }
        }
    }

    /// The closed-loop share of the group `scenes` (episodes `first..` of the batch) with
    /// segment checkpointing: the forward pass keeps only the states at the starts of the
    /// segments of `every` steps (and the last state); the backward sweep unrolls each segment
    /// again from its start ([`rollout_segment`]) and runs the segment's adjoint steps. The
    /// same numbers as without checkpointing (the recomputed segments repeat the forward
    /// passes exactly); the rollout's states, controls and network inputs are held for one
    /// segment at a time instead of the whole episode, for one more forward pass.
    fn checkpointed_share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        first: usize,
        every: usize,
    ) -> crate::Result<Share> {
        let steps = ctx.policy.steps();
        let starts: Vec<usize> = (0..steps).step_by(every.max(1)).collect();
        let unroll = |from: &[Scene], start: usize| {
            let end = (start + every).min(steps);
            rollout_segment(ctx.physics, ctx.policy, net, from, first, start..end)
        };
        // Forward: each segment from the last one's final states.
        let mut from: Vec<Scene> = scenes.to_vec();
        let mut checkpoints: Vec<Vec<Vector>> = Vec::with_capacity(starts.len());
        for &start in &starts {
            checkpoints.push(from.iter().map(|s| s.initial.clone()).collect());
            let segment = unroll(&from, start)?;
            for (scene, states) in from.iter_mut().zip(segment.states) {
                scene.initial = states.into_iter().last().expect("a segment has states");
            }
        }
        let mut sweep = Sweep::start(ctx, net, scenes, from.iter().map(|s| &s.initial))?;
        drop(from);
        let mut cotangents = vec![Vector::zeros(0); scenes.len()];
        for (start, checkpoint) in starts.iter().copied().zip(checkpoints).rev() {
            let from: Vec<Scene> = scenes
                .iter()
                .zip(checkpoint)
                .map(|(scene, initial)| Scene {
                    initial,
                    ..scene.clone()
                })
                .collect();
            let segment = unroll(&from, start)?;
            for k in (0..segment.inputs.len()).rev() {
                let point = StepPoint {
                    t: start + k,
                    states: at_step(&segment.states, k),
                    controls: at_step(&segment.controls, k),
                    inputs: Some(&segment.inputs[k]),
                };
                self.sweep_step(ctx, &mut sweep, scenes, &point, &mut cotangents);
            }
        }
        let backward = sweep.backward.expect("closed loop");
        Ok(Share {
            grads: backward.finish(),
            stats: UpdateStats::default(),
            diagnostics: Default::default(),
        })
    }
}

impl UpdateRule for Bptt {
    /// The adjoint sweeps and their network passes run on groups of episodes in parallel
    /// ([`groups`]); the groups' gradients are summed in order.
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        groups::update(self, ctx, net, scenes, rollout)
    }

    fn grouped(&self) -> Option<&dyn Grouped> {
        Some(self)
    }
}

/// `update: Bptt(truncation: …, checkpoint_every: …)`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BpttSpec {
    /// Only propagate the terminal adjoint through the last `truncation` steps.
    #[serde(default)]
    pub truncation: Option<usize>,
    /// Closed loop: segment checkpointing. The forward pass keeps only every
    /// `checkpoint_every`-th state; the backward sweep unrolls each segment again from it.
    /// The gradient is the same; the rollout held in memory is one segment's instead of the
    /// episode's, for one more forward pass (network and simulator). `√T` balances the two.
    /// Left out of the written form when unset, so checkpoints from before the field existed
    /// still match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
}

impl RuleSpec for BpttSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        self.truncation
            .map_or(Ok(()), |k| ensure(k >= 1, "truncation", "must be ≥ 1"))?;
        if let Some(k) = self.checkpoint_every {
            ensure(k >= 1, "checkpoint_every", "must be ≥ 1")?;
            ensure(
                problem.episode.policy == PolicyKind::ClosedLoop,
                "checkpoint_every",
                "segment checkpointing is for closed-loop episodes (open loop, one forward \
                 pass gives every control; there is no per-step network pass to recompute)",
            )?;
        }
        Ok(())
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Bptt {
            truncation: self.truncation,
            checkpoint_every: self.checkpoint_every,
        })
    }

    fn is_loss_gradient(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::BpttSpec;

    /// Checkpoints record the update's written form: without segment checkpointing it is the
    /// form from before `checkpoint_every` existed, so their runs still resume.
    #[test]
    fn the_written_form_is_unchanged_without_checkpointing() {
        assert_eq!(
            ron::to_string(&BpttSpec::default()).expect("writes"),
            "(truncation:None)"
        );
        let with = BpttSpec {
            checkpoint_every: Some(4),
            ..BpttSpec::default()
        };
        let text = ron::to_string(&with).expect("writes");
        assert_eq!(text, "(truncation:None,checkpoint_every:Some(4))");
        let back: BpttSpec = ron::from_str(&text).expect("reads");
        assert_eq!(back.checkpoint_every, Some(4));
    }
}
