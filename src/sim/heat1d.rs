//! 1D heat equation on `[0, 1]` with Dirichlet walls, heated by a few fixed Gaussian
//! actuators (registered as `heat1d`): an ill-conditioned linear PDE control task
//! (docs/method.md §4.3).
//!
//! State `s ∈ Rᴺ`: temperature in K (relative to the walls) at the cell centres
//! `x_i = (i + ½) h`, `h = 1/N` m, `N = cells`. Control `u ∈ Rᵐ`, one entry per actuator:
//! heating rate in K/s at the actuator's centre, held constant over the step (zero-order
//! hold). Actuator `k` at centre `c_k` with common width `σ` (m) has the profile
//! `b_k(x_i) = exp(−(x_i − c_k)²/(2σ²))` (dimensionless, peak 1); `B = [b_1 … b_m]` (N×m) and
//! the source is `q = B u` (K/s). Continuous dynamics, diffusivity `κ` (m²/s):
//!
//! ```text
//! ṡ = κ L s + B u
//! ```
//!
//! **Discretisation.** `L` is the 3-point Laplacian with homogeneous Dirichlet walls *at the
//! faces* `x = 0` and `x = 1`: the ghost cells mirror the boundary cells with a sign flip,
//! `s_{−1} = −s_0`, `s_N = −s_{N−1}` (the linear interpolant is zero at the wall). So
//! `L_{i,i±1} = 1/h²`, `L_ii = −2/h²` in the interior and `L_00 = L_{N−1,N−1} = −3/h²` — a
//! symmetric, negative definite tridiagonal matrix. Its eigenvectors are known in closed
//! form (the DST-II basis): the continuous sine modes sampled at the cell centres,
//!
//! ```text
//! L v_k = λ_k v_k,   v_k(x_i) = sin(π k x_i),   λ_k = −(4/h²) sin²(π k /(2N)),   k = 1..N,
//! ```
//!
//! orthogonal with `|v_k|² = N/2` (`k < N`) and `|v_N|² = N` (`v_N = (−1)^i`). `λ_k → −π²k²`
//! as `h → 0` (second order). The simulator uses these closed-form modes (no numerical
//! eigensolver); the tests check them against `L` assembled from the stencil and against
//! nalgebra's `SymmetricEigen`.
//!
//! **Exact step.** With zero-order hold the linear ODE has the exact solution over `Δt`
//!
//! ```text
//! s' = E s + F u,   E = exp(κ Δt L),   F = (κ L)⁻¹ (E − I) B,
//! ```
//!
//! formed once at construction from the closed-form modes (`V`, orthonormal columns
//! `v_k/|v_k|`): `E = V diag(e^{z_k}) Vᵀ` and `F = V diag(φ_k) Vᵀ B` with `z_k = κ λ_k Δt`
//! and `φ_k = (e^{z_k} − 1)/(κ λ_k) = Δt · expm1(z_k)/z_k` (Taylor series for
//! `|z_k| < 10⁻⁴`; `z_k` is never 0). Product-to-sum makes any `V diag(g) Vᵀ`
//! Toeplitz-plus-Hankel, `c(|i − j|) − c(i + j + 1)` with `c(d) = (1/N) Σ_k w_k g_k cos(πkd/N)`
//! (`w_k = 1`, `w_N = ½`), so both take `O(N²)` without forming `V`; the tests compare them
//! with `Q diag(g) Qᵀ` from nalgebra's `SymmetricEigen` of the assembled `L`.
//! `E` is exactly symmetric by construction, with eigenvalues in `(0, 1)`; with
//! `u = 0` every mode decays, and, `L` having non-negative off-diagonals, `E ≥ 0`
//! entry-wise, so a non-negative temperature stays non-negative and its total heat
//! `h Σ s_i` decreases (heat leaves through the walls: `d/dt Σ s_i h = −2κ(s_0 + s_{N−1})/h`).
//! Nothing is conserved. Cost: `O(N² m)` at construction, one dense `N×N` matrix (`E`,
//! 128 MB at the upper bound `N = 4096`), `O(N²)` per step.
//!
//! Jacobians are the constant `(E, F)`; the VJP is `(Eᵀ w, Fᵀ w)` (`Eᵀ = E`). No control
//! inverse: `m < N` actuators cannot set `N` temperatures in one step.
//!
//! **Conditioning.** A Gaussian actuator of width `σ` reaches mode `k` with weight
//! `≈ exp(−(π k σ)²/2)` (down to a floor near `10⁻⁵` from the profiles' tails at the walls),
//! and diffusion damps mode `k` by `e^{z_k}` per step, so the episode Gramian
//! `G = Σ_t J_t J_tᵀ` ([`Heat1d::episode_gramian`], `J_t = E^{T−1−t} F`) is extremely
//! ill-conditioned. With the defaults and `T = 32` (measured in `tests/sim_control.rs`):
//! `λ_max ≈ 0.337 s²`, then the eigenvalues fall in groups of `m = 4` by a factor of about
//! `10⁻²…10⁻³` per group (`0.07–0.34`, `1.7–3.3·10⁻³`, `1.3–2.6·10⁻⁵`, `2.3–5.1·10⁻⁸`,
//! `3.7–12·10⁻¹²`, then `9.4·10⁻¹⁵`); the remaining ~40 lie below an eigensolver's round-off
//! floor on `G` (`≈ 10⁻¹⁷`, returned with either sign), so `G` is numerically singular
//! in `f64` and `cond(G) ≥ λ_max/λ_21 ≈ 3.6·10¹³` is only a lower bound.
//! [`Heat1d::episode_gramian_eigenvalues`] resolves further (its estimate of `λ_min` is
//! `~10⁻⁴⁶`, itself below its own accuracy floor).
//!
//! **Scenes** ([`REACHABLE`]): see [`Heat1d::reachable`].

