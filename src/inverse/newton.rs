//! Iterated Gauss-Newton on `P(s, ũ) = y` with backtracking.
//!
//! From `ũ₀ = u`: `δ_k = B_k⁺ (y − P(s, ũ_k))` (least-squares / minimum-norm step by the SVD
//! pseudo-inverse of `B_k = ∂P/∂u`), `ũ_{k+1} = ũ_k + α δ_k` with the largest
//! `α ∈ {1, ½, ¼, …}` that reduces `‖P(s, ·) − y‖`, until the residual norm is at most the
//! tolerance.

use super::{backtrack, pseudo_inverse, residual, InverseOutcome, LineSearch};
use crate::sim::{Physics, Vector};
use crate::InverseError;

/// Settings of [`solve`], copied from [`InverseMethod::Newton`](super::InverseMethod::Newton).
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub tolerance: f64,
    pub max_iterations: usize,
}

/// Gauss-Newton iteration; see the module documentation.
pub(super) fn solve(
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
    settings: Settings,
) -> Result<InverseOutcome, InverseError> {
    let jvp = physics
        .jvp()
        .ok_or_else(|| InverseError::MissingCapability {
            simulator: physics.name().to_string(),
            capability: "JVP",
        })?;
    let sim = physics.sim();
    let mut u = control.clone();
    let (mut r, mut norm) = residual(sim, state, &u, target)?;
    for iteration in 0..settings.max_iterations {
        if norm <= settings.tolerance {
            return Ok(InverseOutcome {
                control: u,
                iterations: iteration,
                residual: norm,
            });
        }
        let (_, b) = jvp.jacobians(state, &u);
        // r = P − y, so the Gauss-Newton step is −B⁺ r.
        let direction = -(pseudo_inverse(&b)? * &r);
        if !direction.iter().all(|v| v.is_finite()) {
            return Err(InverseError::Singular(
                "non-finite Gauss-Newton step".to_string(),
            ));
        }
        match backtrack(sim, state, &u, &direction, target, norm) {
            LineSearch::Accepted(next, next_r, next_norm) => {
                u = next;
                r = next_r;
                norm = next_norm;
            }
            LineSearch::NoDecrease => {
                return Err(InverseError::NotConverged {
                    residual: norm,
                    tolerance: settings.tolerance,
                    iterations: iteration,
                })
            }
            LineSearch::NonFinite => {
                return Err(InverseError::Singular(
                    "every line-search trial was non-finite".to_string(),
                ))
            }
        }
    }
    if norm <= settings.tolerance {
        Ok(InverseOutcome {
            control: u,
            iterations: settings.max_iterations,
            residual: norm,
        })
    } else {
        Err(InverseError::NotConverged {
            residual: norm,
            tolerance: settings.tolerance,
            iterations: settings.max_iterations,
        })
    }
}
