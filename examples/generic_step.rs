//! Example 4: the shortest path from a step function to training.
//!
//! All there is of this simulator is its step, written once, generically over the scalar
//! type ([`GenericStep`]): a Van der Pol oscillator with a control force. [`AutoDiff`] derives
//! its exact JVP (dual numbers) and its VJP (from the Jacobian) from that one function, the
//! registry gives it a name for scenario files, and [`physinv::cli::main_with`] makes this
//! program the whole `physinv` command line with it registered:
//!
//! ```text
//! cargo run --release --example generic_step -- validate examples/generic_step.ron
//! cargo run --release --example generic_step -- check-grad examples/generic_step.ron
//! cargo run --release --example generic_step -- train examples/generic_step.ron
//! ```
//!
//! The same file, as the `main.rs` of a crate that depends on physinv alone, is what
//! `.ci/run` builds outside the repository.

use physinv::sim::autodiff::{AutoDiff, GenericStep, Scalar};
use physinv::sim::{ParamError, Physics};
use physinv::Registry;
use serde::Deserialize;

/// Parameters as they appear in the scenario's `params: (…)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VanDerPolParams {
    /// Damping coefficient `μ` [1/s]: negative damping for `|x| < 1`, positive beyond.
    mu: f64,
    /// Time step [s].
    dt: f64,
}

/// `x'' = μ (1 − x²) ẋ − x + u`, state `(x, v)`, control `u`; semi-implicit Euler:
/// `v' = v + Δt (μ (1 − x²) v − x + u)`, `x' = x + Δt v'`.
struct VanDerPol(VanDerPolParams);

impl GenericStep for VanDerPol {
    fn name(&self) -> &str {
        "van_der_pol"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn dt(&self) -> f64 {
        self.0.dt
    }
    fn step<D: Scalar>(&self, s: &[D], u: &[D]) -> Vec<D> {
        let VanDerPolParams { mu, dt } = self.0;
        let (x, v) = (s[0], s[1]);
        let v_next = v + ((-(x * x) + 1.0) * v * mu - x + u[0]) * dt;
        vec![x + v_next * dt, v_next]
    }
}

fn build(p: VanDerPolParams) -> Result<Physics, ParamError> {
    if !(p.dt > 0.0 && p.dt.is_finite()) {
        return Err(ParamError::new("dt", format!("must be > 0, got {}", p.dt)));
    }
    Ok(Physics::differentiable(AutoDiff::new(VanDerPol(p))))
}

fn main() -> std::process::ExitCode {
    let mut registry = Registry::with_builtins();
    registry.register(
        "van_der_pol",
        "Van der Pol oscillator, derivatives by AutoDiff",
        build,
    );
    physinv::cli::main_with(registry)
}
