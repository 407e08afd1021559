//! Scale-invariant physics (SIP) updates (docs/method.md §1, §2 and §4.1).
//!
//! 1. Newton step of the loss at the final state: `s̃_T = s_T + η (s* − s_T)`.
//! 2. Physics inversion: corrected controls `ũ` that reach `s̃_T` (a step-level local inverse
//!    for single-step problems, the inversion across time or the per-step chain for episodes),
//!    and the trajectory `s̃_0..s̃_T` along which they are valid.
//! 3. Proxy loss `Σ_t ½‖y_t − sg(ỹ_t)‖²` in the network's output units, `u_t = c ⊙ y_t` and
//!    `ỹ_t = ũ_t / c` for the control scale `c` (docs/method.md §4.4): its cotangent
//!    `y_t − ỹ_t = (u_t − ũ_t) / c` on every network output, applied in a stacked backward pass.
//!    (A proxy in control units would weight the actuators by `c²` and break the invariance to
//!    the units of each control.) Closed loop, `y_t` is by default the network's output at the
//!    corrected state `s̃_t` ([`ProxyInputs::Corrected`]), so that a zero proxy means the
//!    closed-loop rollout reproduces the corrected trajectory.
//!
//! Steps 2 and 3 run on groups of episodes in parallel ([`groups`]), each group's network pass
//! and stacked backward pass on its own; the groups' gradients are summed in order.
//!
//! A failed inverse falls back, for that episode at its visited states, to the step along the
//! open-loop gradient that minimises the objective's Gauss-Newton model (the Cauchy point),
//! times `η`, as a cotangent in the same output units as the proxy's ([`fallback_cotangent`]);
//! failures are counted.

mod settings;

pub use settings::{ProxyInputs, SipInverse, SipSpec};

use super::groups::{self, Grouped, Share};
use super::{backward_cotangent_sum, Context, Update, UpdateRule, UpdateStats};
use crate::episode::settings::PolicyKind;
use crate::episode::{policy_at, rollout_chunk, CotangentUnits, Rollout};
use crate::inverse::episode::{
    constant_gramian, invert_chain, invert_episode_visited, uses_dense, EpisodeInverseSettings,
    Feedback, Gramian,
};
use crate::inverse::settings::LinearSolver;
use crate::inverse::solve;
use crate::net::Network;
use crate::objective::Objective;
use crate::sim::{Matrix, Scene, Vector};
use crate::tangent::{jvp_trajectory, vjp_pass};
use crate::values::NamedValues;
use crate::InverseError;
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// Newton step size of closed-loop episodes unless the scenario sets one: the
/// corrected-trajectory iteration is a fixed-point iteration that can overshoot at `η = 1`
/// when the corrected states move far from the visited ones (docs/method.md §4.1); measured on the
/// point mass and the pendulum, `η = 0.5` is stable and as fast.
pub const CLOSED_LOOP_ETA: f64 = 0.5;

/// The default Newton step size: [`CLOSED_LOOP_ETA`] for closed-loop episodes, else 1 (the
/// exact local inverse, docs/method.md §1).
pub fn default_eta(ctx: &Context<'_>) -> f64 {
    if ctx.policy.kind() == PolicyKind::ClosedLoop && ctx.policy.steps() > 1 {
        CLOSED_LOOP_ETA
    } else {
        1.0
    }
}

/// The SIP update rule.
#[derive(Debug, Clone)]
pub struct Sip {
    eta: f64,
    inverse: SipInverse,
    proxy: ProxyInputs,
    default_alpha: f64,
    /// For simulators with constant Jacobians (inverted without feedback, dense): the episode
    /// Gramian, the same for every episode and iteration, formed on first use.
    gramian: OnceLock<Option<Arc<Gramian>>>,
}

/// One episode's corrected controls, where they are valid, and how the inversion went.
#[derive(Debug, Clone)]
struct Correction {
    /// Teacher controls `ũ_t` at `states[t]`.
    controls: Vec<Vector>,
    /// The states `s̃_0..s̃_T` at which `controls` are valid.
    states: Vec<Vector>,
    /// Iterations of the inverse (0 for closed forms).
    iterations: usize,
    /// `‖r_after‖ / ‖r_before‖` of the terminal residual.
    residual_ratio: f64,
    /// Whether an iterative inverse met its stopping rule.
    converged: bool,
    /// Whether its last line search found no decrease.
    line_search_failed: bool,
    /// Eigenvalue range of the Gramian, if formed.
    gramian_range: Option<(f64, f64)>,
    /// Conjugate-gradient iterations over the inversion, and the largest relative residual a
    /// solve ended with, if conjugate gradients ran.
    cg: Option<(usize, f64)>,
}

