//! Inverting 2D periodic diffusion (registered as `heat2d`; docs/method.md §3.5; paper
//! Fig. 6c,d).
//!
//! A single-prediction inverse problem written as a one-step simulator (like
//! [`super::exponential`]): the control is the prediction `x`, a field on the periodic `N × N`
//! grid of unit cells (row-major, entry `y·N + x`; [`super::field2d`]), and the state is the
//! diffused field `y` on the same grid, by exact Fourier diffusion with amount `ν t`:
//!
//! ```text
//! ŷ_k = x̂_k exp(−4π²|k|² ν t),   k = FFT frequencies in cycles per cell,
//! ```
//!
//! computed with a real 2D FFT ([`super::fft2d`]). Diffusion keeps the mean (`k = 0`) and
//! damps the rest, the finest patterns beyond recovery: at the paper's `ν t = 8` a pattern of
//! 8 cells is damped by `e⁻⁴·⁹`, one of 4 cells by `e⁻¹⁹·⁷`.
//!
//! **The mean.** The paper shifts the prediction to the ground truth's mean before diffusing
//! it (`pred += mean(x*) − mean(pred)`): the network is not asked for the mean. Diffusion
//! conserves the mean, so `mean(x*) = mean(y*)`, a function of the target. With
//! `mean_from_state: true` (the default) the simulator does this shift, taking the mean from
//! its incoming state, which the problem otherwise ignores:
//!
//! ```text
//! P(s, x) = D(x − mean(x) + mean(s)) = D(x) + (mean(s) − mean(x)),
//! ```
//!
//! and the `boxes` scenes start from the target (`s₀ = y*`), so the mean is the target's. This
//! keeps the shift where the step, its derivatives and its inverse all see it: `A = ∂P/∂s` is
//! the mean (`1 1ᵀ/N²`), `B = ∂P/∂x = D − 1 1ᵀ/N²` (the mean of `x` has no effect), both
//! symmetric; the network observes nothing it should not (its `State` is the target it observes
//! anyway). With `false`, `P(s, x) = D(x)`, the state is ignored, and the network must
//! predict the mean too.
//!
//! **Derivatives.** `P` is linear in `(s, x)`, so the JVP is the step of the tangents, and the
//! VJP is `(mean(w) 1, D(w) − mean(w))` (`D` is symmetric: a real, even kernel), both
//! `(0, D(w))` without the shift. `O(N² log N)` each.
//!
//! **Inverse** ([`ControlInverse`]): the damped Fourier inverse of the reference ([`damped`]):
//! `Δy = target − P(s, x)`, `x̃ = x + Δx` with `Δx` the damped sharpening of `Δy`; with the
//! shift, `Δx`'s mean is dropped (the mean of `x` is not the network's to change, and the
//! nearest control changes it by nothing).
//!
//! **Scenes** ([`BOXES`]): ground truths `x*` of 4 to 10 soft-edged boxes ([`boxes`]), the
//! target `y* = D(x*)`, `s₀ = y*`, and `x*` the reference control. **Metric** `x_mae`: `Σ` over
//! cells of `|x̄ − x*|` with `x̄` the field the simulator diffuses (the shifted prediction).

pub mod boxes;
pub mod damped;

use super::fft2d::{Fft2d, C64};
use super::field2d::{self, X_MAE};
use super::{
    fit, ControlInverse, Jvp, ParamError, Physics, Scene, SceneGenerator, SceneRng, SimMetrics,
    Simulator, Simulators, Vector, Vjp,
};
use crate::layout::{Boundary, Layout};
use damped::DampedInverse;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;

/// Parameters of [`Heat2d`]; every field has a default, so `params: ()` is the paper's set-up:
/// 64 × 64 cells, `ν t = 8`, the mean taken from the state.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Heat2dParams {
    /// Cells `N` per side (4 ≤ N ≤ 1024); cells have side 1. Default 64.
    #[serde(default = "default_cells")]
    pub cells: usize,
    /// Diffusion amount `ν t` in cells² (≥ 0, finite). Default 8.
    #[serde(default = "default_amount")]
    pub amount: f64,
    /// Whether the prediction's mean is replaced by the incoming state's before diffusing (the
    /// paper's shift to the ground truth's mean; see the module docs). Default `true`.
    #[serde(default = "default_mean_from_state")]
    pub mean_from_state: bool,
}

fn default_cells() -> usize {
    64
}
fn default_amount() -> f64 {
    8.0
}
fn default_mean_from_state() -> bool {
    true
}

impl Default for Heat2dParams {
    fn default() -> Self {
        Heat2dParams {
            cells: default_cells(),
            amount: default_amount(),
            mean_from_state: default_mean_from_state(),
        }
    }
}

