//! 1D viscous Burgers equation with additive per-cell forcing (docs/method.md §3.4; registered as
//! `burgers`).
//!
//! State `s ∈ Rⁿ`: velocity `u(x_i)` in m/s at the cell centres `x_i = (i + ½)/n` of the
//! periodic domain `[0, 1)` (length in m, `n = cells`, `Δx = 1/n`). Control `f ∈ Rⁿ`: force
//! density (acceleration) per cell in m/s², held constant over the step. Equation
//!
//! ```text
//! u_t + u u_x = ν u_xx + f
//! ```
//!
//! with kinematic viscosity `ν` (m²/s). One step is `s' = N(s) + Δt·f`, where `N` is one
//! uncontrolled step, discretised as in PhiFlow's Burgers benchmark:
//!
//! 1. **Explicit diffusion** `w = Dᵏ s`, `D = I + r·(periodic [1, −2, 1] stencil)`,
//!    `r = ν Δt / (k Δx²)`, with the number of substeps `k ≥ 1` chosen at construction as the
//!    smallest giving `r ≤ ¼` (so every Fourier mode decays monotonically; `k = 1` for the
//!    reference set-up, where `ν Δt/Δx² ≈ 0.092`).
//! 2. **Semi-Lagrangian self-advection** of `w` with linear interpolation: each cell looks back
//!    along its own velocity, `p_i = i − w_i Δt/Δx` (in cell units), and takes
//!    `N(s)_i = (1 − α_i) w_{j_i} + α_i w_{j_i+1}` with `j_i = ⌊p_i⌋` (periodic) and
//!    `α_i = p_i − ⌊p_i⌋`. Unconditionally stable (no CFL limit), and piecewise smooth: the
//!    map is differentiable except where some `p_i` is an integer (a set of measure zero).
//!
//! Both stages are convex combinations, so the uncontrolled step obeys the discrete maximum
//! principle `max|N(s)| ≤ max|s|`. The scheme is *not* conservative: the mean is not exactly
//! preserved by the advection stage.
//!
//! Derivatives (exact for the discrete map, away from the kinks): with `c = Δt/Δx`,
//! `δN_i = (1 − α_i) δw_{j_i} + α_i δw_{j_i+1} − c (w_{j_i+1} − w_{j_i}) δw_i`, `δw = Dᵏ δs`;
//! the VJP scatters the transpose of that and applies `Dᵏ` again (it is symmetric).
//! `B = ∂s'/∂f = Δt·I`.

use super::{
    fit, ControlInverse, Jvp, Matrix, ParamError, Physics, Scene, SceneGenerator, Simulator,
    Simulators, Vector, Vjp,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Parameters of [`Burgers`]; every field has a default, so `params: ()` is the reference
/// set-up of docs/method.md §3.4.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BurgersParams {
    /// Number of cells `n` on the unit domain (≥ 3). Default 32.
    #[serde(default = "default_cells")]
    pub cells: usize,
    /// Kinematic viscosity `ν` in m²/s (≥ 0). Default 0.003.
    #[serde(default = "default_viscosity")]
    pub viscosity: f64,
    /// Time step `Δt` in s (> 0). Default 0.03.
    #[serde(default = "default_dt")]
    pub dt: f64,
}

fn default_cells() -> usize {
    32
}
fn default_viscosity() -> f64 {
    0.003
}
fn default_dt() -> f64 {
    0.03
}

impl Default for BurgersParams {
    fn default() -> Self {
        BurgersParams {
            cells: default_cells(),
            viscosity: default_viscosity(),
            dt: default_dt(),
        }
    }
}

/// Largest diffusion number per substep; `≤ ¼` keeps every mode's amplification in `[0, 1]`.
const MAX_DIFFUSION_NUMBER: f64 = 0.25;

/// Name of the docs/method.md §3.4 scene generator.
pub const GAUSSIAN_CLASH: &str = "gaussian_clash";

/// Controlled 1D viscous Burgers on a periodic grid (see the module docs).
#[derive(Debug, Clone)]
pub struct Burgers {
    params: BurgersParams,
    /// Diffusion substeps `k`.
    diffusion_substeps: usize,
    /// Diffusion number per substep `r = ν Δt /(k Δx²)`.
    r: f64,
    /// `Δt/Δx` (cells per unit velocity per step).
    courant: f64,
    /// `Dᵏ` (n×n), formed once: [`Jvp::jacobians`] needs it at every step.
    diffusion: Matrix,
    /// Per row of `Dᵏ`, the columns of its entries other than `+0` (`2k + 1` of them, periodic).
    diffusion_support: Vec<Vec<usize>>,
}

