//! Dispatch to the simulator's own analytic local inverse.

use super::{residual, InverseOutcome};
use crate::sim::{Physics, Vector};
use crate::InverseError;

/// `ũ = ControlInverse::control_inverse(s, u, y)`, with the residual `‖P(s, ũ) − y‖` measured
/// by one forward step. Zero iterations.
pub(super) fn solve(
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
) -> Result<InverseOutcome, InverseError> {
    let inverse = physics
        .inverse()
        .ok_or_else(|| physics.missing_capability("analytic local inverse"))?;
    let u = inverse.control_inverse(state, control, target)?;
    if u.len() != control.len() || !u.iter().all(|v| v.is_finite()) {
        return Err(InverseError::Singular {
            reason: format!(
                "analytic inverse of '{}' returned a non-finite or mis-sized control",
                physics.name()
            ),
        });
    }
    let (_, norm) = residual(physics.sim(), state, &u, target)?;
    Ok(InverseOutcome {
        control: u,
        iterations: 0,
        residual: norm,
    })
}
