//! Physics inversion across time (docs/method.md §2.2).
//!
//! Finds controls `ũ_0..ũ_{T−1}` that, simulated open loop from `s_0`, reach `s̃_T`, changing
//! the controls as little as possible. Each Gauss-Newton iteration linearises the episode,
//! `δs_T = Σ_t J_t δu_t`, and solves
//! `min_δ ½‖J δ − r‖² + ½ α ‖u + δ − ρ u⁰‖² + ½ μ ‖u + δ − u⁰‖²` (`r = s̃_T − s_T(u)`, `u⁰`
//! the rollout's controls: `μ` is a prior anchored there, docs/method.md §4.3, not a per-iterate
//! damping; the force penalty is centred at `ρ u⁰`, `ρ = 0` for the force itself), whose
//! solution needs only the `n×n` Gramian `G = Σ_t J_t J_tᵀ`: with `c = α + μ` and
//! `w = (α (u − ρ u⁰) + μ (u − u⁰)) / c`,
//! `δ = −w + Jᵀ (G + c I)⁻¹ (r + J w)`
//! (`δ = Jᵀ G⁻¹ r`, the minimum-norm correction, when `c = 0`). Each step's correction is
//! `J_tᵀ y` — one backward VJP sweep once `y` is known. `G` is formed densely for small `n` by
//! the recurrence `P ← A_t P A_tᵀ + B_t B_tᵀ` over per-step Jacobians, or applied matrix-free (`G v = J (Jᵀ v)`, one VJP and one JVP
//! sweep) inside conjugate gradients for large `n`. The step is accepted with backtracking on
//! the merit `½‖s_T − s̃_T‖² + ½ α ‖u − ρ u⁰‖² + ½ μ ‖u − u⁰‖²`; iteration stops when
//! `‖s_T − s̃_T‖ ≤ tolerance · (1 + ‖s̃_T‖)`, or, with `c > 0`, when an accepted step no longer
//! lowers the merit and the merit's gradient is below `tolerance` relative to its norm at the
//! rollout (the regularised optimum). A line search that finds no decrease is not
//! convergence: it is reported as [`EpisodeInverseOutcome::line_search_failed`].
//!
//! With terminal weights `W` only the components of non-zero weight are constrained: the
//! residual is `W r` and the Gramian `W G_SS W` over the constrained rows `S`, so free
//! directions stay free instead of being held at their rollout values.
//!
//! The outcome carries the corrected trajectory `s̃_0..s̃_T` that the controls produce, so that a
//! closed-loop proxy can be fitted where the corrected controls are valid (docs/method.md §4.1).

use crate::inverse::settings::LinearSolver;
use crate::inverse::{solve, InverseMethod};
use crate::sim::dimensions::checked_step_into;
use crate::sim::{Jvp, Matrix, Physics, Vector, Vjp};
use crate::tangent::{jvp_pass, jvp_trajectory, vjp_pass};
use crate::InverseError;
use std::sync::Arc;

/// State dimension up to which [`LinearSolver::Auto`] uses the dense solver.
pub const DENSE_MAX_STATE_DIM: usize = 64;
/// Relative merit decrease below which an iteration may be stationary: it is if the merit's
/// gradient is also below the tolerance relative to its norm at the rollout. A stall alone is
/// not, since damped steps along weak directions lower the merit slowly far from the optimum.
const STALL: f64 = 1e-6;
/// Relative size `‖δ ⊘ c‖ / (1 + ‖u ⊘ c‖)` of a Gauss-Newton step, in the network's output
/// units (`c` the control scale, if known), below which the controls are stationary
/// (first-order optimal up to round-off): no line search is needed, or possible. Measured in
/// control units, a system whose controls are tiny (a mass of 1e-150 kg) looked stationary
/// at its first step.
const STATIONARY_STEP: f64 = 1e-12;
/// Step halvings tried by the backtracking line search.
const MAX_HALVINGS: usize = 12;

/// Settings of the inversion.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeInverseSettings {
    /// Diagonal terminal weights `W` (length `n`; default all ones): the inversion reaches
    /// `W s̃_T` and leaves components of weight 0 free.
    pub weight: Option<Vector>,
    /// The Gramian over the constrained rows, precomputed: valid only for simulators with
    /// constant Jacobians ([`Jvp::constant_jacobians`]) inverted without feedback, where it is
    /// the same for every episode (see [`constant_gramian`]). `None`: formed per iteration.
    pub gramian: Option<Arc<Gramian>>,
    /// Levenberg-Marquardt damping of each Gauss-Newton solve relative to the Gramian's largest
    /// eigenvalue: `(G + (α + μ + τ λ_max) I) y = …` (docs/method.md §4.3). It shortens steps along
    /// weak directions without changing where the iteration converges; with a bounded
    /// `max_iterations` it acts as a truncated solve. 0: none.
    pub damping: f64,
    /// Force weight `α ≥ 0` of the penalty `½ α ‖ũ − ρ u⁰‖²`.
    pub alpha: f64,
    /// Where the force penalty is centred, as a fraction `ρ ∈ [0, 1]` of the rollout's
    /// controls: `0` penalises the force itself. SIP uses `ρ = 1 − η`, the Newton step of the
    /// force penalty in control space, so that its iteration is stationary exactly where the
    /// whole objective is (docs/method.md §4.3).
    pub force_anchor: f64,
    /// Weight `μ ≥ 0` of the prior `½ μ ‖ũ − u⁰‖²` anchored at the rollout's controls `u⁰`.
    pub mu: f64,
    /// Relative residual tolerance.
    pub tolerance: f64,
    /// Gauss-Newton iterations at most.
    pub max_iterations: usize,
    /// Linear solver.
    pub solver: LinearSolver,
    /// The units in which the correction is the least change when nothing else chooses it
    /// (`α + μ = 0`): per control component `c_i`, the correction minimises `Σ_t ‖δ_t ⊘ c‖²`,
    /// the change of the network's output for a policy `u = c ⊙ y`, so that the inversion does
    /// not depend on the units each control is measured in (docs/method.md §4.4); the Gramian is
    /// `Σ_t J_t C² J_tᵀ` and the Levenberg-Marquardt shift is relative to its `λ_max`. `None`:
    /// control units. With `α + μ > 0` the penalties choose (in control units, as the
    /// objective's force weight is) and this is not used.
    pub control_scale: Option<Vector>,
    /// Whether to report the eigenvalue range of a Gramian formed per iteration
    /// ([`EpisodeInverseOutcome::gramian_range`]), a diagnostic that costs an eigen-solve per
    /// episode. It is found anyway when `damping > 0`, which needs `λ_max`.
    pub spectrum: bool,
}