/// The regularisation fields shared by `Episode` and `Chain`.
#[derive(Debug, Clone, Copy)]
struct Regularisation {
    alpha: Option<f64>,
    mu: f64,
    damping: f64,
    solver: LinearSolver,
}

/// `‖W (reached − goal)‖ / ‖W (start − goal)‖`, or 0 when the start is on the goal.
fn residual_ratio(objective: &Objective, reached: &Vector, start: &Vector, goal: &Vector) -> f64 {
    let before = weighted_distance_sq(objective, start, goal);
    if before > 0.0 {
        (weighted_distance_sq(objective, reached, goal) / before).sqrt()
    } else {
        0.0
    }
}

/// `objective.weighted_sq(&(a − b))` without forming `a − b`: the same terms in the same order.
fn weighted_distance_sq(objective: &Objective, a: &Vector, b: &Vector) -> f64 {
    a.iter()
        .zip(b.iter())
        .zip(objective.weight_sq.iter())
        .map(|((x, y), w)| {
            let e = x - y;
            w * e * e
        })
        .sum()
}

impl Sip {
    /// SIP with Newton step size `eta`, physics inversion `inverse` and proxy inputs `proxy`;
    /// the inversion's force weight defaults to the objective's.
    pub fn new(eta: f64, inverse: SipInverse, proxy: ProxyInputs, objective: &Objective) -> Self {
        Sip {
            eta,
            inverse,
            proxy,
            default_alpha: objective.force_weight,
            gramian: OnceLock::new(),
        }
    }

    fn invert(
        &self,
        ctx: &Context<'_>,
        scene: &Scene,
        states: &[Vector],
        controls: &[Vector],
        gains: Option<&[Matrix]>,
    ) -> Result<Correction, InverseError> {
        let steps = controls.len();
        let goal = ctx
            .objective
            .newton_target(&states[steps], &scene.target, self.eta);
        match &self.inverse {
            SipInverse::Step(method) => {
                let out = solve(method, ctx.physics, &states[0], &controls[0], &goal)?;
                let reached = ctx.physics.sim().step(&states[0], &out.control);
                Ok(Correction {
                    residual_ratio: residual_ratio(ctx.objective, &reached, &states[steps], &goal),
                    controls: vec![out.control],
                    states: vec![states[0].clone(), reached],
                    iterations: out.iterations,
                    converged: true,
                    line_search_failed: false,
                    gramian_range: None,
                    cg: None,
                })
            }
            SipInverse::Episode(spec) => {
                let settings = self.settings(
                    ctx,
                    Regularisation {
                        alpha: spec.alpha,
                        mu: spec.mu,
                        damping: spec.damping,
                        solver: spec.solver,
                    },
                    spec.tolerance,
                    spec.max_iterations,
                );
                let feedback = gains.map(|gains| Feedback {
                    gains,
                    reference: states,
                });
                // `states` are the rollout's: the trajectory `controls` reach open loop.
                let out = invert_episode_visited(
                    ctx.physics,
                    states,
                    controls,
                    &goal,
                    &settings,
                    feedback,
                )?;
                let residual_ratio = out.residual_ratio();
                // Along the corrected trajectory the policy must produce what was applied
                // there (feed-forward plus its linearised feedback); at the visited states,
                // where the feedback term vanishes, the feed-forward controls.
                let teacher = match self.proxy {
                    ProxyInputs::Corrected => out.applied,
                    ProxyInputs::Visited => out.controls,
                };
                Ok(Correction {
                    controls: teacher,
                    states: out.states,
                    iterations: out.iterations,
                    residual_ratio,
                    converged: out.converged,
                    line_search_failed: out.line_search_failed,
                    gramian_range: out.gramian_range,
                    cg: out.cg_residual.map(|r| (out.cg_iterations, r)),
                })
            }
            SipInverse::Chain(spec) => {
                let regularisation = Regularisation {
                    alpha: spec.alpha,
                    mu: spec.mu,
                    damping: spec.damping,
                    solver: spec.solver,
                };
                let settings = self.settings(ctx, regularisation, 1.0, 1);
                let out = invert_chain(ctx.physics, states, controls, &goal, &settings)?;
                Ok(Correction {
                    residual_ratio: residual_ratio(
                        ctx.objective,
                        &out.states[steps],
                        &states[steps],
                        &goal,
                    ),
                    controls: out.controls,
                    states: out.states,
                    iterations: 0,
                    converged: true,
                    line_search_failed: false,
                    gramian_range: None,
                    cg: None,
                })
            }
        }
    }

