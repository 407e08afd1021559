//! 2D periodic heat control with a heating field (registered as `heat2d_control`): the field
//! counterpart of [`super::heat1d`], controlled like [`super::burgers`], by a value on every
//! cell.
//!
//! State `s`: temperature in K on the periodic `N × N` grid of the unit square (cells of side
//! `h = 1/N` m, row-major, entry `y·N + x`). Control `q`: a heating rate in K/s on every cell,
//! held constant over the step (zero-order hold). Continuous dynamics with diffusivity `κ`
//! (m²/s):
//!
//! ```text
//! ṡ = κ ∇² s + q
//! ```
//!
//! with the spectral Laplacian (`−4π²|k|²` on the Fourier mode of `k` cycles per m), so each
//! mode evolves exactly over `Δt`: with `z_k = −4π²|k|² κ Δt`,
//!
//! ```text
//! ŝ'_k = e^{z_k} ŝ_k + φ_k q̂_k,   φ_k = Δt · expm1(z_k)/z_k   (φ_0 = Δt),
//! ```
//!
//! i.e. `s' = E s + F q` with `E = exp(κ Δt ∇²)`, `F = (κ∇²)⁻¹(E − I)`, both circulant and
//! symmetric, applied by real 2D FFTs ([`super::fft2d`]) in `O(N² log N)`. The mean heat rises
//! by `Δt · mean(q)`; the rest decays.
//!
//! **Why a heating field, not Gaussian actuators.** A few fixed actuators are `heat1d`'s task
//! (docs/method.md §4.3): they leave most modes unreachable and the episode Gramian singular in
//! `f64`, which in 2D would only repeat it with a dense `N² × m` actuator matrix. A heating
//! rate on every cell reaches every mode within one step: `F` is invertible, with `φ_k` between
//! `Δt` (the mean) and `≈ 1/(4π²|k|²κ)` (the finest modes; `0.1 Δt` at the defaults' corner
//! frequency), so the episode Gramian is `⪰ F² ≻ 0` and well conditioned. That makes it the
//! 2D field-control problem where an inverse has little to regularise, like Burgers' per-cell
//! force, and where convolutional policies (a field in, a field out) apply.
//!
//! Derivatives: the step of the tangents (`A = E`, `B = F`); the VJP is `(E w, F w)`. Inverse
//! ([`ControlInverse`]): exact, `q̂_k = (t̂_k − e^{z_k} ŝ_k)/φ_k`. Scenes ([`BOXES`]): initial
//! temperatures of the paper's boxes ([`super::heat2d::boxes`], in K), heated by another box
//! field times [`HEATING_GAIN`] K/s held over the episode; the target is the state reached.

use super::fft2d::{Fft2d, C64};
use super::heat1d::expm1_over;
use super::heat2d::boxes;
use super::point_mass::positive;
use super::{
    fit, ControlInverse, Jvp, ParamError, Physics, Scene, SceneGenerator, SceneRng, Simulator,
    Simulators, Vector, Vjp,
};
use crate::layout::{Boundary, Component, Grid, Layout};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;

/// Parameters of [`Heat2dControl`]; `params: ()` is 32 × 32 cells, `κ = 0.01` m²/s,
/// `Δt = 0.05` s (heat1d's diffusivity and step).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Heat2dControlParams {
    /// Cells `N` per side of the unit square (4 ≤ N ≤ 1024); cell side `1/N` m. Default 32.
    #[serde(default = "default_cells")]
    pub cells: usize,
    /// Thermal diffusivity `κ` in m²/s (> 0). Default 0.01.
    #[serde(default = "default_kappa")]
    pub kappa: f64,
    /// Time step `Δt` in s (> 0). Default 0.05.
    #[serde(default = "default_dt")]
    pub dt: f64,
}

fn default_cells() -> usize {
    32
}
fn default_kappa() -> f64 {
    0.01
}
fn default_dt() -> f64 {
    0.05
}

impl Default for Heat2dControlParams {
    fn default() -> Self {
        Heat2dControlParams {
            cells: default_cells(),
            kappa: default_kappa(),
            dt: default_dt(),
        }
    }
}