impl Default for EpisodeInverseSettings {
    /// The exact inversion: no weights, penalties or damping, tolerance 1e-10, at most 20
    /// Gauss-Newton iterations, the automatic solver, change in control units, no spectrum.
    fn default() -> Self {
        EpisodeInverseSettings {
            weight: None,
            gramian: None,
            damping: 0.0,
            alpha: 0.0,
            force_anchor: 0.0,
            mu: 0.0,
            tolerance: 1e-10,
            max_iterations: 20,
            solver: LinearSolver::Auto,
            control_scale: None,
            spectrum: false,
        }
    }
}

impl EpisodeInverseSettings {
    /// The control scale the least change is measured in, if it is used: only without
    /// penalties ([`EpisodeInverseSettings::control_scale`]).
    pub fn change_units(&self) -> Option<&Vector> {
        self.control_scale
            .as_ref()
            .filter(|_| self.alpha + self.mu == 0.0)
    }
}

/// Result of an inversion.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeInverseOutcome {
    /// Corrected (feed-forward) controls `ũ_t`, `t = 0..T`.
    pub controls: Vec<Vector>,
    /// The corrected trajectory `s̃_0..s̃_T` these controls produce (with the linearised
    /// feedback, if any); `s̃_0 = s_0`.
    pub states: Vec<Vector>,
    /// Controls applied along `states`: `controls` plus the linearised feedback, if any.
    pub applied: Vec<Vector>,
    /// Gauss-Newton iterations used.
    pub iterations: usize,
    /// Weighted terminal residual `‖W (s_T(u⁰) − s̃_T)‖` before the first iteration.
    pub initial_residual: f64,
    /// Final weighted residual `‖W (s_T(ũ) − s̃_T)‖`.
    pub residual: f64,
    /// Whether the residual met the tolerance or, with `α + μ > 0`, an accepted step became
    /// stationary at the regularised optimum.
    pub converged: bool,
    /// Whether the last line search found no step that lowers the merit (never convergence).
    pub line_search_failed: bool,
    /// Smallest and largest eigenvalue of the Gramian `G` (without `c I`) at the rollout, when
    /// the dense solver formed it and [`EpisodeInverseSettings::spectrum`] asked for it (or
    /// the Gramian was shared).
    pub gramian_range: Option<(f64, f64)>,
    /// Conjugate-gradient iterations summed over the Gauss-Newton iterations (0 when the
    /// dense solver ran).
    pub cg_iterations: usize,
    /// The largest relative residual `‖b − A y‖ / ‖b‖` a conjugate-gradient solve ended with,
    /// if any ran: above the solver's tolerance, `max_iterations` cut it short.
    pub cg_residual: Option<f64>,
}

impl EpisodeInverseOutcome {
    /// `‖r_after‖ / ‖r_before‖`: the fraction of the terminal residual the inversion left
    /// (0 when it started on target).
    pub fn residual_ratio(&self) -> f64 {
        if self.initial_residual > 0.0 {
            self.residual / self.initial_residual
        } else {
            0.0
        }
    }
}

/// A closed-loop policy linearised around its rollout: the control applied at step `t` is
/// `u_t + K_t (s_t − s_t^ref)` with `K_t = ∂u_t/∂s_t` (m×n), the policy's sensitivity to the
/// state at the visited state `s_t^ref`.
#[derive(Debug, Clone, Copy)]
pub struct Feedback<'a> {
    /// Gains `K_t`, one per step.
    pub gains: &'a [Matrix],
    /// Visited states `s_t^ref`, `t = 0..T`.
    pub reference: &'a [Vector],
}

/// Inverts the episode from `initial` with current `controls` towards `target` (= `s̃_T`),
/// simulated open loop. Errors only when no progress is possible (singular system,
/// non-finite numbers); an iteration that improved but did not reach the tolerance returns
/// `converged: false`.
pub fn invert_episode(
    physics: &Physics,
    initial: &Vector,
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
) -> Result<EpisodeInverseOutcome, InverseError> {
    invert_episode_with_feedback(physics, initial, controls, target, settings, None)
}

/// [`invert_episode`] for a closed-loop policy: the corrected feed-forward controls `ũ_t` are
/// found for the episode simulated *with* the linearised feedback, so that the correction
/// accounts for how the policy's own reaction to the changed states adds to it. The linear
/// algebra is the same with `A_t` replaced by `Ã_t = A_t + B_t K_t`.
///
/// The force weight and the prior act on the controls applied, `ũ_t + K_t (s̃_t − s_t)`
/// (docs/method.md §4.3): with `α + μ > 0` the inversion is the regularised optimum over the applied
/// controls, which is the open-loop inversion's, and the feed-forward controls are recovered
/// from it, `ũ_t = a_t − K_t (s̃_t − s_t)`. Without penalties the feedback chooses among the
/// controls that reach the target the one of least feed-forward change.
pub fn invert_episode_with_feedback(
    physics: &Physics,
    initial: &Vector,
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
    feedback: Option<Feedback<'_>>,
) -> Result<EpisodeInverseOutcome, InverseError> {
    invert_episode_from(physics, initial, controls, None, target, settings, feedback)
}