    /// The inversion's settings: the objective's terminal weights, the force penalty centred at
    /// `(1 − η) u⁰`, and the scenario's regularisation.
    fn settings(
        &self,
        ctx: &Context<'_>,
        regularisation: Regularisation,
        tolerance: f64,
        max_iterations: usize,
    ) -> EpisodeInverseSettings {
        let weight = ctx.objective.weight_sq.map(f64::sqrt);
        let mut settings = EpisodeInverseSettings {
            gramian: None,
            weight: Some(weight),
            damping: regularisation.damping,
            alpha: regularisation.alpha.unwrap_or(self.default_alpha),
            force_anchor: 1.0 - self.eta.min(1.0),
            mu: regularisation.mu,
            tolerance,
            max_iterations,
            solver: regularisation.solver,
            control_scale: Some(ctx.policy.control_scale().clone()),
            spectrum: ctx.diagnose,
        };
        settings.gramian = self.shared_gramian(ctx, &settings);
        settings
    }

    /// The shared Gramian when it applies: constant Jacobians, a dense solve, no feedback;
    /// in the units the settings measure the change in (the same for every call of a rule).
    fn shared_gramian(
        &self,
        ctx: &Context<'_>,
        settings: &EpisodeInverseSettings,
    ) -> Option<Arc<Gramian>> {
        let feedback = matches!(&self.inverse, SipInverse::Episode(spec) if spec.feedback);
        let jvp = ctx.physics.jvp()?;
        if feedback || !jvp.constant_jacobians() || !uses_dense(settings.solver, jvp.state_dim()) {
            return None;
        }
        let scale = settings.change_units();
        self.gramian
            .get_or_init(|| {
                let weight = settings.weight.as_ref();
                constant_gramian(ctx.physics, ctx.policy.steps(), weight, scale)
                    .ok()
                    .map(Arc::new)
            })
            .clone()
    }

    /// Whether the proxy is fitted away from the visited states.
    /// (Single-step problems have `s̃_0 = s_0`: nothing to refit.)
    fn fits_corrected(&self, ctx: &Context<'_>) -> bool {
        self.proxy == ProxyInputs::Corrected
            && ctx.policy.kind() == PolicyKind::ClosedLoop
            && ctx.policy.steps() > 1
    }
}

/// Feedback gains `K_t = ∂u_t/∂s_t` (m×n) of the closed-loop policy at every visited state:
/// `gains[b][t]`. Row `j` comes from one backward pass through the network with the output
/// cotangent `e_j`, mapped from the network input to the state by the observation's VJP.
pub fn feedback_gains(ctx: &Context<'_>, net: &dyn Network, rollout: &Rollout) -> Vec<Vec<Matrix>> {
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
                    * scale[j];
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
    Ok(vjp_pass(vjp, states, controls, &terminal, extra, None)
        .into_iter()
        .zip(controls)
        .map(|(g, u)| g + ctx.objective.force_gradient(u))
        .collect())
}

/// The fallback of an episode whose inversion failed, as a cotangent on the network's outputs in
/// the proxy's units: `η s* g_y` with `g_y = c ⊙ ∂L/∂u` the open-loop gradient with respect to
/// the outputs and `s*` the step along `−g_y` that minimises the objective's Gauss-Newton
/// model, `‖g_y‖² / q(c ⊙ g_y)` ([`Objective::curvature`] of the deviations that direction
/// causes). Like the proxy's `y − ỹ`, it is a change of the outputs: invariant to the units
/// of the loss, and zero where the gradient is. (`s* = 1` for a simulator without a JVP.)
pub fn fallback_cotangent(
    ctx: &Context<'_>,
    eta: f64,
    scene: &Scene,
    states: &[Vector],
    controls: &[Vector],
) -> crate::Result<Vec<Vector>> {
    let scale = ctx.policy.control_scale();
    let outputs: Vec<Vector> = open_loop_gradient(ctx, scene, states, controls)?
        .into_iter()
        .map(|g| g.component_mul(scale))
        .collect();
    // Without a JVP (a step-level inverse of a simulator that has none) the curvature is
    // unknown and the step is the gradient's, `η g_y`.
    let step = match ctx.physics.jvp() {
        Some(jvp) => {
            let direction: Vec<Vector> = outputs.iter().map(|g| g.component_mul(scale)).collect();
            let deviations = jvp_trajectory(jvp, states, controls, &direction, None);
            let curvature = ctx.objective.curvature(&deviations, &direction);
            let norm_sq: f64 = outputs.iter().map(|g| g.norm_squared()).sum();
            if curvature > 0.0 && curvature.is_finite() {
                eta * norm_sq / curvature
            } else {
                0.0
            }
        }
        None => eta,
    };
    Ok(outputs.into_iter().map(|g| g * step).collect())
}

