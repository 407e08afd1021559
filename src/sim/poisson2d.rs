//! Inverting the Poisson equation (registered as `poisson2d`; docs/method.md §3.6, paper
//! Fig. 6a,b).
//!
//! A single-prediction inverse problem written as a one-step simulator (like
//! [`super::exponential`]): the control is the prediction `x`, a field on the bounded `N × N`
//! grid of unit cells (row-major, entry `y·N + x`; [`super::field2d`]); the state is the
//! solution `y` of
//!
//! ```text
//! ∇²y = x,   y = 0 one cell beyond the grid (zero Dirichlet),
//! ```
//!
//! with the 5-point Laplacian `(∇²y)_{ij} = y_{i−1,j} + y_{i+1,j} + y_{i,j−1} + y_{i,j+1} −
//! 4 y_{ij}` (PhiFlow's `field.laplace` of a `CenteredGrid` with zero extrapolation, as the
//! reference solves it). The incoming state is ignored.
//!
//! **Solution.** The sine modes `sin(π(i + 1)(k + 1)/(N + 1))` are the Laplacian's
//! eigenvectors with eigenvalues `μ_k = −4 sin²(π(k + 1)/(2(N + 1)))` per axis, so
//! `y = S⁻¹(S(x) / (μ_{ky} + μ_{kx}))` with `S` the 2D DST-I ([`super::dst`]; `S⁻¹ =
//! (2/(N + 1))² S`): exact to round-off, where the reference iterates CG to a relative
//! residual of 1e-5, and `O(N² log N)`. Every eigenvalue is negative (at most `−8 sin²(π/(2(N +
//! 1)))`), so the solution exists and is unique.
//!
//! **Derivatives.** `P` is linear: `A = 0`, `B = (∇²)⁻¹`, symmetric (the Laplacian is), so the
//! VJP is `(0, (∇²)⁻¹ w)`.
//!
//! **Inverse** ([`ControlInverse`]): the paper's `x̃ = x − ∇²(y − y*)` for a target `y*`,
//! exact since `P` is linear. As `∇² y = x` exactly, it is `x̃ = ∇² y*`: the stencil applied
//! to the target, which is how it is computed (no solve, and no round-off of one).
//!
//! **Scenes** ([`NOISE`]): ground truths `x*` drawn like PhiFlow's `Noise(scale=10,
//! smoothness=1)` ([`noise`]), `y* = P(x*)`, `s₀ = 0`, `x*` the reference control. **Metric**
//! `x_mae` ([`super::field2d`]).

pub mod noise;

use super::dst::Dst2d;
use super::fft2d::Fft2d;
use super::field2d::{self, X_MAE};
use super::{
    fit, ControlInverse, Jvp, ParamError, Physics, Scene, SceneGenerator, SceneRng, SimMetrics,
    Simulator, Simulators, Vector, Vjp,
};
use crate::layout::{Boundary, Layout};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Parameters of [`Poisson2d`]; `params: ()` is the paper's 64 × 64 grid.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Poisson2dParams {
    /// Cells `N` per side (4 ≤ N ≤ 1024); cells have side 1. Default 64.
    #[serde(default = "default_cells")]
    pub cells: usize,
}

fn default_cells() -> usize {
    64
}

impl Default for Poisson2dParams {
    fn default() -> Self {
        Poisson2dParams {
            cells: default_cells(),
        }
    }
}

/// Fewest cells per side.
pub const MIN_CELLS: usize = 4;
/// Most cells per side.
pub const MAX_CELLS: usize = 1024;
/// Name of the scene generator of smooth-noise ground truths.
pub const NOISE: &str = "noise";