/// The first state of a visited trajectory, and the trajectory if it has one state per control
/// and one more.
fn start<'a>(
    visited: &'a [Vector],
    controls: &[Vector],
) -> Result<(&'a Vector, Option<&'a [Vector]>), InverseError> {
    let initial = visited.first().ok_or_else(|| InverseError::Singular {
        reason: "empty visited trajectory".into(),
    })?;
    Ok((
        initial,
        (visited.len() == controls.len() + 1).then_some(visited),
    ))
}

/// The regularised inversion over the controls applied with feedback `feedback`: the open-loop
/// inversion from the rollout (`feedback.reference`, reached by `controls`, which are the
/// controls applied there), its feed-forward controls recovered from the applied ones.
fn invert_applied(
    physics: &Physics,
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
    feedback: Feedback<'_>,
) -> Result<EpisodeInverseOutcome, InverseError> {
    let visited = feedback.reference;
    let (initial, visited) = start(visited, controls)?;
    let mut out = invert_episode_from(physics, initial, controls, visited, target, settings, None)?;
    out.controls = out
        .applied
        .iter()
        .zip(&out.states)
        .zip(feedback.gains.iter().zip(feedback.reference))
        .map(|((a, s), (k, reference))| a - k * (s - reference))
        .collect();
    Ok(out)
}

/// [`invert_episode_with_feedback`] for controls whose open-loop trajectory is already known:
/// `visited` (`s_0..s_T` with `s_0 = initial`, the states `controls` reach simulated open loop,
/// e.g. a rollout's) saves the first simulation. Ignored with feedback. Same result as
/// [`invert_episode_with_feedback`] bit for bit when `visited` is that trajectory.
pub fn invert_episode_visited(
    physics: &Physics,
    visited: &[Vector],
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
    feedback: Option<Feedback<'_>>,
) -> Result<EpisodeInverseOutcome, InverseError> {
    let (initial, visited) = start(visited, controls)?;
    invert_episode_from(
        physics, initial, controls, visited, target, settings, feedback,
    )
}

