//! Step-level local inverse solvers (docs/method.md §1, step 3).
//!
//! Given a simulator step `P(s, u)`, a current control `u` and a target `y` for the next
//! state, a local inverse finds the control `ũ` *near* `u` with `P(s, ũ) ≈ y`. For a
//! single-prediction problem (`y = P(x)`) the control is the prediction `x` and the target is
//! `y + Δy`. Ways to obtain it, one per file:
//!
//! | [`InverseMethod`] | file | needs |
//! | --- | --- | --- |
//! | [`InverseMethod::Analytic`] | `analytic.rs` | [`ControlInverse`](crate::sim::ControlInverse) |
//! | [`InverseMethod::Newton`] (Gauss-Newton with backtracking) | `newton.rs` | [`Jvp`](crate::sim::Jvp) |
//! | [`InverseMethod::SaddleFreeNewton`] (Dauphin et al. 2014) | `saddle_free.rs` | [`Jvp`](crate::sim::Jvp), [`ControlHessian`](crate::sim::ControlHessian) |
//! | [`InverseMethod::PseudoInverseStep`] (one step `u + B⁺ r`) | `pseudo.rs` | [`Jvp`](crate::sim::Jvp) |
//!
//! [`solve`] dispatches on the method. It never panics on bad numbers: failures are
//! [`InverseError`]s, so the trainer can fall back and count them.

mod analytic;
pub mod episode;
mod newton;
mod pseudo;
mod saddle_free;
pub mod settings;

use crate::sim::{Matrix, Physics, Simulator, Vector};
use crate::InverseError;
use serde::{Deserialize, Serialize};

/// Default residual tolerance `‖P(s, ũ) − y‖ ≤ 1e-9` of the iterative solvers (absolute, in
/// the state's units): far below any training noise, well above f64 round-off for `O(1)`
/// states.
pub const DEFAULT_TOLERANCE: f64 = 1e-9;
/// Default iteration limit of the iterative solvers: Newton converges quadratically near a
/// solution, so 50 iterations only run out when the start is far away or the target
/// unreachable.
pub const DEFAULT_MAX_ITERATIONS: usize = 50;
/// Default floor on `|λ|` in saddle-free Newton, bounding steps along flat directions.
pub const DEFAULT_MIN_CURVATURE: f64 = 1e-8;

/// Halvings tried by the backtracking line search before declaring no progress
/// (`2⁻⁴⁰ ≈ 1e-12` of the full step).
const MAX_HALVINGS: u32 = 40;

fn default_tolerance() -> f64 {
    DEFAULT_TOLERANCE
}
fn default_max_iterations() -> usize {
    DEFAULT_MAX_ITERATIONS
}
fn default_min_curvature() -> f64 {
    DEFAULT_MIN_CURVATURE
}

/// How a local inverse `ũ = P⁻¹(y; s, u)` is computed. Read from scenario files (RON), e.g.
/// `Analytic`, `Newton(tolerance: 1e-10)`, `SaddleFreeNewton(max_step: Some(1.0))`,
/// `PseudoInverseStep`; omitted fields take their defaults, unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum InverseMethod {
    /// The simulator's own analytic [`ControlInverse`](crate::sim::ControlInverse).
    Analytic,
    /// Iterated Gauss-Newton on `P(s, ũ) = y` starting at `u`: least-squares step
    /// `δ = B⁺ (y − P(s, ũ))` via the SVD pseudo-inverse of `B = ∂P/∂u`, backtracking line
    /// search on the residual norm, stop at `‖residual‖ ≤ tolerance`.
    Newton {
        /// Residual norm `‖P(s, ũ) − y‖` (state units) at which to stop; `> 0`. Default 1e-9.
        #[serde(default = "default_tolerance")]
        tolerance: f64,
        /// Maximum number of Newton steps; `≥ 1`. Default 50.
        #[serde(default = "default_max_iterations")]
        max_iterations: usize,
    },
    /// Saddle-free Newton (Dauphin et al. 2014) on `L(ũ) = ½‖P(s, ũ) − y‖²`:
    /// `H = BᵀB + Σᵢ rᵢ ∂²Pᵢ/∂u²` (from [`ControlHessian`](crate::sim::ControlHessian)),
    /// eigendecomposed `H = V Λ Vᵀ`, `|λ|` floored at `min_curvature`, step
    /// `δ = −V |Λ|⁻¹ Vᵀ ∇L` limited in norm to `max_step`, iterated with backtracking until
    /// `‖residual‖ ≤ tolerance`.
    SaddleFreeNewton {
        /// Residual norm (state units) at which to stop; `> 0`. Default 1e-9.
        #[serde(default = "default_tolerance")]
        tolerance: f64,
        /// Maximum number of steps; `≥ 1`. Default 50.
        #[serde(default = "default_max_iterations")]
        max_iterations: usize,
        /// Floor on `|λ|` (units of `‖∂P/∂u‖²`); `> 0`. Default 1e-8.
        #[serde(default = "default_min_curvature")]
        min_curvature: f64,
        /// Largest step norm `‖δ‖` (control units) per iteration, if any; `> 0`. Default none.
        #[serde(default)]
        max_step: Option<f64>,
    },
    /// A single pseudo-inverse step `ũ = u + B⁺ (y − P(s, u))`; first-order identical to
    /// the inverse.
    PseudoInverseStep,
}

