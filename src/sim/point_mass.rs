//! Point mass in the plane with linear drag (registered as `point_mass`), and the linear
//! point-mass core [`LinearPointMass`] it shares with
//! [`anisotropic_point_mass`](super::anisotropic_point_mass).
//!
//! State `s = (x, y, v_x, v_y)`: position in m, velocity in m/s. Control `u = (u₁, u₂)`:
//! force in N, held constant over the step (zero-order hold). Continuous dynamics of the core
//!
//! ```text
//! ẋ = v,    v̇ = −k v + M⁻¹ G u,    M = diag(m_x, m_y)
//! ```
//!
//! with per-axis masses `m_x`, `m_y` (kg), drag rate `k` (1/s, the same on both axes) and a
//! constant, invertible 2×2 actuator matrix `G` mapping the control to the applied force
//! `f = G u`. `point_mass` is the isotropic case `m_x = m_y = m`, `G = I`, so `f = u`.
//!
//! The step is the **exact** discretisation of this linear ODE over `Δt` (matrix exponential
//! with zero-order-hold force), per axis `i`:
//!
//! ```text
//! v'ᵢ = e vᵢ + φ₁ fᵢ/mᵢ,          e  = exp(−k Δt)
//! x'ᵢ = xᵢ + φ₁ vᵢ + φ₂ fᵢ/mᵢ,    φ₁ = (1 − e)/k,   φ₂ = (Δt − φ₁)/k
//! ```
//!
//! (`φ₁ → Δt`, `φ₂ → Δt²/2` as `k → 0`). So `s' = A s + B u` with constant `A` (4×4) and
//! `B = (φ₂, φ₁)ᵀ ⊗ M⁻¹G` (4×2), exact JVP/VJP, and an analytic least-squares control inverse.

use super::{
    fit, ControlInverse, Jvp, Matrix, ParamError, Physics, Scene, SimMetrics, Simulator,
    Simulators, Vector, Vjp,
};
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

pub(super) fn default_mass() -> f64 {
    1.0
}
pub(super) fn default_drag() -> f64 {
    0.5
}
pub(super) fn default_dt() -> f64 {
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

/// 2D point mass with linear drag, exactly discretised (see the module docs): the
/// [`LinearPointMass`] core with equal masses and no actuator mixing.
pub type PointMass = LinearPointMass<PointMassParams>;

impl PointMass {
    /// Validates `params` (mass > 0, drag ≥ 0, dt > 0, all finite) and precomputes the
    /// discretisation coefficients.
    pub fn new(params: PointMassParams) -> Result<Self, ParamError> {
        let axes = Axes {
            masses: [params.mass, params.mass],
            actuator: [[1.0, 0.0], [0.0, 1.0]],
            drag: params.drag,
            dt: params.dt,
        };
        LinearPointMass::from_axes("point_mass", params, axes)
    }
}

/// Physical set-up of a [`LinearPointMass`], in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axes {
    /// Masses `(m_x, m_y)` in kg.
    pub masses: [f64; 2],
    /// Actuator matrix `G` (row-major, dimensionless): force `f = G u`.
    pub actuator: [[f64; 2]; 2],
    /// Drag rate `k` in 1/s on both axes.
    pub drag: f64,
    /// Time step `Δt` in s.
    pub dt: f64,
}

/// The linear point-mass core behind `point_mass` and `anisotropic_point_mass`: per-axis
/// masses, a 2×2 actuator matrix, linear drag, exact zero-order-hold step (module docs).
///
/// `P` is the parameter struct the simulator was built from ([`LinearPointMass::params`]);
/// the constructors live with it ([`PointMass::new`],
/// [`AnisotropicPointMass::new`](super::anisotropic_point_mass::AnisotropicPointMass::new)).
#[derive(Debug, Clone)]
pub struct LinearPointMass<P> {
    name: &'static str,
    params: P,
    dt: f64,
    /// `exp(−k Δt)`.
    e: f64,
    /// `φ₁ = (1 − e)/k` (s).
    phi1: f64,
    /// `B`'s position rows `φ₂ M⁻¹G` (m/N): `bpos[i][j] = ∂x'ᵢ/∂uⱼ`.
    bpos: [[f64; 2]; 2],
    /// `B`'s velocity rows `φ₁ M⁻¹G` (m/(N·s)): `bvel[i][j] = ∂v'ᵢ/∂uⱼ`.
    bvel: [[f64; 2]; 2],
    /// `(M⁻¹G)⁻¹ = G⁻¹M` (N·s²/m), for the inverse.
    gain_inv: [[f64; 2]; 2],
    /// `(φ₂, φ₁) / (φ₂² + φ₁²)`, for the inverse (least squares over mixed m and m/s rows).
    ls_weights: (f64, f64),
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

/// `Ok` if `v` is finite and `> 0`, else a [`ParamError`] for `field`.
pub(crate) fn positive(field: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(field, format!("must be > 0, got {v}")))
    }
}

