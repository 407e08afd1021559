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
use crate::inverse::episode::{invert_chain, invert_episode, EpisodeInverseSettings};
use crate::inverse::solve;
use crate::net::Mlp;
use crate::objective::Objective;
use crate::scenario::SipInverse;
use crate::sim::{Scene, Vector};
use crate::sweep::vjp_sweep;
use crate::InverseError;
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
                let out = invert_episode(ctx.physics, &states[0], controls, &goal, &settings)?;
                Ok((out.controls, out.converged))
            }
            SipInverse::Chain => Ok((invert_chain(ctx.physics, states, controls, &goal)?, true)),
        }
    }
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
    Ok(vjp_sweep(vjp, states, controls, &terminal, extra)
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
        let inverted: Vec<Inverted> = scenes
            .par_iter()
            .zip(&rollout.states)
            .zip(&rollout.controls)
            .map(
                |((scene, states), controls)| match self.invert(ctx, scene, states, controls) {
                    Ok((c, converged)) => Inverted::Controls(c, converged),
                    Err(_) => Inverted::Failed,
                },
            )
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