/// The inversion itself. The line search reuses its trial buffers (controls, states, applied
/// controls), swapped with the current ones on acceptance, so that an iteration allocates
/// only in the Gauss-Newton solve.
fn invert_episode_from(
    physics: &Physics,
    initial: &Vector,
    controls: &[Vector],
    visited: Option<&[Vector]>,
    target: &Vector,
    settings: &EpisodeInverseSettings,
    feedback: Option<Feedback<'_>>,
) -> Result<EpisodeInverseOutcome, InverseError> {
    if let Some(feedback) = feedback.filter(|_| settings.alpha + settings.mu > 0.0) {
        return invert_applied(physics, controls, target, settings, feedback);
    }
    let missing = |capability| physics.missing_capability(capability);
    let jvp = physics.jvp().ok_or_else(|| missing("JVP"))?;
    let vjp = physics.vjp().ok_or_else(|| missing("VJP"))?;
    let weighted = |v: Vector| match &settings.weight {
        Some(w) => v.component_mul(w),
        None => v,
    };
    let threshold = settings.tolerance * (1.0 + weighted(target.clone()).norm());
    // `‖W (s̃_T − s_T)‖²` through a reused buffer: the same numbers as
    // `weighted(target − s_T).norm_squared()`.
    let mut residual_buffer = Vector::zeros(target.len());
    let mut residual_sq = |states: &[Vector]| {
        let last = states.last().unwrap_or(initial);
        for i in 0..target.len() {
            residual_buffer[i] = target[i] - last[i];
        }
        if let Some(w) = &settings.weight {
            residual_buffer.component_mul_assign(w);
        }
        residual_buffer.norm_squared()
    };
    let sim_error = |e: crate::Error| InverseError::Singular {
        reason: e.to_string(),
    };
    let run = |u: &[Vector], states: &mut Vec<Vector>, applied: &mut Vec<Vector>| {
        simulate_with_feedback_into(physics, initial, u, feedback, states, applied)
    };
    let gains = feedback.map(|f| f.gains);
    let mut u = controls.to_vec();
    // Without feedback the applied controls are `u` itself and `applied` stays empty.
    let (mut states, mut applied) = (Vec::new(), Vec::new());
    match visited.filter(|_| feedback.is_none()) {
        Some(visited) => states = visited.to_vec(),
        None => run(&u, &mut states, &mut applied).map_err(sim_error)?,
    }
    // Prior terms through a reused buffer: the same numbers as
    // `α ‖x − ρ x⁰‖² + μ ‖x − x⁰‖²` summed over the steps.
    let mut prior_buffer = Vector::zeros(controls.first().map_or(0, |x| x.len()));
    let mut prior = |u: &[Vector]| -> f64 {
        u.iter()
            .zip(controls)
            .map(|(x, x0)| {
                for i in 0..x.len() {
                    prior_buffer[i] = x[i] - x0[i] * settings.force_anchor;
                }
                let force = settings.alpha * prior_buffer.norm_squared();
                for i in 0..x.len() {
                    prior_buffer[i] = x[i] - x0[i];
                }
                force + settings.mu * prior_buffer.norm_squared()
            })
            .sum()
    };
    // `‖∇ merit‖ = ‖Jᵀ W² (s_T − s̃_T) + α (u − ρ u⁰) + μ (u − u⁰)‖` at feed-forward `u`
    // reaching `states` with `applied` controls: one VJP sweep.
    let merit_gradient = |states: &[Vector], u: &[Vector], applied: &[Vector]| -> f64 {
        let last = states.last().unwrap_or(initial);
        let mut cotangent = last - target;
        if let Some(w) = &settings.weight {
            cotangent.component_mul_assign(&w.component_mul(w));
        }
        let pulled = vjp_pass(vjp, states, applied, &cotangent, None, gains);
        pulled
            .iter()
            .zip(u)
            .zip(controls)
            .map(|((g, x), x0)| {
                let pull =
                    (x - x0 * settings.force_anchor) * settings.alpha + (x - x0) * settings.mu;
                (g + pull).norm_squared()
            })
            .sum::<f64>()
            .sqrt()
    };
    let linearised = |u: &[Vector], applied: &[Vector]| -> Vec<Vector> {
        if feedback.is_some() {
            applied.to_vec()
        } else {
            u.to_vec()
        }
    };
    let regularised = settings.alpha + settings.mu > 0.0;
    let initial_gradient = if regularised {
        merit_gradient(&states, &u, &linearised(&u, &applied))
    } else {
        0.0
    };
    let initial_residual = residual_sq(&states).sqrt();
    let mut current = 0.5 * residual_sq(&states) + 0.5 * prior(&u);
    let mut iterations = 0;
    let mut stationary = false;
    let mut line_search_failed = false;
    let mut gramian_range = None;
    let (mut cg_iterations, mut cg_residual) = (0, None);
    let (mut trial, mut trial_states, mut trial_applied) = (u.clone(), Vec::new(), Vec::new());
    while iterations < settings.max_iterations {
        if residual_sq(&states).sqrt() <= threshold {
            break;
        }
        let r = target - states.last().unwrap_or(initial);
        iterations += 1;
        let point = Linearisation {
            states: &states,
            applied: if feedback.is_some() { &applied } else { &u },
            gains,
        };
        let step = gauss_newton_step(jvp, vjp, &point, &u, controls, &r, settings)?;
        gramian_range = gramian_range.or(step.gramian_range);
        if let Some(solve) = step.solve {
            cg_iterations += solve.iterations;
            cg_residual = Some(cg_residual.map_or(solve.relative_residual, |r: f64| {
                r.max(solve.relative_residual)
            }));
        }
        let in_output_units = |x: &[Vector]| scaled_norm(x, settings.control_scale.as_ref());
        if in_output_units(&step.delta) <= STATIONARY_STEP * (1.0 + in_output_units(&u)) {
            stationary = true;
            break;
        }
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..=MAX_HALVINGS {
            for ((x, a), d) in trial.iter_mut().zip(&u).zip(&step.delta) {
                for i in 0..a.len() {
                    x[i] = a[i] + d[i] * scale;
                }
            }
            if run(&trial, &mut trial_states, &mut trial_applied).is_ok() {
                let value = 0.5 * residual_sq(&trial_states) + 0.5 * prior(&trial);
                if value.is_finite() && value < current {
                    // With α + μ > 0 the residual need not vanish: stop once the merit
                    // stalls at a point where its gradient (nearly) vanishes.
                    stationary = current - value <= STALL * current;
                    std::mem::swap(&mut u, &mut trial);
                    std::mem::swap(&mut states, &mut trial_states);
                    std::mem::swap(&mut applied, &mut trial_applied);
                    current = value;
                    accepted = true;
                    if stationary {
                        let gradient = merit_gradient(&states, &u, &linearised(&u, &applied));
                        stationary = gradient <= settings.tolerance * initial_gradient;
                    }
                    break;
                }
            }
            scale *= 0.5;
        }
        if !accepted {
            line_search_failed = true;
            break;
        }
        if stationary {
            break;
        }
    }
    let residual = residual_sq(&states).sqrt();
    if !residual.is_finite() {
        return Err(InverseError::Singular {
            reason: "non-finite residual".into(),
        });
    }
    let converged = residual <= threshold || (regularised && stationary && !line_search_failed);
    if feedback.is_none() {
        applied = u.clone();
    }
    Ok(EpisodeInverseOutcome {
        controls: u,
        states,
        applied,
        iterations,
        initial_residual,
        residual,
        converged,
        line_search_failed,
        gramian_range,
        cg_iterations,
        cg_residual,
    })
}

/// Euclidean norm of a control sequence.
fn norm(u: &[Vector]) -> f64 {
    u.iter().map(|x| x.norm_squared()).sum::<f64>().sqrt()
}

/// `‖u ⊘ c‖` over every step (`‖u‖` without a scale).
fn scaled_norm(u: &[Vector], scale: Option<&Vector>) -> f64 {
    match scale {
        Some(c) => u
            .iter()
            .map(|x| x.component_div(c).norm_squared())
            .sum::<f64>()
            .sqrt(),
        None => norm(u),
    }
}

/// Where the episode is linearised: visited states, the controls actually applied there, and
/// the feedback gains if the policy is closed loop.
struct Linearisation<'a> {
    states: &'a [Vector],
    applied: &'a [Vector],
    gains: Option<&'a [Matrix]>,
}