/// `Ok` if `v` is finite and `≥ 0`, else a [`ParamError`] for `field`.
pub(crate) fn non_negative(field: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(field, format!("must be ≥ 0, got {v}")))
    }
}

impl<P> LinearPointMass<P> {
    /// Validates the masses (> 0, reported as `mass`), `drag` (≥ 0) and `dt` (> 0), all
    /// finite, and precomputes the step. Callers validate their own parameters first, so that
    /// errors name the field as written in the scenario. The actuator must be invertible.
    pub(crate) fn from_axes(name: &'static str, params: P, axes: Axes) -> Result<Self, ParamError> {
        let [mx, my] = axes.masses;
        positive("mass", mx)?;
        positive("mass", my)?;
        non_negative("drag", axes.drag)?;
        positive("dt", axes.dt)?;
        let [[g00, g01], [g10, g11]] = axes.actuator;
        let det = g00 * g11 - g01 * g10;
        debug_assert!(
            det.is_finite() && det != 0.0,
            "the actuator matrix must be invertible"
        );
        let (phi1, phi2) = phis(axes.drag, axes.dt);
        // Row i of M⁻¹G, scaled by φ: `φ · gᵢⱼ / mᵢ` (for G = I exactly `φ / m`).
        let rows = |phi: f64| {
            [
                [phi * g00 / mx, phi * g01 / mx],
                [phi * g10 / my, phi * g11 / my],
            ]
        };
        // G⁻¹M = adj(G) M / det(G): column j of G⁻¹ scaled by mⱼ.
        let gain_inv = [
            [g11 / det * mx, -g01 / det * my],
            [-g10 / det * mx, g00 / det * my],
        ];
        let norm2 = phi1 * phi1 + phi2 * phi2;
        Ok(LinearPointMass {
            name,
            params,
            dt: axes.dt,
            e: (-axes.drag * axes.dt).exp(),
            phi1,
            bpos: rows(phi2),
            bvel: rows(phi1),
            gain_inv,
            ls_weights: (phi2 / norm2, phi1 / norm2),
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &P {
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
        let mut b = Matrix::zeros(4, 2);
        for i in 0..2 {
            for j in 0..2 {
                b[(i, j)] = self.bpos[i][j];
                b[(2 + i, j)] = self.bvel[i][j];
            }
        }
        b
    }

    /// `A s + B u` on raw components.
    fn apply(&self, s: &Vector, u: &Vector) -> Vector {
        let mut out = Vector::zeros(4);
        self.apply_into(s, u, &mut out);
        out
    }

    /// `out ← A s + B u` (`out` resized to 4 if needed; must not alias `s` or `u`).
    fn apply_into(&self, s: &Vector, u: &Vector, out: &mut Vector) {
        let (p, v) = (&self.bpos, &self.bvel);
        fit(out, 4);
        out[0] = s[0] + self.phi1 * s[2] + p[0][0] * u[0] + p[0][1] * u[1];
        out[1] = s[1] + self.phi1 * s[3] + p[1][0] * u[0] + p[1][1] * u[1];
        out[2] = self.e * s[2] + v[0][0] * u[0] + v[0][1] * u[1];
        out[3] = self.e * s[3] + v[1][0] * u[0] + v[1][1] * u[1];
    }
}

impl<P: Send + Sync> Simulator for LinearPointMass<P> {
    fn name(&self) -> &str {
        self.name
    }
    fn state_dim(&self) -> usize {
        4
    }
    fn control_dim(&self) -> usize {
        2
    }
    /// `x [m]`, `y [m]`, `vx [m/s]`, `vy [m/s]`.
    fn state_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("x", "m"), ("y", "m"), ("vx", "m/s"), ("vy", "m/s")])
    }
    /// `u1 [N]`, `u2 [N]` (the actuators' forces before the actuator matrix `G`).
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("u1", "N"), ("u2", "N")])
    }
    fn dt(&self) -> f64 {
        self.dt
    }
    /// Per actuator, the largest control it needs for a unit acceleration in any direction:
    /// the norm of its row of `G⁻¹M` (N per m/s²). `m` for the isotropic point mass; about
    /// `m ξ² / √2` for both actuators of the anisotropic one at `φ = 45°`.
    fn control_scale(&self) -> Option<Vector> {
        let g = &self.gain_inv;
        Some(Vector::from_column_slice(&[
            g[0][0].hypot(g[0][1]),
            g[1][0].hypot(g[1][1]),
        ]))
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.apply(state, control)
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        self.apply_into(state, control, out);
    }
}

