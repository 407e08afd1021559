//! The rotating sine (docs/method.md §3.1; Holl et al. 2022, Fig. 5).
//!
//! A single-prediction inverse problem written as a one-step simulator. The control is the
//! prediction `x ∈ R²`, the state is the output `y ∈ R²` (the incoming state is ignored):
//!
//! ```text
//! x̂ = R_φ x,   R_φ = [[cos φ, −sin φ], [sin φ, cos φ]],
//! P(x) = ( sin(γ x̂₁ / ξ),  γ ξ x̂₂ ).
//! ```
//!
//! `ξ > 0` sets the conditioning (the two outputs differ in sensitivity by `ξ²`), `φ` couples
//! the two dimensions, `γ` (default 10) the number of sine periods over the unit interval.
//!
//! Capabilities: forward step, closed-form JVP/VJP and Jacobians, the analytic local inverse
//! (nearest `arcsin` branch), the control Hessian, and the metrics `x_dist` (distance of the
//! prediction to the nearest exact solution) and `x_dist_over_xi` (`x_dist / ξ`, docs/method.md §3.1's
//! metric for the `ξ` sweep).

use super::table::{ParamError, Simulators};
use super::{
    ControlHessian, ControlInverse, Jvp, Matrix, Physics, Scene, SimMetrics, Simulator, Vector, Vjp,
};
use crate::InverseError;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Parameters of the rotating sine, as read from a scenario's `params`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatingSineParams {
    /// Conditioning `ξ` (dimensionless, `> 0`, finite). Default 1.
    #[serde(default = "default_xi")]
    pub xi: f64,
    /// Rotation angle `φ` in degrees (finite). Default 0.
    #[serde(default)]
    pub phi_deg: f64,
    /// Frequency factor `γ` (dimensionless, `> 0`, finite). Default 10.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

fn default_xi() -> f64 {
    1.0
}

fn default_gamma() -> f64 {
    10.0
}

impl Default for RotatingSineParams {
    fn default() -> Self {
        RotatingSineParams {
            xi: default_xi(),
            phi_deg: 0.0,
            gamma: default_gamma(),
        }
    }
}

impl RotatingSineParams {
    /// Checks the ranges: `xi > 0`, `gamma > 0`, all finite.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.xi.is_finite() && self.xi > 0.0) {
            return Err(ParamError::new(
                "xi",
                format!("must be finite and > 0, got {}", self.xi),
            ));
        }
        if !self.phi_deg.is_finite() {
            return Err(ParamError::new(
                "phi_deg",
                format!("must be finite, got {}", self.phi_deg),
            ));
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            return Err(ParamError::new(
                "gamma",
                format!("must be finite and > 0, got {}", self.gamma),
            ));
        }
        Ok(())
    }
}

/// The rotating sine simulator `P(x) = (sin(γ x̂₁/ξ), γ ξ x̂₂)`, `x̂ = R_φ x`; `n = m = 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatingSine {
    xi: f64,
    gamma: f64,
    phi_deg: f64,
    cos_phi: f64,
    sin_phi: f64,
}

impl RotatingSine {
    /// Builds the simulator after validating `params`.
    pub fn new(params: RotatingSineParams) -> Result<Self, ParamError> {
        params.validate()?;
        let phi = params.phi_deg.to_radians();
        Ok(RotatingSine {
            xi: params.xi,
            gamma: params.gamma,
            phi_deg: params.phi_deg,
            cos_phi: phi.cos(),
            sin_phi: phi.sin(),
        })
    }

    /// Conditioning `ξ`.
    pub fn xi(&self) -> f64 {
        self.xi
    }

    /// Rotation angle `φ` in degrees.
    pub fn phi_deg(&self) -> f64 {
        self.phi_deg
    }

    /// Frequency factor `γ`.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// `x̂ = R_φ x`.
    fn rotate(&self, x0: f64, x1: f64) -> (f64, f64) {
        (
            self.cos_phi * x0 - self.sin_phi * x1,
            self.sin_phi * x0 + self.cos_phi * x1,
        )
    }

