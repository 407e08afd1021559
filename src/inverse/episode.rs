//! Physics inversion across time (METHOD §2, step 3).
//!
//! Finds controls `ũ_0..ũ_{T−1}` that, simulated open loop from `s_0`, reach `s̃_T`, changing
//! the controls as little as possible. Each Gauss-Newton iteration linearises the episode,
//! `δs_T = Σ_t J_t δu_t`, and solves
//! `min_δ ½‖J δ − r‖² + ½ α ‖u + δ‖² + ½ μ ‖δ‖²` (`r = s̃_T − s_T(u)`), whose solution needs
//! only the `n×n` Gramian `G = Σ_t J_t J_tᵀ`:
//! `δ = −(α/c) u + Jᵀ (G + c I)⁻¹ (r + (α/c) J u)`, `c = α + μ`
//! (`δ = Jᵀ G⁻¹ r`, the minimum-norm correction, when `c = 0`). Each step's correction is
//! `J_tᵀ y` — one backward VJP sweep once `y` is known. `G` is formed densely for small `n` by
//! the recurrence `P ← A_t P A_tᵀ + B_t B_tᵀ` over per-step Jacobians, or applied matrix-free (`G v = J (Jᵀ v)`, one VJP and one JVP
//! sweep) inside conjugate gradients for large `n`. The step is accepted with backtracking on
//! the merit `½‖s_T − s̃_T‖² + ½ α ‖u‖²`; iteration stops when
//! `‖s_T − s̃_T‖ ≤ tolerance · (1 + ‖s̃_T‖)`.

use crate::episode::simulate;
use crate::scenario::LinearSolver;
use crate::sim::{Jvp, Matrix, Physics, Vector, Vjp};
use crate::sweep::{jvp_sweep, vjp_sweep};
use crate::InverseError;

/// State dimension up to which [`LinearSolver::Auto`] uses the dense solver.
pub const DENSE_MAX_STATE_DIM: usize = 64;
/// Relative merit decrease below which an iteration counts as stationary.
const STALL: f64 = 1e-6;
/// Step halvings tried by the backtracking line search.
const MAX_HALVINGS: usize = 12;

/// Settings of the inversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeInverseSettings {
    /// Force weight `α ≥ 0`.
    pub alpha: f64,
    /// Damping `μ ≥ 0`.
    pub mu: f64,
    /// Relative residual tolerance.
    pub tolerance: f64,
    /// Gauss-Newton iterations at most.
    pub max_iterations: usize,
    /// Linear solver.
    pub solver: LinearSolver,
}

/// Result of an inversion.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeInverseOutcome {
    /// Corrected controls `ũ_t`.
    pub controls: Vec<Vector>,
    /// Gauss-Newton iterations used.
    pub iterations: usize,
    /// Final `‖s_T(ũ) − s̃_T‖`.
    pub residual: f64,
    /// Whether the residual met the tolerance (or, with `α > 0`, the iteration became
    /// stationary at the regularised optimum).
    pub converged: bool,
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
pub fn invert_episode_with_feedback(
    physics: &Physics,
    initial: &Vector,
    controls: &[Vector],
    target: &Vector,
    settings: &EpisodeInverseSettings,
    feedback: Option<Feedback<'_>>,
) -> Result<EpisodeInverseOutcome, InverseError> {
    let missing = |capability| physics.missing_capability(capability);
    let jvp = physics.jvp().ok_or_else(|| missing("JVP"))?;
    let vjp = physics.vjp().ok_or_else(|| missing("VJP"))?;
    let threshold = settings.tolerance * (1.0 + target.norm());
    let sim_error = |e: crate::Error| InverseError::Singular(e.to_string());
    let run = |u: &[Vector]| simulate_with_feedback(physics, initial, u, feedback);
    let gains = feedback.map(|f| f.gains);
    let mut u = controls.to_vec();
    let (mut states, mut applied) = run(&u).map_err(sim_error)?;
    let merit = |states: &[Vector], u: &[Vector]| {
        0.5 * (states.last().unwrap_or(initial) - target).norm_squared()
            + 0.5 * settings.alpha * u.iter().map(|x| x.norm_squared()).sum::<f64>()
    };
    let mut current = merit(&states, &u);
    let mut iterations = 0;
    let mut stationary = false;
    while iterations < settings.max_iterations {
        let r = target - states.last().unwrap_or(initial);
        if r.norm() <= threshold {
            break;
        }
        iterations += 1;
        let point = Linearisation {
            states: &states,
            applied: &applied,
            gains,
        };
        let delta = gauss_newton_step(jvp, vjp, &point, &u, &r, settings)?;
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..=MAX_HALVINGS {
            let trial: Vec<Vector> = u.iter().zip(&delta).map(|(a, d)| a + d * scale).collect();
            if let Ok((trial_states, trial_applied)) = run(&trial) {
                let value = merit(&trial_states, &trial);
                if value.is_finite() && value < current {
                    // With α > 0 the residual cannot vanish: stop once the merit stalls.
                    stationary = current - value <= STALL * current;
                    u = trial;
                    states = trial_states;
                    applied = trial_applied;
                    current = value;
                    accepted = true;
                    break;
                }
            }
            scale *= 0.5;
        }
        if !accepted || stationary {
            stationary = true;
            break;
        }
    }
    let residual = (target - states.last().unwrap_or(initial)).norm();
    if !residual.is_finite() {
        return Err(InverseError::Singular("non-finite residual".into()));
    }
    let converged = residual <= threshold || (settings.alpha > 0.0 && stationary);
    Ok(EpisodeInverseOutcome {
        controls: u,
        iterations,
        residual,
        converged,
    })
}

