//! One pseudo-inverse step, `ũ = u + B⁺ (y − P(s, u))`.
//!
//! First-order identical to the local inverse (exact for a linear `P` with full-row-rank `B`),
//! the cheapest fallback when no analytic inverse exists.

use super::{pseudo_inverse, residual, InverseOutcome};
use crate::sim::{Physics, Vector};
use crate::InverseError;

/// `ũ = u + B⁺ (y − P(s, u))` with `B = ∂P/∂u` at `(s, u)`; one iteration, residual measured
/// by a forward step at `ũ`.
pub(super) fn solve(
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
) -> Result<InverseOutcome, InverseError> {
    let jvp = physics
        .jvp()
        .ok_or_else(|| physics.missing_capability("JVP"))?;
    let sim = physics.sim();
    let (r, _) = residual(sim, state, control, target)?;
    let (_, b) = jvp.jacobians(state, control);
    let u = control - pseudo_inverse(&b)? * r;
    if !u.iter().all(|v| v.is_finite()) {
        return Err(InverseError::Singular {
            reason: "non-finite pseudo-inverse step".to_string(),
        });
    }
    let (_, norm) = residual(sim, state, &u, target)?;
    Ok(InverseOutcome {
        control: u,
        iterations: 1,
        residual: norm,
    })
}