/// Per-thread work buffers of the in-place step, JVP and VJP (the diffused state and
/// tangent, the scattered cotangent and the diffusion's second buffer), so that they allocate
/// nothing once warm.
#[derive(Default)]
struct Scratch {
    w: Vec<f64>,
    dw: Vec<f64>,
    tmp: Vec<f64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's [`Scratch`].
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| f(&mut cell.borrow_mut()))
}

/// `⌊p⌋`, exactly as `f64::floor`, without the library call that `floor` compiles to on
/// x86-64 without SSE4.1 (it was 4 % of a Burgers SIP iteration): below `2⁵²` in magnitude
/// the truncating cast is exact, and one comparison corrects it for negative `p`. (`p = −0`
/// would give `+0`; departure points never are: `i − c w` is `+0` when it is zero.)
#[inline]
fn floor(p: f64) -> f64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2⁵²: every float at or above it is integral.
    if p.abs() < EXACT {
        let t = p as i64 as f64;
        if t > p {
            t - 1.0
        } else {
            t
        }
    } else {
        p.floor()
    }
}

/// Cell-interpolation data of one departure point: `(j, j + 1 (periodic), α)`.
#[derive(Clone, Copy)]
struct Departure {
    j: usize,
    j1: usize,
    alpha: f64,
}

impl Burgers {
    /// One channel `name [unit]` on the periodic `1 × 1 × n` grid of cells `Δx = 1/n` m.
    fn field(&self, name: &str, unit: &str) -> crate::layout::Layout {
        use crate::layout::{Boundary, Component, Grid, Layout};
        let cells = self.params.cells;
        Layout::Grid(Grid::line(
            Component::new(name, unit),
            cells,
            1.0 / cells as f64,
            "m",
            Boundary::Periodic,
        ))
    }