    /// `x = R_φᵀ x̂`.
    fn rotate_back(&self, h0: f64, h1: f64) -> (f64, f64) {
        (
            self.cos_phi * h0 + self.sin_phi * h1,
            -self.sin_phi * h0 + self.cos_phi * h1,
        )
    }

    /// Sine argument `a = γ x̂₁ / ξ` and `x̂₂` of a control.
    fn argument(&self, control: &Vector) -> (f64, f64) {
        let (h0, h1) = self.rotate(control[0], control[1]);
        (self.gamma * h0 / self.xi, h1)
    }

    /// `B = ∂P/∂x = diag((γ/ξ) cos a, γ ξ) R_φ`.
    fn control_jacobian(&self, control: &Vector) -> Matrix {
        let (a, _) = self.argument(control);
        let d0 = self.gamma / self.xi * a.cos();
        let d1 = self.gamma * self.xi;
        Matrix::from_row_slice(
            2,
            2,
            &[
                d0 * self.cos_phi,
                -d0 * self.sin_phi,
                d1 * self.sin_phi,
                d1 * self.cos_phi,
            ],
        )
    }

    /// The exact solution of `P(x̃) = y` nearest `x` (over all `arcsin` branches), requiring
    /// `|y₁| ≤ 1`. Because `R_φ` is orthogonal and `x̂₂` is fixed by `y₂`, the nearest solution
    /// in `x` is the one whose sine argument is nearest the current argument.
    fn nearest_solution(&self, x: &Vector, y0: f64, y1: f64) -> Vector {
        let (a, _) = self.argument(x);
        let base = y0.asin();
        let mirrored = PI - base;
        let nearest_on = |b: f64| b + 2.0 * PI * ((a - b) / (2.0 * PI)).round();
        let c0 = nearest_on(base);
        let c1 = nearest_on(mirrored);
        let best = if (c0 - a).abs() <= (c1 - a).abs() {
            c0
        } else {
            c1
        };
        let h0 = best * self.xi / self.gamma;
        let h1 = y1 / (self.gamma * self.xi);
        let (x0, x1) = self.rotate_back(h0, h1);
        Vector::from_vec(vec![x0, x1])
    }

    /// Euclidean distance from the prediction `x` (length 2) to the nearest exact solution of
    /// `P(x̃) = y*` over all `arcsin` branches `±2πk` and the mirrored branch `π − arcsin`,
    /// mapped back through the scaling by `ξ/γ` and the rotation.
    ///
    /// If `|y*₁| > 1` there is no exact solution; the distance is then measured to the nearest
    /// point of the closest achievable solution set, that of `y₁ = sign(y*₁)` (where `sin`
    /// reaches its extreme), with `x̂₂ = y*₂/(γξ)` as usual. Non-finite inputs give `NaN`.
    pub fn x_dist(&self, x: &Vector, target: &Vector) -> f64 {
        if x.len() != 2 || target.len() != 2 {
            return f64::NAN;
        }
        if !(x.iter().all(|v| v.is_finite()) && target.iter().all(|v| v.is_finite())) {
            return f64::NAN;
        }
        let solution = self.nearest_solution(x, target[0].clamp(-1.0, 1.0), target[1]);
        (x - solution).norm()
    }
}

impl Simulator for RotatingSine {
    fn name(&self) -> &str {
        "rotating_sine"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        2
    }
    /// The output `y1, y2`. The problem states no units (an abstract test problem), so both
    /// are marked dimensionless.
    fn state_layout(&self) -> crate::layout::Layout {
        use crate::layout::DIMENSIONLESS as ONE;
        crate::layout::Layout::flat(&[("y1", ONE), ("y2", ONE)])
    }
    /// The prediction `x1, x2`, dimensionless like the output.
    fn control_layout(&self) -> crate::layout::Layout {
        use crate::layout::DIMENSIONLESS as ONE;
        crate::layout::Layout::flat(&[("x1", ONE), ("x2", ONE)])
    }
    fn step(&self, _state: &Vector, control: &Vector) -> Vector {
        let (a, h1) = self.argument(control);
        Vector::from_vec(vec![a.sin(), self.gamma * self.xi * h1])
    }
}