/// Simulates feed-forward controls `u`, adding the linearised feedback if any, into `states`
/// (`s_0..s_T`) and, with feedback, `applied` (the controls applied; without feedback they
/// are `u` and `applied` is left alone), reusing their vectors.
fn simulate_with_feedback_into(
    physics: &Physics,
    initial: &Vector,
    u: &[Vector],
    feedback: Option<Feedback<'_>>,
    states: &mut Vec<Vector>,
    applied: &mut Vec<Vector>,
) -> crate::Result<()> {
    let sim = physics.sim();
    states.resize_with(u.len() + 1, || Vector::zeros(0));
    if feedback.is_some() {
        applied.resize_with(u.len(), || Vector::zeros(0));
    }
    assign(&mut states[0], initial);
    for (t, ut) in u.iter().enumerate() {
        let (done, rest) = states.split_at_mut(t + 1);
        let (state, next) = (&done[t], &mut rest[0]);
        match feedback {
            Some(fb) => {
                applied[t] = ut + &fb.gains[t] * (state - &fb.reference[t]);
                sim.step_into(state, &applied[t], next);
            }
            None => checked_step_into(sim, state, ut, next)?,
        }
        if !next.iter().all(|x| x.is_finite()) {
            return Err(crate::Error::NonFinite {
                episode: 0,
                step: t + 1,
            });
        }
    }
    Ok(())
}

/// `dst ← src`, in place when the lengths agree (nalgebra's `clone_from` reallocates).
fn assign(dst: &mut Vector, src: &Vector) {
    if dst.len() == src.len() {
        dst.copy_from(src);
    } else {
        *dst = src.clone();
    }
}

/// Whether `solver` forms the Gramian densely for state dimension `n`.
pub fn uses_dense(solver: LinearSolver, n: usize) -> bool {
    match solver {
        LinearSolver::Dense => true,
        LinearSolver::Auto => n <= DENSE_MAX_STATE_DIM,
        LinearSolver::Cg { .. } => false,
    }
}

/// A dense Gramian `W G_SS W` over the constrained rows (without the `c I` shift) and its
/// eigenvalue range.
#[derive(Debug, Clone, PartialEq)]
pub struct Gramian {
    /// The matrix (`k × k`, `k` constrained rows).
    pub matrix: Matrix,
    /// Its smallest and largest eigenvalue, if finite.
    pub range: Option<(f64, f64)>,
}

impl Gramian {
    /// `matrix` with its eigenvalue range if `spectrum`, else without.
    fn new(matrix: Matrix, spectrum: bool) -> Self {
        let range = if spectrum {
            eigenvalue_range(&matrix)
        } else {
            None
        };
        Gramian { matrix, range }
    }
}

/// The episode Gramian of a simulator with constant Jacobians over `steps` steps, for the
/// terminal weights `weight`, in the units of the control scale `scale` if given
/// (`Σ_t J_t C² J_tᵀ`, [`EpisodeInverseSettings::control_scale`]): the same for every episode,
/// so an update rule computes it once.
pub fn constant_gramian(
    physics: &Physics,
    steps: usize,
    weight: Option<&Vector>,
    scale: Option<&Vector>,
) -> Result<Gramian, InverseError> {
    let jvp = physics
        .jvp()
        .ok_or_else(|| physics.missing_capability("JVP"))?;
    let (n, m) = (jvp.state_dim(), jvp.control_dim());
    let states = vec![Vector::zeros(n); steps + 1];
    let controls = vec![Vector::zeros(m); steps];
    let g = controllability_gramian(jvp, &states, &controls, None, scale);
    Ok(Gramian::new(Rows::new(weight, n).project(&g), true))
}

/// One regularised Gauss-Newton correction and what was learnt forming it.
struct GaussNewtonStep {
    /// `δ_t` for every step.
    delta: Vec<Vector>,
    /// Eigenvalue range of `G` if it was formed densely.
    gramian_range: Option<(f64, f64)>,
    /// How conjugate gradients went, if they solved the system.
    solve: Option<CgReport>,
}