    /// Validates `params` (cells ≥ 3; viscosity ≥ 0; dt > 0; finite) and chooses the number
    /// of diffusion substeps.
    pub fn new(params: BurgersParams) -> Result<Self, ParamError> {
        if params.cells < 3 {
            return Err(ParamError::new(
                "cells",
                format!("must be ≥ 3, got {}", params.cells),
            ));
        }
        if !(params.viscosity.is_finite() && params.viscosity >= 0.0) {
            return Err(ParamError::new(
                "viscosity",
                format!("must be ≥ 0, got {}", params.viscosity),
            ));
        }
        if !(params.dt.is_finite() && params.dt > 0.0) {
            return Err(ParamError::new(
                "dt",
                format!("must be > 0, got {}", params.dt),
            ));
        }
        let n = params.cells as f64;
        let total = params.viscosity * params.dt * n * n;
        let k = ((total / MAX_DIFFUSION_NUMBER).ceil() as usize).max(1);
        if k > 1_000_000 {
            return Err(ParamError::new(
                "viscosity",
                format!(
                    "ν·Δt·cells² = {total} needs {k} explicit diffusion substeps; reduce viscosity, dt or cells"
                ),
            ));
        }
        let mut burgers = Burgers {
            diffusion_substeps: k,
            r: total / k as f64,
            courant: params.dt * n,
            params,
            diffusion: Matrix::zeros(0, 0),
            diffusion_support: Vec::new(),
        };
        burgers.diffusion = burgers.diffusion_matrix();
        let d = &burgers.diffusion;
        burgers.diffusion_support = (0..d.nrows())
            // Every entry that is not exactly `+0` (a `−0` counts as support).
            .map(|i| {
                (0..d.ncols())
                    .filter(|&k| d[(i, k)].to_bits() != 0)
                    .collect()
            })
            .collect();
        Ok(burgers)
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &BurgersParams {
        &self.params
    }

    /// Number of explicit diffusion substeps per step.
    pub fn diffusion_substeps(&self) -> usize {
        self.diffusion_substeps
    }

    /// Cell centres `x_i = (i + ½)/n` in m.
    pub fn cell_centres(&self) -> Vector {
        let n = self.params.cells;
        Vector::from_fn(n, |i, _| (i as f64 + 0.5) / n as f64)
    }

    /// `Dᵏ v` (explicit periodic diffusion, `k` substeps). Symmetric in `v`.
    fn diffuse(&self, v: &[f64]) -> Vec<f64> {
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        self.diffuse_into(v, &mut out, &mut tmp);
        out
    }

    /// `out ← Dᵏ v`, with `tmp` as the second buffer of the substeps (both resized as needed).
    fn diffuse_into(&self, v: &[f64], out: &mut Vec<f64>, tmp: &mut Vec<f64>) {
        let n = v.len();
        out.clear();
        out.extend_from_slice(v);
        if self.r == 0.0 {
            return;
        }
        tmp.clear();
        tmp.resize(n, 0.0);
        let (mut a, mut b) = (out, tmp);
        let r = self.r;
        for _ in 0..self.diffusion_substeps {
            b[0] = a[0] + r * (a[n - 1] - 2.0 * a[0] + a[1]);
            for i in 1..n - 1 {
                b[i] = a[i] + r * (a[i - 1] - 2.0 * a[i] + a[i + 1]);
            }
            b[n - 1] = a[n - 1] + r * (a[n - 2] - 2.0 * a[n - 1] + a[0]);
            std::mem::swap(&mut a, &mut b);
        }
        // After an odd number of substeps the result is in the second buffer.
        if self.diffusion_substeps % 2 == 1 {
            std::mem::swap(a, b);
        }
    }

    /// Departure point of cell `i` moving with velocity `w_i`.
    #[inline]
    fn departure(&self, i: usize, wi: f64) -> Departure {
        let n = self.params.cells;
        let p = i as f64 - self.courant * wi;
        let fl = floor(p);
        // Non-finite `p` casts to 0 (saturating), and the NaN propagates through `alpha`. Most
        // departure points lie inside the domain: only the others pay for the division of the
        // periodic wrap.
        let (f, cells) = (fl as i64, n as i64);
        let j = if (0..cells).contains(&f) {
            f as usize
        } else {
            f.rem_euclid(cells) as usize
        };
        Departure {
            j,
            j1: if j + 1 == n { 0 } else { j + 1 },
            alpha: p - fl,
        }
    }

    /// `N(s)` written into a new vector, plus the diffused field `w` it advected.
    fn uncontrolled(&self, state: &Vector) -> (Vec<f64>, Vec<f64>) {
        let w = self.diffuse(state.as_slice());
        let out = (0..w.len())
            .map(|i| {
                let d = self.departure(i, w[i]);
                (1.0 - d.alpha) * w[d.j] + d.alpha * w[d.j1]
            })
            .collect();
        (out, w)
    }

    /// One uncontrolled step `N(s)` (length `n`, m/s).
    pub fn uncontrolled_step(&self, state: &Vector) -> Vector {
        Vector::from_vec(self.uncontrolled(state).0)
    }

    /// `Dᵏ` as a dense `n×n` matrix (columns are diffused unit vectors).
    fn diffusion_matrix(&self) -> Matrix {
        let n = self.params.cells;
        let mut d = Matrix::zeros(n, n);
        let mut e = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            let col = self.diffuse(&e);
            d.set_column(j, &Vector::from_vec(col));
            e[j] = 0.0;
        }
        d
    }

    /// `a·exp(−(x − c)²/(2σ²))` at the cell centres.
    fn gaussian(&self, a: f64, c: f64, sigma: f64) -> Vector {
        self.cell_centres()
            .map(|x| a * (-(x - c) * (x - c) / (2.0 * sigma * sigma)).exp())
    }

