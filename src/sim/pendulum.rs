//! Damped, torque-driven pendulum for swing-up control (registered as `pendulum`).
//!
//! State `s = (θ, ω)`: angle in rad (`θ = 0` hanging down, `θ = π` upright) and angular
//! velocity in rad/s. Control `u = (τ)`: torque at the pivot in N·m, held constant over the
//! step. Dynamics
//!
//! ```text
//! θ̇ = ω,    ω̇ = −(g/l) sin θ − b ω + τ / (m l²)
//! ```
//!
//! with bob mass `m` (kg), rod length `l` (m), gravity `g` (m/s²) and damping rate `b` (1/s).
//! One step of length `Δt` is `substeps` classical RK4 steps of length `h = Δt/substeps`.
//!
//! Derivatives are exact for this discrete map: the JVP pushes a tangent through the RK4
//! stages (forward mode), the VJP runs the transposed stage recurrence backwards (reverse
//! mode), recomputing the stage angles from the stored substep start states.

use super::{Jvp, Matrix, ParamError, Physics, Simulator, Simulators, Vector, Vjp};
use serde::{Deserialize, Serialize};

/// Parameters of [`Pendulum`]; every field has a default, so `params: ()` is the reference
/// set-up.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PendulumParams {
    /// Bob mass `m` in kg (> 0). Default 1.
    #[serde(default = "default_mass")]
    pub mass: f64,
    /// Rod length `l` in m (> 0). Default 1.
    #[serde(default = "default_length")]
    pub length: f64,
    /// Gravitational acceleration `g` in m/s² (≥ 0). Default 9.81.
    #[serde(default = "default_gravity")]
    pub gravity: f64,
    /// Damping rate `b` in 1/s (≥ 0): the `−b ω` term. Default 0.1.
    #[serde(default = "default_damping")]
    pub damping: f64,
    /// Time step `Δt` in s (> 0). Default 0.05.
    #[serde(default = "default_dt")]
    pub dt: f64,
    /// RK4 substeps per step (≥ 1). Default 1.
    #[serde(default = "default_substeps")]
    pub substeps: usize,
}

fn default_mass() -> f64 {
    1.0
}
fn default_length() -> f64 {
    1.0
}
fn default_gravity() -> f64 {
    9.81
}
fn default_damping() -> f64 {
    0.1
}
fn default_dt() -> f64 {
    0.05
}
fn default_substeps() -> usize {
    1
}

impl Default for PendulumParams {
    fn default() -> Self {
        PendulumParams {
            mass: default_mass(),
            length: default_length(),
            gravity: default_gravity(),
            damping: default_damping(),
            dt: default_dt(),
            substeps: default_substeps(),
        }
    }
}

/// Pendulum with RK4 substeps (see the module docs).
#[derive(Debug, Clone)]
pub struct Pendulum {
    params: PendulumParams,
    /// `g/l` in 1/s².
    g_over_l: f64,
    /// `1/(m l²)` in 1/(kg·m²).
    inv_inertia: f64,
    /// Substep length `h` in s.
    h: f64,
}

type V2 = [f64; 2];

/// Angles `θ` of the four RK4 stages of one substep, and the substep's end state.
struct Stages {
    theta: [f64; 4],
    end: V2,
}

