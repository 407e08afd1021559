//! Point mass in the plane with linear drag (registered as `point_mass`).
//!
//! State `s = (x, y, v_x, v_y)`: position in m, velocity in m/s. Control `u = (f_x, f_y)`:
//! force in N, held constant over the step (zero-order hold). Continuous dynamics
//!
//! ```text
//! ẋ = v,    v̇ = −k v + f / m
//! ```
//!
//! with mass `m` (kg) and drag rate `k` (1/s). The step is the **exact** discretisation of this
//! linear ODE over `Δt` (matrix exponential with zero-order-hold force), per axis:
//!
//! ```text
//! v' = e v + φ₁ f/m,         e  = exp(−k Δt)
//! x' = x + φ₁ v + φ₂ f/m,    φ₁ = (1 − e)/k,   φ₂ = (Δt − φ₁)/k
//! ```
//!
//! (`φ₁ → Δt`, `φ₂ → Δt²/2` as `k → 0`). So `s' = A s + B u` with constant `A` (4×4) and
//! `B` (4×2), exact JVP/VJP, and an analytic least-squares control inverse.

use super::{ControlInverse, Jvp, Matrix, ParamError, Physics, Registry, Simulator, Vector, Vjp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Parameters of [`PointMass`]; every field has a default, so `params: ()` is the reference
/// set-up.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PointMassParams {
    /// Mass `m` in kg (> 0). Default 1.
    #[serde(default = "default_mass")]
    pub mass: f64,
    /// Linear drag rate `k` in 1/s (≥ 0): `v̇ = −k v + f/m`. Default 0.5.
    #[serde(default = "default_drag")]
    pub drag: f64,
    /// Time step `Δt` in s (> 0). Default 0.1.
    #[serde(default = "default_dt")]
    pub dt: f64,
}

fn default_mass() -> f64 {
    1.0
}
fn default_drag() -> f64 {
    0.5
}
fn default_dt() -> f64 {
    0.1
}

impl Default for PointMassParams {
    fn default() -> Self {
        PointMassParams {
            mass: default_mass(),
            drag: default_drag(),
            dt: default_dt(),
        }
    }
}

/// 2D point mass with linear drag, exactly discretised (see the module docs).
#[derive(Debug, Clone)]
pub struct PointMass {
    params: PointMassParams,
    /// `exp(−k Δt)`.
    e: f64,
    /// `φ₁ = (1 − e)/k` (s).
    phi1: f64,
    /// `φ₂ = (Δt − φ₁)/k` (s²).
    phi2: f64,
}

/// `(φ₁, φ₂)` of the exact discretisation, accurate for small `k Δt` (series) and `k = 0`.
fn phis(k: f64, dt: f64) -> (f64, f64) {
    let z = k * dt;
    if z < 1e-3 {
        // Taylor series; the first omitted term is O(z⁴) relative, below round-off here.
        let phi1 = dt * (1.0 - z / 2.0 + z * z / 6.0 - z * z * z / 24.0);
        let phi2 = dt * dt * (0.5 - z / 6.0 + z * z / 24.0 - z * z * z / 120.0);
        (phi1, phi2)
    } else {
        let phi1 = -(-z).exp_m1() / k;
        (phi1, (dt - phi1) / k)
    }
}

fn positive(field: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(field, format!("must be > 0, got {v}")))
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(field, format!("must be ≥ 0, got {v}")))
    }
}

