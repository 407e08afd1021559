//! Finite-difference checks of a simulator's derivatives.
//!
//! Used by the test suite and by `physinv check-grad`: the JVP is compared with central
//! differences of the forward step, and the VJP is tied to the JVP by the adjoint identity
//! `⟨w, J v⟩ = ⟨Jᵀ w, v⟩`. A step, JVP or VJP that returns a vector of the wrong length is
//! an error ([`crate::Error::SimulatorOutput`]), not a panic.

use super::dimensions::{check_len, check_vjp_lengths};
use super::{Jvp, Vector, Vjp};

/// Result of one derivative check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckReport {
    /// Largest absolute deviation found.
    pub abs_error: f64,
    /// Deviation relative to the magnitude of the compared quantities (floored at 1).
    pub rel_error: f64,
}

impl CheckReport {
    /// `true` if the relative error is at most `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.rel_error.is_finite() && self.rel_error <= tolerance
    }
}

/// Compares `J v = A δs + B δu` with the central difference
/// `(P(s + h δs, u + h δu) − P(s − h δs, u − h δu)) / 2h`.
pub fn check_jvp<S: Jvp + ?Sized>(
    sim: &S,
    state: &Vector,
    control: &Vector,
    d_state: &Vector,
    d_control: &Vector,
    h: f64,
) -> crate::Result<CheckReport> {
    let n = sim.state_dim();
    let analytic = sim.jvp(state, control, d_state, d_control);
    check_len(sim.name(), "jvp", n, analytic.len())?;
    let plus = sim.step(&(state + d_state * h), &(control + d_control * h));
    let minus = sim.step(&(state - d_state * h), &(control - d_control * h));
    check_len(sim.name(), "step", n, plus.len())?;
    check_len(sim.name(), "step", n, minus.len())?;
    let numeric = (plus - minus) / (2.0 * h);
    let abs_error = (&analytic - &numeric).amax();
    let scale = analytic.amax().max(numeric.amax()).max(1.0);
    Ok(CheckReport {
        abs_error,
        rel_error: abs_error / scale,
    })
}

/// Checks `⟨w, A δs + B δu⟩ = ⟨Aᵀ w, δs⟩ + ⟨Bᵀ w, δu⟩`.
pub fn check_adjoint<S: Jvp + Vjp + ?Sized>(
    sim: &S,
    state: &Vector,
    control: &Vector,
    d_state: &Vector,
    d_control: &Vector,
    cotangent: &Vector,
) -> crate::Result<CheckReport> {
    let jv = sim.jvp(state, control, d_state, d_control);
    let (ws, wu) = sim.vjp(state, control, cotangent);
    check_len(sim.name(), "jvp", sim.state_dim(), jv.len())?;
    let dims = (sim.state_dim(), sim.control_dim());
    check_vjp_lengths(sim.name(), dims, (&ws, &wu))?;
    let lhs = cotangent.dot(&jv);
    let rhs = ws.dot(d_state) + wu.dot(d_control);
    let abs_error = (lhs - rhs).abs();
    let scale = lhs.abs().max(rhs.abs()).max(1.0);
    Ok(CheckReport {
        abs_error,
        rel_error: abs_error / scale,
    })
}
