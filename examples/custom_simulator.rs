//! Example 3: a simulator written outside the library, used from a scenario file and from
//! the whole `physinv` command line.
//!
//! `NonlinearSpring` is a particle on a hardening spring, defined here with its forward step,
//! JVP and VJP. It is registered under the name `"nonlinear_spring"`; the scenario
//! `examples/custom_simulator.ron` names it exactly like a built-in simulator, and the run
//! compares SIP (inversion across time) with back-propagation through time.
//!
//! ```text
//! cargo run --release --example custom_simulator [-- examples/custom_simulator.ron] [--out DIR]
//! ```
//!
//! Given a `physinv` subcommand instead, the program is the `physinv` command line with the
//! spring registered ([`physinv::cli::main_with`]), so every subcommand works for it:
//!
//! ```text
//! cargo run --release --example custom_simulator -- check-grad examples/custom_simulator.ron
//! cargo run --release --example custom_simulator -- train examples/custom_simulator.ron --iterations 50
//! ```

use physinv::run::example_main;
use physinv::sim::{Jvp, ParamError, Physics, Simulator, Vector, Vjp};
use physinv::Registry;
use serde::Deserialize;

/// Parameters as they appear in the scenario's `params: (…)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpringParams {
    /// Linear stiffness `k` [N/m].
    #[serde(default = "default_stiffness")]
    stiffness: f64,
    /// Cubic stiffness `κ` [N/m³].
    #[serde(default = "default_cubic")]
    cubic: f64,
    /// Time step [s].
    #[serde(default = "default_dt")]
    dt: f64,
}

fn default_stiffness() -> f64 {
    1.0
}
fn default_cubic() -> f64 {
    2.0
}
fn default_dt() -> f64 {
    0.1
}

/// Unit mass on a hardening spring, state `(x [m], v [m/s])`, control force `u [N]`;
/// semi-implicit Euler: `v' = v + Δt (u − k x − κ x³)`, `x' = x + Δt v'`.
#[derive(Debug, Clone)]
struct NonlinearSpring {
    k: f64,
    kappa: f64,
    dt: f64,
}

impl NonlinearSpring {
    /// `∂v'/∂x`.
    fn dv_dx(&self, x: f64) -> f64 {
        -self.dt * (self.k + 3.0 * self.kappa * x * x)
    }
}

impl Simulator for NonlinearSpring {
    fn name(&self) -> &str {
        "nonlinear_spring"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn dt(&self) -> f64 {
        self.dt
    }
    fn step(&self, s: &Vector, u: &Vector) -> Vector {
        let (x, v) = (s[0], s[1]);
        let v_next = v + self.dt * (u[0] - self.k * x - self.kappa * x.powi(3));
        Vector::from_vec(vec![x + self.dt * v_next, v_next])
    }
}

impl Jvp for NonlinearSpring {
    fn jvp(&self, s: &Vector, _u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        let dv = self.dv_dx(s[0]) * ds[0] + ds[1] + self.dt * du[0];
        Vector::from_vec(vec![ds[0] + self.dt * dv, dv])
    }
}

impl Vjp for NonlinearSpring {
    fn vjp(&self, s: &Vector, _u: &Vector, w: &Vector) -> (Vector, Vector) {
        // s' = (x + Δt v', v'): the cotangent of v' collects both rows.
        let wv = w[1] + self.dt * w[0];
        let ws = Vector::from_vec(vec![w[0] + self.dv_dx(s[0]) * wv, wv]);
        (ws, Vector::from_vec(vec![self.dt * wv]))
    }
}

fn build(p: SpringParams) -> Result<Physics, ParamError> {
    for (field, value) in [("stiffness", p.stiffness), ("cubic", p.cubic)] {
        if !(value >= 0.0 && value.is_finite()) {
            return Err(ParamError::new(field, format!("must be ≥ 0, got {value}")));
        }
    }
    if !(p.dt > 0.0 && p.dt.is_finite()) {
        return Err(ParamError::new("dt", format!("must be > 0, got {}", p.dt)));
    }
    Ok(Physics::differentiable(NonlinearSpring {
        k: p.stiffness,
        kappa: p.cubic,
        dt: p.dt,
    }))
}

fn main() -> std::process::ExitCode {
    let mut registry = Registry::with_builtins();
    registry.register(
        "nonlinear_spring",
        "unit mass on a hardening spring (defined in examples/custom_simulator.rs)",
        build,
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    if physinv::cli::starts_subcommand(&args) {
        physinv::cli::main_with(registry)
    } else {
        example_main("examples/custom_simulator.ron", &registry)
    }
}
