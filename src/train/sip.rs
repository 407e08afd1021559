//! Scale-invariant physics (SIP) updates (METHOD §1 and §2).
//!
//! 1. Newton step of the loss at the final state: `s̃_T = s_T + η (s* − s_T)`.
//! 2. Physics inversion: corrected controls `ũ` that reach `s̃_T` (a step-level local inverse
//!    for single-step problems, the inversion across time or the per-step chain for episodes).
//! 3. Proxy loss `Σ_t ½‖u_t − sg(ũ_t)‖²`: its cotangent `u_t − ũ_t` on every network output,
//!    applied in one stacked backward pass.
//!
//! A failed inverse falls back to the open-loop gradient `J_tᵀ W²(s_T − s*) + α u_t` for that
//! episode, and is counted.

use super::{backward_control_cotangents, Context, Update, UpdateRule, UpdateStats};
use crate::episode::Rollout;
use crate::inverse::episode::{
    invert_chain, invert_episode_with_feedback, EpisodeInverseSettings, Feedback,
};
use crate::inverse::solve;
use crate::net::Mlp;
use crate::objective::Objective;
use crate::scenario::SipInverse;
use crate::sim::{Matrix, Scene, Vector};
use crate::sweep::vjp_sweep;
use crate::InverseError;
use nalgebra::DMatrix;
use rayon::prelude::*;

/// The SIP update rule.
#[derive(Debug, Clone)]
pub struct Sip {
    eta: f64,
    inverse: SipInverse,
    default_alpha: f64,
}

/// Outcome of inverting one episode.
enum Inverted {
    Controls(Vec<Vector>, bool),
    Failed,
}

impl Sip {
    /// SIP with Newton step size `eta` and physics inversion `inverse`; the inversion's force
    /// weight defaults to the objective's.
    pub fn new(eta: f64, inverse: SipInverse, objective: &Objective) -> Self {
        Sip {
            eta,
            inverse,
            default_alpha: objective.force_weight,
        }
    }

    fn invert(
        &self,
        ctx: &Context<'_>,
        scene: &Scene,
        states: &[Vector],
        controls: &[Vector],
        gains: Option<&[Matrix]>,
    ) -> Result<(Vec<Vector>, bool), InverseError> {
        let steps = controls.len();
        let goal = ctx
            .objective
            .newton_target(&states[steps], &scene.target, self.eta);
        match &self.inverse {
            SipInverse::Step(method) => {
                let out = solve(method, ctx.physics, &states[0], &controls[0], &goal)?;
                Ok((vec![out.control], true))
            }
            SipInverse::Episode(spec) => {
                let settings = EpisodeInverseSettings {
                    alpha: spec.alpha.unwrap_or(self.default_alpha),
                    mu: spec.mu,
                    tolerance: spec.tolerance,
                    max_iterations: spec.max_iterations,
                    solver: spec.solver,
                };
                let feedback = gains.map(|gains| Feedback {
                    gains,
                    reference: states,
                });
                let out = invert_episode_with_feedback(
                    ctx.physics,
                    &states[0],
                    controls,
                    &goal,
                    &settings,
                    feedback,
                )?;
                Ok((out.controls, out.converged))
            }
            SipInverse::Chain => Ok((invert_chain(ctx.physics, states, controls, &goal)?, true)),
        }
    }
}

/// Feedback gains `K_t = ∂u_t/∂s_t` (m×n) of the closed-loop policy at every visited state:
/// `gains[b][t]`. Row `j` comes from one backward pass through the network with the output
/// cotangent `e_j`, mapped from the network input to the state by the observation's VJP.
pub fn feedback_gains(ctx: &Context<'_>, net: &Mlp, rollout: &Rollout) -> Vec<Vec<Matrix>> {
    let batch = rollout.batch();
    let n = ctx.physics.sim().state_dim();
    let m = ctx.physics.sim().control_dim();
    let scale = ctx.policy.control_scale();
    let mut gains = vec![Vec::with_capacity(rollout.inputs.len()); batch];
    for inputs in &rollout.inputs {
        let mut k = vec![Matrix::zeros(m, n); batch];
        for j in 0..m {
            let cot = DMatrix::from_fn(m, batch, |i, _| if i == j { 1.0 } else { 0.0 });
            let (_, input_cot) = net.backward_with_input(inputs, &cot);
            for (b, kb) in k.iter_mut().enumerate() {
                let row = ctx
                    .policy
                    .observation_state_vjp(input_cot.column(b).as_slice())
                    * scale;
                kb.set_row(j, &row.transpose());
            }
        }
        for (g, kb) in gains.iter_mut().zip(k) {
            g.push(kb);
        }
    }
    gains
}

/// Open-loop gradient of the objective with respect to each control of one episode.
pub fn open_loop_gradient(
    ctx: &Context<'_>,
    scene: &Scene,
    states: &[Vector],
    controls: &[Vector],
) -> crate::Result<Vec<Vector>> {
    let vjp = ctx.physics.require_vjp("the gradient step")?;
    let steps = controls.len();
    let terminal = ctx
        .objective
        .terminal_gradient(&states[steps], &scene.target);
    let tracking = |t: usize| ctx.objective.tracking_gradient(&states[t], &scene.target);
    let extra: Option<&dyn Fn(usize) -> Vector> = if ctx.objective.tracking_weight > 0.0 {
        Some(&tracking)
    } else {
        None
    };
    Ok(vjp_sweep(vjp, states, controls, &terminal, extra, None)
        .into_iter()
        .zip(controls)
        .map(|(g, u)| g + ctx.objective.force_gradient(u))
        .collect())
}

impl UpdateRule for Sip {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &Mlp,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        let gains = match &self.inverse {
            SipInverse::Episode(spec) if spec.feedback => Some(feedback_gains(ctx, net, rollout)),
            _ => None,
        };
        let inverted: Vec<Inverted> = scenes
            .par_iter()
            .zip(&rollout.states)
            .zip(&rollout.controls)
            .enumerate()
            .map(|(b, ((scene, states), controls))| {
                let k = gains.as_ref().map(|g| g[b].as_slice());
                match self.invert(ctx, scene, states, controls, k) {
                    Ok((c, converged)) => Inverted::Controls(c, converged),
                    Err(_) => Inverted::Failed,
                }
            })
            .collect();
        let mut stats = UpdateStats::default();
        let mut cotangents = Vec::with_capacity(scenes.len());
        for (b, result) in inverted.into_iter().enumerate() {
            let controls = &rollout.controls[b];
            match result {
                Inverted::Controls(target, converged) => {
                    if !converged {
                        stats.inverse_unconverged += 1;
                    }
                    cotangents.push(controls.iter().zip(&target).map(|(u, t)| u - t).collect());
                }
                Inverted::Failed => {
                    stats.inverse_failures += 1;
                    cotangents.push(open_loop_gradient(
                        ctx,
                        &scenes[b],
                        &rollout.states[b],
                        controls,
                    )?);
                }
            }
        }
        Ok(Update {
            grads: backward_control_cotangents(ctx, net, rollout, &cotangents),
            stats,
        })
    }
}
