//! Two coupled linear oscillators (docs/method.md §3.3; registered as `oscillators`).
//!
//! State `s = (q₁, q₂, p₁, p₂)`: positions and momenta in nondimensional units (unit mass,
//! unit natural frequency, so time is in units of `1/ω₀`). Control `u` (scalar, force on the
//! second oscillator's momentum, nondimensional). Dynamics
//!
//! ```text
//! q̇ = p,    ṗ = −q + c·Lap·q + u·e₂,    Lap = [[−1, 1], [1, −1]]
//! ```
//!
//! with coupling `c` (default 0.2). One step is one classical RK4 step of length `Δt`
//! (default 0.5) with `u` held constant. The system is linear, so the RK4 step is exactly
//! `s' = A s + B u`; `A` (4×4) and `B` (4×1) are computed once at construction by applying the
//! RK4 step to unit vectors, and step, JVP and VJP are products with them.
//!
//! Normal modes: `q₁ + q₂` oscillates with angular frequency 1, `q₁ − q₂` with `√(1 + 2c)`.

use super::{fit, Jvp, Matrix, ParamError, Physics, Simulator, Simulators, Vector, Vjp};
use serde::{Deserialize, Serialize};

/// Parameters of [`Oscillators`]; every field has a default, so `params: ()` is the reference
/// set-up of docs/method.md §3.3.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OscillatorsParams {
    /// Time step `Δt` (nondimensional time, > 0). Default 0.5.
    #[serde(default = "default_dt")]
    pub dt: f64,
    /// Coupling strength `c` of the Laplacian term (nondimensional, ≥ 0). Default 0.2.
    #[serde(default = "default_coupling")]
    pub coupling: f64,
}

fn default_dt() -> f64 {
    0.5
}
fn default_coupling() -> f64 {
    0.2
}

impl Default for OscillatorsParams {
    fn default() -> Self {
        OscillatorsParams {
            dt: default_dt(),
            coupling: default_coupling(),
        }
    }
}

/// Two coupled linear oscillators integrated with RK4 (see the module docs).
#[derive(Debug, Clone)]
pub struct Oscillators {
    params: OscillatorsParams,
    /// RK4 step matrix, row-major: `a[i][j] = ∂s'_i/∂s_j`.
    a: [[f64; 4]; 4],
    /// RK4 control column: `b[i] = ∂s'_i/∂u`.
    b: [f64; 4],
}

/// Right-hand side `(p, −q + c·Lap·q + u e₂)`.
fn rhs(c: f64, s: &[f64; 4], u: f64) -> [f64; 4] {
    [
        s[2],
        s[3],
        -(1.0 + c) * s[0] + c * s[1],
        c * s[0] - (1.0 + c) * s[1] + u,
    ]
}

/// One classical RK4 step with constant `u`.
fn rk4(c: f64, dt: f64, s: &[f64; 4], u: f64) -> [f64; 4] {
    let axpy = |y: &[f64; 4], a: f64, k: &[f64; 4]| -> [f64; 4] {
        std::array::from_fn(|i| y[i] + a * k[i])
    };
    let k1 = rhs(c, s, u);
    let k2 = rhs(c, &axpy(s, dt / 2.0, &k1), u);
    let k3 = rhs(c, &axpy(s, dt / 2.0, &k2), u);
    let k4 = rhs(c, &axpy(s, dt, &k3), u);
    std::array::from_fn(|i| s[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

impl Oscillators {
    /// Validates `params` (dt > 0, coupling ≥ 0, finite) and precomputes the RK4 step matrices.
    pub fn new(params: OscillatorsParams) -> Result<Self, ParamError> {
        if !(params.dt.is_finite() && params.dt > 0.0) {
            return Err(ParamError::new(
                "dt",
                format!("must be > 0, got {}", params.dt),
            ));
        }
        if !(params.coupling.is_finite() && params.coupling >= 0.0) {
            return Err(ParamError::new(
                "coupling",
                format!("must be ≥ 0, got {}", params.coupling),
            ));
        }
        let (c, dt) = (params.coupling, params.dt);
        let mut a = [[0.0; 4]; 4];
        for j in 0..4 {
            let mut e = [0.0; 4];
            e[j] = 1.0;
            let col = rk4(c, dt, &e, 0.0);
            for (i, v) in col.iter().enumerate() {
                a[i][j] = *v;
            }
        }
        let b = rk4(c, dt, &[0.0; 4], 1.0);
        Ok(Oscillators { params, a, b })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &OscillatorsParams {
        &self.params
    }

    /// `A s + B u` for raw components.
    fn apply(&self, s: &Vector, u: f64) -> Vector {
        let mut out = Vector::zeros(4);
        self.apply_into(s, u, &mut out);
        out
    }

    /// `out ← A s + B u` (`out` resized to 4 if needed; must not alias `s`).
    fn apply_into(&self, s: &Vector, u: f64, out: &mut Vector) {
        fit(out, 4);
        for i in 0..4 {
            out[i] = self.a[i][0] * s[0]
                + self.a[i][1] * s[1]
                + self.a[i][2] * s[2]
                + self.a[i][3] * s[3]
                + self.b[i] * u;
        }
    }
}

impl Simulator for Oscillators {
    fn name(&self) -> &str {
        "oscillators"
    }
    fn state_dim(&self) -> usize {
        4
    }
    fn control_dim(&self) -> usize {
        1
    }
    /// `q1, q2, p1, p2`, nondimensional (see the module docs).
    fn state_layout(&self) -> crate::layout::Layout {
        use crate::layout::DIMENSIONLESS as ONE;
        crate::layout::Layout::flat(&[("q1", ONE), ("q2", ONE), ("p1", ONE), ("p2", ONE)])
    }
    /// `u`, the nondimensional force on the second oscillator.
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::flat(&[("u", crate::layout::DIMENSIONLESS)])
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.apply(state, control[0])
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        self.apply_into(state, control[0], out);
    }
}

impl Jvp for Oscillators {
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
        self.apply(d_state, d_control[0])
    }

    fn jvp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        self.apply_into(d_state, d_control[0], out);
    }

    fn jacobians(&self, _state: &Vector, _control: &Vector) -> (Matrix, Matrix) {
        (
            Matrix::from_fn(4, 4, |i, j| self.a[i][j]),
            Matrix::from_fn(4, 1, |i, _| self.b[i]),
        )
    }
}

impl Vjp for Oscillators {
    fn vjp(&self, state: &Vector, control: &Vector, w: &Vector) -> (Vector, Vector) {
        let (mut ws, mut wu) = (Vector::zeros(4), Vector::zeros(1));
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
        fit(d_state, 4);
        fit(d_control, 1);
        for j in 0..4 {
            d_state[j] = (0..4).map(|i| self.a[i][j] * w[i]).sum();
        }
        d_control[0] = (0..4).map(|i| self.b[i] * w[i]).sum();
    }
}

/// Registers `oscillators` (JVP, VJP).
pub fn register(table: &mut Simulators) {
    table.register::<OscillatorsParams, _>(
        "oscillators",
        "two coupled linear oscillators (q1, q2, p1, p2), scalar force on p2, RK4 (docs/method.md §3.3)",
        |params| Ok(Physics::differentiable(Oscillators::new(params)?)),
    );
}
