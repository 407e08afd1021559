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
use crate::episode::{rollout_chunk, CotangentUnits, Rollout};
use crate::net::Network;
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
        let vjp = ctx
            .physics
            .require_vjp("back-propagation through the simulator")?;
        let states = &rollout.states[range.clone()];
        let controls = &rollout.controls[range.clone()];
        let scenes = &scenes[range.clone()];
        let steps = ctx.policy.steps();
        let batch = scenes.len();
        let objective = ctx.objective;
        let closed = ctx.policy.kind() == PolicyKind::ClosedLoop;
        let mut lambda: Vec<Vector> = scenes
            .iter()
            .zip(states)
            .map(|(scene, states)| objective.terminal_gradient(&states[steps], &scene.target))
            .collect();
        let n = ctx.physics.sim().state_dim();
        // Per episode: the state adjoint `λ`, the buffer its VJP is written into (swapped with
        // it after every step) and the observation VJP; reused over the steps.
        let mut pulled: Vec<Vector> = vec![Vector::zeros(n); batch];
        let mut observed = Vector::zeros(n);
        let mut control_cotangents: Vec<Vec<Vector>> = vec![vec![Vector::zeros(0); steps]; batch];
        let mut backward = closed.then(|| net.backward_sequence());
        let force_weight = objective.force_weight;
        for t in (0..steps).rev() {
            lambda
                .par_iter_mut()
                .zip(pulled.par_iter_mut())
                .zip(control_cotangents.par_iter_mut())
                .with_min_len(episodes_per_task(n, MIN_EPISODES_PER_TASK))
                .enumerate()
                .for_each(|(b, ((l, ls), cotangents))| {
                    let u = &controls[b][t];
                    let lu = &mut cotangents[t];
                    vjp.vjp_into(&states[b][t], u, l, ls, lu);
                    // `Bᵀλ + α u`, as `lu + objective.force_gradient(u)`.
                    lu.iter_mut()
                        .zip(u.iter())
                        .for_each(|(g, x)| *g += x * force_weight);
                    std::mem::swap(l, ls);
                });
            if let Some(backward) = backward.as_mut() {
                let scale = ctx.policy.control_scale();
                let m = control_cotangents[0][t].len();
                let cot = DMatrix::from_fn(m, batch, |i, b| control_cotangents[b][t][i] * scale[i]);
                // The group's columns of the step's input (a copy unless the group is the
                // batch).
                let inputs = &rollout.inputs[t];
                let inputs = if range.len() == inputs.ncols() {
                    Cow::Borrowed(inputs)
                } else {
                    Cow::Owned(inputs.columns(range.start, range.len()).into_owned())
                };
                let input_cot = backward.input_cotangent(&inputs, &cot);
                for (b, l) in lambda.iter_mut().enumerate() {
                    ctx.policy
                        .observation_state_vjp_into(input_cot.column(b).as_slice(), &mut observed);
                    *l += &observed;
                }
            }
            for (b, l) in lambda.iter_mut().enumerate() {
                if !self.within_window(t, steps) {
                    l.fill(0.0);
                }
                if t > 0 && objective.tracking_weight > 0.0 {
                    *l += objective.tracking_gradient(&states[b][t], &scenes[b].target);
                }
            }
        }
        let grads = match backward {
            Some(backward) => backward.finish(),
            None => {
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

/// `update: Bptt(truncation: …)`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BpttSpec {
    /// Only propagate the terminal adjoint through the last `truncation` steps.
    #[serde(default)]
    pub truncation: Option<usize>,
}

impl RuleSpec for BpttSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        self.truncation
            .map_or(Ok(()), |k| ensure(k >= 1, "truncation", "must be ≥ 1"))
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Bptt {
            truncation: self.truncation,
        })
    }

    fn is_loss_gradient(&self) -> bool {
        true
    }
}