    /// docs/method.md §3.4 scene. Draw order from `rng`: `a_l, c_l, σ_l, a_r, c_r, σ_r` (initial
    /// state), then `a, c, σ` (force).
    fn gaussian_clash(&self, steps: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Scene {
        let a_l = rng.gen_range(0.0..3.0);
        let c_l = rng.gen_range(0.2..0.4);
        let s_l = rng.gen_range(0.05..0.15);
        let a_r = rng.gen_range(-3.0..0.0);
        let c_r = rng.gen_range(0.6..0.8);
        let s_r = rng.gen_range(0.05..0.15);
        let initial = self.gaussian(a_l, c_l, s_l) + self.gaussian(a_r, c_r, s_r);
        // The factor 32 is the reference's (its 32 cells), kept for any `cells`.
        let a = 32.0 * rng.gen_range(-0.05..0.05);
        let c = rng.gen_range(0.4..0.6);
        let sigma = rng.gen_range(0.1..0.4);
        let force = self.gaussian(a, c, sigma);
        let mut target = initial.clone();
        for _ in 0..steps {
            target = self.step(&target, &force);
        }
        Scene {
            initial,
            target,
            reference_controls: Some(vec![force; steps].into()),
        }
    }
}

impl Simulator for Burgers {
    fn name(&self) -> &str {
        "burgers"
    }
    fn state_dim(&self) -> usize {
        self.params.cells
    }
    fn control_dim(&self) -> usize {
        self.params.cells
    }
    /// The velocity `u [m/s]` on a periodic `1 × 1 × n` grid of cells `Δx = 1/n` m.
    fn state_layout(&self) -> crate::layout::Layout {
        self.field("u", "m/s")
    }
    /// The force density `f [m/s²]` on the state's grid.
    fn control_layout(&self) -> crate::layout::Layout {
        self.field("f", "m/s²")
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        let mut out = Vector::zeros(self.params.cells);
        self.step_into(state, control, &mut out);
        out
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        let n = self.params.cells;
        fit(out, n);
        with_scratch(|sc| {
            self.diffuse_into(state.as_slice(), &mut sc.w, &mut sc.tmp);
            let w = &sc.w;
            for (i, o) in out.iter_mut().enumerate() {
                let d = self.departure(i, w[i]);
                *o = (1.0 - d.alpha) * w[d.j] + d.alpha * w[d.j1];
            }
        });
        for (o, f) in out.iter_mut().zip(control.iter()) {
            *o += self.params.dt * f;
        }
    }
}

impl Jvp for Burgers {
    fn jvp(
        &self,
        state: &Vector,
        control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
    ) -> Vector {
        let mut out = Vector::zeros(self.params.cells);
        self.jvp_into(state, control, d_state, d_control, &mut out);
        out
    }

    fn jvp_into(
        &self,
        state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        let n = self.params.cells;
        fit(out, n);
        let dt = self.params.dt;
        with_scratch(|sc| {
            self.diffuse_into(state.as_slice(), &mut sc.w, &mut sc.tmp);
            self.diffuse_into(d_state.as_slice(), &mut sc.dw, &mut sc.tmp);
            let (w, dw) = (&sc.w, &sc.dw);
            for (i, o) in out.iter_mut().enumerate() {
                let d = self.departure(i, w[i]);
                *o = (1.0 - d.alpha) * dw[d.j] + d.alpha * dw[d.j1]
                    - self.courant * (w[d.j1] - w[d.j]) * dw[i]
                    + dt * d_control[i];
            }
        });
    }

    fn jacobians(&self, state: &Vector, _control: &Vector) -> (Matrix, Matrix) {
        let n = self.params.cells;
        let dk = &self.diffusion;
        let mut a = Matrix::zeros(n, n);
        let support = &self.diffusion_support;
        with_scratch(|sc| {
            self.diffuse_into(state.as_slice(), &mut sc.w, &mut sc.tmp);
            let w = &sc.w;
            for i in 0..n {
                let d = self.departure(i, w[i]);
                let slope = -self.courant * (w[d.j1] - w[d.j]);
                let entry = |k: usize| {
                    (1.0 - d.alpha) * dk[(d.j, k)] + d.alpha * dk[(d.j1, k)] + slope * dk[(i, k)]
                };
                if d.alpha.is_finite() && slope.is_finite() {
                    // Outside the supports of rows `j`, `j + 1` and `i` of `Dᵏ` the three terms
                    // are `(1 − α)·(+0) = +0`, `α·(+0) = +0` (`0 ≤ α < 1`) and
                    // `slope·(+0) = ±0`, so the entry is `+0`, as `Matrix::zeros` leaves it.
                    // Where the supports overlap the same entry is written again, unchanged.
                    for &k in support[d.j].iter().chain(&support[d.j1]).chain(&support[i]) {
                        a[(i, k)] = entry(k);
                    }
                } else {
                    for k in 0..n {
                        a[(i, k)] = entry(k);
                    }
                }
            }
        });
        (a, Matrix::from_diagonal_element(n, n, self.params.dt))
    }
}

impl Vjp for Burgers {
    fn vjp(&self, state: &Vector, control: &Vector, w_out: &Vector) -> (Vector, Vector) {
        let n = self.params.cells;
        let (mut gs, mut gu) = (Vector::zeros(n), Vector::zeros(n));
        self.vjp_into(state, control, w_out, &mut gs, &mut gu);
        (gs, gu)
    }