/// What the update's diagnostics need of one group's inversions: the number that succeeded,
/// the sums of their Gauss-Newton iterations and residual ratios, of their conjugate-gradient
/// iterations and the largest relative residual a solve ended with (if conjugate gradients
/// ran), the Gramian eigenvalue range over the group (if formed). Reduced over the groups by [`diagnostics`].
fn diagnostic_sums(corrections: &[Result<Correction, InverseError>]) -> NamedValues {
    let ok: Vec<&Correction> = corrections.iter().filter_map(|c| c.as_ref().ok()).collect();
    let mut d = NamedValues::default();
    d.push("inverted", ok.len() as f64);
    d.push(
        "inverse_iterations",
        ok.iter().map(|c| c.iterations as f64).sum::<f64>(),
    );
    d.push(
        "residual_ratio",
        ok.iter().map(|c| c.residual_ratio).sum::<f64>(),
    );
    let solves: Vec<(usize, f64)> = ok.iter().filter_map(|c| c.cg).collect();
    if !solves.is_empty() {
        d.push(
            "cg_iterations",
            solves.iter().map(|s| s.0 as f64).sum::<f64>(),
        );
        d.push(
            "cg_residual",
            solves.iter().map(|s| s.1).fold(0.0, f64::max),
        );
    }
    let ranges: Vec<(f64, f64)> = ok.iter().filter_map(|c| c.gramian_range).collect();
    if !ranges.is_empty() {
        d.push(
            "gramian_eig_min",
            ranges.iter().map(|r| r.0).fold(f64::INFINITY, f64::min),
        );
        d.push(
            "gramian_eig_max",
            ranges.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max),
        );
    }
    d
}

/// Two consecutive parts' [`diagnostic_sums`] as one: sums added (`a` first), the Gramian
/// eigenvalue range widened; a value only one part has is kept.
fn merge_diagnostic_sums(a: NamedValues, b: &NamedValues) -> NamedValues {
    let mut d = NamedValues::default();
    let merge = |name: &str, op: fn(f64, f64) -> f64| match (a.get(name), b.get(name)) {
        (Some(x), Some(y)) => Some(op(x, y)),
        (x, y) => x.or(y),
    };
    for name in [
        "inverted",
        "inverse_iterations",
        "residual_ratio",
        "cg_iterations",
    ] {
        if let Some(v) = merge(name, |x, y| x + y) {
            d.push(name, v);
        }
    }
    if let Some(r) = merge("cg_residual", f64::max) {
        d.push("cg_residual", r);
    }
    if let Some(min) = merge("gramian_eig_min", f64::min) {
        d.push("gramian_eig_min", min);
        let max = merge("gramian_eig_max", f64::max).unwrap_or(f64::NEG_INFINITY);
        d.push("gramian_eig_max", max);
    }
    d
}

/// Per-iteration diagnostics of the inversions of one batch from its merged sums
/// ([`diagnostic_sums`], [`merge_diagnostic_sums`]): means of Gauss-Newton iterations,
/// residual ratios and conjugate-gradient iterations over the successful inversions, the
/// largest relative residual of a conjugate-gradient solve and the Gramian eigenvalue range
/// over the batch.
fn diagnostics(total: &NamedValues) -> NamedValues {
    let total_of = |name: &str| total.get(name).unwrap_or(0.0);
    let count = total_of("inverted").max(1.0);
    let mut d = NamedValues::default();
    d.push("inverse_iterations", total_of("inverse_iterations") / count);
    d.push("residual_ratio", total_of("residual_ratio") / count);
    if let Some(r) = total.get("cg_residual") {
        d.push("cg_iterations", total_of("cg_iterations") / count);
        d.push("cg_residual", r);
    }
    if let Some(min) = total.get("gramian_eig_min") {
        d.push("gramian_eig_min", min);
        let max = total.get("gramian_eig_max").unwrap_or(f64::NEG_INFINITY);
        d.push("gramian_eig_max", max);
    }
    d
}