impl Pendulum {
    /// Validates `params` (mass, length, dt > 0; gravity, damping ≥ 0; all finite;
    /// substeps ≥ 1).
    pub fn new(params: PendulumParams) -> Result<Self, ParamError> {
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ParamError::new(field, format!("must be > 0, got {v}")))
            }
        };
        let non_negative = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(ParamError::new(field, format!("must be ≥ 0, got {v}")))
            }
        };
        positive("mass", params.mass)?;
        positive("length", params.length)?;
        non_negative("gravity", params.gravity)?;
        non_negative("damping", params.damping)?;
        positive("dt", params.dt)?;
        if params.substeps == 0 {
            return Err(ParamError::new("substeps", "must be ≥ 1, got 0"));
        }
        Ok(Pendulum {
            g_over_l: params.gravity / params.length,
            inv_inertia: 1.0 / (params.mass * params.length * params.length),
            h: params.dt / params.substeps as f64,
            params,
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &PendulumParams {
        &self.params
    }

    /// Right-hand side `(ω, −(g/l) sin θ − b ω + τ/(m l²))`.
    #[inline]
    fn rhs(&self, y: V2, tau: f64) -> V2 {
        [
            y[1],
            -self.g_over_l * y[0].sin() - self.params.damping * y[1] + tau * self.inv_inertia,
        ]
    }

    /// `∂f/∂y · dy + ∂f/∂τ · dτ` at angle `theta`.
    #[inline]
    fn rhs_tangent(&self, theta: f64, dy: V2, dtau: f64) -> V2 {
        [
            dy[1],
            -self.g_over_l * theta.cos() * dy[0] - self.params.damping * dy[1]
                + dtau * self.inv_inertia,
        ]
    }

    /// `(∂f/∂y)ᵀ w` at angle `theta`.
    #[inline]
    fn rhs_adjoint(&self, theta: f64, w: V2) -> V2 {
        [
            -self.g_over_l * theta.cos() * w[1],
            w[0] - self.params.damping * w[1],
        ]
    }

    /// One RK4 substep from `s`, recording the stage angles.
    #[inline]
    fn substep(&self, s: V2, tau: f64) -> Stages {
        let h = self.h;
        let k1 = self.rhs(s, tau);
        let y2 = [s[0] + 0.5 * h * k1[0], s[1] + 0.5 * h * k1[1]];
        let k2 = self.rhs(y2, tau);
        let y3 = [s[0] + 0.5 * h * k2[0], s[1] + 0.5 * h * k2[1]];
        let k3 = self.rhs(y3, tau);
        let y4 = [s[0] + h * k3[0], s[1] + h * k3[1]];
        let k4 = self.rhs(y4, tau);
        let end =
            std::array::from_fn(|i| s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
        Stages {
            theta: [s[0], y2[0], y3[0], y4[0]],
            end,
        }
    }

    /// Forward mode with `K` tangent directions at once: returns the end state and the
    /// end tangents `ds'_c = A ds_c + B dτ_c`.
    fn forward<const K: usize>(
        &self,
        s0: V2,
        tau: f64,
        mut ds: [V2; K],
        dtau: [f64; K],
    ) -> (V2, [V2; K]) {
        let h = self.h;
        let mut s = s0;
        for _ in 0..self.params.substeps {
            let st = self.substep(s, tau);
            for c in 0..K {
                let d = ds[c];
                let dk1 = self.rhs_tangent(st.theta[0], d, dtau[c]);
                let dy2 = [d[0] + 0.5 * h * dk1[0], d[1] + 0.5 * h * dk1[1]];
                let dk2 = self.rhs_tangent(st.theta[1], dy2, dtau[c]);
                let dy3 = [d[0] + 0.5 * h * dk2[0], d[1] + 0.5 * h * dk2[1]];
                let dk3 = self.rhs_tangent(st.theta[2], dy3, dtau[c]);
                let dy4 = [d[0] + h * dk3[0], d[1] + h * dk3[1]];
                let dk4 = self.rhs_tangent(st.theta[3], dy4, dtau[c]);
                ds[c] = std::array::from_fn(|i| {
                    d[i] + h / 6.0 * (dk1[i] + 2.0 * dk2[i] + 2.0 * dk3[i] + dk4[i])
                });
            }
            s = st.end;
        }
        (s, ds)
    }

    /// Reverse mode through one substep starting at `s`: maps the cotangent `w` of the end
    /// state to the cotangent of `s`, adding the torque contribution to `w_tau`.
    fn substep_adjoint(&self, s: V2, tau: f64, w: V2, w_tau: &mut f64) -> V2 {
        let h = self.h;
        let t = self.substep(s, tau).theta;
        // s' = s + h/6 (k1 + 2k2 + 2k3 + k4)
        let mut ws = w;
        let mut wk1 = [h / 6.0 * w[0], h / 6.0 * w[1]];
        let mut wk2 = [h / 3.0 * w[0], h / 3.0 * w[1]];
        let mut wk3 = [h / 3.0 * w[0], h / 3.0 * w[1]];
        let wk4 = [h / 6.0 * w[0], h / 6.0 * w[1]];
        // k4 = f(y4, τ), y4 = s + h k3
        *w_tau += self.inv_inertia * wk4[1];
        let wy4 = self.rhs_adjoint(t[3], wk4);
        for i in 0..2 {
            ws[i] += wy4[i];
            wk3[i] += h * wy4[i];
        }
        // k3 = f(y3, τ), y3 = s + h/2 k2
        *w_tau += self.inv_inertia * wk3[1];
        let wy3 = self.rhs_adjoint(t[2], wk3);
        for i in 0..2 {
            ws[i] += wy3[i];
            wk2[i] += 0.5 * h * wy3[i];
        }
        // k2 = f(y2, τ), y2 = s + h/2 k1
        *w_tau += self.inv_inertia * wk2[1];
        let wy2 = self.rhs_adjoint(t[1], wk2);
        for i in 0..2 {
            ws[i] += wy2[i];
            wk1[i] += 0.5 * h * wy2[i];
        }
        // k1 = f(s, τ)
        *w_tau += self.inv_inertia * wk1[1];
        let wy1 = self.rhs_adjoint(t[0], wk1);
        [ws[0] + wy1[0], ws[1] + wy1[1]]
    }
}

impl Simulator for Pendulum {
    fn name(&self) -> &str {
        "pendulum"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        1
    }
    /// `θ [rad]`, `ω [rad/s]`.
    fn state_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("θ", "rad"), ("ω", "rad/s")])
    }
    /// `τ [N·m]`.
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("τ", "N·m")])
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        let mut s = [state[0], state[1]];
        for _ in 0..self.params.substeps {
            s = self.substep(s, control[0]).end;
        }
        Vector::from_column_slice(&s)
    }
}