/// Where the episode is linearised: visited states, the controls actually applied there, and
/// the feedback gains if the policy is closed loop.
struct Linearisation<'a> {
    states: &'a [Vector],
    applied: &'a [Vector],
    gains: Option<&'a [Matrix]>,
}

/// Simulates feed-forward controls `u`, adding the linearised feedback if any; returns the
/// states and the controls applied.
fn simulate_with_feedback(
    physics: &Physics,
    initial: &Vector,
    u: &[Vector],
    feedback: Option<Feedback<'_>>,
) -> crate::Result<(Vec<Vector>, Vec<Vector>)> {
    let Some(fb) = feedback else {
        return Ok((simulate(physics, initial, u, 0)?, u.to_vec()));
    };
    let sim = physics.sim();
    let mut states = Vec::with_capacity(u.len() + 1);
    let mut applied = Vec::with_capacity(u.len());
    states.push(initial.clone());
    for (t, ut) in u.iter().enumerate() {
        let a = ut + &fb.gains[t] * (&states[t] - &fb.reference[t]);
        let next = sim.step(&states[t], &a);
        if !next.iter().all(|x| x.is_finite()) {
            return Err(crate::Error::NonFinite {
                episode: 0,
                step: t + 1,
            });
        }
        states.push(next);
        applied.push(a);
    }
    Ok((states, applied))
}

/// One regularised Gauss-Newton correction `δ_t` of the feed-forward controls `u`.
fn gauss_newton_step(
    jvp: &dyn Jvp,
    vjp: &dyn Vjp,
    point: &Linearisation<'_>,
    u: &[Vector],
    r: &Vector,
    settings: &EpisodeInverseSettings,
) -> Result<Vec<Vector>, InverseError> {
    let Linearisation {
        states,
        applied,
        gains,
    } = *point;
    let n = r.len();
    let c = settings.alpha + settings.mu;
    let ratio = if c > 0.0 { settings.alpha / c } else { 0.0 };
    let use_dense = match settings.solver {
        LinearSolver::Dense => true,
        LinearSolver::Auto => n <= DENSE_MAX_STATE_DIM,
        LinearSolver::Cg { .. } => false,
    };
    let mut rhs = r.clone();
    if ratio > 0.0 {
        rhs += jvp_sweep(jvp, states, applied, u, gains) * ratio;
    }
    let y = if use_dense {
        let mut g = controllability_gramian(jvp, states, applied, gains);
        for i in 0..n {
            g[(i, i)] += c;
        }
        solve_spd(g, &rhs)?
    } else {
        let (tolerance, max_iterations) = match settings.solver {
            LinearSolver::Cg {
                tolerance,
                max_iterations,
            } => (tolerance, max_iterations),
            _ => (1e-12, 4 * n),
        };
        let apply = |v: &Vector| {
            let jt_v = vjp_sweep(vjp, states, applied, v, None, gains);
            jvp_sweep(jvp, states, applied, &jt_v, gains) + v * c
        };
        conjugate_gradient(apply, &rhs, tolerance, max_iterations)?
    };
    let delta: Vec<Vector> = vjp_sweep(vjp, states, applied, &y, None, gains)
        .into_iter()
        .zip(u)
        .map(|(d, ut)| d - ut * ratio)
        .collect();
    if delta.iter().all(|d| d.iter().all(|x| x.is_finite())) {
        Ok(delta)
    } else {
        Err(InverseError::Singular(
            "non-finite Gauss-Newton step".into(),
        ))
    }
}