thread_local! {
    /// Per-thread buffer of the sine coefficients of a solve.
    static COEFFICIENTS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The zero-Dirichlet Poisson problem on a square grid (see the module docs).
#[derive(Debug, Clone)]
pub struct Poisson2d {
    params: Poisson2dParams,
    dst: Dst2d,
    /// `(2/(N + 1))² / (μ_{ky} + μ_{kx})` at coefficient `ky·N + kx`: the solve's scaling.
    inverse_eigenvalues: Vec<f64>,
    /// Plans of the periodic FFT the noise is drawn with.
    noise_fft: Fft2d,
}

impl Poisson2d {
    /// Validates `params` (4 ≤ cells ≤ 1024) and plans the transforms.
    pub fn new(params: Poisson2dParams) -> Result<Self, ParamError> {
        let n = params.cells;
        if !(MIN_CELLS..=MAX_CELLS).contains(&n) {
            return Err(ParamError::new(
                "cells",
                format!("must be ≥ {MIN_CELLS} and ≤ {MAX_CELLS}, got {n}"),
            ));
        }
        let dst = Dst2d::new(n);
        let mu = laplacian_eigenvalues(n);
        let normalisation = dst.self_inverse_factor().powi(2).recip();
        let inverse_eigenvalues = (0..n * n)
            .map(|j| normalisation / (mu[j / n] + mu[j % n]))
            .collect();
        Ok(Poisson2d {
            params,
            dst,
            inverse_eigenvalues,
            noise_fft: Fft2d::new(n),
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &Poisson2dParams {
        &self.params
    }

    fn cells(&self) -> usize {
        self.params.cells * self.params.cells
    }

    /// `out ← (∇²)⁻¹ x`.
    fn solve_into(&self, x: &Vector, out: &mut Vector) {
        fit(out, self.cells());
        COEFFICIENTS.with(|cell| {
            let coefficients = &mut *cell.borrow_mut();
            coefficients.resize(self.cells(), 0.0);
            self.dst.transform(x.as_slice(), coefficients);
            for (c, s) in coefficients.iter_mut().zip(&self.inverse_eigenvalues) {
                *c *= s;
            }
            self.dst.transform(coefficients, out.as_mut_slice());
        });
    }

    /// `∇² y` by the 5-point stencil with zero values beyond the grid.
    pub fn laplacian(&self, y: &Vector) -> Vector {
        let n = self.params.cells;
        let at = |r: usize, c: usize| y[r * n + c];
        Vector::from_fn(n * n, |i, _| {
            let (r, c) = (i / n, i % n);
            let mut sum = -4.0 * at(r, c);
            if r > 0 {
                sum += at(r - 1, c);
            }
            if r + 1 < n {
                sum += at(r + 1, c);
            }
            if c > 0 {
                sum += at(r, c - 1);
            }
            if c + 1 < n {
                sum += at(r, c + 1);
            }
            sum
        })
    }

    /// One [`NOISE`] scene: `x*` by [`noise::smooth_noise`], `y* = P(x*)`, `s₀ = 0`.
    pub fn noise_scene(&self, rng: &mut SceneRng) -> Scene {
        let truth = noise::smooth_noise(&self.noise_fft, rng);
        let initial = Vector::zeros(self.cells());
        let target = self.step(&initial, &truth);
        Scene {
            initial,
            target,
            reference_controls: Some(vec![truth].into()),
        }
    }
}

/// `μ_k = −4 sin²(π(k + 1)/(2(N + 1)))`, `k = 0 … N−1`: the 1D zero-Dirichlet 3-point
/// Laplacian's eigenvalues.
fn laplacian_eigenvalues(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| -4.0 * (PI * (k + 1) as f64 / (2.0 * (n + 1) as f64)).sin().powi(2))
        .collect()
}

impl Simulator for Poisson2d {
    fn name(&self) -> &str {
        "poisson2d"
    }
    fn state_dim(&self) -> usize {
        self.cells()
    }
    fn control_dim(&self) -> usize {
        self.cells()
    }
    /// The solution `y`, dimensionless, on the bounded `N × N` grid of unit cells.
    fn state_layout(&self) -> Layout {
        field2d::square_field("y", self.params.cells, Boundary::Bounded)
    }
    /// The source `x` on the state's grid.
    fn control_layout(&self) -> Layout {
        field2d::square_field("x", self.params.cells, Boundary::Bounded)
    }
    fn step(&self, _state: &Vector, control: &Vector) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.solve_into(control, &mut out);
        out
    }
    fn step_into(&self, _state: &Vector, control: &Vector, out: &mut Vector) {
        self.solve_into(control, out);
    }
}

impl Jvp for Poisson2d {
    fn constant_jacobians(&self) -> bool {
        true
    }

    fn jvp(
        &self,
        state: &Vector,
        control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.jvp_into(state, control, d_state, d_control, &mut out);
        out
    }

    /// `(∇²)⁻¹ δx` (the state has no effect).
    fn jvp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        _d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        self.solve_into(d_control, out);
    }
}

impl Vjp for Poisson2d {
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        let (mut ds, mut dx) = (Vector::zeros(0), Vector::zeros(0));
        self.vjp_into(state, control, cotangent, &mut ds, &mut dx);
        (ds, dx)
    }

    /// `(0, (∇²)⁻¹ w)`: the solve is symmetric.
    fn vjp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        cotangent: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        fit(d_state, self.cells());
        d_state.fill(0.0);
        self.solve_into(cotangent, d_control);
    }
}

impl ControlInverse for Poisson2d {
    /// `x̃ = ∇² y*` (the paper's `x − ∇²(y − y*)`, module docs); non-finite targets are
    /// [`crate::InverseError::OutOfRange`].
    fn control_inverse(
        &self,
        _state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        if !target.iter().all(|v| v.is_finite()) {
            return Err(crate::InverseError::OutOfRange {
                reason: "poisson2d target has non-finite values".into(),
            });
        }
        Ok(self.laplacian(target))
    }
}

impl SimMetrics for Poisson2d {
    fn metric_names(&self) -> Vec<String> {
        vec![X_MAE.to_string()]
    }

    /// `x_mae` of `controls[0]` against the scene's ground truth; `NaN` without either.
    fn evaluate(&self, scene: &Scene, controls: &[Vector], _states: &[Vector]) -> Vec<f64> {
        vec![controls
            .first()
            .map_or(f64::NAN, |x| field2d::x_mae(x, scene))]
    }
}

impl SceneGenerator for Poisson2d {
    fn generator_names(&self) -> Vec<String> {
        vec![NOISE.to_string()]
    }

    fn generate(&self, name: &str, _steps: usize, rng: &mut SceneRng) -> crate::Result<Scene> {
        match name {
            NOISE => Ok(self.noise_scene(rng)),
            _ => Err(super::unknown_generator(
                "poisson2d",
                name,
                &self.generator_names(),
            )),
        }
    }
}

/// Builds the [`Physics`] of `poisson2d`: JVP, VJP, exact inverse, `x_mae`, scenes `noise`.
pub fn physics(params: Poisson2dParams) -> Result<Physics, ParamError> {
    let sim = Arc::new(Poisson2d::new(params)?);
    Ok(Physics::differentiable_arc(sim.clone())
        .with_inverse(sim.clone())
        .with_metrics(sim.clone())
        .with_scenes(sim))
}

/// Registers `poisson2d` ([`Poisson2dParams`]).
pub fn register(table: &mut Simulators) {
    table.register::<Poisson2dParams, _>(
        "poisson2d",
        "2D Poisson inverse problem: source x → solution y of ∇²y = x, zero Dirichlet, N×N \
         unit cells, exact by DST-I; exact inverse, smooth-noise scenes, x_mae \
         (docs/method.md §3.6)",
        physics,
    );
}

#[cfg(test)]
mod tests;