impl Jvp for Pendulum {
    fn jvp(
        &self,
        state: &Vector,
        control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        let (_, [d]) = self.forward(
            [state[0], state[1]],
            control[0],
            [[d_state[0], d_state[1]]],
            [d_control[0]],
        );
        Vector::from_column_slice(&d)
    }

    fn jacobians(&self, state: &Vector, control: &Vector) -> (Matrix, Matrix) {
        // Three tangent directions (e_θ, e_ω, e_τ) through one pass over the stages.
        let (_, [a0, a1, b]) = self.forward(
            [state[0], state[1]],
            control[0],
            [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
            [0.0, 0.0, 1.0],
        );
        (
            Matrix::from_row_slice(2, 2, &[a0[0], a1[0], a0[1], a1[1]]),
            Matrix::from_column_slice(2, 1, &b),
        )
    }
}

impl Vjp for Pendulum {
    fn vjp(&self, state: &Vector, control: &Vector, w: &Vector) -> (Vector, Vector) {
        let tau = control[0];
        let mut w_tau = 0.0;
        let mut ws = [w[0], w[1]];
        let s0 = [state[0], state[1]];
        if self.params.substeps == 1 {
            ws = self.substep_adjoint(s0, tau, ws, &mut w_tau);
        } else {
            // Substep start states, then the adjoint sweep backwards over them.
            let mut starts = Vec::with_capacity(self.params.substeps);
            let mut s = s0;
            for _ in 0..self.params.substeps {
                starts.push(s);
                s = self.substep(s, tau).end;
            }
            for s in starts.iter().rev() {
                ws = self.substep_adjoint(*s, tau, ws, &mut w_tau);
            }
        }
        (
            Vector::from_column_slice(&ws),
            Vector::from_element(1, w_tau),
        )
    }
}

/// Registers `pendulum` (JVP, VJP).
pub fn register(table: &mut Simulators) {
    table.register::<PendulumParams, _>(
        "pendulum",
        "damped pendulum swing-up; state (θ [rad], ω [rad/s]), torque τ [N·m], RK4",
        |params| Ok(Physics::differentiable(Pendulum::new(params)?)),
    );
}
