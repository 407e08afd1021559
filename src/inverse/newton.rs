//! Iterated Gauss-Newton on `P(s, ũ) = y` with backtracking.
//!
//! From `ũ₀ = u`: `δ_k = B_k⁺ (y − P(s, ũ_k))` (least-squares / minimum-norm step by the SVD
//! pseudo-inverse of `B_k = ∂P/∂u`), `ũ_{k+1} = ũ_k + α δ_k` with the largest
//! `α ∈ {1, ½, ¼, …}` that reduces `‖P(s, ·) − y‖`, until the residual norm is at most the
//! tolerance.

use super::{iterate, pseudo_inverse, InverseOutcome, Stop};
use crate::sim::{Physics, Vector};
use crate::InverseError;

/// Gauss-Newton iteration; see the module documentation.
pub(super) fn solve(
    physics: &Physics,
    state: &Vector,
    control: &Vector,
    target: &Vector,
    stop: Stop,
) -> Result<InverseOutcome, InverseError> {
    let jvp = physics
        .jvp()
        .ok_or_else(|| physics.missing_capability("JVP"))?;
    let step = |u: &Vector, r: &Vector| {
        let (_, b) = jvp.jacobians(state, u);
        // r = P − y, so the Gauss-Newton step is −B⁺ r.
        Ok(-(pseudo_inverse(&b)? * r))
    };
    iterate(
        physics.sim(),
        state,
        control,
        target,
        stop,
        "Gauss-Newton",
        step,
    )
}