/// One regularised Gauss-Newton correction `δ_t` of the feed-forward controls `u`, with the
/// prior anchored at `anchor` (`u⁰`), for the terminal residual `r` weighted by
/// `settings.weight` (only components of non-zero weight are constrained).
fn gauss_newton_step(
    jvp: &dyn Jvp,
    vjp: &dyn Vjp,
    point: &Linearisation<'_>,
    u: &[Vector],
    anchor: &[Vector],
    r: &Vector,
    settings: &EpisodeInverseSettings,
) -> Result<GaussNewtonStep, InverseError> {
    let Linearisation {
        states,
        applied,
        gains,
    } = *point;
    let n = r.len();
    let c = settings.alpha + settings.mu;
    let rows = Rows::new(settings.weight.as_ref(), n);
    let k = rows.rows.len();
    let scale = settings.change_units();
    // `δ = C² Jᵀ Sᵀ Ω y`: the back-projection of a cotangent on the constrained rows, in the
    // units the change is measured in (`C²` formed once, not per step and call).
    let scale_sq = scale.map(|c| c.component_mul(c));
    let back = |y: &Vector| {
        let mut delta = vjp_pass(vjp, states, applied, &rows.scatter(y), None, gains);
        if let Some(c2) = &scale_sq {
            for d in &mut delta {
                d.component_mul_assign(c2);
            }
        }
        delta
    };
    // `W G_SS W v = Ω S J C² Jᵀ Sᵀ Ω v`, one VJP and one JVP sweep.
    let gramian_times = |v: &Vector| rows.gather(&jvp_pass(jvp, states, applied, &back(v), gains));
    // The system `G + (c + d) I` with the Levenberg-Marquardt shift `d = τ λ_max`, as a dense
    // matrix or an operator for conjugate gradients.
    let mut gramian_range = None;
    let system = if uses_dense(settings.solver, n) {
        let formed;
        let gramian = match (&settings.gramian, gains) {
            (Some(shared), None) => shared.as_ref(),
            _ => {
                let g = controllability_gramian(jvp, states, applied, gains, scale);
                let spectrum = settings.spectrum || settings.damping > 0.0;
                formed = Gramian::new(rows.project(&g), spectrum);
                &formed
            }
        };
        gramian_range = gramian.range;
        let d = settings.damping * gramian_range.map_or(0.0, |(_, max)| max);
        let mut g = gramian.matrix.clone();
        for i in 0..k {
            g[(i, i)] += c + d;
        }
        System::Dense { matrix: g, d }
    } else {
        let d = settings.damping * largest_eigenvalue(&gramian_times, k);
        System::Operator { d }
    };
    // `w′ = c / (c + d) · w` with `w = (α (u − ρ u⁰) + μ (u − u⁰)) / c`, the penalties' pull
    // (zero without them), in both the right-hand side and the step: then
    // `(JᵀJ + (c + d) I) δ = Jᵀ r − c w`, whose fixed point `δ = 0` is the optimum of the
    // undamped penalties (docs/method.md §4.3). Without the factor the iteration would converge to the
    // optimum of penalties inflated by `(c + d) / c`.
    let shift = c + system.d();
    let w: Option<Vec<Vector>> = (c > 0.0).then(|| {
        u.iter()
            .zip(anchor)
            .map(|(ut, u0)| {
                ((ut - u0 * settings.force_anchor) * settings.alpha + (ut - u0) * settings.mu)
                    / shift
            })
            .collect()
    });
    let mut rhs = r.clone();
    if let Some(w) = &w {
        rhs += jvp_pass(jvp, states, applied, w, gains);
    }
    let rhs = rows.gather(&rhs);
    let mut solve = None;
    let y = match system {
        System::Dense { matrix, .. } => solve_spd(matrix, &rhs)?,
        System::Operator { d } => {
            let (tolerance, max_iterations) = match settings.solver {
                LinearSolver::Cg {
                    tolerance,
                    max_iterations,
                } => (tolerance, max_iterations),
                _ => (1e-12, 4 * n),
            };
            let apply = |v: &Vector| gramian_times(v) + v * (c + d);
            let (y, report) = conjugate_gradient(apply, &rhs, tolerance, max_iterations)?;
            solve = Some(report);
            y
        }
    };
    let mut delta = back(&y);
    if let Some(w) = &w {
        delta.iter_mut().zip(w).for_each(|(d, wt)| *d -= wt);
    }
    if delta.iter().all(|d| d.iter().all(|x| x.is_finite())) {
        Ok(GaussNewtonStep {
            delta,
            gramian_range,
            solve,
        })
    } else {
        Err(InverseError::Singular {
            reason: "non-finite Gauss-Newton step".into(),
        })
    }
}

/// The shifted Gramian system of one Gauss-Newton step and its Levenberg-Marquardt shift `d`.
enum System {
    /// `G + (c + d) I`, formed.
    Dense { matrix: Matrix, d: f64 },
    /// Applied matrix-free inside conjugate gradients.
    Operator { d: f64 },
}

impl System {
    fn d(&self) -> f64 {
        match self {
            System::Dense { d, .. } | System::Operator { d } => *d,
        }
    }
}

/// The constrained rows of the terminal residual: components of non-zero weight, scaled by
/// their weight. `D = Ω S J` is the weighted episode map; `D Dᵀ = Ω G_SS Ω`, and a
/// cotangent `y` on the rows maps back to `Sᵀ Ω y` on the state.
struct Rows {
    /// `(state index, weight)` of every constrained component.
    rows: Vec<(usize, f64)>,
    n: usize,
}

impl Rows {
    fn new(weight: Option<&Vector>, n: usize) -> Self {
        let rows = match weight {
            Some(w) => w
                .iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0)
                .map(|(i, x)| (i, *x))
                .collect(),
            None => (0..n).map(|i| (i, 1.0)).collect(),
        };
        Rows { rows, n }
    }

    /// `Ω S v`.
    fn gather(&self, v: &Vector) -> Vector {
        Vector::from_iterator(self.rows.len(), self.rows.iter().map(|&(i, w)| w * v[i]))
    }

    /// `Sᵀ Ω y`.
    fn scatter(&self, y: &Vector) -> Vector {
        let mut out = Vector::zeros(self.n);
        for (&(i, w), value) in self.rows.iter().zip(y.iter()) {
            out[i] = w * value;
        }
        out
    }

    /// `Ω G_SS Ω`.
    fn project(&self, g: &Matrix) -> Matrix {
        let k = self.rows.len();
        Matrix::from_fn(k, k, |a, b| {
            let (i, wi) = self.rows[a];
            let (j, wj) = self.rows[b];
            wi * g[(i, j)] * wj
        })
    }
}

/// Largest eigenvalue of a symmetric positive semi-definite operator of size `k`, by 30 power
/// iterations from a fixed start (enough for a damping that is a fraction of it).
fn largest_eigenvalue(apply: &dyn Fn(&Vector) -> Vector, k: usize) -> f64 {
    let mut v = Vector::from_element(k, 1.0 / (k.max(1) as f64).sqrt());
    let mut value = 0.0;
    for _ in 0..30 {
        let next = apply(&v);
        value = v.dot(&next);
        let norm = next.norm();
        if norm == 0.0 || !norm.is_finite() {
            break;
        }
        v = next / norm;
    }
    value
}

/// Smallest and largest eigenvalue of a Gramian (symmetric positive semi-definite), if finite.
/// An eigenvalue within the eigen-solver's round-off of zero, `n ε λ_max`, is reported as 0: a
/// negative one there (a Burgers run with `dt: 10` showed −2.6e29 beside a huge λ_max) is the
/// solver's error, not the Gramian's.
fn eigenvalue_range(g: &Matrix) -> Option<(f64, f64)> {
    if !g.iter().all(|x| x.is_finite()) {
        return None;
    }
    let eig = g.clone().symmetric_eigenvalues();
    let (min, max) = (eig.min(), eig.max());
    let round_off = g.nrows() as f64 * f64::EPSILON * max.abs();
    Some((if min.abs() <= round_off { 0.0 } else { min }, max))
}