/// Fewest cells per side.
pub const MIN_CELLS: usize = 4;
/// Most cells per side.
pub const MAX_CELLS: usize = 1024;
/// Name of the scene generator.
pub const BOXES: &str = "boxes";
/// Heating rate in K/s per unit of a box field in the [`BOXES`] scenes: over the 32 steps of
/// 0.05 s of a reference episode it adds about as much heat as the initial boxes hold.
pub const HEATING_GAIN: f64 = 0.5;

thread_local! {
    /// Per-thread spectra of the two fields a call transforms.
    static SPECTRA: RefCell<(Vec<C64>, Vec<C64>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Periodic 2D diffusion heated by a field (see the module docs).
#[derive(Debug, Clone)]
pub struct Heat2dControl {
    params: Heat2dControlParams,
    fft: Fft2d,
    /// `e^{z_k}` per half-spectrum entry.
    decay: Vec<f64>,
    /// `φ_k = Δt expm1(z_k)/z_k` (s) per half-spectrum entry.
    gain: Vec<f64>,
    /// `1/φ_k` and `−e^{z_k}/φ_k`: the inverse's factors on the target and the state.
    inverse: (Vec<f64>, Vec<f64>),
}

impl Heat2dControl {
    /// Validates `params` (4 ≤ cells ≤ 1024; kappa, dt > 0 and finite) and forms the modal
    /// factors.
    pub fn new(params: Heat2dControlParams) -> Result<Self, ParamError> {
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
        let fft = Fft2d::new(params.cells);
        // |k|² in cycles² per m²: the FFT's cycles per cell times N.
        let per_metre = (params.cells * params.cells) as f64;
        let z: Vec<f64> = fft
            .squared_frequencies()
            .iter()
            .map(|k2| {
                -4.0 * std::f64::consts::PI.powi(2) * k2 * per_metre * params.kappa * params.dt
            })
            .collect();
        let decay: Vec<f64> = z.iter().map(|z| z.exp()).collect();
        let gain: Vec<f64> = z.iter().map(|&z| params.dt * expm1_over(z)).collect();
        let inverse = (
            gain.iter().map(|g| g.recip()).collect(),
            decay.iter().zip(&gain).map(|(e, g)| -e / g).collect(),
        );
        Ok(Heat2dControl {
            params,
            fft,
            decay,
            gain,
            inverse,
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &Heat2dControlParams {
        &self.params
    }

    fn cells(&self) -> usize {
        self.params.cells * self.params.cells
    }

    /// `φ_k` (s) per half-spectrum entry ([`Fft2d`] order).
    pub fn modal_gains(&self) -> &[f64] {
        &self.gain
    }

    /// One channel `name [unit]` on the periodic grid of the unit square.
    fn field(&self, name: &str, unit: &str) -> Layout {
        let n = self.params.cells;
        Layout::Grid(Grid {
            channels: vec![Component::new(name, unit)],
            ny: n,
            nx: n,
            cell_size: 1.0 / n as f64,
            length_unit: "m".to_string(),
            boundary: Boundary::Periodic,
        })
    }

    /// `out ← IFFT(a_k FFT(u) + b_k FFT(v))`: the modal combination every call is.
    fn combine(&self, a: &[f64], u: &Vector, b: &[f64], v: &Vector, out: &mut Vector) {
        fit(out, self.cells());
        SPECTRA.with(|cell| {
            let (su, sv) = &mut *cell.borrow_mut();
            self.fft.forward(u.as_slice(), su);
            self.fft.forward(v.as_slice(), sv);
            for (((x, y), a), b) in su.iter_mut().zip(sv.iter()).zip(a).zip(b) {
                *x = *x * *a + *y * *b;
            }
            self.fft.inverse(su, out.as_mut_slice());
        });
    }

    /// `out ← IFFT(a_k FFT(u))`.
    fn apply(&self, a: &[f64], u: &Vector, out: &mut Vector) {
        fit(out, self.cells());
        SPECTRA.with(|cell| {
            let spectrum = &mut cell.borrow_mut().0;
            self.fft.forward(u.as_slice(), spectrum);
            for (x, a) in spectrum.iter_mut().zip(a) {
                *x *= *a;
            }
            self.fft.inverse(spectrum, out.as_mut_slice());
        });
    }

    /// One [`BOXES`] scene for an episode of `steps` steps: `s₀` a box field (K), the heating
    /// [`HEATING_GAIN`] × another box field (K/s) at every step, the target the state reached.
    pub fn boxes_scene(&self, steps: usize, rng: &mut SceneRng) -> Scene {
        let n = self.params.cells;
        let initial = boxes::heat_field(n, rng);
        let heating = boxes::heat_field(n, rng) * HEATING_GAIN;
        let target = (0..steps).fold(initial.clone(), |s, _| self.step(&s, &heating));
        Scene {
            initial,
            target,
            reference_controls: Some(vec![heating; steps].into()),
        }
    }
}

impl Simulator for Heat2dControl {
    fn name(&self) -> &str {
        "heat2d_control"
    }
    fn state_dim(&self) -> usize {
        self.cells()
    }
    fn control_dim(&self) -> usize {
        self.cells()
    }
    fn dt(&self) -> f64 {
        self.params.dt
    }
    /// The temperature `T [K]` on the periodic `N × N` grid of cells `1/N` m.
    fn state_layout(&self) -> Layout {
        self.field("T", "K")
    }
    /// The heating rate `q [K/s]` on the state's grid.
    fn control_layout(&self) -> Layout {
        self.field("q", "K/s")
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.step_into(state, control, &mut out);
        out
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        self.combine(&self.decay, state, &self.gain, control, out);
    }
}

impl Jvp for Heat2dControl {
    fn constant_jacobians(&self) -> bool {
        true
    }

    fn jvp(&self, state: &Vector, control: &Vector, ds: &Vector, dq: &Vector) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.jvp_into(state, control, ds, dq, &mut out);
        out
    }

    /// `E δs + F δq`: the step of the tangents.
    fn jvp_into(&self, _s: &Vector, _q: &Vector, ds: &Vector, dq: &Vector, out: &mut Vector) {
        self.step_into(ds, dq, out);
    }
}

impl Vjp for Heat2dControl {
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        let (mut ds, mut dq) = (Vector::zeros(0), Vector::zeros(0));
        self.vjp_into(state, control, cotangent, &mut ds, &mut dq);
        (ds, dq)
    }

    /// `(E w, F w)`: both are symmetric.
    fn vjp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        w: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        self.apply(&self.decay, w, d_state);
        self.apply(&self.gain, w, d_control);
    }
}

impl ControlInverse for Heat2dControl {
    /// `q = F⁻¹(target − E s)`, exact (`F` is invertible); a non-finite result is
    /// [`crate::InverseError::Singular`].
    fn control_inverse(
        &self,
        state: &Vector,
        _control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        let mut q = Vector::zeros(self.cells());
        let (on_target, on_state) = &self.inverse;
        self.combine(on_target, target, on_state, state, &mut q);
        if q.iter().all(|v| v.is_finite()) {
            Ok(q)
        } else {
            Err(crate::InverseError::Singular {
                reason: "heat2d_control inverse produced a non-finite heating".into(),
            })
        }
    }
}

impl SceneGenerator for Heat2dControl {
    fn generator_names(&self) -> Vec<String> {
        vec![BOXES.to_string()]
    }

    fn generate(&self, name: &str, steps: usize, rng: &mut SceneRng) -> crate::Result<Scene> {
        match name {
            BOXES => Ok(self.boxes_scene(steps, rng)),
            _ => Err(super::unknown_generator(
                "heat2d_control",
                name,
                &self.generator_names(),
            )),
        }
    }
}

/// Registers `heat2d_control` (JVP, VJP, exact inverse, scene generator `boxes`).
pub fn register(table: &mut Simulators) {
    table.register::<Heat2dControlParams, _>(
        "heat2d_control",
        "2D periodic diffusion on the unit square, temperature per cell [K], heated by a field \
         [K/s] held over each step; exact spectral zero-order-hold step and inverse",
        |params| {
            let sim = Arc::new(Heat2dControl::new(params)?);
            Ok(Physics::differentiable_arc(sim.clone())
                .with_inverse(sim.clone())
                .with_scenes(sim))
        },
    );
}

#[cfg(test)]
mod tests;