impl PointMass {
    /// Validates `params` (mass > 0, drag ≥ 0, dt > 0, all finite) and precomputes the
    /// discretisation coefficients.
    pub fn new(params: PointMassParams) -> Result<Self, ParamError> {
        positive("mass", params.mass)?;
        non_negative("drag", params.drag)?;
        positive("dt", params.dt)?;
        let (phi1, phi2) = phis(params.drag, params.dt);
        Ok(PointMass {
            e: (-params.drag * params.dt).exp(),
            phi1,
            phi2,
            params,
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &PointMassParams {
        &self.params
    }

    /// `A = ∂s'/∂s` (4×4, dimensionless/s entries as appropriate).
    pub fn a_matrix(&self) -> Matrix {
        let mut a = Matrix::identity(4, 4);
        a[(0, 2)] = self.phi1;
        a[(1, 3)] = self.phi1;
        a[(2, 2)] = self.e;
        a[(3, 3)] = self.e;
        a
    }

    /// `B = ∂s'/∂u` (4×2; m/N and m/(N·s)).
    pub fn b_matrix(&self) -> Matrix {
        let (bx, bv) = self.b_coefficients();
        let mut b = Matrix::zeros(4, 2);
        b[(0, 0)] = bx;
        b[(1, 1)] = bx;
        b[(2, 0)] = bv;
        b[(3, 1)] = bv;
        b
    }

    /// `(φ₂/m, φ₁/m)`: response of position and velocity of one axis to that axis' force.
    fn b_coefficients(&self) -> (f64, f64) {
        (self.phi2 / self.params.mass, self.phi1 / self.params.mass)
    }

    /// `A s + B u` on raw components.
    fn apply(&self, s: &Vector, u: &Vector) -> Vector {
        let (bx, bv) = self.b_coefficients();
        Vector::from_column_slice(&[
            s[0] + self.phi1 * s[2] + bx * u[0],
            s[1] + self.phi1 * s[3] + bx * u[1],
            self.e * s[2] + bv * u[0],
            self.e * s[3] + bv * u[1],
        ])
    }
}

impl Simulator for PointMass {
    fn name(&self) -> &str {
        "point_mass"
    }
    fn state_dim(&self) -> usize {
        4
    }
    fn control_dim(&self) -> usize {
        2
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.apply(state, control)
    }
}

impl Jvp for PointMass {
    fn jvp(
        &self,
        _state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        self.apply(d_state, d_control)
    }

    fn jacobians(&self, _state: &Vector, _control: &Vector) -> (Matrix, Matrix) {
        (self.a_matrix(), self.b_matrix())
    }
}

impl Vjp for PointMass {
    fn vjp(&self, _state: &Vector, _control: &Vector, w: &Vector) -> (Vector, Vector) {
        let (bx, bv) = self.b_coefficients();
        let ws = Vector::from_column_slice(&[
            w[0],
            w[1],
            self.phi1 * w[0] + self.e * w[2],
            self.phi1 * w[1] + self.e * w[3],
        ]);
        let wu = Vector::from_column_slice(&[bx * w[0] + bv * w[2], bx * w[1] + bv * w[3]]);
        (ws, wu)
    }
}

impl ControlInverse for PointMass {
    /// Least-squares inverse: the force `ũ` minimising `‖B ũ − (s̃' − A s)‖²` (plain Euclidean
    /// norm over the mixed m and m/s components). `B` has full column rank, so `ũ` is unique
    /// and does not depend on `control`; it reaches `target` exactly when it is reachable.
    fn control_inverse(
        &self,
        state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        let (bx, bv) = self.b_coefficients();
        let norm2 = bx * bx + bv * bv;
        // Residuals the force must produce, per axis: position row and velocity row.
        let rx = target[0] - (state[0] + self.phi1 * state[2]);
        let ry = target[1] - (state[1] + self.phi1 * state[3]);
        let rvx = target[2] - self.e * state[2];
        let rvy = target[3] - self.e * state[3];
        let u = Vector::from_column_slice(&[
            (bx * rx + bv * rvx) / norm2,
            (bx * ry + bv * rvy) / norm2,
        ]);
        if u.iter().all(|v| v.is_finite()) {
            Ok(u)
        } else {
            Err(crate::InverseError::Singular(
                "point_mass inverse produced a non-finite force".into(),
            ))
        }
    }
}

/// Registers `point_mass` (JVP, VJP, control inverse).
pub fn register(registry: &mut Registry) {
    registry.register::<PointMassParams, _>(
        "point_mass",
        "2D point mass with linear drag; state (x, y, vx, vy) [m, m/s], force (fx, fy) [N]",
        |params| {
            let sim = Arc::new(PointMass::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone()).with_inverse(sim))
        },
    );
}