/// `G = Σ_t J_t J_tᵀ` by the forward recurrence `P ← A_t P A_tᵀ + B_t B_tᵀ` (the discrete
/// controllability Gramian), without forming the `J_t`; `A_t + B_t K_t` with feedback gains,
/// `B_t C` in the units of a control scale `C = diag(scale)`.
///
/// The products run in faer on one thread into two buffers allocated once: at the small sizes
/// of a dense Gramian (`n ≤ 64`) they take half the time of nalgebra's, which packs both
/// operands and allocates the transpose and every intermediate. A diagonal `B` (Burgers' `Δt I`)
/// needs no product for `B Bᵀ`. (Accumulating `A P Aᵀ` onto `B Bᵀ` in the product instead of
/// the `+ 0` pass below was measured 8 % slower on a Burgers SIP iteration: faer's accumulating
/// path is slower at these sizes.)
fn controllability_gramian(
    jvp: &dyn Jvp,
    states: &[Vector],
    applied: &[Vector],
    gains: Option<&[Matrix]>,
    scale: Option<&Vector>,
) -> Matrix {
    use faer::Accum::{Add, Replace};
    let n = jvp.state_dim();
    let mut p = Matrix::zeros(n, n);
    let mut ap = Matrix::zeros(n, n);
    for (t, (state, control)) in states.iter().zip(applied).enumerate() {
        let (mut a, mut b) = jvp.jacobians(state, control);
        if let Some(k) = gains {
            a += &b * &k[t];
        }
        if let Some(scale) = scale {
            for (mut column, ci) in b.column_iter_mut().zip(scale.iter()) {
                column *= *ci;
            }
        }
        // `A P`, then `(A P) Aᵀ` into `p`, then `+ B Bᵀ`.
        multiply(&mut ap, Replace, view(&a), view(&p));
        multiply(&mut p, Replace, view(&ap), view(&a).transpose());
        match diagonal_squares(&b) {
            // `B Bᵀ = diag(b_ii²)` exactly: every other product in the matrix product is a
            // signed zero, and sums of signed zeros onto `+0` stay `+0`; adding `+0` off the
            // diagonal keeps the sign rule of the matrix sum: `x + 0` everywhere, then
            // `+ b_ii²` on the diagonal (`(x + 0) + y = x + y` for the `y = b_ii² ≥ +0`).
            Some(d) => {
                p.as_mut_slice().iter_mut().for_each(|x| *x += 0.0);
                for (i, di) in d.into_iter().enumerate() {
                    p[(i, i)] += di;
                }
            }
            None => multiply(&mut p, Add, view(&b), view(&b).transpose()),
        }
    }
    p
}

/// `dst ← lhs · rhs` (`Replace`) or `dst ← dst + lhs · rhs` (`Add`), in faer on this thread.
fn multiply(
    dst: &mut Matrix,
    accum: faer::Accum,
    lhs: faer::MatRef<'_, f64>,
    rhs: faer::MatRef<'_, f64>,
) {
    let (rows, cols) = dst.shape();
    let dst = faer::MatMut::from_column_major_slice_mut(dst.as_mut_slice(), rows, cols);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, 1.0, faer::Par::Seq);
}

/// `m` as a faer view.
fn view(m: &Matrix) -> faer::MatRef<'_, f64> {
    faer::MatRef::from_column_major_slice(m.as_slice(), m.nrows(), m.ncols())
}

/// `b_ii · b_ii` for a square `b` whose off-diagonal entries are all zero and whose diagonal is
/// finite (Burgers' `B = Δt I`), else `None`.
fn diagonal_squares(b: &Matrix) -> Option<Vec<f64>> {
    let n = b.nrows();
    if b.ncols() != n {
        return None;
    }
    let zero = |x: &[f64]| x.iter().fold(true, |all, v| all & (*v == 0.0));
    for (j, column) in b.as_slice().chunks_exact(n.max(1)).enumerate() {
        if !(column[j].is_finite() && zero(&column[..j]) && zero(&column[j + 1..])) {
            return None;
        }
    }
    Some((0..n).map(|i| b[(i, i)] * b[(i, i)]).collect())
}

/// Solves `G y = b` for symmetric positive (semi-)definite `G`: Cholesky, then LU.
fn solve_spd(g: Matrix, b: &Vector) -> Result<Vector, InverseError> {
    if let Some(chol) = g.clone().cholesky() {
        return Ok(chol.solve(b));
    }
    g.lu().solve(b).ok_or_else(|| InverseError::Singular {
        reason: "Gramian G + cI is singular".into(),
    })
}

/// Conjugate gradients for `A y = b` with `A` symmetric positive definite, given as a
/// closure. Stops at `‖A y − b‖ ≤ tolerance · ‖b‖` or after `max_iterations`; returns the
/// solution and how the solve ended.
pub fn conjugate_gradient(
    apply: impl Fn(&Vector) -> Vector,
    b: &Vector,
    tolerance: f64,
    max_iterations: usize,
) -> Result<(Vector, CgReport), InverseError> {
    let mut y = Vector::zeros(b.len());
    let mut iterations = 0;
    let mut r = b.clone();
    let mut p = r.clone();
    let mut rr = r.norm_squared();
    let stop = (tolerance * b.norm()).powi(2);
    for _ in 0..max_iterations {
        if rr <= stop {
            break;
        }
        let ap = apply(&p);
        let pap = p.dot(&ap);
        if pap <= 0.0 || !pap.is_finite() {
            if rr.sqrt() <= 1e-6 * b.norm() {
                break;
            }
            return Err(InverseError::Singular {
                reason: "conjugate gradients met a non-positive curvature".into(),
            });
        }
        iterations += 1;
        let a = rr / pap;
        y += &p * a;
        r -= &ap * a;
        let rr_new = r.norm_squared();
        p = &r + &p * (rr_new / rr);
        rr = rr_new;
    }
    let b_norm = b.norm();
    let relative_residual = if b_norm > 0.0 {
        rr.sqrt() / b_norm
    } else {
        0.0
    };
    Ok((
        y,
        CgReport {
            iterations,
            relative_residual,
        },
    ))
}