/// Fewest cells per side.
pub const MIN_CELLS: usize = 4;
/// Most cells per side (a field of `1024²` cells is 8 MiB).
pub const MAX_CELLS: usize = 1024;
/// Name of the scene generator of the paper's box fields.
pub const BOXES: &str = "boxes";

thread_local! {
    /// Per-thread spectra: the transformed field, and the target's for the inverse.
    static SPECTRA: RefCell<(Vec<C64>, Vec<C64>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Exact periodic diffusion of a prediction field (see the module docs).
#[derive(Debug, Clone)]
pub struct Heat2d {
    params: Heat2dParams,
    fft: Fft2d,
    /// `exp(−4π²|k|² ν t)` per half-spectrum entry.
    kernel: Vec<f64>,
    inverse: DampedInverse,
}

impl Heat2d {
    /// Validates `params` (4 ≤ cells ≤ 1024; amount ≥ 0 and finite) and plans the FFTs.
    pub fn new(params: Heat2dParams) -> Result<Self, ParamError> {
        if !(MIN_CELLS..=MAX_CELLS).contains(&params.cells) {
            return Err(ParamError::new(
                "cells",
                format!(
                    "must be ≥ {MIN_CELLS} and ≤ {MAX_CELLS}, got {}",
                    params.cells
                ),
            ));
        }
        if !(params.amount.is_finite() && params.amount >= 0.0) {
            return Err(ParamError::new(
                "amount",
                format!("must be ≥ 0 and finite, got {}", params.amount),
            ));
        }
        let fft = Fft2d::new(params.cells);
        let k2 = fft.squared_frequencies();
        let four_pi2 = 4.0 * std::f64::consts::PI.powi(2);
        let kernel = k2
            .iter()
            .map(|k2| (-four_pi2 * k2 * params.amount).exp())
            .collect();
        let inverse = DampedInverse::new(&k2, params.cells, params.amount);
        Ok(Heat2d {
            params,
            fft,
            kernel,
            inverse,
        })
    }

    /// The parameters this simulator was built from.
    pub fn params(&self) -> &Heat2dParams {
        &self.params
    }

    /// Cells of a field, `N²`.
    fn cells(&self) -> usize {
        self.params.cells * self.params.cells
    }

    /// `out ← D(field)`, with the mean (the `k = 0` amplitude) set to `mean` if given.
    fn diffuse_into(&self, field: &Vector, mean: Option<f64>, out: &mut Vector) {
        fit(out, self.cells());
        SPECTRA.with(|cell| {
            let spectrum = &mut cell.borrow_mut().0;
            self.fft.forward(field.as_slice(), spectrum);
            for (a, k) in spectrum.iter_mut().zip(&self.kernel) {
                *a *= *k;
            }
            if let Some(mean) = mean {
                spectrum[0] = C64::new(mean * self.cells() as f64, 0.0);
            }
            self.fft.inverse(spectrum, out.as_mut_slice());
        });
    }

    /// The mean the step gives the output for incoming state `state`: `mean(s)` with the
    /// shift, `None` (the prediction's own) without.
    fn output_mean(&self, state: &Vector) -> Option<f64> {
        self.params.mean_from_state.then(|| state.mean())
    }

    /// `D(x)` for a prediction `x`, without any shift: the target of a ground truth.
    pub fn diffuse(&self, x: &Vector) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.diffuse_into(x, None, &mut out);
        out
    }

    /// The field the step diffuses for prediction `x` at incoming state `state`:
    /// `x − mean(x) + mean(s)` with the shift, `x` without.
    pub fn shifted_prediction(&self, state: &Vector, x: &Vector) -> Vector {
        match self.output_mean(state) {
            Some(mean) => x.add_scalar(mean - x.mean()),
            None => x.clone(),
        }
    }

    /// One [`BOXES`] scene: `x*` drawn by [`boxes::heat_field`], `y* = D(x*)`, `s₀ = y*`.
    pub fn boxes_scene(&self, rng: &mut SceneRng) -> Scene {
        let truth = boxes::heat_field(self.params.cells, rng);
        let target = self.diffuse(&truth);
        Scene {
            initial: target.clone(),
            target,
            reference_controls: Some(vec![truth].into()),
        }
    }
}

impl Simulator for Heat2d {
    fn name(&self) -> &str {
        "heat2d"
    }
    fn state_dim(&self) -> usize {
        self.cells()
    }
    fn control_dim(&self) -> usize {
        self.cells()
    }
    /// The diffused field `y`, dimensionless, on the periodic `N × N` grid of unit cells.
    fn state_layout(&self) -> Layout {
        field2d::square_field("y", self.params.cells, Boundary::Periodic)
    }
    /// The prediction `x` on the state's grid.
    fn control_layout(&self) -> Layout {
        field2d::square_field("x", self.params.cells, Boundary::Periodic)
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        let mut out = Vector::zeros(self.cells());
        self.step_into(state, control, &mut out);
        out
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        self.diffuse_into(control, self.output_mean(state), out);
    }
}

impl Jvp for Heat2d {
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

    /// `P` is linear in `(s, x)`: the step of the tangents.
    fn jvp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        self.step_into(d_state, d_control, out);
    }
}

