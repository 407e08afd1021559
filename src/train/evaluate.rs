//! Metrics of a network on held-out scenes, averaged over the scenes.
//!
//! Always: `loss` (the objective per episode) and `final_error` `Σ_i W_i² (s_T,i − s*_i)²`
//! (the terminal error of the components the objective weighs; `W = 1` by default).
//! Episodes with more than one step add `total_force` `Σ_t Σ_i |u_t,i|` and `missing_force`
//! `Σ_i |s*_i − s_T,i| / Δt` (the force still needed to close the final error in one more
//! step). Then the simulator's own metrics (e.g. `x_dist`).

use super::{agreed, Context};
use crate::episode::rollout;
use crate::net::Network;
use crate::processes::{slice, ProcessGroup, SingleProcess};
use crate::sim::{Physics, Scene};

/// Named metric values, averaged over the scenes.
pub type Evaluation = crate::values::NamedValues;

/// Names of the metrics [`evaluate`] reports for this context.
pub fn metric_names(ctx: &Context<'_>) -> Vec<String> {
    metric_names_for(ctx.physics, ctx.policy.steps())
}

/// Names of the metrics [`evaluate`] reports for episodes of `steps` steps of `physics`.
pub fn metric_names_for(physics: &Physics, steps: usize) -> Vec<String> {
    let mut names = vec!["loss".to_string(), "final_error".to_string()];
    if steps > 1 {
        names.push("total_force".into());
        names.push("missing_force".into());
    }
    if let Some(m) = physics.metrics() {
        names.extend(m.metric_names());
    }
    names
}

/// Runs `net` on `scenes` and averages the metrics.
///
/// # Errors
/// Those of the rollout (a non-finite state).
pub fn evaluate(
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
) -> crate::Result<Evaluation> {
    evaluate_in(ctx, net, scenes, &SingleProcess)
}

/// [`evaluate`] split over the ranks of `processes`: each rank runs its slice of `scenes`
/// ([`slice()`]), the metric sums are added in rank order, and every rank gets the averages.
/// One process gives exactly [`evaluate`]'s numbers.
///
/// # Errors
/// Those of this rank's rollout; [`crate::Error::RankFailed`] if another rank's failed.
pub fn evaluate_in(
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    processes: &dyn ProcessGroup,
) -> crate::Result<Evaluation> {
    let local = &scenes[slice(scenes.len(), processes.rank(), processes.size())];
    // A network with batch norm evaluates with its running averages.
    let evaluation = net.for_evaluation();
    let net = evaluation.as_deref().unwrap_or(net);
    let mut sums = agreed(processes, metric_sums(ctx, net, local))?;
    processes.sum_f64(&mut sums);
    let count = scenes.len().max(1) as f64;
    Ok(Evaluation {
        names: metric_names(ctx),
        values: sums.into_iter().map(|s| s / count).collect(),
    })
}

/// The metrics of `net` on `scenes`, summed over the scenes (in the order of [`metric_names`]).
fn metric_sums(ctx: &Context<'_>, net: &dyn Network, scenes: &[Scene]) -> crate::Result<Vec<f64>> {
    let names = metric_names(ctx);
    let mut sums = vec![0.0; names.len()];
    let dt = ctx.physics.sim().dt();
    let multi_step = ctx.policy.steps() > 1;
    const CHUNK: usize = 1024;
    for chunk in scenes.chunks(CHUNK) {
        let r = rollout(ctx.physics, ctx.policy, net, chunk)?;
        for (b, scene) in chunk.iter().enumerate() {
            let states = &r.states[b];
            let controls = &r.controls[b];
            let last = &states[states.len() - 1];
            let mut values = vec![
                ctx.objective.loss(states, controls, &scene.target),
                ctx.objective.weighted_sq(&(last - &scene.target)),
            ];
            if multi_step {
                values.push(controls.iter().map(|u| u.lp_norm(1)).sum());
                values.push((&scene.target - last).lp_norm(1) / dt);
            }
            if let Some(m) = ctx.physics.metrics() {
                values.extend(m.evaluate(scene, controls, states));
            }
            for (s, v) in sums.iter_mut().zip(values) {
                *s += v;
            }
        }
    }
    Ok(sums)
}