/// How one conjugate-gradient solve ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgReport {
    /// Iterations (operator applications) used.
    pub iterations: usize,
    /// `‖b − A y‖ / ‖b‖` by the recurrence's residual (0 for `b = 0`).
    pub relative_residual: f64,
}

/// The minimum-energy plan of one Gauss-Newton step at the rollout (docs/method.md §4.2): controls
/// `u_t + δu_t` with `δu = Jᵀ y` from the `n×n` solve, and the state targets
/// `s_t + δs_t` of the linearised trajectory, `δs_{t+1} = A_t δs_t + B_t δu_t`, `δs_0 = 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Planned controls, `t = 0..T`.
    pub controls: Vec<Vector>,
    /// Planned states `s̃_0..s̃_T`, `s̃_0 = s_0`.
    pub states: Vec<Vector>,
}

/// Plans the correction of the rollout `states`, `controls` towards `target` (`s̃_T`) with one
/// regularised Gauss-Newton step of [`invert_episode`]'s linear algebra and one forward JVP
/// sweep; state targets that the dynamics can follow, unlike a ramp when `m < n`.
pub fn plan(
    physics: &Physics,
    states: &[Vector],
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
) -> Result<Plan, InverseError> {
    let missing = |capability| physics.missing_capability(capability);
    let jvp = physics.jvp().ok_or_else(|| missing("JVP"))?;
    let vjp = physics.vjp().ok_or_else(|| missing("VJP"))?;
    let steps = controls.len();
    let point = Linearisation {
        states,
        applied: controls,
        gains: None,
    };
    let r = target - &states[steps];
    let step = gauss_newton_step(jvp, vjp, &point, controls, controls, &r, settings)?;
    let deviations = jvp_trajectory(jvp, states, controls, &step.delta, None);
    Ok(Plan {
        controls: controls
            .iter()
            .zip(&step.delta)
            .map(|(u, d)| u + d)
            .collect(),
        states: states.iter().zip(&deviations).map(|(s, d)| s + d).collect(),
    })
}

/// The chain's result: per-step controls, the states they reach from `s_0`, and the plan they
/// followed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainOutcome {
    /// `ũ_t`, `t = 0..T`.
    pub controls: Vec<Vector>,
    /// `ŝ_0..ŝ_T`, simulated from `s_0` with `ũ`.
    pub states: Vec<Vector>,
    /// The state targets `s̃_t` the steps aimed at.
    pub plan: Plan,
}

/// The per-step chain (docs/method.md §4.2): [`plan`] the state targets `s̃_t`, then forward in time
/// from the state actually reached, `ŝ_0 = s_0`, invert each step on its own,
/// `ũ_t = P⁻¹(s̃_{t+1}; ŝ_t)` near the planned control (the simulator's
/// [`ControlInverse`](crate::sim::ControlInverse) if it has one, else one pseudo-inverse
/// Gauss-Newton step), `ŝ_{t+1} = P(ŝ_t, ũ_t)`. Each step corrects what the nonlinearity of
/// the previous ones left; on a linear system the chain follows the plan exactly.
pub fn invert_chain(
    physics: &Physics,
    states: &[Vector],
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
) -> Result<ChainOutcome, InverseError> {
    let plan = plan(physics, states, controls, target, settings)?;
    let steps = controls.len();
    let mut reached = Vec::with_capacity(steps + 1);
    reached.push(states[0].clone());
    let mut out = Vec::with_capacity(steps);
    for t in 0..steps {
        let (state, near, goal) = (&reached[t], &plan.controls[t], &plan.states[t + 1]);
        let u = match physics.inverse() {
            Some(inverse) => inverse.control_inverse(state, near, goal)?,
            None => {
                solve(
                    &InverseMethod::PseudoInverseStep,
                    physics,
                    state,
                    near,
                    goal,
                )?
                .control
            }
        };
        let next = physics.sim().step(state, &u);
        if !next.iter().all(|x| x.is_finite()) {
            return Err(InverseError::Singular {
                reason: format!("non-finite state at step {}", t + 1),
            });
        }
        reached.push(next);
        out.push(u);
    }
    Ok(ChainOutcome {
        controls: out,
        states: reached,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_off_eigenvalues_of_a_gramian_read_as_zero() {
        // A rank-one Gramian of huge scale: its zero eigenvalues come out as ± round-off.
        let v = Vector::from_column_slice(&[1e22, 3e22, -2e22]);
        let g = &v * v.transpose();
        let raw = g.clone().symmetric_eigenvalues();
        assert!(raw.iter().any(|&x| x != 0.0 && x.abs() < 1e-10 * raw.max()));
        let (min, max) = eigenvalue_range(&g).expect("finite");
        assert_eq!(min, 0.0);
        assert!((max - v.norm_squared()).abs() <= 1e-12 * max);
        // A genuinely negative eigenvalue is kept.
        let m = Matrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, -1.0]);
        assert_eq!(eigenvalue_range(&m).expect("finite").0, -1.0);
    }
}