impl<P: Send + Sync> Jvp for LinearPointMass<P> {
    fn constant_jacobians(&self) -> bool {
        true
    }

    fn jvp(
        &self,
        _state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        self.apply(d_state, d_control)
    }

    fn jvp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        self.apply_into(d_state, d_control, out);
    }

    fn jacobians(&self, _state: &Vector, _control: &Vector) -> (Matrix, Matrix) {
        (self.a_matrix(), self.b_matrix())
    }
}

impl<P: Send + Sync> Vjp for LinearPointMass<P> {
    fn vjp(&self, state: &Vector, control: &Vector, w: &Vector) -> (Vector, Vector) {
        let (mut ws, mut wu) = (Vector::zeros(4), Vector::zeros(2));
        self.vjp_into(state, control, w, &mut ws, &mut wu);
        (ws, wu)
    }

    fn vjp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        w: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        let (p, v) = (&self.bpos, &self.bvel);
        fit(d_state, 4);
        fit(d_control, 2);
        d_state[0] = w[0];
        d_state[1] = w[1];
        d_state[2] = self.phi1 * w[0] + self.e * w[2];
        d_state[3] = self.phi1 * w[1] + self.e * w[3];
        for j in 0..2 {
            d_control[j] = (p[0][j] * w[0] + v[0][j] * w[2]) + (p[1][j] * w[1] + v[1][j] * w[3]);
        }
    }
}

impl<P: Send + Sync> ControlInverse for LinearPointMass<P> {
    /// Least-squares inverse: the force `ũ` minimising `‖B ũ − (s̃' − A s)‖²` (plain Euclidean
    /// norm over the mixed m and m/s components), i.e. the solution of the 2×2 normal
    /// equations `BᵀB ũ = Bᵀ(s̃' − A s)`. `B` has full column rank, so `ũ` is unique and does
    /// not depend on `control`; it reaches `target` exactly when it is reachable.
    ///
    /// Both axes share `(φ₂, φ₁)`, so `B = c ⊗ K` with `c = (φ₂, φ₁)ᵀ`, `K = M⁻¹G`, and the
    /// normal equations factor as `|c|² KᵀK ũ = Kᵀ(φ₂ r_x + φ₁ r_v)`: solved as
    /// `ũ = K⁻¹ (φ₂ r_x + φ₁ r_v)/|c|²` without forming `BᵀB`, whose condition number is the
    /// square of `K`'s (about `ξ⁴` for `anisotropic_point_mass`).
    fn control_inverse(
        &self,
        state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        let (wx, wv) = self.ls_weights;
        // Residuals the force must produce, per axis: position row and velocity row, combined
        // into the least-squares acceleration `aᵢ = (K ũ)ᵢ` (m/s²) of that axis.
        let axis = |i: usize| {
            let rx = target[i] - (state[i] + self.phi1 * state[2 + i]);
            let rv = target[2 + i] - self.e * state[2 + i];
            wx * rx + wv * rv
        };
        let a = [axis(0), axis(1)];
        let k = &self.gain_inv;
        let u = Vector::from_column_slice(&[
            k[0][0] * a[0] + k[0][1] * a[1],
            k[1][0] * a[0] + k[1][1] * a[1],
        ]);
        if u.iter().all(|v| v.is_finite()) {
            Ok(u)
        } else {
            Err(crate::InverseError::Singular {
                reason: format!("{} inverse produced a non-finite force", self.name),
            })
        }
    }
}

impl<P: Send + Sync> SimMetrics for LinearPointMass<P> {
    fn metric_names(&self) -> Vec<String> {
        vec!["position_error".to_string()]
    }

    /// `position_error`: the distance `‖(x_T, y_T) − (x*, y*)‖` (m) of the final position from
    /// the target position (velocities left out).
    fn evaluate(&self, scene: &Scene, _controls: &[Vector], states: &[Vector]) -> Vec<f64> {
        let target = &scene.target;
        let last = states.last().unwrap_or(target);
        vec![(last[0] - target[0]).hypot(last[1] - target[1])]
    }
}

/// Registers `point_mass` (JVP, VJP, control inverse, `position_error`).
pub fn register(table: &mut Simulators) {
    table.register::<PointMassParams, _>(
        "point_mass",
        "2D point mass with linear drag; state (x, y, vx, vy) [m, m/s], force (fx, fy) [N]",
        |params| {
            let sim = Arc::new(PointMass::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone())
                .with_inverse(sim.clone())
                .with_metrics(sim))
        },
    );
}
