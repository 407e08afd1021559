//! Inverting the exponential (docs/method.md §3.2; Holl et al. 2022, Fig. 2).
//!
//! A single-prediction inverse problem written as a one-step simulator: the control is the
//! prediction `x ∈ R`, the state is the output `y ∈ R` (the incoming state is ignored),
//!
//! ```text
//! y = P(x) = exp(x).
//! ```
//!
//! Gradients vanish where `exp` is flat (small `y`), the analytic inverse `x = ln y` does not.
//! Capabilities: forward step, JVP/VJP, analytic inverse, control Hessian, metric `x_dist`.

use super::table::{ParamError, Simulators};
use super::{
    ControlHessian, ControlInverse, Jvp, Matrix, Physics, Scene, SimMetrics, Simulator, Vector, Vjp,
};
use crate::InverseError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Parameters of the exponential: none. Written `params: ()` in a scenario; any field is
/// rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialParams {}

/// The simulator `y = exp(x)`; `n = m = 1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exponential;

impl Exponential {
    /// `|x − ln y*|`, the distance of the prediction `x` (length 1) to the exact solution.
    /// `+∞` if `y* ≤ 0` (no solution, and none is approached at finite `x`); `NaN` for
    /// non-finite input.
    pub fn x_dist(&self, x: &Vector, target: &Vector) -> f64 {
        if x.len() != 1 || target.len() != 1 || !x[0].is_finite() || !target[0].is_finite() {
            return f64::NAN;
        }
        if target[0] <= 0.0 {
            return f64::INFINITY;
        }
        (x[0] - target[0].ln()).abs()
    }
}

impl Simulator for Exponential {
    fn name(&self) -> &str {
        "exponential"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    /// The output `y`; the problem states no unit (`exp` needs a pure number), so
    /// dimensionless.
    fn state_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("y", crate::layout::DIMENSIONLESS)])
    }
    /// The prediction `x`, dimensionless.
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("x", crate::layout::DIMENSIONLESS)])
    }
    fn step(&self, _state: &Vector, control: &Vector) -> Vector {
        control.map(f64::exp)
    }
}

impl Jvp for Exponential {
    fn jvp(
        &self,
        _state: &Vector,
        control: &Vector,
        _d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        control.map(f64::exp).component_mul(d_control)
    }

    fn jacobians(&self, _state: &Vector, control: &Vector) -> (Matrix, Matrix) {
        (
            Matrix::zeros(1, 1),
            Matrix::from_element(1, 1, control[0].exp()),
        )
    }
}

impl Vjp for Exponential {
    fn vjp(&self, _state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        (
            Vector::zeros(1),
            control.map(f64::exp).component_mul(cotangent),
        )
    }
}

impl ControlInverse for Exponential {
    /// `x = ln y`; `y ≤ 0` (or non-finite) is [`InverseError::OutOfRange`].
    fn control_inverse(
        &self,
        _state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, InverseError> {
        if target.len() != 1 {
            return Err(InverseError::OutOfRange {
                reason: format!(
                    "exponential expects a target of length 1, got {}",
                    target.len()
                ),
            });
        }
        let y = target[0];
        if !(y.is_finite() && y > 0.0) {
            return Err(InverseError::OutOfRange {
                reason: format!("exp(x) = {y} has no real solution (needs 0 < y < ∞)"),
            });
        }
        Ok(Vector::from_element(1, y.ln()))
    }
}

impl ControlHessian for Exponential {
    /// `w exp(x)` (1×1).
    fn control_hessian(&self, _state: &Vector, control: &Vector, cotangent: &Vector) -> Matrix {
        Matrix::from_element(1, 1, cotangent[0] * control[0].exp())
    }
}

impl SimMetrics for Exponential {
    fn metric_names(&self) -> Vec<String> {
        vec!["x_dist".to_string()]
    }

    /// `x_dist` ([`Exponential::x_dist`] of `controls[0]` to `target`); `NaN` without controls.
    fn evaluate(&self, scene: &Scene, controls: &[Vector], _states: &[Vector]) -> Vec<f64> {
        vec![controls
            .first()
            .map_or(f64::NAN, |x| self.x_dist(x, &scene.target))]
    }
}

/// Builds the full [`Physics`] of the exponential: JVP, VJP, inverse, Hessian and metrics.
pub fn physics(_params: ExponentialParams) -> Result<Physics, ParamError> {
    Ok(Physics::full(Exponential).with_metrics(Arc::new(Exponential)))
}

/// Registers `"exponential"` (no parameters).
pub fn register(table: &mut Simulators) {
    table.register::<ExponentialParams, _>(
        "exponential",
        "exponential y = exp(x), n = m = 1 (no params)",
        physics,
    );
}
