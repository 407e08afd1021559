//! Saddle-free Newton on `L(ũ) = ½‖P(s, ũ) − y‖²` (Dauphin et al. 2014), the inverse the
//! paper used for the rotating sine.
//!
//! With `r = P(s, ũ) − y` and `B = ∂P/∂u`: gradient `∇L = Bᵀ r`, Hessian
//! `H = BᵀB + Σᵢ rᵢ ∂²Pᵢ/∂u²` (the second term from
//! [`ControlHessian`](crate::sim::ControlHessian)). Eigendecompose `H = V Λ Vᵀ`, replace each
//! eigenvalue by `max(|λ|, min_curvature)`, and step `δ = −V |Λ|⁻¹ Vᵀ ∇L`, so negative
//! curvature repels instead of attracting; `‖δ‖` is capped at `max_step` if given. Each step
//! is backtracked on `L`, iterating until `‖r‖ ≤ tolerance`.

use super::{all_finite, iterate, InverseOutcome, Stop};
use crate::sim::{Physics, Vector};
use crate::InverseError;

/// Settings of [`solve`], copied from
/// [`InverseMethod::SaddleFreeNewton`](super::InverseMethod::SaddleFreeNewton).
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub stop: Stop,
    pub min_curvature: f64,
    pub max_step: Option<f64>,
}

/// Saddle-free Newton iteration; see the module documentation.
pub(super) fn solve(
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
    settings: Settings,
) -> Result<InverseOutcome, InverseError> {
    let missing = |capability| physics.missing_capability(capability);
    let jvp = physics.jvp().ok_or_else(|| missing("JVP"))?;
    let hessian = physics
        .hessian()
        .ok_or_else(|| missing("control Hessian"))?;
    let step = |u: &Vector, r: &Vector| {
        let (_, b) = jvp.jacobians(state, u);
        let gradient = b.tr_mul(r);
        let second = hessian.control_hessian(state, u, r);
        let h = b.tr_mul(&b) + second;
        let h = (&h + h.transpose()) * 0.5;
        if !(all_finite(&h) && gradient.iter().all(|v| v.is_finite())) {
            return Err(InverseError::Singular {
                reason: "non-finite gradient or Hessian".to_string(),
            });
        }
        let eigen = h.symmetric_eigen();
        let v = &eigen.eigenvectors;
        let scaled = v
            .tr_mul(&gradient)
            .zip_map(&eigen.eigenvalues, |g, lambda| {
                g / lambda.abs().max(settings.min_curvature)
            });
        let mut direction = -(v * scaled);
        if let Some(limit) = settings.max_step {
            let length = direction.norm();
            if length > limit {
                direction *= limit / length;
            }
        }
        Ok(direction)
    };
    iterate(
        physics.sim(),
        state,
        control,
        target,
        settings.stop,
        "saddle-free Newton",
        step,
    )
}