impl Vjp for Heat2d {
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        let (mut ds, mut dx) = (Vector::zeros(0), Vector::zeros(0));
        self.vjp_into(state, control, cotangent, &mut ds, &mut dx);
        (ds, dx)
    }

    /// `(mean(w) 1, D(w) − mean(w))` with the shift, `(0, D(w))` without.
    fn vjp_into(
        &self,
        _state: &Vector,
        _control: &Vector,
        cotangent: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        let n = self.cells();
        fit(d_state, n);
        let shifted = self.params.mean_from_state;
        d_state.fill(if shifted { cotangent.mean() } else { 0.0 });
        self.diffuse_into(cotangent, shifted.then_some(0.0), d_control);
    }
}

impl ControlInverse for Heat2d {
    /// The damped Fourier inverse ([`damped`]) of `Δy = target − P(s, x)`, added to `x`; with
    /// the shift, `Δx`'s mean is dropped. `Δy`'s spectrum is formed as `FFT(target) −
    /// kernel · FFT(x)` (the step's, without transforming back), its norm by Parseval. Never
    /// fails for finite input; a non-finite result is [`crate::InverseError::Singular`].
    fn control_inverse(
        &self,
        state: &Vector,
        control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        let mut dx = Vector::zeros(self.cells());
        SPECTRA.with(|cell| {
            let (amp, predicted) = &mut *cell.borrow_mut();
            self.fft.forward(target.as_slice(), amp);
            self.fft.forward(control.as_slice(), predicted);
            for ((a, p), k) in amp.iter_mut().zip(predicted.iter()).zip(&self.kernel) {
                *a -= *p * *k;
            }
            if let Some(mean) = self.output_mean(state) {
                amp[0] = C64::new(
                    amp[0].re + (control.mean() - mean) * self.cells() as f64,
                    0.0,
                );
            }
            let noise = damped::noise_amplitude(self.fft.squared_norm(amp).sqrt());
            self.inverse.apply(amp, noise);
            if self.params.mean_from_state {
                amp[0] = C64::default();
            }
            self.fft.inverse(amp, dx.as_mut_slice());
        });
        let x = dx + control;
        if x.iter().all(|v| v.is_finite()) {
            Ok(x)
        } else {
            Err(crate::InverseError::Singular {
                reason: "heat2d inverse produced a non-finite prediction".into(),
            })
        }
    }
}

impl SimMetrics for Heat2d {
    fn metric_names(&self) -> Vec<String> {
        vec![X_MAE.to_string()]
    }

    /// `x_mae` of the shifted prediction ([`Heat2d::shifted_prediction`] of `controls[0]` at
    /// the scene's initial state) against the scene's ground truth; `NaN` without either.
    fn evaluate(&self, scene: &Scene, controls: &[Vector], _states: &[Vector]) -> Vec<f64> {
        let value = controls.first().map_or(f64::NAN, |x| {
            field2d::x_mae(&self.shifted_prediction(&scene.initial, x), scene)
        });
        vec![value]
    }

    fn prediction(&self, state: &Vector, control: &Vector) -> Vector {
        self.shifted_prediction(state, control)
    }
}

impl SceneGenerator for Heat2d {
    fn generator_names(&self) -> Vec<String> {
        vec![BOXES.to_string()]
    }

    fn generate(&self, name: &str, _steps: usize, rng: &mut SceneRng) -> crate::Result<Scene> {
        match name {
            BOXES => Ok(self.boxes_scene(rng)),
            _ => Err(super::unknown_generator(
                "heat2d",
                name,
                &self.generator_names(),
            )),
        }
    }
}

/// Builds the [`Physics`] of `heat2d`: JVP, VJP, damped inverse, `x_mae`, scenes `boxes`.
pub fn physics(params: Heat2dParams) -> Result<Physics, ParamError> {
    let sim = Arc::new(Heat2d::new(params)?);
    Ok(Physics::differentiable_arc(sim.clone())
        .with_inverse(sim.clone())
        .with_metrics(sim.clone())
        .with_scenes(sim))
}

/// Registers `heat2d` ([`Heat2dParams`]).
pub fn register(table: &mut Simulators) {
    table.register::<Heat2dParams, _>(
        "heat2d",
        "2D periodic diffusion inverse problem: prediction x → exact Fourier diffusion y on N×N \
         unit cells; damped Fourier inverse, box scenes, x_mae (docs/method.md §3.5)",
        physics,
    );
}

#[cfg(test)]
mod tests;
