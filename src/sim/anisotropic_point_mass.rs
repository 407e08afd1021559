//! The control conditioning study (docs/method.md §4.4, the control analogue of the rotating sine):
//! a point mass with anisotropic masses and rotated actuators (registered as
//! `anisotropic_point_mass`).
//!
//! State `s = (x, y, v_x, v_y)`: position in m, velocity in m/s. Control `u = (u₁, u₂)` in N,
//! held constant over the step. The applied force is the control rotated by `φ`,
//!
//! ```text
//! f = R_φ u,   R_φ = [[cos φ, −sin φ], [sin φ, cos φ]],
//! ẋ = v,       v̇_x = −k v_x + f_x / m,     v̇_y = −k v_y + f_y / (m ξ²),
//! ```
//!
//! i.e. masses `m_x = m` and `m_y = m ξ²`. The same force moves `y` `ξ²` times less: the
//! y-rows of `B` scale by `1/ξ²` and the conditioning of the controllability Gramian by about
//! `ξ⁴`, and the rotation mixes the two actuators so that no per-parameter normalisation of an
//! optimizer can undo it. An exact inversion of the (linear) physics is invariant to `ξ`;
//! gradients are not.
//!
//! This is the [`LinearPointMass`] core of [`point_mass`](super::point_mass) with masses
//! `(m, m ξ²)` and actuator `R_φ`: the same exact zero-order-hold step, JVP, VJP, closed-form
//! Jacobians (constant `A`, `B`) and least-squares control inverse. At `ξ = 1`, `φ = 0` it is
//! `point_mass`.

use super::point_mass::{default_drag, default_dt, default_mass, positive, Axes, LinearPointMass};
use super::{ParamError, Physics, Simulators};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Parameters of [`AnisotropicPointMass`]; every field has a default, so `params: ()` is the
/// isotropic point mass with actuators rotated by 45°.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnisotropicPointMassParams {
    /// Conditioning `ξ` (dimensionless, > 0): the y mass is `m ξ²`. Default 1.
    #[serde(default = "default_xi")]
    pub xi: f64,
    /// Actuator rotation `φ` in degrees (finite): force `f = R_φ u`. Default 45.
    #[serde(default = "default_phi_deg")]
    pub phi_deg: f64,
    /// Base mass `m` in kg (> 0): `m_x = m`, `m_y = m ξ²`. Default 1.
    #[serde(default = "default_mass")]
    pub mass: f64,
    /// Linear drag rate `k` in 1/s (≥ 0) on both axes. Default 0.5.
    #[serde(default = "default_drag")]
    pub drag: f64,
    /// Time step `Δt` in s (> 0). Default 0.1.
    #[serde(default = "default_dt")]
    pub dt: f64,
}

fn default_xi() -> f64 {
    1.0
}
fn default_phi_deg() -> f64 {
    45.0
}

impl Default for AnisotropicPointMassParams {
    fn default() -> Self {
        AnisotropicPointMassParams {
            xi: default_xi(),
            phi_deg: default_phi_deg(),
            mass: default_mass(),
            drag: default_drag(),
            dt: default_dt(),
        }
    }
}

/// Point mass with masses `(m, m ξ²)` and actuators rotated by `φ`, exactly discretised (see
/// the module docs).
pub type AnisotropicPointMass = LinearPointMass<AnisotropicPointMassParams>;

impl AnisotropicPointMass {
    /// Validates `params` (xi > 0, phi_deg finite, mass > 0 with `m ξ²` representable,
    /// drag ≥ 0, dt > 0, all finite) and precomputes the discretisation coefficients.
    pub fn new(params: AnisotropicPointMassParams) -> Result<Self, ParamError> {
        positive("xi", params.xi)?;
        if !params.phi_deg.is_finite() {
            return Err(ParamError::new(
                "phi_deg",
                format!("must be finite, got {}", params.phi_deg),
            ));
        }
        positive("mass", params.mass)?;
        let mass_y = params.mass * params.xi * params.xi;
        if !(mass_y.is_finite() && mass_y > 0.0) {
            return Err(ParamError::new(
                "xi",
                format!(
                    "must be > 0 with a finite, positive y mass m·ξ², got ξ = {} (m·ξ² = {mass_y})",
                    params.xi
                ),
            ));
        }
        let (sin, cos) = params.phi_deg.to_radians().sin_cos();
        let axes = Axes {
            masses: [params.mass, mass_y],
            actuator: [[cos, -sin], [sin, cos]],
            drag: params.drag,
            dt: params.dt,
        };
        LinearPointMass::from_axes("anisotropic_point_mass", params, axes)
    }
}

/// Registers `anisotropic_point_mass` (JVP, VJP, control inverse, `position_error`).
pub fn register(table: &mut Simulators) {
    table.register::<AnisotropicPointMassParams, _>(
        "anisotropic_point_mass",
        "2D point mass with masses (m, m·xi²), actuators rotated by phi_deg and linear drag \
         (docs/method.md §4.4); state (x, y, vx, vy) [m, m/s], control (u1, u2) [N]",
        |params| {
            let sim = Arc::new(AnisotropicPointMass::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone())
                .with_inverse(sim.clone())
                .with_metrics(sim))
        },
    );
}