use super::point_mass::positive;
use super::{
    Jvp, Matrix, ParamError, Physics, Scene, SceneGenerator, Simulator, Simulators, Vector, Vjp,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Parameters of [`Heat1d`]; every field has a default, so `params: ()` is the reference
/// set-up: 64 cells, `κ = 0.01` m²/s, `Δt = 0.05` s, four actuators of width 0.05 m.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Heat1dParams {
    /// Number of cells `N` on the domain `[0, 1]` m (4 ≤ N ≤ 4096); cell width `h = 1/N` m.
    /// Default 64.
    #[serde(default = "default_cells")]
    pub cells: usize,
    /// Thermal diffusivity `κ` in m²/s (> 0). Default 0.01.
    #[serde(default = "default_kappa")]
    pub kappa: f64,
    /// Time step `Δt` in s (> 0). Default 0.05.
    #[serde(default = "default_dt")]
    pub dt: f64,
    /// Actuator centres `c_k` in m, each strictly inside `(0, 1)`; at least one. The control
    /// has one entry per actuator, in this order. Default `[0.2, 0.4, 0.6, 0.8]`.
    #[serde(default = "default_actuators")]
    pub actuators: Vec<f64>,
    /// Common actuator width `σ` in m (> 0): profile `exp(−(x − c_k)²/(2σ²))`. Default 0.05.
    #[serde(default = "default_width")]
    pub width: f64,
}

fn default_cells() -> usize {
    64
}
fn default_kappa() -> f64 {
    0.01
}
fn default_dt() -> f64 {
    0.05
}
fn default_actuators() -> Vec<f64> {
    vec![0.2, 0.4, 0.6, 0.8]
}
fn default_width() -> f64 {
    0.05
}

impl Default for Heat1dParams {
    fn default() -> Self {
        Heat1dParams {
            cells: default_cells(),
            kappa: default_kappa(),
            dt: default_dt(),
            actuators: default_actuators(),
            width: default_width(),
        }
    }
}

/// Smallest allowed number of cells.
pub const MIN_CELLS: usize = 4;
/// Largest allowed number of cells (`E` is a dense `N×N` matrix; a step costs `O(N²)`).
pub const MAX_CELLS: usize = 4096;
/// `|z|` below which `expm1(z)/z` is evaluated by its Taylor series (first omitted term
/// `z⁴/120 < 10⁻¹⁸` relative).
const SERIES_BELOW: f64 = 1e-4;

/// Name of the scene generator: targets reached from smooth initial states under random,
/// time-varying actuator controls.
pub const REACHABLE: &str = "reachable";
/// Number of sine modes in the initial states of [`REACHABLE`] scenes.
pub const INITIAL_MODES: usize = 3;
/// Gain of the [`REACHABLE`] controls in K/s: `u = CONTROL_GAIN · (c + a sin(…))`, chosen so
/// that the controlled part of the target is O(1) K for the 32-step reference episode.
pub const CONTROL_GAIN: f64 = 2.0;