    fn vjp_into(
        &self,
        state: &Vector,
        _control: &Vector,
        w_out: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        let n = self.params.cells;
        with_scratch(|sc| {
            self.diffuse_into(state.as_slice(), &mut sc.w, &mut sc.tmp);
            let (w, gw) = (&sc.w, &mut sc.dw);
            gw.clear();
            gw.resize(n, 0.0);
            for i in 0..n {
                let g = w_out[i];
                let d = self.departure(i, w[i]);
                gw[d.j] += (1.0 - d.alpha) * g;
                gw[d.j1] += d.alpha * g;
                gw[i] -= self.courant * (w[d.j1] - w[d.j]) * g;
            }
            let mut gs = std::mem::take(&mut sc.w);
            self.diffuse_into(&sc.dw, &mut gs, &mut sc.tmp);
            fit(d_state, n);
            d_state.as_mut_slice().copy_from_slice(&gs);
            sc.w = gs;
        });
        fit(d_control, n);
        for (o, g) in d_control.iter_mut().zip(w_out.iter()) {
            *o = g * self.params.dt;
        }
    }
}

impl ControlInverse for Burgers {
    /// Exact inverse of the additive forcing: `ũ = (s̃' − N(s))/Δt`, independent of `control`.
    fn control_inverse(
        &self,
        state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        let (n_s, _) = self.uncontrolled(state);
        let inv_dt = 1.0 / self.params.dt;
        let u = Vector::from_fn(n_s.len(), |i, _| (target[i] - n_s[i]) * inv_dt);
        if u.iter().all(|v| v.is_finite()) {
            Ok(u)
        } else {
            Err(crate::InverseError::Singular {
                reason: "burgers inverse produced a non-finite force".into(),
            })
        }
    }
}

impl SceneGenerator for Burgers {
    fn generator_names(&self) -> Vec<String> {
        vec![GAUSSIAN_CLASH.to_string()]
    }

    fn generate(
        &self,
        name: &str,
        steps: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> crate::Result<Scene> {
        match name {
            GAUSSIAN_CLASH => Ok(self.gaussian_clash(steps, rng)),
            _ => Err(super::unknown_generator(
                "burgers",
                name,
                &self.generator_names(),
            )),
        }
    }
}

/// Registers `burgers` (JVP, VJP, control inverse, scene generator `gaussian_clash`).
pub fn register(table: &mut Simulators) {
    table.register::<BurgersParams, _>(
        "burgers",
        "1D viscous Burgers on [0,1], periodic, per-cell additive force (docs/method.md §3.4)",
        |params| {
            let sim = Arc::new(Burgers::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone())
                .with_inverse(sim.clone())
                .with_scenes(sim))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `A` entry by entry over every column: what [`Jvp::jacobians`] computed before it used
    /// the support of `Dᵏ`.
    fn dense_a(sim: &Burgers, state: &Vector) -> Matrix {
        let n = sim.params.cells;
        let w = sim.diffuse(state.as_slice());
        let dk = &sim.diffusion;
        Matrix::from_fn(n, n, |i, k| {
            let d = sim.departure(i, w[i]);
            let slope = -sim.courant * (w[d.j1] - w[d.j]);
            (1.0 - d.alpha) * dk[(d.j, k)] + d.alpha * dk[(d.j1, k)] + slope * dk[(i, k)]
        })
    }

    /// The sparse assembly of `A` gives the dense one bit for bit (signed zeros included), with
    /// one and with several diffusion substeps.
    #[test]
    fn floor_is_the_library_floor() {
        let mut values = vec![
            0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            31.999,
            -31.999,
            1e15 + 0.5,
            -1e15 - 0.5,
        ];
        values.extend([
            4.6e15,
            -4.6e15,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]);
        values.extend((0..2000).map(|i| (i as f64 - 1000.0) * 0.0173));
        values.extend([
            f64::from_bits(0x3FEF_FFFF_FFFF_FFFF),
            -f64::from_bits(0x3FEF_FFFF_FFFF_FFFF),
        ]);
        for p in values {
            assert_eq!(floor(p).to_bits(), p.floor().to_bits(), "{p}");
        }
        assert!(floor(f64::NAN).is_nan());
    }

    #[test]
    fn jacobian_from_the_support_is_the_dense_one_bit_for_bit() {
        for viscosity in [0.003, 0.05] {
            let sim = Burgers::new(BurgersParams {
                viscosity,
                ..Default::default()
            })
            .unwrap();
            let n = sim.params.cells;
            for phase in [0.0, 1.3, 2.9] {
                let s = Vector::from_fn(n, |i, _| 2.0 * ((i as f64) * 0.4 + phase).sin());
                let (a, _) = sim.jacobians(&s, &Vector::zeros(n));
                let bits = |m: &Matrix| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&dense_a(&sim, &s)), "ν = {viscosity}");
            }
        }
    }
}