impl InverseMethod {
    /// Name used in logs: `"analytic"`, `"newton"`, `"saddle_free_newton"`,
    /// `"pseudo_inverse_step"`.
    pub fn name(&self) -> &'static str {
        match self {
            InverseMethod::Analytic => "analytic",
            InverseMethod::Newton { .. } => "newton",
            InverseMethod::SaddleFreeNewton { .. } => "saddle_free_newton",
            InverseMethod::PseudoInverseStep => "pseudo_inverse_step",
        }
    }

    /// Checks that `physics` offers what the method needs: `Analytic` an analytic local
    /// inverse; `Newton` and `PseudoInverseStep` a JVP; `SaddleFreeNewton` a JVP and control
    /// Hessians. Otherwise [`InverseError::MissingCapability`].
    pub fn check_capabilities(&self, physics: &Physics) -> Result<(), InverseError> {
        let missing = |capability| physics.missing_capability(capability);
        match self {
            InverseMethod::Analytic => {
                if physics.inverse().is_none() {
                    return Err(missing("analytic local inverse"));
                }
            }
            InverseMethod::Newton { .. } | InverseMethod::PseudoInverseStep => {
                if physics.jvp().is_none() {
                    return Err(missing("JVP"));
                }
            }
            InverseMethod::SaddleFreeNewton { .. } => {
                if physics.jvp().is_none() {
                    return Err(missing("JVP"));
                }
                if physics.hessian().is_none() {
                    return Err(missing("control Hessian"));
                }
            }
        }
        Ok(())
    }

    /// Checks the settings: tolerances and curvature floors finite and `> 0`,
    /// `max_iterations ≥ 1`, `max_step` finite and `> 0` if given. The message names the field.
    pub fn validate(&self) -> Result<(), String> {
        fn positive(field: &str, v: f64) -> Result<(), String> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{field}: must be finite and > 0, got {v}"))
            }
        }
        fn at_least_one(field: &str, v: usize) -> Result<(), String> {
            if v >= 1 {
                Ok(())
            } else {
                Err(format!("{field}: must be >= 1, got {v}"))
            }
        }
        match self {
            InverseMethod::Analytic | InverseMethod::PseudoInverseStep => Ok(()),
            InverseMethod::Newton {
                tolerance,
                max_iterations,
            } => {
                positive("tolerance", *tolerance)?;
                at_least_one("max_iterations", *max_iterations)
            }
            InverseMethod::SaddleFreeNewton {
                tolerance,
                max_iterations,
                min_curvature,
                max_step,
            } => {
                positive("tolerance", *tolerance)?;
                at_least_one("max_iterations", *max_iterations)?;
                positive("min_curvature", *min_curvature)?;
                match max_step {
                    Some(s) => positive("max_step", *s),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Result of a local inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct InverseOutcome {
    /// The corrected control `ũ` (length `m`).
    pub control: Vector,
    /// Steps taken: 0 for the analytic inverse (or an iterative start already within
    /// tolerance), 1 for the pseudo-inverse step, the number of accepted Newton steps otherwise.
    pub iterations: usize,
    /// `‖P(s, ũ) − y‖`, Euclidean, in state units.
    pub residual: f64,
}

/// The control `ũ` near `control` with `P(state, ũ) ≈ target`, computed by `method`.
///
/// `state` and `target` have length `n`, `control` length `m`. Never panics on bad numbers:
/// a missing capability is [`InverseError::MissingCapability`], an unreachable target or
/// arguments of the wrong length [`InverseError::OutOfRange`], non-finite numbers or a zero
/// Jacobian [`InverseError::Singular`], and an iterative method that stops above its
/// tolerance (iteration limit, or a line search without progress)
/// [`InverseError::NotConverged`].
pub fn solve(
    method: &InverseMethod,
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
) -> Result<InverseOutcome, InverseError> {
    method.check_capabilities(physics)?;
    check_inputs(physics.sim(), state, control, target)?;
    match method {
        InverseMethod::Analytic => analytic::solve(physics, state, control, target),
        InverseMethod::Newton {
            tolerance,
            max_iterations,
        } => newton::solve(
            physics,
            state,
            control,
            target,
            Stop {
                tolerance: *tolerance,
                max_iterations: *max_iterations,
            },
        ),
        InverseMethod::SaddleFreeNewton {
            tolerance,
            max_iterations,
            min_curvature,
            max_step,
        } => saddle_free::solve(
            physics,
            state,
            control,
            target,
            saddle_free::Settings {
                stop: Stop {
                    tolerance: *tolerance,
                    max_iterations: *max_iterations,
                },
                min_curvature: *min_curvature,
                max_step: *max_step,
            },
        ),
        InverseMethod::PseudoInverseStep => pseudo::solve(physics, state, control, target),
    }
}

/// Lengths and finiteness of the arguments.
fn check_inputs(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
    target: &Vector,
) -> Result<(), InverseError> {
    let (n, m) = (sim.state_dim(), sim.control_dim());
    for (what, v, expected) in [
        ("state", state, n),
        ("control", control, m),
        ("target", target, n),
    ] {
        if v.len() != expected {
            return Err(InverseError::OutOfRange {
                reason: format!(
                    "{what} has length {}, simulator '{}' expects {expected}",
                    v.len(),
                    sim.name()
                ),
            });
        }
    }
    if !target.iter().all(|v| v.is_finite()) {
        return Err(InverseError::OutOfRange {
            reason: "non-finite target".to_string(),
        });
    }
    if !(state.iter().all(|v| v.is_finite()) && control.iter().all(|v| v.is_finite())) {
        return Err(InverseError::Singular {
            reason: "non-finite state or control".to_string(),
        });
    }
    Ok(())
}

/// `true` if every entry is finite.
fn all_finite(m: &Matrix) -> bool {
    m.iter().all(|v| v.is_finite())
}

/// `P(s, u) − y` and its norm, or `Singular` if the simulation is non-finite (`OutOfRange`
/// if the step returned a state of the wrong length).
fn residual(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
    target: &Vector,
) -> Result<(Vector, f64), InverseError> {
    let next = crate::sim::dimensions::checked_step(sim, state, control).map_err(|e| {
        InverseError::OutOfRange {
            reason: e.to_string(),
        }
    })?;
    let r = next - target;
    let norm = r.norm();
    if norm.is_finite() {
        Ok((r, norm))
    } else {
        Err(InverseError::Singular {
            reason: format!("simulator '{}' returned a non-finite state", sim.name()),
        })
    }
}

/// Outcome of a backtracking line search.
enum LineSearch {
    /// A step `α δ` that strictly reduced the residual norm: new control, residual, norm.
    Accepted(Vector, Vector, f64),
    /// No step length in `1, ½, …, 2⁻⁴⁰` reduced the residual norm (at least one was finite).
    NoDecrease,
    /// Every trial produced non-finite numbers.
    NonFinite,
}

/// Tries `u + α δ` for `α = 1, ½, ¼, …` and accepts the first whose residual norm
/// `‖P(s, u + α δ) − y‖` is below `norm` (a strict decrease of `½‖r‖²`).
fn backtrack(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
    direction: &Vector,
    target: &Vector,
    norm: f64,
) -> LineSearch {
    let mut alpha = 1.0;
    let mut any_finite = false;
    for _ in 0..=MAX_HALVINGS {
        let trial = control + direction * alpha;
        if let Ok((r, n)) = residual(sim, state, &trial, target) {
            any_finite = true;
            if n < norm {
                return LineSearch::Accepted(trial, r, n);
            }
        }
        alpha *= 0.5;
    }
    if any_finite {
        LineSearch::NoDecrease
    } else {
        LineSearch::NonFinite
    }
}

/// When [`iterate`] stops: residual norm at most `tolerance`, or after `max_iterations`.
#[derive(Debug, Clone, Copy)]
struct Stop {
    tolerance: f64,
    max_iterations: usize,
}

/// Iterates `ũ ← ũ + α δ` from `ũ = control`, with `δ = direction(ũ, r)` for the residual
/// `r = P(s, ũ) − y` and `α` from [`backtrack`], until `‖r‖ ≤ tolerance`. The loop shared by
/// the iterative solvers; `what` names the step in error messages.
fn iterate(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
    target: &Vector,
    stop: Stop,
    what: &str,
    mut direction: impl FnMut(&Vector, &Vector) -> Result<Vector, InverseError>,
) -> Result<InverseOutcome, InverseError> {
    let Stop {
        tolerance,
        max_iterations,
    } = stop;
    let mut u = control.clone();
    let (mut r, mut norm) = residual(sim, state, &u, target)?;
    let not_converged = |residual, iterations| InverseError::NotConverged {
        residual,
        tolerance,
        iterations,
    };
    for iteration in 0..max_iterations {
        if norm <= tolerance {
            return Ok(InverseOutcome {
                control: u,
                iterations: iteration,
                residual: norm,
            });
        }
        let step = direction(&u, &r)?;
        if !step.iter().all(|v| v.is_finite()) {
            return Err(InverseError::Singular {
                reason: format!("non-finite {what} step"),
            });
        }
        match backtrack(sim, state, &u, &step, target, norm) {
            LineSearch::Accepted(next, next_r, next_norm) => {
                u = next;
                r = next_r;
                norm = next_norm;
            }
            LineSearch::NoDecrease => return Err(not_converged(norm, iteration)),
            LineSearch::NonFinite => {
                return Err(InverseError::Singular {
                    reason: "every line-search trial was non-finite".to_string(),
                })
            }
        }
    }
    if norm <= tolerance {
        Ok(InverseOutcome {
            control: u,
            iterations: max_iterations,
            residual: norm,
        })
    } else {
        Err(not_converged(norm, max_iterations))
    }
}

/// Moore-Penrose pseudo-inverse `B⁺` by SVD, dropping singular values below
/// `max(rows, cols) · ε · σ_max` (the usual numerical-rank cut-off). `Singular` if `B` is
/// non-finite or zero.
fn pseudo_inverse(b: &Matrix) -> Result<Matrix, InverseError> {
    if !all_finite(b) {
        return Err(InverseError::Singular {
            reason: "non-finite control Jacobian".to_string(),
        });
    }
    if b.is_empty() {
        return Err(InverseError::Singular {
            reason: "empty control Jacobian".to_string(),
        });
    }
    let svd = b.clone().svd(true, true);
    let sigma_max = svd.singular_values.max();
    if sigma_max <= 0.0 {
        return Err(InverseError::Singular {
            reason: "control Jacobian is zero".to_string(),
        });
    }
    let eps = b.nrows().max(b.ncols()) as f64 * f64::EPSILON * sigma_max;
    let pinv = svd
        .pseudo_inverse(eps)
        .map_err(|e| InverseError::Singular {
            reason: format!("pseudo-inverse failed: {e}"),
        })?;
    if all_finite(&pinv) {
        Ok(pinv)
    } else {
        Err(InverseError::Singular {
            reason: "non-finite pseudo-inverse".to_string(),
        })
    }
}