/// `expm1(z)/z`, accurate for every `z ≤ 0` including tiny `|z|` (series) and `z → −∞`.
pub fn expm1_over(z: f64) -> f64 {
    if z.abs() < SERIES_BELOW {
        1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0
    } else {
        z.exp_m1() / z
    }
}

/// Controlled 1D diffusion with Dirichlet walls and Gaussian actuators (see the module
/// docs).
#[derive(Debug, Clone)]
pub struct Heat1d {
    params: Heat1dParams,
    /// Laplacian eigenvalues `λ_k` (1/m²), `k = 1..N` at index `k − 1`.
    eigenvalues: Vector,
    /// `E = exp(κ Δt L)` (N×N, exactly symmetric).
    e: Matrix,
    /// `F = (κL)⁻¹(E − I) B` (N×m, s).
    f: Matrix,
    /// Actuator profiles `B` (N×m).
    b: Matrix,
}

impl Heat1d {
    /// Validates `params` (4 ≤ cells ≤ 4096; kappa, dt, width > 0; at least one actuator,
    /// each inside `(0, 1)`; all finite) and forms `E` and `F`.
    pub fn new(params: Heat1dParams) -> Result<Self, ParamError> {
        if !(MIN_CELLS..=MAX_CELLS).contains(&params.cells) {
            return Err(ParamError::new(
                "cells",
                format!(
                    "must be ≥ {MIN_CELLS} and ≤ {MAX_CELLS}, got {}",
                    params.cells
                ),
            ));
        }
        positive("kappa", params.kappa)?;
        positive("dt", params.dt)?;
        positive("width", params.width)?;
        if params.actuators.is_empty() {
            return Err(ParamError::new(
                "actuators",
                "must be a non-empty list of centres in (0, 1), got []",
            ));
        }
        for (k, &c) in params.actuators.iter().enumerate() {
            if !(c.is_finite() && c > 0.0 && c < 1.0) {
                return Err(ParamError::new(
                    "actuators",
                    format!("must be inside (0, 1), got {c} at index {k}"),
                ));
            }
        }
        let n = params.cells;
        let m = params.actuators.len();
        let h = 1.0 / n as f64;
        let eigenvalues = laplacian_eigenvalues(n);
        let sigma = params.width;
        let b = Matrix::from_fn(n, m, |i, k| {
            let d = (i as f64 + 0.5) * h - params.actuators[k];
            (-d * d / (2.0 * sigma * sigma)).exp()
        });
        let z: Vec<f64> = eigenvalues
            .iter()
            .map(|l| params.kappa * params.dt * l)
            .collect();
        // E = V diag(e^z) Vᵀ and Φ = V diag(φ) Vᵀ, φ_k = Δt expm1(z_k)/z_k, both
        // Toeplitz-plus-Hankel (see `cosine_sums`); F = Φ B without storing Φ.
        let ce = cosine_sums(&z.iter().map(|z| z.exp()).collect::<Vec<_>>());
        let e = Matrix::from_fn(n, n, |i, j| ce[i.abs_diff(j)] - ce[i + j + 1]);
        let cphi = cosine_sums(
            &z.iter()
                .map(|&z| params.dt * expm1_over(z))
                .collect::<Vec<_>>(),
        );
        let mut f = Matrix::zeros(n, m);
        for j in 0..n {
            for i in 0..n {
                let phi = cphi[i.abs_diff(j)] - cphi[i + j + 1];
                for a in 0..m {
                    f[(i, a)] += phi * b[(j, a)];
                }
            }
        }
        Ok(Heat1d {
            params,
            eigenvalues,
            e,
            f,
            b,
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &Heat1dParams {
        &self.params
    }

    /// Number of actuators `m`.
    pub fn actuator_count(&self) -> usize {
        self.params.actuators.len()
    }

    /// Cell centres `x_i = (i + ½)/N` in m.
    pub fn cell_centres(&self) -> Vector {
        let n = self.params.cells;
        Vector::from_fn(n, |i, _| (i as f64 + 0.5) / n as f64)
    }

    /// The Laplacian `L` (1/m²) assembled from the stencil (module docs): tridiagonal,
    /// `1/h²` off the diagonal, `−2/h²` on it and `−3/h²` in the two boundary rows.
    pub fn laplacian(&self) -> Matrix {
        let n = self.params.cells;
        let inv_h2 = (n * n) as f64;
        let mut l = Matrix::zeros(n, n);
        for i in 0..n {
            l[(i, i)] = -2.0 * inv_h2;
            if i > 0 {
                l[(i, i - 1)] = inv_h2;
            }
            if i + 1 < n {
                l[(i, i + 1)] = inv_h2;
            }
        }
        l[(0, 0)] = -3.0 * inv_h2;
        l[(n - 1, n - 1)] = -3.0 * inv_h2;
        l
    }

    /// Eigenvalues `λ_k = −(4/h²) sin²(πk/(2N))` of [`Heat1d::laplacian`] in 1/m², `k = 1..N`
    /// at index `k − 1` (decreasing: `λ_1` is the slowest mode).
    pub fn eigenvalues(&self) -> &Vector {
        &self.eigenvalues
    }

    /// The orthonormal eigenvectors of [`Heat1d::laplacian`] as columns (N×N): column `k − 1`
    /// is `v_k / |v_k|`, `v_k(x_i) = sin(π k x_i)`.
    pub fn modes(&self) -> Matrix {
        modal_rows(self.params.cells).transpose()
    }

    /// Sine mode `k ≥ 1` at the cell centres, `sin(π k x_i)` (not normalised).
    pub fn mode(&self, k: usize) -> Vector {
        self.cell_centres().map(|x| (PI * k as f64 * x).sin())
    }

    /// `E = exp(κ Δt L)` (N×N, dimensionless).
    pub fn e_matrix(&self) -> &Matrix {
        &self.e
    }

    /// `F = (κL)⁻¹(E − I) B` (N×m, s): the temperature change per unit heating rate held for
    /// one step.
    pub fn f_matrix(&self) -> &Matrix {
        &self.f
    }

    /// Actuator profiles `B` (N×m, dimensionless): column `k` is `b_k(x_i)`.
    pub fn actuator_profiles(&self) -> &Matrix {
        &self.b
    }

    /// The episode Gramian `G = Σ_{t<T} J_t J_tᵀ` with `J_t = ∂s_T/∂u_t = E^{T−1−t} F` for
    /// `steps = T` (N×N, K²·s²), by the recurrence `P ← E P E + F Fᵀ`. It is the matrix the
    /// inversion across time solves with (the dynamics are linear, so it does not depend on
    /// the trajectory). Its eigenvalue range: [`Heat1d::episode_gramian_eigenvalues`].
    pub fn episode_gramian(&self, steps: usize) -> Matrix {
        let n = self.params.cells;
        let ff = &self.f * self.f.transpose();
        let mut p = Matrix::zeros(n, n);
        for _ in 0..steps {
            p = &self.e * &p * &self.e + &ff;
        }
        p
    }

    /// Eigenvalues of [`Heat1d::episode_gramian`] (s²), ascending, computed without forming
    /// `G`: as the squared singular values of the stacked `J = [J_0 … J_{T−1}]` (N×Tm),
    /// written in the modal basis where `J_t` is diagonal times `VᵀB` (row `k` scaled by
    /// `e^{z_k (T−1−t)} Δt expm1(z_k)/z_k`). An eigensolver on `G` resolves eigenvalues only
    /// down to its round-off floor `≈ ε λ_max ≈ 10⁻¹⁶ λ_max` (below it they come out as noise
    /// of either sign); the SVD of `J` avoids squaring the conditioning: with its backward
    /// error `≈ ε |J|`, an eigenvalue `λ` has relative error `≈ ε √(λ_max/λ)`, so they are
    /// resolved down to about `ε² λ_max ≈ 10⁻³² λ_max`. Values below that (including exact
    /// zeros) are round-off, not physics. All zeros for `steps = 0`.
    pub fn episode_gramian_eigenvalues(&self, steps: usize) -> Vector {
        let n = self.params.cells;
        if steps == 0 {
            return Vector::zeros(n);
        }
        let m = self.actuator_count();
        let z = self
            .eigenvalues
            .map(|l| self.params.kappa * self.params.dt * l);
        let modal_b = modal_rows(n) * &self.b;
        // Modal J_t: row k scaled by e^{z_k (T−1−t)} Δt expm1(z_k)/z_k.
        let mut j = Matrix::zeros(n, steps * m);
        for t in 0..steps {
            let power = (steps - 1 - t) as f64;
            for k in 0..n {
                let scale = (z[k] * power).exp() * self.params.dt * expm1_over(z[k]);
                for a in 0..m {
                    j[(k, t * m + a)] = scale * modal_b[(k, a)];
                }
            }
        }
        let mut sv: Vec<f64> = j
            .svd(false, false)
            .singular_values
            .iter()
            .map(|s| s * s)
            .collect();
        sv.resize(n, 0.0);
        sv.sort_by(|a, b| a.total_cmp(b));
        Vector::from_vec(sv)
    }

    /// The state reached from `initial` under `controls` (one per step).
    pub fn simulate(&self, initial: &Vector, controls: &[Vector]) -> Vector {
        controls
            .iter()
            .fold(initial.clone(), |s, u| self.step(&s, u))
    }

    /// One [`REACHABLE`] scene for an episode of `steps` steps. Draw order from `rng`:
    ///
    /// 1. initial state `s_0 = Σ_{k=1..3} a_k sin(π k x)`, `a_k ~ U(−1, 1)` K (drawn `a_1,
    ///    a_2, a_3`): smooth, zero at the walls;
    /// 2. per actuator `j` in order: `c_j ~ U(−1, 1)`, `a_j ~ U(−1, 1)`, `ω_j ~ U(0.5, 2)`
    ///    cycles per episode, `φ_j ~ U(0, 2π)`; the control at step `t` is
    ///    `u_{t,j} = g (c_j + a_j sin(2π ω_j τ_t + φ_j))` K/s with `τ_t = (t + ½)/T` the step's
    ///    midpoint as a fraction of the episode and `g` = [`CONTROL_GAIN`] = 2 K/s.
    ///
    /// The target is the state these controls reach from `s_0` after `steps` steps; the
    /// controls are the scene's reference controls (`|u| ≤ 4` K/s). With the defaults and
    /// 32 steps the controlled part `s_T − E^T s_0` is O(1) K and not just the slowest mode:
    /// over 100 scenes its peak is 0.4–2.2 K (mean 1.15 K) and on average 74 % of its norm
    /// (at least 11 %) lies on the modes `k ≥ 2` (measured in `tests/sim_control.rs`).
    pub fn reachable(&self, steps: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Scene {
        let amplitudes: Vec<f64> = (0..INITIAL_MODES)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let mut initial = Vector::zeros(self.params.cells);
        for (k, a) in amplitudes.iter().enumerate() {
            initial += self.mode(k + 1) * *a;
        }
        let m = self.actuator_count();
        let signals: Vec<[f64; 4]> = (0..m)
            .map(|_| {
                [
                    rng.gen_range(-1.0..1.0),
                    rng.gen_range(-1.0..1.0),
                    rng.gen_range(0.5..2.0),
                    rng.gen_range(0.0..2.0 * PI),
                ]
            })
            .collect();
        let controls: Vec<Vector> = (0..steps)
            .map(|t| {
                let tau = (t as f64 + 0.5) / steps as f64;
                Vector::from_fn(m, |j, _| {
                    let [c, a, omega, phase] = signals[j];
                    CONTROL_GAIN * (c + a * (2.0 * PI * omega * tau + phase).sin())
                })
            })
            .collect();
        let target = self.simulate(&initial, &controls);
        Scene {
            initial,
            target,
            reference_controls: Some(controls.into()),
        }
    }
}

/// `λ_k = −(4/h²) sin²(πk/(2N))`, `k = 1..N` at index `k − 1`.
fn laplacian_eigenvalues(n: usize) -> Vector {
    let inv_h2 = (n * n) as f64;
    Vector::from_fn(n, |j, _| {
        let s = (PI * (j + 1) as f64 / (2.0 * n as f64)).sin();
        -4.0 * inv_h2 * s * s
    })
}

/// The orthonormal DST-II basis as rows (`Vᵀ`): row `k − 1` is `sin(πk(i + ½)/N)` normalised
/// (`√(2/N)`, and `√(1/N)` for `k = N`).
fn modal_rows(n: usize) -> Matrix {
    let nf = n as f64;
    Matrix::from_fn(n, n, |j, i| {
        let k = (j + 1) as f64;
        let norm = if j + 1 == n {
            (1.0 / nf).sqrt()
        } else {
            (2.0 / nf).sqrt()
        };
        norm * (PI * k * (i as f64 + 0.5) / nf).sin()
    })
}

/// For a function `g` of the Laplacian given by its values `g_k` on the modes `k = 1..N`
/// (index `k − 1`), the coefficients `c(d)`, `d = 0..2N`, with
/// `(V diag(g) Vᵀ)_ij = c(|i − j|) − c(i + j + 1)`:
///
/// `V_ik V_jk = (1/N)(cos(πk(i − j)/N) − cos(πk(i + j + 1)/N))` for `k < N` (product to sum),
/// half that for `k = N`, so `c(d) = (1/N) Σ_k w_k g_k cos(πkd/N)` with `w_k = 1` (`k < N`),
/// `w_N = ½`. `O(N²)`; the cosine's argument is reduced exactly (`kd mod 2N`, integers).
fn cosine_sums(g: &[f64]) -> Vec<f64> {
    let n = g.len();
    let period = 2 * n;
    let cosines: Vec<f64> = (0..period)
        .map(|r| (PI * r as f64 / n as f64).cos())
        .collect();
    (0..period)
        .map(|d| {
            let mut sum = 0.0;
            let mut r = 0;
            for (j, gk) in g.iter().enumerate() {
                r = (r + d) % period;
                let w = if j + 1 == n { 0.5 } else { 1.0 };
                sum += w * gk * cosines[r];
            }
            sum / n as f64
        })
        .collect()
}

impl Simulator for Heat1d {
    fn name(&self) -> &str {
        "heat1d"
    }
    fn state_dim(&self) -> usize {
        self.params.cells
    }
    fn control_dim(&self) -> usize {
        self.actuator_count()
    }
    /// The temperature `T [K]` (relative to the walls) on a bounded `1 × 1 × N` grid of cells
    /// `h = 1/N` m.
    fn state_layout(&self) -> crate::layout::Layout {
        use crate::layout::{Boundary, Component, Grid, Layout};
        let cells = self.params.cells;
        Layout::Grid(Grid::line(
            Component::new("T", "K"),
            cells,
            1.0 / cells as f64,
            "m",
            Boundary::Bounded,
        ))
    }
    /// One heating rate per actuator, `u1, u2, … [K/s]`, in the order of `actuators` (a flat
    /// list: the actuators are a few points, not a field).
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::Flat(
            (1..=self.actuator_count())
                .map(|k| crate::layout::Component::new(format!("u{k}"), "K/s"))
                .collect(),
        )
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        &self.e * state + &self.f * control
    }
}

impl Jvp for Heat1d {
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
        &self.e * d_state + &self.f * d_control
    }

    fn jacobians(&self, _state: &Vector, _control: &Vector) -> (Matrix, Matrix) {
        (self.e.clone(), self.f.clone())
    }
}

impl Vjp for Heat1d {
    fn vjp(&self, _state: &Vector, _control: &Vector, w: &Vector) -> (Vector, Vector) {
        (self.e.tr_mul(w), self.f.tr_mul(w))
    }
}

impl SceneGenerator for Heat1d {
    fn generator_names(&self) -> Vec<String> {
        vec![REACHABLE.to_string()]
    }

    fn generate(
        &self,
        name: &str,
        steps: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> crate::Result<Scene> {
        match name {
            REACHABLE => Ok(self.reachable(steps, rng)),
            _ => Err(super::unknown_generator(
                "heat1d",
                name,
                &self.generator_names(),
            )),
        }
    }
}

/// Registers `heat1d` (JVP, VJP, scene generator `reachable`).
pub fn register(table: &mut Simulators) {
    table.register::<Heat1dParams, _>(
        "heat1d",
        "1D diffusion on [0,1] with Dirichlet walls, temperature per cell [K], heated by a few \
         Gaussian actuators [K/s]; exact zero-order-hold step (docs/method.md §4.3)",
        |params| {
            let sim = Arc::new(Heat1d::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone()).with_scenes(sim))
        },
    );
}