/// `G = Σ_t J_t J_tᵀ` by the forward recurrence `P ← A_t P A_tᵀ + B_t B_tᵀ` (the discrete
/// controllability Gramian), without forming the `J_t`; `A_t + B_t K_t` with feedback gains.
fn controllability_gramian(
    jvp: &dyn Jvp,
    states: &[Vector],
    applied: &[Vector],
    gains: Option<&[Matrix]>,
) -> Matrix {
    let n = jvp.state_dim();
    let mut p = Matrix::zeros(n, n);
    for (t, (state, control)) in states.iter().zip(applied).enumerate() {
        let (mut a, b) = jvp.jacobians(state, control);
        if let Some(k) = gains {
            a += &b * &k[t];
        }
        p = &a * &p * a.transpose() + &b * b.transpose();
    }
    p
}

/// Solves `G y = b` for symmetric positive (semi-)definite `G`: Cholesky, then LU.
fn solve_spd(g: Matrix, b: &Vector) -> Result<Vector, InverseError> {
    if let Some(chol) = g.clone().cholesky() {
        return Ok(chol.solve(b));
    }
    g.lu()
        .solve(b)
        .ok_or_else(|| InverseError::Singular("Gramian G + cI is singular".into()))
}

/// Conjugate gradients for `A y = b` with `A` symmetric positive definite, given as a
/// closure. Stops at `‖A y − b‖ ≤ tolerance · ‖b‖`.
pub fn conjugate_gradient(
    apply: impl Fn(&Vector) -> Vector,
    b: &Vector,
    tolerance: f64,
    max_iterations: usize,
) -> Result<Vector, InverseError> {
    let mut y = Vector::zeros(b.len());
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
            return Err(InverseError::Singular(
                "conjugate gradients met a non-positive curvature".into(),
            ));
        }
        let a = rr / pap;
        y += &p * a;
        r -= &ap * a;
        let rr_new = r.norm_squared();
        p = &r + &p * (rr_new / rr);
        rr = rr_new;
    }
    Ok(y)
}

/// The backward-chain variant: uses the simulator's per-step control inverse along the
/// trajectory, aiming step `t` at `s_{t+1} + ((t+1)/T) (s̃_T − s_T)` so the correction is
/// spread evenly over the episode instead of landing on the last step.
pub fn invert_chain(
    physics: &Physics,
    states: &[Vector],
    controls: &[Vector],
    target: &Vector,
) -> Result<Vec<Vector>, InverseError> {
    let inverse = physics
        .inverse()
        .ok_or_else(|| physics.missing_capability("per-step control inverse"))?;
    let steps = controls.len();
    let correction = target - &states[steps];
    let mut state = states[0].clone();
    let mut out = Vec::with_capacity(steps);
    for t in 0..steps {
        let goal = &states[t + 1] + &correction * ((t + 1) as f64 / steps as f64);
        let u = inverse.control_inverse(&state, &controls[t], &goal)?;
        state = physics.sim().step(&state, &u);
        if !state.iter().all(|x| x.is_finite()) {
            return Err(InverseError::Singular(format!(
                "non-finite state at step {}",
                t + 1
            )));
        }
        out.push(u);
    }
    Ok(out)
}