impl Jvp for RotatingSine {
    fn jvp(
        &self,
        _state: &Vector,
        control: &Vector,
        _d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        self.control_jacobian(control) * d_control
    }

    fn jacobians(&self, _state: &Vector, control: &Vector) -> (Matrix, Matrix) {
        (Matrix::zeros(2, 2), self.control_jacobian(control))
    }
}

impl Vjp for RotatingSine {
    fn vjp(&self, _state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        (
            Vector::zeros(2),
            self.control_jacobian(control).tr_mul(cotangent),
        )
    }
}

impl ControlInverse for RotatingSine {
    /// `x̂₁ = (ξ/γ) a` with `a` the solution of `sin a = y₁` nearest the current argument
    /// (branches `arcsin y₁ + 2πk` and `π − arcsin y₁ + 2πk`), `x̂₂ = y₂/(γξ)`, `x = R_φᵀ x̂`.
    /// `|y₁| > 1` is [`InverseError::OutOfRange`].
    fn control_inverse(
        &self,
        _state: &Vector,
        control: &Vector,
        target: &Vector,
    ) -> Result<Vector, InverseError> {
        if target.len() != 2 || control.len() != 2 {
            return Err(InverseError::OutOfRange {
                reason: format!(
                    "rotating_sine expects target and control of length 2, got {} and {}",
                    target.len(),
                    control.len()
                ),
            });
        }
        let (y0, y1) = (target[0], target[1]);
        if !(y0.is_finite() && y1.is_finite()) {
            return Err(InverseError::OutOfRange {
                reason: format!("non-finite target ({y0}, {y1})"),
            });
        }
        if y0.abs() > 1.0 {
            return Err(InverseError::OutOfRange {
                reason: format!("|y₁| = {} > 1 is outside the range of sin", y0.abs()),
            });
        }
        if !control.iter().all(|v| v.is_finite()) {
            return Err(InverseError::Singular {
                reason: "non-finite current control".to_string(),
            });
        }
        Ok(self.nearest_solution(control, y0, y1))
    }
}

impl ControlHessian for RotatingSine {
    /// `w₁ · (−(γ/ξ)² sin a) · r₁ r₁ᵀ` with `r₁ = (cos φ, −sin φ)` the first row of `R_φ`;
    /// the second output is linear and contributes nothing.
    fn control_hessian(&self, _state: &Vector, control: &Vector, cotangent: &Vector) -> Matrix {
        let (a, _) = self.argument(control);
        let k = self.gamma / self.xi;
        let c = -cotangent[0] * k * k * a.sin();
        let r = [self.cos_phi, -self.sin_phi];
        Matrix::from_fn(2, 2, |i, j| c * r[i] * r[j])
    }
}

impl SimMetrics for RotatingSine {
    fn metric_names(&self) -> Vec<String> {
        vec!["x_dist".to_string(), "x_dist_over_xi".to_string()]
    }

    /// `x_dist` ([`RotatingSine::x_dist`] of `controls[0]` to `target`) and `x_dist / ξ`;
    /// `NaN` if there is no control.
    fn evaluate(&self, scene: &Scene, controls: &[Vector], _states: &[Vector]) -> Vec<f64> {
        let d = controls
            .first()
            .map_or(f64::NAN, |x| self.x_dist(x, &scene.target));
        vec![d, d / self.xi]
    }
}

/// Builds the full [`Physics`] of a rotating sine: JVP, VJP, inverse, Hessian and metrics.
pub fn physics(params: RotatingSineParams) -> Result<Physics, ParamError> {
    let sim = RotatingSine::new(params)?;
    let metrics = Arc::new(sim.clone());
    Ok(Physics::full(sim).with_metrics(metrics))
}

/// Registers `"rotating_sine"` with parameters [`RotatingSineParams`].
pub fn register(table: &mut Simulators) {
    table.register::<RotatingSineParams, _>(
        "rotating_sine",
        "rotating sine P(x) = (sin(γ x̂₁/ξ), γ ξ x̂₂), x̂ = R_φ x (params: xi, phi_deg, gamma)",
        physics,
    );
}