impl Grouped for Sip {
    /// Episodes per group of the update ([`groups`]). Closed loop, the proxy's network pass
    /// has a row per step and enough of them ([`groups::episodes_per_group`]). Open loop, one
    /// row per episode, small against the inversions: the rollout's chunks ([`rollout_chunk`],
    /// sized by the physics' work), so that training unrolls and updates a group in one task.
    fn group_size(&self, ctx: &Context<'_>) -> usize {
        let steps = ctx.policy.steps();
        let n = ctx.physics.sim().state_dim();
        match ctx.policy.kind() {
            PolicyKind::ClosedLoop => groups::episodes_per_group(steps, n * steps),
            PolicyKind::OpenLoop => rollout_chunk(n, steps),
        }
    }

    /// The share of episodes `range`: their inversions, the proxy's network pass at the
    /// states it is fitted at, and its backward pass, summed over the episodes.
    fn share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
        range: Range<usize>,
    ) -> crate::Result<Share> {
        let first = range.start;
        let gains = match &self.inverse {
            SipInverse::Episode(spec) if spec.feedback => {
                Some(feedback_gains(ctx, net, &rollout.part(range.clone())))
            }
            _ => None,
        };
        let mut corrections: Vec<Result<Correction, InverseError>> = range
            .clone()
            .into_par_iter()
            .map(|b| {
                let k = gains.as_ref().map(|g| g[b - first].as_slice());
                self.invert(ctx, &scenes[b], &rollout.states[b], &rollout.controls[b], k)
            })
            .collect();
        let scenes = &scenes[range.clone()];
        let visited = &rollout.states[range.clone()];
        // Where the proxy is fitted: the corrected trajectory (visited states for episodes
        // whose inverse failed), or the visited states.
        let fit = if self.fits_corrected(ctx) {
            let states: Vec<Vec<Vector>> = corrections
                .iter()
                .zip(visited)
                .map(|(c, visited)| c.as_ref().map_or(visited, |c| &c.states).clone())
                .collect();
            Cow::Owned(policy_at(ctx.policy, net, scenes, &states))
        } else {
            rollout.part(range.clone())
        };
        let mut stats = UpdateStats::default();
        let scale = ctx.policy.control_scale();
        let mut cotangents = Vec::with_capacity(scenes.len());
        for (i, correction) in corrections.iter_mut().enumerate() {
            match correction {
                Ok(c) => {
                    stats.inverse_unconverged += usize::from(!c.converged);
                    stats.line_search_failures += usize::from(c.line_search_failed);
                    // `y_t − ỹ_t = (u_t − ũ_t) / c`, written over the teacher controls (not
                    // needed after this).
                    let mut cotangent = std::mem::take(&mut c.controls);
                    for (x, u) in cotangent.iter_mut().zip(&fit.controls[i]) {
                        for ((xi, ui), ci) in x.iter_mut().zip(u.iter()).zip(scale.iter()) {
                            *xi = (ui - *xi) / ci;
                        }
                    }
                    cotangents.push(cotangent);
                }
                Err(_) => {
                    stats.inverse_failures += 1;
                    cotangents.push(fallback_cotangent(
                        ctx,
                        self.eta,
                        &scenes[i],
                        &rollout.states[first + i],
                        &rollout.controls[first + i],
                    )?);
                }
            }
        }
        let units = CotangentUnits::Output;
        Ok(Share {
            grads: backward_cotangent_sum(ctx, net, &fit, &cotangents, units),
            stats,
            diagnostics: diagnostic_sums(&corrections),
        })
    }

    /// The inversions' partial sums of two consecutive parts, merged.
    fn merge_diagnostics(&self, a: NamedValues, b: &NamedValues) -> NamedValues {
        merge_diagnostic_sums(a, b)
    }

    /// The inversions' diagnostics from the batch's sums.
    fn finish_diagnostics(&self, total: NamedValues) -> NamedValues {
        diagnostics(&total)
    }
}

impl UpdateRule for Sip {
    /// The inversions, the proxy's network passes and its backward pass run on groups of
    /// episodes in parallel ([`groups`]); the groups' gradients are summed in order.
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
